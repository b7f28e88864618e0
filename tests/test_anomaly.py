"""Behaviour of VAEAnomalyDetector (``skvae.anomaly``): scores, threshold,
labels and per-feature explanations."""

import numpy as np
import pandas as pd
import pytest
from configs import FAST
from sklearn.exceptions import NotFittedError

from skvae import VAEAnomalyDetector, VAETransformer
from skvae.anomaly import MAX_THRESHOLD_ROWS

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.mark.parametrize("score_type", ["likelihood", "reconstruction"])
def test_outliers_score_lower_and_are_predicted_as_outliers(blobs, score_type):
    rng = np.random.RandomState(1)
    outliers = blobs.mean(0) + 6 * blobs.std(0) * rng.choice([-1, 1], size=(20, 6))
    det = VAEAnomalyDetector(**{**FAST, "max_iter": 30}, score_type=score_type)
    det.fit(blobs)
    assert det.score_samples(outliers).max() < np.median(det.score_samples(blobs))
    assert np.all(det.predict(outliers) == -1)


def test_decision_function_and_predict_follow_offset(blobs):
    det = VAEAnomalyDetector(**{**FAST, "max_iter": 30}, contamination=0.2)
    det.fit(blobs)
    scores = det.score_samples(blobs)
    np.testing.assert_allclose(det.decision_function(blobs), scores - det.offset_)
    labels = det.predict(blobs)
    assert set(np.unique(labels)) == {-1, 1}
    assert np.mean(labels == -1) == pytest.approx(0.2, abs=0.01)
    np.testing.assert_array_equal(det.fit_predict(blobs), labels)


def test_score_type_changes_take_effect_at_the_next_fit(blobs):
    # offset_ is a quantile of the fitted score: scoring with another rule
    # than the one offset_ was computed with would mislabel rows.
    det = VAEAnomalyDetector(**FAST).fit(blobs)
    before = det.score_samples(blobs)
    det.set_params(score_type="reconstruction")
    np.testing.assert_array_equal(det.score_samples(blobs), before)
    refitted = det.fit(blobs).score_samples(blobs)
    assert not np.allclose(refitted, before)
    assert np.all(refitted <= 0)  # minus squared errors


@pytest.mark.parametrize("score_type", ["likelihood", "reconstruction"])
def test_per_feature_scores_point_at_the_corrupted_column(blobs, score_type):
    det = VAEAnomalyDetector(**{**FAST, "max_iter": 30}, score_type=score_type)
    det.fit(blobs)
    rows = blobs[:10].copy()
    rows[:, 2] += 8 * blobs[:, 2].std()
    per_feature = det.score_samples_per_feature(rows)
    assert per_feature.shape == rows.shape
    assert np.all(per_feature.argmin(axis=1) == 2)


def test_per_feature_likelihood_points_at_a_column_no_sample_explains(blobs):
    det = VAEAnomalyDetector(**FAST).fit(blobs)
    rows = blobs[:3].copy()
    rows[:, 4] = 1e300  # beyond what any latent sample explains
    assert np.all(det.score_samples(rows) == -np.inf)
    per_feature = det.score_samples_per_feature(rows)
    assert np.all(per_feature.argmin(axis=1) == 4)
    assert np.all(np.isfinite(np.delete(per_feature, 4, axis=1)))


def test_reconstruction_per_feature_sums_to_the_score_minus_the_offsets(blobs):
    det = VAEAnomalyDetector(**{**FAST, "max_iter": 30}, score_type="reconstruction")
    det.fit(blobs)
    np.testing.assert_allclose(
        det.score_samples_per_feature(blobs).sum(1),
        det.score_samples(blobs) - det.feature_offset_.sum(),
    )


@pytest.mark.parametrize("score_type", ["likelihood", "reconstruction"])
def test_per_feature_scores_are_zero_for_a_typical_value_of_each_column(
    blobs, score_type
):
    det = VAEAnomalyDetector(**{**FAST, "max_iter": 30}, score_type=score_type)
    per_feature = det.fit(blobs).score_samples_per_feature(blobs)
    np.testing.assert_allclose(np.median(per_feature, axis=0), 0.0, atol=1e-9)


def test_per_feature_scores_name_the_planted_column_whatever_its_units():
    # Columns in very different units and with different noise levels: the
    # raw log-likelihood of a normal value of a wide or noisy column is far
    # below that of a narrow one, which must not hide where a row is odd.
    rng = np.random.RandomState(0)
    latent = rng.normal(size=(1000, 2))
    X = latent @ rng.normal(size=(2, 5)) + rng.normal(size=(1000, 5)) * [
        0.05,
        0.1,
        0.5,
        1.0,
        0.05,
    ]
    X = X * [1e-3, 1.0, 50.0, 1e4, 7.0]
    det = VAEAnomalyDetector(**{**FAST, "max_iter": 40}).fit(X)
    for column in range(5):
        rows = X[:20].copy()
        rows[:, column] += 6 * X[:, column].std()
        named = det.score_samples_per_feature(rows).argmin(axis=1)
        assert np.mean(named == column) >= 0.9, (column, named)


def test_likelihood_score_is_the_transformers_log_likelihood(blobs):
    # Same training objective (no trimming) and number of importance samples
    # (the defaults differ): same model, same scores.
    params = {**FAST, "max_iter": 30, "n_mc_samples": 16}
    det = VAEAnomalyDetector(**params, trim_fraction=0.0).fit(blobs)
    vae = VAETransformer(**params).fit(blobs)
    np.testing.assert_allclose(det.score_samples(blobs), vae.score_samples(blobs))


def test_detector_defaults_to_trimming_auto_widths_and_four_samples():
    det = VAEAnomalyDetector()
    # The detector's own budget (tests/test_training.py): short training, on
    # contaminated data longer training learns the anomalies too.
    assert det.max_iter == "auto"
    assert det.trim_fraction == 0.2
    assert det.hidden_layer_sizes == "auto"
    assert det.n_mc_samples == 4
    assert det.score_type == "likelihood" and det.contamination == 0.1
    # A column of thousands of levels costs at most 64 decoder outputs.
    assert det.max_categories == 64 and det.min_frequency is None


def test_the_detector_groups_the_rare_levels_of_a_many_level_column():
    rng = np.random.RandomState(0)
    n = 3000
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "id": pd.Categorical(rng.randint(600, size=n).astype(str)),
        }
    )
    detector = VAEAnomalyDetector(**FAST).fit(frame)
    # 63 frequent levels and one group: 1 numeric output + 64; the encoder
    # too has one vector per slot, not per level.
    module = detector.net_.module_
    assert module.expansion.n_outputs == 1 + 64
    assert module.encoder.embedding.tables[0].num_embeddings == 64
    n_levels = len(detector.categories_[0])
    assert len(detector.infrequent_categories_[0]) == n_levels - 63
    assert np.isfinite(detector.score_samples(frame)).all()


@pytest.mark.parametrize("warm_start", [False, True])
def test_a_failure_while_setting_the_thresholds_leaves_no_model(
    warm_start, blobs, monkeypatch
):
    # Training succeeded, but offset_ could not be set: a detector without
    # its threshold is no detector, whether the fit started afresh or
    # continued a fitted model.
    det = VAEAnomalyDetector(**FAST, warm_start=warm_start).fit(blobs)

    def interrupted(self, X):
        raise KeyboardInterrupt

    monkeypatch.setattr(VAEAnomalyDetector, "_scores_and_per_feature", interrupted)
    with pytest.raises(KeyboardInterrupt):
        det.fit(blobs)
    with pytest.raises(NotFittedError):
        det.predict(blobs)


def test_a_row_with_nothing_observed_scores_the_threshold(blobs):
    detector = VAEAnomalyDetector(**FAST).fit(blobs)
    empty = np.full((1, blobs.shape[1]), np.nan)
    score = detector.score_samples(np.vstack([blobs[:5], empty]))
    # No evidence either way: the boundary, below most of the training rows
    # and never above every one of them.
    assert score[-1] == detector.offset_
    assert detector.decision_function(empty)[0] == 0.0
    assert (detector.score_samples(blobs) > score[-1]).mean() > 0.8


def test_empty_training_rows_do_not_set_the_threshold(blobs):
    gappy = blobs.copy()
    gappy[::10] = np.nan
    with_gaps = VAEAnomalyDetector(**FAST).fit(gappy)
    # The threshold is the contamination quantile of the rows that were seen.
    seen = with_gaps.score_samples(gappy[~np.isnan(gappy).all(axis=1)])
    assert with_gaps.offset_ == pytest.approx(np.percentile(seen, 10.0))


def test_thresholds_of_a_large_table_come_from_a_bounded_subsample(monkeypatch):
    scored = []
    scores_and_per_feature = VAEAnomalyDetector._scores_and_per_feature

    def recording(self, X):
        scored.append(len(X))
        return scores_and_per_feature(self, X)

    monkeypatch.setattr(VAEAnomalyDetector, "_scores_and_per_feature", recording)
    rng = np.random.RandomState(0)
    X = rng.normal(size=(MAX_THRESHOLD_ROWS + 5_000, 3))
    detector = VAEAnomalyDetector(**{**FAST, "max_iter": 1}).fit(X)
    assert scored == [MAX_THRESHOLD_ROWS]
    flagged = (detector.predict(X) == -1).mean()
    # Within four standard errors of the contamination quantile's rank.
    assert abs(flagged - 0.1) < 4 * np.sqrt(0.1 * 0.9 / MAX_THRESHOLD_ROWS)


def test_grid_search_over_beta_without_labels_ranks_by_the_held_out_bound(blobs):
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, KFold

    detector = VAEAnomalyDetector(**FAST)
    betas = [0.25, 4.0]
    search = GridSearchCV(detector, {"beta": betas}, cv=KFold(2)).fit(blobs)
    expected = [
        np.mean(
            [
                clone(detector)
                .set_params(beta=beta)
                .fit(blobs[train])
                .score_samples(blobs[test])
                .mean()
                for train, test in KFold(2).split(blobs)
            ]
        )
        for beta in betas
    ]
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], expected)
    assert search.best_params_ == {"beta": betas[int(np.argmax(expected))]}


def test_score_is_the_mean_bound_whatever_the_score_type(blobs):
    # The detector's defaults differ from the transformer's in trimming and
    # importance samples: set alike, the two train the same model.
    params = {**FAST, "n_mc_samples": 4, "trim_fraction": 0.0}
    likelihood = VAEAnomalyDetector(**params).fit(blobs)
    reconstruction = VAEAnomalyDetector(**params, score_type="reconstruction")
    reconstruction.fit(blobs)
    bound = VAETransformer(**params).fit(blobs).score_samples(blobs).mean()
    assert likelihood.score(blobs) == pytest.approx(bound, rel=1e-12)
    # Training does not depend on score_type; the score does not either,
    # though score_samples is then a reconstruction error.
    assert reconstruction.score(blobs) == likelihood.score(blobs)
    assert reconstruction.score_samples(blobs).mean() != likelihood.score(blobs)
