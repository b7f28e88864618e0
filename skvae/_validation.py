"""Input validation: the rows every public method reads, and the table
schema learnt at fit.

Every public method hands its input to :func:`validate_rows`, which returns
the one float matrix the network reads (numbers, level codes, NaN where a
cell is missing) and, at fit, the :class:`~skvae._tables.TableSchema` that
turns later tables into that matrix and the model's outputs back into the
user's column types. Arrays of numbers are validated exactly as
scikit-learn's estimators validate them (``validate_data``), so the error
messages are scikit-learn's.
"""

import os
import sys
import warnings
from numbers import Integral

import numpy as np
import sklearn
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted, validate_data

import skvae
from skvae import _sparse
from skvae._cardinality import warn_identifier_columns
from skvae._families import numeric_likelihood
from skvae._tables import TableSchema, is_dataframe, resolve_categorical
from skvae._torch.likelihoods import LIKELIHOODS

# Where warnings should not point (see user_stacklevel).
_PACKAGE_DIR = os.path.dirname(os.path.abspath(skvae.__file__)) + os.sep
_SKLEARN_DIR = os.path.dirname(os.path.abspath(sklearn.__file__)) + os.sep


class ValidationMixin:
    """The estimators' side of validation: the fitted schema and column
    types, the dtype policy and the missing-cell placeholder hook."""

    @property
    def infrequent_categories_(self):
        """Per categorical column, the levels sharing one decoder output.

        None for a column without infrequent levels (see ``min_frequency``
        and ``max_categories``).
        """
        grouping = self.architecture_.infrequent
        out = []
        for j, levels in zip(
            np.flatnonzero(self.is_categorical_), self.categories_, strict=True
        ):
            codes = [code for code, _ in grouping[j]] if grouping else []
            out.append(levels[codes] if codes else None)
        return out

    def _validate_for_fit(self, X, *, reset):
        """``(X, schema)``: the validated training rows and the table schema
        (learnt from ``X`` with its ranges when ``reset``, else the fitted
        ``schema_``). Sets nothing on the estimator but what
        ``validate_data`` sets when ``reset`` (``n_features_in_``,
        ``feature_names_in_``)."""
        X, schema = validate_rows(
            self, X, reset=reset, schema=None if reset else self.schema_
        )
        is_categorical, _ = column_types(schema, X.shape[1])
        X = self._mark_missing(X, is_categorical)
        if reset and schema is not None:
            schema = schema.with_ranges(X)
        check_support(X, numeric_likelihood(self.likelihood), is_categorical)
        return X, schema

    def _validate_for_inference(
        self, X, dtype=(np.float64, np.float32), *, return_table=False
    ):
        """Validated rows of ``X`` in ``dtype``; scores use float64 whatever
        the input, so that extreme values cannot overflow float32. With
        ``return_table``, also the validated table that they encode (see
        :func:`validate_rows`)."""
        check_is_fitted(self)
        X, _, table = validate_rows(
            self, X, reset=False, schema=self.schema_, dtype=dtype, return_table=True
        )
        X = _unseen_values_missing(self._mark_missing(X, self.is_categorical_), self)
        check_support(X, self.likelihood_, self.is_categorical_)
        return (X, table) if return_table else X

    def _mark_missing(self, X, is_categorical):
        """The validated rows with every missing cell as NaN (a hook for an
        estimator with another placeholder; never writes into ``X``), the
        columns of which ``is_categorical`` holding level codes."""
        return X

    def _to_user(self, values):
        """Decoded rows in the user's column types (see ``TableSchema``)."""
        return values if self.schema_ is None else self.schema_.decode(values)


def column_types(schema, n_features):
    """``(is_categorical, categories)`` of a table of ``n_features``
    columns with the table ``schema`` (None: every column numeric), as the
    fitted ``is_categorical_`` and ``categories_``."""
    if schema is None:
        return np.zeros(n_features, dtype=bool), []
    return schema.is_categorical, schema.categories


def validate_rows(
    estimator,
    X,
    *,
    reset,
    schema,
    dtype=(np.float64, np.float32),
    return_table=False,
):
    """``(X_encoded, schema)``: the matrix the network reads and the table
    schema (learnt from ``X`` when ``reset``, else the fitted ``schema``);
    with ``return_table``, ``(X_encoded, schema, table)``, where ``table``
    is ``X`` validated (the DataFrame itself, or the array that
    ``validate_data`` made of it), whose cells ``X_encoded`` encodes: what
    an output that gives the user's cells back starts from.

    An array of numbers is validated as scikit-learn estimators do (a
    float32 one stays float32) and has no schema (None). A DataFrame, or an
    array with ``categorical_features``, goes through the schema: numeric
    cells as float64 numbers, categorical cells as level codes, NaN where
    missing, unseen levels as missing with a warning that names them.
    ``reset`` sets ``n_features_in_`` and ``feature_names_in_`` of
    ``estimator`` (``validate_data``'s job), nothing else.
    """
    categorical_features = estimator.categorical_features
    explicit = categorical_features is not None and not isinstance(
        categorical_features, str
    )
    if (reset and not is_dataframe(X) and not explicit) or (
        not reset and schema is None
    ):
        X = validate_data(
            estimator,
            X,
            dtype=dtype,
            ensure_all_finite="allow-nan",
            accept_sparse="csr" if estimator._accepts_sparse else False,
            reset=reset,
        )
        if _sparse.issparse(X):
            _sparse.check_sparse_rows(X, estimator)
        return (X, None, X) if return_table else (X, None)
    if _sparse.issparse(X):
        _sparse.check_sparse_rows(X, estimator)
    if is_dataframe(X):
        validate_data(estimator, X, skip_check_array=True, reset=reset)
    else:
        X = validate_data(
            estimator, X, dtype=None, ensure_all_finite=False, reset=reset
        )
    if reset:
        schema = _learn_schema(estimator, X)
    X_encoded, unseen = schema.encode(X)
    if unseen:
        warnings.warn(
            f"Found levels not seen in fit in categorical columns {unseen}; "
            "they are treated as missing cells.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    X_encoded = check_array(
        X_encoded,
        dtype=_encoded_dtype(X, dtype),
        ensure_all_finite="allow-nan",
        estimator=estimator,
        input_name="X",
    )
    return (X_encoded, schema, X) if return_table else (X_encoded, schema)


def _unseen_values_missing(X, estimator):
    """``X`` with the values that a "discrete" column never took in fit as
    missing cells (a copy if any), with a warning that names them, as
    unseen levels of a categorical column are."""
    specs = estimator.architecture_.numeric_levels or ()
    unseen = {}
    for j, spec in enumerate(specs):
        if spec is None or spec[1]:  # not over levels, or a histogram
            continue
        new = ~np.isnan(X[:, j]) & ~np.isin(X[:, j], spec[0])
        if new.any():
            if not unseen:
                X = X.copy()
            name = _column_name(estimator, j)
            unseen[name] = sorted(set(X[new, j].tolist()))[:5]
            X[new, j] = np.nan
    if unseen:
        warnings.warn(
            f"Found values not seen in fit in discrete columns {unseen}; they "
            "are treated as missing cells (set likelihood to 'histogram' for "
            "these columns to give every value a density).",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    return X


def _column_name(estimator, j):
    names = getattr(estimator, "feature_names_in_", None)
    return str(names[j]) if names is not None else int(j)


def _learn_schema(estimator, X):
    """The table schema of the training table ``X``, with a warning that
    names each identifier-like categorical column."""
    is_categorical = resolve_categorical(
        X,
        estimator.categorical_features,
        getattr(estimator, "feature_names_in_", None),
        estimator.n_features_in_,
    )
    schema = TableSchema(X, is_categorical)
    warn_identifier_columns(
        schema.n_levels, X.shape[0], schema.columns, stacklevel=user_stacklevel() + 1
    )
    return schema


def _encoded_dtype(X, dtype):
    """float32 for a float32 array that ``dtype`` allows, as without
    categories; float64 otherwise."""
    allowed = dtype if isinstance(dtype, tuple) else (dtype,)
    float32 = getattr(X, "dtype", None) == np.float32 and np.float32 in allowed
    return np.float32 if float32 else np.float64


def check_support(X, likelihood, is_categorical):
    """Refuse numeric cells outside the support of ``likelihood``, and
    anything but complete rows of non-negative integer counts for a count
    likelihood (``counts``)."""
    family = LIKELIHOODS[likelihood]
    if family.counts and is_categorical.any():
        raise ValueError(
            f"likelihood={likelihood!r} models rows of counts only, but X has "
            f"categorical columns {np.flatnonzero(is_categorical).tolist()}. "
            "Encode them as counts (e.g. OneHotEncoder) or set "
            "categorical_features=None."
        )
    if _sparse.issparse(X):
        # Every column is numeric; the implicit zeros are in every support.
        observed = X.data
    else:
        observed = X[:, ~is_categorical]
        if family.counts and np.isnan(observed).any():
            raise ValueError(
                f"likelihood={likelihood!r} models whole rows of counts and "
                "cannot leave cells out: X must have no missing values (NaN)."
            )
        observed = observed[~np.isnan(observed)]
    if family.counts and (
        (observed < 0).any() or (observed != np.floor(observed)).any()
    ):
        raise ValueError(
            f"likelihood={likelihood!r} requires non-negative integer counts "
            "in X (e.g. the document-term matrix of CountVectorizer); got "
            "negative or fractional values. Use likelihood='gaussian' for "
            "other numbers."
        )
    support = family.support
    if support is None or not observed.size:
        return
    low, high = support
    if observed.min() < low or observed.max() > high:
        raise ValueError(
            f"likelihood={likelihood!r} requires every value of X in "
            f"[{low:g}, {high:g}]; got values in [{observed.min():.4g}, "
            f"{observed.max():.4g}]. Scale the data (e.g. MinMaxScaler(clip=True), "
            "which also keeps new rows in range) or use "
            "likelihood='gaussian'."
        )


def check_n_samples(n_samples):
    """Refuse anything but a positive integer number of rows to generate."""
    if not isinstance(n_samples, Integral) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")


def user_stacklevel():
    """The ``stacklevel`` that makes a warning point at the user's call:
    the first frame outside skvae and scikit-learn (its ``fit`` and
    ``set_output`` wrappers, or a meta-estimator the user called)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and (
        frame.f_code.co_filename.startswith(_PACKAGE_DIR)
        or frame.f_code.co_filename.startswith(_SKLEARN_DIR)
    ):
        frame, level = frame.f_back, level + 1
    return level
