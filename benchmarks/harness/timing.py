"""The one timing helper of the benchmarks: threads, clocks, rounds.

Timings on shared 2-core machines are noisy: contenders run alternately in
one process (``interleaved``) and are compared as ratios measured in the
same round (``paired_ratio``); ``machine_load`` says how busy the machine
was.

Usage::

    from benchmarks.harness.timing import interleaved, paired_ratio
    rounds, cpu_rounds, models = interleaved({"a": fit_a, "b": fit_b}, 5)
    median, low, high = paired_ratio(rounds, "a", "b")
"""

import os
import subprocess
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits


def limit_threads(n_threads):
    """Cap torch and the native pools (BLAS, OpenMP) at ``n_threads``."""
    threadpool_limits(limits=n_threads)
    torch.set_num_threads(n_threads)


def clocked(fn, *args, **kwargs):
    """``(fn(*args, **kwargs), wall seconds, CPU seconds of this process)``;
    CPU time is far less disturbed by other jobs than the wall clock."""
    start, cpu_start = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start, time.process_time() - cpu_start


def timed(fn, *args, **kwargs):
    """``(fn(*args, **kwargs), wall-clock seconds)``."""
    result, wall, _ = clocked(fn, *args, **kwargs)
    return result, wall


def interleaved(contenders, repeats):
    """Run each zero-argument callable once per round, alternating them.

    Returns ``rounds`` and ``cpu_rounds`` (name -> list of wall / CPU
    seconds per round) and ``values`` (name -> what its last call returned).
    """
    rounds = {name: [] for name in contenders}
    cpu_rounds = {name: [] for name in contenders}
    values = {}
    for _ in range(repeats):
        for name, fn in contenders.items():
            values[name], wall, cpu = clocked(fn)
            rounds[name].append(wall)
            cpu_rounds[name].append(cpu)
    return rounds, cpu_rounds, values


def paired_ratio(rounds, reference, contender):
    """Median, min and max over rounds of ``time(reference) /
    time(contender)``: the two ran back to back in each round."""
    ratios = np.asarray(rounds[reference]) / np.asarray(rounds[contender])
    return float(np.median(ratios)), float(ratios.min()), float(ratios.max())


def machine_load():
    """The 1-minute load average and the other processes using more than
    10% of a CPU now, as ``"name (pcpu%)"``."""
    busy, command = [], ["ps", "-eo", "pid,pcpu,comm", "--sort=-pcpu"]
    try:
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        out = ""
    for line in out.splitlines()[1:]:
        pid, pcpu, comm = line.split(None, 2)
        if int(pid) != os.getpid() and float(pcpu) > 10:
            busy.append(f"{comm} ({float(pcpu):.0f}%)")
    return os.getloadavg()[0], busy


def load_line():
    """One sentence on how busy the machine is now."""
    load, busy = machine_load()
    return (
        f"1-minute load average {load:.2f}; other busy processes: "
        f"{', '.join(busy) or 'none'}."
    )


def uptime():
    """The output of ``uptime``: the machine's load, recorded beside a run."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unavailable"
