"""Tables come back in exactly the types they went in: dtypes, storage,
levels and ranges, through ``sample``, ``inverse_transform``, the imputer
and persistence; and what cannot come back is refused at fit."""

import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest

from skvae import VAEImputer, VAETransformer

FAST = dict(n_components=2, hidden_layer_sizes=(16,), max_iter=5, random_state=0)
N_ROWS = 30


def _frame(column, kind="pandas"):
    """A numeric column ``x`` beside the column under test, ``c``."""
    x = np.random.default_rng(0).normal(size=len(column))
    if kind == "polars":
        return pl.DataFrame({"x": x, "c": column})
    return pd.DataFrame({"x": x, "c": column})


def _fit(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # too few epochs to converge
        return estimator.fit(X)


def _types(frame):
    if isinstance(frame, pl.DataFrame):
        return frame.schema
    return frame.dtypes.to_dict()


def _observed(column):
    """The set of observed values of a pandas or polars column."""
    if isinstance(column, pl.Series):
        return set(column.drop_nulls().to_list())
    return set(column.dropna().tolist())


# ------------------------------------------------------------ booleans


@pytest.mark.parametrize("kind", ["pandas", "array"])
def test_boolean_levels_come_back_as_booleans_not_numbers(kind):
    column = pd.Series([True, False, None] * (N_ROWS // 3), dtype=object)
    X = _frame(column)
    if kind == "array":
        X = X.to_numpy(dtype=object)
    est = _fit(VAETransformer(**FAST, categorical_features=[1]), X)
    for out in (
        est.sample(20, random_state=0),
        est.inverse_transform(est.transform(X)),
    ):
        cells = out["c"] if kind == "pandas" else pd.Series(out[:, 1])
        assert cells.dtype == object
        assert all(type(v) is bool for v in cells.dropna())
    imputed = _fit(VAEImputer(**FAST, categorical_features=[1]), X).transform(X)
    cells = imputed["c"] if kind == "pandas" else pd.Series(imputed[:, 1])
    assert cells.notna().all()
    assert all(type(v) is bool for v in cells)
