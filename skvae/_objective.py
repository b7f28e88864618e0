"""The objective: the negative likelihood bound that training minimizes.

:class:`Objective` owns the bound in training and at inference: the
reconstruction term, the KL term with ``beta``, ``kl_warmup`` and
``free_bits`` (per dimension in closed form for the textbook latent model,
per group otherwise), the importance-weighted variant and the trimming of
a batch's worst rows. Regularizers (``skvae._regularizers``) are additive
extras; they never see or change the bound.
"""

import math
from typing import NamedTuple

import torch
from torch.distributions import Distribution

from skvae._torch.latent import Posterior
from skvae._torch.networks import VAE


class Objective:
    """Negative training bound of a batch, averaged over its rows.

    Parameters
    ----------
    beta : float
        Weight of the KL term (of the latent log-ratio in the IWAE bound).
    kl_warmup : int
        Epochs over which the weight grows linearly from 0 to ``beta``.
    free_bits : float
        Nats per latent dimension of batch-mean KL that go unpenalized.
    n_importance_samples : int
        1 trains on the ELBO, k > 1 on the importance-weighted bound.
    trim_fraction : float
        Fraction of each batch's worst-fitting rows (lowest beta=1 bound)
        left out of the loss.
    """

    def __init__(
        self,
        beta: float = 1.0,
        kl_warmup: int = 0,
        free_bits: float = 0.0,
        n_importance_samples: int = 1,
        trim_fraction: float = 0.0,
    ) -> None:
        if free_bits > 0 and n_importance_samples > 1:
            raise ValueError(
                "free_bits applies to the ELBO's KL term; it cannot be combined "
                "with importance-weighted training (n_importance_samples > 1)."
            )
        self.beta = beta
        self.kl_warmup = kl_warmup
        self.free_bits = free_bits
        self.n_importance_samples = n_importance_samples
        self.trim_fraction = trim_fraction

    def kl_weight(self, epoch: int) -> float:
        """Weight of the KL term in (1-based) ``epoch``: 0 in the first,
        ``beta`` from epoch ``kl_warmup + 1`` on, linear in between."""
        if self.kl_warmup == 0:
            return self.beta
        return self.beta * min(1.0, (epoch - 1) / self.kl_warmup)

    def __call__(
        self,
        vae: VAE,
        q: Posterior,
        x: torch.Tensor,
        *,
        epoch: int,
        generator: torch.Generator,
    ) -> torch.Tensor:
        """The loss of the batch ``x`` whose posterior is ``q``."""
        weight = self.kl_weight(epoch)
        if self.n_importance_samples > 1:
            draw = q.draw(q.noise((self.n_importance_samples,), generator))
            log_px_z = vae.decode(draw.z).log_prob(x)  # (k, n_samples)
            log_ratio = draw.log_p - draw.log_q  # (k, n_samples)
            bound = log_mean_exp(log_px_z + weight * log_ratio)  # (n_samples,)
            if self.trim_fraction > 0:
                keep = self.best_fitting(log_mean_exp(log_px_z + log_ratio))
                bound = bound[keep]
            return -bound.mean()
        reconstruction, kl = _elbo_terms(vae, q, x, generator)
        if self.free_bits == 0:
            # One expression per row, then one mean: fewer operations
            # forward and backward than a mean per term; at weight 1 the
            # gradients are those of the sum of the terms' means, bit for
            # bit (each is -1 / n_rows per row either way).
            kl = kl.sum(-1)  # (n_samples,)
            elbo = reconstruction - kl if weight == 1.0 or self.trim_fraction else None
            if weight == 1.0:
                bound = elbo
            elif weight == 0:
                bound = reconstruction
            else:
                bound = reconstruction - weight * kl
            if self.trim_fraction > 0:
                bound = bound[self.best_fitting(elbo)]
            return -bound.mean()
        if self.trim_fraction > 0:
            keep = self.best_fitting(reconstruction - kl.sum(-1))
            reconstruction, kl = reconstruction[keep], kl[keep]
        loss = -reconstruction.mean()
        if weight == 0:
            return loss
        kl = kl.mean(dim=0)  # (n_groups,)
        # Kingma et al. (2016): clamp keeps the gradient of a group above
        # the floor and stops pushing one below it to the prior.
        kl = kl.clamp(min=self.free_bits * (q.n_noise // kl.shape[0]))
        # No multiply by a weight of 1: an op less per batch, same result.
        return loss + (kl.sum() if weight == 1.0 else weight * kl.sum())

    def validation_loss(
        self, vae: VAE, q: Posterior, x: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """Negative beta=1 ELBO of the batch, untrimmed: a bound on the
        likelihood comparable across every setting of the objective."""
        reconstruction, kl = _elbo_terms(vae, q, x, generator)
        return -(reconstruction - kl.sum(-1)).mean()

    def best_fitting(self, bound: torch.Tensor) -> torch.Tensor:
        """Indices of the rows with the highest bound (trimmed likelihood:
        the worst-fitting rows, likely outliers in contaminated data, do
        not pull the model towards them)."""
        return torch.topk(bound.detach(), self.n_kept(bound.shape[0])).indices

    def n_kept(self, n_rows: int) -> int:
        """How many rows of a batch of ``n_rows`` the loss keeps."""
        return max(1, round((1.0 - self.trim_fraction) * n_rows))


class ImportanceSamples(NamedTuple):
    """What :func:`importance_weighted_bound` computes, per row."""

    bound: torch.Tensor  # (n_samples,)
    weights: torch.Tensor  # (k, n_samples), normalized over k
    p_x_given_z: Distribution  # batch shape (k, n_samples)
    z: torch.Tensor  # (k, n_samples, n_components), drawn from q(z | x)


def _elbo_terms(
    vae: VAE, q: Posterior, x: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """One draw's reconstruction term (n_samples,) and the KL per row and
    group (n_samples, n_groups): per dimension in closed form, else the
    draw's log q - log p as one group."""
    return elbo_terms_given(vae, q, x, q.noise((), generator))


def elbo_terms_given(
    vae: VAE, q: Posterior, x: torch.Tensor, noise: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`_elbo_terms` for the standard-normal ``noise`` of shape
    (n_samples, n_noise): a deterministic function of its arguments (a
    stack of models draws each member's noise from its own generator)."""
    if q.has_analytic_kl:
        # Decoded first, then the KL: autograd sums the gradients of the
        # two terms in the order of the graph, so this keeps the textbook
        # model's training bit for bit what it was.
        reconstruction = vae.decode(q.sample(noise)).log_prob(x)
        return reconstruction, q.analytic_kl()  # (n,), (n, n_components)
    draw = q.draw(noise)
    kl = (draw.log_q - draw.log_p)[:, None]  # (n_samples, 1)
    return vae.decode(draw.z).log_prob(x), kl


def importance_weighted_bound(
    vae: VAE, x: torch.Tensor, noise: torch.Tensor
) -> ImportanceSamples:
    """The beta=1 IWAE bound per row (Burda et al., 2016) with the given
    standard-normal ``noise`` of shape (k, n_samples, n_noise) (one per
    latent dimension of every layer, see ``VAE.n_noise``).

    No fresh randomness: the result is a deterministic function of ``x`` and
    ``noise``, as inference needs. Also returns what the bound is made of:
    the normalized importance weights, p(x | z) and the latent samples
    (self-normalized importance sampling of p(z | x), which imputation
    uses).
    """
    draw = vae(x).draw(noise)  # codes (k, n_samples, n_components)
    p_x_given_z = vae.decode(draw.z)
    log_w = p_x_given_z.log_prob(x) + draw.log_p - draw.log_q
    return ImportanceSamples(
        log_mean_exp(log_w), torch.softmax(log_w, dim=0), p_x_given_z, draw.z
    )


def log_mean_exp(log_w: torch.Tensor) -> torch.Tensor:
    """log(mean(exp(log_w))) over the first (importance-sample) dimension."""
    return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])
