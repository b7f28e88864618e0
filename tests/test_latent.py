"""The richer latent models: VampPrior, flow posterior, two-level model.

Their densities are checked against independent computations (torch's
mixture, the flow's Jacobian by autograd, the likelihood by quadrature),
their bounds against the likelihood they bound, and the estimators'
promises (the learned prior in ``sample``, persistence, continuation,
model selection by ``score``) on fitted models.
"""

import math
import pickle
import warnings

import numpy as np
import pytest
import torch
from configs import FAST, seeded
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal

from skvae import VAEAnomalyDetector, VAEClassifier, VAEImputer, VAETransformer
from skvae._objective import Objective
from skvae._torch.flows import InverseAutoregressiveFlow
from skvae._torch.latent import NormalMixture
from skvae._torch.networks import VAE

RICH = {
    "vamp": dict(prior="vamp"),
    "flow": dict(n_flows=2),
    "hierarchy": dict(n_top_components=2),
    "all": dict(prior="vamp", n_pseudo_inputs=5, n_flows=1, n_top_components=1),
}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _log_weights(est, X, n_draws, seed=0):
    """log p(x | z) + log p(z) - log q(z | x) of ``n_draws`` draws per row
    of ``X``, with the fitted float64 module, on the standardized scale:
    (n_draws, n_rows)."""
    model = est._inference()
    vae = model.module_for(np.float64)
    x = model.standardized(X, np.float64)
    with torch.no_grad():
        q = vae(x)
        draw = q.draw(q.noise((n_draws,), seeded(seed)))
        return vae.decode(draw.z).log_prob(x) + draw.log_p - draw.log_q


def _iwae(log_w, k):
    """The mean over rows and over the disjoint groups of k draws of the
    k-sample bound."""
    groups = log_w[: (log_w.shape[0] // k) * k].reshape(-1, k, log_w.shape[1])
    return (torch.logsumexp(groups, 1) - math.log(k)).mean().item()


# ------------------------------------------------------------- densities


def test_vamp_mixture_density_is_torchs_mixture_of_its_components():
    generator = seeded()
    loc = torch.randn(7, 3, generator=generator, dtype=torch.float64)
    scale = torch.rand(7, 3, generator=generator, dtype=torch.float64) + 0.05
    z = 2 * torch.randn(4, 5, 3, generator=generator, dtype=torch.float64)
    reference = MixtureSameFamily(
        Categorical(logits=torch.zeros(7, dtype=torch.float64)),
        Independent(Normal(loc, scale), 1),
    )
    torch.testing.assert_close(
        NormalMixture(loc, scale).log_prob(z), reference.log_prob(z)
    )


def test_flow_log_determinant_is_that_of_its_jacobian():
    flow = InverseAutoregressiveFlow(4, 6, n_flows=3, width=8, generator=seeded())
    flow = flow.double()
    for step in flow.steps:  # away from the near-identity start
        for p in step.parameters():
            torch.nn.init.normal_(p, std=0.5, generator=seeded(1))
    z0 = torch.randn(4, dtype=torch.float64, generator=seeded(2))
    h = torch.randn(6, dtype=torch.float64, generator=seeded(3))
    jacobian = torch.autograd.functional.jacobian(lambda z: flow(z, h)[0], z0)
    _, log_det = flow(z0, h)
    torch.testing.assert_close(log_det, torch.linalg.slogdet(jacobian)[1])
    # Autoregressive: the first step's output i depends on inputs < i only,
    # so its Jacobian is triangular (no step is the identity).
    first = torch.autograd.functional.jacobian(lambda z: flow.steps[0](z, h)[0], z0)
    assert torch.all(first.triu(1) == 0) and torch.any(first.tril(-1) != 0)


def test_free_bits_floor_the_monte_carlo_kl_of_the_whole_code():
    vae = VAE(5, (8,), 3, prior="vamp", n_pseudo_inputs=4, generator=seeded())
    x = torch.randn(16, 5, generator=seeded(1))

    def loss(**kw):
        return Objective(**kw)(vae, vae(x), x, epoch=1, generator=seeded(2))

    # A floor far above the KL: the KL term is the constant floor, one
    # group of free_bits * (latent dimensions), and has no gradient.
    floored = loss(free_bits=100.0)
    torch.testing.assert_close(floored, loss(beta=0.0) + 100.0 * 3)
    floored.backward()
    assert vae.vamp.pseudo_inputs.grad is None or not vae.vamp.pseudo_inputs.grad.any()


@pytest.fixture(scope="module")
def small_model():
    """A two-level model with a VampPrior and a flow on 2-D data, latent
    layers of one dimension each: its likelihood can be integrated."""
    rng = np.random.RandomState(0)
    t = rng.uniform(-2, 2, size=300)
    X = np.column_stack([t, np.sin(2 * t)]) + 0.1 * rng.normal(size=(300, 2))
    est = VAETransformer(
        n_components=1,
        n_top_components=1,
        prior="vamp",
        n_pseudo_inputs=5,
        n_flows=1,
        hidden_layer_sizes=(16,),
        max_iter=40,
        random_state=0,
    ).fit(X)
    return est, X


def _log_likelihood_by_quadrature(est, X):
    """log p(x) per row, by integrating p(x | z1) p(z1 | z2) p(z2) on a
    grid of (z1, z2) (one dimension each), standardized scale."""
    model = est._inference()
    vae = model.module_for(np.float64)
    x = model.standardized(X, np.float64)
    grid = torch.linspace(-10, 10, 4001, dtype=torch.float64)[:, None]  # (g, 1)
    step = math.log(grid[1, 0] - grid[0, 0])
    with torch.no_grad():
        log_p_z2 = vae.top_prior().log_prob(grid)  # (g,)
        p_z1_given_z2 = vae.top.prior(grid)  # batch (g,)
        log_p_joint = p_z1_given_z2.log_prob(grid[:, None, :])  # (g z1, g z2)
        log_p_z1 = torch.logsumexp(log_p_joint + log_p_z2, 1) + step  # (g,)
        log_px_z1 = vae.decode(grid[:, None, :]).log_prob(x)  # (g, n_rows)
        return torch.logsumexp(log_px_z1 + log_p_z1[:, None], 0) + step


def test_bounds_of_a_rich_model_stay_below_its_likelihood_and_grow_with_k(
    small_model,
):
    est, X = small_model
    rows = X[:20]
    exact = _log_likelihood_by_quadrature(est, rows).mean().item()
    log_w = _log_weights(est, rows, 20000)
    bounds = [_iwae(log_w, k) for k in (1, 10, 100, 2000)]
    assert bounds == sorted(bounds) and bounds[0] < bounds[-1]
    # A bound, up to Monte Carlo error (a wrong sign of the flow's
    # log-determinant or a missing layer's density would break it), and a
    # tight one at large k.
    assert bounds[-1] <= exact + 0.005
    assert exact - bounds[-1] < 0.02
    # score_samples is that bound, on the user's scale.
    standardized = est.score_samples(rows) + np.log(est.scale_).sum()
    assert standardized.mean() <= exact + 0.05


# ------------------------------------------------------------ the prior


def _two_blobs():
    rng = np.random.RandomState(0)
    centres = np.array([[-5.0, -5.0, 0.0], [5.0, 5.0, 0.0]])
    return centres[rng.randint(2, size=400)] + 0.3 * rng.normal(size=(400, 3))


def test_sample_draws_codes_from_the_learned_vamp_prior():
    X = _two_blobs()
    params = {**FAST, "batch_size": 32, "max_iter": 60, "n_iter_no_change": 60}
    est = VAETransformer(**params, prior="vamp").fit(X)
    before = est.sample(300, random_state=0)
    assert (before[:, 0] < 0).mean() == pytest.approx(0.5, abs=0.1)
    # Every pseudo-input moved onto the encoder's reading of one row of
    # the first blob: the prior is that row's posterior, and so are the
    # samples' codes (the standard normal prior would not move).
    vae = est.net_.module_
    row = torch.tensor((X[X[:, 0] < 0][:1] - est.mean_) / est.scale_)
    with torch.no_grad():
        vae.vamp.pseudo_inputs.copy_(vae.encoder.inputs(row.float()))
    est._refresh_float64_module()  # inference reads a copy made at fit
    after = est.sample(300, random_state=0)
    assert (after[:, 0] < 0).mean() > 0.8 and after[:, 0].mean() < -3


def test_sample_draws_the_lower_codes_from_the_top_layer():
    X = _two_blobs()
    est = VAETransformer(**{**FAST, "max_iter": 20}, n_top_components=2).fit(X)
    # p(z1 | z2) made a point mass at c, whatever z2: every sample is
    # then a draw of p(x | z1 = c).
    c = est.transform(X[:1])
    top = est.net_.module_.top
    with torch.no_grad():
        top.prior_loc.weight.zero_()
        top.prior_loc.bias.copy_(torch.tensor(c[0]))
        top.prior_raw_scale.weight.zero_()
        top.prior_raw_scale.bias.fill_(-50.0)  # scale 1e-5
    est._refresh_float64_module()  # inference reads a copy made at fit
    samples = est.sample(200, random_state=0)
    decoded = est.inverse_transform(c)
    noise = est.net_.module_.likelihood.scale().detach().numpy() * est.scale_
    np.testing.assert_allclose(samples.mean(0), decoded[0], atol=4 * noise.max())


# --------------------------------------------------- the estimator's promises


@pytest.mark.parametrize("name", list(RICH))
def test_transform_is_the_deterministic_code_and_kl_per_component_is_nan(name, X):
    est = VAETransformer(**FAST, **RICH[name]).fit(X)
    Z = est.transform(X)
    np.testing.assert_array_equal(Z, est.transform(X))
    # Batch independent to float64 rounding (the checks allow 1e-7).
    np.testing.assert_allclose(Z[:7], est.transform(X[:7]), rtol=1e-12, atol=1e-15)
    assert Z.shape == (len(X), 2) and np.all(np.isfinite(Z))
    assert np.all(np.isnan(est.kl_per_component_))
    assert np.all(np.isfinite(est.component_activity_))


@pytest.mark.parametrize("name", list(RICH))
@pytest.mark.parametrize("Estimator", [VAETransformer, VAEImputer, VAEAnomalyDetector])
def test_a_rich_model_round_trips_and_continues_training_identically(
    Estimator, name, X
):
    est = Estimator(**FAST, **RICH[name]).fit(X)
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(loaded.score_samples(X), est.score_samples(X))
    if hasattr(est, "sample"):
        np.testing.assert_array_equal(
            loaded.sample(5, random_state=0), est.sample(5, random_state=0)
        )
    est.partial_fit(X)
    loaded.partial_fit(X)
    assert loaded.loss_curve_ == est.loss_curve_
    np.testing.assert_array_equal(loaded.score_samples(X), est.score_samples(X))


def test_skops_stores_a_rich_model_trusting_only_the_estimator(X):
    sio = pytest.importorskip("skops.io")
    est = VAETransformer(**FAST, **RICH["all"]).fit(X)
    data = sio.dumps(est)
    untrusted = sio.get_untrusted_types(data=data)
    assert untrusted == ["skvae.transformer.VAETransformer"]
    loaded = sio.loads(data, trusted=untrusted)
    np.testing.assert_array_equal(loaded.transform(X), est.transform(X))


@pytest.mark.parametrize(
    "change",
    [{"prior": "vamp"}, {"n_flows": 1}, {"n_top_components": 3}],
)
def test_a_continuation_cannot_change_the_latent_model(change, X):
    est = VAETransformer(**FAST).fit(X)
    est.set_params(warm_start=True, **change)
    name = next(iter(change))
    with pytest.raises(ValueError, match=f"{name}=.* differs from the fitted"):
        est.fit(X)
    assert est.n_iter_ == 5


def test_n_pseudo_inputs_auto_is_fixed_by_the_first_fit(X):
    est = VAETransformer(**FAST, prior="vamp").partial_fit(X)
    assert est.n_pseudo_inputs_ == len(X) // 10
    est.partial_fit(X[:20])  # "auto" would resolve to 2 on these rows
    assert est.n_pseudo_inputs_ == len(X) // 10
    big = VAETransformer(**{**FAST, "max_iter": 1}, prior="vamp")
    big.fit(np.tile(X, (100, 1)))
    assert big.n_pseudo_inputs_ == 100
    est.set_params(n_pseudo_inputs=4)
    with pytest.raises(ValueError, match="n_pseudo_inputs=4 differs"):
        est.partial_fit(X)


def test_the_classifier_has_no_richer_latent_models():
    # M2 has the standard normal prior and a Gaussian posterior: the
    # hyperparameters of the others are not on it.
    for change in RICH.values():
        assert not set(change) & set(VAEClassifier().get_params())
        with pytest.raises(TypeError, match="unexpected keyword"):
            VAEClassifier(**FAST, **change)


def test_grid_search_selects_the_latent_model_by_held_out_score():
    X = _two_blobs()
    search = GridSearchCV(
        VAETransformer(**{**FAST, "max_iter": 10}),
        {"prior": ["normal", "vamp"], "n_flows": [0, 1]},
        cv=2,
    ).fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and len(set(scores.tolist())) == 4


@pytest.mark.parametrize("name", list(RICH))
def test_sample_remaining_columns_of_a_rich_model_keeps_the_given_cells(name, X):
    est = VAETransformer(**FAST, **RICH[name]).fit(X)
    known = X[:20].copy()
    known[:, 1:] = np.nan
    out = est.sample_remaining_columns(known, random_state=0)
    np.testing.assert_array_equal(out[:, 0], X[:20, 0])
    assert np.all(np.isfinite(out))
    np.testing.assert_array_equal(
        out, est.sample_remaining_columns(known, random_state=0)
    )
