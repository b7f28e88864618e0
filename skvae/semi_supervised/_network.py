"""M2 (Kingma et al., 2014): a VAE whose label is a latent variable.

The generative model is p(y) p(z) p(x | y, z): a class y drawn from its
prior, a code z ~ N(0, I), and a row decoded from both. Inference has two
parts: a classifier q(y | x), and an encoder q(z | x, y) that reads the
row and the one-hot class. A labelled row is explained with its class; an
unlabelled one with every class, weighted by q(y | x) (see
``skvae.semi_supervised._objective``).

The row is read (categorical cells, missing cells, clipping) and decoded
(the per-column likelihood) by the same pieces as :class:`VAE`'s, so a
change in how columns are represented reaches both models.
"""

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.distributions import Categorical, Distribution, Independent
from torch.nn import functional as F

from skvae._torch.columns import ColumnExpansion
from skvae._torch.distributions import Observed, rsample
from skvae._torch.networks import (
    Decoder,
    Encoder,
    StandardNormalPrior,
    linear,
    make_likelihood,
    make_mlp,
)


class ClassifierHead(nn.Module):
    """q(y | x): an MLP from the encoder's reading of a row to one logit per
    class (weights of its own; the reading is the encoder's ``inputs``)."""

    def __init__(
        self,
        n_inputs: int,
        hidden_layer_sizes: Sequence[int],
        n_classes: int,
        dropout: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.body = make_mlp(n_inputs, hidden_layer_sizes, dropout, generator)
        self.out = linear(hidden_layer_sizes[-1], n_classes, generator)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(inputs))  # (n_samples, n_classes)


class M2(StandardNormalPrior, nn.Module):
    """Semi-supervised VAE: classifier, y-conditioned encoder and decoder.

    ``forward`` returns q(y | x) (a ``Categorical``); ``posterior(x, y)``
    returns q(z | x, y); ``decode(z, y)`` returns p(x | y, z); ``prior()``
    p(z) = N(0, I) and ``class_prior()`` p(y), set by
    :meth:`set_class_prior` (uniform until then). ``y`` is one-hot (or a
    vector of class probabilities) of shape (..., n_classes). The other
    arguments are :class:`~skvae._torch.networks.VAE`'s.
    """

    def __init__(
        self,
        n_features: int,
        hidden_layer_sizes: Sequence[int],
        n_components: int,
        n_classes: int,
        likelihood: str = "gaussian",
        dropout: float = 0.0,
        generator: torch.Generator | None = None,
        missing: bool = False,
        n_levels: Sequence[int] | None = None,
        infrequent: Sequence[Sequence[tuple[int, int]]] | None = None,
        numeric_levels: Sequence[tuple | None] | None = None,
        unobserved: Sequence[Sequence[int]] | None = None,
    ) -> None:
        super().__init__()
        self.n_components = n_components
        self.n_classes = n_classes
        expansion = ColumnExpansion(
            n_levels or (0,) * n_features, infrequent, numeric_levels, unobserved
        )
        self.expansion = expansion
        self.encoder = Encoder(
            expansion,
            hidden_layer_sizes,
            n_components,
            dropout,
            generator,
            missing,
            n_conditions=n_classes,
        )
        self.classifier = ClassifierHead(
            self.encoder.n_inputs, hidden_layer_sizes, n_classes, dropout, generator
        )
        self.decoder = Decoder(
            n_components + n_classes,
            hidden_layer_sizes,
            expansion.n_outputs,
            dropout,
            generator,
        )
        self.likelihood = make_likelihood(likelihood, expansion)
        # log p(y); a buffer, so that it is saved and loaded with the weights.
        self.register_buffer(
            "class_log_prior", torch.full((n_classes,), -math.log(n_classes))
        )
        self.observed_only = missing
        self._prior: Independent | None = None

    def set_class_prior(self, probabilities: torch.Tensor) -> None:
        """Set p(y) to ``probabilities`` (n_classes,), e.g. the frequencies
        of the labelled classes."""
        with torch.no_grad():
            self.class_log_prior.copy_(probabilities.log())

    def forward(self, x: torch.Tensor) -> Categorical:
        return self.classify(x)

    def classify(self, x: torch.Tensor) -> Categorical:
        """q(y | x), batch shape (n_samples,)."""
        return Categorical(logits=self.classifier(self.encoder.inputs(x)))

    def posterior(self, x: torch.Tensor, y: torch.Tensor) -> Independent:
        """q(z | x, y), batch shape (n_samples,), event (n_components,)."""
        return self.encoder(x, y)

    def decode(self, z: torch.Tensor, y: torch.Tensor) -> Distribution:
        """p(x | y, z) for codes (..., n_components) and classes
        (..., n_classes)."""
        p = self.likelihood(self.decoder(torch.cat([z, y], -1)))
        return Observed(p.base_dist, 1) if self.observed_only else p

    def decode_mean(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """E[features | y, z], (..., n_outputs)."""
        return self.likelihood.mean(self.decoder(torch.cat([z, y], -1)))

    def generated_features(
        self, n_samples: int, generator: torch.Generator
    ) -> torch.Tensor:
        """E[features | y, z] of ``n_samples`` draws of y ~ p(y) and
        z ~ p(z), with gradients (for an adversarial loss)."""
        classes = torch.multinomial(
            self.class_prior().probs, n_samples, replacement=True, generator=generator
        )
        z = rsample(self.prior().expand((n_samples,)), (), generator)
        return self.decode_mean(z, self.one_hot(classes))  # (n_samples, n_outputs)

    def class_prior(self) -> Categorical:
        return Categorical(logits=self.class_log_prior)

    def one_hot(self, labels: torch.Tensor) -> torch.Tensor:
        """Class indices (...,) as one-hot vectors (..., n_classes) in the
        weights' dtype."""
        weight = self.decoder.out.weight
        return F.one_hot(labels, self.n_classes).to(weight.dtype)

    def weight_matrices(self) -> list[nn.Parameter]:
        """Weights of every network (``dim >= 2``), not biases."""
        return [p for p in self.parameters() if p.dim() >= 2]
