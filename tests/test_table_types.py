"""Tables come back in exactly the types they went in: dtypes, storage,
levels and ranges, through ``sample``, ``inverse_transform``, the imputer
and persistence; and what cannot come back is refused at fit."""

import decimal
import warnings

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from skvae import VAEImputer, VAETransformer
from skvae.datasets import load_penguins

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


def _cells(column):
    """A pandas or polars column as a list, None where missing."""
    if isinstance(column, pl.Series):
        return column.to_list()
    return [None if pd.isna(v) else v for v in column.astype(object)]


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
    imputer = VAEImputer(**FAST, categorical_features=[1])
    if kind == "pandas":
        imputer.set_output(transform="pandas")
    imputed = _fit(imputer, X).transform(X)
    cells = imputed["c"] if kind == "pandas" else pd.Series(imputed[:, 1])
    assert cells.notna().all()
    assert all(type(v) is bool for v in cells)


# ------------------------------------------------------------ integers

INT64_MAX = np.iinfo(np.int64).max


@pytest.mark.parametrize("dtype", ["int64", "Int64", "int64[pyarrow]", "polars"])
def test_a_large_integer_sentinel_neither_wraps_nor_breaks_the_cast(dtype):
    # INT64_MAX has no float: the nearest, 2**63, wraps to INT64_MIN when
    # cast back, and pandas' and polars' safe casts refuse it.
    for values in ([0, 5, INT64_MAX], [INT64_MAX - 1, INT64_MAX, INT64_MAX]):
        values = values * (N_ROWS // 3)
        if dtype == "polars":
            X = _frame(pl.Series(values, dtype=pl.Int64), kind="polars")
        else:
            X = _frame(pd.Series(values, dtype=dtype))
        est = _fit(VAETransformer(**FAST), X)
        transformed = est.transform(X)
        for out in (est.sample(50, random_state=0), est.inverse_transform(transformed)):
            assert _types(out) == _types(X)
            cells = _cells(out["c"])
            assert all(min(values) <= v <= INT64_MAX for v in cells)
    # The second column's values are all the float 2**63: every output cell
    # is at the top.
    assert set(cells) == {INT64_MAX}


@pytest.mark.parametrize("dtype", ["bool", "boolean", "polars"])
def test_a_boolean_column_modelled_as_a_number_is_rounded(dtype):
    values = [True, False, True] * (N_ROWS // 3)
    if dtype == "polars":
        X = _frame(pl.Series(values, dtype=pl.Boolean), kind="polars")
    else:
        X = _frame(pd.Series(values, dtype=dtype))
    est = _fit(VAETransformer(**FAST, categorical_features=None), X)
    # Decoded numbers (x, c): 0.3 is False, not True as every non-zero is.
    out = est.schema_.decode(np.array([[0.0, 0.3], [0.0, 0.7], [0.0, -2.0]]))
    assert _types(out) == _types(X)
    assert _cells(out["c"]) == [False, True, False]


# ------------------------------------------------- every dtype comes back


def _pandas_columns():
    third = N_ROWS // 3
    dictionary = pd.ArrowDtype(pa.dictionary(pa.int8(), pa.string()))
    return {
        "object_bool": pd.Series([True, False, None] * third, dtype=object),
        "object_text": pd.Series(["a", "b", None] * third, dtype=object),
        "string_python": pd.Series(["a", "b", None] * third, dtype="string[python]"),
        "string_pyarrow": pd.Series(["a", "b", None] * third, dtype="string[pyarrow]"),
        "str_nan": pd.Series(
            ["a", "b", None] * third, dtype=pd.StringDtype("pyarrow", na_value=np.nan)
        ),
        "arrow_string": pd.Series(
            ["a", "b", None] * third, dtype=pd.ArrowDtype(pa.string())
        ),
        "arrow_large_string": pd.Series(
            ["a", "b", None] * third, dtype=pd.ArrowDtype(pa.large_string())
        ),
        "arrow_dictionary": pd.Series(["a", "b", None] * third).astype(dictionary),
        "arrow_bool": pd.Series([True, False, None] * third, dtype="bool[pyarrow]"),
        "arrow_int64": pd.Series([1, 7, None] * third, dtype="int64[pyarrow]"),
        "arrow_double": pd.Series([1.5, 7.0, None] * third, dtype="double[pyarrow]"),
        "arrow_uint64": pd.Series(
            [0, 2**64 - 1, None] * third, dtype="uint64[pyarrow]"
        ),
        "arrow_decimal": pd.Series(
            [1.25, 7.5, None] * third, dtype=pd.ArrowDtype(pa.decimal128(10, 2))
        ),
        "boolean": pd.Series([True, False, None] * third, dtype="boolean"),
        "bool": pd.Series([True, False, True] * third, dtype=bool),
        "Int8": pd.Series([-100, 100, None] * third, dtype="Int8"),
        "Int16": pd.Series([-300, 300, None] * third, dtype="Int16"),
        "UInt64": pd.Series([0, 2**64 - 1, None] * third, dtype="UInt64"),
        "uint8": pd.Series([0, 3, 255] * third, dtype="uint8"),
        "Float32": pd.Series([1.5, 7.0, None] * third, dtype="Float32"),
        "float32": pd.Series([1.5, 7.0, np.nan] * third, dtype="float32"),
        "category_int": pd.Series([3, 1, None] * third, dtype="category"),
        "category_bool": pd.Series([True, False, None] * third, dtype="category"),
        "category_string_pyarrow": pd.Series(
            ["a", "b", None] * third, dtype="string[pyarrow]"
        ).astype("category"),
        "category_ordered": pd.Series(
            pd.Categorical(
                ["lo", "hi", None] * third, categories=["lo", "mid", "hi"], ordered=True
            )
        ),
        "category_intervals": pd.cut(pd.Series([0.5, 1.5, 2.5] * third), [0, 1, 2, 3]),
    }


def _polars_columns():
    third = N_ROWS // 3
    return {
        "pl_enum": pl.Series(["b", "a", None] * third, dtype=pl.Enum(["b", "a", "z"])),
        "pl_categorical": pl.Series(["a", "b", None] * third, dtype=pl.Categorical),
        "pl_boolean": pl.Series([True, False, None] * third, dtype=pl.Boolean),
        "pl_uint8": pl.Series([0, 255, None] * third, dtype=pl.UInt8),
        "pl_int64": pl.Series([-(2**63), 2**63 - 1, None] * third, dtype=pl.Int64),
        "pl_uint64": pl.Series([0, 2**64 - 1, None] * third, dtype=pl.UInt64),
        "pl_float32": pl.Series([1.5, 7.0, None] * third, dtype=pl.Float32),
        "pl_string": pl.Series(["a", "b", None] * third, dtype=pl.String),
        "pl_decimal": pl.Series([1.25, 7.5, None] * third, dtype=pl.Decimal(10, 2)),
        "pl_int128": pl.Series([-5, 2**62, None] * third, dtype=pl.Int128),
        "pl_object": pl.Series(["a", "b", None] * third, dtype=pl.Object),
    }


def _table(name):
    if name.startswith("pl_"):
        return _frame(_polars_columns()[name], kind="polars")
    return _frame(_pandas_columns()[name])


COLUMNS = [*_pandas_columns(), *_polars_columns()]


@pytest.mark.parametrize("name", COLUMNS)
def test_sample_and_inverse_transform_keep_every_dtype(name):
    X = _table(name)
    est = _fit(VAETransformer(**FAST), X)
    observed = _observed(X["c"])
    for out in (
        est.sample(20, random_state=0),
        est.inverse_transform(est.transform(X)),
    ):
        assert _types(out) == _types(X)
        values = _observed(out["c"])
        if est.is_categorical_[1]:
            # The levels of fit: the values seen, or a categorical dtype's
            # declared categories.
            assert values <= observed | set(est.categories_[0])
        else:
            assert min(observed) <= min(values) <= max(values) <= max(observed)


@pytest.mark.parametrize("name", COLUMNS)
def test_the_imputer_keeps_every_dtype(name):
    X = _table(name)
    kind = "polars" if name.startswith("pl_") else "pandas"
    imputer = _fit(VAEImputer(**FAST), X).set_output(transform=kind)
    out = imputer.transform(X)
    assert _types(out) == _types(X)
    observed = _observed(X["c"])
    filled = _observed(out["c"])
    if imputer.is_categorical_[1]:
        assert filled <= observed | set(imputer.categories_[0])
    else:
        assert min(observed) <= min(filled) <= max(filled) <= max(observed)
    # Every missing cell is filled, and the observed ones are as they were.
    given, cells = _cells(X["c"]), _cells(out["c"])
    assert None not in cells
    assert [c for g, c in zip(given, cells, strict=True) if g is not None] == [
        g for g in given if g is not None
    ]


@pytest.mark.parametrize("name", COLUMNS)
def test_the_imputer_converts_every_dtype_to_the_other_kind(name):
    # set_output of the other kind: column by column, no pyarrow needed,
    # observed cells as they were and numbers numeric.
    X = _table(name)
    other = "pandas" if name.startswith("pl_") else "polars"
    imputer = _fit(VAEImputer(**FAST), X).set_output(transform=other)
    out = imputer.transform(X)
    assert isinstance(out, pd.DataFrame if other == "pandas" else pl.DataFrame)
    given, cells = _cells(X["c"]), _cells(out["c"])
    assert None not in cells
    assert [c for g, c in zip(given, cells, strict=True) if g is not None] == [
        g for g in given if g is not None
    ]
    if not imputer.is_categorical_[1]:
        column = out["c"]
        if other == "polars":
            assert column.dtype.is_numeric()
        else:
            assert pd.api.types.is_numeric_dtype(column)


def test_a_pyarrow_backed_parquet_table_round_trips(tmp_path):
    load_penguins().to_parquet(tmp_path / "penguins.parquet")
    penguins = pd.read_parquet(tmp_path / "penguins.parquet", dtype_backend="pyarrow")
    est = _fit(VAETransformer(**FAST), penguins)
    # The dictionary (category) columns are categorical by their dtype.
    assert est.is_categorical_.tolist() == [True, True] + [False] * 4 + [True, False]
    sample = est.sample(20, random_state=0)
    assert _types(sample) == _types(penguins)
    assert set(sample["species"]) <= set(penguins["species"].dropna())


@pytest.mark.parametrize(
    "column, match",
    [
        (pl.Series([[1], [2], None] * 10), "'c' holds nested values"),
        (pl.Series([{"a": 1}, {"a": 2}, None] * 10), "'c' holds nested values"),
        (
            pd.cut(pd.Series(pd.date_range("2020", periods=30)), 3),
            "'c' holds dates or durations",
        ),
        (pd.Series(pd.period_range("2020", periods=30)), "'c' holds dates"),
        (pd.Series(pd.arrays.SparseArray([0.0, 1.0] * 15)), "cannot give back"),
        (
            pd.Series([[1], [2], None] * 10, dtype=pd.ArrowDtype(pa.list_(pa.int64()))),
            "'c' holds nested values",
        ),
        (
            pd.Series(pd.date_range("2020", periods=30).date).astype("date32[pyarrow]"),
            "'c' holds dates",
        ),
        (
            pd.Series([1, 2, 3] * 10).map(decimal.Decimal).astype("category"),
            "not 'Decimal' .* has the category Decimal",
        ),
    ],
    ids=[
        "polars_list",
        "polars_struct",
        "date_intervals",
        "periods",
        "sparse",
        "arrow_list",
        "arrow_date",
        "decimal_categories",
    ],
)
def test_columns_that_cannot_come_back_are_refused_at_fit(column, match):
    X = _frame(column, kind="polars" if isinstance(column, pl.Series) else "pandas")
    with pytest.raises((ValueError, TypeError), match=match):
        VAETransformer(**FAST).fit(X)


# ----------------------------------------------------------- persistence

PERSISTED = [
    "category_intervals",
    "category_string_pyarrow",
    "arrow_decimal",
    "category_int",
    "category_ordered",
    "string_pyarrow",
    "arrow_dictionary",
    "arrow_int64",
    "pl_enum",
    "pl_decimal",
]


def _plain_leaves(value):
    """Every leaf of nested plain containers, NumPy arrays opened."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _plain_leaves(item)
    elif isinstance(value, list | tuple) or (
        isinstance(value, np.ndarray) and value.dtype == object
    ):
        for item in value:
            yield from _plain_leaves(item)
    else:
        yield value


@pytest.mark.parametrize("name", PERSISTED)
def test_the_schema_state_is_plain_data(name):
    est = _fit(VAETransformer(**FAST), _table(name))
    state = est.__getstate__()
    assert "categories_" not in state  # stored once, in the schema's state
    plain = (str, int, float, bool, bytes, type(None), np.ndarray)
    schema = state["schema_"]
    leaves = list(_plain_leaves(schema))
    assert all(type(leaf) in plain for leaf in leaves), {type(v) for v in leaves}


@pytest.mark.parametrize("name", PERSISTED)
def test_skops_trusts_only_the_estimator_and_rebuilds_the_types(name):
    sio = pytest.importorskip("skops.io")
    X = _table(name)
    est = _fit(VAETransformer(**FAST), X)
    data = sio.dumps(est)
    assert sio.get_untrusted_types(data=data) == ["skvae.transformer.VAETransformer"]
    loaded = sio.loads(data, trusted=["skvae.transformer.VAETransformer"])
    before, after = est.sample(20, random_state=0), loaded.sample(20, random_state=0)
    assert _types(after) == _types(X)
    assert _cells(after["c"]) == _cells(before["c"])
    for levels, rebuilt in zip(est.categories_, loaded.categories_, strict=True):
        assert list(levels) == list(rebuilt)
        assert [type(v) for v in levels] == [type(v) for v in rebuilt]


@pytest.mark.parametrize(
    "column",
    [
        pd.Series([pd.Timestamp("2020"), pd.Timestamp("2021"), None] * 10),
        pd.Series([(1, 2), (3, 4), None] * 10),
    ],
    ids=["timestamps", "tuples"],
)
def test_levels_that_are_not_plain_are_refused_at_fit(column):
    X = _frame(column.astype(object))
    with pytest.raises(TypeError, match="must be a string or a number, not"):
        VAETransformer(**FAST, categorical_features=["c"]).fit(X)
