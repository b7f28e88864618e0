"""BaseVAE: hyperparameters, constraints, fit and the shared inference."""

import copy
import math
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing._data import _handle_zeros_in_scale
from sklearn.utils import check_array, check_random_state, gen_batches
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch.callbacks import EarlyStopping
from skorch.dataset import Dataset
from skorch.helper import predefined_split
from torch.torch_version import TorchVersion

from skvae import __version__ as skvae_version
from skvae._noise import row_normal_noise
from skvae._regularizers import build_regularizers
from skvae._torch.bounds import iwae_bound_fixed_noise, kl_to_prior
from skvae._torch.networks import VAE
from skvae._training import (
    EpochProgressBar,
    NonFiniteLossError,
    TensorBatchIterator,
    VAENet,
)

# Rows x importance samples x width evaluated at once at inference: bounds
# memory to a few hundred MB whatever the number of rows.
_INFERENCE_CHUNK_ELEMENTS = 2**23

# Version of the persisted state (see BaseVAE.__getstate__); bump it when the
# layout of the stored weights or attributes changes incompatibly.
_STATE_FORMAT = 1

# Burda et al. (2016): a latent dimension is active when the variance over
# the data of its posterior mean exceeds this.
ACTIVITY_THRESHOLD = 1e-2


# One kernel for all of Adam's parameter updates rather than a Python loop
# over parameters: the update is a third of a small model's step otherwise.
# Fused Adam runs on CPU from torch 2.4; before, the multi-tensor variant.
_ADAM_SPEED_OPTION = (
    {"optimizer__fused": True}
    if TorchVersion(torch.__version__) >= "2.4"
    else {"optimizer__foreach": True}
)


def _resolve_device(device):
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device='cuda' was requested but torch.cuda.is_available() is "
            "False. Use device='cpu' or device='auto'."
        )
    return device


def _auto_hidden_layer_sizes(n_features):
    """The widths of ``hidden_layer_sizes="auto"``: (64, 32) for fewer than
    30 features, (256, 128) from 30 on, the widths that scored best on the
    ADBench datasets of each kind (user guide, "How the defaults were
    chosen")."""
    return (256, 128) if n_features >= 30 else (64, 32)


class BaseVAE(BaseEstimator):
    """Shared base of the VAE estimators. Not for direct use."""

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": [
            StrOptions({"auto"}),
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "likelihood": [StrOptions({"gaussian", "bernoulli"})],
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
        "max_iter": [Interval(Integral, 1, None, closed="left")],
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
        "device": [StrOptions({"cpu", "cuda", "auto"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_components=8,
        *,
        hidden_layer_sizes=(64, 32),
        likelihood="gaussian",
        beta=1.0,
        kl_warmup=0,
        free_bits=0.0,
        weight_decay=0.0,
        l1_penalty=0.0,
        adversarial_weight=0.0,
        corruption=0.0,
        dropout=0.0,
        n_importance_samples=1,
        trim_fraction=0.0,
        max_iter=200,
        batch_size="auto",
        learning_rate_init=1e-3,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        shuffle=True,
        warm_start=False,
        n_mc_samples=16,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.likelihood = likelihood
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
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fit

    def _fit(self, X, partial=False):
        """Train on ``X``; sets every fitted attribute or, on failure, none.

        ``partial=True`` runs one epoch and always continues a fitted model
        (``partial_fit``); otherwise ``warm_start`` decides.
        """
        continue_training = (
            partial or self.warm_start
        ) and self.__sklearn_is_fitted__()
        if not continue_training:
            self._clear_fitted_state()
        try:
            X = validate_data(
                self, X, dtype=[np.float64, np.float32], reset=not continue_training
            )
            self._check_input_range(X)
            self._train(
                X, continue_training, max_epochs=1 if partial else self.max_iter
            )
        except BaseException:
            if not continue_training:
                self._clear_fitted_state()
            raise
        return self

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

    def _check_params(self, n_features):
        """Checks that ``_parameter_constraints`` cannot express; returns
        ``hidden_layer_sizes`` as a tuple of ints ("auto" resolved for
        ``n_features``)."""
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
        if self.free_bits > 0 and self.n_importance_samples > 1:
            raise ValueError(
                "free_bits applies to the ELBO's KL term; it cannot be combined "
                "with importance-weighted training (n_importance_samples > 1)."
            )
        return tuple(int(s) for s in sizes)

    def _check_input_range(self, X):
        if self.likelihood == "bernoulli" and X.size and (X.min() < 0 or X.max() > 1):
            raise ValueError(
                "likelihood='bernoulli' requires every value of X in [0, 1]; got "
                f"values in [{X.min():.4g}, {X.max():.4g}]. Scale the data "
                "(e.g. MinMaxScaler(clip=True), which also keeps new rows in range) "
                "or use likelihood='gaussian'."
            )

    def _clear_fitted_state(self):
        for name in [
            k for k in vars(self) if k.endswith("_") and not k.startswith("_")
        ]:
            delattr(self, name)

    def __sklearn_is_fitted__(self):
        # Only a trained module makes a usable model: n_features_in_ alone,
        # set while validating, does not.
        return hasattr(self, "net_")

    def _train(self, X, continue_training, max_epochs):
        n_samples, n_features = X.shape
        hidden_layer_sizes = self._check_params(n_features)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        if not continue_training:
            self.device_ = _resolve_device(self.device)
            if self.likelihood == "gaussian":
                self.mean_ = X.mean(axis=0, dtype=np.float64)
                self.scale_ = _handle_zeros_in_scale(X.std(axis=0, dtype=np.float64))
            else:
                self.mean_ = np.zeros(n_features)
                self.scale_ = np.ones(n_features)
        X_t = self._standardized_tensor(X, np.float32)

        X_train, X_valid = X_t, None
        if self.early_stopping:
            n_valid = math.ceil(self.validation_fraction * n_samples)
            if n_valid >= n_samples:
                raise ValueError(
                    f"early_stopping needs at least 2 samples to hold out "
                    f"validation_fraction={self.validation_fraction} of them; got "
                    f"n_samples={n_samples}."
                )
            order = torch.from_numpy(rng.permutation(n_samples)).to(self.device_)
            X_valid, X_train = X_t[order[:n_valid]], X_t[order[n_valid:]]

        devices = [torch.device(self.device_)] if self.device_ != "cpu" else []
        with torch.random.fork_rng(devices=devices, device_type="cuda"):
            torch.manual_seed(seed)
            if continue_training:
                net = self.net_
                snapshot = copy.deepcopy(net.module_.state_dict())
            else:
                net = self._make_net(n_features, hidden_layer_sizes)
                net.initialize()
                snapshot = None
            self._configure_net(net, len(X_train), X_valid, max_epochs)
            try:
                net.partial_fit(X_train)
            except NonFiniteLossError as exc:
                if snapshot is not None:
                    net.module_.load_state_dict(snapshot)
                raise ValueError(
                    f"Training diverged: the loss became non-finite ({exc}) in "
                    f"epoch {len(net.history)}. Lower learning_rate_init "
                    f"(now {self.learning_rate_init}), or check X for extreme "
                    "values."
                ) from None
        net.module_.eval()
        self.net_ = net
        self._set_training_record(net, max_epochs)
        # Seed of the Monte Carlo noise of score_samples, which derives each
        # row's draws from this seed and the row itself (see skvae._noise).
        self._score_seed = int(rng.randint(np.iinfo(np.int32).max))
        self._set_latent_diagnostics(X)
        return self

    def _make_net(self, n_features, hidden_layer_sizes):
        return VAENet(
            VAE,
            criterion=torch.nn.Identity,  # unused: get_loss computes the ELBO
            module__n_features=n_features,
            module__hidden_layer_sizes=hidden_layer_sizes,
            module__n_components=self.n_components,
            module__likelihood=self.likelihood,
            module__dropout=self.dropout,
            discriminator_hidden_layer_sizes=(
                hidden_layer_sizes if self.adversarial_weight > 0 else None
            ),
            optimizer=torch.optim.Adam,
            **_ADAM_SPEED_OPTION,
            lr=self.learning_rate_init,
            iterator_train=TensorBatchIterator,
            iterator_valid=TensorBatchIterator,
            device=self.device_,
        )

    def _configure_net(self, net, n_train, X_valid, max_epochs):
        """Set the training settings that may change between warm starts.

        The architecture is fixed once the net exists; the objective,
        batching, stopping rule and validation data follow the current
        hyperparameters and data.
        """
        net.regularizers = build_regularizers(
            beta=self.beta,
            kl_warmup=self.kl_warmup,
            free_bits=self.free_bits,
            weight_decay=self.weight_decay,
            l1_penalty=self.l1_penalty,
            adversarial_weight=self.adversarial_weight,
        )
        if self.adversarial_weight > 0 and not hasattr(net, "discriminator_"):
            raise ValueError(
                "adversarial_weight > 0 needs a discriminator, which the "
                "model fitted with adversarial_weight=0 does not have: refit "
                "with warm_start=False."
            )
        net.corruption = self.corruption
        net.n_importance_samples = self.n_importance_samples
        net.trim_fraction = self.trim_fraction
        net.max_epochs = max_epochs
        net.batch_size = (
            min(128, n_train) if self.batch_size == "auto" else self.batch_size
        )
        net.iterator_train__shuffle = self.shuffle
        net.train_split = (
            None if X_valid is None else predefined_split(Dataset(X_valid))
        )
        net.verbose = int(self.verbose >= 2)
        callbacks = [
            (
                "stopper",
                EarlyStopping(
                    monitor="valid_loss" if self.early_stopping else "train_loss",
                    patience=self.n_iter_no_change,
                    threshold=self.tol,
                    threshold_mode="abs",
                    load_best=self.early_stopping,
                ),
            )
        ]
        if self.verbose == 1:
            callbacks.append(("progress", EpochProgressBar()))
        net.callbacks = callbacks
        net.initialize_callbacks()
        net.set_params(lr=self.learning_rate_init)

    def _set_training_record(self, net, max_epochs):
        """``n_iter_``, ``loss_curve_`` and friends from skorch's history."""
        epochs = [row for row in net.history if "train_loss" in row]
        self.n_iter_ = len(epochs)
        self.loss_curve_ = [row["train_loss"] for row in epochs]
        self.validation_scores_ = None
        self.best_validation_score_ = None
        if self.early_stopping:
            self.validation_scores_ = [-row["valid_loss"] for row in epochs]
            self.best_validation_score_ = max(self.validation_scores_)
        self.discriminator_loss_curve_ = None
        if self.adversarial_weight > 0:
            self.discriminator_loss_curve_ = [
                float(
                    np.mean(
                        [
                            batch["discriminator_loss"]
                            for batch in row["batches"]
                            if "discriminator_loss" in batch
                        ]
                    )
                )
                for row in epochs
            ]
        stopper = dict(net.callbacks_)["stopper"]
        if max_epochs > 1 and stopper.misses_ < stopper.patience:
            warnings.warn(
                f"Stochastic optimizer: maximum iterations ({max_epochs}) "
                "reached and the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=4,
            )

    def _set_latent_diagnostics(self, X):
        """KL per latent dimension and Burda et al.'s activity on ``X``.

        Computed with the float32 training weights: a diagnostic needs no
        float64 exactness, and a float64 pass costs a sizeable share of a
        short fit of a wide model.
        """
        vae = self._vae_for(np.float32)
        with torch.no_grad():
            kl_sum = torch.zeros(self.n_components, dtype=torch.float64)
            locs = []
            for _, x in self._standardized_chunks(X, np.float32):
                q = vae(x)
                kl = kl_to_prior(q)
                kl_sum += kl.sum(0).double().cpu()
                locs.append(q.mean.double().cpu())
        self.kl_per_component_ = (kl_sum / X.shape[0]).numpy()
        activity = torch.cat(locs).var(dim=0, unbiased=False).numpy()
        self.component_activity_ = activity
        self.n_active_components_ = int((activity > ACTIVITY_THRESHOLD).sum())

    # ---------------------------------------------------------- inference

    def _validate_for_inference(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        self._check_input_range(X)
        return X

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
        return vae.eval()

    def _row_chunks(self, n_samples, n_draws):
        width = max(self.n_features_in_, *self.net_.module__hidden_layer_sizes)
        chunk = max(1, _INFERENCE_CHUNK_ELEMENTS // (n_draws * width))
        return gen_batches(n_samples, chunk)

    def _standardized_chunks(self, X, dtype, n_draws=1):
        """(rows, standardized tensor of ``X[rows]`` in ``dtype``) per chunk."""
        for rows in self._row_chunks(X.shape[0], n_draws):
            yield rows, self._standardized_tensor(X[rows], dtype)

    def _score_noise(self, X):
        """Standard-normal draws (n_mc_samples, n_rows, n_components) for the
        rows ``X``: a deterministic function of each row and the seed drawn
        at fit (see ``skvae._noise``)."""
        noise = row_normal_noise(
            X, self._score_seed, self.n_mc_samples, self.n_components
        )
        return self._to_tensor(noise.astype(X.dtype))

    def _log_det_scale(self):
        """log |d x_standardized / d x| summed over features."""
        return -float(np.log(self.scale_).sum())

    def _transform(self, X):
        vae = self._vae_for(X.dtype)
        out = np.empty((X.shape[0], self.n_components), dtype=X.dtype)
        with torch.no_grad():
            for rows, x in self._standardized_chunks(X, X.dtype):
                out[rows] = vae(x).mean.cpu().numpy()
        return out

    def _log_likelihood(self, X):
        """IWAE bound on log p(x) in nats, per row, on the user's scale."""
        vae = self._vae_for(X.dtype)
        out = np.empty(X.shape[0], dtype=np.float64)
        with torch.no_grad():
            for rows, x in self._standardized_chunks(X, X.dtype, self.n_mc_samples):
                noise = self._score_noise(X[rows])
                bound, _, _ = iwae_bound_fixed_noise(vae, x, noise)
                out[rows] = bound.cpu().numpy()
        return out + self._log_det_scale()

    def _decode_mean(self, Z):
        """Decoder mean for latent codes ``Z`` (float64), on the user's scale."""
        vae = self._vae_for(np.float64)
        out = np.empty((Z.shape[0], self.n_features_in_))
        with torch.no_grad():
            for rows in self._row_chunks(Z.shape[0], 1):
                out[rows] = vae.decode_mean(self._to_tensor(Z[rows])).cpu().numpy()
        return out * self.scale_ + self.mean_

    # -------------------------------------------------------------- public

    def score_samples(self, X):
        """Log-likelihood lower bound of each row, in nats.

        The importance-weighted bound (Burda et al., 2016) with
        ``n_mc_samples`` samples (1 gives the beta=1 ELBO), whatever ``beta``
        was used in training. Each row's Monte Carlo draws are a deterministic
        function of the row and of a seed drawn at fit, so a row's score does
        not depend on the other rows it is scored with, and estimation errors
        average out over rows. With the
        Gaussian likelihood the density is that of the original,
        unstandardized features.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,), dtype float64
            Higher means more likely under the model.
        """
        return self._log_likelihood(self._validate_for_inference(X))

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
        if Z.shape[1] != self.n_components:
            raise ValueError(
                f"X has {Z.shape[1]} features, but inverse_transform expects "
                f"n_components={self.n_components} latent features as input."
            )
        return self._decode_mean(Z)

    def sample(self, n_samples=1, random_state=None):
        """Draw new rows from the fitted model.

        Latent codes are drawn from the prior N(0, I), decoded, and a row is
        drawn from p(x | z): Gaussian noise with the learned per-feature
        scale, or 0/1 draws for the Bernoulli likelihood.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to generate.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws; pass an int for reproducible samples.

        Returns
        -------
        X : ndarray of shape (n_samples, `n_features_in_`)
            Generated rows on the original scale of the training data.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(
                f"n_samples must be a positive integer, got {n_samples!r}."
            )
        rng = check_random_state(random_state)
        Z = rng.standard_normal((n_samples, self.n_components))
        vae = self._vae_for(np.float64)
        with torch.no_grad():
            mean = vae.decode_mean(self._to_tensor(Z)).cpu().numpy()
            if self.likelihood == "bernoulli":
                return (rng.uniform(size=mean.shape) < mean).astype(np.float64)
            scale = vae.likelihood.scale().cpu().numpy()
        X_std = mean + scale * rng.standard_normal(mean.shape)
        return X_std * self.scale_ + self.mean_

    # --------------------------------------------------------- persistence

    def __getstate__(self):
        """Plain data only: the torch module is stored as NumPy weights.

        ``pickle``, ``joblib`` and ``skops.io`` thus persist numbers and
        arrays rather than torch objects, a model trained on a GPU loads on a
        CPU-only machine, and skops needs to trust no torch type. The
        optimizer state and skorch's history are not kept: ``warm_start``
        after loading continues from the weights with a fresh optimizer.
        """
        state = dict(super().__getstate__())
        net = state.pop("net_", None)
        if net is not None:
            state["_net_state"] = {
                name: _to_numpy_state(getattr(net, name + "_"))
                for name in ("module", "discriminator")
                if hasattr(net, name + "_")
            }
        state["_skvae_state_format"] = _STATE_FORMAT
        return state

    def __setstate__(self, state):
        state = dict(state)
        state_format = state.pop("_skvae_state_format", None)
        if state_format != _STATE_FORMAT:
            raise ValueError(
                f"Cannot load this {type(self).__name__}: it was saved in state "
                f"format {state_format!r} by an incompatible skvae version, and "
                f"skvae {skvae_version} reads format {_STATE_FORMAT}. Load it "
                "with the skvae version that saved it, or refit it."
            )
        net_state = state.pop("_net_state", None)
        super().__setstate__(state)
        if net_state is None:
            return
        if self.device_ != "cpu" and not torch.cuda.is_available():
            self.device_ = "cpu"
        # Building the net draws initial weights: keep the caller's RNG as is.
        with torch.random.fork_rng(devices=[]):
            net = self._make_net(
                self.n_features_in_, self._check_params(self.n_features_in_)
            )
            net.initialize()
        for name, weights in net_state.items():
            module = getattr(net, name + "_")
            module.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
            module.eval()
        self.net_ = net

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


def _to_numpy_state(module):
    return {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
