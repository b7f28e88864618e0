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
    and densities are reported on the original scale), ``support``
    (the closed interval every value must lie in, or None), ``counts``
    (a row is one draw of non-negative integer counts, complete) and
    ``topic_model`` (the decoder is the linear product of experts of
    :class:`~skvae._torch.networks.TopicDecoder` rather than an MLP).
    """

    standardize: bool = False
    support: tuple[float, float] | None = None
    counts: bool = False
    topic_model: bool = False

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


class MultinomialCells(Distribution):
    """The multinomial log-pmf of count rows, split into per-cell terms.

    ``log_prob`` returns, per cell, ``x_j log p_j - log x_j!`` plus the
    row's ``log N!`` (``N`` the row total) shared equally by its cells, so
    that the sum over the row's cells (``Independent(..., 1)``, or the
    masked sum of :class:`~skvae._torch.distributions.Observed`) is
    ``log Multinomial(x; N, p)`` in nats, the multinomial coefficient
    included.
    """

    arg_constraints: dict = {}

    def __init__(self, logits: torch.Tensor) -> None:
        self.logits = logits  # (..., n_features)
        # One term per cell: Independent(..., 1) sums over the row.
        super().__init__(logits.shape, validate_args=False)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        log_p = torch.log_softmax(self.logits, -1)  # (..., n_features)
        total = value.sum(-1, keepdim=True)  # (..., 1)
        coefficient = torch.lgamma(total + 1.0) / value.shape[-1]
        # log x! is 0 for a count of 0 or 1, most cells of a document: the
        # function is evaluated on the larger counts only.
        log_factorial = torch.zeros_like(value)
        large = value > 1.0
        log_factorial[large] = torch.lgamma(value[large] + 1.0)
        return value * log_p - log_factorial + coefficient


class MultinomialLikelihood(Likelihood):
    """Multinomial over the columns (words) of a row of counts (a document).

    The decoder's outputs are logits over the columns; the row's total
    ``N`` is taken as given, so ``log p(x | z) = log Multinomial(x; N,
    softmax(logits))``, multinomial coefficient included: scores are in
    nats of the counts. ``mean`` gives the word probabilities (a row
    summing to 1); ``sample`` draws rows of ``document_length`` counts, the
    median row total of the training rows (set at fit).
    """

    counts = True
    topic_model = True
    support = (0.0, float("inf"))

    def __init__(self, n_features: int) -> None:
        super().__init__(n_features)
        self.register_buffer("document_length", torch.ones((), dtype=torch.float32))

    def forward(self, decoded: torch.Tensor) -> Distribution:
        # decoded: (..., n_features), the logits of the words
        return Independent(MultinomialCells(decoded), 1)

    def mean(self, decoded: torch.Tensor) -> torch.Tensor:
        return torch.softmax(decoded, -1)

    def sample(self, decoded: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        probs = torch.softmax(decoded, -1).reshape(-1, decoded.shape[-1])
        n_words = max(int(round(float(self.document_length))), 1)
        words = torch.multinomial(probs, n_words, replacement=True, generator=generator)
        counts = torch.zeros_like(probs).scatter_add_(
            1, words, torch.ones_like(words, dtype=probs.dtype)
        )
        return counts.reshape(decoded.shape)  # (..., n_features)


LIKELIHOODS: dict[str, type[Likelihood]] = {
    "gaussian": GaussianLikelihood,
    "bernoulli": BernoulliLikelihood,
    "multinomial": MultinomialLikelihood,
}
