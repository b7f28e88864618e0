"""The one subprocess and peak-memory helper of the benchmarks.

A measurement that must not inherit this process's memory, imports or
threads runs in a fresh Python process (``in_subprocess``); ``PeakMemory``
measures the peak resident set of a block (Linux ``VmHWM``, reset at the
start, so torch's allocator and the data count) and ``maxrss_mb`` the
process's peak since it started (``ru_maxrss``).

Usage::

    from benchmarks.harness.process import PeakMemory, in_subprocess
    row = in_subprocess(child, "flights", 2000)  # child(...) in a new process
    with PeakMemory() as peak:
        model.fit(X)
    print(peak.mb)
"""

import json
import os
import resource
import subprocess
import sys

from .data import REPO_ROOT

# What the fresh process runs: the function named by module and name, on
# JSON arguments, its result printed as the last line of JSON.
_CHILD = (
    "import importlib, json, sys; module, name, arguments = sys.argv[1:]; "
    "fn = getattr(importlib.import_module(module), name); "
    "print(json.dumps(fn(*json.loads(arguments))), flush=True)"
)


def in_subprocess(fn, *args, timeout=None, root=REPO_ROOT, env=None):
    """``fn(*args)`` in a fresh Python process that imports the
    ``benchmarks`` and ``skvae`` of the source tree ``root`` (this one by
    default), with this process's environment updated by ``env``; ``fn`` is
    a module-level function whose arguments and result go through JSON.
    Raises ``subprocess.TimeoutExpired`` after ``timeout``
    seconds, and ``RuntimeError`` with the end of its stderr if it fails."""
    command = [sys.executable, "-c", _CHILD, fn.__module__, fn.__qualname__]
    command.append(json.dumps(args))
    path = f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
    env = os.environ | (env or {}) | {"PYTHONPATH": path}
    out = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, cwd=root, env=env
    )
    if out.returncode != 0:
        raise RuntimeError(f"{fn.__name__}{args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def status_mb(field):
    """A memory field of ``/proc/self/status`` (``"VmRSS"``, ``"VmHWM"``) in
    MB; NaN where the file or field does not exist."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def reset_peak_memory():
    """Reset the process's peak resident set (``VmHWM``) to its current one
    (Linux >= 4.0); whether that was possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class PeakMemory:
    """``with PeakMemory() as peak:`` then ``peak.mb``: the peak resident
    set in MB during the block (NaN where it cannot be reset)."""

    def __enter__(self):
        self.resettable = reset_peak_memory()
        self.mb = float("nan")
        return self

    def __exit__(self, *exc_info):
        if self.resettable:
            self.mb = status_mb("VmHWM")


def maxrss_mb():
    """The peak resident set of this process since it started, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
