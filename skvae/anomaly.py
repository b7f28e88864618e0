"""VAEAnomalyDetector: a VAE as a scikit-learn outlier detector."""

from numbers import Real

import numpy as np
import torch
from sklearn.base import OutlierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from skvae import _sparse
from skvae._base import BaseVAE
from skvae._budget import TwoRegimeBudget
from skvae._docs import fill_doc
from skvae._inference import MAX_DERIVED_ROWS, bounded_rows
from skvae._runtime import uses_torch

# Training rows scored for the thresholds (offset_, feature_offset_): a
# random subsample of a larger table (see VAEAnomalyDetector's Notes).
MAX_THRESHOLD_ROWS = MAX_DERIVED_ROWS

# Cells (rows x columns) of the per-feature scores that feature_offset_ is
# the column medians of, for sparse training rows: a wide vocabulary takes
# fewer rows, so that memory does not grow with it (see Notes).
MAX_SPARSE_OFFSET_CELLS = 2**22


@fill_doc
class VAEAnomalyDetector(OutlierMixin, BaseVAE):
    """Outlier detection with a variational autoencoder.

    Fits a VAE to (mostly normal) training rows and scores new rows by how
    well the model explains them: by default their log-likelihood bound,
    optionally their reconstruction error. As for
    :class:`~sklearn.ensemble.IsolationForest`, ``score_samples`` is higher
    for more normal rows, ``decision_function`` is negative for outliers and
    ``predict`` returns -1 for outliers and +1 for inliers.

    Parameters
    ----------
    contamination : float, default=0.1
        Expected proportion of outliers in the training data, in (0, 0.5].
        Sets ``offset_``, the threshold of ``predict``: the
        ``contamination`` quantile of the training scores.

    score_type : {{"likelihood", "reconstruction"}}, default="likelihood"
        The anomaly score. ``"likelihood"``: the importance-weighted
        log-likelihood bound of the row in nats (``n_mc_samples`` samples),
        which accounts for how unusual the latent code itself is.
        ``"reconstruction"``: minus the squared error, in standardized
        units, between the row and the decoding of its posterior mean.
        Fixed at fit, since ``offset_`` is a quantile of the training
        scores: a change takes effect at the next fit. Either way, a row
        with missing cells is scored on its observed cells, extrapolated to
        a full row (see Notes).

    {shared_parameters}

    Attributes
    ----------
    offset_ : float
        Threshold on ``score_samples``: ``decision_function = score_samples -
        offset_``.

    score_type_ : str
        The scoring rule fixed at fit (``score_type`` then).

    feature_offset_ : ndarray of shape (`n_features_in_`,)
        Median over the training rows of each column's share of the score:
        the baseline that ``score_samples_per_feature`` subtracts.

    {shared_attributes}

    See Also
    --------
    VAETransformer : The same model used for feature extraction.
    sklearn.ensemble.IsolationForest : Tree-based outlier detector.
    sklearn.neighbors.LocalOutlierFactor : Density-based outlier detector.

    Notes
    -----
    The detector is trained on the contaminated training data without
    labels. ``score_samples_per_feature`` splits the score over columns, so
    an analyst can see which columns make a row anomalous.

    Missing cells. The likelihood bound of a row covers its observed cells
    (``VAETransformer.score_samples`` reports exactly that), so a row
    missing half its cells would have a bound made of half the terms and
    look far more normal than a complete row. The detector extrapolates:
    a row's score is its bound on the standardized data per observed cell,
    times ``n_features_in_``, on the original scale (minus
    ``sum(log(scale_))``, the change of variables of a full row). The
    missing cells are taken to be as usual, or as unusual, as the row's
    observed ones, so rows that miss different numbers of cells compare
    fairly, whatever the units of the missing columns; a complete row's
    score is the bound itself. With ``score_type="reconstruction"`` the
    mean squared error over the observed cells is extrapolated the same
    way. This rule ranked anomalies better than the bound on the observed
    cells alone and than counting each missing cell as a typical value of
    its column (see the user guide, "Missing values"). A row with no
    observed cell carries no evidence either way: it scores ``offset_``
    (``decision_function`` 0, the boundary), never above the rows that were
    seen. In ``score_samples_per_feature`` a missing cell is 0.

    Thresholds on large tables. ``offset_`` and ``feature_offset_`` are
    computed from the training rows after training, from at most 10 000 of
    them (a random subsample of a larger table, drawn from
    ``random_state``), so that this fixed work of a fit does not grow with
    the table. The ``contamination`` quantile of 10 000 scores is within
    about ``sqrt(c (1 - c) / 10 000)`` of the true quantile's rank: for
    ``c = 0.1``, the share of training rows that ``predict`` flags is 0.1
    +- 0.003 (one standard error). ``partial_fit`` sets them from the rows of
    its own call.

    Sparse input (scipy sparse matrices and arrays, e.g. document-term
    counts with ``likelihood="multinomial"`` to find unusual documents) is
    accepted as ``VAETransformer`` accepts it: densified one mini-batch or
    row chunk at a time, with the scores and labels of the same rows given
    dense. For sparse training rows, ``feature_offset_`` is the column
    medians over a random subsample of the threshold rows holding at most
    ``2**22`` cells (rows times columns; every row for a small matrix), so
    that a wide vocabulary does not make that work grow with it; and
    ``score_samples_per_feature``, whose output is dense, refuses sparse
    input (pass densified slices of rows).

    References
    ----------
    .. [1] An, J. and Cho, S. "Variational Autoencoder based Anomaly
       Detection using Reconstruction Probability", SNU Data Mining Center,
       2015.
    .. [2] Han, S. et al. "ADBench: Anomaly Detection Benchmark", NeurIPS
       2022.

    Examples
    --------
    >>> import numpy as np
    >>> from skvae import VAEAnomalyDetector
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 4))
    >>> detector = VAEAnomalyDetector(max_iter=5, random_state=0).fit(X)
    >>> detector.predict([[0.0, 0.0, 0.0, 0.0], [8.0, -8.0, 8.0, -8.0]])
    array([ 1, -1])
    """

    _parameter_constraints: dict = {
        **BaseVAE._parameter_constraints,
        **BaseVAE._latent_model_constraints,
        **BaseVAE._posterior_regularizer_constraints,
        "contamination": [Interval(Real, 0, 0.5, closed="right")],
        "score_type": [StrOptions({"likelihood", "reconstruction"})],
    }

    def __init__(
        self,
        contamination=0.1,
        score_type="likelihood",
        *,
        n_components=8,
        hidden_layer_sizes="auto",
        likelihood="gaussian",
        categorical_features="from_dtype",
        min_frequency=None,
        max_categories=64,
        prior="normal",
        n_pseudo_inputs="auto",
        n_flows=0,
        n_top_components=None,
        beta=1.0,
        kl_warmup=0,
        free_bits=0.0,
        weight_decay=0.0,
        l1_penalty=0.0,
        adversarial_weight=0.0,
        mmd_weight=0.0,
        tc_weight=0.0,
        consistency_weight=0.0,
        latent_adversarial_weight=0.0,
        spectral_norm=False,
        corruption=0.0,
        dropout="auto",
        n_importance_samples=1,
        trim_fraction=0.2,
        max_iter="auto",
        batch_size="auto",
        learning_rate_init=1e-3,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        shuffle=True,
        warm_start=False,
        n_mc_samples=4,
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
        self.contamination = contamination
        self.score_type = score_type

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the VAE to ``X`` and set the threshold ``offset_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, possibly contaminated with outliers. Missing
            cells (NaN) are left out of the likelihood; a sparse matrix is
            never densified whole and must have no missing cells.
        y : None
            Ignored.

        Returns
        -------
        self : VAEAnomalyDetector
            The fitted estimator.
        """
        return self._fit(X)

    @uses_torch
    def score_samples(self, X):
        """Normality score of each row: higher is more normal.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,), dtype float64
            With ``score_type="likelihood"``, the log-likelihood bound in
            nats on the original scale of the data; with
            ``"reconstruction"``, minus the squared reconstruction error in
            standardized units. A row with missing cells is scored on its
            observed cells, extrapolated to a full row (see Notes).
        """
        X = self._validate_for_inference(X, dtype=np.float64)
        return self._score_samples(X)

    def decision_function(self, X):
        """Shifted score: negative for outliers, positive for inliers.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            ``score_samples(X) - offset_``.
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Label rows as inliers (+1) or outliers (-1).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to label.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            -1 where ``decision_function(X) < 0``, +1 elsewhere.
        """
        return np.where(self.decision_function(X) < 0, -1, 1)

    @uses_torch
    def score_samples_per_feature(self, X):
        """Each column's share of the score, relative to what is usual for it.

        A column's raw share carries a baseline set by its units and by how
        well the model fits it (a column measured in grams scores lower than
        one in metres, even in a normal row), so the raw shares of a row
        would blame the noisiest column rather than the unusual one. Each
        column's share is therefore reported minus ``feature_offset_``, its
        median over the training rows: 0 is a typical value of that column,
        and the most negative entries point at the columns that make a row
        anomalous.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to explain (dense: the output is).

        Returns
        -------
        scores : ndarray of shape (n_samples, n_features), dtype float64
            Minus ``feature_offset_`` of: with ``score_type="likelihood"``,
            each column's expected log-likelihood ``E[log p(x_j | z)]``
            under the normalized importance weights, in nats on the original
            scale (whose row sums equal ``score_samples`` up to the latent
            term ``log p(z) - log q(z | x)``, which is not attributable to a
            column); with ``"reconstruction"``, minus the squared error of
            each column (whose row sums equal ``score_samples``).
        """
        X = self._validate_for_inference(X, dtype=np.float64)
        if _sparse.issparse(X):
            raise TypeError(
                "score_samples_per_feature returns a dense array of shape "
                "(n_samples, n_features), which for sparse input would densify "
                "it whole: pass a slice of the rows densified instead, e.g. "
                "X[rows].toarray()."
            )
        _, per_feature = self._scores_and_per_feature(X)
        # A missing cell says nothing unusual about its row: 0.
        return np.where(np.isnan(X), 0.0, per_feature - self.feature_offset_)

    # max_iter="auto": stop short on large tables (see skvae._budget).
    _auto_budget = TwoRegimeBudget()

    _accepts_sparse = True

    def _fitted_on(self, prepared):
        """``score_type_``, ``offset_`` and ``feature_offset_`` from the
        training rows (at most ``MAX_THRESHOLD_ROWS`` of them, see Notes)."""
        self.score_type_ = self.score_type
        X = bounded_rows(prepared.X, self.noise_seed_).astype(np.float64, copy=False)
        if _sparse.issparse(X):
            # Complete rows; the per-feature scores of a bounded number of
            # cells (their rows a random subsample of X's).
            scores = self._raw_scores(X)
            max_rows = max(1, MAX_SPARSE_OFFSET_CELLS // X.shape[1])
            rows = bounded_rows(X, self.noise_seed_, max_rows)
            self.feature_offset_ = _observed_medians(
                self._scores_and_per_feature(rows)[1]
            )
        else:
            scores, per_feature = self._scores_and_per_feature(X)
            self.feature_offset_ = _observed_medians(per_feature)
        scores = self._extrapolated(scores, X)
        observed = ~_missing(X).all(axis=1)
        if observed.any():
            # A row with nothing observed says nothing about the threshold.
            scores = scores[observed]
        self.offset_ = float(np.percentile(scores, 100.0 * self.contamination))

    def _score_samples(self, X):
        scores = self._extrapolated(self._raw_scores(X), X)
        # No evidence either way: the boundary (see Notes).
        return np.where(_missing(X).all(axis=1), self.offset_, scores)

    def _raw_scores(self, X):
        """The scores on the observed cells of the rows of ``X``, before
        :meth:`_extrapolated`."""
        if self.score_type_ == "reconstruction":
            scores = np.empty(X.shape[0], dtype=np.float64)
            for rows, error in self._reconstruction_chunks(X):
                scores[rows] = np.nansum(error, axis=1)
            return scores
        return self._inference().log_likelihood(X)

    def _extrapolated(self, scores, X):
        """The scores on the observed cells of the rows of ``X`` (the bound
        on the standardized scale, or minus the squared error), extrapolated
        to full rows (see Notes); the bound on the user's scale."""
        if _sparse.issparse(X):  # complete rows
            n_observed = X.shape[1]
        else:
            n_observed = (~np.isnan(X)).sum(axis=1)
        factor = X.shape[1] / np.maximum(n_observed, 1)
        if self.score_type_ == "reconstruction":
            return scores * factor
        # Extrapolate on the standardized scale, where no column's units
        # weigh more than another's, then change variables for a full row.
        return scores * factor - np.log(self.scale_).sum()

    def _scores_and_per_feature(self, X):
        """The score on the observed cells (on the standardized scale) and
        the per-feature scores (before ``feature_offset_``, on the user's
        scale, NaN for missing cells) of ``X``, in one pass."""
        if self.score_type_ == "reconstruction":
            per_feature = self._reconstruction_per_feature(X)
            return np.nansum(per_feature, axis=1), per_feature
        scores = np.empty(X.shape[0], dtype=np.float64)
        per_feature = np.empty(X.shape, dtype=np.float64)
        for rows, x, (bound, weights, p_x_given_z, _) in self._inference().bound_chunks(
            X
        ):
            scores[rows] = bound.cpu().numpy()
            # A row no latent sample explains (bound -inf, e.g. a value far
            # beyond float range) has no importance weights: weigh its
            # samples equally, so that the offending column still shows.
            weights = torch.where(
                torch.isfinite(bound), weights, 1.0 / weights.shape[0]
            )[..., None]  # (k, n_samples, 1)
            # (k, n_samples, n_features): per-feature terms, not re-decoded
            log_px = p_x_given_z.base_dist.log_prob(x)
            terms = torch.where(weights > 0, weights * log_px, 0.0)
            per_feature[rows] = terms.sum(0).cpu().numpy()
        return scores, per_feature - np.log(self.scale_)

    def _reconstruction_per_feature(self, X):
        out = np.empty(X.shape, dtype=np.float64)
        for rows, error in self._reconstruction_chunks(X):
            out[rows] = error
        return out

    def _reconstruction_chunks(self, X):
        """Per chunk of rows of ``X``: the rows and minus the squared error
        of each of their cells (densified one chunk at a time)."""
        model = self._inference()
        vae = model.module_for(X.dtype)
        expansion = vae.expansion
        for rows in model.row_chunks(X.shape[0]):
            x = model.standardized(X[rows], X.dtype)
            # (n_samples, n_features); a categorical cell's is the Brier
            # score of its predicted levels, NaN where missing.
            error = expansion.squared_error(x, vae.decode_mean(vae(x).code()))
            yield rows, -error.cpu().numpy()


def _missing(X):
    """The missing-cell mask of ``X``; none in sparse rows, whose mask is
    only as wide as one column (it broadcasts)."""
    if _sparse.issparse(X):
        return np.zeros((X.shape[0], 1), dtype=bool)
    return np.isnan(X)


def _observed_medians(per_feature):
    """The median of each column's observed (non-NaN) entries; 0 for a
    column with none."""
    medians = np.zeros(per_feature.shape[1])
    for j, column in enumerate(per_feature.T):
        observed = column[~np.isnan(column)]
        if observed.size:
            medians[j] = np.median(observed)
    return medians
