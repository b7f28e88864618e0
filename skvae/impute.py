"""VAEImputer: missing-value imputation by a VAE, with scikit-learn's
imputer API."""

import warnings

import numpy as np
import pandas as pd
import torch
from sklearn.base import TransformerMixin, _fit_context
from sklearn.impute import MissingIndicator
from sklearn.utils._param_validation import MissingValues
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from skvae._base import BaseVAE
from skvae._docs import fill_doc
from skvae._generative import GenerativeMixin
from skvae._noise import row_uniform_noise
from skvae._runtime import torch_settings
from skvae._tables import (
    _is_pandas_df,
    _is_polars_df,
    _levels_of,
    _missing,
    _nullable_integer,
    _numeric_column,
    _object_array,
    _pandas_dtype,
    _plain,
    _polars_dtype,
)
from skvae._validation import user_stacklevel


@fill_doc
class VAEImputer(TransformerMixin, GenerativeMixin, BaseVAE):
    """Fill missing cells with what a variational autoencoder infers.

    The VAE is trained on the observed cells of the table (the masked
    likelihood of MIWAE and HI-VAE; see the user guide, "Tables with
    categories and missing values"), so it learns p(x_missing | x_observed)
    from the table itself. ``transform`` fills each missing cell and leaves
    every observed cell as it was, with the conventions of
    :class:`~sklearn.impute.IterativeImputer`:

    - ``sample_posterior=False``: the conditional mean of a numeric cell and
      the most probable level of a categorical one, given the row's observed
      cells. Both are computed by self-normalized importance sampling of the
      posterior, with ``n_mc_samples`` latent draws weighted by how well each
      explains the observed cells (Mattei & Frellsen, 2019).
    - ``sample_posterior=True``: one draw from p(x_missing | x_observed) by
      sampling importance resampling: a latent draw picked with probability
      its weight, then a draw of each missing cell. Imputers fitted with
      different ``random_state`` values give multiple imputations.

    Numeric arrays and pandas or polars DataFrames with categorical, text,
    boolean and integer columns are imputed as they are. As scikit-learn's
    imputers, ``transform`` returns an ndarray by default, whatever the
    input; with ``set_output(transform="pandas")`` or ``"polars"``, a
    DataFrame of that kind in the training table's column types (valid
    levels in categorical columns, integers in integer columns).

    Parameters
    ----------
    missing_values : int, float, np.nan or pd.NA, default=np.nan
        The placeholder for the missing cells. NaN, ``None``, ``pd.NA`` and
        polars nulls are always missing (``pd.NA`` is the same placeholder
        as NaN); with a number, the cells of numeric columns equal to it are
        missing too and a NaN in ``X`` is an error.

    sample_posterior : bool, default=False
        Fill with one draw from the posterior predictive distribution rather
        than with its mean (numeric cells) or mode (categorical cells).
        Draws are a deterministic function of the row and of a seed drawn at
        fit from ``random_state``.

    add_indicator : bool, default=False
        Append a :class:`~sklearn.impute.MissingIndicator`'s columns (one per
        column with missing cells in fit) to the output.

    keep_empty_features : bool, default=False
        Keep the columns that have no observed cell in fit; their missing
        cells are filled with 0 (numeric) or left missing (categorical),
        and cells observed later are kept. By default they are dropped, as
        by scikit-learn's imputers.

    {shared_parameters}

    Attributes
    ----------
    indicator_ : MissingIndicator or None
        The indicator of missing cells when ``add_indicator=True``.

    sample_posterior_ : bool
        Whether ``transform`` draws from the posterior, fixed at fit.

    empty_features_ : ndarray of bool of shape (`n_features_in_`,)
        The columns with no observed cell in fit.

    {shared_attributes}

    See Also
    --------
    sklearn.impute.IterativeImputer : Round-robin regression imputation.
    sklearn.impute.KNNImputer : Imputation from the nearest rows.
    VAETransformer : The same model, for features and generation.

    Notes
    -----
    Two defaults differ from the other estimators': ``free_bits=0.5`` and
    ``batch_size=32``. With half the cells missing, a VAE trained with the
    textbook objective often collapses onto its prior and imputes column
    means; free bits and more, smaller steps keep it informative (user
    guide, "Imputing missing values", has the measurements). Free
    bits apply to the ELBO: set ``free_bits=0`` to train on the
    importance-weighted bound (``n_importance_samples > 1``).

    Imputation is only as good as the model: train long enough for the
    table's size (``loss_curve_``), and check the error on cells you hide
    yourself before trusting it. Missingness is assumed to be at random
    given the observed cells (MAR), as for every imputer in scikit-learn.

    References
    ----------
    .. [1] Mattei, P.-A. and Frellsen, J. "MIWAE: Deep Generative Modelling
       and Imputation of Incomplete Data Sets", ICML 2019.
    .. [2] Nazabal, A., Olmos, P. M., Ghahramani, Z. and Valera, I.
       "Handling incomplete heterogeneous data using VAEs", Pattern
       Recognition 107, 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from skvae import VAEImputer
    >>> rng = np.random.RandomState(0)
    >>> factor = rng.normal(size=(200, 1))
    >>> X = factor * [1.0, 2.0, 3.0] + 0.1 * rng.normal(size=(200, 3))
    >>> X_gaps = X.copy()
    >>> X_gaps[::4, 1] = np.nan
    >>> imputer = VAEImputer(max_iter=5, random_state=0).fit(X_gaps)
    >>> X_filled = imputer.transform(X_gaps)
    >>> bool(np.isnan(X_filled).any())
    False
    >>> bool((X_filled[1::4] == X_gaps[1::4]).all())  # observed rows as they were
    True
    """

    _parameter_constraints: dict = {
        **BaseVAE._parameter_constraints,
        "missing_values": [MissingValues(numeric_only=True)],
        "sample_posterior": ["boolean"],
        "add_indicator": ["boolean"],
        "keep_empty_features": ["boolean"],
    }

    def __init__(
        self,
        missing_values=np.nan,
        sample_posterior=False,
        add_indicator=False,
        keep_empty_features=False,
        *,
        n_components=8,
        hidden_layer_sizes="auto",
        likelihood="gaussian",
        categorical_features="from_dtype",
        min_frequency=None,
        max_categories=None,
        beta=1.0,
        kl_warmup=0,
        free_bits=0.5,
        weight_decay=0.0,
        l1_penalty=0.0,
        adversarial_weight=0.0,
        corruption=0.0,
        dropout=0.0,
        n_importance_samples=1,
        trim_fraction=0.0,
        max_iter="auto",
        batch_size=32,
        learning_rate_init=1e-3,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        shuffle=True,
        warm_start=False,
        n_mc_samples=100,
        n_jobs=None,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        super().__init__(
            n_components=n_components,
            hidden_layer_sizes=hidden_layer_sizes,
            likelihood=likelihood,
            categorical_features=categorical_features,
            min_frequency=min_frequency,
            max_categories=max_categories,
            beta=beta,
            kl_warmup=kl_warmup,
            free_bits=free_bits,
            weight_decay=weight_decay,
            l1_penalty=l1_penalty,
            adversarial_weight=adversarial_weight,
            corruption=corruption,
            dropout=dropout,
            n_importance_samples=n_importance_samples,
            trim_fraction=trim_fraction,
            max_iter=max_iter,
            batch_size=batch_size,
            learning_rate_init=learning_rate_init,
            tol=tol,
            n_iter_no_change=n_iter_no_change,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            shuffle=shuffle,
            warm_start=warm_start,
            n_mc_samples=n_mc_samples,
            n_jobs=n_jobs,
            device=device,
            random_state=random_state,
            verbose=verbose,
        )
        self.missing_values = missing_values
        self.sample_posterior = sample_posterior
        self.add_indicator = add_indicator
        self.keep_empty_features = keep_empty_features

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the VAE to the observed cells of ``X``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Training data with missing cells.
        y : None
            Ignored.

        Returns
        -------
        self : VAEImputer
            The fitted estimator.
        """
        return self._fit(X)

    def transform(self, X):
        """Fill the missing cells of ``X``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Rows with missing cells.

        Returns
        -------
        X_imputed : ndarray or DataFrame of shape (n_samples, n_features_out)
            ``X`` with every missing cell filled and every observed cell as
            it was (a level unseen in fit included), with the indicator
            columns appended when ``add_indicator``. The container follows
            ``set_output``, as for scikit-learn's imputers:

            - by default an ndarray, whatever the input: in the input's
              float dtype when every column holds numbers (float64 for a
              DataFrame), else an object array (a categorical column with
              text or boolean levels). It holds the imputed numbers as the
              model gives them: integer columns are not rounded.
            - with ``set_output(transform="pandas")`` or ``"polars"``, a
              DataFrame of that kind in the column types of the training
              table: integer columns rounded and clipped to the range seen
              in fit, categorical columns holding valid levels, a category
              column's categories extended by the levels imputed into it
              (see the user guide, "Imputing missing values").
        """
        check_is_fitted(self)
        X_encoded, table = self._validate_for_inference(X, return_table=True)
        missing = self._cells_to_fill(X_encoded, table)
        filled = X_encoded.astype(np.float64)
        rows = np.flatnonzero(missing.any(axis=1))
        if rows.size:
            # The model conditions on the observed cells; an unseen level is
            # NaN in X_encoded, so it counts as missing there.
            with torch_settings(self.n_jobs):
                imputed = self._impute(filled[rows])
            filled[rows] = np.where(missing[rows], imputed, filled[rows])
        if self.keep_empty_features:
            # A column never observed in fit has nothing learnt: 0, as
            # scikit-learn's imputers fill it.
            empty = self.empty_features_ & ~self.is_categorical_
            filled[:, empty] = np.where(missing[:, empty], 0.0, filled[:, empty])
        container = _get_output_config("transform", self)["dense"]
        if self.schema_ is None or container == "default":
            out = self._as_array(X_encoded, table, missing, filled)
        else:
            out = self._as_frame(X_encoded, table, missing, filled, container)
        return self._finish(out, missing)

    def score(self, X, y=None):
        """Mean log-likelihood bound of the observed cells of ``X``.

        In nats per row: a score for ``GridSearchCV`` without labels (as
        :meth:`VAETransformer.score`).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Rows to score.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Mean of ``score_samples(X)``; higher is better.
        """
        return float(np.mean(self.score_samples(X)))

    def get_feature_names_out(self, input_features=None):
        """Get the names of the output columns.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input feature names; ``feature_names_in_`` by default.

        Returns
        -------
        feature_names_out : ndarray of str objects
            The kept input columns, then the indicator's columns.
        """
        check_is_fitted(self)
        input_features = _check_feature_names_in(self, input_features)
        names = input_features
        if not self.keep_empty_features:
            names = names[~self.empty_features_]
        if self.indicator_ is not None:
            indicator = self.indicator_.get_feature_names_out(input_features)
            names = np.concatenate([names, indicator])
        return names

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = _is_nan(self.missing_values)
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # ----------------------------------------------------------- helpers

    def _fitted_on(self, X, labels=None):
        """``sample_posterior_``, the empty features and the indicator.

        The training rows' patterns of missing cells, counted over every
        training call, say which columns are empty and which have gaps (all
        the indicator learns): no second pass over ``X``.
        """
        self.sample_posterior_ = self.sample_posterior
        patterns, _ = self.missing_patterns_
        self.empty_features_ = patterns.all(axis=0)
        self.indicator_ = None
        if self.add_indicator:
            self.indicator_ = MissingIndicator(error_on_new=False).fit(
                _nan_where(patterns)
            )

    def _impute(self, X):
        """Imputed rows of the float64 rows ``X`` (every cell, on the user's
        scale, categorical cells as level codes)."""
        out = np.empty_like(X)
        model = self._inference()
        vae = model.module_for(np.float64)
        for rows, _, samples in model.bound_chunks(X):
            k = samples.weights.shape[0]
            # A row no latent draw explains (bound -inf) has no weights:
            # weigh its draws equally.
            weights = torch.where(
                torch.isfinite(samples.bound), samples.weights, 1.0 / k
            )
            if self.sample_posterior_:
                noise = row_uniform_noise(
                    X[rows], self.noise_seed_ + 1, 1, X.shape[1] + 1
                )
                uniform = model.tensor(noise[0])  # (n_rows, 1 + n_features)
                # Sampling importance resampling: the latent draw whose
                # cumulative weight passes a uniform draw.
                pick = (uniform[:, 0] > weights.cumsum(0)).sum(0).clamp(max=k - 1)
                z = samples.z[pick, torch.arange(len(pick))]  # (n_rows, d)
                values = vae.likelihood.draw(vae.decoder(z), uniform[:, 1:])
            else:
                means = vae.decode_mean(samples.z)  # (k, n_rows, n_outputs)
                mean = (weights[..., None] * means).sum(0)
                values = vae.expansion.collapse(mean)  # (n_rows, n_features)
            out[rows] = values.cpu().numpy()
        return out * self.scale_ + self.mean_

    def _mark_missing(self, X):
        """Cells of numeric columns equal to ``missing_values`` become NaN
        (in a copy); NaN is then an error, as in scikit-learn's imputers."""
        if _is_nan(self.missing_values):
            return X
        if np.isnan(X).any():
            raise ValueError(
                f"Input X contains NaN or missing values, but missing_values="
                f"{self.missing_values!r}: set missing_values=np.nan to impute "
                "both, or fill them first."
            )
        marked = (X == self.missing_values) & ~self.is_categorical_
        if not marked.any():
            return X
        X = X.copy()
        X[marked] = np.nan
        return X

    def _cells_to_fill(self, X_encoded, table):
        """The cells the user left missing: the NaN cells of ``X_encoded``
        except the observed levels unseen in fit, which are data."""
        missing = np.isnan(X_encoded)
        if self.schema_ is not None and self.is_categorical_.any():
            given = self.schema_.missing(table)
            missing &= given | ~self.is_categorical_
        return missing

    def _as_array(self, X_encoded, table, missing, filled):
        """The default output: an array of the user's cells and the imputed
        numbers (level codes decoded to levels), unrounded."""
        if self.schema_ is None:
            return np.where(missing, filled, X_encoded).astype(X_encoded.dtype)
        columns = []
        levels = iter(self.categories_)
        for j, categorical in enumerate(self.is_categorical_):
            rows = missing[:, j]
            if not categorical:
                columns.append(np.where(rows, filled[:, j], X_encoded[:, j]))
                continue
            column = _object_array(self.schema_.values(table, j))
            column[rows] = _levels_of(filled[rows, j], next(levels))
            columns.append(column)
        if all(_numeric_column(column) for column in columns):
            return np.column_stack(columns).astype(X_encoded.dtype)
        out = np.empty(X_encoded.shape, dtype=object)
        for j, column in enumerate(columns):
            out[:, j] = column
        return out

    def _as_frame(self, X_encoded, table, missing, filled, container):
        """With ``set_output``: the user's table with its missing cells taken
        from the model's decoded rows, as a DataFrame of kind ``container``
        (see :meth:`transform`)."""
        schema = self.schema_
        names = list(self._input_names())
        if schema.kind is None:
            # Fitted on an array: no column types to give back but the
            # cells' own; numbers stay numbers.
            array = self._as_array(X_encoded, table, missing, filled)
            frame = _to_pandas(array, names)
        elif schema.kind == "pandas":
            frame = table
            if not _is_pandas_df(table):
                frame = _in_dtypes(_to_pandas(table, names), schema)
            frame = _fill_pandas(frame, missing, schema.decode(filled))
        else:
            frame = table
            if not _is_polars_df(table):
                frame = _in_dtypes(_to_polars(table, names), schema)
            frame = _fill_polars(frame, missing, schema.decode(filled))
        if container == "polars":
            return _to_polars(frame)
        frame = _to_pandas(frame)
        if _is_pandas_df(table):
            frame.index = table.index  # as scikit-learn's pandas output
        return frame

    def _finish(self, out, missing):
        """Empty features dropped (or kept: in a DataFrame their missing
        cells, which decoding leaves missing, are filled with 0 here; an
        array has them at 0 already) and the indicator appended, as
        scikit-learn's imputers do."""
        empty = self.empty_features_
        indicator = None
        if self.indicator_ is not None:
            # An array, whatever set_output context the caller is in.
            indicator = np.asarray(self.indicator_.transform(_nan_where(missing)))
        names = self.feature_names_in_ if hasattr(self, "feature_names_in_") else None
        if _is_pandas_df(out) or _is_polars_df(out):
            frame = out
            if self.keep_empty_features:
                for j in np.flatnonzero(empty & ~self.is_categorical_):
                    frame = _set_column(frame, j, 0)
            elif empty.any():
                dropped = [out.columns[j] for j in np.flatnonzero(empty)]
                if _is_pandas_df(frame):
                    frame = frame.drop(columns=dropped)
                else:
                    frame = frame.drop(dropped)
            if indicator is not None:
                indicator_names = self.indicator_.get_feature_names_out(names)
                extra = dict(zip(indicator_names, indicator.T, strict=True))
                if _is_pandas_df(frame):
                    frame = pd.concat(
                        [frame, pd.DataFrame(extra, index=frame.index)], axis=1
                    )
                else:
                    import polars as pl

                    frame = frame.with_columns(
                        pl.Series(name, values) for name, values in extra.items()
                    )
            return frame
        if not self.keep_empty_features:
            out = out[:, ~empty]
        if indicator is not None:
            out = np.hstack([out, indicator.astype(out.dtype)])
        return out

    def _input_names(self):
        if hasattr(self, "feature_names_in_"):
            return self.feature_names_in_
        return [f"x{j}" for j in range(self.n_features_in_)]


def _in_dtypes(frame, schema):
    """``frame`` (a batch converted from an array or from the other kind of
    DataFrame) with each column cast to the training column's dtype where
    that loses no cell, e.g. no level unseen in fit; else as converted."""
    columns = {}
    for j, spec in enumerate(schema.dtypes):
        column = frame[frame.columns[j]]
        try:
            if schema.kind == "pandas":
                dtype = _pandas_dtype(spec)
                if isinstance(dtype, pd.CategoricalDtype):
                    # astype is a no-op between unordered categoricals of
                    # the same levels in another order.
                    column = column.astype(object)
                cast = column.astype(dtype)
            else:
                cast = column.cast(_polars_dtype(spec))
        except Exception:  # pandas', NumPy's, pyarrow's and polars' errors
            continue
        if _cells(cast) == _cells(column):
            columns[j] = cast
    if _is_pandas_df(frame):
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
    if _is_pandas_df(frame):
        return frame
    if _is_polars_df(frame):
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

    if _is_polars_df(frame):
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
        return pd.Series(values, dtype=_nullable_integer(numpy) if missing else numpy)
    if dtype.is_numeric():  # floats, decimals, 128-bit integers
        numpy = np.float32 if dtype == pl.Float32 else np.float64
        return pd.Series(series.cast(pl.Float64).to_numpy(), dtype=numpy)
    return pd.Series(_object_array(values), dtype=object)


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
    values = [None if _missing_cell(v) else _plain(v) for v in series.astype(object)]
    if isinstance(dtype, pd.CategoricalDtype):
        categories = [_plain(c) for c in dtype.categories]
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
    return value is None or value is pd.NA or value is pd.NaT or _missing(value)


def _nan_where(missing):
    """What ``MissingIndicator`` reads: NaN where ``missing``, else 0."""
    return np.where(missing, np.nan, 0.0)


def _is_nan(value):
    """Whether ``missing_values`` is the NaN placeholder: NaN or ``pd.NA``
    (which the constraint accepts, and which a validated table holds as
    NaN)."""
    return value is pd.NA or (isinstance(value, float) and bool(np.isnan(value)))


def _set_column(frame, j, value):
    name = frame.columns[j]
    if _is_pandas_df(frame):
        frame = frame.copy()
        frame[name] = frame[name].fillna(value)
        return frame
    column = frame[name].fill_null(value)
    if column.dtype.is_float():
        column = column.fill_nan(value)
    return frame.with_columns(column)
