"""Behaviour of VAEAnomalyDetector."""

import numpy as np
import pytest

from skvae import VAEAnomalyDetector

FAST = dict(hidden_layer_sizes=(16,), n_components=2, max_iter=30, random_state=0)
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.mark.parametrize("score_type", ["likelihood", "reconstruction"])
def test_outliers_score_lower(blobs, score_type):
    rng = np.random.RandomState(1)
    outliers = blobs.mean(0) + 6 * blobs.std(0) * rng.choice([-1, 1], size=(20, 6))
    det = VAEAnomalyDetector(score_type=score_type, **FAST).fit(blobs)
    assert det.score_samples(outliers).max() < np.median(det.score_samples(blobs))
    assert np.all(det.predict(outliers) == -1)


def test_decision_function_and_predict_follow_offset(blobs):
    det = VAEAnomalyDetector(contamination=0.2, **FAST).fit(blobs)
    scores = det.score_samples(blobs)
    np.testing.assert_allclose(det.decision_function(blobs), scores - det.offset_)
    labels = det.predict(blobs)
    assert set(np.unique(labels)) == {-1, 1}
    assert np.mean(labels == -1) == pytest.approx(0.2, abs=0.01)
    np.testing.assert_array_equal(det.fit_predict(blobs), labels)


@pytest.mark.parametrize("score_type", ["likelihood", "reconstruction"])
def test_per_feature_scores_point_at_the_corrupted_column(blobs, score_type):
    det = VAEAnomalyDetector(score_type=score_type, **FAST).fit(blobs)
    rows = blobs[:10].copy()
    rows[:, 2] += 8 * blobs[:, 2].std()
    per_feature = det.score_samples_per_feature(rows)
    assert per_feature.shape == rows.shape
    assert np.all(per_feature.argmin(axis=1) == 2)


def test_reconstruction_per_feature_sums_to_the_score(blobs):
    det = VAEAnomalyDetector(score_type="reconstruction", **FAST).fit(blobs)
    np.testing.assert_allclose(
        det.score_samples_per_feature(blobs).sum(1), det.score_samples(blobs)
    )


def test_likelihood_score_is_the_transformers_log_likelihood(blobs):
    from skvae import VAETransformer

    # Same training objective (no trimming) and number of importance samples
    # (the defaults differ): same model, same scores.
    det = VAEAnomalyDetector(trim_fraction=0.0, n_mc_samples=16, **FAST).fit(blobs)
    vae = VAETransformer(n_mc_samples=16, **FAST).fit(blobs)
    np.testing.assert_allclose(det.score_samples(blobs), vae.score_samples(blobs))


def test_detector_trims_by_default_and_transformer_does_not():
    from skvae import VAETransformer

    assert VAEAnomalyDetector().trim_fraction == 0.2
    assert VAETransformer().trim_fraction == 0.0


@pytest.mark.parametrize(
    "n_features, widths", [(1, (64, 32)), (29, (64, 32)), (30, (256, 128))]
)
@pytest.mark.parametrize("Estimator", ["VAEAnomalyDetector", "VAETransformer"])
def test_auto_widths_grow_with_the_number_of_features(Estimator, n_features, widths):
    import pickle

    import skvae

    X = np.random.RandomState(0).normal(size=(40, n_features))
    est = getattr(skvae, Estimator)(hidden_layer_sizes="auto", max_iter=1).fit(X)
    assert est.net_.module__hidden_layer_sizes == widths
    assert est.net_.module_.encoder.body[0].out_features == widths[0]
    # A pickled model rebuilds the same network.
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(loaded.score_samples(X), est.score_samples(X))


def test_detector_widths_default_to_auto_and_transformer_to_64_32():
    from skvae import VAETransformer

    assert VAEAnomalyDetector().hidden_layer_sizes == "auto"
    assert VAETransformer().hidden_layer_sizes == (64, 32)
