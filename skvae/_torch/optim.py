"""Adam with less Python around its fused kernel.

A small model's training step is mostly PyTorch's per-call overhead, and
``torch.optim.Adam.step`` with ``fused=True`` spends more time in Python
(its step wrapper and hooks, a loop over the parameters building its
lists, grouping them by device and dtype, a profiler scope) than in the
kernel. :class:`LeanAdam` is ``torch.optim.Adam``, same arguments, same
state and ``state_dict``, whose ``step`` calls the same kernel with the
same arguments directly when nothing needs the general path, so its
updates are those of ``Adam(fused=True)`` bit for bit (a test checks).

The direct path is taken when the group is fused, without AMSGrad,
decoupled weight decay, ``capturable``, ``differentiable``, a tensor
learning rate or step hooks, and the parameters with a gradient share a
device and a dtype (a parameter without state gets Adam's fused initial
state, zeros, as ``Adam.step`` would give it); otherwise ``Adam.step``
runs. Taking it from the first step on also spares a fit the import of
``torch._dynamo`` that ``Adam.step``'s wrapper makes once per process.
"""

import sys

import torch

try:  # private: without them, every step takes Adam.step
    from torch.optim.optimizer import (
        _global_optimizer_post_hooks,
        _global_optimizer_pre_hooks,
    )
except ImportError:  # pragma: no cover
    _global_optimizer_pre_hooks = _global_optimizer_post_hooks = {None: None}

_GENERAL = ("amsgrad", "capturable", "differentiable", "decoupled_weight_decay")


class LeanAdam(torch.optim.Adam):
    """``torch.optim.Adam`` whose fused step skips Adam's Python overhead."""

    def add_param_group(self, param_group: dict) -> None:
        # Optimizer's wrapper of this method (called from __init__) imports
        # torch._dynamo on its first call, seconds once per process, only to
        # keep torch.compile out of it: nothing can be compiling before
        # torch._dynamo is imported, so until then the method runs bare.
        add = torch.optim.Adam.add_param_group
        if "torch._dynamo" not in sys.modules:
            add = getattr(add, "__wrapped__", add)
        add(self, param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        if not set_to_none:
            return super().zero_grad(set_to_none)
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self, closure=None):
        if closure is not None or not self._direct_step():
            return super().step(closure)  # Adam.step, with its wrapper
        return None

    # Optimizer.__init__ wraps the class's step in its profiling and hooks
    # wrapper unless marked: the direct path is what it skips, and the
    # general one runs Adam's own wrapped step.
    step.hooked = True

    def _direct_step(self) -> bool:
        """The fused update of every group, or False (nothing done) when
        one of them needs ``Adam.step``."""
        if (
            self._optimizer_step_pre_hooks
            or self._optimizer_step_post_hooks
            or _global_optimizer_pre_hooks
            or _global_optimizer_post_hooks
        ):
            return False
        plans = []
        for group in self.param_groups:
            plan = self._plan(group)
            if plan is None:
                return False
            plans.append((group, plan))
        for group, (params, grads, exp_avgs, exp_avg_sqs, steps) in plans:
            if not params:
                continue
            beta1, beta2 = group["betas"]
            torch._foreach_add_(steps, 1)
            torch._fused_adam_(
                params,
                grads,
                exp_avgs,
                exp_avg_sqs,
                [],
                steps,
                amsgrad=False,
                lr=group["lr"],
                beta1=beta1,
                beta2=beta2,
                weight_decay=group["weight_decay"],
                eps=group["eps"],
                maximize=group["maximize"],
                grad_scale=None,
                found_inf=None,
            )
        return True

    def _plan(self, group: dict):
        """The kernel's lists for ``group``, or None if it needs Adam.step."""
        if not group.get("fused") or any(group.get(key) for key in _GENERAL):
            return None
        if isinstance(group["lr"], torch.Tensor) or any(
            isinstance(beta, torch.Tensor) for beta in group["betas"]
        ):
            return None
        params, grads, exp_avgs, exp_avg_sqs, steps = [], [], [], [], []
        for p in group["params"]:
            grad = p.grad
            if grad is None:
                continue
            if grad.is_sparse or torch.is_complex(p):
                return None
            state = self.state[p]
            if not state:  # first step: Adam's lazy initialization, fused
                state["step"] = torch.zeros((), dtype=torch.float32, device=p.device)
                state["exp_avg"] = torch.zeros_like(
                    p, memory_format=torch.preserve_format
                )
                state["exp_avg_sq"] = torch.zeros_like(
                    p, memory_format=torch.preserve_format
                )
            params.append(p)
            grads.append(grad)
            exp_avgs.append(state["exp_avg"])
            exp_avg_sqs.append(state["exp_avg_sq"])
            steps.append(state["step"])
        if params:
            device, dtype = params[0].device, params[0].dtype
            if any(p.device != device or p.dtype != dtype for p in params):
                return None
        return params, grads, exp_avgs, exp_avg_sqs, steps
