"""How the estimators use torch's process-wide state: threads, grad mode,
and which device a model lives on.

Each call of an estimator runs with ``n_jobs`` intra-op threads (one by
default), set for the calling thread only and restored afterwards, and
single-threaded in a forked child; ``fit`` runs with gradients enabled
whatever the caller's grad mode. Random draws come from each fit's own
``torch.Generator`` (``skvae._torch.networks``), so torch's global random
state is not touched either.
"""

import functools
import os
from contextlib import contextmanager

import torch
from joblib import effective_n_jobs

_in_forked_child = False


def _after_fork_in_child() -> None:
    global _in_forked_child
    _in_forked_child = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def n_threads(n_jobs: int | None) -> int:
    """Intra-op threads for ``n_jobs`` (scikit-learn's meaning: None is 1
    unless in a ``joblib.parallel_config`` context, -1 is every core)."""
    if _in_forked_child:
        return 1
    return max(1, effective_n_jobs(n_jobs))


@contextmanager
def torch_settings(n_jobs: int | None, *, training: bool = False):
    """Run the block with ``n_jobs`` threads (and, when ``training``, with
    gradients on), restoring the calling thread's settings afterwards."""
    threads = n_threads(n_jobs)
    previous = torch.get_num_threads()
    if threads != previous:
        torch.set_num_threads(threads)
    try:
        if training:
            with torch.inference_mode(False), torch.enable_grad():
                yield
        else:
            with torch.no_grad():
                yield
    finally:
        if threads != previous:
            torch.set_num_threads(previous)


def uses_torch(method):
    """Run the estimator's public ``method`` under
    ``torch_settings(self.n_jobs)``: its threads, with gradients off."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with torch_settings(self.n_jobs):
            return method(self, *args, **kwargs)

    return wrapper


def resolve_device(device: str) -> str:
    """The device that ``device`` ("cpu", "cuda" or "auto") names here."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device='cuda' was requested but torch.cuda.is_available() is "
            "False. Use device='cpu' or device='auto'."
        )
    return device
