"""Property-based tests: any valid shape, dtype and hyperparameter mix gives
finite outputs of the right shape and dtype, and the detector's outputs are
consistent with each other."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from skvae import VAEAnomalyDetector, VAEClassifier, VAETransformer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SETTINGS = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

dtypes = st.sampled_from([np.float64, np.float32, np.int64])
shapes = st.tuples(st.integers(1, 40), st.integers(1, 6))
hyperparameters = st.fixed_dictionaries(
    {
        "n_components": st.integers(1, 4),
        "hidden_layer_sizes": st.lists(st.integers(1, 12), min_size=1, max_size=2).map(
            tuple
        ),
        "beta": st.floats(0, 4),
        "kl_warmup": st.integers(0, 3),
        "weight_decay": st.floats(0, 1),
        "l1_penalty": st.floats(0, 0.1),
        "adversarial_weight": st.sampled_from([0.0, 0.5]),
        "corruption": st.floats(0, 0.9),
        "dropout": st.floats(0, 0.5),
        "n_importance_samples": st.integers(1, 3),
        "batch_size": st.integers(1, 64),
        "n_mc_samples": st.integers(1, 8),
    }
)


@st.composite
def data(draw):
    dtype = draw(dtypes)
    shape = draw(shapes)
    elements = (
        st.integers(-1000, 1000)
        if dtype == np.int64
        else st.floats(-1e6, 1e6, allow_nan=False, width=32)
    )
    return draw(arrays(dtype, shape, elements=elements))


@SETTINGS
@given(X=data(), params=hyperparameters)
def test_transformer_outputs_are_finite_with_right_shapes(X, params):
    est = VAETransformer(max_iter=2, random_state=0, **params).fit(X)
    Z = est.transform(X)
    out_dtype = np.float32 if X.dtype == np.float32 else np.float64
    assert Z.shape == (X.shape[0], params["n_components"]) and Z.dtype == out_dtype
    assert np.all(np.isfinite(Z))
    scores = est.score_samples(X)
    assert scores.shape == (X.shape[0],) and scores.dtype == np.float64
    assert np.all(np.isfinite(scores))
    assert est.inverse_transform(Z).shape == X.shape
    assert np.all(np.isfinite(est.sample(3, random_state=0)))


@SETTINGS
@given(
    X=data(),
    params=hyperparameters,
    contamination=st.floats(0.01, 0.5),
    score_type=st.sampled_from(["likelihood", "reconstruction"]),
)
def test_detector_outputs_are_consistent(X, params, contamination, score_type):
    det = VAEAnomalyDetector(
        contamination=contamination,
        score_type=score_type,
        max_iter=2,
        random_state=0,
        **params,
    ).fit(X)
    scores = det.score_samples(X)
    assert np.all(np.isfinite(scores))
    np.testing.assert_array_equal(det.decision_function(X), scores - det.offset_)
    assert set(np.unique(det.predict(X))) <= {-1, 1}
    per_feature = det.score_samples_per_feature(X)
    assert per_feature.shape == X.shape and np.all(np.isfinite(per_feature))


@SETTINGS
@given(
    X=data(),
    params=hyperparameters,
    labels=st.lists(st.sampled_from([-1, 0, 1, 2]), min_size=40, max_size=40),
)
def test_classifier_outputs_are_finite_with_right_shapes(X, params, labels):
    # Two rows at least, of two classes, and whatever mix of the rest.
    X = np.concatenate([X, X[:1] + 1, X[:1] - 1]).astype(X.dtype)
    y = np.array(labels[: X.shape[0] - 2] + [0, 1])
    clf = VAEClassifier(max_iter=2, random_state=0, **params).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (X.shape[0], len(clf.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert set(clf.predict(X)) <= set(clf.classes_) and -1 not in clf.classes_
    Z = clf.transform(X)
    assert Z.shape == (X.shape[0], params["n_components"]) and np.all(np.isfinite(Z))
    scores = clf.score_samples(X)
    assert scores.dtype == np.float64 and np.all(np.isfinite(scores))
    assert np.all(np.isfinite(clf.sample(3, y=clf.classes_[0], random_state=0)))
