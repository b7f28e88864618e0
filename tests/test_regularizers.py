"""The regularizers (``skvae._regularizers``): each adds the term it
documents to the loss, and changes the fitted model in the expected
direction."""

import numpy as np
import pytest
import torch
from configs import FAST, TRAINED, seeded
from torch import nn
from torch.distributions import Independent, Normal, kl_divergence
from torch.nn import functional as F

from skvae import VAEAnomalyDetector, VAEImputer, VAETransformer, _scaling
from skvae._regularizers import (
    CONSISTENCY_MASKING,
    AdversarialPenalty,
    ConsistencyPenalty,
    L1Penalty,
    L2Penalty,
    LatentAdversarialPenalty,
    MMDPenalty,
    Regularizer,
    TotalCorrelationPenalty,
    build_regularizers,
    imq_kernel,
    kl_decomposition,
    mask_cells,
    mmd,
    total_correlation,
)
from skvae._torch.layers import SpectralNorm, linear
from skvae._torch.networks import VAE, Discriminator, LatentDiscriminator

POSTERIOR_REGULARIZERS = (
    "mmd_weight",
    "tc_weight",
    "consistency_weight",
    "latent_adversarial_weight",
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def vae():
    return VAE(5, (8,), 2, generator=seeded())


@pytest.fixture
def x():
    return torch.randn(16, 5, generator=seeded(1))


def _adversarial(vae, weight=0.5, seed=3):
    discriminator = Discriminator(vae.expansion, (8,), seeded(2))
    optimizer = torch.optim.Adam(discriminator.parameters(), lr=1e-2)
    return AdversarialPenalty(weight, discriminator, optimizer, seeded(seed))


def _weights(est):
    return torch.cat([w.detach().flatten() for w in est.net_.module_.weight_matrices()])


# ------------------------------------------------------------ interface


def test_build_regularizers_leaves_out_every_regularizer_that_is_off(vae):
    off = dict(weight_decay=0.0, l1_penalty=0.0, adversarial_weight=0.0)
    assert build_regularizers(**off) == []
    assert [type(r) for r in build_regularizers(**{**off, "l1_penalty": 0.1})] == [
        L1Penalty
    ]
    adversarial = _adversarial(vae)
    every = build_regularizers(
        weight_decay=0.1,
        l1_penalty=0.1,
        adversarial_weight=0.5,
        discriminator=adversarial.discriminator,
        discriminator_optimizer=adversarial.optimizer,
        generator=seeded(),
    )
    assert [type(r) for r in every] == [L2Penalty, L1Penalty, AdversarialPenalty]
    assert every[2].discriminator is adversarial.discriminator


def test_regularizer_interface_needs_a_penalty_and_logs_nothing_by_default(vae, x):
    class Constant(Regularizer):
        def penalty(self, vae, x):
            return torch.tensor(1.0)

    assert Constant().step(x) == {}
    with pytest.raises(NotImplementedError):
        Regularizer().penalty(vae, x)


# -------------------------------------------------------------- L2 and L1


def test_weight_decay_penalty_is_half_the_squared_norm_of_the_weight_matrices(vae, x):
    penalty = L2Penalty(0.1).penalty(vae, x)
    squares = sum(w.square().sum() for w in vae.weight_matrices())
    torch.testing.assert_close(penalty, 0.05 * squares)
    penalty.backward()
    # The gradient of Adam's weight_decay: weight_decay * W.
    for w in vae.weight_matrices():
        torch.testing.assert_close(w.grad, 0.1 * w.detach())


def test_weight_decay_spares_biases(vae, x):
    L2Penalty(0.1).penalty(vae, x).backward()
    biases = [p for name, p in vae.named_parameters() if name.endswith("bias")]
    assert biases and all(p.grad is None or not p.grad.any() for p in biases)


def test_l1_penalty_is_the_absolute_sum_of_the_weight_matrices_only(vae, x):
    penalty = L1Penalty(0.01).penalty(vae, x)
    absolute = sum(w.abs().sum() for w in vae.weight_matrices())
    torch.testing.assert_close(penalty, 0.01 * absolute)
    penalty.backward()
    for w in vae.weight_matrices():
        torch.testing.assert_close(w.grad, 0.01 * w.detach().sign())
    biases = [p for name, p in vae.named_parameters() if name.endswith("bias")]
    assert all(p.grad is None or not p.grad.any() for p in biases)


def test_weight_decay_shrinks_weights(blobs):
    norms = [
        _weights(VAETransformer(**TRAINED, weight_decay=wd).fit(blobs)).norm()
        for wd in (0.0, 0.1)
    ]
    assert norms[1] < 0.8 * norms[0]


def test_l1_penalty_gives_more_near_zero_weights(blobs):
    fractions = [
        (_weights(VAETransformer(**TRAINED, l1_penalty=l1).fit(blobs)).abs() < 1e-2)
        .float()
        .mean()
        for l1 in (0.0, 0.05)
    ]
    assert fractions[1] > fractions[0] + 0.2


# ------------------------------------------------------------ adversarial


def test_adversarial_penalty_is_the_non_saturating_loss_of_rows_drawn_from_the_model(
    vae, x
):
    regularizer = _adversarial(vae, weight=0.5, seed=3)
    penalty = regularizer.penalty(vae, x)
    # Codes from the prior, then cells drawn through the likelihood (here
    # Gaussian: mean plus scale times noise, reparameterized).
    generator = seeded(3)
    z = torch.randn(16, 2, generator=generator)
    generated = vae.likelihood.relaxed(vae.decoder(z), generator)
    assert not torch.equal(generated, vae.decode_mean(z))
    torch.testing.assert_close(regularizer._generated, generated)
    expected = 0.5 * F.softplus(-regularizer.discriminator(generated)).mean()
    torch.testing.assert_close(penalty, expected)
    # Only the decoder makes generated rows: the encoder gets no gradient.
    penalty.backward()
    assert any(p.grad is not None and p.grad.any() for p in vae.decoder.parameters())
    assert all(p.grad is None for p in vae.encoder.parameters())


def test_adversarial_step_trains_the_discriminator_and_leaves_the_vae_alone(vae, x):
    regularizer = _adversarial(vae)
    vae_before = [p.detach().clone() for p in vae.parameters()]
    losses = []
    # Real rows shifted away from the untrained model's draws (which, of
    # unit scale around means near 0, look like the standard normal x).
    real = x + 3.0
    for _ in range(30):
        regularizer.penalty(vae, real)
        logged = regularizer.step(real)
        assert set(logged) == {"discriminator_loss"}
        losses.append(logged["discriminator_loss"])
    # The real rows and the untrained model's rows are easy to tell apart.
    assert losses[-1] < 0.85 * losses[0]
    for before, after in zip(vae_before, vae.parameters(), strict=True):
        assert torch.equal(before, after)
        assert after.grad is None


def test_adversarial_weight_trains_a_discriminator(blobs):
    est = VAETransformer(**TRAINED, adversarial_weight=0.5).fit(blobs)
    assert isinstance(est.net_.discriminator_, nn.Module)
    assert len(est.discriminator_loss_curve_) == est.n_iter_
    assert np.all(np.isfinite(est.discriminator_loss_curve_))
    # The discriminator learns something: its loss falls below chance level
    # (2 log 2) at some point.
    assert min(est.discriminator_loss_curve_) < 2 * np.log(2)


def test_adversarial_weight_zero_builds_no_discriminator(blobs):
    est = VAETransformer(**TRAINED).fit(blobs)
    assert not hasattr(est.net_, "discriminator_")
    assert "discriminator" not in est.net_._modules
    assert est.discriminator_loss_curve_ is None


# ------------------------------------------- regularizers of the posterior


def _gaussian(loc, scale):
    return Independent(Normal(loc, scale), 1)


def _double_normal(n, d, generator, shift=0.0):
    return torch.randn(n, d, generator=generator, dtype=torch.float64) + shift


def test_build_regularizers_adds_the_posterior_ones_in_order_only_when_on():
    off = dict(weight_decay=0.0, l1_penalty=0.0, adversarial_weight=0.0)
    assert build_regularizers(**off, mmd_weight=0.0, tc_weight=0.0) == []
    every = build_regularizers(
        **off,
        mmd_weight=10.0,
        tc_weight=2.0,
        consistency_weight=1.0,
        n_train=500,
        generator=seeded(),
        latent_adversarial_weight=0.5,
        latent_discriminator=LatentDiscriminator(2, (8,), seeded(2)),
    )
    assert [type(r) for r in every] == [
        MMDPenalty,
        TotalCorrelationPenalty,
        ConsistencyPenalty,
        LatentAdversarialPenalty,
    ]
    assert [r.weight for r in every] == [10.0, 2.0, 1.0, 0.5]
    assert every[1].n_train == 500


@pytest.mark.parametrize("Estimator", [VAETransformer, VAEAnomalyDetector])
def test_a_posterior_regularizer_at_zero_trains_the_model_it_always_did(
    Estimator, blobs
):
    reference = Estimator(**FAST).fit(blobs)
    for name in POSTERIOR_REGULARIZERS:
        est = Estimator(**FAST, **{name: 0.0}).fit(blobs)
        assert est.loss_curve_ == reference.loss_curve_, name
        np.testing.assert_array_equal(
            est.score_samples(blobs), reference.score_samples(blobs)
        )
        on = Estimator(**FAST, **{name: 1.0}).fit(blobs)
        assert on.loss_curve_ != reference.loss_curve_, name


def test_the_imputer_takes_the_posterior_regularizers(blobs):
    gappy = blobs.copy()
    gappy[np.random.RandomState(0).uniform(size=gappy.shape) < 0.1] = np.nan
    params = dict(mmd_weight=10.0, tc_weight=1.0, consistency_weight=1.0)
    imputer = VAEImputer(**FAST, **params).fit(gappy)
    assert np.isfinite(imputer.transform(gappy)).all()
    assert np.isfinite(imputer.score(gappy))


@pytest.mark.parametrize("name", ["tc_weight", "consistency_weight"])
@pytest.mark.parametrize("latent", [dict(n_flows=1), dict(n_top_components=1)])
def test_regularizers_that_need_a_gaussian_posterior_refuse_richer_ones(
    name, latent, blobs
):
    with pytest.raises(ValueError, match=f"{name} > 0 needs a diagonal Gaussian"):
        VAETransformer(**FAST, **latent, **{name: 1.0}).fit(blobs)


# MMD: known answers


def test_mmd_of_two_samples_of_one_distribution_is_near_zero_and_large_if_shifted():
    g = seeded(0)
    a, b = _double_normal(3000, 2, g), _double_normal(3000, 2, g)
    shifted = _double_normal(3000, 2, g, shift=1.0)
    same = mmd(a, b).item()
    assert abs(same) < 2e-3
    assert mmd(a, shifted).item() > 100 * max(abs(same), 1e-4)
    # The further apart, the larger.
    assert mmd(a, shifted + 1.0) > mmd(a, shifted)


def test_mmd_is_unbiased_small_batches_average_to_the_large_sample_value():
    g = seeded(0)
    shift = torch.tensor([0.5, 0.0], dtype=torch.float64)
    large = mmd(_double_normal(4000, 2, g), _double_normal(4000, 2, g) + shift)
    pairs = [
        (_double_normal(8, 2, g), _double_normal(8, 2, g) + shift) for _ in range(4000)
    ]
    small = np.mean([mmd(a, b).item() for a, b in pairs])
    # The mean of 4000 batches of 8 has a standard error of about 0.007.
    assert small == pytest.approx(large.item(), abs=0.03)
    # The V-statistic (i = j terms kept) is biased upwards by far more.
    biased = np.mean(
        [
            (imq_kernel(a, a).mean() + imq_kernel(b, b).mean()).item()
            - 2 * imq_kernel(a, b).mean().item()
            for a, b in pairs[:500]
        ]
    )
    assert biased > large.item() + 0.3
    same = [mmd(_double_normal(8, 2, g), _double_normal(8, 2, g)) for _ in range(4000)]
    assert abs(np.mean([v.item() for v in same])) < 0.02


def test_mmd_penalty_compares_posterior_draws_with_prior_draws(vae, x):
    penalty = MMDPenalty(10.0, seeded(4)).penalty(vae, x)
    g = seeded(4)
    q = vae(x)
    z = q.sample(torch.randn(16, 2, generator=g))
    z_prior = torch.randn(16, 2, generator=g)
    torch.testing.assert_close(penalty, 10.0 * mmd(z, z_prior))
    penalty.backward()
    assert any(p.grad is not None and p.grad.any() for p in vae.encoder.parameters())


# Total correlation: known answers


def _gaussian_posteriors(correlation, n_rows, sigma, seed):
    """Posteriors N(mu_j, sigma^2 I) with means mu_j ~ N(0, correlation), one
    draw from each; their mixture tends to N(0, correlation + sigma^2 I)."""
    g = seeded(seed)
    d = correlation.shape[0]
    cholesky = torch.linalg.cholesky(correlation)
    mu = _double_normal(n_rows, d, g) @ cholesky.T
    z = mu + sigma * _double_normal(n_rows, d, g)
    return z, _gaussian(mu, torch.full_like(mu, sigma))


def _gaussian_total_correlation(covariance):
    """-1/2 log det of the correlation matrix: a Gaussian's total correlation."""
    std = covariance.diagonal().sqrt()
    return -0.5 * torch.logdet(covariance / std[:, None] / std[None, :]).item()


def test_total_correlation_of_independent_gaussians_is_near_zero():
    z, q = _gaussian_posteriors(torch.eye(3, dtype=torch.float64), 2000, 0.8, 0)
    # The batch is the whole training set: the estimate is its mixture's.
    assert abs(total_correlation(z, q, n_train=2000).item()) < 0.02


def test_total_correlation_of_correlated_gaussians_is_half_the_log_det():
    correlation = torch.tensor(
        [[1.0, 0.8, 0.3], [0.8, 1.0, 0.5], [0.3, 0.5, 1.0]], dtype=torch.float64
    )
    sigma = 0.8
    z, q = _gaussian_posteriors(correlation, 2000, sigma, 0)
    expected = _gaussian_total_correlation(correlation + sigma**2 * torch.eye(3))
    # Seeds 0-2 land within 0.011 of the Gaussian's 0.186 (the mixture of
    # 2000 rows is not quite that Gaussian): a tolerance of 0.03.
    assert total_correlation(z, q, n_train=2000).item() == pytest.approx(
        expected, abs=0.03
    )


def test_mutual_information_total_correlation_and_dimension_wise_kl_sum_to_the_kl():
    correlation = torch.tensor([[1.0, 0.6], [0.6, 1.0]], dtype=torch.float64)
    z, q = _gaussian_posteriors(correlation, 500, 0.5, 1)
    prior = _gaussian(torch.zeros(2, dtype=torch.float64), torch.ones(2))
    parts = kl_decomposition(z, q, prior, n_train=10_000)
    monte_carlo = (q.log_prob(z) - prior.log_prob(z)).mean()
    torch.testing.assert_close(sum(parts), monte_carlo)
    # Each part is a KL, so non-negative (up to the estimate's noise), and
    # the sum estimates the closed-form KL.
    assert all(part > -0.05 for part in parts)
    closed_form = kl_divergence(q, prior).mean()
    assert monte_carlo.item() == pytest.approx(closed_form.item(), abs=0.1)


def test_total_correlation_weighs_the_own_row_one_in_n_train():
    # Two rows whose posteriors do not overlap: the mixture over N rows puts
    # 1/N on each row's own posterior, so log q(z) = log q(z | x) - log N
    # and each marginal is its row's too: TC = (d - 1) log N.
    mu = torch.tensor([[0.0, 0.0], [100.0, 100.0]], dtype=torch.float64)
    q = _gaussian(mu, torch.ones_like(mu))
    assert total_correlation(mu, q, n_train=50).item() == pytest.approx(np.log(50))


# Consistency: known answer


def test_consistency_penalty_is_the_kl_from_the_masked_rows_posterior(vae, x):
    penalty = ConsistencyPenalty(2.0, seeded(5)).penalty(vae, x)
    q = vae(x).q
    masked = mask_cells(x, CONSISTENCY_MASKING, vae.expansion, seeded(5))
    assert (masked == 0).float().mean() == pytest.approx(CONSISTENCY_MASKING, abs=0.1)
    q_masked = vae(masked).q
    expected = kl_divergence(
        _gaussian(q_masked.mean, q_masked.stddev), _gaussian(q.mean, q.stddev)
    )
    torch.testing.assert_close(penalty, 2.0 * expected.mean())
    assert penalty > 0


# What each one does to a fitted model


def _posterior_targets(est, X):
    """MMD between the training rows' posterior draws (4 per row) and prior
    draws, the total correlation of their aggregate posterior, and the
    consistency KL under masking, all at fixed seeds."""
    vae = est.net_.module_
    x = _scaling.standardized_tensor(X, est.mean_, est.scale_, np.float32, "cpu")
    g = seeded(0)
    with torch.no_grad():
        q = vae(x).q
        z = q.mean + q.stddev * torch.randn(q.mean.shape, generator=g)
        draws = q.mean + q.stddev * torch.randn((4, *q.mean.shape), generator=g)
        draws = draws.reshape(-1, q.mean.shape[1])  # (4 n_samples, n_components)
        to_prior = mmd(draws, vae.sample_codes(len(draws), g)).item()
        tc = total_correlation(z, q, len(x)).item()
        masked = vae(mask_cells(x, CONSISTENCY_MASKING, vae.expansion, g)).q
        consistency = kl_divergence(masked, q).mean().item()
    return dict(mmd=to_prior, tc=tc, consistency=consistency)


def test_mmd_weight_brings_the_aggregate_posterior_closer_to_the_prior(blobs):
    # A weak KL term (beta=0.1) leaves the codes' mixture far from the prior.
    weak = {**TRAINED, "beta": 0.1}
    without = _posterior_targets(VAETransformer(**weak).fit(blobs), blobs)
    with_mmd = VAETransformer(**weak, mmd_weight=10.0).fit(blobs)
    assert _posterior_targets(with_mmd, blobs)["mmd"] < 0.3 * without["mmd"]


def test_tc_weight_lowers_the_total_correlation_of_the_codes(blobs):
    without = _posterior_targets(VAETransformer(**TRAINED).fit(blobs), blobs)
    with_tc = VAETransformer(**TRAINED, tc_weight=5.0).fit(blobs)
    assert _posterior_targets(with_tc, blobs)["tc"] < 0.5 * without["tc"]


def test_consistency_weight_brings_masked_rows_posteriors_closer(blobs):
    without = _posterior_targets(VAETransformer(**TRAINED).fit(blobs), blobs)
    with_cr = VAETransformer(**TRAINED, consistency_weight=5.0).fit(blobs)
    assert (
        _posterior_targets(with_cr, blobs)["consistency"] < 0.5 * without["consistency"]
    )


def test_tc_penalty_is_the_estimate_at_one_draw_per_row(vae, x):
    penalty = TotalCorrelationPenalty(3.0, 1000, seeded(6)).penalty(vae, x)
    q = vae(x).q
    z = q.mean + q.stddev * torch.randn(16, 2, generator=seeded(6))
    torch.testing.assert_close(penalty, 3.0 * total_correlation(z, q, 1000))


# Latent adversary (AAE)


def _latent_adversarial(vae, weight=0.5, seed=3):
    discriminator = LatentDiscriminator(2, (8,), seeded(2))
    optimizer = torch.optim.Adam(discriminator.parameters(), lr=1e-2)
    return LatentAdversarialPenalty(weight, discriminator, optimizer, seeded(seed))


def test_latent_adversarial_penalty_is_the_non_saturating_loss_of_posterior_draws(
    vae, x
):
    regularizer = _latent_adversarial(vae, weight=0.5, seed=3)
    penalty = regularizer.penalty(vae, x)
    g = seeded(3)
    z = vae(x).sample(torch.randn(16, 2, generator=g))
    torch.testing.assert_close(regularizer._codes, z)
    torch.testing.assert_close(
        regularizer._prior_codes, torch.randn(16, 2, generator=g)
    )
    expected = 0.5 * F.softplus(-regularizer.discriminator(z)).mean()
    torch.testing.assert_close(penalty, expected)
    # The encoder makes the codes: it gets the gradient, the decoder none.
    penalty.backward()
    assert any(p.grad is not None and p.grad.any() for p in vae.encoder.parameters())
    assert all(p.grad is None for p in vae.decoder.parameters())


def test_latent_adversarial_step_trains_its_discriminator_only(vae, x):
    regularizer = _latent_adversarial(vae)
    vae_before = [p.detach().clone() for p in vae.parameters()]
    # The codes of rows far from the data's are easy to tell apart.
    shifted = x + 20.0
    regularizer.penalty(vae, shifted)
    first = regularizer.step(x)
    assert set(first) == {"latent_discriminator_loss", "latent_discriminator_accuracy"}
    for _ in range(100):
        regularizer.penalty(vae, shifted)
        last = regularizer.step(x)
    assert last["latent_discriminator_loss"] < first["latent_discriminator_loss"]
    assert last["latent_discriminator_accuracy"] > 0.8
    for before, after in zip(vae_before, vae.parameters(), strict=True):
        assert torch.equal(before, after)
        assert after.grad is None


def _last_accuracy(est, n_epochs=10):
    """The latent discriminator's mean accuracy on the training batches of
    the last ``n_epochs`` epochs."""
    key = "latent_discriminator_accuracy"
    return np.mean(
        [b[key] for row in est.net_.history[-n_epochs:] for b in row["batches"]]
    )


def test_a_larger_latent_adversarial_weight_brings_its_discriminator_to_chance(
    blobs,
):
    # A weak KL term (beta=0.1) leaves codes a discriminator can tell from
    # prior draws; trained long enough for it to learn to.
    params = {**TRAINED, "beta": 0.1, "max_iter": 150}
    weak, strong = (
        VAETransformer(**params, latent_adversarial_weight=w).fit(blobs)
        for w in (0.1, 3.0)
    )
    assert _last_accuracy(weak) > 0.7
    assert abs(_last_accuracy(strong) - 0.5) < 0.5 * abs(_last_accuracy(weak) - 0.5)


def test_latent_adversary_is_saved_and_needed_from_the_first_fit(blobs):
    import pickle

    est = VAETransformer(**FAST, latent_adversarial_weight=1.0).fit(blobs)
    loaded = pickle.loads(pickle.dumps(est))
    for name in ("latent_discriminator_", "optimizer_latent_discriminator_"):
        assert hasattr(loaded.net_, name)
    state, loaded_state = (
        e.net_.latent_discriminator_.state_dict() for e in (est, loaded)
    )
    for key in state:
        assert torch.equal(state[key], loaded_state[key])
    plain = VAETransformer(**FAST).fit(blobs)
    assert not hasattr(plain.net_, "latent_discriminator_")
    plain.set_params(warm_start=True, latent_adversarial_weight=1.0)
    with pytest.raises(ValueError, match="latent_adversarial_weight > 0 needs"):
        plain.fit(blobs)


def test_a_refused_posterior_regularizer_leaves_a_fitted_model_as_it_was(blobs):
    est = VAETransformer(**FAST, n_flows=1).fit(blobs)
    before = (_weights(est).clone(), est.n_iter_, list(est.loss_curve_))
    est.set_params(warm_start=True, consistency_weight=1.0)
    with pytest.raises(ValueError, match="needs a diagonal Gaussian posterior"):
        est.fit(blobs)
    assert torch.equal(_weights(est), before[0])
    assert (est.n_iter_, est.loss_curve_) == before[1:]


# ---------------------------------------------------- spectral normalization


def _linear_layers(module):
    return [m for m in module.modules() if isinstance(m, SpectralNorm)]


def test_spectral_norm_divides_a_weight_by_its_largest_singular_value():
    layer = SpectralNorm(linear(6, 4, seeded()), seeded(1))
    x = torch.randn(3, 6, generator=seeded(2))
    for _ in range(30):  # power iteration, one step per training pass
        layer(x)
    weight = layer.layer.weight.detach()
    expected = weight / torch.linalg.matrix_norm(weight, ord=2)
    torch.testing.assert_close(layer.weight().detach(), expected)
    torch.testing.assert_close(layer(x), F.linear(x, expected, layer.layer.bias))
    # In eval mode the estimate is kept as it is.
    u = layer.u.clone()
    layer.eval()(x)
    assert torch.equal(layer.u, u)


@pytest.mark.parametrize("Estimator", [VAETransformer, VAEAnomalyDetector])
def test_spectral_norm_keeps_both_discriminators_1_lipschitz_layer_by_layer(
    Estimator, blobs
):
    est = Estimator(
        **TRAINED,
        adversarial_weight=0.5,
        latent_adversarial_weight=0.5,
        spectral_norm=True,
    ).fit(blobs)
    for discriminator in (est.net_.discriminator_, est.net_.latent_discriminator_):
        layers = _linear_layers(discriminator.eval())
        # Every linear layer: two hidden ones and the output.
        assert len(layers) == len(est.hidden_layer_sizes_) + 1
        for layer in layers:
            # About 1: one power-iteration step per pass trails the
            # weights as they train.
            sigma = torch.linalg.matrix_norm(layer.weight().detach(), ord=2)
            assert abs(sigma.item() - 1.0) < 0.15
    # Without it the trained layers are far from norm 1.
    plain = Estimator(**TRAINED, adversarial_weight=0.5).fit(blobs)
    modules = plain.net_.discriminator_.modules()
    weights = [m.weight for m in modules if isinstance(m, nn.Linear)]
    assert not _linear_layers(plain.net_.discriminator_)
    sigmas = [torch.linalg.matrix_norm(w.detach(), ord=2).item() for w in weights]
    assert max(abs(sigma - 1.0) for sigma in sigmas) > 0.3


def test_spectral_norm_changes_nothing_without_an_adversary(blobs):
    reference = VAETransformer(**FAST).fit(blobs)
    est = VAETransformer(**FAST, spectral_norm=True).fit(blobs)
    assert est.loss_curve_ == reference.loss_curve_
    np.testing.assert_array_equal(est.transform(blobs), reference.transform(blobs))
    np.testing.assert_array_equal(
        est.sample(20, random_state=0), reference.sample(20, random_state=0)
    )
    assert not est.architecture_.spectral_norm


def test_spectral_norm_off_trains_the_adversarial_model_it_always_did(blobs):
    params = {**FAST, "adversarial_weight": 0.5, "latent_adversarial_weight": 0.5}
    reference = VAETransformer(**params).fit(blobs)
    off = VAETransformer(**params, spectral_norm=False).fit(blobs)
    on = VAETransformer(**params, spectral_norm=True).fit(blobs)
    assert off.loss_curve_ == reference.loss_curve_
    assert on.loss_curve_ != reference.loss_curve_


def test_spectrally_normalized_discriminators_are_saved_and_needed_from_the_first_fit(
    blobs,
):
    import pickle

    params = {**FAST, "adversarial_weight": 0.5, "latent_adversarial_weight": 0.5}
    est = VAETransformer(**params, spectral_norm=True).fit(blobs)
    loaded = pickle.loads(pickle.dumps(est))
    for name in ("discriminator_", "latent_discriminator_"):
        state = getattr(est.net_, name).state_dict()
        loaded_state = getattr(loaded.net_, name).state_dict()
        assert any(key.endswith(".u") for key in state)
        for key in state:
            assert torch.equal(state[key], loaded_state[key])
    # Training continues as without the round trip.
    for e in (est, loaded):
        e.set_params(warm_start=True, max_iter=2).fit(blobs)
    assert loaded.loss_curve_ == est.loss_curve_
    plain = VAETransformer(**params).fit(blobs)
    plain.set_params(warm_start=True, spectral_norm=True)
    with pytest.raises(ValueError, match="spectral_norm=True needs"):
        plain.fit(blobs)
