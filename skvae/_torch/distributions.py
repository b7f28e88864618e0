"""The distributions of the model: posterior, prior and reparameterized draws.

``torch.distributions`` objects with two changes: :class:`DiagonalNormal`
skips ``Normal``'s broadcasting and argument validation (the networks make
its ``loc`` and ``scale`` valid), and :func:`rsample` draws from one fit's
generator rather than torch's global one, which every thread shares. The
prior is :class:`StandardNormal`, whose KL from a diagonal Normal is
registered with ``torch.distributions.kl`` in closed form.
"""

import math

import torch
from torch.distributions import Distribution, Independent, Normal, register_kl

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


class DiagonalNormal(Normal):
    """A ``Normal`` from a ``loc`` and a ``scale`` of the same shape (or one
    that broadcasts as a view), built without validation."""

    def __init__(self, loc: torch.Tensor, scale: torch.Tensor) -> None:
        self.loc = loc
        self.scale = scale if scale.shape == loc.shape else scale.expand_as(loc)
        Distribution.__init__(self, loc.shape, validate_args=False)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(DiagonalNormal, _instance)
        return super().expand(batch_shape, _instance=new)


class SharedScaleNormal(DiagonalNormal):
    """A ``Normal`` whose scale is one vector shared by every row.

    ``Normal.log_prob`` takes the log and square of the scale broadcast to
    the full (..., n_features) shape of the batch; here they are computed
    once per feature, which is most of the likelihood's cost for small
    models.
    """

    def __init__(self, loc: torch.Tensor, scale: torch.Tensor) -> None:
        super().__init__(loc, scale)
        self.feature_scale = scale  # (n_features,)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(SharedScaleNormal, _instance)
        new = super().expand(batch_shape, _instance=new)
        new.feature_scale = self.feature_scale
        return new

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        z = (value - self.loc) / self.feature_scale
        return -0.5 * z.square() - (self.feature_scale.log() + _HALF_LOG_2PI)


class StandardNormal(DiagonalNormal):
    """N(0, 1) in each of ``n_components`` dimensions: the prior p(z)."""

    def __init__(self, n_components: int, device=None, dtype=None) -> None:
        loc = torch.zeros(n_components, device=device, dtype=dtype)
        super().__init__(loc, torch.ones_like(loc))

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(StandardNormal, _instance)
        return super().expand(batch_shape, _instance=new)


@register_kl(Normal, StandardNormal)
def _kl_normal_standard_normal(q: Normal, p: StandardNormal) -> torch.Tensor:
    # KL(N(m, s^2) || N(0, 1)) = (m^2 + s^2 - 1) / 2 - log s, per dimension.
    return 0.5 * (q.loc.square() + q.scale.square() - 1.0) - q.scale.log()


class Observed(Independent):
    """A distribution over the last dimension that scores observed entries
    only: a NaN in ``value`` marks a missing cell, whose log-probability is
    left out of the sum (the masked likelihood of MIWAE and HI-VAE, Mattei &
    Frellsen 2019, Nazabal et al. 2020). On a complete row it equals
    ``Independent(base, 1)``, bit for bit."""

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        missing = torch.isnan(value)
        log_prob = self.base_dist.log_prob(value.masked_fill(missing, 0.0))
        return log_prob.masked_fill(missing, 0.0).sum(-1)


class IndependentNormal(Independent):
    """``Independent(normal, 1)`` whose ``stddev`` is the normal's scale.

    ``Independent`` has no ``stddev`` of its own: it takes the square root
    of its base's variance, the scale squared, two more operations in
    every reparameterized draw and two more in its backward pass. The
    value is the same (the rounded square root of a rounded square is the
    number itself in binary floating point), the gradient may differ in
    the last bit.
    """

    @property
    def stddev(self) -> torch.Tensor:
        return self.base_dist.scale


def diagonal_normal(loc: torch.Tensor, scale: torch.Tensor) -> Independent:
    """N(loc, diag(scale^2)) over the last dimension."""
    return IndependentNormal(DiagonalNormal(loc, scale), 1)


def standard_normal(n_components: int, device=None, dtype=None) -> Independent:
    """The prior N(0, I) over ``n_components`` dimensions."""
    return IndependentNormal(StandardNormal(n_components, device, dtype), 1)


def rsample(
    q: Independent, sample_shape: tuple[int, ...], generator: torch.Generator
) -> torch.Tensor:
    """``q.rsample(sample_shape)`` with the noise drawn from ``generator``.

    The reparameterized draw ``loc + scale * eps``, eps ~ N(0, I), of a
    (diagonal) Normal; gradients flow into ``loc`` and ``scale`` exactly as
    with ``rsample``.
    """
    shape = q._extended_shape(torch.Size(sample_shape))
    eps = torch.randn(
        shape, generator=generator, dtype=q.mean.dtype, device=q.mean.device
    )
    return q.mean + q.stddev * eps  # (*sample_shape, n_samples, n_components)
