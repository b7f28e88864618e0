"""Training: the skorch net that trains a VAE. The only module that knows skorch.

skorch provides the training loop, callbacks (early stopping, progress,
gradient clipping), history and device handling. We customize it only at
its documented hooks: ``initialize_module`` and ``initialize_optimizer`` add
the discriminator and its optimizer, ``train_step_single`` corrupts the
input and runs the model, ``get_loss`` is the objective plus the
regularizers' penalties, and ``train_step`` steps the VAE's optimizer once
and then lets each regularizer take its own step (skorch's default would
call every registered optimizer with the same closure, re-running the
batch).

The estimators see three things: :func:`make_net` builds a net for an
:class:`~skvae._architecture.Architecture`; :func:`train` trains it under a
:class:`TrainingSettings` (where the objective and the regularizers are
built together, from typed arguments) and returns a
:class:`TrainingOutcome`; :func:`trained_module` is the VAE that inference
uses. They never read skorch's history or its callbacks' state: what they
need of a training call is in the outcome.
"""

import copy
import dataclasses
import math
import re
import sys
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping, PrintLog
from skorch.dataset import Dataset, unpack_data
from skorch.helper import predefined_split
from skorch.utils import TeeGenerator

from skvae._architecture import Architecture
from skvae._budget import Budget
from skvae._objective import Objective
from skvae._regularizers import (
    build_regularizers,
    check_gaussian_posterior,
    mask_cells,
)
from skvae._torch.networks import VAE, Discriminator, LatentDiscriminator
from skvae._torch.optim import LeanAdam
from skvae.semi_supervised._network import M2
from skvae.semi_supervised._objective import LabelledRows, M2Objective

# The net's attributes whose state is the trained model (when present).
STATEFUL = (
    "module_",
    "optimizer_",
    "discriminator_",
    "optimizer_discriminator_",
    "latent_discriminator_",
    "optimizer_latent_discriminator_",
)


def adam_speed_options(device: str) -> dict:
    """Adam's ``fused`` or ``foreach`` option for parameters on ``device``.

    One kernel for all of Adam's parameter updates rather than a Python
    loop over parameters: the update is a third of a small model's step
    otherwise. Fused where torch has a fused Adam for the device (CPU from
    torch 2.4, CUDA before); elsewhere the multi-tensor variant.
    """
    try:  # private, and absent from some torch versions: then ask no kernel
        from torch.utils._foreach_utils import _get_fused_kernels_supported_devices

        fused_devices = _get_fused_kernels_supported_devices()
    except ImportError:
        fused_devices = []
    if torch.device(device).type in fused_devices:
        return {"fused": True, "foreach": None}
    return {"fused": None, "foreach": True}


class NonFiniteLossError(FloatingPointError):
    """Raised inside the training loop when a batch's loss is NaN or inf."""


class TensorBatchIterator:
    """Mini-batches sliced from an in-memory tensor, as (input, target) pairs.

    skorch's default ``DataLoader`` indexes the dataset row by row and
    collates the rows again, which costs more than the forward pass of a
    small MLP. This iterator, passed as skorch's ``iterator_train`` /
    ``iterator_valid``, takes one permutation per epoch from ``generator``
    and slices whole batches. The target of a row is the row itself, or,
    when the dataset has labels (semi-supervised training), a
    :class:`~skvae.semi_supervised._objective.LabelledRows` of the rows and their
    labels (-1 where unlabelled).
    """

    def __init__(
        self,
        dataset: Dataset,  # X a tensor, or skvae._sparse.SparseRows
        batch_size: int,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        max_batches: int | None = None,
    ) -> None:
        self.X = dataset.X  # (n_samples, n_features) tensor
        self.labels = dataset.y  # (n_samples,) int64 tensor or None
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        # An epoch of at most this many batches (a budget of gradient steps
        # smaller than one pass over a large table).
        self.max_batches = max_batches

    def __len__(self) -> int:
        n_batches = math.ceil(len(self.X) / self.batch_size)
        return (
            n_batches if self.max_batches is None else min(n_batches, self.max_batches)
        )

    def __iter__(self):
        n_samples = len(self.X)
        stop = min(n_samples, len(self) * self.batch_size)
        if self.shuffle:
            order = torch.randperm(
                n_samples, generator=self.generator, device=self.X.device
            )
            for start in range(0, stop, self.batch_size):
                yield self._batch(order[start : start + self.batch_size])
        else:
            for start in range(0, stop, self.batch_size):
                yield self._batch(slice(start, start + self.batch_size))

    def _batch(self, rows):
        batch = self.X[rows]
        if self.labels is None:
            return batch, batch
        return batch, LabelledRows(batch, self.labels[rows])


class ProgressBar(Callback):
    """A tqdm bar over mini-batches with the epoch, the last epoch's loss
    and the time left (``verbose=1``).

    It advances every batch, not every epoch: on a large table one epoch
    can take minutes, and a bar that moves once per epoch looks stalled.
    Its total assumes every epoch runs; early stopping closes it sooner.
    """

    def on_train_begin(self, net, X=None, **kwargs):
        from tqdm.auto import tqdm

        n_batches = math.ceil(len(X) / net.batch_size)
        cap = getattr(net, "iterator_train__max_batches", None)
        n_batches = n_batches if cap is None else min(n_batches, cap)
        self.bar_ = tqdm(
            total=net.max_epochs * n_batches,
            unit="batch",
            desc=f"epoch 1/{net.max_epochs}",
        )

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.bar_.update()

    def on_epoch_end(self, net, **kwargs):
        postfix = {"loss": f"{net.history[-1, 'train_loss']:.4f}"}
        if "valid_loss" in net.history[-1]:
            postfix["valid_loss"] = f"{net.history[-1, 'valid_loss']:.4f}"
        self.bar_.set_description(
            f"epoch {min(len(net.history) + 1, net.max_epochs)}/{net.max_epochs}",
            refresh=False,
        )
        self.bar_.set_postfix(postfix)

    def on_train_end(self, net, **kwargs):
        self.bar_.close()


_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def _print_table(text: str) -> None:
    """skorch's per-epoch table, in colour on a terminal only: escape codes
    would litter a log file or a CI log."""
    if not (hasattr(sys.stdout, "isatty") and sys.stdout.isatty()):
        text = _ANSI_ESCAPE.sub("", text)
    print(text, flush=True)


class VAENet(NeuralNet):
    """skorch ``NeuralNet`` whose loss is the objective plus regularizers.

    Parameters beyond ``NeuralNet``'s
    ----------------------------------
    objective : Objective
        The negative likelihood bound (see :mod:`skvae._objective`).
    regularizers : list of Regularizer
        Additive penalties (see :mod:`skvae._regularizers`).
    corruption : float
        Fraction of input entries set to zero (masking noise) in training.
    generator : torch.Generator
        Source of every random draw of training: initial weights, dropout,
        shuffling, latent samples, corruption and the regularizers' draws.
    discriminator_hidden_layer_sizes : tuple of int or None
        Widths of the discriminator; None builds no discriminator.
    latent_discriminator_hidden_layer_sizes : tuple of int or None
        Widths of the discriminator on the latent codes (the adversary of
        ``latent_adversarial_weight``); None builds none.
    spectral_norm : bool
        Whether the discriminators' linear layers are spectrally normalized.
    epoch_offset : int
        Epochs trained before this call (warm starts): the objective's
        warm-up counts from the first epoch of the model, not of the call.
    """

    def __init__(
        self,
        module,
        *args,
        objective=None,
        regularizers=(),
        corruption=0.0,
        generator=None,
        discriminator_hidden_layer_sizes=None,
        latent_discriminator_hidden_layer_sizes=None,
        spectral_norm=False,
        epoch_offset=0,
        **kwargs,
    ):
        super().__init__(module, *args, **kwargs)
        self.latent_discriminator_hidden_layer_sizes = (
            latent_discriminator_hidden_layer_sizes
        )
        self.objective = objective
        self.regularizers = list(regularizers)
        self.corruption = corruption
        self.generator = generator
        self.discriminator_hidden_layer_sizes = discriminator_hidden_layer_sizes
        self.spectral_norm = spectral_norm
        self.epoch_offset = epoch_offset

    @property
    def _default_callbacks(self):
        # PrintLog formats its table on every epoch even when it prints
        # nothing, a few percent of an epoch on a small data set: keep it for
        # verbose output only.
        return [
            (name, PrintLog(sink=_print_table) if name == "print_log" else callback)
            for name, callback in super()._default_callbacks
            if name != "print_log" or self.verbose
        ]

    def initialize_callbacks(self):
        super().initialize_callbacks()
        # skorch notifies on_grad_computed after every backward pass; when no
        # callback implements it (the usual case, e.g. without gradient
        # clipping) the call is skipped.
        self.grad_listeners_ = type(self).on_grad_computed is not (
            NeuralNet.on_grad_computed
        ) or any(
            type(cb).on_grad_computed is not Callback.on_grad_computed
            for _, cb in self.callbacks_
        )
        return self

    @property
    def epoch_(self) -> int:
        """The current (1-based) epoch of the model; skorch adds the
        history row of an epoch when it begins."""
        return self.epoch_offset + max(len(self.history), 1)

    def initialize_module(self):
        super().initialize_module()
        if self.discriminator_hidden_layer_sizes is not None:
            self.discriminator_ = Discriminator(
                self.module_.expansion,
                self.discriminator_hidden_layer_sizes,
                self.generator,
                spectral_norm=self.spectral_norm,
            ).to(self.device)
        if self.latent_discriminator_hidden_layer_sizes is not None:
            self.latent_discriminator_ = LatentDiscriminator(
                self.module_.n_components,
                self.latent_discriminator_hidden_layer_sizes,
                self.generator,
                spectral_norm=self.spectral_norm,
            ).to(self.device)
        return self

    def initialize_optimizer(self, *args, **kwargs):
        named_params = self.module_.named_parameters()
        args, kwargs = self.get_params_for_optimizer("optimizer", named_params)
        self.optimizer_ = self.optimizer(*args, **kwargs)
        if self.discriminator_hidden_layer_sizes is not None:
            # beta1 = 0.5 is the usual choice for GAN discriminators (DCGAN).
            self.optimizer_discriminator_ = torch.optim.Adam(
                self.discriminator_.parameters(), lr=self.lr, betas=(0.5, 0.999)
            )
        if self.latent_discriminator_hidden_layer_sizes is not None:
            self.optimizer_latent_discriminator_ = torch.optim.Adam(
                self.latent_discriminator_.parameters(), lr=self.lr, betas=(0.5, 0.999)
            )
        return self

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The loss of the posterior ``y_pred`` for the clean rows ``y_true``.

        Training: the objective plus every regularizer's penalty.
        Validation: the negative beta=1 ELBO, a likelihood bound comparable
        across hyperparameters. With labels, ``y_pred`` is q(y | X) and
        ``y_true`` the clean rows with their labels (``LabelledRows``).
        """
        if not training:
            return self.objective.validation_loss(
                self.module_, y_pred, y_true, self.generator
            )
        extra = {"inputs": X} if isinstance(y_true, LabelledRows) else {}
        loss = self.objective(
            self.module_,
            y_pred,
            y_true,
            epoch=self.epoch_,
            generator=self.generator,
            **extra,
        )
        rows = _rows(y_true)
        for regularizer in self.regularizers:
            loss = loss + regularizer.penalty(self.module_, rows)
        return loss

    def train_step_single(self, batch, **fit_params):
        if not self.module_.training:
            # skorch sets the mode on every batch; walking the module tree
            # each time costs ~5% of a small model's step.
            self._set_training(True)
        x, target = unpack_data(batch)
        if self.corruption > 0:
            # Masking noise: the encoder sees a damaged row, the loss asks
            # for the clean one (denoising, Vincent et al., 2008).
            x = mask_cells(x, self.corruption, self.module_.expansion, self.generator)
        q = self.infer(x, **fit_params)
        loss = self.get_loss(q, target, X=x, training=True)
        value = loss.item()
        if not math.isfinite(value):
            raise NonFiniteLossError(value)
        loss.backward()
        return {"loss": loss, "y_pred": q}

    def train_step(self, batch, **fit_params):
        self.optimizer_.zero_grad()
        step = self.train_step_single(batch, **fit_params)
        if self.grad_listeners_:
            self.notify(
                "on_grad_computed",
                named_parameters=TeeGenerator(self.module_.named_parameters()),
                batch=batch,
                training=True,
            )
        self.optimizer_.step()
        _, target = unpack_data(batch)
        for regularizer in self.regularizers:
            for name, value in regularizer.step(_rows(target)).items():
                self.history.record_batch(name, value)
        return step


def _rows(target):
    """The clean rows of a batch's target."""
    return target.rows if isinstance(target, LabelledRows) else target


def make_net(
    architecture: Architecture,
    *,
    learning_rate: float,
    device: str,
    seed: int,
    latent_adversarial: bool = False,
) -> VAENet:
    """An initialized :class:`VAENet` for ``architecture`` on ``device``, its
    initial weights drawn from a generator seeded with ``seed``: a
    :class:`~skvae._torch.networks.VAE`, or an
    :class:`~skvae.semi_supervised._network.M2` when the architecture has
    classes; with a discriminator on its codes when ``latent_adversarial``
    (the encoder's widths, drawn after every other weight)."""
    generator = torch.Generator(device=device).manual_seed(seed)
    a = architecture
    if a.n_classes:
        latent = {"module__n_classes": a.n_classes}
    else:
        latent = dict(
            module__prior=a.prior,
            module__n_pseudo_inputs=a.n_pseudo_inputs or 0,
            module__n_flows=a.n_flows,
            module__n_top_components=a.n_top_components or 0,
        )
    net = VAENet(
        M2 if a.n_classes else VAE,
        **latent,
        criterion=torch.nn.Identity,  # unused: get_loss is the objective
        module__n_features=a.n_features,
        module__hidden_layer_sizes=a.hidden_layer_sizes,
        module__n_components=a.n_components,
        module__likelihood=a.likelihood,
        module__dropout=a.dropout,
        module__generator=generator,
        module__missing=a.missing,
        module__n_levels=a.n_levels,
        module__infrequent=a.infrequent,
        module__numeric_levels=a.numeric_levels,
        module__unobserved=getattr(a, "unobserved", None),
        generator=generator,
        discriminator_hidden_layer_sizes=(
            a.hidden_layer_sizes if a.adversarial else None
        ),
        latent_discriminator_hidden_layer_sizes=(
            a.hidden_layer_sizes if latent_adversarial else None
        ),
        spectral_norm=getattr(a, "spectral_norm", False),
        optimizer=LeanAdam,
        **{
            f"optimizer__{key}": value
            for key, value in adam_speed_options(device).items()
            if value
        },
        lr=learning_rate,
        iterator_train=TensorBatchIterator,
        iterator_train__generator=generator,
        iterator_valid=TensorBatchIterator,
        device=device,
    )
    return net.initialize()


@dataclass(frozen=True)
class TrainingSettings:
    """Everything a training call needs besides the net and the data.

    The fields up to ``verbose`` are the estimators' hyperparameters of the
    same names (the objective's, the regularizers', then the training
    loop's); ``batch_size`` is the resolved one, ``budget`` the
    resolved :class:`~skvae._budget.Budget`, ``seed`` seeds every draw of
    the call and ``epoch_offset`` counts the epochs trained before it (the
    KL warm-up continues across warm starts). ``classification_weight`` is
    the weight of the classification term of semi-supervised training (see
    :class:`~skvae.semi_supervised._objective.M2Objective`) and ``class_prior`` its
    p(y), set on the model by the call; both unused without labels.
    ``mmd_weight``, ``tc_weight``, ``consistency_weight`` and
    ``latent_adversarial_weight`` are the hyperparameters of the estimators
    that have them (0, off, for the others), and ``n_train`` the number of
    training rows of the call (the total correlation's estimate needs it).
    """

    beta: float
    kl_warmup: int
    free_bits: float
    n_importance_samples: int
    trim_fraction: float
    weight_decay: float
    l1_penalty: float
    adversarial_weight: float
    corruption: float
    shuffle: bool
    early_stopping: bool
    n_iter_no_change: int
    tol: float
    verbose: int
    batch_size: int
    budget: Budget
    seed: int
    epoch_offset: int = 0
    classification_weight: float = 0.0
    class_prior: tuple[float, ...] | None = None
    mmd_weight: float = 0.0
    tc_weight: float = 0.0
    consistency_weight: float = 0.0
    n_train: int = 0
    latent_adversarial_weight: float = 0.0

    @classmethod
    def from_params(cls, params: dict, **resolved) -> "TrainingSettings":
        """The settings of an estimator whose ``get_params()`` is ``params``,
        with the fields resolved for the call (``batch_size``, ``budget``,
        ``seed``, ``epoch_offset``) given by name."""
        # A field with a default that neither gives keeps its default.
        names = [
            f.name
            for f in dataclasses.fields(cls)
            if f.name not in resolved
            and (f.name in params or f.default is dataclasses.MISSING)
        ]
        return cls(**{name: params[name] for name in names}, **resolved)


class TrainingOutcome(NamedTuple):
    """What a training call did, per epoch run."""

    loss_curve: list[float]
    validation_losses: list[float] | None  # with early stopping
    discriminator_loss_curve: list[float] | None  # with a discriminator
    max_epochs: int
    stopped_early: bool  # by the tol rule or early stopping
    interrupted: bool  # by Ctrl-C, after len(loss_curve) of max_epochs epochs
    warning: str | None  # for a ConvergenceWarning: why training did not finish


def train(
    net: VAENet,
    X_train: torch.Tensor,
    X_valid: torch.Tensor | None,
    settings: TrainingSettings,
    *,
    continuing: bool,
    y_train: torch.Tensor | None = None,
    y_valid: torch.Tensor | None = None,
) -> TrainingOutcome:
    """Train ``net`` on ``X_train`` under ``settings``.

    With labels ``y_train`` (class indices, -1 where unlabelled; and
    ``y_valid`` with ``X_valid``) the net is an M2 model trained
    semi-supervised (:class:`~skvae.semi_supervised._objective.M2Objective`).

    A failed call leaves a continued net (``continuing``) as it was: on a
    non-finite loss (a ``ValueError``) and on Ctrl-C before the first epoch
    ended (``KeyboardInterrupt``, which skorch would otherwise swallow). A
    later Ctrl-C keeps the epochs done and says so in the outcome.
    """
    if settings.latent_adversarial_weight > 0 and not hasattr(
        net, "latent_discriminator_"
    ):
        raise ValueError(
            "latent_adversarial_weight > 0 needs a discriminator on the codes, "
            "which the model fitted with latent_adversarial_weight=0 does not "
            "have: refit with warm_start=False."
        )
    for name in ("tc_weight", "consistency_weight"):
        if getattr(settings, name) > 0:
            check_gaussian_posterior(net.module_, name)
    objective = _objective(settings, labelled=y_train is not None)
    snapshot = snapshot_state(net) if continuing else None
    if settings.class_prior is not None:
        net.module_.set_class_prior(torch.tensor(settings.class_prior))
    configure_net(net, objective, X_valid, settings, y_valid=y_valid)
    try:
        net.partial_fit(X_train, y_train)
    except NonFiniteLossError as exc:
        restore_state(net, snapshot)
        raise diverged(exc, net.epoch_, settings.budget.learning_rate) from None
    epochs = [row for row in net.history if "train_loss" in row]
    stopped, interrupted = _how_ended(net, len(epochs), settings.budget)
    if interrupted and not epochs:
        restore_state(net, snapshot)
        raise KeyboardInterrupt
    net.module_.eval()
    return _outcome(epochs, settings, stopped, interrupted)


def _objective(
    settings: TrainingSettings, *, labelled: bool
) -> Objective | M2Objective:
    """The objective of ``settings``; semi-supervised (M2) with labels."""
    if not labelled:
        return Objective(
            beta=settings.beta,
            kl_warmup=settings.kl_warmup,
            free_bits=settings.free_bits,
            n_importance_samples=settings.n_importance_samples,
            trim_fraction=settings.trim_fraction,
        )
    return M2Objective(
        beta=settings.beta,
        kl_warmup=settings.kl_warmup,
        free_bits=settings.free_bits,
        n_importance_samples=settings.n_importance_samples,
        trim_fraction=settings.trim_fraction,
        classification_weight=settings.classification_weight,
    )


def _how_ended(net: VAENet, n_epochs: int, budget: Budget) -> tuple[bool, bool]:
    """Whether training stopped by its rule, and whether Ctrl-C ended it."""
    # Interrupted: fewer than the budget's epochs, yet not stopped.
    stopper = dict(net.callbacks_).get("stopper")
    stopped = stopper is not None and stopper.misses_ >= stopper.patience
    interrupted = n_epochs < budget.max_epochs and not stopped
    return stopped, interrupted


def _outcome(
    epochs: list, settings: TrainingSettings, stopped: bool, interrupted: bool
) -> TrainingOutcome:
    """The :class:`TrainingOutcome` of the history rows ``epochs``."""
    discriminator = None
    if settings.adversarial_weight > 0:
        discriminator = _epoch_means(epochs, "discriminator_loss")
    return TrainingOutcome(
        loss_curve=[row["train_loss"] for row in epochs],
        warning=unfinished(len(epochs), settings.budget, stopped, interrupted),
        validation_losses=(
            [row["valid_loss"] for row in epochs] if settings.early_stopping else None
        ),
        discriminator_loss_curve=discriminator,
        max_epochs=settings.budget.max_epochs,
        stopped_early=stopped,
        interrupted=interrupted,
    )


def unfinished(n_epochs: int, budget: Budget, stopped: bool, interrupted: bool):
    """Why training did not finish, if it did not: interrupted, or out of
    an epoch budget before its stopping rule stopped it (as
    ``MLPRegressor`` warns)."""
    if interrupted:
        return (
            f"Training was interrupted after {n_epochs} of {budget.max_epochs} "
            "epochs; the model is the one trained so far."
        )
    if budget.warns_when_spent and n_epochs == budget.max_epochs and not stopped:
        return (
            f"Stochastic optimizer: maximum iterations ({budget.max_epochs}) "
            "reached and the optimization hasn't converged yet."
        )
    return None


def diverged(loss, epoch: int, learning_rate: float) -> ValueError:
    """The error of a training call whose loss became ``loss`` (not
    finite) in ``epoch``."""
    return ValueError(
        f"Training diverged: the loss became non-finite ({loss}) in epoch "
        f"{epoch}. Lower learning_rate_init (the learning rate was "
        f"{learning_rate}), or check X for extreme values."
    )


def validation_split(X: torch.Tensor, validation_fraction: float, rng, y=None):
    """``(X_train, X_valid)``: ``validation_fraction`` of the rows of ``X``
    held out at random (drawn from the NumPy ``rng``) for early stopping;
    ``(X_train, X_valid, y_train, y_valid)`` with the labels ``y``."""
    n_samples = len(X)
    n_valid = math.ceil(validation_fraction * n_samples)
    if n_valid >= n_samples:
        raise ValueError(
            f"early_stopping needs at least 2 samples to hold out "
            f"validation_fraction={validation_fraction} of them; got "
            f"n_samples={n_samples}."
        )
    order = torch.from_numpy(rng.permutation(n_samples)).to(X.device)
    train_rows, valid_rows = order[n_valid:], order[:n_valid]
    # Sparse rows (skvae._sparse.SparseRows) are split without densifying.
    take = getattr(X, "subset", X.__getitem__)
    if y is None:
        return take(train_rows), take(valid_rows)
    return take(train_rows), take(valid_rows), y[train_rows], y[valid_rows]


def _epoch_means(epochs: list, key: str) -> list[float]:
    """Per epoch, the mean of what the training batches logged under
    ``key`` (validation batches log only their loss)."""
    return [
        float(np.mean([batch[key] for batch in row["batches"] if key in batch]))
        for row in epochs
    ]


def configure_net(
    net: VAENet,
    objective: Objective,
    X_valid: torch.Tensor | None,
    settings: TrainingSettings,
    *,
    y_valid: torch.Tensor | None = None,
) -> VAENet:
    """Set what may change between warm starts: the objective and the
    regularizers (built here together), batching, the stopping rule, the
    validation data, the learning rate and the seed of the training draws.
    The architecture is fixed once the net exists."""
    net.generator.manual_seed(settings.seed)
    net.objective = objective
    net.regularizers = build_regularizers(
        weight_decay=settings.weight_decay,
        l1_penalty=settings.l1_penalty,
        adversarial_weight=settings.adversarial_weight,
        discriminator=getattr(net, "discriminator_", None),
        discriminator_optimizer=getattr(net, "optimizer_discriminator_", None),
        generator=net.generator,
        mmd_weight=settings.mmd_weight,
        tc_weight=settings.tc_weight,
        consistency_weight=settings.consistency_weight,
        n_train=settings.n_train,
        latent_adversarial_weight=settings.latent_adversarial_weight,
        latent_discriminator=getattr(net, "latent_discriminator_", None),
        latent_discriminator_optimizer=getattr(
            net, "optimizer_latent_discriminator_", None
        ),
    )
    net.corruption = settings.corruption
    net.max_epochs = settings.budget.max_epochs
    net.epoch_offset = settings.epoch_offset
    net.batch_size = settings.batch_size
    net.iterator_train__shuffle = settings.shuffle
    net.iterator_train__max_batches = settings.budget.max_steps_per_epoch
    net.train_split = (
        None if X_valid is None else predefined_split(Dataset(X_valid, y_valid))
    )
    net.verbose = int(settings.verbose >= 2)
    callbacks = []
    # A budget of gradient steps is the stopping rule unless a held-out
    # bound is monitored (see skvae._budget).
    if settings.early_stopping or settings.budget.tol_rule:
        stopper = EarlyStopping(
            monitor="valid_loss" if settings.early_stopping else "train_loss",
            patience=settings.n_iter_no_change,
            threshold=settings.tol,
            threshold_mode="abs",
            load_best=settings.early_stopping,
        )
        callbacks.append(("stopper", stopper))
    if settings.verbose == 1:
        callbacks.append(("progress", ProgressBar()))
    net.callbacks = callbacks
    net.initialize_callbacks()
    net.initialize_history()
    net.set_params(lr=settings.budget.learning_rate)
    return net


def trained_module(net: VAENet) -> VAE:
    """The trained VAE of ``net`` (in eval mode after :func:`train`)."""
    return net.module_


# ------------------------------------------------------------ persistence


def net_state(net: VAENet) -> dict:
    """The trained state of ``net`` as plain data: every module's and
    optimizer's ``state_dict`` with NumPy arrays for tensors (Adam's moments
    included, so that training continues after loading exactly as without
    the round trip)."""
    return {
        name: _to_numpy(getattr(net, name).state_dict())
        for name in STATEFUL
        if hasattr(net, name)
    }


def net_from_state(state: dict, architecture: Architecture, device: str) -> VAENet:
    """The net of ``architecture`` with the state :func:`net_state` saved."""
    net = make_net(
        architecture,
        learning_rate=1e-3,  # replaced by the optimizer's saved state
        device=device,
        seed=0,  # the weights are replaced too
        latent_adversarial="latent_discriminator_" in state,
    )
    for name in STATEFUL:
        if name in state:
            getattr(net, name).load_state_dict(_to_torch(state[name], device))
    # The saved param groups carry the Adam kernel of the machine that
    # trained: a fused one that this device or torch lacks would fail at
    # the first step of a warm start. Ask for this device's.
    for group in net.optimizer_.param_groups:
        group.update(adam_speed_options(device))
    net.module_.eval()
    return net


def snapshot_state(net: VAENet) -> dict:
    """A copy of the trained state of ``net``, to restore if training fails."""
    return {
        name: copy.deepcopy(getattr(net, name).state_dict())
        for name in STATEFUL
        if hasattr(net, name)
    }


def restore_state(net: VAENet, snapshot: dict | None) -> None:
    """Put back a :func:`snapshot_state` (nothing to do for None)."""
    for name, state in (snapshot or {}).items():
        getattr(net, name).load_state_dict(state)


def _to_numpy(state):
    """A ``state_dict`` with every tensor as a NumPy array, recursively."""
    if isinstance(state, torch.Tensor):
        return state.detach().cpu().numpy()
    if isinstance(state, dict):
        return {k: _to_numpy(v) for k, v in state.items()}
    if isinstance(state, list | tuple):
        return type(state)(_to_numpy(v) for v in state)
    return state


def _to_torch(state, device):
    """The inverse of :func:`_to_numpy`."""
    if isinstance(state, np.ndarray):
        return torch.from_numpy(state.copy()).to(device)
    if isinstance(state, dict):
        return {k: _to_torch(v, device) for k, v in state.items()}
    if isinstance(state, list | tuple):
        return type(state)(_to_torch(v, device) for v in state)
    return state
