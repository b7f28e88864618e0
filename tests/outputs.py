"""The public outputs of fitted estimators, for the tests that compare two
(round trips, warm starts, determinism, chunking)."""

import numpy as np


def row_methods(est):
    """Every public method that takes rows of X."""
    names = ["transform", "score_samples", "score", "decision_function", "predict"]
    names.append("score_samples_per_feature")
    return [getattr(est, n) for n in names if hasattr(est, n)]


def row_outputs(est, X):
    return [np.asarray(method(X)) for method in row_methods(est)]


def generated(est):
    """What the estimators that generate make without rows of X: new rows
    (``sample``) and decoded latent codes (``inverse_transform``)."""
    out = []
    if hasattr(est, "sample"):
        out.append(np.asarray(est.sample(5, random_state=0)))
    if hasattr(est, "inverse_transform"):
        out.append(np.asarray(est.inverse_transform(np.zeros((2, 2)))))
    return out


def assert_same_outputs(a, b, X):
    for x, y in zip(row_outputs(a, X), row_outputs(b, X), strict=True):
        np.testing.assert_array_equal(x, y)
