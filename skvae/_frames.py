"""The imputer's output tables: the user's cells with the imputed ones.

:class:`~skvae.VAEImputer` fills the missing cells of the rows it is given
and hands them back as ``set_output`` asks: an array of the user's cells and
the imputed numbers (:func:`array_output`), or a pandas or polars DataFrame in
the training table's column types (:func:`frame_output`), whatever kind of
table came in. This module does that filling and conversion, column by
column: a category column's categories (a polars Enum's) extended by the
levels imputed into it, and pandas and polars columns converted into one
another without pyarrow. None of it needs the fitted model: the estimator
passes the few fitted attributes that it reads.
"""

import warnings

import numpy as np
import pandas as pd

from skvae._tables import (
    is_missing_scalar,
    is_pandas_df,
    is_polars_df,
    levels_of,
    nullable_integer,
    numeric_column,
    object_array,
    pandas_dtype_of,
    plain_scalar,
    polars_dtype_of,
)
from skvae._validation import user_stacklevel


def array_output(X_encoded, table, missing, filled, schema, categories, is_categorical):
    """The default output: an array of the user's cells and the imputed
    numbers (level codes decoded to levels), unrounded.

    ``X_encoded`` and ``table`` are the validated rows and the table they
    encode, ``filled`` the rows with their ``missing`` cells imputed (level
    codes in categorical columns); ``schema``, ``categories`` and
    ``is_categorical`` are the imputer's fitted ``schema_``, ``categories_``
    and ``is_categorical_``.
    """
    if schema is None:
        return np.where(missing, filled, X_encoded).astype(X_encoded.dtype)
    columns = []
    levels = iter(categories)
    for j, categorical in enumerate(is_categorical):
        rows = missing[:, j]
        if not categorical:
            columns.append(np.where(rows, filled[:, j], X_encoded[:, j]))
            continue
        column = object_array(schema.values(table, j))
        column[rows] = levels_of(filled[rows, j], next(levels))
        columns.append(column)
    if all(numeric_column(column) for column in columns):
        return np.column_stack(columns).astype(X_encoded.dtype)
    out = np.empty(X_encoded.shape, dtype=object)
    for j, column in enumerate(columns):
        out[:, j] = column
    return out


def frame_output(table, missing, filled, schema, names, container, as_array):
    """With ``set_output``: the user's ``table`` with its ``missing`` cells
    taken from the model's rows ``filled``, as a DataFrame of kind
    ``container`` (see :meth:`VAEImputer.transform`) whose columns are
    ``names``. ``as_array`` gives the default output (:func:`array_output`),
    read when the imputer was fitted on an array."""
    if schema.kind is None:
        # Fitted on an array: no column types to give back but the cells'
        # own; numbers stay numbers.
        frame = _to_pandas(as_array(), names)
    elif schema.kind == "pandas":
        frame = table
        if not is_pandas_df(table):
            frame = _in_dtypes(_to_pandas(table, names), schema)
        frame = _fill_pandas(frame, missing, schema.decode(filled))
    else:
        frame = table
        if not is_polars_df(table):
            frame = _in_dtypes(_to_polars(table, names), schema)
        frame = _fill_polars(frame, missing, schema.decode(filled))
    if container == "polars":
        return _to_polars(frame)
    frame = _to_pandas(frame)
    if is_pandas_df(table):
        frame.index = table.index  # as scikit-learn's pandas output
    return frame


def finish_frame(frame, empty, fill_empty, indicator, indicator_names):
    """The DataFrame output ``frame`` with the ``empty`` features dropped, or
    kept with the missing cells of the numeric ones among ``fill_empty``
    (a mask, None when they are dropped) filled with 0, and the
    ``indicator`` columns (an array, or None) appended under
    ``indicator_names``."""
    if fill_empty is not None:
        for j in np.flatnonzero(fill_empty):
            frame = _set_column(frame, j, 0)
    elif empty.any():
        dropped = [frame.columns[j] for j in np.flatnonzero(empty)]
        if is_pandas_df(frame):
            frame = frame.drop(columns=dropped)
        else:
            frame = frame.drop(dropped)
    if indicator is not None:
        extra = dict(zip(indicator_names, indicator.T, strict=True))
        if is_pandas_df(frame):
            frame = pd.concat([frame, pd.DataFrame(extra, index=frame.index)], axis=1)
        else:
            import polars as pl

            frame = frame.with_columns(
                pl.Series(name, values) for name, values in extra.items()
            )
    return frame


def _in_dtypes(frame, schema):
    """``frame`` (a batch converted from an array or from the other kind of
    DataFrame) with each column cast to the training column's dtype where
    that loses no cell, e.g. no level unseen in fit; else as converted."""
    columns = {}
    for j, spec in enumerate(schema.dtypes):
        column = frame[frame.columns[j]]
        try:
            if schema.kind == "pandas":
                dtype = pandas_dtype_of(spec)
                if isinstance(dtype, pd.CategoricalDtype):
                    # astype is a no-op between unordered categoricals of
                    # the same levels in another order.
                    column = column.astype(object)
                cast = column.astype(dtype)
            else:
                cast = column.cast(polars_dtype_of(spec))
        except Exception:  # pandas', NumPy's, pyarrow's and polars' errors
            continue
        if _cells(cast) == _cells(column):
            columns[j] = cast
    if is_pandas_df(frame):
        frame = frame.copy()
        for j, column in columns.items():
            frame.isetitem(j, column)
        return frame
    return frame.with_columns(columns.values())


def _cells(column):
    """A pandas or polars column as a list, None where missing."""
    if isinstance(column, pd.Series):
        return [None if _missing_cell(v) else v for v in column.astype(object)]
    return column.to_list()


def _fill_pandas(table, missing, decoded):
    """``table`` (pandas) with its ``missing`` cells taken from ``decoded``
    (the model's rows in the training table's dtypes), column by column."""
    out = table.copy()
    for j in np.flatnonzero(missing.any(axis=0)):
        rows = missing[:, j]
        given = table.iloc[:, j]
        values = decoded.iloc[:, j].set_axis(table.index)
        if rows.all():
            # Nothing of the user's to keep: the column in the fitted dtype.
            out.isetitem(j, values)
            continue
        if isinstance(given.dtype, pd.CategoricalDtype):
            dtype = _extended_categories(given, values[rows], table.columns[j])
            given, values = given.astype(dtype), values.astype(dtype)
        out.isetitem(j, given.where(~rows, values))
    return out


def _extended_categories(given, imputed, name):
    """The categories of the category column ``given`` with the levels of
    ``imputed`` that it lacks: its own categories first, then the new ones
    (in the training order). An ordered column stays ordered when the
    training order can be merged into its own; else it comes back
    unordered, with a warning."""
    dtype = given.dtype
    present = set(dtype.categories)
    training = getattr(imputed.dtype, "categories", None)
    needed = set(imputed.dropna())
    order = list(training) if training is not None else sorted(needed, key=str)
    new = [level for level in order if level in needed and level not in present]
    if not new:
        return dtype
    if not dtype.ordered:
        return _categorical([*dtype.categories, *new], dtype)
    merged = _merged_order(list(dtype.categories), order, new)
    if merged is not None:
        return _categorical(merged, dtype, ordered=True)
    warnings.warn(
        f"The ordered categories of column {name!r} contradict the order seen "
        f"in fit; the imputed levels {new} are added and the column comes "
        "back unordered.",
        UserWarning,
        stacklevel=user_stacklevel(),
    )
    return _categorical([*dtype.categories, *new], dtype)


def _categorical(levels, like, ordered=False):
    """A categorical dtype of ``levels``, whose categories keep the dtype of
    ``like``'s (``string[pyarrow]`` stays that) when they can hold them."""
    try:
        categories = pd.Index(levels, dtype=like.categories.dtype)
    except (TypeError, ValueError):
        categories = pd.Index(levels)
    if len(set(categories)) < len(levels):  # e.g. True as 1 among integers
        categories = pd.Index(levels, dtype=object)
    return pd.CategoricalDtype(categories, ordered=ordered)


def _merged_order(own, training, new):
    """``own`` (an ordered list of levels) with each level of ``new`` placed
    right after its nearest predecessor in ``training`` (at the front when
    it has none), or None when ``own`` and ``training`` order their common
    levels differently."""
    common = [level for level in training if level in own]
    if common != [level for level in own if level in common]:
        return None
    merged = list(own)
    for level in new:
        before = [
            other for other in training[: training.index(level)] if other in merged
        ]
        merged.insert(merged.index(before[-1]) + 1 if before else 0, level)
    return merged


def _fill_polars(table, missing, decoded):
    """``table`` (polars) with its ``missing`` cells taken from ``decoded``,
    column by column (an Enum column's categories extended as a pandas
    category column's are)."""
    import polars as pl

    columns = []
    for j in np.flatnonzero(missing.any(axis=0)):
        given, values = table.to_series(j), decoded.to_series(j)
        if missing[:, j].all():
            columns.append(values)
            continue
        if given.dtype != values.dtype and isinstance(given.dtype, pl.Enum):
            own = given.dtype.categories.to_list()
            imputed = set(values.filter(pl.Series(missing[:, j])).drop_nulls())
            extra = [v for v in values.dtype.categories.to_list() if v in imputed]
            dtype = pl.Enum(own + [v for v in extra if v not in own])
            given, values = given.cast(dtype), values.cast(dtype)
        columns.append(given.zip_with(pl.Series(~missing[:, j]), values))
    return table.with_columns(columns)


def _to_pandas(frame, names=None):
    """``frame`` as a pandas DataFrame: itself, a polars one converted
    column by column (no pyarrow needed), or an array's columns named
    ``names``."""
    if is_pandas_df(frame):
        return frame
    if is_polars_df(frame):
        return pd.DataFrame(
            {series.name: _pandas_series(series) for series in frame.iter_columns()}
        )
    return pd.DataFrame(
        {name: pd.Series(frame[:, j]).infer_objects() for j, name in enumerate(names)}
    )


def _to_polars(frame, names=None):
    """``frame`` as a polars DataFrame: itself, a pandas one converted
    column by column, or an array's columns named ``names``."""
    import polars as pl

    if is_polars_df(frame):
        return frame
    frame = _to_pandas(frame, names)
    return pl.DataFrame(
        [_polars_series(str(name), frame[name]) for name in frame.columns]
    )


def _pandas_series(series):
    """A polars column as a pandas one of the same family: numbers stay
    numeric (nullable integers where cells are missing), an Enum is an
    ordered category and a Categorical an unordered one, text is object."""
    import polars as pl

    dtype = series.dtype
    missing = series.null_count() > 0
    if not missing and (dtype.is_integer() or dtype == pl.Boolean):
        if dtype.base_type().__name__ not in ("Int128", "UInt128"):
            return pd.Series(series.to_numpy())  # vectorized, same dtype
    values = series.to_list()
    if isinstance(dtype, pl.Enum):
        categories = dtype.categories.to_list()
        return pd.Series(pd.Categorical(values, categories, ordered=True))
    if dtype == pl.Categorical:
        return pd.Series(pd.Categorical(values))
    if dtype == pl.Boolean:
        return pd.Series(values, dtype="boolean" if missing else bool)
    if dtype.is_integer() and dtype.base_type().__name__ not in ("Int128", "UInt128"):
        numpy = np.dtype(dtype.base_type().__name__.lower())
        return pd.Series(values, dtype=nullable_integer(numpy) if missing else numpy)
    if dtype.is_numeric():  # floats, decimals, 128-bit integers
        numpy = np.float32 if dtype == pl.Float32 else np.float64
        return pd.Series(series.cast(pl.Float64).to_numpy(), dtype=numpy)
    return pd.Series(object_array(values), dtype=object)


def _polars_series(name, series):
    """A pandas column as a polars one of the same family: numbers stay
    numeric, an ordered category of text is an Enum and an unordered one a
    Categorical; text is a String."""
    import polars as pl

    dtype = series.dtype
    numpy = getattr(dtype, "numpy_dtype", dtype)
    numeric = isinstance(numpy, np.dtype) and numpy.kind in "biuf"
    if numeric and (numpy.kind == "f" or not series.isna().any()):
        # Vectorized: no missing cell, or NaN for one (a null in polars).
        target = getattr(pl, _POLARS_NAMES[numpy.name])
        if numpy.kind == "f":
            values = series.to_numpy(dtype=numpy, na_value=np.nan)
        else:
            values = series.to_numpy(dtype=numpy)
        return pl.Series(name, values, nan_to_null=True).cast(target)
    values = [
        None if _missing_cell(v) else plain_scalar(v) for v in series.astype(object)
    ]
    if isinstance(dtype, pd.CategoricalDtype):
        categories = [plain_scalar(c) for c in dtype.categories]
        if all(isinstance(c, str) for c in categories):
            target = pl.Enum(categories) if dtype.ordered else pl.Categorical
            return pl.Series(name, values, dtype=pl.String).cast(target)
        # Numbers and booleans as themselves; intervals (pd.cut) as objects.
        if not all(isinstance(c, bool | int | float) for c in categories):
            return pl.Series(name, values, dtype=pl.Object)
        return pl.Series(name, values, strict=False)
    if numeric:  # integers or booleans with missing cells
        target = getattr(pl, _POLARS_NAMES[numpy.name])
        return pl.Series(name, values, dtype=target)
    try:
        return pl.Series(name, values, strict=False)
    except (TypeError, ValueError):
        return pl.Series(name, values, dtype=pl.Object)


_POLARS_NAMES = {
    "bool": "Boolean",
    **{f"int{b}": f"Int{b}" for b in (8, 16, 32, 64)},
    **{f"uint{b}": f"UInt{b}" for b in (8, 16, 32, 64)},
    "float32": "Float32",
    "float64": "Float64",
    "float16": "Float32",
}


def _missing_cell(value):
    return (
        value is None or value is pd.NA or value is pd.NaT or is_missing_scalar(value)
    )


def _set_column(frame, j, value):
    """``frame`` with the missing cells of its ``j``-th column set to
    ``value``."""
    name = frame.columns[j]
    if is_pandas_df(frame):
        frame = frame.copy()
        frame[name] = frame[name].fillna(value)
        return frame
    column = frame[name].fill_null(value)
    if column.dtype.is_float():
        column = column.fill_nan(value)
    return frame.with_columns(column)
