"""Behaviour of VAETransformer (``skvae.transformer``): transform, score,
and what a scikit-learn user relies on (pipelines, searches, output
containers)."""

import numpy as np
import pytest
from configs import FAST
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skvae import VAETransformer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def test_transform_returns_the_posterior_mean_in_the_inputs_float_dtype(blobs):
    est = VAETransformer(**FAST).fit(blobs.astype(np.float32))
    Z32, Z64 = est.transform(blobs.astype(np.float32)), est.transform(blobs)
    assert Z32.dtype == np.float32 and Z64.dtype == np.float64
    assert Z64.shape == (len(blobs), 2)
    np.testing.assert_allclose(Z32, Z64, atol=1e-4)
    # The posterior mean: no sampling, so repeated calls agree exactly.
    np.testing.assert_array_equal(est.transform(blobs), Z64)


def test_integer_input_is_transformed_as_float64(blobs):
    X = np.round(blobs).astype(np.int64)
    est = VAETransformer(**FAST).fit(X)
    assert est.transform(X).dtype == np.float64
    np.testing.assert_array_equal(est.transform(X), est.transform(X.astype(float)))


def test_score_is_the_mean_of_score_samples(blobs):
    est = VAETransformer(**FAST).fit(blobs)
    assert isinstance(est.score(blobs), float)
    assert est.score(blobs) == pytest.approx(np.mean(est.score_samples(blobs)))


def test_pipeline_features_feed_a_classifier(blobs):
    y = (blobs[:, 0] > np.median(blobs[:, 0])).astype(int)
    pipe = make_pipeline(
        VAETransformer(**{**FAST, "max_iter": 30}), LogisticRegression()
    )
    assert pipe.fit(blobs, y).score(blobs, y) > 0.8


def test_grid_search_over_beta_scores_every_model_with_the_beta_1_bound(blobs):
    search = GridSearchCV(
        VAETransformer(**{**FAST, "max_iter": 30}), {"beta": [0.5, 1.0, 4.0]}, cv=2
    )
    scores = search.fit(blobs).cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and len(set(scores)) == 3
    # The score is the beta=1 bound whatever beta was trained with: the
    # yardstick does not move with the hyperparameter being searched.
    est = VAETransformer(**{**FAST, "max_iter": 30}, beta=4.0).fit(blobs)
    score = est.score(blobs)
    assert est.set_params(beta=1.0).score(blobs) == score


def test_pandas_output_names_the_components_with_the_class_prefix(blobs):
    pd = pytest.importorskip("pandas")
    est = VAETransformer(**FAST).set_output(transform="pandas")
    out = est.fit_transform(pd.DataFrame(blobs, columns=list("abcdef")))
    assert list(out.columns) == ["vaetransformer0", "vaetransformer1"]
    assert list(est.get_feature_names_out()) == list(out.columns)


def test_polars_output_is_a_polars_dataframe_with_the_same_names(blobs):
    pl = pytest.importorskip("polars")
    est = VAETransformer(**FAST).set_output(transform="polars")
    out = est.fit_transform(blobs)
    assert isinstance(out, pl.DataFrame)
    assert out.columns == ["vaetransformer0", "vaetransformer1"]


def test_html_repr_shows_the_estimator_and_its_parameters(blobs):
    html = VAETransformer(**FAST).fit(blobs)._repr_html_()
    assert "VAETransformer" in html and "n_components" in html


def test_transformer_defaults_to_no_trimming_auto_widths_and_16_samples():
    est = VAETransformer()
    assert est.max_iter == "auto"  # a budget of steps; the detector has its own
    assert est.trim_fraction == 0.0
    assert est.hidden_layer_sizes == "auto"  # (256, 128) on digits: issue 25
    assert est.n_mc_samples == 16
