"""Encoder, decoder, discriminator and the VAE that ties them together.

Every random number of a module (initial weights, dropout masks) comes from
the ``torch.Generator`` it is built with, never from torch's global
generator: that one is shared by every thread of the process, so a fit
drawing from it would not be reproducible while another fit runs.
"""

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.distributions import Distribution, Independent

from skvae._torch.columns import ColumnEmbedding, ColumnExpansion, MixedLikelihood
from skvae._torch.distributions import (
    Observed,
    diagonal_normal,
    rsample,
    standard_normal,
)
from skvae._torch.likelihoods import LIKELIHOODS

# Largest standardized value the encoder sees (in standard deviations).
MAX_ENCODER_INPUT = 1e4


def linear(n_in: int, n_out: int, generator: torch.Generator | None) -> nn.Linear:
    """``nn.Linear`` with PyTorch's default initialization drawn from
    ``generator``: weights and biases uniform in +-1/sqrt(n_in) (what
    ``kaiming_uniform_(a=sqrt(5))`` amounts to)."""
    # Built on the meta device: nn.Linear's own initialization would draw
    # from the global generator.
    layer = nn.Linear(n_in, n_out, device="meta", dtype=torch.float32)
    layer = layer.to_empty(device=generator.device if generator else "cpu")
    bound = 1.0 / math.sqrt(n_in)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound, generator=generator)
        layer.bias.uniform_(-bound, bound, generator=generator)
    return layer


class Dropout(nn.Module):
    """``nn.Dropout`` whose masks are drawn from ``generator``."""

    def __init__(self, p: float, generator: torch.Generator | None) -> None:
        super().__init__()
        self.p = p
        self.generator = generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        keep = torch.empty_like(x).bernoulli_(1.0 - self.p, generator=self.generator)
        return x * keep / (1.0 - self.p)


def make_mlp(
    n_in: int,
    hidden_layer_sizes: Sequence[int],
    dropout: float = 0.0,
    generator: torch.Generator | None = None,
) -> nn.Sequential:
    """Linear -> SiLU (-> Dropout) for each hidden width."""
    layers: list[nn.Module] = []
    for width in hidden_layer_sizes:
        layers += [linear(n_in, width, generator), nn.SiLU()]
        if dropout > 0:
            layers.append(Dropout(dropout, generator))
        n_in = width
    return nn.Sequential(*layers)


def make_likelihood(likelihood: str, expansion: ColumnExpansion) -> nn.Module:
    """The row's likelihood: ``likelihood`` for the numeric columns, a
    softmax over the levels of each categorical one."""
    if expansion.has_categorical:
        return MixedLikelihood(LIKELIHOODS[likelihood], expansion)
    return LIKELIHOODS[likelihood](expansion.n_features)


class Encoder(nn.Module):
    """Amortized posterior q(z | x) = N(loc(x), diag(scale(x)^2)).

    The encoder reads the row through a
    :class:`~skvae._torch.columns.ColumnEmbedding` of ``expansion``
    (numeric cells as they are, categorical cells as their levels'
    learned vectors). A missing numeric cell (NaN) enters as 0, the
    column's mean on standardized data, a missing categorical one as the
    zero vector; with ``missing_inputs`` the encoder also sees, for each
    column, whether its cell is missing, so that it can tell a missing
    value from an average one.
    With ``n_conditions`` the encoder also reads a vector per row beside
    it (q(z | x, y) of a conditional model: y one-hot).
    """

    def __init__(
        self,
        expansion: ColumnExpansion,
        hidden_layer_sizes: Sequence[int],
        n_components: int,
        dropout: float = 0.0,
        generator: torch.Generator | None = None,
        missing_inputs: bool = False,
        n_conditions: int = 0,
    ) -> None:
        super().__init__()
        self.missing_inputs = missing_inputs
        # Drawn first: without categorical columns it draws nothing, and the
        # layers below draw what they drew before embeddings existed.
        self.embedding = ColumnEmbedding(expansion, generator)
        n_inputs = self.embedding.out_features
        if missing_inputs:
            n_inputs += expansion.n_features
        # Width of what inputs() returns, for a network reading rows alike.
        self.n_inputs = n_inputs
        self.body = make_mlp(
            n_inputs + n_conditions, hidden_layer_sizes, dropout, generator
        )
        self.loc = linear(hidden_layer_sizes[-1], n_components, generator)
        self.raw_scale = linear(hidden_layer_sizes[-1], n_components, generator)

    def forward(
        self, x: torch.Tensor, condition: torch.Tensor | None = None
    ) -> Independent:
        x = self.inputs(x)  # (n_samples, n_inputs)
        if condition is not None:
            x = torch.cat([x, condition], -1)  # (n_samples, n_inputs + n_conditions)
        h = self.body(x)  # (n_samples, hidden_layer_sizes[-1])
        # softplus rather than exp: no overflow for large pre-activations.
        scale = nn.functional.softplus(self.raw_scale(h)) + 1e-5
        return diagonal_normal(self.loc(h), scale)  # (n_samples,) x (n_components,)

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """The row as the first layer reads it: its features (and missing
        mask), with missing cells filled and extreme values clipped."""
        features = self.embedding(x)  # (n_samples, out_features)
        if self.missing_inputs:
            missing = torch.isnan(x).to(x.dtype)  # (n_samples, n_features)
            features = features.masked_fill(torch.isnan(features), 0.0)
            x = torch.cat([features, missing], -1)
        elif not self.training:
            # Inference may see missing cells that training did not.
            x = features.masked_fill(torch.isnan(features), 0.0)
        else:
            x = features
        if not self.training:
            # Rows far outside the training data (a fill value of 1e20, say)
            # would overflow the layers into NaN. Any q(z | x) gives a valid
            # bound, so the encoder sees them clipped while the likelihood
            # sees the row itself.
            x = x.clamp(-MAX_ENCODER_INPUT, MAX_ENCODER_INPUT)
        return x


class Decoder(nn.Module):
    """MLP from latent codes to the likelihood's parameters (mirrored widths):
    ``n_outputs`` of them, one per numeric column and one logit per level of
    each categorical column, or per frequent level and one for the
    infrequent ones (see ``ColumnExpansion``)."""

    def __init__(
        self,
        n_components: int,
        hidden_layer_sizes: Sequence[int],
        n_outputs: int,
        dropout: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        widths = tuple(reversed(hidden_layer_sizes))
        self.body = make_mlp(n_components, widths, dropout, generator)
        self.out = linear(widths[-1], n_outputs, generator)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(z))  # (..., n_outputs)


class Discriminator(nn.Module):
    """Tells real rows from generated ones; returns one logit per row.

    Rows are compared as features of its own
    :class:`~skvae._torch.columns.ColumnEmbedding` of ``expansion``: a real
    categorical cell as its level's vector, a generated one (level
    probabilities) as the probability-weighted mean of its levels' vectors.
    That is the comparison of one-hot real cells with generated
    probabilities through a first linear layer (which maps a one-hot cell
    to its level's column of weights, and probabilities to their weighted
    mean), with the level weights factored through a narrower embedding;
    no row is ever one-hot. The vectors are the discriminator's own,
    trained by its optimizer to tell the rows apart: the encoder's are
    trained for another job, and a generator allowed to move them could
    fool the discriminator by pulling the levels' vectors together.
    """

    def __init__(
        self,
        expansion: ColumnExpansion,
        hidden_layer_sizes: Sequence[int],
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.embedding = ColumnEmbedding(expansion, generator)
        n_in = self.embedding.out_features
        self.body = make_mlp(n_in, hidden_layer_sizes, generator=generator)
        self.out = linear(hidden_layer_sizes[-1], 1, generator)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Logits of (n_samples, out_features) features: (n_samples,)."""
        return self.out(self.body(features)).squeeze(-1)

    def real(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of the real rows ``x`` (n_samples, n_features), missing
        cells as zeros."""
        features = self.embedding(x)  # (n_samples, out_features)
        return self(features.masked_fill(self.embedding.missing(x), 0.0))

    def generated(self, mean: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Logits of the generated rows ``mean`` (n_samples, n_outputs),
        decoded means, blanked (zeros) where the real rows ``x`` are missing:
        the pattern of missing cells tells the two apart no more than their
        values do."""
        features = self.embedding.expected(mean)  # (n_samples, out_features)
        return self(features.masked_fill(self.embedding.missing(x), 0.0))


class StandardNormalPrior:
    """``prior()``: p(z) = N(0, I) over ``n_components`` dimensions, in the
    dtype and on the device of the module's ``decoder``, built once per
    dtype and device rather than on every batch."""

    _prior: Independent | None = None

    def prior(self) -> Independent:
        weight = self.decoder.out.weight
        prior = self._prior
        if prior is None or (prior.mean.dtype, prior.mean.device) != (
            weight.dtype,
            weight.device,
        ):
            prior = self._prior = standard_normal(
                self.n_components, weight.device, weight.dtype
            )
        return prior


class VAE(StandardNormalPrior, nn.Module):
    """Variational autoencoder: encoder, decoder, likelihood and prior.

    ``forward`` returns the posterior q(z | x); ``decode`` returns p(x | z);
    ``prior`` returns p(z) = N(0, I). With ``missing``, the model is built
    for rows with missing cells (NaN): the encoder sees which cells are
    missing and p(x | z) scores the observed cells only. ``n_levels`` gives
    each column's number of categorical levels (0 for a numeric column, the
    default for all): categorical columns get a softmax likelihood (see
    ``skvae._torch.columns``), numeric ones ``likelihood``. ``infrequent``
    gives, per column, the (code, training count) of each level that shares
    the column's infrequent slot (none by default).
    """

    def __init__(
        self,
        n_features: int,
        hidden_layer_sizes: Sequence[int],
        n_components: int,
        likelihood: str = "gaussian",
        dropout: float = 0.0,
        generator: torch.Generator | None = None,
        missing: bool = False,
        n_levels: Sequence[int] | None = None,
        infrequent: Sequence[Sequence[tuple[int, int]]] | None = None,
    ) -> None:
        super().__init__()
        self.n_components = n_components
        expansion = ColumnExpansion(n_levels or (0,) * n_features, infrequent)
        self.expansion = expansion
        self.encoder = Encoder(
            expansion, hidden_layer_sizes, n_components, dropout, generator, missing
        )
        self.decoder = Decoder(
            n_components, hidden_layer_sizes, expansion.n_outputs, dropout, generator
        )
        self.likelihood = make_likelihood(likelihood, expansion)
        # Score observed cells only: on by default for a model trained with
        # missing cells, and at inference for every model (see decode).
        self.observed_only = missing
        self._prior: Independent | None = None

    def forward(self, x: torch.Tensor) -> Independent:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> Distribution:
        p = self.likelihood(self.decoder(z))
        return Observed(p.base_dist, 1) if self.observed_only else p

    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        """E[outputs | z], (..., n_outputs): numeric means and each level's
        probability, in the slots of ``ColumnExpansion``."""
        return self.likelihood.mean(self.decoder(z))

    def generated_features(
        self, n_samples: int, generator: torch.Generator
    ) -> torch.Tensor:
        """E[features | z] of ``n_samples`` codes drawn from the prior, with
        gradients (the rows an adversarial loss shows its discriminator)."""
        z = rsample(self.prior().expand((n_samples,)), (), generator)
        return self.decode_mean(z)  # (n_samples, n_outputs)

    def weight_matrices(self) -> list[nn.Parameter]:
        """Weights of the encoder and decoder (``dim >= 2``), not biases."""
        return [p for p in self.parameters() if p.dim() >= 2]
