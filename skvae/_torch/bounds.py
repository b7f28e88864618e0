"""Likelihood bounds shared by training and inference."""

import math
from dataclasses import dataclass

import torch

from skvae._torch.networks import VAE


@dataclass
class ELBOTerms:
    """The pieces of a batch's ELBO, before any weighting.

    ``reconstruction`` is log p(x | z) per row, shape (n_samples,);
    ``kl`` is KL(q(z | x) || p(z)) per row and latent dimension, shape
    (n_samples, n_components). With importance-weighted training,
    ``iwae`` holds the (beta-weighted) bound per row and ``kl`` is still the
    analytic KL, kept for monitoring. ``generated`` holds rows decoded from
    the prior when a regularizer (the adversarial one) made some.
    """

    x: torch.Tensor
    reconstruction: torch.Tensor
    kl: torch.Tensor
    iwae: torch.Tensor | None = None
    generated: torch.Tensor | None = None

    def best_fitting(self, fraction: float) -> "ELBOTerms":
        """The terms of the ``fraction`` of rows with the highest bound.

        Trimmed likelihood: the worst-fitting rows of a batch, likely
        outliers in contaminated data, do not pull the model towards them.
        """
        bound = (
            self.iwae
            if self.iwae is not None
            else self.reconstruction - self.kl.sum(-1)
        )
        n_keep = max(1, round(fraction * bound.shape[0]))
        keep = torch.topk(bound.detach(), n_keep).indices  # (n_keep,)
        return ELBOTerms(
            x=self.x[keep],
            reconstruction=self.reconstruction[keep],
            kl=self.kl[keep],
            iwae=None if self.iwae is None else self.iwae[keep],
        )


def kl_to_prior(q) -> torch.Tensor:
    """KL(q(z | x) || N(0, I)) per row and latent dimension, in closed form.

    The prior of :class:`VAE` is the standard normal. Written out, the KL
    costs a third of ``torch.distributions.kl_divergence`` (its dispatch and
    general Normal-to-Normal formula), a few percent of a small model's step.
    """
    normal = q.base_dist
    loc, scale = normal.loc, normal.scale  # (n_samples, n_components) each
    return 0.5 * (loc.square() + scale.square() - 1.0) - scale.log()


def elbo_terms(vae: VAE, q, x: torch.Tensor) -> ELBOTerms:
    """One reparameterized sample of the ELBO, with the KL in closed form."""
    z = q.rsample()  # (n_samples, n_components)
    reconstruction = vae.decode(z).log_prob(x)  # (n_samples,)
    kl = kl_to_prior(q)  # (n_samples, n_components)
    return ELBOTerms(x=x, reconstruction=reconstruction, kl=kl)


def latent_log_ratio(vae: VAE, q, z: torch.Tensor) -> torch.Tensor:
    """log p(z) - log q(z | x) for latent samples z of shape (k, n, d)."""
    return vae.prior().log_prob(z) - q.log_prob(z)  # (k, n_samples)


def iwae_terms(vae: VAE, q, x: torch.Tensor, n_samples: int, beta: float = 1.0):
    """The importance-weighted bound (Burda et al., 2016) with fresh samples.

    The weights are ``p(x | z) * (p(z) / q(z | x)) ** beta``;
    ``reconstruction`` holds the mean over samples of log p(x | z).
    """
    z = q.rsample((n_samples,))  # (k, n_samples, n_components)
    log_px_z = vae.decode(z).log_prob(x)  # (k, n_samples)
    log_w = log_px_z + beta * latent_log_ratio(vae, q, z)
    bound = torch.logsumexp(log_w, dim=0) - math.log(n_samples)
    return ELBOTerms(
        x=x, reconstruction=log_px_z.mean(0), kl=kl_to_prior(q), iwae=bound
    )


def iwae_bound_fixed_noise(vae: VAE, x: torch.Tensor, noise: torch.Tensor):
    """IWAE bound per row with the given standard-normal ``noise`` of shape
    (k, n_samples, n_components): no fresh randomness, so the result is a
    deterministic function of ``x`` and ``noise``.

    Returns the bound (n,), the normalized importance weights (k, n) and the
    decoded distribution p(x | z) of the latent samples (batch shape (k, n)).
    """
    q = vae(x)
    z = q.mean + q.stddev * noise  # (k, n_samples, n_components)
    p_x_given_z = vae.decode(z)
    log_w = p_x_given_z.log_prob(x) + latent_log_ratio(vae, q, z)  # (k, n_samples)
    bound = torch.logsumexp(log_w, dim=0) - math.log(noise.shape[0])
    return bound, torch.softmax(log_w, dim=0), p_x_given_z
