"""The training bound (``skvae._objective``): the KL term with ``beta``,
its warm-up and free bits, the importance-weighted bound and trimming, both
as loss values and as what they do to a fitted model."""

import math

import numpy as np
import pytest
import torch
from configs import TRAINED, seeded
from torch.distributions import kl_divergence

from skvae import VAETransformer
from skvae._objective import Objective, importance_weighted_bound
from skvae._torch.distributions import diagonal_normal
from skvae._torch.latent import Posterior
from skvae._torch.networks import VAE

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def vae():
    return VAE(5, (16,), 3, generator=seeded())


@pytest.fixture
def x():
    return torch.randn(32, 5, generator=seeded(1))


def _loss(objective, vae, x, epoch=1, seed=2):
    """The objective's loss of ``x`` with the latent draws seeded by ``seed``."""
    return objective(vae, vae(x), x, epoch=epoch, generator=seeded(seed))


def _mean_kl(vae, x):
    """Batch mean of KL(q(z | x) || p(z)), summed over latent dimensions."""
    q = vae.encoder(x)
    return kl_divergence(q.base_dist, vae.prior().base_dist).sum(-1).mean()


# ---------------------------------------------------------------- KL term


def test_kl_warmup_is_linear_from_zero_to_beta():
    objective = Objective(beta=2.0, kl_warmup=4)
    weights = [objective.kl_weight(epoch) for epoch in range(1, 7)]
    assert weights == [0.0, 0.5, 1.0, 1.5, 2.0, 2.0]
    assert Objective(beta=2.0).kl_weight(1) == 2.0


def test_kl_term_is_the_closed_form_kl_weighted_by_beta(vae, x):
    with torch.no_grad():
        reconstruction_only = _loss(Objective(beta=0.0), vae, x)
        for beta in (0.5, 1.0, 3.0):
            difference = _loss(Objective(beta=beta), vae, x) - reconstruction_only
            torch.testing.assert_close(difference, beta * _mean_kl(vae, x))


def test_beta_zero_loss_is_the_negative_reconstruction_term(vae, x):
    with torch.no_grad():
        z = vae.encoder(x).mean + vae.encoder(x).stddev * torch.randn(
            32, 3, generator=seeded(2)
        )
        reconstruction = vae.decode(z).log_prob(x).mean()
        torch.testing.assert_close(_loss(Objective(beta=0.0), vae, x), -reconstruction)


def test_warm_up_weighs_the_kl_term_by_the_epochs_weight(vae, x):
    objective = Objective(beta=2.0, kl_warmup=4)
    with torch.no_grad():
        for epoch in (1, 3, 9):
            weight = objective.kl_weight(epoch)
            torch.testing.assert_close(
                _loss(objective, vae, x, epoch=epoch),
                _loss(Objective(beta=weight), vae, x),
            )


def test_free_bits_floor_the_batch_mean_kl_and_keep_the_gradient_above_it():
    vae = VAE(4, (8,), 2, generator=seeded())
    with torch.no_grad():
        vae.decoder.out.weight.zero_()  # p(x | z) no longer depends on z
    # KL per row and dimension is loc^2 / 2 at unit scale: dimension 0 has
    # KLs 0 and 1.5 (batch mean 0.75, below the floor of 1), dimension 1 has
    # 3 in both rows (above it).
    loc = torch.tensor([[0.0, math.sqrt(6)], [math.sqrt(3), math.sqrt(6)]])
    loc.requires_grad_(True)
    q = Posterior(vae, None, diagonal_normal(loc, torch.ones(2, 2)))
    x = torch.zeros(2, 4)
    loss = Objective(free_bits=1.0)(vae, q, x, epoch=1, generator=seeded())
    loss.backward()
    reconstruction = vae.decode(torch.zeros(2, 2)).log_prob(x).mean()
    assert loss.item() == pytest.approx(-reconstruction.item() + 1.0 + 3.0)
    # Below the floor: no push towards the prior, even for the row whose own
    # KL is above it. Above: the full gradient of the batch-mean KL.
    expected = torch.tensor([[0.0, math.sqrt(6) / 2], [0.0, math.sqrt(6) / 2]])
    torch.testing.assert_close(loc.grad, expected)


def test_free_bits_cannot_be_combined_with_importance_weighted_training():
    with pytest.raises(ValueError, match="free_bits"):
        Objective(free_bits=0.5, n_importance_samples=3)


# ---------------------------------------------------------------- trimming


@pytest.mark.parametrize("n_importance_samples", [1, 3])
def test_trimming_keeps_the_best_fitting_rows_of_the_batch(vae, n_importance_samples):
    x = torch.randn(8, 5, generator=seeded(1))
    x[[2, 5]] = 50.0  # two rows no model explains: the worst-fitting ones
    loc = vae.encoder(x).mean.detach().requires_grad_(True)
    q = Posterior(vae, None, diagonal_normal(loc, torch.ones(8, 3)))
    objective = Objective(trim_fraction=0.25, n_importance_samples=n_importance_samples)
    loss = objective(vae, q, x, epoch=1, generator=seeded())
    loss.backward()
    # Exactly the two outliers are left out: they get no gradient at all.
    kept = [True] * 8
    kept[2] = kept[5] = False
    assert (loc.grad.abs().sum(-1) > 0).tolist() == kept
    untrimmed = Objective(n_importance_samples=n_importance_samples)
    assert loss.item() < untrimmed(vae, q, x, epoch=1, generator=seeded()).item()


def test_trimming_never_leaves_a_batch_empty(vae):
    x = torch.randn(1, 5, generator=seeded(1))
    with torch.no_grad():
        trimmed = _loss(Objective(trim_fraction=0.49), vae, x)
        torch.testing.assert_close(trimmed, _loss(Objective(), vae, x))


def test_validation_loss_is_the_untrimmed_beta_1_elbo_whatever_the_objective(vae, x):
    objectives = [
        Objective(),
        Objective(beta=4.0, kl_warmup=3, free_bits=0.5, trim_fraction=0.3),
        Objective(beta=0.0, n_importance_samples=5),
    ]
    with torch.no_grad():
        losses = [o.validation_loss(vae, vae(x), x, seeded(2)) for o in objectives]
        for loss in losses[1:]:
            assert torch.equal(loss, losses[0])
        torch.testing.assert_close(losses[0], _loss(Objective(), vae, x))


# ----------------------------------------------------------------- IWAE


def test_single_sample_importance_weighted_bound_is_an_unbiased_elbo(vae):
    x = torch.randn(3, 5, generator=seeded(1))
    n_draws = 4000
    with torch.no_grad():
        for row in x:
            rows = row.expand(n_draws, 5)
            noise = torch.randn(1, n_draws, 3, generator=seeded(3))
            bound, *_ = importance_weighted_bound(vae, rows, noise)
            # E[log p(x|z) + log p(z) - log q(z|x)] = E[log p(x|z)] - KL, the
            # ELBO that the objective trains (with the KL in closed form).
            elbo = -_loss(Objective(), vae, rows)
            assert bound.mean().item() == pytest.approx(elbo.item(), abs=0.1)


def test_importance_weighted_training_uses_the_bound_that_scores_report(vae):
    rows = torch.randn(1, 5, generator=seeded(1)).expand(4000, 5)
    with torch.no_grad():
        trained = -_loss(Objective(n_importance_samples=5), vae, rows)
        noise = torch.randn(5, 4000, 3, generator=seeded(3))
        reported, *_ = importance_weighted_bound(vae, rows, noise)
    assert trained.item() == pytest.approx(reported.mean().item(), abs=0.1)


def test_more_importance_samples_never_lower_the_expected_bound(vae):
    x = torch.randn(200, 5, generator=seeded(1))
    with torch.no_grad():
        bounds = [
            importance_weighted_bound(
                vae, x, torch.randn(k, 200, 3, generator=seeded(k))
            )[0]
            .mean()
            .item()
            for k in (1, 10, 100)
        ]
    assert bounds[0] < bounds[1] < bounds[2]


def test_importance_weighted_bound_is_a_deterministic_function_of_rows_and_noise(
    vae,
):
    vae = vae.double().eval()
    x = torch.randn(6, 5, generator=seeded(1), dtype=torch.float64)
    noise = torch.randn(4, 6, 3, generator=seeded(2), dtype=torch.float64)
    with torch.no_grad():
        bound, weights, p_x_given_z, _ = importance_weighted_bound(vae, x, noise)
        again, *_ = importance_weighted_bound(vae, x, noise)
        alone, *_ = importance_weighted_bound(vae, x[3:4], noise[:, 3:4])
    assert torch.equal(bound, again)
    torch.testing.assert_close(alone[0], bound[3], rtol=1e-12, atol=0)
    assert weights.shape == (4, 6) and p_x_given_z.batch_shape == (4, 6)
    torch.testing.assert_close(weights.sum(0), torch.ones(6, dtype=torch.float64))


# ------------------------------------------------------- fitted models


def test_larger_beta_gives_smaller_kl(blobs):
    kls = [
        VAETransformer(**TRAINED, beta=beta).fit(blobs).kl_per_component_.sum()
        for beta in (0.1, 1.0, 8.0)
    ]
    assert kls[0] > kls[1] > kls[2]


def test_beta_zero_is_an_autoencoder(blobs):
    ae = VAETransformer(**TRAINED, beta=0.0).fit(blobs)
    vae = VAETransformer(**TRAINED, beta=1.0).fit(blobs)
    # Unpenalized, the posterior drifts far from the prior and the codes
    # reconstruct the data better.
    assert ae.kl_per_component_.sum() > 3 * vae.kl_per_component_.sum()
    error = [
        np.mean(
            (est.inverse_transform(est.transform(blobs)) - blobs) ** 2 / blobs.var(0)
        )
        for est in (ae, vae)
    ]
    assert error[0] < error[1]


def test_kl_warmup_lowers_the_kl_pressure(blobs):
    params = {**TRAINED, "beta": 4.0, "max_iter": 20}
    plain = VAETransformer(**params).fit(blobs)
    warm = VAETransformer(**params, kl_warmup=20).fit(blobs)
    assert warm.kl_per_component_.sum() > plain.kl_per_component_.sum()


def test_free_bits_keep_dimensions_from_collapsing(blobs):
    params = {**TRAINED, "beta": 8.0}
    plain = VAETransformer(**params).fit(blobs)
    free = VAETransformer(**params, free_bits=1.0).fit(blobs)
    assert free.kl_per_component_.sum() > plain.kl_per_component_.sum()


def test_trim_fraction_keeps_training_outliers_unlearned(blobs):
    # 10% of the training rows are far-off outliers: trimming the
    # worst-fitting rows of each batch keeps the model from fitting them.
    rng = np.random.RandomState(2)
    outliers = blobs.mean(0) + 5 * blobs.std(0) * rng.choice([-1, 1], size=(40, 6))
    X = np.vstack([blobs, outliers])
    params = {**TRAINED, "batch_size": 64, "max_iter": 60}

    def gap(est):
        scores = est.fit(X).score_samples(X)
        return np.median(scores[:400]) - np.median(scores[400:])

    assert gap(VAETransformer(**params, trim_fraction=0.15)) > gap(
        VAETransformer(**params)
    )
