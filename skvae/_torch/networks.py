"""Encoder, decoder, discriminator and the VAE that ties them together."""

from collections.abc import Sequence

import torch
from torch import nn
from torch.distributions import Distribution, Independent, Normal
from torch.nn import functional as F

from skvae._torch.likelihoods import (
    BernoulliLikelihood,
    DiagonalNormal,
    GaussianLikelihood,
)


def make_mlp(
    n_in: int, hidden_layer_sizes: Sequence[int], dropout: float = 0.0
) -> nn.Sequential:
    """Linear -> SiLU (-> Dropout) for each hidden width."""
    layers: list[nn.Module] = []
    for width in hidden_layer_sizes:
        layers += [nn.Linear(n_in, width), nn.SiLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        n_in = width
    return nn.Sequential(*layers)


class Encoder(nn.Module):
    """Amortized posterior q(z | x) = N(loc(x), diag(scale(x)^2))."""

    def __init__(
        self,
        n_features: int,
        hidden_layer_sizes: Sequence[int],
        n_components: int,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.body = make_mlp(n_features, hidden_layer_sizes, dropout)
        n_hidden = hidden_layer_sizes[-1] if hidden_layer_sizes else n_features
        self.loc = nn.Linear(n_hidden, n_components)
        self.raw_scale = nn.Linear(n_hidden, n_components)

    def forward(self, x: torch.Tensor) -> Distribution:
        h = self.body(x)  # (n_samples, hidden_layer_sizes[-1])
        # softplus rather than exp: no overflow for large pre-activations.
        scale = F.softplus(self.raw_scale(h)) + 1e-5  # (n_samples, n_components)
        return Independent(DiagonalNormal(self.loc(h), scale), 1)


class Decoder(nn.Module):
    """MLP from latent codes to the likelihood's parameters (mirrored widths)."""

    def __init__(
        self,
        n_components: int,
        hidden_layer_sizes: Sequence[int],
        n_features: int,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        widths = tuple(reversed(hidden_layer_sizes))
        self.body = make_mlp(n_components, widths, dropout)
        self.out = nn.Linear(widths[-1] if widths else n_components, n_features)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(z))  # (..., n_features)


class Discriminator(nn.Module):
    """Tells real rows from generated ones; returns one logit per row."""

    def __init__(self, n_features: int, hidden_layer_sizes: Sequence[int]) -> None:
        super().__init__()
        self.body = make_mlp(n_features, hidden_layer_sizes)
        n_hidden = hidden_layer_sizes[-1] if hidden_layer_sizes else n_features
        self.out = nn.Linear(n_hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(x)).squeeze(-1)  # (n_samples,)


class VAE(nn.Module):
    """Variational autoencoder: encoder, decoder, likelihood and prior.

    ``forward`` returns the posterior q(z | x); ``decode`` returns p(x | z).
    """

    def __init__(
        self,
        n_features: int,
        hidden_layer_sizes: Sequence[int],
        n_components: int,
        likelihood: str = "gaussian",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.encoder = Encoder(n_features, hidden_layer_sizes, n_components, dropout)
        self.decoder = Decoder(n_components, hidden_layer_sizes, n_features, dropout)
        if likelihood == "gaussian":
            self.likelihood = GaussianLikelihood(n_features)
        elif likelihood == "bernoulli":
            self.likelihood = BernoulliLikelihood()
        else:
            raise ValueError(f"Unknown likelihood {likelihood!r}.")
        self.register_buffer("prior_loc", torch.zeros(n_components))
        self.register_buffer("prior_scale", torch.ones(n_components))

    def prior(self) -> Distribution:
        return Independent(
            Normal(self.prior_loc, self.prior_scale, validate_args=False), 1
        )

    def forward(self, x: torch.Tensor) -> Distribution:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> Distribution:
        return self.likelihood(self.decoder(z))

    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        return self.likelihood.mean(self.decoder(z))

    def weight_matrices(self) -> list[nn.Parameter]:
        """Weights of the encoder and decoder (``dim >= 2``), not biases."""
        return [p for p in self.parameters() if p.dim() >= 2]
