"""Inference against the hardware's floor: seconds per row of each
inference method and what the network's arithmetic alone would take.

Models: ``VAEAnomalyDetector``, ``VAETransformer`` and ``VAEImputer`` with
their defaults but ``max_iter=1`` (the weights do not change the cost of
inference) and ``random_state=0``, fitted on the first ``--rows`` rows of
the flights table (raw, 18 columns, 4 categorical: the detector groups
``tailnum``'s 4043 levels into 256 slots by default, the transformer and
the imputer keep them all). Each method runs on those rows (the imputer on
those with a missing cell, the only ones it imputes) in this process,
one thread, best of ``--repeats``; CPU seconds of the process (less
disturbed than the wall clock by other jobs on a shared machine).

The floor of a method is its matrix products at this machine's float64
matrix-multiply rate plus its exponentials at this machine's float64
``exp`` rate (inference is float64, see the user guide's "Large tables"),
per row: the encoder's layers once; the decoder's ``k`` times for a bound
on ``k`` importance samples (``n_mc_samples``: 4 for the detector, 16 for
the transformer, 100 for the imputer), with one exponential per decoder
output (the log-sum-exp of each categorical column's logits); the decoder
once for ``sample``. The rates are measured here: a 2048 x 2048 float64
``torch.matmul`` (the peak) and ``torch.exp`` on a cache-sized float64
array, best of 5. A Linear layer of these widths (64 inputs) reaches a
fraction of that peak, so "x floor" counts the whole gap: the table's
encoding, the noise, the Python work per chunk, the element-wise work of
the likelihood and the matrix products' own inefficiency.

Usage::

    python -m benchmarks score_floor --quick
    python -m benchmarks score_floor --rows 50000 --label "after"

A rerun skips the methods already in the CSV under its ``--label``.
"""

import time
import warnings

import numpy as np
import pandas as pd
import torch

from benchmarks.harness import data
from benchmarks.harness.report import markdown_table, runs_section, write_markdown
from benchmarks.harness.runner import read_results
from benchmarks.harness.timing import load_line

THREADS = 1
# method -> (the estimator's method, the network's work per row)
METHODS = {
    "detector score_samples": ("score_samples", "bound"),
    "detector score_samples_per_feature": ("score_samples_per_feature", "bound"),
    "transformer transform": ("transform", "encoder"),
    "transformer score_samples": ("score_samples", "bound"),
    "transformer sample": ("sample", "decoder"),
    "imputer transform": ("transform", "bound"),
}
CONTENDER = "method"
CONTENDERS = list(METHODS)
KEY = ["label", "method"]
FIELDS = (
    "label n_rows method seconds us_per_row floor_us_per_row x_floor "
    "mflop_per_row exps_per_row gflops_peak exp_per_ns n_outputs command"
).split()
QUICK = {"rows": 2000, "repeats": 1}


def add_arguments(parser):
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--label", default="", help="names this code's rows")


def _best(fn, repeats):
    best = np.inf
    for _ in range(repeats):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def machine_rates():
    """float64 matmul GFLOP/s (2048 x 2048) and exponentials per ns."""
    a = torch.randn(2048, 2048, dtype=torch.float64)
    matmul = _best(lambda: a @ a, 5)
    x = torch.randn(2**17, dtype=torch.float64)  # 1 MB
    exp = _best(lambda: torch.exp(x), 5)
    return 2 * 2048**3 / matmul / 1e9, x.numel() / exp / 1e9


def _flops(layers):
    return sum(2 * layer.in_features * layer.out_features for layer in layers)


def network_work(estimator):
    """``(encoder FLOPs, decoder FLOPs, decoder outputs)`` per row."""
    module = estimator.net_.module_
    linear = torch.nn.Linear
    encoder = [m for m in module.encoder.modules() if isinstance(m, linear)]
    decoder = [m for m in module.decoder.modules() if isinstance(m, linear)]
    return _flops(encoder), _flops(decoder), module.expansion.n_outputs


def cases(args):
    yield {"label": args.label or None}  # an empty cell in the CSV


def prepare(case, args):
    """The machine's rates and the three models, fitted once."""
    from skvae import VAEAnomalyDetector, VAEImputer, VAETransformer

    warnings.simplefilter("ignore")
    X = data.load_table("flights").head(args.rows)
    X = X.drop(
        columns=[c for c in X.columns if pd.api.types.is_datetime64_any_dtype(X[c])]
    )
    gflops, exps_per_ns = machine_rates()
    params = dict(random_state=0, max_iter=1)
    models = {
        "detector": VAEAnomalyDetector(**params).fit(X),
        "transformer": VAETransformer(**params).fit(X),
        "imputer": VAEImputer(**params).fit(X),
    }
    return X, models, gflops, exps_per_ns


def evaluate(name, prepared, case, args):
    """The CPU seconds per row of one method and its floor."""
    X, models, gflops, exps_per_ns = prepared
    estimator = models[name.split()[0]]
    method_name, work = METHODS[name]
    n = len(X)
    rows = X
    if name.startswith("imputer"):
        # Only rows with a missing cell are imputed (the others are
        # returned as they are): time those.
        rows = X[X.isna().any(axis=1)]
    if method_name == "sample":
        n_timed = n
        seconds = _best(lambda: estimator.sample(n, random_state=0), args.repeats)
    else:
        n_timed = len(rows)
        method = getattr(estimator, method_name)
        seconds = _best(lambda: method(rows), args.repeats)
    encoder, decoder, n_outputs = network_work(estimator)
    k = estimator.n_mc_samples_
    flops = {"encoder": encoder, "decoder": decoder, "bound": encoder + k * decoder}
    flops = flops[work]
    exps = {"encoder": 0, "decoder": n_outputs, "bound": k * n_outputs}[work]
    floor = flops / gflops / 1e3 + exps / exps_per_ns / 1e3  # µs per row
    row = dict(n_rows=n_timed, seconds=seconds)
    row |= dict(us_per_row=1e6 * seconds / n_timed, floor_us_per_row=floor)
    row |= dict(x_floor=1e6 * seconds / n_timed / floor)
    row["mflop_per_row"] = flops / 1e6
    row |= dict(exps_per_row=exps, gflops_peak=gflops, exp_per_ns=exps_per_ns)
    row["n_outputs"] = n_outputs
    print(f"{name}: {row['us_per_row']:.1f} µs/row, {row['x_floor']:.1f}x floor")
    return row


def report(path, args):
    results = read_results(path.with_suffix(".csv"))
    if results.empty:
        return
    results["label"] = results["label"].fillna("")
    rows = [
        [r["label"], f"{int(r['n_rows']):,}", r["method"], int(r["n_outputs"])]
        + [f"{r['mflop_per_row']:.3f}", int(r["exps_per_row"])]
        + [f"{r['us_per_row']:.1f}", f"{r['floor_us_per_row']:.2f}"]
        + [f"**{r['x_floor']:.1f}**"]
        + [f"{r['gflops_peak']:.1f}", f"{r['exp_per_ns']:.2f}"]
        for _, r in results.iterrows()
    ]
    header = ["code", "rows", "method", "decoder outputs", "MFLOP / row"]
    header += ["exp / row", "µs / row (CPU)", "floor µs / row", "x floor"]
    header += ["float64 matmul GFLOP/s", "float64 exp / ns"]
    body = [
        f"At the end: {load_line()} One thread; CPU seconds of the process.\n",
        markdown_table(rows, header),
    ]
    body += runs_section(results, path.with_suffix(".csv"))
    write_markdown(
        path.with_suffix(".md"),
        "Inference against the floor of its arithmetic",
        "\n".join(body),
        note=args.note,
    )
