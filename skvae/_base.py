"""BaseVAE: what every VAE estimator shares — the hyperparameters and their
constraints, the all-or-nothing fit, the post-fit hook and the tags.

A fit is a list of steps, each done by the module named for it: validate
the rows (``skvae._validation``), resolve the architecture
(``skvae._architecture``) and the budget (``skvae._budget``), standardize
(``skvae._scaling``), train (``skvae._training``, the only module that knows
skorch). Each step returns its part of one :class:`PreparedFit`, which
``BaseVAE._fit`` turns into fitted attributes in one place once training
succeeded; the estimator then derives its own (:meth:`BaseVAE._fitted_on`).
Inference
goes through ``skvae._inference``, generation through ``skvae._generative``
and persistence through ``skvae._persistence``.

One rule for fitted state: everything that determines what the model
computes is resolved at fit into fitted attributes (names ending in ``_``),
and inference and loading read those only. The hyperparameters read live
after fit are ``n_jobs`` (threads) and ``verbose``.
"""

import math
import warnings
from abc import abstractmethod
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions

from skvae import _scaling, _sparse
from skvae._architecture import Architecture, FittedArchitectureMixin
from skvae._budget import EpochBudget, StepBudget, resolve_budget
from skvae._families import column_families, numeric_levels, numeric_likelihood
from skvae._generative import missing_patterns
from skvae._inference import (
    ACTIVITY_THRESHOLD,
    InferenceMixin,
    bounded_rows,
    inference_copy,
)
from skvae._persistence import from_plain, to_plain
from skvae._runtime import resolve_device, torch_settings
from skvae._torch.likelihoods import LIKELIHOODS
from skvae._training import (
    TrainingSettings,
    make_net,
    net_from_state,
    train,
    trained_module,
    validation_split,
)
from skvae._validation import ValidationMixin, column_types, user_stacklevel


@dataclass(frozen=True)
class PreparedFit:
    """What the steps before training resolved for one fit call, in the
    order a row meets them; ``BaseVAE._fit`` makes the fitted attributes of
    it once training succeeded.

    Attributes
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        The validated training rows (missing cells NaN, categorical cells
        as level codes).
    schema : TableSchema or None
        The table schema (``schema_``); None for an array of numbers.
    labels : FitLabels or None
        What the labels resolved to (see ``BaseVAE._labels_for_fit``).
    architecture : Architecture
        The architecture to train (``architecture_``).
    standardization : tuple of (str, ndarray, ndarray)
        The device and the columns' mean and scale (``device_``,
        ``mean_``, ``scale_``).
    init_seed, noise_seed : int
        Seeds of the initial weights and of the per-row Monte Carlo noise
        (``noise_seed_``).
    held_out : object or None
        What the estimator held out of training (see ``BaseVAE._hold_out``).
    X_train, X_valid, y_train, y_valid : Tensor or None
        The standardized rows (and label codes) to train and validate on.
    settings : TrainingSettings
        The settings of the training call.
    """

    X: object
    schema: object
    labels: object
    architecture: Architecture
    standardization: tuple
    init_seed: int
    noise_seed: int
    held_out: object
    X_train: object
    X_valid: object
    y_train: object
    y_valid: object
    settings: TrainingSettings


def _standardization(X, architecture):
    """``(mean, scale)`` of the columns of the training rows ``X`` (see
    ``skvae._scaling``)."""
    if _sparse.issparse(X):
        return _sparse.standardization(X, architecture.likelihood)
    return _scaling.standardization(
        X, architecture.likelihood, architecture.over_levels
    )


class BaseVAE(InferenceMixin, ValidationMixin, FittedArchitectureMixin, BaseEstimator):
    """Shared base of the VAE estimators. Not for direct use."""

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": [
            StrOptions({"auto"}),
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "likelihood": [StrOptions(set(LIKELIHOODS) | {"auto"}), dict],
        "categorical_features": [StrOptions({"from_dtype"}), "array-like", None],
        # OneHotEncoder's declarations of the same names.
        "min_frequency": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="neither"),
            None,
        ],
        "max_categories": [Interval(Integral, 1, None, closed="left"), None],
        "beta": [Interval(Real, 0, None, closed="left")],
        "kl_warmup": [Interval(Integral, 0, None, closed="left")],
        "free_bits": [Interval(Real, 0, None, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "l1_penalty": [Interval(Real, 0, None, closed="left")],
        "adversarial_weight": [Interval(Real, 0, None, closed="left")],
        "spectral_norm": ["boolean"],
        "corruption": [Interval(Real, 0, 1, closed="left")],
        "dropout": [StrOptions({"auto"}), Interval(Real, 0, 1, closed="left")],
        "n_importance_samples": [Interval(Integral, 1, None, closed="left")],
        "trim_fraction": [Interval(Real, 0, 0.5, closed="left")],
        "max_iter": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "shuffle": ["boolean"],
        "warm_start": ["boolean"],
        "n_mc_samples": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
        "device": [StrOptions({"cpu", "cuda", "auto"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # The latent models beyond the textbook VAE that VAETransformer,
    # VAEAnomalyDetector and VAEImputer add to these (not VAEClassifier: M2
    # has the standard normal prior and a Gaussian posterior).
    _latent_model_constraints: dict = {
        "prior": [StrOptions({"normal", "vamp"})],
        "n_pseudo_inputs": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "n_flows": [Interval(Integral, 0, None, closed="left")],
        "n_top_components": [Interval(Integral, 1, None, closed="left"), None],
    }

    # The regularizers of q(z | x) that VAETransformer, VAEAnomalyDetector
    # and VAEImputer add to these (not VAEClassifier: its M2 posterior
    # q(z | x, y) also depends on the class).
    _posterior_regularizer_constraints: dict = {
        name: [Interval(Real, 0, None, closed="left")]
        for name in (
            "mmd_weight",
            "tc_weight",
            "consistency_weight",
            "latent_adversarial_weight",
        )
    }

    @abstractmethod
    def __init__(
        self,
        *,
        n_components,
        hidden_layer_sizes,
        likelihood,
        categorical_features,
        min_frequency,
        max_categories,
        beta,
        kl_warmup,
        free_bits,
        weight_decay,
        l1_penalty,
        adversarial_weight,
        spectral_norm,
        corruption,
        dropout,
        n_importance_samples,
        trim_fraction,
        max_iter,
        batch_size,
        learning_rate_init,
        tol,
        n_iter_no_change,
        early_stopping,
        validation_fraction,
        shuffle,
        warm_start,
        n_mc_samples,
        n_jobs,
        device,
        random_state,
        verbose,
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.likelihood = likelihood
        self.categorical_features = categorical_features
        self.min_frequency = min_frequency
        self.max_categories = max_categories
        self.beta = beta
        self.kl_warmup = kl_warmup
        self.free_bits = free_bits
        self.weight_decay = weight_decay
        self.l1_penalty = l1_penalty
        self.adversarial_weight = adversarial_weight
        self.spectral_norm = spectral_norm
        self.corruption = corruption
        self.dropout = dropout
        self.n_importance_samples = n_importance_samples
        self.trim_fraction = trim_fraction
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.warm_start = warm_start
        self.n_mc_samples = n_mc_samples
        self.n_jobs = n_jobs
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # The policy of max_iter="auto" (see skvae._budget), and the one that
    # replaces it for a topic model, whatever the estimator.
    _auto_budget = StepBudget()
    _topic_budget = EpochBudget()

    # Whether scipy sparse rows are accepted (see skvae._sparse).
    _accepts_sparse = False

    # Whether the encoder reads a missing-cell mask even when the training
    # rows are complete (otherwise only when they have missing cells).
    _missing_inputs = False

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one epoch on ``X``, continuing from the current model.

        For data that do not fit in memory: call it on successive chunks
        (e.g. slices of a ``numpy.memmap``, or the partitions of a Dask
        DataFrame through ``dask_ml.wrappers.Incremental``: see "Out-of-core
        fits" in the documentation). The input scaling, the column types and
        the levels are fixed by the first call, so the first chunk should be
        representative.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A chunk of training data.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit(X, partial=True)

    def __getstate__(self):
        """Plain data only (see ``skvae._persistence``): the float64 copy of
        the weights is made again on loading."""
        # A copy: object.__getstate__ returns the live __dict__.
        state = dict(super().__getstate__())
        state.pop("_float64_module", None)
        return to_plain(state)

    def __setstate__(self, state):
        state, net_state = from_plain(state, type(self).__name__)
        super().__setstate__(state)
        if net_state is None:
            return
        if self.device_ != "cpu" and not torch.cuda.is_available():
            self.device_ = "cpu"
        self.net_ = net_from_state(net_state, self.architecture_, self.device_)
        self._refresh_float64_module()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if tags.transformer_tags is not None:
            # transform computes in the input's float dtype.
            tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        # Missing cells are modelled, not refused: the bound counts the
        # observed cells of a row (infinity is still an error).
        tags.input_tags.allow_nan = True
        categorical = self.categorical_features
        tags.input_tags.sparse = (
            self._accepts_sparse
            and (categorical is None or isinstance(categorical, str))
            and not isinstance(self.likelihood, dict)
        )
        return tags

    def __sklearn_is_fitted__(self):
        # Only a trained net makes a usable model: n_features_in_ alone,
        # set while validating, does not.
        return hasattr(self, "net_")

    # ------------------------------------------------------------ training

    def _fit(self, X, partial=False, y=None, classes=None):
        """Train on ``X``; sets every fitted attribute or, on failure, none
        (a failed continuation keeps the previous model).

        ``partial=True`` runs one epoch and always continues a fitted model
        (``partial_fit``); otherwise ``warm_start`` decides. ``y`` and
        ``classes`` are for an estimator that learns from labels (see
        :meth:`_labels_for_fit`). The steps before training return what
        they resolve in one :class:`PreparedFit`, which becomes the fitted
        attributes here, once training succeeded; the estimator then
        derives its own from it (:meth:`_fitted_on`).
        """
        continuing = (partial or self.warm_start) and self.__sklearn_is_fitted__()
        if not continuing:
            self._clear_fitted_state()
        try:
            with torch_settings(self.n_jobs, training=True):
                prepared = self._prepare_fit(X, y, classes, continuing, partial)
                net = self.net_ if continuing else _new_net(prepared)
                outcome = train_prepared(net, prepared, continuing)
        except BaseException:
            if continuing:
                # The weights are the previous model's again (or moved before
                # the failure): so must their inference copy be.
                self._refresh_float64_module()
            else:
                self._clear_fitted_state()
            raise
        return self._end_fit(prepared, net, outcome, continuing)

    def _begin_fit(self, X, y=None):
        """``(prepared, net)``: a fresh fit on ``X`` up to training, its
        :class:`PreparedFit` and its untrained net, for a caller that trains
        the net itself and then calls :meth:`_end_fit` (a stack of fits,
        ``skvae.model_selection``). Validates the parameters as ``fit``
        does."""
        self._validate_params()
        self._clear_fitted_state()
        with torch_settings(self.n_jobs, training=True):
            prepared = self._prepare_fit(X, y, None, False, False)
            return prepared, _new_net(prepared)

    def _end_fit(self, prepared, net, outcome, continuing=False):
        """The fitted attributes of the trained ``net`` of ``prepared``,
        whose training call ended as ``outcome`` (a ``TrainingOutcome``)."""
        if LIKELIHOODS[prepared.architecture.likelihood].counts and not continuing:
            _set_document_length(net, prepared.X)
        self.schema_ = prepared.schema
        self.is_categorical_, self.categories_ = column_types(
            prepared.schema, self.n_features_in_
        )
        if prepared.labels is not None:
            self.classes_ = prepared.labels.classes
            self.class_prior_ = prepared.labels.class_prior
            self.classification_weight_ = prepared.labels.classification_weight
        self.device_, self.mean_, self.scale_ = prepared.standardization
        self.net_, self.architecture_ = net, prepared.architecture
        self.batch_size_ = prepared.settings.batch_size
        self.noise_seed_ = prepared.noise_seed
        self.n_mc_samples_ = self.n_mc_samples
        self._float64_module = inference_copy(trained_module(net))
        try:
            with torch_settings(self.n_jobs):
                self._record_training(outcome, prepared.X, continuing)
                if outcome.warning is not None:
                    warnings.warn(
                        outcome.warning,
                        ConvergenceWarning,
                        stacklevel=user_stacklevel(),
                    )
                self._fitted_on(prepared)
        except BaseException:
            # The network is trained, but what derives from it is missing.
            self._clear_fitted_state()
            raise
        return self

    def _prepare_fit(self, X, y, classes, continuing, partial):
        """What a training call on ``X`` (and labels ``y``) needs, each step
        returning its part: the validated rows and schema, the labels, the
        architecture, the device and standardization, the seeds, the rows
        held out of training and the training and validation tensors."""
        reset = not continuing
        X, schema = self._validate_for_fit(X, reset=reset)
        labels = self._labels_for_fit(y, X, reset=reset, classes=classes)
        architecture = _architecture(self, X, schema, labels, continuing)
        if continuing:
            standardization = (self.device_, self.mean_, self.scale_)
        else:
            standardization = (
                resolve_device(self.device),
                *_standardization(X, architecture),
            )
        rng = check_random_state(self.random_state)
        init_seed, train_seed, noise_seed = rng.randint(np.iinfo(np.int32).max, size=3)
        X_fit, held_out = self._hold_out(X, architecture, rng)
        X_train, X_valid, y_train, y_valid = _training_tensors(
            X_fit,
            labels,
            standardization,
            rng,
            self.early_stopping,
            self.validation_fraction,
        )
        settings = self._training_settings(
            len(X_train), partial, int(train_seed), labels
        )
        return PreparedFit(
            X=X,
            schema=schema,
            labels=labels,
            architecture=architecture,
            standardization=standardization,
            init_seed=int(init_seed),
            noise_seed=int(noise_seed),
            held_out=held_out,
            X_train=X_train,
            X_valid=X_valid,
            y_train=y_train,
            y_valid=y_valid,
            settings=settings,
        )

    def _fitted_on(self, prepared):
        """Fitted attributes that derive from the trained model and the fit
        call's :class:`PreparedFit` (its validated rows ``X``, its labels,
        what was held out), after every fit and ``partial_fit``: none by
        default."""

    def _labels_for_fit(self, y, X, *, reset, classes=None):
        """What the training labels of the rows ``X`` resolve to, for an
        estimator that learns from labels (a
        ``skvae.semi_supervised._labels.FitLabels``); None (``y`` ignored) by
        default."""
        return None

    def _hold_out(self, X, architecture, rng):
        """``(X_fit, held_out)``: the rows to train on and what the
        estimator holds out of training for its own calibration, drawn from
        ``rng`` (none by default)."""
        return X, None

    def _training_settings(self, n_train, partial, seed, labels=None):
        """The typed settings of a training call on ``n_train`` rows, with
        the classification term's weight and the class prior of ``labels``
        (see :meth:`_labels_for_fit`)."""
        batch_size = min(128, n_train) if self.batch_size == "auto" else self.batch_size
        topic_model = LIKELIHOODS[numeric_likelihood(self.likelihood)].topic_model
        budget = resolve_budget(
            self.max_iter,
            self.learning_rate_init,
            math.ceil(n_train / batch_size),
            self._topic_budget if topic_model else self._auto_budget,
            partial=partial,
        )
        m2 = {}
        if labels is not None:
            m2["classification_weight"] = labels.classification_weight
            m2["class_prior"] = tuple(labels.class_prior.tolist())
        return TrainingSettings.from_params(
            self.get_params(),
            batch_size=batch_size,
            budget=budget,
            seed=seed,
            epoch_offset=getattr(self, "n_iter_", 0),
            n_train=n_train,
            **m2,
        )

    def _record_training(self, outcome, X, continuing):
        """What a training call on ``X`` leaves to see: ``n_iter_``,
        ``loss_curve_`` and friends (extended on warm starts), the patterns
        of missing cells, and the latent diagnostics."""

        def extend(name, values):
            previous = getattr(self, name, None) if continuing else None
            return None if values is None else (previous or []) + values

        self.loss_curve_ = extend("loss_curve_", outcome.loss_curve)
        self.n_iter_ = len(self.loss_curve_)
        losses = outcome.validation_losses
        scores = None if losses is None else [-loss for loss in losses]
        self.validation_scores_ = extend("validation_scores_", scores)
        self.best_validation_score_ = (
            None if scores is None else max(self.validation_scores_)
        )
        self.discriminator_loss_curve_ = extend(
            "discriminator_loss_curve_", outcome.discriminator_loss_curve
        )
        previous = self.missing_patterns_ if continuing else None
        patterns = _sparse.missing_patterns if _sparse.issparse(X) else missing_patterns
        self.missing_patterns_ = patterns(X, previous)
        rows = bounded_rows(X, self.noise_seed_)
        kl, activity = self._inference().latent_diagnostics(rows)
        self.kl_per_component_ = kl
        self.component_activity_ = activity
        self.n_active_components_ = int((activity > ACTIVITY_THRESHOLD).sum())

    def _clear_fitted_state(self):
        for name in [
            k for k in vars(self) if k.endswith("_") and not k.startswith("_")
        ]:
            delattr(self, name)
        vars(self).pop("_float64_module", None)


def _training_tensors(
    X, labels, standardization, rng, early_stopping, validation_fraction
):
    """``(X_train, X_valid, y_train, y_valid)``: the rows ``X`` standardized
    by ``standardization`` (device, mean, scale) as float32 tensors on the
    device, with the class indices of ``labels``, and ``validation_fraction``
    of them held out (drawn from ``rng``) with ``early_stopping``. Sparse
    rows stay sparse, standardized one batch at a time
    (``skvae._sparse.SparseRows``)."""
    device, mean, scale = standardization
    if _sparse.issparse(X):
        X_train = _sparse.SparseRows(X, mean, scale, np.float32, device)
    else:
        X_train = _scaling.standardized_tensor(X, mean, scale, np.float32, device)
    y_train = None
    if labels is not None:
        y_train = torch.as_tensor(labels.codes, dtype=torch.int64, device=device)
    if not early_stopping:
        return X_train, None, y_train, None
    if labels is None:
        return (*validation_split(X_train, validation_fraction, rng), None, None)
    return validation_split(X_train, validation_fraction, rng, y_train)


def _new_net(prepared):
    """The untrained net of a fresh fit."""
    settings = prepared.settings
    return make_net(
        prepared.architecture,
        learning_rate=settings.budget.learning_rate,
        device=prepared.standardization[0],
        seed=prepared.init_seed,
        latent_adversarial=settings.latent_adversarial_weight > 0,
    )


def train_prepared(net, prepared, continuing):
    """Train ``net`` on the tensors of ``prepared`` (see ``skvae._training``)."""
    return train(
        net,
        prepared.X_train,
        prepared.X_valid,
        prepared.settings,
        continuing=continuing,
        y_train=prepared.y_train,
        y_valid=prepared.y_valid,
    )


def _set_document_length(net, X):
    """What ``sample`` draws from a count model: documents of the median
    length of the training rows ``X``."""
    length = np.median(np.asarray(X.sum(axis=1)).ravel())
    net.module_.likelihood.document_length.fill_(float(length))


def _architecture(estimator, X, schema, labels, continuing):
    """The architecture that ``estimator`` trains: the fitted one on a
    continuation (after checking that the parameters still describe it),
    else the one the parameters, the rows ``X`` and their ``schema``
    resolve to."""
    params = estimator.get_params()
    if continuing and params.get("n_pseudo_inputs") == "auto":
        # "auto" stands for what the first fit resolved it to, whatever
        # the rows of a later call.
        params["n_pseudo_inputs"] = estimator.architecture_.n_pseudo_inputs or "auto"
    if continuing and numeric_likelihood(params["likelihood"]) == "gaussian":
        # "auto" and dicts stand for what the first fit resolved them to.
        families = estimator.architecture_.families
    else:
        families = column_families(
            X,
            params["likelihood"],
            column_types(schema, X.shape[1])[0],
            getattr(estimator, "feature_names_in_", None),
            table=schema is not None and schema.kind is not None,
        )
    architecture = Architecture.resolve(
        params,
        families=tuple(families),
        numeric_levels=(
            estimator.architecture_.numeric_levels
            if continuing
            else numeric_levels(X, families)
        ),
        n_features=X.shape[1],
        n_levels=None if schema is None else schema.n_levels,
        level_counts=None if schema is None else schema.level_counts,
        n_rows=None if schema is None else schema.n_rows,
        missing=estimator._missing_inputs
        or (not _sparse.issparse(X) and bool(np.isnan(X).any())),
        n_classes=0 if labels is None else len(labels.classes),
        n_train=X.shape[0],
    )
    if not continuing:
        return architecture
    device = resolve_device(estimator.device)
    estimator.architecture_.check_continuation(architecture, device, estimator.device_)
    return estimator.architecture_
