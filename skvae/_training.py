"""The skorch net that trains a VAE, and its wiring from the hyperparameters.

skorch provides the training loop, callbacks (early stopping, progress,
gradient clipping), history and device handling. We customize it only at
its documented hooks: ``initialize_module`` and ``initialize_optimizer`` add
the discriminator and its optimizer, ``train_step_single`` corrupts the
input and runs the model, ``get_loss`` is the objective plus the
regularizers' penalties, and ``train_step`` steps the VAE's optimizer once
and then lets each regularizer take its own step (skorch's default would
call every registered optimizer with the same closure, re-running the
batch).

:func:`make_net` builds a net for a fixed architecture; :func:`configure_net`
sets what may change between warm starts (objective, regularizers, batching,
stopping rule, validation data, random seed).
"""

import math
import re
import sys

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping, PrintLog
from skorch.dataset import Dataset, unpack_data
from skorch.helper import predefined_split
from skorch.utils import TeeGenerator
from torch.torch_version import TorchVersion

from skvae._objective import Objective
from skvae._regularizers import build_regularizers
from skvae._torch.networks import VAE, Discriminator

# One kernel for all of Adam's parameter updates rather than a Python loop
# over parameters: the update is a third of a small model's step otherwise.
# Fused Adam runs on CPU from torch 2.4; before, the multi-tensor variant.
_ADAM_SPEED_OPTION = (
    {"optimizer__fused": True}
    if TorchVersion(torch.__version__) >= "2.4"
    else {"optimizer__foreach": True}
)


class NonFiniteLossError(FloatingPointError):
    """Raised inside the training loop when a batch's loss is NaN or inf."""


class TensorBatchIterator:
    """Mini-batches sliced from an in-memory tensor, as (input, target) pairs.

    skorch's default ``DataLoader`` indexes the dataset row by row and
    collates the rows again, which costs more than the forward pass of a
    small MLP. This iterator, passed as skorch's ``iterator_train`` /
    ``iterator_valid``, takes one permutation per epoch from ``generator``
    and slices whole batches. The target of a row is the row itself.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
    ) -> None:
        self.X = dataset.X  # (n_samples, n_features) tensor
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator

    def __len__(self) -> int:
        return math.ceil(len(self.X) / self.batch_size)

    def __iter__(self):
        n_samples = len(self.X)
        if self.shuffle:
            order = torch.randperm(
                n_samples, generator=self.generator, device=self.X.device
            )
            for start in range(0, n_samples, self.batch_size):
                batch = self.X[order[start : start + self.batch_size]]
                yield batch, batch
        else:
            for start in range(0, n_samples, self.batch_size):
                batch = self.X[start : start + self.batch_size]
                yield batch, batch


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
        epoch_offset=0,
        **kwargs,
    ):
        super().__init__(module, *args, **kwargs)
        self.objective = objective
        self.regularizers = list(regularizers)
        self.corruption = corruption
        self.generator = generator
        self.discriminator_hidden_layer_sizes = discriminator_hidden_layer_sizes
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
        return self

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The loss of the posterior ``y_pred`` for the clean rows ``y_true``.

        Training: the objective plus every regularizer's penalty.
        Validation: the negative beta=1 ELBO, a likelihood bound comparable
        across hyperparameters.
        """
        if not training:
            return self.objective.validation_loss(
                self.module_, y_pred, y_true, self.generator
            )
        loss = self.objective(
            self.module_, y_pred, y_true, epoch=self.epoch_, generator=self.generator
        )
        for regularizer in self.regularizers:
            loss = loss + regularizer.penalty(self.module_, y_true)
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
            draws = torch.rand(
                x.shape, generator=self.generator, dtype=x.dtype, device=x.device
            )
            keep = draws >= self.corruption
            x = x * keep
            expansion = self.module_.expansion
            if expansion.has_categorical:
                # Level 0 is a level: a masked categorical cell is missing.
                masked = ~keep & expansion.is_categorical
                x = x.masked_fill(masked, torch.nan)
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
            for name, value in regularizer.step(target).items():
                self.history.record_batch(name, value)
        return step


def make_net(
    *,
    n_features: int,
    hidden_layer_sizes: tuple[int, ...],
    n_components: int,
    likelihood: str,
    dropout: float,
    adversarial: bool,
    learning_rate: float,
    device: str,
    missing: bool = False,
    n_levels: tuple[int, ...] | None = None,
    seed: int = 0,
) -> VAENet:
    """An initialized :class:`VAENet` for a fixed architecture, its initial
    weights drawn from a generator seeded with ``seed``; ``missing`` builds
    it for rows with missing cells and ``n_levels`` for categorical columns
    (see :class:`~skvae._torch.networks.VAE`)."""
    generator = torch.Generator(device=device).manual_seed(seed)
    net = VAENet(
        VAE,
        criterion=torch.nn.Identity,  # unused: get_loss is the objective
        module__n_features=n_features,
        module__hidden_layer_sizes=hidden_layer_sizes,
        module__n_components=n_components,
        module__likelihood=likelihood,
        module__dropout=dropout,
        module__generator=generator,
        module__missing=missing,
        module__n_levels=n_levels,
        generator=generator,
        discriminator_hidden_layer_sizes=hidden_layer_sizes if adversarial else None,
        optimizer=torch.optim.Adam,
        **_ADAM_SPEED_OPTION,
        lr=learning_rate,
        iterator_train=TensorBatchIterator,
        iterator_train__generator=generator,
        iterator_valid=TensorBatchIterator,
        device=device,
    )
    return net.initialize()


def configure_net(
    net: VAENet,
    params: dict,
    *,
    objective: Objective,
    batch_size: int,
    X_valid: torch.Tensor | None,
    max_epochs: int,
    learning_rate: float,
    tol_rule: bool,
    epoch_offset: int,
    seed: int,
) -> VAENet:
    """Set the training settings that may change between warm starts.

    The architecture is fixed once the net exists; the objective,
    regularizers, batching, stopping rule, validation data and the seed of
    the training draws follow the estimator's current hyperparameters
    ``params`` (its ``get_params()``) and data; the epochs, the learning
    rate and whether the ``tol`` rule applies come from the estimator's
    training budget (``BaseVAE._training_budget``).
    """
    if params["adversarial_weight"] > 0 and not hasattr(net, "discriminator_"):
        raise ValueError(
            "adversarial_weight > 0 needs a discriminator, which the "
            "model fitted with adversarial_weight=0 does not have: refit "
            "with warm_start=False."
        )
    net.generator.manual_seed(seed)
    net.objective = objective
    net.regularizers = build_regularizers(
        weight_decay=params["weight_decay"],
        l1_penalty=params["l1_penalty"],
        adversarial_weight=params["adversarial_weight"],
        discriminator=getattr(net, "discriminator_", None),
        discriminator_optimizer=getattr(net, "optimizer_discriminator_", None),
        generator=net.generator,
    )
    net.corruption = params["corruption"]
    net.max_epochs = max_epochs
    net.epoch_offset = epoch_offset
    net.batch_size = batch_size
    net.iterator_train__shuffle = params["shuffle"]
    net.train_split = None if X_valid is None else predefined_split(Dataset(X_valid))
    net.verbose = int(params["verbose"] >= 2)
    callbacks = []
    # A budget of gradient steps is the stopping rule unless a held-out
    # bound is monitored (see BaseVAE._training_budget).
    if params["early_stopping"] or tol_rule:
        stopper = EarlyStopping(
            monitor="valid_loss" if params["early_stopping"] else "train_loss",
            patience=params["n_iter_no_change"],
            threshold=params["tol"],
            threshold_mode="abs",
            load_best=params["early_stopping"],
        )
        callbacks.append(("stopper", stopper))
    if params["verbose"] == 1:
        callbacks.append(("progress", ProgressBar()))
    net.callbacks = callbacks
    net.initialize_callbacks()
    net.initialize_history()
    net.set_params(lr=learning_rate)
    return net


def stopped_early(net: VAENet) -> bool:
    """Whether the last training call ended by its stopping rule."""
    stopper = dict(net.callbacks_).get("stopper")
    return stopper is not None and stopper.misses_ >= stopper.patience
