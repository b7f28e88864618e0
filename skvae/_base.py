"""BaseVAE: what every VAE estimator shares — the hyperparameters and their
constraints, the all-or-nothing fit, the post-fit hook and the tags.

A fit is a list of steps, each done by the module named for it: validate
the rows (``skvae._validation``), resolve the architecture
(``skvae._architecture``) and the budget (``skvae._budget``), standardize
(``skvae._scaling``), train (``skvae._training``, the only module that knows
skorch), then record what the training call returned and let the estimator
derive its own fitted attributes (:meth:`BaseVAE._fitted_on`). Inference
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
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions

from skvae import _scaling, _sparse
from skvae._architecture import Architecture
from skvae._budget import StepBudget, resolve_budget
from skvae._families import column_families, numeric_levels, numeric_likelihood
from skvae._generative import missing_patterns
from skvae._inference import ACTIVITY_THRESHOLD, InferenceMixin, bounded_rows
from skvae._persistence import from_plain, to_plain
from skvae._runtime import resolve_device, torch_settings
from skvae._torch.likelihoods import LIKELIHOODS
from skvae._training import (
    TrainingSettings,
    make_net,
    net_from_state,
    train,
    validation_split,
)
from skvae._validation import ValidationMixin, user_stacklevel


class BaseVAE(InferenceMixin, ValidationMixin, BaseEstimator):
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
        "prior": [StrOptions({"normal", "vamp"})],
        "n_pseudo_inputs": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "n_flows": [Interval(Integral, 0, None, closed="left")],
        "n_top_components": [Interval(Integral, 1, None, closed="left"), None],
        "beta": [Interval(Real, 0, None, closed="left")],
        "kl_warmup": [Interval(Integral, 0, None, closed="left")],
        "free_bits": [Interval(Real, 0, None, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "l1_penalty": [Interval(Real, 0, None, closed="left")],
        "adversarial_weight": [Interval(Real, 0, None, closed="left")],
        "spectral_norm": ["boolean"],
        "corruption": [Interval(Real, 0, 1, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
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
        prior,
        n_pseudo_inputs,
        n_flows,
        n_top_components,
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
        self.prior = prior
        self.n_pseudo_inputs = n_pseudo_inputs
        self.n_flows = n_flows
        self.n_top_components = n_top_components
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

    # The policy of max_iter="auto" (see skvae._budget).
    _auto_budget = StepBudget()

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

    @property
    def n_components_(self):
        """Latent dimension of the fitted model."""
        return self.architecture_.n_components

    @property
    def hidden_layer_sizes_(self):
        """Widths of the fitted encoder's hidden layers ("auto" resolved)."""
        return self.architecture_.hidden_layer_sizes

    @property
    def likelihood_(self):
        """Likelihood of the fitted network's numeric columns.

        Those of the numeric columns that are not modelled over levels: see
        `column_likelihoods_`.
        """
        return self.architecture_.likelihood

    @property
    def column_likelihoods_(self):
        """The likelihood family of each column, ndarray of str.

        Of shape (n_features_in_,): "categorical", "gaussian", "bernoulli",
        "discrete" (a probability per value seen in fit) or "histogram"
        (point masses at frequent values, a piecewise-uniform density
        elsewhere). See the user guide, "Column likelihoods".
        """
        families = self.architecture_.families or [
            "categorical" if categorical else self.likelihood_
            for categorical in self.is_categorical_
        ]
        return np.array(families, dtype=object)

    @property
    def dropout_(self):
        """Dropout rate the fitted model was trained with."""
        return self.architecture_.dropout

    @property
    def prior_(self):
        """Prior of the fitted model's top latent layer."""
        return self.architecture_.prior

    @property
    def n_pseudo_inputs_(self):
        """Pseudo-inputs of the fitted VampPrior ("auto" resolved), or None."""
        return self.architecture_.n_pseudo_inputs

    @property
    def n_flows_(self):
        """Flow steps of the fitted model's posterior."""
        return self.architecture_.n_flows

    @property
    def n_top_components_(self):
        """Dimension of the fitted model's top latent layer, or None."""
        return self.architecture_.n_top_components

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
        (``partial_fit``); otherwise ``warm_start`` decides. Either way the
        estimator's own fitted attributes follow from :meth:`_fitted_on`.
        ``y`` and ``classes`` are for an estimator that learns from labels
        (see :meth:`_labels_for_fit`).
        """
        continuing = (partial or self.warm_start) and self.__sklearn_is_fitted__()
        if not continuing:
            self._clear_fitted_state()
        try:
            X = self._validate_for_fit(X, reset=not continuing)
            labels = self._labels_for_fit(y, X, reset=not continuing, classes=classes)
            with torch_settings(self.n_jobs, training=True):
                self._train(X, continuing, partial, labels)
        except BaseException:
            if not continuing:
                self._clear_fitted_state()
            raise
        finally:
            if self.__sklearn_is_fitted__():
                # The weights changed (or, after a failed continuation,
                # were put back): so must their inference copy.
                self._refresh_float64_module()
        try:
            with torch_settings(self.n_jobs):
                self._fitted_on(X, labels)
        except BaseException:
            # The network is trained, but what derives from it is missing.
            self._clear_fitted_state()
            raise
        return self

    def _fitted_on(self, X, labels=None):
        """Fitted attributes that derive from the trained model and the
        validated training rows ``X`` (and their ``labels``, see
        :meth:`_labels_for_fit`), after every fit and ``partial_fit``: none
        by default."""

    def _labels_for_fit(self, y, X, *, reset, classes=None):
        """The training labels of the rows ``X`` as class indices (-1 where
        unlabelled, ``classes_`` set when ``reset``), for an estimator that
        learns from labels; None (``y`` ignored) by default."""
        return None

    def _train(self, X, continuing, partial, labels=None):
        """Resolve the architecture and the budget, train, and record the
        outcome as fitted attributes (``n_iter_``, ``loss_curve_``, ...).
        With ``labels`` (see :meth:`_labels_for_fit`) the model is M2,
        semi-supervised over ``classes_``."""
        architecture = self._architecture(X, continuing, labels)
        rng = check_random_state(self.random_state)
        init_seed, train_seed, noise_seed = rng.randint(np.iinfo(np.int32).max, size=3)
        X_train, X_valid, y_train, y_valid = self._training_data(
            X, labels, rng, architecture
        )
        settings = self._training_settings(len(X_train), partial, seed=int(train_seed))
        if continuing:
            net = self.net_
        else:
            net = make_net(
                architecture,
                learning_rate=settings.budget.learning_rate,
                device=self.device_,
                seed=int(init_seed),
                latent_adversarial=settings.latent_adversarial_weight > 0,
            )
        outcome = train(
            net,
            X_train,
            X_valid,
            settings,
            continuing=continuing,
            y_train=y_train,
            y_valid=y_valid,
        )
        self.net_, self.architecture_ = net, architecture
        if LIKELIHOODS[architecture.likelihood].counts and not continuing:
            # What sample() draws: documents of the median training length.
            length = np.median(np.asarray(X.sum(axis=1)).ravel())
            net.module_.likelihood.document_length.fill_(float(length))
        self.batch_size_ = settings.batch_size
        self.noise_seed_ = int(noise_seed)
        self.n_mc_samples_ = self.n_mc_samples
        self._record_training(outcome, X, continuing)
        if outcome.warning is not None:
            warnings.warn(
                outcome.warning, ConvergenceWarning, stacklevel=user_stacklevel()
            )

    def _architecture(self, X, continuing, labels):
        """The architecture to train: the fitted one on a continuation (after
        checking that the parameters still describe it), else the one the
        parameters and ``X`` resolve to, with the device and the
        standardization of a fresh fit."""
        schema = self.schema_
        params = self.get_params()
        if continuing and params["n_pseudo_inputs"] == "auto":
            # "auto" stands for what the first fit resolved it to, whatever
            # the rows of a later call.
            params["n_pseudo_inputs"] = self.architecture_.n_pseudo_inputs or "auto"
        if continuing and numeric_likelihood(params["likelihood"]) == "gaussian":
            # "auto" and dicts stand for what the first fit resolved them to.
            families = self.architecture_.families
        else:
            families = column_families(
                X,
                params["likelihood"],
                self.is_categorical_,
                getattr(self, "feature_names_in_", None),
                table=schema is not None and schema.kind is not None,
            )
        architecture = Architecture.resolve(
            params,
            families=tuple(families),
            numeric_levels=(
                self.architecture_.numeric_levels
                if continuing
                else numeric_levels(X, families)
            ),
            n_features=X.shape[1],
            n_levels=None if schema is None else schema.n_levels,
            level_counts=None if schema is None else schema.level_counts,
            n_rows=None if schema is None else schema.n_rows,
            missing=self._missing_inputs
            or (not _sparse.issparse(X) and bool(np.isnan(X).any())),
            n_classes=0 if labels is None else len(self.classes_),
            n_train=X.shape[0],
        )
        if continuing:
            device = resolve_device(self.device)
            self.architecture_.check_continuation(architecture, device, self.device_)
            return self.architecture_
        self.device_ = resolve_device(self.device)
        if _sparse.issparse(X):
            self.mean_, self.scale_ = _sparse.standardization(
                X, architecture.likelihood
            )
        else:
            self.mean_, self.scale_ = _scaling.standardization(
                X,
                architecture.likelihood,
                architecture.over_levels,
            )
        return architecture

    def _training_data(self, X, labels, rng, architecture):
        """``(X_train, X_valid, y_train, y_valid)``: the standardized float32
        rows (and label codes) on the device, with ``validation_fraction``
        of them held out (drawn from ``rng``) for early stopping. Sparse
        rows stay sparse, standardized one batch at a time
        (``skvae._sparse.SparseRows``)."""
        if _sparse.issparse(X):
            X_train = _sparse.SparseRows(
                X, self.mean_, self.scale_, np.float32, self.device_
            )
        else:
            X_train = _scaling.standardized_tensor(
                X, self.mean_, self.scale_, np.float32, self.device_
            )
        y_train = None
        if labels is not None:
            y_train = torch.as_tensor(labels, dtype=torch.int64, device=self.device_)
        if not self.early_stopping:
            return X_train, None, y_train, None
        if labels is None:
            return (
                *validation_split(X_train, self.validation_fraction, rng),
                None,
                None,
            )
        return validation_split(X_train, self.validation_fraction, rng, y_train)

    def _training_settings(self, n_train, partial, seed, **resolved):
        """The typed settings of a training call on ``n_train`` rows; an
        estimator adds the fields it resolves itself as ``resolved``."""
        batch_size = min(128, n_train) if self.batch_size == "auto" else self.batch_size
        budget = resolve_budget(
            self.max_iter,
            self.learning_rate_init,
            math.ceil(n_train / batch_size),
            self._auto_budget,
            partial=partial,
        )
        return TrainingSettings.from_params(
            self.get_params(),
            batch_size=batch_size,
            budget=budget,
            seed=seed,
            epoch_offset=getattr(self, "n_iter_", 0),
            n_train=n_train,
            **resolved,
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
        with torch_settings(self.n_jobs):
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
