"""The skorch net that trains a VAE: loss = -ELBO + regularizers.

skorch provides the training loop, callbacks (early stopping, progress,
gradient clipping), history and device handling. We customize it only at its
documented hooks: ``initialize_module`` and ``initialize_optimizer`` add the
discriminator and its optimizer, ``train_step_single`` and ``get_loss``
compute the objective, and ``train_step`` steps the VAE's optimizer once and
then lets each regularizer take its own step (skorch's default would call
every registered optimizer with the same closure, re-running the batch).
"""

import math

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.dataset import unpack_data
from skorch.utils import TeeGenerator, to_tensor

from skvae._regularizers import KLPenalty
from skvae._torch.bounds import ELBOTerms, elbo_terms, iwae_terms
from skvae._torch.networks import Discriminator


class NonFiniteLossError(FloatingPointError):
    """Raised inside the training loop when a batch's loss is NaN or inf."""


class TensorBatchIterator:
    """Mini-batches sliced from an in-memory tensor.

    skorch's default ``DataLoader`` indexes the dataset row by row and
    collates the rows again, which costs more than the forward pass of a
    small MLP. This iterator, passed as skorch's ``iterator_train`` /
    ``iterator_valid``, takes one permutation per epoch (from torch's global
    generator, which the estimator seeds) and slices whole batches.
    """

    def __init__(self, dataset, batch_size: int, shuffle: bool = False) -> None:
        self.X = dataset.X  # (n_samples, n_features) tensor
        self.batch_size = batch_size
        self.shuffle = shuffle

    def __len__(self) -> int:
        return math.ceil(len(self.X) / self.batch_size)

    def __iter__(self):
        n_samples = len(self.X)
        if self.shuffle:
            order = torch.randperm(n_samples, device=self.X.device)
            for start in range(0, n_samples, self.batch_size):
                yield self.X[order[start : start + self.batch_size]], None
        else:
            for start in range(0, n_samples, self.batch_size):
                yield self.X[start : start + self.batch_size], None


class EpochProgressBar(Callback):
    """A tqdm bar over epochs showing the training loss (``verbose=1``)."""

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(total=net.max_epochs, unit="epoch", desc=type(net).__name__)

    def on_epoch_end(self, net, **kwargs):
        postfix = {"loss": f"{net.history[-1, 'train_loss']:.4f}"}
        if "valid_loss" in net.history[-1]:
            postfix["valid_loss"] = f"{net.history[-1, 'valid_loss']:.4f}"
        self.bar_.set_postfix(postfix, refresh=False)
        self.bar_.update()

    def on_train_end(self, net, **kwargs):
        self.bar_.close()


class VAENet(NeuralNet):
    """skorch ``NeuralNet`` whose loss is the negative ELBO plus regularizers.

    Parameters beyond ``NeuralNet``'s
    ----------------------------------
    regularizers : list of Regularizer
        Built by :func:`skvae._regularizers.build_regularizers`.
    corruption : float
        Fraction of input entries set to zero (masking noise) in training.
    n_importance_samples : int
        1 trains on the ELBO, k > 1 on the importance-weighted bound.
    trim_fraction : float
        Fraction of each batch's worst-fitting rows left out of the loss.
    discriminator_hidden_layer_sizes : tuple of int or None
        Widths of the discriminator; None builds no discriminator.
    """

    def __init__(
        self,
        module,
        *args,
        regularizers=(),
        corruption=0.0,
        n_importance_samples=1,
        trim_fraction=0.0,
        discriminator_hidden_layer_sizes=None,
        **kwargs,
    ):
        super().__init__(module, *args, **kwargs)
        self.regularizers = list(regularizers)
        self.corruption = corruption
        self.n_importance_samples = n_importance_samples
        self.trim_fraction = trim_fraction
        self.discriminator_hidden_layer_sizes = discriminator_hidden_layer_sizes

    @property
    def _default_callbacks(self):
        # PrintLog formats its table on every epoch even when it prints
        # nothing, a few percent of an epoch on a small data set: keep it for
        # verbose output only.
        return [
            (name, callback)
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
        """The current (1-based) epoch; skorch adds its history row first."""
        return max(len(self.history), 1)

    def kl_weight(self) -> float:
        for regularizer in self.regularizers:
            if isinstance(regularizer, KLPenalty):
                return regularizer.weight(self.epoch_)
        return 0.0

    def initialize_module(self):
        super().initialize_module()
        if self.discriminator_hidden_layer_sizes is not None:
            n_features = self.module__n_features
            self.discriminator_ = Discriminator(
                n_features, self.discriminator_hidden_layer_sizes
            )
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

    def elbo_terms(self, q, x: torch.Tensor, training: bool) -> ELBOTerms:
        if training and self.n_importance_samples > 1:
            return iwae_terms(
                self.module_, q, x, self.n_importance_samples, self.kl_weight()
            )
        return elbo_terms(self.module_, q, x)

    def get_loss(self, y_pred, y_true=None, X=None, training=False):
        """Training: -ELBO (or -IWAE bound) + every regularizer's penalty.
        Validation: the negative beta=1 ELBO, a likelihood bound comparable
        across hyperparameters.

        ``y_pred`` is the posterior q(z | x) returned by the module, or the
        :class:`ELBOTerms` already computed from it.
        """
        terms = y_pred
        if not isinstance(terms, ELBOTerms):
            terms = self.elbo_terms(y_pred, to_tensor(X, device=self.device), training)
        if not training:
            return -(terms.reconstruction - terms.kl.sum(dim=-1)).mean()
        if terms.iwae is not None:
            loss = -terms.iwae.mean()
        else:
            loss = -terms.reconstruction.mean()
        for regularizer in self.regularizers:
            loss = loss + regularizer.penalty(self, terms)
        return loss

    def train_step_single(self, batch, **fit_params):
        if not self.module_.training:
            # skorch sets the mode on every batch; walking the module tree
            # each time costs ~5% of a small model's step.
            self._set_training(True)
        Xi, _ = unpack_data(batch)
        x = to_tensor(Xi, device=self.device)
        x_in = x
        if self.corruption > 0:
            # Masking noise: the encoder sees a damaged row, the loss asks
            # for the clean one (denoising, Vincent et al., 2008).
            keep = torch.rand_like(x) >= self.corruption
            x_in = x * keep
        q = self.infer(x_in, **fit_params)
        terms = self.elbo_terms(q, x, training=True)
        if self.trim_fraction > 0:
            terms = terms.best_fitting(1.0 - self.trim_fraction)
        loss = self.get_loss(terms, None, X=x, training=True)
        value = loss.item()
        if not math.isfinite(value):
            raise NonFiniteLossError(value)
        loss.backward()
        return {"loss": loss, "y_pred": q, "terms": terms}

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
        for regularizer in self.regularizers:
            regularizer.update(self, step["terms"])
        return step
