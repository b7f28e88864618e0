"""The trained net as plain data: what pickle, joblib and skops store.

A fitted estimator persists its skorch net as NumPy arrays and Python
numbers only: the modules' weights, the optimizers' state (Adam's moments,
so that training continues after loading exactly as without the round
trip) and the arguments the modules were built with (so that loading
rebuilds the fitted architecture, whatever the estimator's parameters say
now). No torch object is pickled: a model trained on a GPU loads on a
CPU-only machine, and skops needs to trust no torch type.
"""

import copy

import numpy as np
import torch

from skvae._training import VAENet, make_net

# Version of the persisted layout; bump it when it changes incompatibly.
STATE_FORMAT = 2

# The net's attributes whose state_dict is persisted (when present).
_STATEFUL = ("module_", "optimizer_", "discriminator_", "optimizer_discriminator_")


def net_state(net: VAENet) -> dict:
    """Everything needed to rebuild ``net``, as plain data."""
    return {
        "module_kwargs": {
            k: v for k, v in net.get_params_for("module").items() if k != "generator"
        },
        "discriminator_hidden_layer_sizes": net.discriminator_hidden_layer_sizes,
        **{
            name: _to_numpy(getattr(net, name).state_dict())
            for name in _STATEFUL
            if hasattr(net, name)
        },
    }


def net_from_state(state: dict, device: str) -> VAENet:
    """The net that :func:`net_state` described, on ``device``."""
    net = make_net(
        **state["module_kwargs"],
        adversarial=state["discriminator_hidden_layer_sizes"] is not None,
        learning_rate=1e-3,  # replaced by the optimizer's saved state
        device=device,
    )
    for name in _STATEFUL:
        if name in state:
            getattr(net, name).load_state_dict(_to_torch(state[name], device))
    net.module_.eval()
    return net


def snapshot_state(net: VAENet) -> dict:
    """A copy of the trained state of ``net``, to restore if training fails."""
    return {
        name: copy.deepcopy(getattr(net, name).state_dict())
        for name in _STATEFUL
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
    if isinstance(state, (list, tuple)):
        return type(state)(_to_numpy(v) for v in state)
    return state


def _to_torch(state, device):
    """The inverse of :func:`_to_numpy`."""
    if isinstance(state, np.ndarray):
        return torch.from_numpy(state.copy()).to(device)
    if isinstance(state, dict):
        return {k: _to_torch(v, device) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(_to_torch(v, device) for v in state)
    return state
