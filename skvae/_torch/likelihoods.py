"""Decoder distributions p(x | z) as small modules.

A likelihood turns the decoder's raw output into a ``torch.distributions``
object over a whole row, so that ``log_prob`` sums over features and the
reconstruction term is in nats per row.
"""

import math

import torch
from torch import nn
from torch.distributions import Bernoulli, Distribution, Independent, Normal
from torch.nn import functional as F


class DiagonalNormal(Normal):
    """A ``Normal`` built from a ``loc`` and a ``scale`` that broadcast.

    ``Normal.__init__`` runs ``broadcast_all`` on its arguments, which costs
    more than an elementwise op of a small batch; here the scale is expanded
    as a view and nothing is validated (the networks make valid scales).
    """

    def __init__(self, loc: torch.Tensor, scale: torch.Tensor) -> None:
        self.loc = loc
        self.scale = scale if scale.shape == loc.shape else scale.expand_as(loc)
        Distribution.__init__(self, loc.shape, validate_args=False)


class _SharedScaleNormal(DiagonalNormal):
    """A ``Normal`` whose scale is one vector shared by every row.

    ``Normal.log_prob`` takes the log and square of the scale broadcast to the
    full (..., n_features) shape of the batch; here they are computed once
    per feature, which is most of the likelihood's cost for small models.
    """

    def __init__(self, loc: torch.Tensor, scale: torch.Tensor) -> None:
        super().__init__(loc, scale)
        self._feature_scale = scale  # (n_features,)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        z = (value - self.loc) / self._feature_scale
        return -0.5 * z.square() - (
            self._feature_scale.log() + 0.5 * math.log(2 * math.pi)
        )


class GaussianLikelihood(nn.Module):
    """Diagonal Gaussian with a learned per-feature standard deviation.

    The standard deviation is shared by all rows (homoscedastic), learned
    with the rest of the model, and kept above ``min_scale`` so that constant
    or duplicated columns cannot drive the density to infinity.
    """

    def __init__(self, n_features: int, min_scale: float = 1e-3) -> None:
        super().__init__()
        self.min_scale = min_scale
        # softplus(0.5413) == 1: start at unit variance, the scale of
        # standardized data.
        self.raw_scale = nn.Parameter(torch.full((n_features,), 0.5413))

    def scale(self) -> torch.Tensor:
        return F.softplus(self.raw_scale) + self.min_scale  # (n_features,)

    def forward(self, decoded: torch.Tensor) -> Distribution:
        # decoded: (..., n_features), the mean of each feature
        return Independent(_SharedScaleNormal(decoded, self.scale()), 1)

    def mean(self, decoded: torch.Tensor) -> torch.Tensor:
        return decoded


class BernoulliLikelihood(nn.Module):
    """Independent Bernoulli per feature, parameterized by logits.

    ``log_prob`` is the negative binary cross-entropy, which is also defined
    for grey levels in [0, 1] (the usual practice for MNIST-like data).
    """

    def forward(self, decoded: torch.Tensor) -> Distribution:
        # validate_args=False: grey levels in (0, 1) are accepted on purpose.
        return Independent(Bernoulli(logits=decoded, validate_args=False), 1)

    def mean(self, decoded: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(decoded)


LIKELIHOODS = {"gaussian": GaussianLikelihood, "bernoulli": BernoulliLikelihood}
