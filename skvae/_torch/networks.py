"""Encoder, decoder, discriminator and the VAE that ties them together.

Every random number of a module (initial weights, dropout masks) comes from
the ``torch.Generator`` it is built with, never from torch's global
generator: that one is shared by every thread of the process, so a fit
drawing from it would not be reproducible while another fit runs (the
layers are ``skvae._torch.layers``'). The latent model beyond the textbook
one (VampPrior, flow, two levels) is ``skvae._torch.latent``'s.
"""

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
from skvae._torch.flows import InverseAutoregressiveFlow
from skvae._torch.latent import NormalMixture, Posterior, TopLayer, VampPrior
from skvae._torch.layers import Dropout, linear, make_mlp, spectral_normalized
from skvae._torch.likelihoods import LIKELIHOODS

__all__ = ["VAE", "Decoder", "Discriminator", "Dropout", "Encoder", "linear"]

# Largest standardized value the encoder sees (in standard deviations).
MAX_ENCODER_INPUT = 1e4


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
        return self.gaussian(self.hidden(x, condition))

    def hidden(
        self, x: torch.Tensor, condition: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The body's features of the rows ``x`` (and ``condition``),
        (n_samples, hidden_layer_sizes[-1])."""
        x = self.inputs(x)  # (n_samples, n_inputs)
        if condition is not None:
            x = torch.cat([x, condition], -1)  # (n_samples, n_inputs + n_conditions)
        return self.body(x)  # (n_samples, hidden_layer_sizes[-1])

    def gaussian(self, h: torch.Tensor) -> Independent:
        """q(z | x) from the body's features ``h`` (..., width)."""
        # softplus rather than exp: no overflow for large pre-activations.
        scale = nn.functional.softplus(self.raw_scale(h)) + 1e-5
        return diagonal_normal(self.loc(h), scale)  # (...,) x (n_components,)

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


class TopicDecoder(nn.Module):
    """ProdLDA's decoder (Srivastava & Sutton, 2017): the logits of the
    words are ``BatchNorm(W softmax(z))``, a product of experts whose
    experts are the topics, the columns of ``W`` (n_features,
    n_components), without a bias. ``softmax(z)`` are the document's topic
    proportions (a logistic-normal latent), dropped out at ``dropout`` in
    training.

    The batch normalization (without scale or shift) uses the batch's
    statistics in training only (and not for a batch of one row): in eval
    mode, as at inference, it applies the running statistics, so that
    every output is a function of the row alone.
    """

    def __init__(
        self,
        n_components: int,
        n_outputs: int,
        dropout: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.dropout = Dropout(dropout, generator) if dropout > 0 else nn.Identity()
        self.out = linear(n_components, n_outputs, generator)
        self.out.bias.requires_grad_(False)
        with torch.no_grad():
            self.out.bias.zero_()
        self.norm = nn.BatchNorm1d(n_outputs, affine=False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        theta = self.dropout(torch.softmax(z, -1))  # (..., n_components)
        logits = self.out(theta)  # (..., n_outputs)
        flat = logits.reshape(-1, logits.shape[-1])  # (n, n_outputs)
        norm = self.norm
        flat = nn.functional.batch_norm(
            flat,
            norm.running_mean,
            norm.running_var,
            training=self.training and flat.shape[0] > 1,
            momentum=norm.momentum,
            eps=norm.eps,
        )
        return flat.reshape(logits.shape)

    def topics(self) -> torch.Tensor:
        """Each topic's distribution over the words, (n_components,
        n_outputs), rows summing to 1: what the decoder outside training
        gives a document made of that topic alone (its proportions one-hot),
        the softmax of the weights normalized by the running statistics of
        the batch normalization."""
        norm = self.norm
        # In float64: rows that sum to 1 to double precision.
        scale = torch.sqrt(norm.running_var.double() + norm.eps)  # (n_outputs,)
        logits = (self.out.weight.T.double() - norm.running_mean.double()) / scale
        return torch.softmax(logits, -1)  # (n_components, n_outputs)


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
    With ``spectral_norm`` its linear layers are spectrally normalized
    (see :class:`~skvae._torch.layers.SpectralNorm`; the level vectors
    are not).
    """

    def __init__(
        self,
        expansion: ColumnExpansion,
        hidden_layer_sizes: Sequence[int],
        generator: torch.Generator | None = None,
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        self.embedding = ColumnEmbedding(expansion, generator)
        n_in = self.embedding.out_features
        self.body = make_mlp(n_in, hidden_layer_sizes, generator=generator)
        self.out = linear(hidden_layer_sizes[-1], 1, generator)
        if spectral_norm:
            self.body = spectral_normalized(self.body, generator)
            self.out = spectral_normalized(self.out, generator)

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


class LatentDiscriminator(nn.Module):
    """Tells prior draws from posterior draws of the latent code (the
    adversary of an Adversarial Autoencoder); one logit per code. With
    ``spectral_norm`` its linear layers are spectrally normalized (see
    :class:`~skvae._torch.layers.SpectralNorm`)."""

    def __init__(
        self,
        n_components: int,
        hidden_layer_sizes: Sequence[int],
        generator: torch.Generator | None = None,
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        self.body = make_mlp(n_components, hidden_layer_sizes, generator=generator)
        self.out = linear(hidden_layer_sizes[-1], 1, generator)
        if spectral_norm:
            self.body = spectral_normalized(self.body, generator)
            self.out = spectral_normalized(self.out, generator)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Logits of (n_samples, n_components) codes: (n_samples,)."""
        return self.out(self.body(z)).squeeze(-1)


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

    ``forward`` returns the posterior of the batch (a
    :class:`~skvae._torch.latent.Posterior`); ``decode`` returns p(x | z);
    ``prior`` returns N(0, I) and ``top_prior`` the prior of the top-most
    latent layer (N(0, I) or the VampPrior). With ``missing``, the model is
    built for rows with missing cells (NaN): the encoder sees which cells
    are missing and p(x | z) scores the observed cells only. ``n_levels``
    gives each column's number of categorical levels (0 for a numeric
    column, the default for all): categorical columns get a softmax
    likelihood (see ``skvae._torch.columns``), numeric ones ``likelihood``.
    ``infrequent`` gives, per column, the (code, training count) of each
    level that shares the column's infrequent slot (none by default).
    ``numeric_levels`` gives, per column, the levels of a numeric column
    modelled over levels (see ``skvae._torch.levels``), None for others;
    ``unobserved`` the codes of levels that ``sample`` never draws.
    ``prior`` ("normal" or "vamp", with ``n_pseudo_inputs``), ``n_flows``
    and ``n_top_components`` choose the latent model (see
    ``skvae._torch.latent``); their defaults are the textbook VAE.
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
        numeric_levels: Sequence[tuple | None] | None = None,
        unobserved: Sequence[Sequence[int]] | None = None,
        prior: str = "normal",
        n_pseudo_inputs: int = 0,
        n_flows: int = 0,
        n_top_components: int = 0,
    ) -> None:
        super().__init__()
        self.n_components = n_components
        expansion = ColumnExpansion(
            n_levels or (0,) * n_features, infrequent, numeric_levels, unobserved
        )
        self.expansion = expansion
        self.encoder = Encoder(
            expansion, hidden_layer_sizes, n_components, dropout, generator, missing
        )
        n_outputs = expansion.n_outputs
        if LIKELIHOODS[likelihood].topic_model:
            self.decoder = TopicDecoder(n_components, n_outputs, dropout, generator)
        else:
            self.decoder = Decoder(
                n_components, hidden_layer_sizes, n_outputs, dropout, generator
            )
        self.likelihood = make_likelihood(likelihood, expansion)
        # Score observed cells only: on by default for a model trained with
        # missing cells, and at inference for every model (see decode).
        self.observed_only = missing
        self._prior: Independent | None = None
        # The richer latent model, built after the rest so that the
        # textbook model draws its initial weights as it always did.
        width = hidden_layer_sizes[-1]
        self.n_noise = n_components + n_top_components
        self.top = (
            TopLayer(n_components, n_top_components, width, generator)
            if n_top_components
            else None
        )
        self.flow = (
            InverseAutoregressiveFlow(n_components, width, n_flows, width, generator)
            if n_flows
            else None
        )
        self.vamp = (
            VampPrior(n_pseudo_inputs, self.encoder.n_inputs, generator)
            if prior == "vamp"
            else None
        )
        # Diagonal Gaussian posterior, prior N(0, I): a closed-form KL.
        self.textbook = self.top is None and self.flow is None and self.vamp is None

    def forward(self, x: torch.Tensor) -> Posterior:
        h = self.encoder.hidden(x)  # (n_samples, width)
        return Posterior(self, h, self.encoder.gaussian(h))

    def top_prior(self) -> Independent | NormalMixture:
        """The prior of the top-most latent layer (of z, or of z2 in a
        two-level model): N(0, I), or the VampPrior's mixture of the
        posteriors of that layer at the pseudo-inputs."""
        if self.vamp is None:
            if self.top is None:
                return self.prior()
            weight = self.decoder.out.weight
            return standard_normal(
                self.n_noise - self.n_components, weight.device, weight.dtype
            )
        h = self.encoder.body(self.vamp.pseudo_inputs)  # (K, width)
        q = self.encoder.gaussian(h) if self.top is None else self.top.posterior(h)
        return NormalMixture(q.mean, q.stddev)  # K components

    def sample_codes(self, n_samples: int, generator: torch.Generator) -> torch.Tensor:
        """``n_samples`` codes (n_samples, n_components) drawn from the
        model's prior, reparameterized: of z, or of z1 ~ p(z1 | z2) with
        z2 drawn from the top prior."""
        prior = self.top_prior()
        if isinstance(prior, NormalMixture):
            z = prior.rsample(n_samples, generator)
        else:
            z = rsample(prior.expand((n_samples,)), (), generator)
        if self.top is None:
            return z
        return rsample(self.top.prior(z), (), generator)  # (n_samples, d)

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
        """Rows drawn through the likelihood from ``n_samples`` codes drawn
        from the prior, with gradients (reparameterized numbers, relaxed
        levels: see ``Likelihood.relaxed``), in the layout of
        ``decode_mean``: what an adversarial loss shows its discriminator,
        as near as gradients allow to what ``sample`` returns."""
        decoded = self.decoder(self.sample_codes(n_samples, generator))
        return self.likelihood.relaxed(decoded, generator)

    def weight_matrices(self) -> list[nn.Parameter]:
        """Weight matrices (``dim >= 2``) of every network, not biases, nor
        the VampPrior's pseudo-inputs (points, not weights)."""
        return [
            p
            for name, p in self.named_parameters()
            if p.dim() >= 2 and not name.startswith("vamp.")
        ]
