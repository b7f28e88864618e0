"""Inference (``skvae._inference``): deterministic, batch-independent,
chunked and thread-safe outputs, the bound's meaning in nats, decoding and
sampling, and the latent diagnostics."""

import pickle

import numpy as np
import pytest
from configs import ESTIMATORS, FAST
from outputs import row_outputs
from sklearn import config_context

from skvae import VAETransformer
from skvae._inference import _BYTES_PER_ELEMENT, _CACHE_BYTES, _MIN_CHUNK_ROWS

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module", params=ESTIMATORS, ids=lambda c: c.__name__)
def fitted(request, X):
    return request.param(**FAST).fit(X)


@pytest.fixture(scope="module")
def gaussian_1d():
    return np.random.RandomState(0).normal(loc=3.0, scale=2.0, size=(1000, 1))


# ---------------------------------------------------------------- inference


def test_score_samples_is_deterministic_and_batch_independent(blobs):
    est = VAETransformer(**FAST).fit(blobs)
    full = est.score_samples(blobs)
    rows = np.concatenate(
        [est.score_samples(blobs[i : i + 7]) for i in range(0, 400, 7)]
    )
    np.testing.assert_allclose(full, rows, rtol=1e-12)
    np.testing.assert_array_equal(full, est.score_samples(blobs))
    np.testing.assert_array_equal(full[::-1], est.score_samples(blobs[::-1]))


@pytest.mark.filterwarnings("ignore:Could not adhere to working_memory")
def test_inference_is_chunked_with_identical_results(fitted, X):
    expected = row_outputs(fitted, X)
    # A working memory too small for one row forces one row per chunk (with
    # scikit-learn's warning that it could not adhere to it).
    with config_context(working_memory=1e-9):
        chunks = fitted._inference().row_chunks(len(X), 16)
        assert all(s.stop - s.start == 1 for s in chunks)
        for a, b in zip(expected, row_outputs(fitted, X), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_sample_decodes_in_bounded_chunks(X):
    est = VAETransformer(**FAST).fit(X)
    width = max(est.n_features_in_, *est.hidden_layer_sizes_)
    # The float64 copy of the module that inference uses, made at fit.
    decoder = est._inference().module_for(np.float64).decoder
    seen = []
    hook = decoder.register_forward_hook(lambda m, i, o: seen.append(len(o)))
    try:
        # Room for 4 rows per chunk.
        with config_context(working_memory=4 * _BYTES_PER_ELEMENT * width / 2**20):
            rows = est.sample(1000, random_state=0)
            again = est.sample(1000, random_state=0)
    finally:
        hook.remove()
    assert rows.shape == (1000, est.n_features_in_) and np.isfinite(rows).all()
    assert max(seen) == 4 and sum(seen) == 2000
    np.testing.assert_array_equal(rows, again)


def test_the_float64_copy_of_the_weights_follows_training_and_pickling(X):
    est = VAETransformer(**FAST).fit(X)
    at_fit = est._inference().module_for(np.float64)
    # Made once per fit, not per call.
    assert est._inference().module_for(np.float64) is at_fit
    est.partial_fit(X)
    copy = est._inference().module_for(np.float64)
    assert copy is not at_fit and not copy.training
    for trained, used in zip(
        est.net_.module_.parameters(), copy.parameters(), strict=True
    ):
        np.testing.assert_array_equal(
            trained.detach().double().numpy(), used.detach().numpy()
        )
    assert "_float64_module" not in est.__getstate__()
    assert "_float64_module" in vars(est)  # pickling leaves it in place
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(loaded.score_samples(X), est.score_samples(X))


def test_chunks_are_cache_sized_unless_working_memory_is_smaller(X):
    model = VAETransformer(**FAST).fit(X)._inference()
    chunks = list(model.row_chunks(10**6, 4))
    largest = max(c.stop - c.start for c in chunks)
    assert largest == max(_MIN_CHUNK_ROWS, _CACHE_BYTES // (8 * 4 * model.width))


def test_chunk_memory_does_not_grow_with_rows(X):
    model = VAETransformer(**FAST).fit(X)._inference()
    for working_memory in (64, 1024):
        with config_context(working_memory=working_memory):
            for n_rows in (10**4, 10**6):
                for n_draws in (1, 1000):
                    chunks = list(model.row_chunks(n_rows, n_draws))
                    largest = max(c.stop - c.start for c in chunks)
                    assert sum(c.stop - c.start for c in chunks) == n_rows
                    row_bytes = _BYTES_PER_ELEMENT * n_draws * model.width
                    assert largest * row_bytes <= working_memory * 2**20


def test_score_is_close_to_true_log_density_of_a_1d_gaussian(gaussian_1d):
    est = VAETransformer(n_components=1, hidden_layer_sizes=(8,), max_iter=60)
    est.set_params(random_state=0, batch_size=64).fit(gaussian_1d)
    # E[log N(x; 3, 2^2)] = -log(2 sqrt(2 pi)) - 1/2
    true_mean_log_density = -np.log(2.0 * np.sqrt(2 * np.pi)) - 0.5
    assert est.score(gaussian_1d) == pytest.approx(true_mean_log_density, abs=0.1)


def test_score_is_a_whole_row_log_likelihood_in_nats(gaussian_1d):
    # Two independent copies of the feature: the row log-likelihood doubles
    # (summed over features, not averaged).
    X2 = np.hstack([gaussian_1d, gaussian_1d[::-1]])
    params = dict(hidden_layer_sizes=(8,), max_iter=60, random_state=0, batch_size=64)
    s1 = VAETransformer(n_components=1, **params).fit(gaussian_1d).score(gaussian_1d)
    s2 = VAETransformer(n_components=2, **params).fit(X2).score(X2)
    assert s2 == pytest.approx(2 * s1, abs=0.3)


def test_score_samples_is_on_the_users_scale(blobs):
    # Internal standardization: scaling the data changes the density by the
    # Jacobian, d * log(c), and nothing else.
    est = VAETransformer(**{**FAST, "max_iter": 30}).fit(blobs)
    scaled = VAETransformer(**{**FAST, "max_iter": 30}).fit(blobs * 1000.0)
    # (Each row's Monte Carlo draws depend on its values, so compare means.)
    assert scaled.score(blobs * 1000.0) == pytest.approx(
        est.score(blobs) - blobs.shape[1] * np.log(1000.0), abs=0.05
    )
    assert scaled.score_samples(blobs.astype(np.float32)).dtype == np.float64


def test_more_importance_samples_tighten_the_bound(blobs):
    # Same random_state, same model: only the number of samples differs.
    scores = [
        VAETransformer(**{**FAST, "max_iter": 30}, n_mc_samples=k)
        .fit(blobs)
        .score(blobs)
        for k in (1, 10, 100)
    ]
    assert scores[0] < scores[1] < scores[2]


def test_n_mc_samples_changes_take_effect_at_the_next_fit(blobs):
    est = VAETransformer(**FAST, n_mc_samples=1).fit(blobs)
    before = est.score_samples(blobs)
    est.set_params(n_mc_samples=50)
    np.testing.assert_array_equal(est.score_samples(blobs), before)
    assert est.fit(blobs).score(blobs) > before.mean()


def test_inverse_transform_decodes_to_input_space(blobs):
    est = VAETransformer(**{**FAST, "max_iter": 30}).fit(blobs)
    decoded = est.inverse_transform(est.transform(blobs))
    assert decoded.shape == blobs.shape
    # Reconstructions are on the original scale of each column.
    np.testing.assert_allclose(
        decoded.mean(0), blobs.mean(0), atol=0.2 * blobs.std(0).max()
    )


def test_samples_match_the_mean_and_covariance_of_a_gaussian_blob():
    rng = np.random.RandomState(0)
    cov = np.array([[4.0, 1.5], [1.5, 1.0]])
    X = rng.multivariate_normal([10.0, -5.0], cov, size=2000)
    est = VAETransformer(n_components=2, hidden_layer_sizes=(16,), max_iter=40)
    est.set_params(random_state=0, batch_size=64).fit(X)
    samples = est.sample(5000, random_state=0)
    assert samples.shape == (5000, 2)
    np.testing.assert_allclose(samples.mean(0), [10.0, -5.0], atol=0.15)
    np.testing.assert_allclose(np.cov(samples.T), cov, atol=0.4, rtol=0.15)
    np.testing.assert_array_equal(samples, est.sample(5000, random_state=0))
    assert not np.array_equal(samples, est.sample(5000, random_state=1))


def test_bernoulli_model_samples_binary_rows_and_decodes_probabilities(binary):
    est = VAETransformer(**{**FAST, "max_iter": 30}, likelihood="bernoulli")
    est.fit(binary)
    samples = est.sample(50, random_state=0)
    assert set(np.unique(samples)) <= {0.0, 1.0}
    probs = est.inverse_transform(est.transform(binary))
    assert probs.min() >= 0 and probs.max() <= 1
    # No standardization for 0/1 data.
    assert np.all(est.mean_ == 0) and np.all(est.scale_ == 1)
    # log p(x) of binary data is a (negative) log-probability.
    assert np.all(est.score_samples(binary) < 0)


def test_latent_diagnostics_show_collapse(blobs):
    est = VAETransformer(n_components=6, hidden_layer_sizes=(16,), max_iter=150)
    est.set_params(random_state=0, batch_size=32).fit(blobs)
    assert est.kl_per_component_.shape == (6,)
    assert est.component_activity_.shape == (6,)
    # Two latent factors generated the data: the other four dimensions
    # collapse to the prior, with near-zero KL and activity.
    assert est.n_active_components_ == 2
    inactive = est.component_activity_ <= 1e-2
    assert np.all(est.kl_per_component_[inactive] < 0.1)


def test_latent_diagnostics_read_a_bounded_subsample_of_a_large_table(monkeypatch):
    from skvae._inference import MAX_DERIVED_ROWS, InferenceModel

    read = []
    diagnostics = InferenceModel.latent_diagnostics

    def recording(self, X):
        read.append(len(X))
        return diagnostics(self, X)

    monkeypatch.setattr(InferenceModel, "latent_diagnostics", recording)
    X = np.random.RandomState(0).normal(size=(MAX_DERIVED_ROWS + 5_000, 3))
    est = VAETransformer(**{**FAST, "max_iter": 1}).fit(X)
    assert read == [MAX_DERIVED_ROWS]
    assert est.component_activity_.shape == (est.n_components_,)
