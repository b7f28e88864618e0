"""Real tables: column types, categorical levels and the user's dtypes.

:class:`TableSchema` learns at fit which columns are categorical
(``categorical_features``, with ``HistGradientBoostingClassifier``'s
meaning) and their levels, encodes every later table into the float matrix
the network reads (a level's code, NaN when missing; an unseen level is
missing, with a warning) and decodes the model's outputs back into the
table's own column types. A fitted schema persists as plain data.
"""

import copy
import warnings
from numbers import Real
from typing import NamedTuple

import numpy as np
import pandas as pd


def is_pandas_df(X):
    return isinstance(X, pd.DataFrame)


def is_polars_df(X):
    # Without importing polars, which is not a dependency.
    return type(X).__name__ == "DataFrame" and type(X).__module__.startswith("polars")


def is_dataframe(X):
    return is_pandas_df(X) or is_polars_df(X)


def _categorical_dtype(dtype, kind):
    """Whether "from_dtype" makes a column of ``dtype`` categorical."""
    if kind == "polars":
        import polars as pl

        return dtype in (pl.Categorical, pl.Enum, pl.String, pl.Boolean, pl.Object)
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or _arrow_dictionary(dtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )


def _temporal_dtype(dtype, kind):
    """Whether ``dtype`` holds dates, times or durations, also as the
    categories of a categorical (``pd.cut`` of dates gives intervals of
    them)."""
    if kind == "polars":
        return dtype.is_temporal()
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
        if isinstance(dtype, pd.IntervalDtype):
            dtype = dtype.subtype
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        return pa.types.is_temporal(dtype.pyarrow_dtype)
    return (
        pd.api.types.is_datetime64_any_dtype(dtype)
        or pd.api.types.is_timedelta64_dtype(dtype)
        or isinstance(dtype, pd.PeriodDtype)
    )


def _nested_dtype(dtype, kind):
    if kind == "polars":
        return dtype.is_nested()
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        return pa.types.is_nested(dtype.pyarrow_dtype)
    return False


def _arrow_dictionary(dtype):
    """Whether ``dtype`` is Arrow's categorical, a dictionary type (what
    ``read_parquet(..., dtype_backend="pyarrow")`` gives a category)."""
    if not isinstance(dtype, pd.ArrowDtype):
        return False
    import pyarrow as pa

    return pa.types.is_dictionary(dtype.pyarrow_dtype)


def _integer_dtype(dtype, kind):
    if kind == "polars":
        return dtype.is_integer()
    return pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(
        dtype
    )


def resolve_categorical(X, categorical_features, feature_names, n_features):
    """The boolean mask of categorical columns that ``categorical_features``
    names for ``X``, with scikit-learn's errors for a bad specification."""
    mask = np.zeros(n_features, dtype=bool)
    if categorical_features is None:
        return mask
    if isinstance(categorical_features, str):  # "from_dtype", the only string
        if is_dataframe(X):
            kind = "polars" if is_polars_df(X) else "pandas"
            mask[:] = [_categorical_dtype(dtype, kind) for dtype in X.dtypes]
        return mask
    spec = np.asarray(categorical_features)
    if spec.size == 0:
        return mask
    if spec.dtype.kind in "OUS":
        if feature_names is None:
            raise ValueError(
                "categorical_features should be passed as an array of integers "
                "or as a boolean mask when the model is fitted on data without "
                "feature names."
            )
        names = list(feature_names)
        unknown = [name for name in spec if name not in names]
        if unknown:
            raise ValueError(
                f"categorical_features has item(s) {unknown} that are not "
                f"feature names of X: {names}."
            )
        mask[[names.index(name) for name in spec]] = True
    elif spec.dtype.kind == "b":
        if spec.shape != (n_features,):
            raise ValueError(
                "categorical_features set as a boolean mask must have shape "
                f"(n_features,), got: {spec.shape}."
            )
        mask[:] = spec
    elif spec.dtype.kind in "iu":
        if spec.ndim != 1 or spec.min() < 0 or spec.max() >= n_features:
            raise ValueError(
                "categorical_features set as integer indices must be in "
                f"[0, n_features - 1] = [0, {n_features - 1}], got "
                f"{categorical_features!r}."
            )
        mask[spec] = True
    else:
        raise ValueError(
            "categorical_features must be 'from_dtype', None, an array of "
            "integer indices, a boolean mask or an array of feature names; "
            f"got {categorical_features!r}."
        )
    return mask


class TableSchema:
    """The column types, levels and ranges of a table seen in fit, and how
    many of its rows hold each level (``counts``, of ``n_rows`` rows: what
    infrequent levels are found by, see ``skvae._architecture``).

    Parameters
    ----------
    X : DataFrame or ndarray of shape (n_samples, n_features)
        The training table (an ndarray already validated as 2D).
    is_categorical : ndarray of bool of shape (n_features,)
        Which columns are categorical (see :func:`resolve_categorical`).
    """

    def __init__(self, X, is_categorical):
        self.kind = (
            "polars" if is_polars_df(X) else "pandas" if is_pandas_df(X) else None
        )
        self.is_categorical = is_categorical
        self.columns = list(X.columns) if self.kind else None
        self.dtypes = list(X.dtypes) if self.kind else None
        self._check_dtypes()
        self.categories = []
        self.counts = []
        for j in np.flatnonzero(is_categorical):
            values, missing = self._column(X, j)
            levels = self._levels(values[~missing], j)
            self.categories.append(levels)
            codes = pd.Index(levels, dtype=object).get_indexer(values[~missing])
            codes = codes[codes >= 0]
            self.counts.append(np.bincount(codes, minlength=len(levels)))
        self.n_rows = int(X.shape[0])
        self.is_integer = np.array(
            [
                bool(self.kind) and _integer_dtype(dtype, self.kind)
                for dtype in (self.dtypes or [None] * len(is_categorical))
            ]
        )
        # Plain data from here on: a fitted estimator pickles (and skops
        # stores it) without pandas or polars objects.
        if self.kind:
            self.dtypes = [_dtype_spec(dtype, self.kind) for dtype in self.dtypes]

    def to_state(self):
        """The schema as plain data (what a pickled estimator stores): no
        class of skvae's, pandas', pyarrow's or polars' for ``skops.io`` to
        ask the user to trust. :meth:`from_state` is its inverse.

        The dtypes are plain already (see :func:`_dtype_spec`); the levels
        of a ``pd.cut`` column are ``pd.Interval`` objects, stored as
        ``("interval", left, right, closed)`` tuples (see
        :func:`_level_state`).
        """
        state = dict(vars(self))
        state["categories"] = [
            [_level_state(level) for level in levels] for levels in self.categories
        ]
        return state

    @classmethod
    def from_state(cls, state):
        """The schema that :meth:`to_state` gave ``state``."""
        schema = cls.__new__(cls)
        schema.__dict__.update(state)
        schema.categories = [
            object_array([_level_from_state(level) for level in levels])
            for levels in state["categories"]
        ]
        return schema

    @property
    def n_levels(self):
        """Levels per column, 0 for a numeric one (``VAE``'s ``n_levels``).
        A categorical column with no observed cell gets one placeholder
        level, never observed and decoded as missing."""
        n_levels = np.zeros(len(self.is_categorical), dtype=int)
        n_levels[self.is_categorical] = [
            max(len(levels), 1) for levels in self.categories
        ]
        return tuple(int(k) for k in n_levels)

    @property
    def level_counts(self):
        """Training rows of each level, per column: ``()`` for a numeric
        column, ``(0,)`` for the placeholder level of a categorical column
        with no observed cell (see :attr:`n_levels`); None for a schema
        saved before level counts were kept. With :attr:`n_rows`, what
        ``min_frequency`` and ``max_categories`` group infrequent levels
        by."""
        counts = getattr(self, "counts", None)
        if counts is None:
            return None
        out = [()] * len(self.is_categorical)
        for j, column in zip(np.flatnonzero(self.is_categorical), counts, strict=True):
            out[j] = tuple(int(c) for c in column) if len(column) else (0,)
        return tuple(out)

    def with_ranges(self, X_encoded):
        """A copy of the schema with the range of each numeric column in the
        encoded training table, which DataFrame outputs are clipped to, and
        its resolution (see :func:`_decimals`), which they are rounded to."""
        schema = copy.copy(self)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
            schema.low = np.nanmin(X_encoded, axis=0)
            schema.high = np.nanmax(X_encoded, axis=0)
        schema.decimals = [
            None if categorical else _decimals(X_encoded[:, j])
            for j, categorical in enumerate(self.is_categorical)
        ]
        return schema

    def encode(self, X):
        """The float64 matrix of ``X``: numeric cells as numbers, categorical
        cells as level codes, missing or unseen levels as NaN; and the
        unseen levels found, by column name (at most 5 per column)."""
        n_samples = X.shape[0]
        out = np.empty((n_samples, len(self.is_categorical)), dtype=np.float64)
        levels = iter(self.categories)
        unseen = {}
        for j, categorical in enumerate(self.is_categorical):
            if not categorical:
                values, missing = self._column(X, j)
                out[:, j] = self._numbers(values, missing, j)
                continue
            column_levels = next(levels)
            codes = self._codes(X, j, column_levels)
            if codes is None:
                values, missing = self._column(X, j)
                codes = pd.Index(column_levels, dtype=object).get_indexer(values)
                new = (codes < 0) & ~missing
            else:
                new = np.zeros(n_samples, dtype=bool)
            # Every cell is a level seen in fit (whose values are checked
            # once, not once per cell) or one of the new values.
            _check_finite_levels(_levels_present(codes, column_levels), self._name(j))
            if new.any():
                _check_finite_levels(values[new], self._name(j))
                unseen[self._name(j)] = sorted({str(v) for v in values[new]})[:5]
            out[:, j] = np.where(codes < 0, np.nan, codes)
        return out, unseen

    def _codes(self, X, j, column_levels):
        """The level codes of column ``j`` of a pandas ``X`` read from its
        categorical dtype when that declares exactly the fitted levels (a
        table read the way the training table was); else None. Saves
        hashing every cell."""
        if not is_pandas_df(X):
            return None
        dtype = X.dtypes.iloc[j]
        if not isinstance(dtype, pd.CategoricalDtype) or len(dtype.categories) != len(
            column_levels
        ):
            return None
        categories = dtype.categories.to_numpy(dtype=object)
        if not all(
            type(a) is type(b) and a == b
            for a, b in zip(categories, column_levels, strict=True)
        ):
            return None
        return X.iloc[:, j].cat.codes.to_numpy().astype(np.intp)

    def missing(self, X):
        """The cells that ``X`` leaves missing (NaN, None, ``pd.NA``, polars
        nulls), as a boolean array of shape (n_samples, n_features).

        Not the NaN cells of :meth:`encode`'s matrix: a level unseen in fit
        is NaN there (the model reads it as missing) but is data here.
        """
        masks = [self._column(X, j)[1] for j in range(len(self.is_categorical))]
        return np.column_stack(masks).reshape(X.shape[0], len(masks))

    def values(self, X, j):
        """The cells of column ``j`` of ``X`` as a 1D ndarray, the user's
        values (levels as they are, numbers as float64)."""
        return self._column(X, j)[0]

    def decode(self, values):
        """``values`` (numbers and level codes, NaN where missing) in the
        user's types: a DataFrame with the training columns' names and
        dtypes when fitted on one, else an ndarray (float64 when every
        column is numeric or has numeric levels, else object).

        In a DataFrame, numeric values are clipped to the range seen in fit
        (as SDV's ``enforce_min_max_values``), rounded to the decimal places
        that the training column needed (see :func:`_decimals`), and integer
        columns rounded (see :func:`_integers`).
        """
        columns = []
        levels = iter(self.categories)
        for j, categorical in enumerate(self.is_categorical):
            column = values[:, j]
            if categorical:
                column = levels_of(column, next(levels))
            elif self.kind:
                column = np.clip(column, self.low[j], self.high[j])
                decimals = getattr(self, "decimals", None)
                if decimals and decimals[j] is not None and not self.is_integer[j]:
                    # Values as precise as the training column's (prices in
                    # cents, lengths in millimetres), not more.
                    column = np.round(column, decimals[j])
                if self.is_integer[j]:
                    column = _integers(
                        np.round(column), self.low[j], self.high[j], self._iinfo(j)
                    )
            columns.append(column)
        if self.kind is None:
            if all(numeric_column(c) for c in columns):
                return np.column_stack(columns).astype(np.float64)
            out = np.empty(values.shape, dtype=object)
            for j, column in enumerate(columns):
                out[:, j] = column
            return out
        if self.kind == "polars":
            return self._polars_frame(columns)
        return pd.DataFrame(
            {
                name: _as_pandas(column, pandas_dtype_of(spec))
                for name, column, spec in zip(
                    self.columns, columns, self.dtypes, strict=True
                )
            }
        )

    # ------------------------------------------------------------ helpers

    def _name(self, j):
        return self.columns[j] if self.columns else int(j)

    def _check_dtypes(self):
        """Refuse, at fit, the columns that could not come back in their
        dtype: dates and durations, nested values (lists, structs), and any
        dtype that :func:`_dtype_spec` cannot rebuild."""
        for j, dtype in enumerate(self.dtypes or []):
            name = self._name(j)
            if _temporal_dtype(dtype, self.kind):
                raise ValueError(
                    f"Column {name!r} holds dates or durations ({dtype}); "
                    "skvae models numbers and categories. Convert it, e.g. to "
                    "days since a reference date or to its parts (year, month, "
                    "hour), or drop it."
                )
            if _nested_dtype(dtype, self.kind):
                raise ValueError(
                    f"Column {name!r} holds nested values ({dtype}); skvae "
                    "models numbers and categories, one value per cell. Unnest "
                    "it into columns, or drop it."
                )
            if isinstance(dtype, pd.CategoricalDtype):
                for level in dtype.categories:
                    if not _plain_level(level):
                        raise TypeError(
                            f"A level argument must be a string or a number, not "
                            f"{type(level).__name__!r} (categorical column "
                            f"{name!r} has the category {level!r})."
                        )
            spec = _dtype_spec(dtype, self.kind)
            if spec is not None:
                rebuilt = (
                    polars_dtype_of(spec)
                    if self.kind == "polars"
                    else pandas_dtype_of(spec)
                )
            if spec is None or rebuilt != dtype or type(rebuilt) is not type(dtype):
                raise ValueError(
                    f"Column {name!r} has dtype {dtype}, which skvae cannot give "
                    "back in its outputs. Convert it to a numeric, boolean, "
                    "string or categorical dtype (a sparse column with "
                    "``.sparse.to_dense()``)."
                )

    def _column(self, X, j):
        """Column ``j`` of ``X`` as a 1D ndarray and its missing-cell mask."""
        if is_polars_df(X):
            series = X.to_series(j)
            if series.dtype.base_type().__name__ in ("Int128", "UInt128"):
                import polars as pl

                # NumPy has no 128-bit integers; the network reads floats.
                series = series.cast(pl.Float64)
            values = series.to_numpy()
            missing = series.is_null().to_numpy()
            if values.dtype.kind == "f":
                missing |= np.isnan(values)
        elif is_pandas_df(X):
            series = X.iloc[:, j]
            missing = series.isna().to_numpy()
            if self.is_categorical[j] or not pd.api.types.is_numeric_dtype(series):
                values = series.to_numpy(dtype=object)
            else:
                values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            values = X[:, j]
            missing = pd.isna(values)
        return values, np.asarray(missing, dtype=bool)

    def _numbers(self, values, missing, j):
        """A numeric column as float64, NaN where missing, with a clear error
        for text (a column that should be categorical)."""
        if values.dtype.kind in "fiub":
            return values.astype(np.float64)
        out = np.full(values.shape, np.nan)
        try:
            out[~missing] = values[~missing].astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"Column {self._name(j)!r} holds non-numeric values (e.g. "
                f"{values[~missing][0]!r}) but is not categorical: list it in "
                "categorical_features."
            ) from None
        return out

    def _levels(self, observed, j):
        """The levels of a categorical column: a pandas categorical's
        declared categories in their own order (ordered categories keep
        theirs), whether or not the rows hold each, since the dtype says
        which levels exist (a first block of a larger table may miss some);
        else the values seen, sorted."""
        dtype = self.dtypes[j] if self.dtypes else None
        if isinstance(dtype, pd.CategoricalDtype):
            levels = list(dtype.categories)
        else:
            # Each distinct value once (in order of appearance), not each
            # cell; an unhashable value is found, and named, cell by cell.
            try:
                levels = pd.unique(observed)
            except TypeError:
                levels = observed
        for value in levels:
            if not _plain_level(value):
                raise TypeError(
                    f"A level argument must be a string or a number, not "
                    f"{type(value).__name__!r} (an interval of numbers, as "
                    "pd.cut makes, is a level too; categorical column "
                    f"{self._name(j)!r} holds {value!r})."
                )
        if not isinstance(dtype, pd.CategoricalDtype):
            try:
                levels = sorted(set(levels.tolist()))
            except TypeError:
                raise TypeError(
                    f"Categorical column {self._name(j)!r} must hold uniformly "
                    "strings or numbers; got "
                    f"{sorted({type(v).__name__ for v in observed})}."
                ) from None
        return object_array([plain_scalar(level) for level in levels])

    def _iinfo(self, j):
        """The range of the integer dtype of column ``j``."""
        spec = self.dtypes[j]
        if self.kind == "polars":
            # Int128 has no NumPy twin; its outputs stay within int64's range.
            name = {"Int128": "Int64", "UInt128": "UInt64"}.get(spec[0], spec[0])
            return np.iinfo(name.lower())
        dtype = pandas_dtype_of(spec)
        return np.iinfo(getattr(dtype, "numpy_dtype", dtype))

    def _polars_frame(self, columns):
        import polars as pl

        series = []
        for name, column, spec in zip(self.columns, columns, self.dtypes, strict=True):
            dtype = polars_dtype_of(spec)
            if isinstance(column, _Integers):
                values = pl.Series(name, column.values)
                if column.missing.any():
                    values = values.scatter(np.flatnonzero(column.missing), None)
            elif column.dtype == object:
                column = [None if is_missing_scalar(v) else v for v in column]
                # Nothing casts to Object: a column of it is built as one.
                object_dtype = dtype == pl.Object
                values = pl.Series(name, column, dtype=dtype if object_dtype else None)
            else:
                if dtype == pl.Boolean:
                    column = np.round(column)  # 0.7 is True, 0.3 False
                values = pl.Series(name, column, nan_to_null=True)
            series.append(values.cast(dtype))
        return pl.DataFrame(series)


# The finest resolution that outputs are rounded to, in decimal places.
MAX_DECIMALS = 6


def _decimals(values):
    """The fewest decimal places that write every observed value of a
    numeric column exactly (up to float64 rounding), at most
    ``MAX_DECIMALS``; None for a column that needs more, or has none."""
    observed = values[~np.isnan(values)]
    if not observed.size:
        return None
    for decimals in range(MAX_DECIMALS + 1):
        scaled = observed * 10.0**decimals
        if np.all(
            np.abs(scaled - np.round(scaled)) <= 1e-9 * np.maximum(1, np.abs(scaled))
        ):
            return decimals
    return None


def _dtype_spec(dtype, kind):
    """A column's dtype as plain data, from which :func:`pandas_dtype_of` or
    :func:`polars_dtype_of` rebuilds it exactly.

    A dtype's name is not enough: the name of ``string[pyarrow]`` is
    ``"string"``, which pandas reads back as ``string[python]``; pandas does
    not read an ``ArrowDtype``'s name (``"dictionary<values=string,
    indices=int8, ordered=0>[pyarrow]"``) back at all; polars' ``Decimal``
    loses its precision and scale. Nor can the dtype objects be stored:
    ``skops.io`` would then ask the user to trust pandas', pyarrow's and
    polars' types besides the estimator. So each family is stored by its
    parameters: a NumPy dtype and a pandas masked dtype by their names
    (which round-trip), a string dtype by its storage and missing value, a
    categorical by its categories (see :func:`_index_state`) and order, an
    Arrow type as Arrow's own serialized schema (bytes in a format stable
    across versions, and complete for every parametrized type: dictionary,
    decimal, large string), and a polars type by its name and parameters.
    None for a dtype outside these families, which fit refuses.
    """
    if kind == "polars":
        name = dtype.base_type().__name__
        if name == "Enum":
            return (name, dtype.categories.to_list())
        if name == "Decimal":
            return (name, dtype.precision, dtype.scale)
        return (name,)
    if isinstance(dtype, pd.CategoricalDtype):
        return ("category", _index_state(dtype.categories), bool(dtype.ordered))
    if isinstance(dtype, pd.StringDtype):
        return ("string", dtype.storage, bool(is_missing_scalar(dtype.na_value)))
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        schema = pa.schema([pa.field("column", dtype.pyarrow_dtype)])
        return ("arrow", schema.serialize().to_pybytes())
    if isinstance(dtype, np.dtype) and dtype.kind in "biufO":
        return ("numpy", dtype.name)
    if isinstance(dtype, _MASKED_DTYPES):
        return ("pandas", str(dtype))
    return None  # sparse, interval, complex, a third party's: refused at fit


# pandas' masked (nullable) dtypes, whose names round-trip.
_MASKED_DTYPES = (
    pd.BooleanDtype,
    pd.Int8Dtype,
    pd.Int16Dtype,
    pd.Int32Dtype,
    pd.Int64Dtype,
    pd.UInt8Dtype,
    pd.UInt16Dtype,
    pd.UInt32Dtype,
    pd.UInt64Dtype,
    pd.Float32Dtype,
    pd.Float64Dtype,
)


def pandas_dtype_of(spec):
    tag = spec[0]
    if len(spec) == 1:  # the layout before issue 26: a name
        return pd.api.types.pandas_dtype(tag)
    if tag == "category":
        return pd.CategoricalDtype(_index_from_state(spec[1]), ordered=spec[2])
    if tag == "string":
        return pd.StringDtype(spec[1], na_value=np.nan if spec[2] else pd.NA)
    if tag == "arrow":
        import pyarrow as pa

        return pd.ArrowDtype(pa.ipc.read_schema(pa.py_buffer(spec[1])).field(0).type)
    if tag == "numpy":
        return np.dtype(spec[1])
    return pd.api.types.pandas_dtype(spec[1])


def polars_dtype_of(spec):
    import polars as pl

    if spec[0] == "Enum":
        return pl.Enum(spec[1])
    if spec[0] == "Decimal":
        return pl.Decimal(spec[1], spec[2])
    return getattr(pl, spec[0])()


def _index_state(index):
    """The categories of a pandas categorical as plain data: the values and
    their dtype, or, for intervals (``pd.cut``), their bounds and closed
    side (see :func:`_level_state`)."""
    if isinstance(index, pd.IntervalIndex):
        return {
            "left": [plain_scalar(v) for v in index.left],
            "right": [plain_scalar(v) for v in index.right],
            "closed": index.closed,
            "subtype": _dtype_spec(index.dtype.subtype, "pandas"),
        }
    return {
        "values": [plain_scalar(v) for v in index],
        "dtype": _dtype_spec(index.dtype, "pandas"),
    }


def _index_from_state(state):
    if isinstance(state, list):  # the layout before issue 26: the values
        return state
    if "left" in state:
        subtype = pandas_dtype_of(state["subtype"])
        return pd.IntervalIndex.from_arrays(
            pd.Index(state["left"], dtype=subtype),
            pd.Index(state["right"], dtype=subtype),
            closed=state["closed"],
        )
    return pd.Index(state["values"], dtype=pandas_dtype_of(state["dtype"]))


def plain_scalar(value):
    """A NumPy scalar as the Python scalar it holds."""
    return value.item() if isinstance(value, np.generic) else value


def _plain_level(value):
    """Whether ``value`` can be a level: a string, a number, a boolean, or
    an interval of numbers (``pd.cut``). A level of any other type (a date,
    a ``Decimal``, a tuple) is refused at fit: it would have to be stored as
    a pandas or third-party object, which ``skops.io`` asks the user to
    trust."""
    if isinstance(value, pd.Interval):
        return isinstance(value.left, Real) and isinstance(value.right, Real)
    return isinstance(value, str | Real | np.bool_)


def _level_state(level):
    """A level as plain data: an interval as ``("interval", left, right,
    closed)``, which no other level can be (a level is never a tuple).

    Rejected: pickling the ``pd.Interval`` itself, which makes
    ``skops.io.load`` ask the user to trust
    ``pandas._libs.interval.Interval`` besides the estimator.
    """
    if isinstance(level, pd.Interval):
        return (
            "interval",
            plain_scalar(level.left),
            plain_scalar(level.right),
            level.closed,
        )
    return plain_scalar(level)


def _level_from_state(state):
    if isinstance(state, tuple) and state[0] == "interval":
        return pd.Interval(state[1], state[2], closed=state[3])
    return state


def object_array(values):
    """A 1D object array of ``values``, whatever they are (``np.array``
    would make a list of sequences 2D)."""
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        out[i] = value
    return out


def _levels_present(codes, levels):
    """The levels that ``codes`` (-1 where none) hold."""
    return levels[np.bincount(codes[codes >= 0], minlength=len(levels)) > 0]


def _check_finite_levels(values, name):
    numbers = [v for v in values if isinstance(v, float | np.floating)]
    if numbers and not np.isfinite(numbers).all():
        raise ValueError(
            f"Input X contains infinity in categorical column {name!r}; a level "
            "must be finite."
        )


def is_missing_scalar(value):
    return value is None or (isinstance(value, float) and np.isnan(value))


def levels_of(codes, levels):
    """Level codes (NaN where missing) -> an object array of the levels
    themselves, whatever their type: the user's dtype decides the rest."""
    out = np.full(codes.shape, np.nan, dtype=object)
    valid = ~np.isnan(codes) & (codes < len(levels))
    out[valid] = levels[codes[valid].astype(int)]
    return out


def numeric_column(column):
    """Whether a decoded column of an array output is numbers: float cells,
    or levels that are all numbers.

    ``True`` is an ``Integral`` to Python, so an ``isinstance`` test alone
    takes a column of booleans for numbers and gives ``1.0`` and ``0.0``
    back; booleans are levels, never numbers.
    """
    if column.dtype.kind == "f":
        return True
    levels = [v for v in column if not is_missing_scalar(v)]
    return bool(levels) and all(
        isinstance(v, Real) and not isinstance(v, bool | np.bool_) for v in levels
    )


def _as_pandas(column, dtype):
    """One output column in the training column's pandas ``dtype``; where a
    NumPy integer or boolean column has missing cells, its nullable twin of
    the same width (``Int8`` for ``int8``), as pandas itself does not."""
    if isinstance(dtype, pd.CategoricalDtype):
        return pd.Categorical(column, dtype=dtype)
    if isinstance(column, _Integers):
        column = pd.arrays.IntegerArray(column.values, column.missing)
        if isinstance(dtype, np.dtype) and column.isna().any():
            return column
        return pd.Series(column).astype(dtype)
    if pd.api.types.is_bool_dtype(dtype) and column.dtype.kind == "f":
        column = np.round(column)  # a numeric boolean column: 0.7 is True
    missing = pd.isna(column)
    if missing.any() and isinstance(dtype, np.dtype):
        if dtype.kind == "b":
            return pd.array(column, dtype="boolean")
        if dtype.kind in "iu":
            return pd.array(column, dtype=nullable_integer(dtype))
    # A Series, not its array: pandas 3 reads an object array put in a
    # DataFrame as text (its "str" dtype), and the column is object.
    return pd.Series(column).astype(dtype)


def nullable_integer(dtype):
    """``Int8`` for ``int8``, ``UInt64`` for ``uint64``."""
    return dtype.name.replace("uint", "UInt").replace("int", "Int")


class _Integers(NamedTuple):
    """An integer output column: exact integers in the column's own NumPy
    dtype, and where they are missing."""

    values: np.ndarray
    missing: np.ndarray


def _integers(column, low, high, iinfo):
    """Rounded floats (NaN where missing) as integers within ``[low, high]``
    (the range seen in fit) and within the dtype's range ``iinfo``.

    Clipping the floats to the range is not enough: ``INT64_MAX`` has no
    float, its nearest (2**63) is one above, and casting that back wraps to
    ``INT64_MIN`` in NumPy and fails in pandas' and polars' safe casts. So
    the bounds are kept as integers, the cells at or beyond a bound's float
    take the bound itself, and only the cells strictly within (which are
    below 2**63 in magnitude, so exact) are cast.
    """
    missing = np.isnan(column)
    out = np.zeros(column.shape, dtype=iinfo.dtype)
    if missing.all():
        return _Integers(out, missing)
    low, high = (min(max(int(bound), iinfo.min), iinfo.max) for bound in (low, high))
    values = np.where(missing, float(low), column)
    top, bottom = values >= float(high), values <= float(low)
    within = ~top & ~bottom
    out[within] = values[within].astype(iinfo.dtype)
    out[top] = high
    out[bottom] = low
    return _Integers(out, missing)
