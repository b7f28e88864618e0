"""Regularizers: additive terms of the training loss, one small class each.

The objective (``skvae._objective``) owns the likelihood bound; a
regularizer only adds a term to it. The interface is two methods:

- ``penalty(vae, x)``: the term added to the loss of the batch ``x``
  (a scalar tensor that gradients flow through);
- ``step(x)``: called after the VAE's optimizer stepped on that batch, for
  a regularizer that trains something of its own (the adversarial one
  trains its discriminator there); returns values to log in skorch's
  history.

Whatever a regularizer needs (a discriminator, its optimizer, a random
generator) is passed to its constructor. :func:`build_regularizers` maps the
estimators' flat hyperparameters to the active regularizers and leaves out
every one that is off, so a neutral setting costs nothing. Adding a
regularizer is a class with these two methods and its line there; the user
guide's "Add your own regularizer" shows a complete example.
"""

import math

import torch
from torch.distributions import Independent, kl_divergence
from torch.nn import functional as F

from skvae._torch.columns import ColumnExpansion
from skvae._torch.networks import VAE, Discriminator, LatentDiscriminator

# Bandwidths of the inverse multiquadric kernel of the MMD penalty, as
# multiples of 2 * n_components (the mean squared distance of two N(0, I)
# draws): the scales of Tolstikhin et al.'s WAE-MMD, so that the kernel
# sees differences of the aggregate posterior at every scale from within a
# cluster of codes to the whole prior.
IMQ_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)

# The share of cells that the consistency regularizer's change t(x) masks.
CONSISTENCY_MASKING = 0.2


class Regularizer:
    """Interface: an additive term of the training loss."""

    def penalty(self, vae: VAE, x: torch.Tensor) -> torch.Tensor:
        """The term to add to the loss of the batch ``x`` (a scalar)."""
        raise NotImplementedError

    def step(self, x: torch.Tensor) -> dict[str, float]:
        """After the VAE's optimizer step; returns values to log."""
        return {}


class L2Penalty(Regularizer):
    """``weight_decay / 2 * ||W||^2`` over weight matrices (no biases).

    The gradient is ``weight_decay * W``: the same as ``torch.optim.Adam``'s
    ``weight_decay``, but restricted to weight matrices (nanoGPT's rule).
    """

    def __init__(self, weight_decay: float) -> None:
        self.weight_decay = weight_decay

    def penalty(self, vae: VAE, x: torch.Tensor) -> torch.Tensor:
        squares = sum(w.square().sum() for w in vae.weight_matrices())
        return 0.5 * self.weight_decay * squares


class L1Penalty(Regularizer):
    """``l1_penalty * sum(|W|)`` over weight matrices (no biases)."""

    def __init__(self, l1_penalty: float) -> None:
        self.l1_penalty = l1_penalty

    def penalty(self, vae: VAE, x: torch.Tensor) -> torch.Tensor:
        return self.l1_penalty * sum(w.abs().sum() for w in vae.weight_matrices())


class AdversarialPenalty(Regularizer):
    """Makes generated rows indistinguishable from real ones (as in VAE-GAN).

    Rows are generated as ``sample`` draws them, relaxed so that gradients
    pass: prior draws decoded, then each cell drawn through its column's
    likelihood (reparameterized numbers, straight-through Gumbel-softmax
    levels; see ``Likelihood.relaxed``). The decoder's loss
    gains ``weight * softplus(-D(x_gen))`` (the non-saturating GAN loss);
    after the VAE's step, the discriminator takes a step of its own optimizer
    on ``softplus(-D(x_real)) + softplus(D(x_gen))``. Where a real row has
    missing cells, its generated partner gets the same cells blanked (set to
    0), so that the pattern of missing cells tells the two apart no more
    than their values do. Rows are compared as the discriminator's
    features (see :class:`~skvae._torch.networks.Discriminator`): a
    categorical cell as its level's vector, real or drawn.
    """

    def __init__(
        self,
        weight: float,
        discriminator: Discriminator,
        optimizer: torch.optim.Optimizer,
        generator: torch.Generator,
    ) -> None:
        self.weight = weight
        self.discriminator = discriminator
        self.optimizer = optimizer
        self.generator = generator
        self._generated: torch.Tensor | None = None

    def penalty(self, vae: VAE, x: torch.Tensor) -> torch.Tensor:
        # (n_samples, n_outputs): rows drawn from the model, relaxed
        self._generated = vae.generated_features(x.shape[0], self.generator)
        logits = self.discriminator.generated(self._generated, x)
        return self.weight * F.softplus(-logits).mean()

    def step(self, x: torch.Tensor) -> dict[str, float]:
        generated = self.discriminator.generated(self._generated.detach(), x)
        loss = _discriminator_step(
            self.optimizer, self.discriminator.real(x), generated
        )
        return {"discriminator_loss": loss.item()}


class MMDPenalty(Regularizer):
    """``weight * MMD^2`` between the batch's posterior draws and as many
    prior draws (InfoVAE, Zhao et al. 2019; WAE-MMD, Tolstikhin et al.
    2018).

    The KL term pulls each row's posterior q(z | x) towards the prior; this
    term pulls their mixture, the aggregate posterior q(z) that ``sample``
    stands in for with prior draws, towards it. One reparameterized draw per
    row of the clean batch, the prior's draws from the model (a VampPrior's
    included), compared with :func:`mmd` (unbiased, inverse multiquadric
    kernel). The encoder reads the batch once more for it.
    """

    def __init__(self, weight: float, generator: torch.Generator) -> None:
        self.weight = weight
        self.generator = generator

    def penalty(self, vae: VAE, x: torch.Tensor) -> torch.Tensor:
        q = vae(x)
        z = q.sample(q.noise((), self.generator))  # (n_samples, n_components)
        z_prior = vae.sample_codes(x.shape[0], self.generator)  # (n_samples, d)
        return self.weight * mmd(z, z_prior)


class TotalCorrelationPenalty(Regularizer):
    """``weight * TC``: the total correlation of the aggregate posterior,
    KL(q(z) || prod_k q(z_k)), as beta-TCVAE penalizes it (Chen et al.,
    2018; ``weight`` is their beta - 1).

    Estimated on the batch by :func:`aggregate_log_densities` from one draw
    per row of its posterior, which needs the number of training rows
    ``n_train``. The posterior must be a diagonal Gaussian (its marginals
    are then known in closed form): not a flow's nor a two-level model's.
    """

    def __init__(self, weight: float, n_train: int, generator: torch.Generator):
        self.weight = weight
        self.n_train = n_train
        self.generator = generator

    def penalty(self, vae: VAE, x: torch.Tensor) -> torch.Tensor:
        q = _gaussian_posterior(vae, x, "tc_weight")
        eps = torch.randn(
            q.mean.shape, generator=self.generator, dtype=x.dtype, device=x.device
        )
        z = q.mean + q.stddev * eps  # (n_samples, n_components)
        return self.weight * total_correlation(z, q, self.n_train)


class ConsistencyPenalty(Regularizer):
    """``weight * KL(q(z | t(x)) || q(z | x))``, averaged over the batch:
    consistency regularization (CR-VAE, Sinha & Dieng, 2021).

    ``t`` masks each cell with probability ``CONSISTENCY_MASKING``, as
    ``corruption`` masks the encoder's input (:func:`mask_cells`): a change
    that keeps what the row means, so the encoder should give the two rows
    the same posterior. Gradients flow through both. The posterior must be
    a diagonal Gaussian (the KL is then in closed form).
    """

    def __init__(self, weight: float, generator: torch.Generator) -> None:
        self.weight = weight
        self.generator = generator

    def penalty(self, vae: VAE, x: torch.Tensor) -> torch.Tensor:
        q = _gaussian_posterior(vae, x, "consistency_weight")
        t_x = mask_cells(x, CONSISTENCY_MASKING, vae.expansion, self.generator)
        q_changed = _gaussian_posterior(vae, t_x, "consistency_weight")
        return self.weight * kl_divergence(q_changed, q).mean()


class LatentAdversarialPenalty(Regularizer):
    """Makes the codes of real rows indistinguishable from prior draws (the
    Adversarial Autoencoder, Makhzani et al., 2016).

    The encoder's loss gains ``weight * softplus(-D(z))`` for one posterior
    draw z per row of the clean batch (the non-saturating GAN loss: the
    encoder learns to have its codes taken for prior draws); after the
    VAE's step, the discriminator takes a step of its own optimizer on
    ``softplus(-D(z_prior)) + softplus(D(z))`` with as many prior draws.
    Like MMD, it acts on the aggregate posterior; the adversary learns
    which differences to look at. ``step`` logs the discriminator's loss
    and its accuracy on the batch (0.5: it cannot tell the two apart).
    """

    def __init__(
        self,
        weight: float,
        discriminator: LatentDiscriminator,
        optimizer: torch.optim.Optimizer,
        generator: torch.Generator,
    ) -> None:
        self.weight = weight
        self.discriminator = discriminator
        self.optimizer = optimizer
        self.generator = generator
        self._codes: torch.Tensor | None = None
        self._prior_codes: torch.Tensor | None = None

    def penalty(self, vae: VAE, x: torch.Tensor) -> torch.Tensor:
        q = vae(x)
        self._codes = q.sample(q.noise((), self.generator))  # (n_samples, d)
        with torch.no_grad():
            self._prior_codes = vae.sample_codes(x.shape[0], self.generator)
        return self.weight * F.softplus(-self.discriminator(self._codes)).mean()

    def step(self, x: torch.Tensor) -> dict[str, float]:
        prior_logits = self.discriminator(self._prior_codes)
        code_logits = self.discriminator(self._codes.detach())
        loss = _discriminator_step(self.optimizer, prior_logits, code_logits)
        correct = torch.cat([prior_logits > 0, code_logits <= 0])
        return {
            "latent_discriminator_loss": loss.item(),
            "latent_discriminator_accuracy": correct.float().mean().item(),
        }


def _discriminator_step(
    optimizer: torch.optim.Optimizer, real: torch.Tensor, fake: torch.Tensor
) -> torch.Tensor:
    """One step of ``optimizer`` on a discriminator's GAN loss
    ``softplus(-real) + softplus(fake)`` (means over the logits of real and
    of generated rows); returns the loss."""
    loss = F.softplus(-real).mean() + F.softplus(fake).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


def mask_cells(
    x: torch.Tensor,
    rate: float,
    expansion: ColumnExpansion,
    generator: torch.Generator,
) -> torch.Tensor:
    """Masking noise: each cell of the standardized rows ``x`` set to 0 (its
    column's mean) with probability ``rate``; a masked categorical cell
    becomes missing (NaN), since level 0 is a level."""
    draws = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    keep = draws >= rate
    x = x * keep
    if expansion.has_categorical:
        masked = ~keep & expansion.is_categorical
        x = x.masked_fill(masked, torch.nan)
    return x


def imq_kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The inverse multiquadric kernel ``sum_s C_s / (C_s + |a_i - b_j|^2)``
    (n, m) of the rows of ``a`` (n, d) and ``b`` (m, d), with ``C_s = 2 d s``
    for the scales s of ``IMQ_SCALES``: characteristic, and with heavier
    tails than a Gaussian kernel, so it still has a gradient for codes far
    from the prior's."""
    # Differences rather than torch.cdist: no square root, whose gradient
    # is infinite at the zero distances of the diagonal.
    squared = (a[:, None, :] - b[None, :, :]).square().sum(-1)  # (n, m)
    scales = [2.0 * a.shape[-1] * s for s in IMQ_SCALES]
    return sum(c / (c + squared) for c in scales)


def mmd(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The unbiased estimate of MMD^2 between the distributions of the rows
    of ``a`` (n, d) and ``b`` (m, d) under :func:`imq_kernel` (Gretton et
    al., 2012, eq. 3: the within-sample means leave out i = j). 0 when a
    sample has fewer than 2 rows."""
    n, m = a.shape[0], b.shape[0]
    if n < 2 or m < 2:
        return a.new_zeros(())
    k_aa, k_bb = imq_kernel(a, a), imq_kernel(b, b)
    within_a = (k_aa.sum() - k_aa.diagonal().sum()) / (n * (n - 1))
    within_b = (k_bb.sum() - k_bb.diagonal().sum()) / (m * (m - 1))
    return within_a + within_b - 2.0 * imq_kernel(a, b).mean()


def aggregate_log_densities(
    z: torch.Tensor, q: Independent, n_train: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """log q(z_i) (M,) and log q(z_ik) per dimension (M, d) of the aggregate
    posterior q(z) = (1/N) sum_n q(z | x_n) over N = ``n_train`` training
    rows, at the draws ``z`` (M, d) from the diagonal Gaussian posteriors
    ``q`` of a batch of M of them (z_i from row i's).

    The minibatch estimate of Chen et al. (2018) with importance weights
    that make the mixture over the batch an unbiased estimate of q(z_i):
    row i's own posterior weighs 1/N, each other row's (N - 1) / (N (M - 1))
    (the other rows of a random batch are a random sample of the other
    N - 1). With N = M it is the exact mixture over the batch.
    """
    m = z.shape[0]
    n = max(n_train, m)
    # (M, M, d): log q(z_ik | x_j), draw i against row j's posterior.
    log_q = q.base_dist.log_prob(z[:, None, :])
    log_w = torch.full((m, m), math.log((n - 1) / (n * (m - 1))), dtype=z.dtype)
    log_w = log_w.to(z.device).fill_diagonal_(-math.log(n))
    joint = torch.logsumexp(log_w + log_q.sum(-1), dim=1)  # (M,)
    marginals = torch.logsumexp(log_w[..., None] + log_q, dim=1)  # (M, d)
    return joint, marginals


def total_correlation(z: torch.Tensor, q: Independent, n_train: int) -> torch.Tensor:
    """The estimate of the total correlation KL(q(z) || prod_k q(z_k)) of
    the aggregate posterior at the batch's draws ``z`` from ``q`` (see
    :func:`aggregate_log_densities`); 0 for a batch of one row."""
    if z.shape[0] < 2:
        return z.new_zeros(())
    joint, marginals = aggregate_log_densities(z, q, n_train)
    return (joint - marginals.sum(-1)).mean()


def kl_decomposition(
    z: torch.Tensor, q: Independent, prior: Independent, n_train: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The batch mean of the KL term's Monte Carlo estimate, log q(z | x) -
    log p(z) at the draws ``z`` from ``q``, split as Chen et al. (2018) do
    for a factorized ``prior``: (index-code mutual information, total
    correlation, dimension-wise KL), which sum to it."""
    joint, marginals = aggregate_log_densities(z, q, n_train)
    log_q_given_x = q.log_prob(z)  # (M,)
    log_p = prior.base_dist.log_prob(z)  # (M, d)
    mutual_information = (log_q_given_x - joint).mean()
    total = (joint - marginals.sum(-1)).mean()
    dimension_wise = (marginals - log_p).sum(-1).mean()
    return mutual_information, total, dimension_wise


def check_gaussian_posterior(vae: VAE, name: str) -> None:
    """Raise unless the posterior of ``vae`` is a diagonal Gaussian, which
    the regularizer of the hyperparameter ``name`` needs."""
    if getattr(vae, "flow", None) is not None or getattr(vae, "top", None):
        raise ValueError(
            f"{name} > 0 needs a diagonal Gaussian posterior; it cannot be "
            "combined with n_flows > 0 or n_top_components (set them to 0 "
            "and None)."
        )


def _gaussian_posterior(vae: VAE, x: torch.Tensor, name: str) -> Independent:
    """q(z | x) of the batch ``x``, which ``name``'s regularizer needs to be
    a diagonal Gaussian."""
    check_gaussian_posterior(vae, name)
    return vae(x).q


def build_regularizers(
    *,
    weight_decay: float,
    l1_penalty: float,
    adversarial_weight: float,
    discriminator: Discriminator | None = None,
    discriminator_optimizer: torch.optim.Optimizer | None = None,
    generator: torch.Generator | None = None,
    mmd_weight: float = 0.0,
    tc_weight: float = 0.0,
    consistency_weight: float = 0.0,
    n_train: int = 0,
    latent_adversarial_weight: float = 0.0,
    latent_discriminator: LatentDiscriminator | None = None,
    latent_discriminator_optimizer: torch.optim.Optimizer | None = None,
) -> list[Regularizer]:
    """The active regularizers for the estimator's flat hyperparameters
    (``n_train``: the number of training rows, for the total correlation's
    estimate)."""
    regularizers: list[Regularizer] = []
    if weight_decay > 0:
        regularizers.append(L2Penalty(weight_decay))
    if l1_penalty > 0:
        regularizers.append(L1Penalty(l1_penalty))
    if adversarial_weight > 0:
        regularizers.append(
            AdversarialPenalty(
                adversarial_weight, discriminator, discriminator_optimizer, generator
            )
        )
    if mmd_weight > 0:
        regularizers.append(MMDPenalty(mmd_weight, generator))
    if tc_weight > 0:
        regularizers.append(TotalCorrelationPenalty(tc_weight, n_train, generator))
    if consistency_weight > 0:
        regularizers.append(ConsistencyPenalty(consistency_weight, generator))
    if latent_adversarial_weight > 0:
        regularizers.append(
            LatentAdversarialPenalty(
                latent_adversarial_weight,
                latent_discriminator,
                latent_discriminator_optimizer,
                generator,
            )
        )
    return regularizers
