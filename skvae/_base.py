"""BaseVAE: the hyperparameters, fit and the inference both estimators share."""

import copy
import math
import os
import sys
import warnings
from abc import abstractmethod
from numbers import Integral, Real

import numpy as np
import sklearn
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_array, check_random_state, gen_batches
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from skvae import __version__ as skvae_version
from skvae._noise import row_normal_noise
from skvae._objective import Objective, importance_weighted_bound
from skvae._persistence import (
    STATE_FORMAT,
    net_from_state,
    net_state,
    restore_state,
    snapshot_state,
)
from skvae._runtime import resolve_device, torch_settings
from skvae._tables import TableSchema, is_dataframe, resolve_categorical
from skvae._torch.distributions import rsample
from skvae._torch.likelihoods import LIKELIHOODS
from skvae._training import (
    NonFiniteLossError,
    configure_net,
    make_net,
    stopped_early,
)

# Rows x importance samples x width evaluated at once at inference: bounds
# memory to a few hundred MB whatever the number of rows.
_INFERENCE_CHUNK_ELEMENTS = 2**23

# Where warnings should not point (see _user_stacklevel).
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_SKLEARN_DIR = os.path.dirname(os.path.abspath(sklearn.__file__)) + os.sep

# Burda et al. (2016): a latent dimension is active when the variance over
# the data of its posterior mean exceeds this.
ACTIVITY_THRESHOLD = 1e-2

# max_iter="auto": gradient steps of the training budget, and the most
# epochs that it may take (a table of a few rows would otherwise run
# thousands of one-step epochs). See ``BaseVAE._training_budget``.
AUTO_STEPS = 3000
AUTO_MAX_EPOCHS = 1000


class BaseVAE(BaseEstimator):
    """Shared base of the VAE estimators. Not for direct use."""

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": [
            StrOptions({"auto"}),
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "likelihood": [StrOptions(set(LIKELIHOODS))],
        "categorical_features": [StrOptions({"from_dtype"}), "array-like", None],
        "beta": [Interval(Real, 0, None, closed="left")],
        "kl_warmup": [Interval(Integral, 0, None, closed="left")],
        "free_bits": [Interval(Real, 0, None, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "l1_penalty": [Interval(Real, 0, None, closed="left")],
        "adversarial_weight": [Interval(Real, 0, None, closed="left")],
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

    @abstractmethod
    def __init__(
        self,
        *,
        n_components,
        hidden_layer_sizes,
        likelihood,
        categorical_features,
        beta,
        kl_warmup,
        free_bits,
        weight_decay,
        l1_penalty,
        adversarial_weight,
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
        self.beta = beta
        self.kl_warmup = kl_warmup
        self.free_bits = free_bits
        self.weight_decay = weight_decay
        self.l1_penalty = l1_penalty
        self.adversarial_weight = adversarial_weight
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

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one epoch on ``X``, continuing from the current model.

        For data that do not fit in memory: call it on successive chunks
        (e.g. slices of a ``numpy.memmap``). The input scaling is fixed by the
        first call, so the first chunk should be representative.

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

    def score_samples(self, X):
        """Log-likelihood lower bound of each row, in nats.

        The importance-weighted bound (Burda et al., 2016) with
        ``n_mc_samples`` samples (1 gives the beta=1 ELBO), whatever ``beta``
        was used in training. Each row's Monte Carlo draws are a deterministic
        function of the row and of a seed drawn at fit, so a row's score does
        not depend on the other rows it is scored with, and estimation errors
        average out over rows. With the Gaussian likelihood the density is
        that of the original, unstandardized features.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,), dtype float64
            Higher means more likely under the model.
        """
        X = self._validate_for_inference(X, dtype=np.float64)
        with torch_settings(self.n_jobs):
            return self._log_likelihood(X)

    def inverse_transform(self, X):
        """Decode latent codes into the mean of p(x | z), in input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Latent codes, e.g. the output of ``transform``.

        Returns
        -------
        X_original : ndarray of shape (n_samples, `n_features_in_`)
            The decoder's mean: feature values on the original scale for the
            Gaussian likelihood, probabilities for the Bernoulli one.
        """
        check_is_fitted(self)
        Z = check_array(X, dtype=np.float64, input_name="X")
        if Z.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {Z.shape[1]} features, but inverse_transform expects "
                f"n_components_={self.n_components_} latent features as input."
            )
        vae = self._vae_for(np.float64)
        out = np.empty((Z.shape[0], self.n_features_in_))
        with torch_settings(self.n_jobs):
            for rows in self._row_chunks(Z.shape[0]):
                mean = vae.decode_mean(self._to_tensor(Z[rows]))
                out[rows] = vae.expansion.collapse(mean).cpu().numpy()
        return self._to_user(out * self.scale_ + self.mean_)

    def sample(self, n_samples=1, random_state=None, *, include_missing=False):
        """Draw new rows from the fitted model.

        Latent codes are drawn from the prior N(0, I), decoded, and a row is
        drawn from p(x | z): Gaussian noise with the learned per-feature
        scale, 0/1 draws for the Bernoulli likelihood, a level for a
        categorical column. Rows are generated in chunks of bounded size, so
        memory does not grow beyond the result.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to generate.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws; pass an int for reproducible samples.
        include_missing : bool, default=False
            Blank cells as the training data had them: each generated row
            takes the pattern of missing cells of a training row drawn at
            random (so the rate of each column and the patterns across
            columns are the training data's, independent of the values).
            False gives complete rows.

        Returns
        -------
        X : ndarray or DataFrame of shape (n_samples, `n_features_in_`)
            Generated rows on the original scale of the training data: a
            DataFrame in the training table's column types when fitted on
            one (see the user guide, "Tables with categories and missing
            values").
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(
                f"n_samples must be a positive integer, got {n_samples!r}."
            )
        rng = check_random_state(random_state)
        seed = rng.randint(np.iinfo(np.int32).max)
        generator = torch.Generator(device=self.device_).manual_seed(int(seed))
        vae = self._vae_for(np.float64)
        out = np.empty((n_samples, self.n_features_in_))
        with torch_settings(self.n_jobs):
            for rows in self._row_chunks(n_samples):
                prior = vae.prior().expand((rows.stop - rows.start,))
                decoded = vae.decoder(rsample(prior, (), generator))
                out[rows] = vae.likelihood.sample(decoded, generator).cpu().numpy()
        out = out * self.scale_ + self.mean_
        if include_missing:
            patterns, counts = self._missing_patterns
            chosen = rng.choice(len(patterns), size=n_samples, p=counts / counts.sum())
            out[patterns[chosen]] = np.nan
        return self._to_user(out)

    def __getstate__(self):
        """Plain data only (see ``skvae._persistence``): weights and
        optimizer state as NumPy arrays, so that ``pickle``, ``joblib`` and
        ``skops.io`` store no torch object and training continues after
        loading exactly as without the round trip."""
        state = dict(super().__getstate__())
        if state.get("_schema") is not None:
            state["_schema"] = state["_schema"].to_state()
            # The schema's own levels, which can be pandas objects (intervals):
            # stored once, as plain data, in the schema's state.
            state.pop("categories_", None)
        net = state.pop("net_", None)
        if net is not None:
            state["_net_state"] = net_state(net)
        state["_skvae_state_format"] = STATE_FORMAT
        return state

    def __setstate__(self, state):
        state = dict(state)
        state_format = state.pop("_skvae_state_format", None)
        if state_format != STATE_FORMAT:
            raise ValueError(
                f"Cannot load this {type(self).__name__}: it was saved in state "
                f"format {state_format!r} by an incompatible skvae version, and "
                f"skvae {skvae_version} reads format {STATE_FORMAT}. Load it "
                "with the skvae version that saved it, or refit it."
            )
        net_state = state.pop("_net_state", None)
        if state.get("_schema") is not None:
            state["_schema"] = TableSchema.from_state(state["_schema"])
            state["categories_"] = state["_schema"].categories
        super().__setstate__(state)
        if net_state is None:
            return
        if self.device_ != "cpu" and not torch.cuda.is_available():
            self.device_ = "cpu"
        self.net_ = net_from_state(net_state, self.device_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Missing cells are modelled, not refused: the bound counts the
        # observed cells of a row (infinity is still an error).
        tags.input_tags.allow_nan = True
        return tags

    def __sklearn_is_fitted__(self):
        # Only a trained module makes a usable model: n_features_in_ alone,
        # set while validating, does not.
        return hasattr(self, "net_")

    # ------------------------------------------------------------ training

    def _fit(self, X, partial=False):
        """Train on ``X``; sets every fitted attribute or, on failure, none
        (a failed continuation keeps the previous model).

        ``partial=True`` runs one epoch and always continues a fitted model
        (``partial_fit``); otherwise ``warm_start`` decides.
        """
        continue_training = (
            partial or self.warm_start
        ) and self.__sklearn_is_fitted__()
        if not continue_training:
            self._clear_fitted_state()
        try:
            X = self._validate_rows(X, reset=not continue_training)
            self._check_support(X, self.likelihood)
            with torch_settings(self.n_jobs, training=True):
                self._train(X, continue_training, partial)
        except BaseException:
            if not continue_training:
                self._clear_fitted_state()
            raise
        try:
            self._fitted_on(X)
        except BaseException:
            # The network is trained, but what derives from it is missing.
            self._clear_fitted_state()
            raise
        return self

    def _fitted_on(self, X):
        """Fitted attributes derived from the trained model and the
        validated training rows ``X``: none by default."""

    def _train(self, X, continue_training, partial):
        n_samples, n_features = X.shape
        architecture = self._architecture(n_features)
        objective = Objective(
            beta=self.beta,
            kl_warmup=self.kl_warmup,
            free_bits=self.free_bits,
            n_importance_samples=self.n_importance_samples,
            trim_fraction=self.trim_fraction,
        )
        rng = check_random_state(self.random_state)
        init_seed, train_seed, score_seed = rng.randint(np.iinfo(np.int32).max, size=3)
        missing = bool(np.isnan(X).any())
        if continue_training:
            self._check_architecture(architecture)
            if missing and not self.net_.module__missing:
                raise ValueError(
                    "X has missing values (NaN), but the fitted model was trained "
                    "on complete rows and its encoder has no inputs for missing "
                    "cells: warm_start and partial_fit cannot add them. Refit "
                    "with warm_start=False on data with missing values."
                )
        else:
            self.device_ = resolve_device(self.device)
            self.mean_, self.scale_ = _standardization(
                X, architecture["likelihood"], self.is_categorical_
            )
        X_train = self._standardized_tensor(X, np.float32)
        X_valid = None
        if self.early_stopping:
            n_valid = math.ceil(self.validation_fraction * n_samples)
            if n_valid >= n_samples:
                raise ValueError(
                    f"early_stopping needs at least 2 samples to hold out "
                    f"validation_fraction={self.validation_fraction} of them; got "
                    f"n_samples={n_samples}."
                )
            order = torch.from_numpy(rng.permutation(n_samples)).to(self.device_)
            X_valid, X_train = X_train[order[:n_valid]], X_train[order[n_valid:]]
        batch_size = (
            min(128, len(X_train)) if self.batch_size == "auto" else self.batch_size
        )
        if partial:
            # One epoch on the chunk at learning_rate_init, whatever its size:
            # a budget is for a whole fit.
            max_epochs, learning_rate, tol_rule = 1, self.learning_rate_init, True
        else:
            max_epochs, learning_rate, tol_rule = self._training_budget(
                math.ceil(len(X_train) / batch_size)
            )

        if continue_training:
            net, snapshot = self.net_, snapshot_state(self.net_)
        else:
            net, snapshot = (
                make_net(
                    n_features=n_features,
                    **architecture,
                    adversarial=self.adversarial_weight > 0,
                    learning_rate=learning_rate,
                    device=self.device_,
                    missing=missing,
                    n_levels=self._n_levels(),
                    seed=int(init_seed),
                ),
                None,
            )
        configure_net(
            net,
            self.get_params(),
            objective=objective,
            batch_size=batch_size,
            X_valid=X_valid,
            max_epochs=max_epochs,
            learning_rate=learning_rate,
            tol_rule=tol_rule,
            epoch_offset=self.n_iter_ if continue_training else 0,
            seed=int(train_seed),
        )
        try:
            net.partial_fit(X_train)
        except NonFiniteLossError as exc:
            restore_state(net, snapshot)
            raise ValueError(
                f"Training diverged: the loss became non-finite ({exc}) in "
                f"epoch {net.epoch_}. Lower learning_rate_init "
                f"(now {self.learning_rate_init}), or check X for extreme "
                "values."
            ) from None
        epochs = [row for row in net.history if "train_loss" in row]
        interrupted = len(epochs) < max_epochs and not stopped_early(net)
        if interrupted and not epochs:
            # Ctrl-C before the first epoch ended (skorch swallows it): no
            # trained model to keep.
            restore_state(net, snapshot)
            raise KeyboardInterrupt
        net.module_.eval()

        self.net_ = net
        for name, value in architecture.items():
            setattr(self, name + "_", value)
        self.batch_size_ = batch_size
        self._record_training(epochs, continue_training)
        self._score_seed = int(score_seed)
        self._n_mc_samples = self.n_mc_samples
        self._record_missing_patterns(X, continue_training)
        self._set_latent_diagnostics(X)
        if interrupted:
            warnings.warn(
                f"Training was interrupted after {len(epochs)} of {max_epochs} "
                "epochs; the model is the one trained so far.",
                ConvergenceWarning,
                stacklevel=_user_stacklevel(),
            )
        elif (
            not partial
            and self.max_iter != "auto"
            and len(epochs) == max_epochs
            and not stopped_early(net)
        ):
            warnings.warn(
                f"Stochastic optimizer: maximum iterations ({max_epochs}) "
                "reached and the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=_user_stacklevel(),
            )

    def _training_budget(self, steps_per_epoch):
        """How training with ``steps_per_epoch`` mini-batches per epoch runs:
        ``(max_epochs, learning_rate, tol_rule)``, where ``tol_rule`` says
        whether ``tol`` and ``n_iter_no_change`` may stop it sooner.

        An integer ``max_iter`` is a number of epochs at
        ``learning_rate_init``, with the ``tol`` rule. "auto" is a budget of
        gradient steps rather than of passes over the data: about
        ``AUTO_STEPS``, so that training costs the same on a large table as
        on a small one and a small table is not left after a few hundred
        steps, at most ``AUTO_MAX_EPOCHS`` epochs and at least one; the
        budget is the stopping rule.
        """
        if self.max_iter != "auto":
            return self.max_iter, self.learning_rate_init, True
        epochs = min(AUTO_MAX_EPOCHS, max(1, round(AUTO_STEPS / steps_per_epoch)))
        return epochs, self.learning_rate_init, False

    def _architecture(self, n_features):
        """The architecture the hyperparameters ask for, resolved for
        ``n_features`` ("auto" widths), after the checks that
        ``_parameter_constraints`` cannot express."""
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, str):  # "auto", the only string allowed
            sizes = _auto_hidden_layer_sizes(n_features)
        sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
        if not sizes or not all(
            isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in sizes
        ):
            raise ValueError(
                "hidden_layer_sizes must be a non-empty sequence of positive "
                f"integers, got {self.hidden_layer_sizes!r}."
            )
        return {
            "n_components": self.n_components,
            "hidden_layer_sizes": tuple(int(s) for s in sizes),
            "likelihood": self.likelihood,
            "dropout": self.dropout,
        }

    def _check_architecture(self, architecture):
        """A continuation must find the fitted network as the
        hyperparameters describe it, on the device they name."""
        architecture = {**architecture, "device": resolve_device(self.device)}
        for name, value in architecture.items():
            fitted = getattr(self, name + "_")
            if value != fitted:
                raise ValueError(
                    f"{name}={value!r} differs from the fitted model's "
                    f"{name}_={fitted!r}: warm_start and partial_fit continue the "
                    "fitted network and cannot change its architecture or "
                    "device. Set "
                    f"{name} back, or refit with warm_start=False."
                )

    def _record_training(self, epochs, continue_training):
        """``n_iter_``, ``loss_curve_`` and friends, extended on warm starts."""

        def extend(name, values):
            previous = getattr(self, name, None) if continue_training else None
            return (previous or []) + values

        self.loss_curve_ = extend("loss_curve_", [row["train_loss"] for row in epochs])
        self.n_iter_ = len(self.loss_curve_)
        self.validation_scores_ = self.best_validation_score_ = None
        if self.early_stopping:
            self.validation_scores_ = extend(
                "validation_scores_", [-row["valid_loss"] for row in epochs]
            )
            self.best_validation_score_ = max(self.validation_scores_)
        self.discriminator_loss_curve_ = None
        if self.adversarial_weight > 0:
            self.discriminator_loss_curve_ = extend(
                "discriminator_loss_curve_",
                [
                    float(np.mean([b["discriminator_loss"] for b in row["batches"]]))
                    for row in epochs
                ],
            )

    def _record_missing_patterns(self, X, continue_training):
        """The distinct patterns of missing cells of the training rows and
        how many rows have each, counted over every training call (what
        ``sample(include_missing=True)`` draws from)."""
        patterns, counts = np.unique(np.isnan(X), axis=0, return_counts=True)
        if continue_training:
            seen, seen_counts = self._missing_patterns
            patterns, inverse = np.unique(
                np.concatenate([seen, patterns]), axis=0, return_inverse=True
            )
            counts = np.bincount(
                inverse.ravel(), weights=np.concatenate([seen_counts, counts])
            ).astype(np.int64)
        self._missing_patterns = (patterns, counts)

    def _set_latent_diagnostics(self, X):
        """KL per latent dimension and Burda et al.'s activity on ``X``.

        Computed with the float32 training weights: a diagnostic needs no
        float64 exactness, and a float64 pass costs a sizeable share of a
        short fit of a wide model.
        """
        vae = self._vae_for(np.float32)
        kl_sum = torch.zeros(self.n_components_, dtype=torch.float64)
        locs = []
        with torch.no_grad():
            for rows in self._row_chunks(X.shape[0]):
                q = vae(self._standardized_tensor(X[rows], np.float32))
                kl = torch.distributions.kl_divergence(
                    q.base_dist, vae.prior().base_dist
                )
                kl_sum += kl.sum(0).double().cpu()
                locs.append(q.mean.double().cpu())
        self.kl_per_component_ = (kl_sum / X.shape[0]).numpy()
        activity = torch.cat(locs).var(dim=0, unbiased=False).numpy()
        self.component_activity_ = activity
        self.n_active_components_ = int((activity > ACTIVITY_THRESHOLD).sum())

    def _clear_fitted_state(self):
        for name in [
            k for k in vars(self) if k.endswith("_") and not k.startswith("_")
        ]:
            delattr(self, name)

    # ----------------------------------------------------------- inference

    def _validate_for_inference(self, X, dtype=(np.float64, np.float32)):
        """Validated rows of ``X`` in ``dtype``; scores use float64 whatever
        the input, so that extreme values cannot overflow float32."""
        check_is_fitted(self)
        X = self._validate_rows(X, reset=False, dtype=dtype)
        self._check_support(X, self.likelihood_)
        return X

    def _validate_rows(self, X, *, reset, dtype=(np.float64, np.float32)):
        """The matrix the network reads (see ``skvae._tables``).

        An array of numbers is validated as scikit-learn estimators do (a
        float32 one stays float32). A DataFrame, or an array with
        ``categorical_features``, goes through the ``TableSchema`` learnt at
        fit: numeric cells as float64 numbers, categorical cells as level
        codes, NaN where missing.
        """
        schema = None if reset else self._schema
        explicit = self.categorical_features is not None and not isinstance(
            self.categorical_features, str
        )
        if (reset and not is_dataframe(X) and not explicit) or (
            not reset and schema is None
        ):
            X = validate_data(
                self, X, dtype=dtype, ensure_all_finite="allow-nan", reset=reset
            )
            if reset:
                self._schema = None
                self.is_categorical_ = np.zeros(self.n_features_in_, dtype=bool)
                self.categories_ = []
            return self._mark_missing(X)
        if is_dataframe(X):
            validate_data(self, X, skip_check_array=True, reset=reset)
        else:
            X = validate_data(self, X, dtype=None, ensure_all_finite=False, reset=reset)
        if reset:
            is_categorical = resolve_categorical(
                X,
                self.categorical_features,
                getattr(self, "feature_names_in_", None),
                self.n_features_in_,
            )
            schema = TableSchema(X, is_categorical)
        X_encoded, unseen = schema.encode(X)
        if unseen:
            warnings.warn(
                f"Found levels not seen in fit in categorical columns {unseen}; "
                "they are treated as missing cells.",
                UserWarning,
                stacklevel=_user_stacklevel(),
            )
        # A float32 array stays float32, as it does without categories.
        float32 = getattr(X, "dtype", None) == np.float32 and np.float32 in (
            dtype if isinstance(dtype, tuple) else (dtype,)
        )
        X_encoded = check_array(
            X_encoded,
            dtype=np.float32 if float32 else np.float64,
            ensure_all_finite="allow-nan",
            estimator=self,
            input_name="X",
        )
        if reset:
            self.is_categorical_ = schema.is_categorical
            self.categories_ = schema.categories
        X_encoded = self._mark_missing(X_encoded)
        if reset:
            self._schema = schema.fit_ranges(X_encoded)
        return X_encoded

    def _mark_missing(self, X):
        """The validated rows with every missing cell as NaN (a hook for an
        estimator with another placeholder; never writes into ``X``)."""
        return X

    def _n_levels(self):
        """Levels per column, 0 for a numeric one."""
        return None if self._schema is None else self._schema.n_levels

    def _to_user(self, values):
        """Decoded rows in the user's column types (see ``TableSchema``)."""
        return values if self._schema is None else self._schema.decode(values)

    def _check_support(self, X, likelihood):
        support = LIKELIHOODS[likelihood].support
        if support is None:
            return
        observed = X[:, ~self.is_categorical_]
        observed = observed[~np.isnan(observed)]
        if not observed.size:
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

    def _standardized_tensor(self, X, dtype):
        """``(X - mean_) / scale_`` as a new tensor in ``dtype``.

        Computed in float64 in one new array, which the tensor then shares
        (``X`` itself, maybe a read-only memmap, is only read).
        """
        out = np.subtract(X, self.mean_, dtype=np.float64)
        out /= self.scale_
        return torch.from_numpy(out.astype(dtype, copy=False)).to(self.device_)

    def _to_tensor(self, X):
        # torch.tensor copies: read-only inputs (memmaps) stay untouched.
        return torch.tensor(X, device=self.device_)

    def _vae_for(self, dtype):
        """The trained module in ``dtype``: a float64 copy for float64 input,
        so that inference is exact to float64 precision and does not depend
        on the batch a row is in."""
        vae = self.net_.module_
        if dtype == np.float64:
            vae = copy.deepcopy(vae).double()
            # Bounds count the observed cells of a row, whatever the training.
            vae.observed_only = True
        return vae.eval()

    def _row_chunks(self, n_samples, n_draws=1):
        width = max(self.net_.module_.expansion.n_outputs, *self.hidden_layer_sizes_)
        chunk = max(1, _INFERENCE_CHUNK_ELEMENTS // (n_draws * width))
        return gen_batches(n_samples, chunk)

    def _bound_chunks(self, X):
        """Per chunk of rows of the float64 ``X``: the rows, their
        standardized tensor and the importance-weighted bound terms (see
        :func:`~skvae._objective.importance_weighted_bound`), with each row's
        Monte Carlo noise derived from the row and the seed drawn at fit
        (see ``skvae._noise``)."""
        vae = self._vae_for(np.float64)
        for rows in self._row_chunks(X.shape[0], self._n_mc_samples):
            x = self._standardized_tensor(X[rows], np.float64)
            noise = row_normal_noise(
                X[rows], self._score_seed, self._n_mc_samples, self.n_components_
            )
            yield rows, x, importance_weighted_bound(vae, x, self._to_tensor(noise))

    def _log_likelihood(self, X):
        """IWAE bound on log p(x) in nats, per row, on the user's scale."""
        out = np.empty(X.shape[0], dtype=np.float64)
        for rows, _, samples in self._bound_chunks(X):
            out[rows] = samples.bound.cpu().numpy()
        # log |d x_standardized / d x|, summed over features.
        return out - self._log_jacobian(X)

    def _log_jacobian(self, X):
        """log |d x / d x_standardized| of each row of ``X``: the sum of
        ``log(scale_)`` over the row's observed cells (the change of
        variables from the standardized density to the user's scale)."""
        log_scale = np.log(self.scale_)
        missing = np.isnan(X)
        if not missing.any():
            return log_scale.sum()
        return np.where(missing, 0.0, log_scale).sum(axis=1)

    def _transform(self, X):
        vae = self._vae_for(X.dtype)
        out = np.empty((X.shape[0], self.n_components_), dtype=X.dtype)
        for rows in self._row_chunks(X.shape[0]):
            q = vae(self._standardized_tensor(X[rows], X.dtype))
            out[rows] = q.mean.cpu().numpy()
        return out


def _auto_hidden_layer_sizes(n_features):
    """The widths of ``hidden_layer_sizes="auto"``: (64, 32) for fewer than
    30 features, (256, 128) from 30 on, the widths that scored best on the
    ADBench datasets of each kind (user guide, "How the defaults were
    chosen")."""
    return (256, 128) if n_features >= 30 else (64, 32)


def _standardization(X, likelihood, is_categorical):
    """``mean_`` and ``scale_`` of the internal standardization.

    Columns are standardized for a likelihood that asks for it, with
    ``StandardScaler``'s statistics of each column divided by its largest
    absolute value: neither the mean nor the variance can then overflow
    (values near 1e200 square to infinity), and a column counts as constant
    only when its variance is within the rounding error of its mean, whatever
    its scale (a spread of 1e-18 is a spread). A constant column is scaled by
    its absolute value (by 1 when it is all zeros). Categorical columns (level
    codes) keep mean 0 and scale 1.
    """
    n_features = X.shape[1]
    mean, scale = np.zeros(n_features), np.ones(n_features)
    if not LIKELIHOODS[likelihood].standardize:
        return mean, scale
    # Missing cells (NaN) are left out, as StandardScaler does; a column
    # with no observed cell keeps mean 0 and scale 1.
    seen = ~np.isnan(X).all(axis=0) & ~is_categorical
    if seen.any():
        X = X[:, seen]
        peak = np.abs(np.nan_to_num(X, nan=0.0)).max(axis=0).astype(np.float64)
        peak[peak == 0] = 1.0
        scaler = StandardScaler().fit(X / peak)
        mean[seen], scale[seen] = scaler.mean_ * peak, scaler.scale_ * peak
    return mean, scale


def _user_stacklevel():
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
