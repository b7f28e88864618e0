"""How the estimators use torch's process-wide state: threads, grad mode,
and which device a model lives on.

skvae runs inside other people's processes: notebooks, web services,
joblib and Dask workers, parallel grid searches. Three pieces of torch's
state are shared there, and each once broke a fit:

- **Intra-op threads.** torch's default is one OpenMP thread per core, and
  OpenMP threads spin while they wait for each other: when other work keeps
  the cores busy, a small model's epoch took 10 to 77 times longer than with
  one thread (scikit-learn's ``MLPRegressor`` was unaffected). Each call of
  an estimator therefore runs with ``n_jobs`` threads, one by default as in
  scikit-learn, set for the calling thread only (OpenMP's thread count is a
  per-thread setting) and restored afterwards.
- **fork.** GNU OpenMP's thread pool does not survive ``fork()``: a child
  that starts a parallel region the parent had used hangs. In a forked child
  the estimators run single-threaded whatever ``n_jobs`` says.
- **Grad mode.** ``fit`` runs with gradients enabled and outside inference
  mode, so that it works inside the caller's ``torch.no_grad()`` or
  ``torch.inference_mode()`` blocks, and leaves them as they were.

The random state is not among them: each fit draws from a
``torch.Generator`` of its own (see ``skvae._torch.networks``), and the
modules' dtypes are explicit, so ``torch.set_default_dtype`` does not
reach them.
"""

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
