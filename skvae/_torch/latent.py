"""The latent model: the posterior over the codes of a batch, and the priors.

Besides the textbook model (a diagonal Gaussian posterior, the prior
N(0, I), a closed-form KL), three latent models that combine freely: a
VampPrior (``prior="vamp"``, :class:`VampPrior`), a flow posterior
(``n_flows``, ``skvae._torch.flows``) and a two-level hierarchy
(``n_top_components``, :class:`TopLayer`). :class:`Posterior` is what the
VAE's ``forward`` returns for each of them, and all that the objective and
inference use: ``draw(eps)`` turns standard normal noise into codes with
log q and log p, ``analytic_kl()`` is the closed-form KL where there is one,
and ``code()`` the deterministic code of ``transform``.
"""

import math
from typing import NamedTuple

import torch
from torch import nn
from torch.distributions import Independent, kl_divergence

from skvae._torch.distributions import diagonal_normal
from skvae._torch.layers import linear, make_mlp

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


class LatentDraw(NamedTuple):
    """Codes drawn from the posterior, with their log-densities."""

    z: torch.Tensor  # (..., n_samples, n_components): what the decoder reads
    log_q: torch.Tensor  # (..., n_samples): log q(every latent layer | x)
    log_p: torch.Tensor  # (..., n_samples): log p(every latent layer)


class TextbookDraw(NamedTuple):
    """A :class:`LatentDraw` of the textbook model, whose log-densities
    are computed when read rather than with the draw: the bound then
    builds its graph in the order it always did (decoder, then log p,
    then log q), and autograd, which sums a tensor's gradients in the
    order of the graph, trains the textbook model bit for bit as before
    the richer models existed."""

    z: torch.Tensor  # (..., n_samples, n_components)
    q: Independent
    prior: Independent

    @property
    def log_q(self) -> torch.Tensor:
        return self.q.log_prob(self.z)  # (..., n_samples)

    @property
    def log_p(self) -> torch.Tensor:
        return self.prior.log_prob(self.z)  # (..., n_samples)


class NormalMixture:
    """The uniform mixture of K diagonal Gaussians N(loc_k, scale_k^2),
    ``loc`` and ``scale`` of shape (K, n_components): the VampPrior."""

    def __init__(self, loc: torch.Tensor, scale: torch.Tensor) -> None:
        self.loc, self.scale = loc, scale

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z), (...,) for z of shape (..., n_components)."""
        # Expanded square, as matrix products: a (..., K, n_components)
        # tensor of differences would not fit in memory for thousands of
        # importance samples. In float64, since the expansion subtracts
        # terms that grow as 1 / scale^2.
        loc, scale = self.loc.double(), self.scale.double()
        inv_var = scale.pow(-2)  # (K, d)
        zd = z.double()
        quadratic = (
            zd.square() @ inv_var.T
            - 2.0 * zd @ (loc * inv_var).T
            + (loc.square() * inv_var).sum(-1)
        )  # (..., K)
        log_norm = scale.log().sum(-1) + loc.shape[-1] * _HALF_LOG_2PI  # (K,)
        log_components = -0.5 * quadratic - log_norm
        log_p = torch.logsumexp(log_components, -1) - math.log(loc.shape[0])
        return log_p.to(z.dtype)

    def rsample(self, n_samples: int, generator: torch.Generator) -> torch.Tensor:
        """``n_samples`` draws (n_samples, n_components): a component
        uniformly, then a Gaussian draw from it."""
        k = torch.randint(
            self.loc.shape[0], (n_samples,), generator=generator, device=self.loc.device
        )
        eps = torch.randn(
            (n_samples, self.loc.shape[1]),
            generator=generator,
            dtype=self.loc.dtype,
            device=self.loc.device,
        )
        return self.loc[k] + self.scale[k] * eps  # (n_samples, n_components)


class VampPrior(nn.Module):
    """The K learned pseudo-inputs of a VampPrior, (K, n_inputs), where the
    encoder's body reads a row. The prior itself, the
    :class:`NormalMixture` of the posteriors at them, is built by the VAE's
    ``top_prior`` (it needs the encoder's layers)."""

    def __init__(
        self, n_pseudo_inputs: int, n_inputs: int, generator: torch.Generator | None
    ) -> None:
        super().__init__()
        # Standardized numeric cells are about N(0, 1); start the
        # pseudo-inputs as rows of that spread, learned from there.
        pseudo = torch.randn(
            (n_pseudo_inputs, n_inputs),
            generator=generator,
            device=generator.device if generator else "cpu",
        )
        self.pseudo_inputs = nn.Parameter(pseudo)


class TopLayer(nn.Module):
    """The top code z2 (``n_top_components``) of a two-level model.

    - ``posterior(h)``: q(z2 | x), a diagonal Gaussian from the encoder's
      hidden features h of the row;
    - ``condition(h, z2)``: the features from which the encoder's heads
      give q(z1 | x, z2): h plus a learned function of z2;
    - ``prior(z2)``: p(z1 | z2), a diagonal Gaussian from an MLP of z2
      (one hidden layer of the encoder's last width).
    """

    def __init__(
        self,
        n_components: int,
        n_top_components: int,
        width: int,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.loc = linear(width, n_top_components, generator)
        self.raw_scale = linear(width, n_top_components, generator)
        self.lift = linear(n_top_components, width, generator)
        self.body = make_mlp(n_top_components, (width,), generator=generator)
        self.prior_loc = linear(width, n_components, generator)
        self.prior_raw_scale = linear(width, n_components, generator)

    def posterior(self, h: torch.Tensor) -> Independent:
        scale = nn.functional.softplus(self.raw_scale(h)) + 1e-5
        return diagonal_normal(self.loc(h), scale)  # (n,) x (n_top_components,)

    def condition(self, h: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        return h + nn.functional.silu(self.lift(z2))  # (..., n_samples, width)

    def prior(self, z2: torch.Tensor) -> Independent:
        a = self.body(z2)  # (..., width)
        scale = nn.functional.softplus(self.prior_raw_scale(a)) + 1e-5
        return diagonal_normal(self.prior_loc(a), scale)  # (...,) x (d,)


class Posterior:
    """q(every latent | x) of a batch of rows of a ``VAE`` (see the module
    docstring), from the encoder's hidden features ``h`` (n_samples, width)
    and its Gaussian ``q`` at them (the posterior of the one layer of a
    one-level model; unused by a two-level one, whose q(z1 | x, z2)
    depends on the draw of z2). The textbook model needs no ``h``: a
    Gaussian ``q`` alone, e.g. one set by a test, may be given with None."""

    def __init__(self, vae: nn.Module, h: torch.Tensor | None, q: Independent) -> None:
        self.vae, self.h, self.q = vae, h, q

    @property
    def n_noise(self) -> int:
        """Standard normal draws per row and sample: one per latent
        dimension of every layer."""
        return self.vae.n_noise

    def noise(
        self, sample_shape: tuple[int, ...], generator: torch.Generator
    ) -> torch.Tensor:
        """Standard normal noise (*sample_shape, n_samples, n_noise)."""
        loc = self.q.mean  # (n_samples, n_components)
        shape = (*sample_shape, loc.shape[0], self.n_noise)
        return torch.randn(
            shape, generator=generator, dtype=loc.dtype, device=loc.device
        )

    @property
    def has_analytic_kl(self) -> bool:
        """Whether the KL has a closed form per dimension: for the
        textbook model only (a diagonal Gaussian posterior, the prior
        N(0, I))."""
        return self.vae.textbook

    def analytic_kl(self) -> torch.Tensor | None:
        """KL(q(z | x) || p(z)) per row and dimension, (n_samples,
        n_components), in closed form; None without one."""
        if not self.has_analytic_kl:
            return None
        return kl_divergence(self.q.base_dist, self.vae.prior().base_dist)

    def sample(self, eps: torch.Tensor) -> torch.Tensor:
        """The codes that the decoder reads for the noise ``eps`` (...,
        n_samples, n_noise), without their densities."""
        if self.has_analytic_kl:
            return self.q.mean + self.q.stddev * eps
        return self.draw(eps).z

    def draw(self, eps: torch.Tensor) -> LatentDraw | TextbookDraw:
        """Reparameterized codes for the noise ``eps`` (..., n_samples,
        n_noise), with log q and log p of every latent layer."""
        if self.has_analytic_kl:
            return TextbookDraw(self.sample(eps), self.q, self.vae.prior())
        vae, d = self.vae, self.vae.n_components
        h, q = self.h, self.q
        if vae.top is not None:
            q2 = vae.top.posterior(h)
            z2 = q2.mean + q2.stddev * eps[..., d:]  # (..., n, n_top_components)
            h = vae.top.condition(h, z2)  # (..., n, width)
            q = vae.encoder.gaussian(h)
        z = q.mean + q.stddev * eps[..., :d]  # (..., n, n_components)
        log_q = q.log_prob(z)  # (..., n)
        if vae.top is not None:
            log_q = log_q + q2.log_prob(z2)
        if vae.flow is not None:
            z, log_det = vae.flow(z, h)
            log_q = log_q - log_det
        if vae.top is not None:
            log_p = vae.top_prior().log_prob(z2) + vae.top.prior(z2).log_prob(z)
        else:
            log_p = vae.top_prior().log_prob(z)
        return LatentDraw(z, log_q, log_p)

    def code(self) -> torch.Tensor:
        """The deterministic code (n_samples, n_components) of
        ``transform``: every noise at zero, i.e. each Gaussian layer at its
        mean (z2's, then z1's given it), carried through the flow."""
        vae, h, q = self.vae, self.h, self.q
        if vae.top is not None:
            h = vae.top.condition(h, vae.top.posterior(h).mean)
            q = vae.encoder.gaussian(h)
        if vae.flow is None:
            return q.mean
        return vae.flow(q.mean, h)[0]
