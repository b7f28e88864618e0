"""A stack of fits trained as one batched model.

Fits of one architecture that differ only in what their loss weighs
(``beta``, ``weight_decay``, ``l1_penalty``), in their seeds and in their
rows (cross-validation folds) train together: their parameters stacked
along a leading member dimension, one forward and backward pass of
``torch.func.vmap`` over the members per step and one Adam update for all
(Adam's update is elementwise: one optimizer over the stacked parameters is
each member's own). Each member keeps its own rows, standardization,
initial weights, batch order, latent noise, mini-batch sizes and stopping
rule. Its generator makes the draws of its fit alone, in the same order,
so a member differs from the fit it stands for by the rounding of batched
kernels only.

A member that stops (the ``tol`` rule) or diverges leaves the stack: its
weights are written back, and the others go on in a smaller stack.
"""

import dataclasses
import functools
import math

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from skvae._objective import Objective, elbo_terms_given
from skvae._torch.likelihoods import LIKELIHOODS
from skvae._torch.optim import LeanAdam
from skvae._training import (
    TrainingOutcome,
    adam_speed_options,
    diverged,
    trained_module,
    unfinished,
)

# The settings in which members of one stack may differ.
PER_MEMBER = ("beta", "weight_decay", "l1_penalty", "seed", "n_train")


def stack_key(prepared):
    """What fits must share to train in one stack (compared with ``==``),
    or None for a fit that trains alone: one whose training draws more
    than its batches' latent noise (dropout, corruption, an adversary,
    the regularizers of the latent distribution), learns from labels or
    reads sparse rows."""
    settings, architecture = prepared.settings, prepared.architecture
    alone = (
        prepared.y_train is not None
        or not isinstance(prepared.X_valid, torch.Tensor | None)
        or not isinstance(prepared.X_train, torch.Tensor)
        or architecture.dropout > 0
        or architecture.adversarial
        or LIKELIHOODS[architecture.likelihood].counts
        or settings.n_importance_samples > 1
        or settings.corruption > 0
        or settings.verbose > 0
        or any(
            getattr(settings, name) > 0
            for name in (
                "adversarial_weight",
                "mmd_weight",
                "tc_weight",
                "consistency_weight",
                "latent_adversarial_weight",
            )
        )
    )
    if alone:
        return None
    shared = dataclasses.replace(settings, **{name: 0 for name in PER_MEMBER})
    return (
        architecture,
        prepared.standardization[0],  # device
        shared,
        _steps_per_epoch(settings),
    )


def _steps_per_epoch(settings) -> int:
    steps = math.ceil(settings.n_train / settings.batch_size)
    cap = settings.budget.max_steps_per_epoch
    return steps if cap is None else min(steps, cap)


class _Loss(nn.Module):
    """One member's training loss of a mini-batch, padded to the stack's
    batch size: a function of the member's parameters for ``vmap``.

    The loss of :class:`~skvae._objective.Objective` without importance
    sampling: the negative bound with the KL weighted by ``kl_weight``,
    averaged over the ``n_keep`` valid rows that fit best (trimmed) or over
    every valid row; with ``free_bits``, the batch-mean KL of each group
    held above its floor.
    """

    def __init__(self, vae: nn.Module, trim: bool, free_bits: float) -> None:
        super().__init__()
        self.vae = vae
        self.trim = trim
        self.free_bits = free_bits

    def forward(
        self,
        x: torch.Tensor,  # (batch_size, n_features)
        noise: torch.Tensor,  # (batch_size, n_noise)
        valid: torch.Tensor,  # (batch_size,) bool
        kl_weight: torch.Tensor,  # ()
        n_keep: torch.Tensor,  # ()
    ) -> torch.Tensor:
        q = self.vae(x)
        reconstruction, kl = elbo_terms_given(self.vae, q, x, noise)
        keep = valid
        if self.trim:
            # The n_keep valid rows of highest beta=1 bound (Objective's
            # best_fitting), as ranks: n_keep may differ between members.
            elbo = (reconstruction - kl.sum(-1)).detach()
            elbo = torch.where(valid, elbo, -math.inf)
            rank = torch.argsort(torch.argsort(elbo, descending=True))
            keep = rank < n_keep
        if self.free_bits == 0:
            bound = reconstruction - kl_weight * kl.sum(-1)
            return -torch.where(keep, bound, 0.0).sum() / n_keep
        # Objective's free bits: each group's mean KL over the kept rows,
        # clamped at its floor.
        loss = -torch.where(keep, reconstruction, 0.0).sum() / n_keep
        kl = torch.where(keep[:, None], kl, 0.0).sum(0) / n_keep  # (n_groups,)
        kl = kl.clamp(min=self.free_bits * (q.n_noise // kl.shape[0]))
        return loss + kl_weight * kl.sum()


class _ValidationLoss(nn.Module):
    """One member's summed negative beta=1 ELBO over the valid rows of a
    padded batch: ``Objective.validation_loss`` times the rows."""

    def __init__(self, vae: nn.Module) -> None:
        super().__init__()
        self.vae = vae

    def forward(
        self,
        x: torch.Tensor,  # (batch_size, n_features)
        noise: torch.Tensor,  # (batch_size, n_noise)
        valid: torch.Tensor,  # (batch_size,) bool
    ) -> torch.Tensor:
        reconstruction, kl = elbo_terms_given(self.vae, self.vae(x), x, noise)
        return -torch.where(valid, reconstruction - kl.sum(-1), 0.0).sum()


class _Stack:
    """The stacked parameters and optimizer of the members still training."""

    def __init__(self, modules, trim, free_bits, learning_rate, device):
        self.losses = [_Loss(module, trim, free_bits) for module in modules]
        # The buffers (the columns' maps) are the architecture's, the same
        # in every member: the first member's serve all.
        params, _ = stack_module_state(self.losses)
        self.params = {name: p.detach().requires_grad_() for name, p in params.items()}
        self.optimizer = LeanAdam(
            list(self.params.values()),
            lr=learning_rate,
            **{k: v for k, v in adam_speed_options(device).items() if v},
        )
        penalized = {id(p) for p in modules[0].weight_matrices()}
        self.weight_matrices = [
            f"vae.{name}"
            for name, p in modules[0].named_parameters()
            if id(p) in penalized
        ]
        self.validation = _ValidationLoss(modules[0])
        self.loss = vmap(self._member_loss)
        self.validation_loss = vmap(self._member_validation)

    def _member_loss(self, params, x, noise, valid, kl_weight, n_keep):
        return functional_call(
            self.losses[0], params, (x, noise, valid, kl_weight, n_keep)
        )

    def step(self, x, noise, valid, kl_weight, n_keep, weight_decay, l1_penalty):
        """One update of every member; returns each member's loss, its
        weights' penalties included, as ``fit`` would report it."""
        losses = self.loss(self.params, x, noise, valid, kl_weight, n_keep)
        self.optimizer.zero_grad()
        losses.sum().backward()
        penalty = torch.zeros_like(losses)
        decays, l1s = bool(weight_decay.any()), bool(l1_penalty.any())
        if decays or l1s:
            # The penalties of L2Penalty and L1Penalty, their gradients
            # added directly: (weight_decay * W, l1_penalty * sign(W)).
            with torch.no_grad():
                for name in self.weight_matrices:
                    p = self.params[name]
                    shape = (-1,) + (1,) * (p.dim() - 1)
                    wd, l1 = weight_decay.view(shape), l1_penalty.view(shape)
                    if decays:
                        p.grad.add_(wd * p)
                        penalty += 0.5 * weight_decay * p.square().flatten(1).sum(1)
                    if l1s:
                        p.grad.add_(l1 * p.sign())
                        penalty += l1_penalty * p.abs().flatten(1).sum(1)
        self.optimizer.step()
        return (losses.detach() + penalty).tolist()

    def validation_sums(self, x, noise, valid):
        """Each member's summed negative beta=1 ELBO over the valid rows
        (the validation loss of ``Objective``), in eval mode, no gradient."""
        self.validation.eval()
        try:
            with torch.no_grad():
                return self.validation_loss(self.params, x, noise, valid)
        finally:
            self.validation.train()

    def _member_validation(self, params, x, noise, valid):
        return functional_call(self.validation, params, (x, noise, valid))

    def weights(self, position: int) -> dict:
        """A copy of the weights of the member at ``position``."""
        return {name: p[position].detach().clone() for name, p in self.params.items()}

    def load(self, weights: dict, module: nn.Module) -> None:
        """Copy ``weights`` (of :meth:`weights`) into ``module``."""
        with torch.no_grad():
            for name, value in weights.items():
                module.get_parameter(name.removeprefix("vae.")).copy_(value)

    def keep(self, positions: list[int]) -> None:
        """Keep only the members at ``positions``, with their Adam state."""
        index = torch.tensor(positions, device=next(iter(self.params.values())).device)
        old_state = self.optimizer.state
        params, state = {}, {}
        for name, p in self.params.items():
            new = p.detach()[index].clone().requires_grad_()
            params[name] = new
            if p in old_state:
                s = old_state[p]
                state[new] = {
                    "step": s["step"].clone(),
                    "exp_avg": s["exp_avg"][index].clone(),
                    "exp_avg_sq": s["exp_avg_sq"][index].clone(),
                }
        group = {
            k: v for k, v in self.optimizer.param_groups[0].items() if k != "params"
        }
        self.params = params
        self.optimizer = LeanAdam(list(params.values()), **group)
        self.optimizer.state.update(state)


class _Stopper:
    """skorch's ``EarlyStopping`` as ``fit`` configures it, for one member:
    the training loss with the ``tol`` rule, the validation loss (and the
    weights of its best epoch) with ``early_stopping``."""

    def __init__(self, settings):
        self.on = settings.early_stopping or settings.budget.tol_rule
        self.load_best = settings.early_stopping
        self.patience, self.tol = settings.n_iter_no_change, settings.tol
        self.threshold, self.misses = math.inf, 0
        self.best_epoch, self.best_weights = 0, None

    def stops(self, loss, epoch, weights) -> bool:
        """Whether the member stops after ``epoch`` of monitored ``loss``;
        ``weights()`` gives its current weights (kept when best)."""
        if not self.on:
            return False
        if loss < self.threshold:
            self.misses, self.threshold = 0, loss - self.tol
            self.best_epoch = epoch
            if self.load_best:
                self.best_weights = weights()
        else:
            self.misses += 1
        return self.misses == self.patience


def _epoch_batches(orders, batch_size, n_steps, device):
    """The members' row orders (tensors of rows of the stacked table) as
    ``(rows, valid, n_valid)`` per step: rows (n_members, batch_size)
    padded with each member's first row, which ``valid`` masks, and the
    number of valid rows of each member."""
    span = n_steps * batch_size
    lengths = [len(order) for order in orders]
    rows = torch.stack(
        [nn.functional.pad(o, (0, span - len(o)), value=int(o[0])) for o in orders]
    )
    valid = (
        torch.arange(span, device=device)
        < torch.tensor(lengths, device=device)[:, None]
    )
    for step in range(n_steps):
        batch = slice(step * batch_size, (step + 1) * batch_size)
        n_valid = [max(0, min(batch_size, n - step * batch_size)) for n in lengths]
        yield rows[:, batch], valid[:, batch], n_valid


def train_stack(nets, prepareds):
    """Train the nets of fits that share a :func:`stack_key` together.

    Returns, per fit, its :class:`~skvae._training.TrainingOutcome` or the
    ``ValueError`` of a fit that diverged (its net is then unusable).
    """
    settings = [p.settings for p in prepareds]
    first = settings[0]
    budget, batch_size = first.budget, first.batch_size
    device = prepareds[0].standardization[0]
    modules = [trained_module(net) for net in nets]
    for module in modules:
        module.train()
    stack = _Stack(
        modules, first.trim_fraction > 0, first.free_bits, budget.learning_rate, device
    )
    n_noise = modules[0].n_noise
    generators = [torch.Generator(device=device).manual_seed(s.seed) for s in settings]
    X_train, train_starts = _stacked_rows([p.X_train for p in prepareds], device)
    sizes = [len(p.X_train) for p in prepareds]
    n_steps = _steps_per_epoch(first)
    validating = first.early_stopping
    if validating:
        X_valid, valid_starts = _stacked_rows([p.X_valid for p in prepareds], device)
        valid_sizes = [len(p.X_valid) for p in prepareds]
        n_valid_steps = math.ceil(max(valid_sizes) / batch_size)

    def draw_noise(members, n_valid):
        # Each member's latent noise from its own generator, as its fit
        # draws it: one row per valid row of the batch.
        noise = torch.zeros((len(members), batch_size, n_noise), device=device)
        for position, i in enumerate(members):
            noise[position, : n_valid[position]].normal_(generator=generators[i])
        return noise

    active = list(range(len(nets)))  # members in the stack, in its order
    curves = [[] for _ in nets]
    valid_curves = [[] for _ in nets]
    stoppers = [_Stopper(s) for s in settings]
    # The parts of each member's objective that the stacked loss reads:
    # its KL weight per epoch and how many rows trimming keeps.
    objectives = [
        Objective(beta=s.beta, kl_warmup=s.kl_warmup, trim_fraction=s.trim_fraction)
        for s in settings
    ]
    results = [None] * len(nets)

    def leave(position, i, stopped):
        # The best epoch's weights with early_stopping (skorch's load_best),
        # else the last ones.
        weights = stoppers[i].best_weights
        if weights is None or stoppers[i].best_epoch == len(curves[i]):
            weights = stack.weights(position)
        stack.load(weights, modules[i])
        results[i] = _outcome(
            curves[i], valid_curves[i] if validating else None, budget, stopped
        )

    for epoch in range(1, budget.max_epochs + 1):
        orders = [
            (
                torch.randperm(sizes[i], generator=generators[i], device=device)
                if first.shuffle
                else torch.arange(sizes[i], device=device)
            )[: n_steps * batch_size]
            + train_starts[i]
            for i in active
        ]
        member = [settings[i] for i in active]
        kl_weight = torch.tensor(
            [objectives[i].kl_weight(epoch) for i in active], device=device
        )
        weight_decay = torch.tensor([s.weight_decay for s in member], device=device)
        l1_penalty = torch.tensor([s.l1_penalty for s in member], device=device)
        totals = [0.0] * len(active)
        failed = {}
        for rows, valid, n_valid in _epoch_batches(orders, batch_size, n_steps, device):
            n_keep = n_valid
            if first.trim_fraction > 0:
                n_keep = [objectives[0].n_kept(n) for n in n_valid]
            losses = stack.step(
                X_train[rows],
                draw_noise(active, n_valid),
                valid,
                kl_weight,
                torch.tensor(n_keep, device=device, dtype=torch.float32),
                weight_decay,
                l1_penalty,
            )
            for position, loss in enumerate(losses):
                if not math.isfinite(loss) and position not in failed:
                    failed[position] = diverged(loss, epoch, budget.learning_rate)
                totals[position] += loss * n_valid[position]
        if validating:
            # After the epoch's training, as skorch validates: each
            # member's held-out rows in order, their loss its mean.
            valid_orders = [
                torch.arange(valid_sizes[i], device=device) + valid_starts[i]
                for i in active
            ]
            sums = torch.zeros(len(active), device=device)
            for rows, valid, n_valid in _epoch_batches(
                valid_orders, batch_size, n_valid_steps, device
            ):
                noise = draw_noise(active, n_valid)
                sums += stack.validation_sums(X_valid[rows], noise, valid)
            valid_losses = [
                total / valid_sizes[i]
                for total, i in zip(sums.tolist(), active, strict=True)
            ]
        leaving = []
        for position, i in enumerate(active):
            if position in failed:
                results[i] = failed[position]
                leaving.append(position)
                continue
            curves[i].append(totals[position] / len(orders[position]))
            monitored = curves[i][-1]
            if validating:
                valid_curves[i].append(valid_losses[position])
                monitored = valid_losses[position]
            if stoppers[i].stops(
                monitored, epoch, functools.partial(stack.weights, position)
            ):
                leave(position, i, stopped=True)
                leaving.append(position)
        if len(leaving) == len(active):
            active = []
            break
        if leaving:
            staying = [p for p in range(len(active)) if p not in leaving]
            stack.keep(staying)
            active = [active[p] for p in staying]
    for position, i in enumerate(active):
        leave(position, i, stopped=False)
    for module in modules:
        module.eval()
    return results


def _stacked_rows(tensors, device):
    """The members' rows as one tensor, and where each member's begin."""
    starts = [0]
    for tensor in tensors[:-1]:
        starts.append(starts[-1] + len(tensor))
    return torch.cat(tensors), starts


def _outcome(curve, valid_curve, budget, stopped):
    return TrainingOutcome(
        loss_curve=curve,
        validation_losses=valid_curve,
        discriminator_loss_curve=None,
        max_epochs=budget.max_epochs,
        stopped_early=stopped,
        interrupted=False,
        warning=unfinished(len(curve), budget, stopped, False),
    )
