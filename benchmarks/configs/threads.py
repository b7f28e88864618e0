"""Training throughput with 1 and 2 threads, on a quiet and on a busy machine.

The question behind ``n_jobs=None`` (one intra-op thread per fit, the
default): how much does a second thread buy when the machine is quiet, and
what does it cost when another process keeps a core busy? torch's OpenMP
threads spin while they wait for each other, so a thread that shares its
core with other work stalls the whole step.

For a small model (10000 x 30, widths (64, 32)) and a wide one
(10000 x 784, widths (256, 128)), the script times ``VAETransformer.fit``
epochs with ``n_jobs=1`` and ``n_jobs=2`` and scikit-learn's
``MLPRegressor`` (an autoencoder of the same widths, the reference that was
unaffected by busy cores), alternating the contenders round by round. The
"busy" condition runs one other process that spins on one core, as a
parallel job or a second notebook would. Each result is epochs per second;
the report gives the busy/quiet ratio of each contender.

Usage::

    python -m benchmarks threads            # full run, ~10 minutes
    python -m benchmarks threads --quick    # smoke test for CI, < 1 minute

The rates go to ``threads.csv``, the report is rebuilt from it.
"""

import multiprocessing
import os
import time

import numpy as np
from sklearn.neural_network import MLPRegressor

from benchmarks.harness.report import markdown_table, write_markdown
from benchmarks.harness.runner import read_results
from benchmarks.harness.timing import timed
from skvae import VAETransformer

THREADS = None  # the contenders set their own
CONTENDERS = ["n_jobs=1", "n_jobs=2", "MLPRegressor"]
KEY = ["workload", "condition", "contender"]
FIELDS = "workload condition contender epochs/s load started command".split()

WORKLOADS = {
    "small (10000 x 30, (64, 32))": (30, (64, 32)),
    "wide (10000 x 784, (256, 128))": (784, (256, 128)),
}


def spin(stop):
    """Keep one core busy until ``stop`` is set."""
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def epochs_per_second(contender, X, widths, epochs):
    """Training epochs per second of one contender on ``X``."""
    if contender == "MLPRegressor":
        kw = dict(max_iter=epochs, batch_size=128, random_state=0)
        model = MLPRegressor(hidden_layer_sizes=(*widths, 8, *widths[::-1]), **kw)
        _, seconds = timed(model.fit, X, X)
    else:
        n_jobs = int(contender.split("=")[1])
        kw = dict(max_iter=epochs, n_jobs=n_jobs, random_state=0)
        model = VAETransformer(hidden_layer_sizes=widths, **kw)
        _, seconds = timed(model.fit, X)
    return epochs / seconds


def cases(args):
    for workload in WORKLOADS:
        for condition in ("quiet", "busy"):
            yield {"workload": workload, "condition": condition}


def prepare(case, args):
    """Every contender's epochs per second (median over rounds, alternated)
    on one workload, with one spinning process in the "busy" condition."""
    n_rows, epochs, rounds = (500, 1, 1) if args.quick else (10_000, 2, 5)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    n_features, widths = WORKLOADS[case["workload"]]
    X = np.random.RandomState(0).normal(size=(n_rows, n_features))
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    spinner = None
    if case["condition"] == "busy":
        spinner = context.Process(target=spin, args=(stop,))
        spinner.start()
        time.sleep(1.0)
    rates = {c: [] for c in CONTENDERS}
    for contender in CONTENDERS:  # warm-up: first calls pay set-up costs
        epochs_per_second(contender, X[:256], widths, 1)
    try:
        for _ in range(rounds):
            for contender in CONTENDERS:
                rates[contender].append(epochs_per_second(contender, X, widths, epochs))
    finally:
        stop.set()
        if spinner is not None:
            spinner.join()
    load = os.getloadavg()[0]
    return {
        c: dict(rate=float(np.median(v)), load=load) for c, v in rates.items()
    }, started


def evaluate(contender, measured, case, args):
    rates, started = measured
    return {"epochs/s": rates[contender]["rate"], "load": rates[contender]["load"]} | {
        "started": started
    }


def report(path, args):
    results = read_results(path.with_suffix(".csv"))
    if results.empty:
        return
    rows = results.to_dict("records")
    table = []
    for workload in WORKLOADS:
        for contender in CONTENDERS:
            rate = {
                r["condition"]: r["epochs/s"]
                for r in rows
                if r["workload"] == workload and r["contender"] == contender
            }
            if {"quiet", "busy"} <= set(rate):
                quiet, busy = rate["quiet"], rate["busy"]
                cells = [f"{v:.2f}" for v in (quiet, busy, busy / quiet)]
                table.append([workload, contender, *cells])
    quiet_loads = [r["load"] for r in rows if r["condition"] == "quiet"]
    body = (
        f"Started {rows[0]['started']}. 1-minute load average during the quiet "
        f"runs: {min(quiet_loads):.2f} to {max(quiet_loads):.2f} (the busy runs "
        "add one spinning process).\n\n"
        "Epochs per second (median over rounds, contenders alternated); "
        "busy/quiet is the share of its quiet throughput a contender keeps "
        "while another process keeps one core busy.\n\n"
        + markdown_table(
            table, ["workload", "contender", "quiet", "busy", "busy/quiet"]
        )
    )
    title = "Threads: training throughput on a quiet and a busy machine"
    write_markdown(path.with_suffix(".md"), title, body, note=args.note)
