"""Decoder distributions p(x | z) as small modules.

A likelihood turns the decoder's raw output into a ``torch.distributions``
object over a whole row, so that ``log_prob`` sums over features and the
reconstruction term is in nats per row. Each one is registered in
:data:`LIKELIHOODS` under the name that the estimators' ``likelihood``
parameter takes; adding one is a class with the interface of
:class:`Likelihood` plus its line in that dictionary.
"""

import torch
from torch import nn
from torch.distributions import Bernoulli, Distribution, Independent
from torch.nn import functional as F

from skvae._torch.distributions import SharedScaleNormal


class Likelihood(nn.Module):
    """Interface of a decoder distribution over the ``n_features`` columns.

    Class attributes tell the estimators how to prepare the data:
    ``standardize`` (the columns are centred and scaled before training,
    and densities are reported on the original scale) and ``support``
    (the closed interval every value must lie in, or None).
    """

    standardize: bool = False
    support: tuple[float, float] | None = None

    def __init__(self, n_features: int) -> None:
        super().__init__()
        self.n_features = n_features

    def forward(self, decoded: torch.Tensor) -> Distribution:
        """p(x | z) for the decoder output ``decoded`` (..., n_features)."""
        raise NotImplementedError

    def mean(self, decoded: torch.Tensor) -> torch.Tensor:
        """E[x | z], shape (..., n_features)."""
        raise NotImplementedError

    def sample(self, decoded: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One draw of x ~ p(x | z) per row, from ``generator``."""
        raise NotImplementedError

    def relaxed(
        self, decoded: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """A draw of x ~ p(x | z) per row that gradients flow through (a
        reparameterized or relaxed one), in the layout of :meth:`mean`: what
        an adversary of generated rows is shown. E[x | z] by default."""
        return self.mean(decoded)

    def draw(self, decoded: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
        """x ~ p(x | z) by the inverse CDF of each cell at ``uniform``
        (..., n_features), draws in (0, 1) that the caller owns: what
        row-keyed draws (imputation with ``sample_posterior``) need.
        Optional: a likelihood without it cannot draw imputations."""
        raise NotImplementedError(
            f"{type(self).__name__} does not implement draw(), which "
            "sample_posterior=True needs."
        )


class GaussianLikelihood(Likelihood):
    """Diagonal Gaussian with a learned per-feature standard deviation.

    The standard deviation is shared by all rows (homoscedastic), learned
    with the rest of the model, and kept above ``min_scale`` so that constant
    or duplicated columns cannot drive the density to infinity.
    """

    standardize = True

    def __init__(self, n_features: int, min_scale: float = 1e-3) -> None:
        super().__init__(n_features)
        self.min_scale = min_scale
        # softplus(0.5413) == 1: start at unit variance, the scale of
        # standardized data.
        self.raw_scale = nn.Parameter(
            torch.full((n_features,), 0.5413, dtype=torch.float32)
        )

    def scale(self) -> torch.Tensor:
        return F.softplus(self.raw_scale) + self.min_scale  # (n_features,)

    def forward(self, decoded: torch.Tensor) -> Distribution:
        # decoded: (..., n_features), the mean of each feature
        return Independent(SharedScaleNormal(decoded, self.scale()), 1)

    def mean(self, decoded: torch.Tensor) -> torch.Tensor:
        return decoded

    def sample(self, decoded: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        noise = torch.randn(
            decoded.shape,
            generator=generator,
            dtype=decoded.dtype,
            device=decoded.device,
        )
        return decoded + self.scale() * noise

    def relaxed(
        self, decoded: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        return self.sample(decoded, generator)  # reparameterized

    def draw(self, decoded: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
        return decoded + self.scale() * torch.special.ndtri(uniform)


class BernoulliLikelihood(Likelihood):
    """Independent Bernoulli per feature, parameterized by logits.

    ``log_prob`` is the negative binary cross-entropy, which is also defined
    for grey levels in [0, 1] (the usual practice for MNIST-like data).
    """

    support = (0.0, 1.0)

    def forward(self, decoded: torch.Tensor) -> Distribution:
        # validate_args=False: grey levels in (0, 1) are accepted on purpose.
        return Independent(Bernoulli(logits=decoded, validate_args=False), 1)

    def mean(self, decoded: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(decoded)

    def sample(self, decoded: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        uniform = torch.rand(
            decoded.shape,
            generator=generator,
            dtype=decoded.dtype,
            device=decoded.device,
        )
        return (uniform < torch.sigmoid(decoded)).to(decoded.dtype)

    def draw(self, decoded: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
        return (uniform < torch.sigmoid(decoded)).to(decoded.dtype)


LIKELIHOODS: dict[str, type[Likelihood]] = {
    "gaussian": GaussianLikelihood,
    "bernoulli": BernoulliLikelihood,
}
