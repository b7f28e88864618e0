"""VAEImputer: missing-value imputation by a VAE, with scikit-learn's
imputer API."""

import functools

import numpy as np
import pandas as pd
import torch
from scipy.special import ndtr, ndtri
from sklearn.base import _fit_context
from sklearn.impute._base import _BaseImputer
from sklearn.utils._param_validation import MissingValues
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from skvae._base import BaseVAE
from skvae._docs import fill_doc
from skvae._frames import (
    array_output,
    finish_frame,
    frame_output,
)
from skvae._generative import GenerativeMixin
from skvae._noise import row_uniform_noise
from skvae._runtime import uses_torch
from skvae._tables import is_pandas_df, is_polars_df
from skvae._torch.likelihoods import LIKELIHOODS

# The calibration of the draws' spread (see _held_out_cells): the share of
# the observed numeric cells held out of training, and the most cells.
_SPREAD_SHARE = 0.05
_SPREAD_CELLS = 2000
# Fewer held-out cells than this say too little: the draws keep the
# decoder's own spread.
_MIN_SPREAD_CELLS = 20
# The interval the spread is calibrated on: the central 90 %, which a
# Gaussian's mean +- _Z_INTERVAL standard deviations holds.
_SPREAD_LEVEL = 0.9
_Z_INTERVAL = float(ndtri(0.5 + _SPREAD_LEVEL / 2))
# The uniform at which a Gaussian draw is one standard deviation up.
_ONE_SIGMA_UP = float(ndtr(1.0))


@fill_doc
class VAEImputer(GenerativeMixin, BaseVAE, _BaseImputer):
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

    draw_spread_ : ndarray of shape (`n_features_in_`,)
        The factor on the decoder's noise in the draws of
        ``sample_posterior=True``, calibrated at fit on observed cells held
        out of training so that the draws' central 90 % interval holds 90 %
        of them (see Notes); 1 for categorical columns and under the
        Bernoulli likelihood.

    {shared_attributes}

    sample_mixture_ : GaussianMixture or None
        The Gaussian mixture over the training rows' codes that ``sample``
        draws from (see ``n_sample_components``); None when it draws from
        the prior.

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

    Multiple imputation: the decoder's noise is learned on cells the
    encoder saw, so its spread is that of a reconstruction, narrower than
    the error of a guess. Fit holds 5 % of the observed numeric cells (at
    most 2000) out of training, imputes them after training and scales the
    noise of ``sample_posterior`` draws by ``draw_spread_``, so that the
    draws' central 90 % interval holds 90 % of those cells (a quantile
    recalibration); the imputed means are those of a model trained without
    those cells.

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
        **BaseVAE._latent_model_constraints,
        **BaseVAE._posterior_regularizer_constraints,
        **GenerativeMixin._sampler_constraints,
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
        prior="normal",
        n_pseudo_inputs="auto",
        n_flows=0,
        n_top_components=None,
        beta=1.0,
        kl_warmup=0,
        free_bits=0.5,
        weight_decay=0.0,
        l1_penalty=0.0,
        adversarial_weight=0.0,
        mmd_weight=0.0,
        tc_weight=0.0,
        consistency_weight=0.0,
        latent_adversarial_weight=0.0,
        spectral_norm=False,
        n_sample_components=0,
        corruption=0.0,
        dropout="auto",
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
            spectral_norm=spectral_norm,
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
        self.prior = prior
        self.n_pseudo_inputs = n_pseudo_inputs
        self.n_flows = n_flows
        self.n_top_components = n_top_components
        self.mmd_weight = mmd_weight
        self.tc_weight = tc_weight
        self.consistency_weight = consistency_weight
        self.latent_adversarial_weight = latent_adversarial_weight
        self.n_sample_components = n_sample_components
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

    @uses_torch
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
        missing = _cells_to_fill(X_encoded, table, self.schema_, self.is_categorical_)
        filled = X_encoded.astype(np.float64)
        rows = np.flatnonzero(missing.any(axis=1))
        if rows.size:
            # The model conditions on the observed cells; an unseen level is
            # NaN in X_encoded, so it counts as missing there.
            imputed = self._impute(filled[rows])
            filled[rows] = np.where(missing[rows], imputed, filled[rows])
        if self.keep_empty_features:
            # A column never observed in fit has nothing learnt: 0, as
            # scikit-learn's imputers fill it.
            empty = self.empty_features_ & ~self.is_categorical_
            filled[:, empty] = np.where(missing[:, empty], 0.0, filled[:, empty])
        fitted = (self.schema_, self.categories_, self.is_categorical_)
        as_array = functools.partial(
            array_output, X_encoded, table, missing, filled, *fitted
        )
        container = _get_output_config("transform", self)["dense"]
        if self.schema_ is None or container == "default":
            out = as_array()
        else:
            names = list(getattr(self, "feature_names_in_", []))
            names = names or [f"x{j}" for j in range(self.n_features_in_)]
            out = frame_output(
                table, missing, filled, self.schema_, names, container, as_array
            )
        return self._finish(out, missing)

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
        return self._concatenate_indicator_feature_names_out(names, input_features)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = _is_nan(self.missing_values)
        return tags

    def __setstate__(self, state):
        super().__setstate__(state)
        indicator = vars(self).get("indicator_")
        if indicator is not None and not getattr(indicator, "_precomputed", False):
            # Saved when the indicator read rows with NaN cells: the same
            # columns, from the mask of missing cells that transform passes.
            indicator._fit(self.missing_patterns_[0], precomputed=True)

    # ----------------------------------------------------------- helpers

    def _fitted_on(self, prepared):
        """``sample_posterior_``, ``sample_mixture_``, the empty features,
        the draws' spread (from the cells held out of training, see
        :meth:`_hold_out`) and the indicator.

        The training rows' patterns of missing cells, counted over every
        training call, say which columns are empty and which have gaps (all
        the indicator learns): no second pass over the rows.
        """
        self.sample_posterior_ = self.sample_posterior
        self._fit_sample_mixture(prepared.X)
        patterns, _ = self.missing_patterns_
        self.empty_features_ = patterns.all(axis=0)
        rows, cells, truth = prepared.held_out
        self.draw_spread_ = _draw_spread(
            self._inference(), rows, cells, truth, _spread_columns(self.architecture_)
        )
        # The patterns are a mask of the missing cells (scikit-learn's
        # precomputed indicator input).
        self._fit_indicator(patterns)

    # Training always has missing cells (those held out for the draws'
    # spread), and the rows to impute have them.
    _missing_inputs = True

    def _hold_out(self, X, architecture, rng):
        """The training rows less the cells held out of training to
        calibrate the draws' spread (see :func:`_draw_spread`), and those
        cells (see :func:`_held_out_cells`)."""
        return _held_out_cells(X, _spread_columns(architecture), rng)

    def _impute(self, X):
        """Imputed rows of the float64 rows ``X`` (every cell, on the user's
        scale, categorical cells as level codes)."""
        model = self._inference()
        if not self.sample_posterior_:
            return _imputed_rows(model, X) * self.scale_ + self.mean_
        rows = _imputed_rows(model, X, self.noise_seed_ + 1, self.draw_spread_)
        return rows * self.scale_ + self.mean_

    def _mark_missing(self, X, is_categorical):
        """Cells of numeric columns equal to ``missing_values`` become NaN
        (in a copy); NaN is then an error, as in scikit-learn's imputers."""
        return _marked_missing(X, self.missing_values, is_categorical)

    def _finish(self, out, missing):
        """Empty features dropped (or kept: in a DataFrame their missing
        cells, which decoding leaves missing, are filled with 0 here; an
        array has them at 0 already) and the indicator appended, as
        scikit-learn's imputers do."""
        empty = self.empty_features_
        indicator = self._transform_indicator(missing)
        if indicator is not None:
            # An array, whatever set_output context the caller is in.
            indicator = np.asarray(indicator)
        if is_pandas_df(out) or is_polars_df(out):
            names = getattr(self, "feature_names_in_", None)
            indicator_names = None
            if indicator is not None:
                indicator_names = self.indicator_.get_feature_names_out(names)
            fill_empty = None
            if self.keep_empty_features:
                fill_empty = empty & ~self.is_categorical_
            return finish_frame(out, empty, fill_empty, indicator, indicator_names)
        if not self.keep_empty_features:
            out = out[:, ~empty]
        return self._concatenate_indicator(out, indicator)


def _imputed_rows(model, X, seed=None, spread=None):
    """Imputed rows of the float64 rows ``X`` by the fitted estimator's
    inference ``model``, every cell on the standardized scale (categorical
    cells as level codes): the importance-weighted posterior mean (a mode
    for categorical cells), or with a ``seed`` one draw from the posterior
    by sampling importance resampling, a function of the row and ``seed``,
    its numeric cells' decoder noise multiplied by ``spread`` (one factor
    per column, see :func:`_draw_spread`)."""
    out = np.empty_like(X)
    vae = model.module_for(np.float64)
    if spread is not None:
        scaled = model.tensor(spread != 1.0)
        spread = model.tensor(spread)
    for rows, _, samples in model.bound_chunks(X):
        weights = _posterior_weights(samples)
        k = weights.shape[0]
        if seed is not None:
            noise = row_uniform_noise(X[rows], seed, 1, X.shape[1] + 1)
            uniform = model.tensor(noise[0])  # (n_rows, 1 + n_features)
            # Sampling importance resampling: the latent draw whose
            # cumulative weight passes a uniform draw.
            pick = (uniform[:, 0] > weights.cumsum(0)).sum(0).clamp(max=k - 1)
            z = samples.z[pick, torch.arange(len(pick))]  # (n_rows, d)
            decoded = vae.decoder(z)
            values = vae.likelihood.draw(decoded, uniform[:, 1:])
            if spread is not None:
                mean = vae.expansion.collapse(vae.likelihood.mean(decoded))
                values = torch.where(scaled, mean + spread * (values - mean), values)
        else:
            means = vae.decode_mean(samples.z)  # (k, n_rows, n_outputs)
            mean = (weights[..., None] * means).sum(0)
            values = vae.expansion.collapse(mean)  # (n_rows, n_features)
        out[rows] = values.cpu().numpy()
    return out


def _posterior_weights(samples):
    """The self-normalized importance weights of the latent draws of
    ``samples`` (k, n_rows): a row no draw explains (bound -inf) has none,
    and its draws weigh equally."""
    k = samples.weights.shape[0]
    return torch.where(torch.isfinite(samples.bound), samples.weights, 1.0 / k)


def _held_out_cells(X, columns, rng):
    """``X`` (a copy) less a random ``_SPREAD_SHARE`` of its observed cells
    in ``columns`` (at most ``_SPREAD_CELLS``), drawn from ``rng``, and the
    held-out cells as ``(rows, (row, column), truth)``: the rows of ``X``
    that lost a cell, as training sees them, each cell's position in
    ``rows`` and its value."""
    eligible = ~np.isnan(X) & columns
    share = min(_SPREAD_SHARE, _SPREAD_CELLS / max(eligible.sum(), 1))
    held = eligible & (
        np.random.RandomState(rng.randint(2**31 - 1)).rand(*X.shape) < share
    )
    X = X.copy()
    truth = X[held]
    X[held] = np.nan
    lost = held.any(axis=1)
    row, column = np.nonzero(held[lost])
    return X, (X[lost], (row, column), truth)


def _draw_spread(model, rows, cells, truth, columns):
    """Per column, the factor by which the decoder's noise is multiplied in
    the draws of ``sample_posterior=True``: one factor for the ``columns``
    (numeric ones under a location-scale likelihood), calibrated on the
    ``cells`` of ``rows`` held out of training, whose values are
    ``truth``; 1 for the other columns, and for all with fewer than
    ``_MIN_SPREAD_CELLS`` held-out cells.

    A draw has variance ``v + c^2 s^2``, with ``v`` the weighted variance
    of the decoder's means over the latent draws, ``s`` the decoder's
    standard deviation and ``c`` the factor: ``c`` is the smallest for which
    the central ``_SPREAD_LEVEL`` interval of a Gaussian of that variance
    around the imputed mean holds that share of the held-out cells (a
    quantile recalibration, Kuleshov et al., 2018). The imputed means,
    ``score`` and every other output are unchanged. Why and
    what was rejected: the design notes of the documentation.
    """
    spread = np.ones(len(columns))
    if len(truth) < _MIN_SPREAD_CELLS:
        return spread
    row, column = cells
    rows = rows.astype(np.float64, copy=False)
    truth = (truth - model.mean[column]) / model.scale[column]
    vae = model.module_for(np.float64)
    needed = np.empty(len(truth))
    for chunk, _, samples in model.bound_chunks(rows):
        weights = _posterior_weights(samples)[..., None]  # (k, n_rows, 1)
        decoded = vae.decoder(samples.z)  # (k, n_rows, n_outputs)
        means = vae.expansion.collapse(vae.likelihood.mean(decoded))
        mean = (weights * means).sum(0)  # (n_rows, n_features)
        variance = (weights * (means - mean) ** 2).sum(0)
        # The decoder's standard deviation, whatever its location-scale
        # family: the draw one standard deviation up minus the median.
        up = torch.full_like(means, _ONE_SIGMA_UP)
        half = torch.full_like(means, 0.5)
        sd = vae.likelihood.draw(decoded, up) - vae.likelihood.draw(decoded, half)
        noise = (weights * sd**2).sum(0)
        here = (row >= chunk.start) & (row < chunk.stop)
        at = torch.as_tensor(row[here] - chunk.start), torch.as_tensor(column[here])
        mean, variance, noise = (t[at].cpu().numpy() for t in (mean, variance, noise))
        # The c^2 at which the cell is on the edge of its interval.
        edge = ((truth[here] - mean) / _Z_INTERVAL) ** 2
        needed[here] = (edge - variance) / noise
    c2 = np.quantile(needed, _SPREAD_LEVEL)
    spread[columns] = np.sqrt(max(c2, 0.0))
    return spread


def _marked_missing(X, missing_values, is_categorical):
    """``X`` with the cells of numeric columns (not ``is_categorical``)
    equal to ``missing_values`` as NaN, in a copy; with a placeholder other
    than NaN, a NaN in ``X`` is an error, as in scikit-learn's imputers."""
    if _is_nan(missing_values):
        return X
    if np.isnan(X).any():
        raise ValueError(
            f"Input X contains NaN or missing values, but missing_values="
            f"{missing_values!r}: set missing_values=np.nan to impute "
            "both, or fill them first."
        )
    marked = (X == missing_values) & ~is_categorical
    if not marked.any():
        return X
    X = X.copy()
    X[marked] = np.nan
    return X


def _cells_to_fill(X_encoded, table, schema, is_categorical):
    """The cells the user left missing: the NaN cells of ``X_encoded``
    except the observed levels unseen in fit, which are data (``schema``
    and ``is_categorical`` are the imputer's fitted ``schema_`` and
    ``is_categorical_``)."""
    missing = np.isnan(X_encoded)
    if schema is not None and is_categorical.any():
        given = schema.missing(table)
        missing &= given | ~is_categorical
    return missing


def _is_nan(value):
    """Whether ``missing_values`` is the NaN placeholder: NaN or ``pd.NA``
    (which the constraint accepts, and which a validated table holds as
    NaN)."""
    return value is pd.NA or (isinstance(value, float) and bool(np.isnan(value)))


def _spread_columns(architecture):
    """The columns whose draws' spread is calibrated: numeric ones under a
    location-scale likelihood (not over levels), whose noise can be scaled."""
    return ~architecture.over_levels & LIKELIHOODS[architecture.likelihood].standardize
