"""Anomaly detection with missing cells: skvae's native handling against
imputation pipelines.

The usual way to run a detector on a table with gaps is an imputer in
front. skvae models the gaps instead: the likelihood covers the observed
cells and the encoder is told which are missing. This script measures both,
side by side in one process on identical data:

- ``skvae``: ``VAEAnomalyDetector()`` on the data with NaN, its default
  score: the bound on the observed cells, on the standardized scale,
  extrapolated to a full row (``* n_features / n_observed``), then the
  change of variables of a full row;
- ``skvae-credited``: the same fitted model, the bound on the observed
  cells plus, for each missing cell, its column's ``feature_offset_`` (a
  missing cell counted as a typical value of its column; the default
  before the extrapolation);
- ``skvae-observed``: the same fitted model, scored by the bound on the
  observed cells only (``VAETransformer``'s ``score_samples``);
- ``skvae-per-cell``: the same fitted model, the observed-only bound of
  ``skvae-observed`` rescaled to a full row on the data's own scale
  (``bound * n_features / n_observed``, so the units of the missing
  columns matter);
- ``skvae+mean``, ``skvae+iterative``: ``SimpleImputer()`` or
  ``IterativeImputer()`` in front of ``VAEAnomalyDetector()``;
- ``IForest+mean``, ``IForest+iterative``: the same imputers in front of
  ``IsolationForest()``;
- at rate 0 (complete data) ``skvae`` and ``IForest`` alone, the reference.

Protocol: the ADBench split of ``anomaly.py`` (seed, stratified 70/30,
MinMaxScaler fitted on the train part), then cells removed at random at
each rate, in the train and the test part alike (a row may lose every
cell), with one of two patterns (``--pattern``):

- ``cells`` (default): each cell is missing with probability ``rate``,
  independently (missing completely at random), so all rows miss about the
  same share of their cells;
- ``rows``: each row first draws its own probability uniformly from
  ``[0, 2 * rate]`` (clipped to 1), then each of its cells is missing with
  that probability: the mean share is still ``rate``, but rows miss very
  different numbers of cells, the case where a scoring rule must compare
  rows fairly.

Rate 0 is the complete data, the same for both patterns (stored as
``cells``). Detectors use default hyperparameters, 1 thread, and are
scored by ROC-AUC on the test part. The default datasets are the 28 ADBench
sets with at most 40 features and at most 12000 rows (``IterativeImputer``
is slow on wide tables).

Usage::

    python benchmarks/missing.py --quick             # smoke test, < 60 s
    python benchmarks/missing.py                     # defaults below
    python benchmarks/missing.py --datasets cardio,thyroid --seeds 1,2,3
    python benchmarks/missing.py --pattern rows --rates 0.3 \
        --contenders skvae,skvae-observed,skvae-per-cell
    python benchmarks/missing.py --report-only

Options: ``--datasets`` (default: see above), ``--seeds`` (default 1),
``--rates`` (default 0.1,0.3,0.5), ``--pattern`` (``cells`` or ``rows``,
default ``cells``), ``--contenders`` (comma-separated, default all; they
apply to the rates above 0, where rate 0 always runs ``skvae`` and
``IForest``, the reference), ``--note`` (text put at the top of the
report). Rows are appended to ``benchmarks/results/missing.csv`` as they are
known, seed by seed (a rerun resumes; rows of a CSV without a ``pattern``
column are ``cells``); ``missing.md`` is written from the whole CSV, one
table per pattern (``missing_quick.*`` with ``--quick``, which runs both
patterns).
"""

import argparse
import csv
import itertools
import time
import warnings

import numpy as np
import pandas as pd
from _common import (
    RESULTS_DIR,
    adbench_datasets,
    adbench_split,
    append_row,
    command_line,
    limit_threads,
    load_adbench,
    machine_load,
    markdown_table,
    read_results,
    write_markdown,
)
from sklearn.ensemble import IsolationForest
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, SimpleImputer
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline

from skvae import VAEAnomalyDetector
from skvae._runtime import torch_settings

FIELDS = "dataset seed pattern rate contender roc_auc seconds command".split()
RATES = (0.1, 0.3, 0.5)
PATTERNS = ("cells", "rows")
CONTENDERS = (
    "skvae skvae-credited skvae-observed skvae-per-cell skvae+mean "
    "skvae+iterative IForest+mean IForest+iterative"
).split()
COMPLETE = ["skvae", "IForest"]  # the contenders at rate 0
# Contenders that rescore the model another one fitted.
REFITS = {
    "skvae-credited": "skvae",
    "skvae-observed": "skvae",
    "skvae-per-cell": "skvae",
}
# The scoring rules of one fitted skvae model.
RULES = ["skvae", "skvae-credited", "skvae-observed", "skvae-per-cell"]


def default_datasets():
    names = []
    for name in adbench_datasets():
        X, _ = load_adbench(name)
        if X.shape[1] <= 40 and X.shape[0] <= 12_000:
            names.append(name)
    return names


def remove_cells(X, rate, rng, pattern="cells"):
    """A copy of ``X`` with cells set to NaN: each with probability
    ``rate`` (``pattern="cells"``), or with a probability drawn per row
    uniformly from ``[0, 2 * rate]``, clipped to 1 (``"rows"``)."""
    X = X.copy()
    if pattern == "cells":
        row_rate = rate
    else:
        row_rate = np.minimum(rng.uniform(0, 2 * rate, size=(X.shape[0], 1)), 1.0)
    X[rng.uniform(size=X.shape) < row_rate] = np.nan
    return X


def detector(kind, seed, quick):
    if kind == "skvae":
        return VAEAnomalyDetector(random_state=seed, max_iter=5 if quick else 200)
    return IsolationForest(random_state=seed)


def pipeline(contender, seed, quick):
    model, _, imputer = contender.partition("+")
    steps = {
        "mean": [SimpleImputer()],
        "iterative": [IterativeImputer(random_state=seed)],
        "": [],
    }[imputer]
    return make_pipeline(*steps, detector(model.split("-")[0], seed, quick))


def anomaly_scores(contender, model, X_test):
    """Anomaly scores (higher = more anomalous) of ``contender``, whose
    fitted pipeline is ``model``."""
    if contender not in REFITS:
        return -model.score_samples(X_test)
    detector = model[-1]
    X_last = model[:-1].transform(X_test) if len(model) > 1 else X_test
    with torch_settings(1):
        # The bound on the observed cells only.
        scores = detector._log_likelihood(X_last)
    missing = np.isnan(X_last)
    if contender == "skvae-credited":
        scores = scores + np.where(missing, detector.feature_offset_, 0.0).sum(axis=1)
    elif contender == "skvae-per-cell":
        n_observed = np.maximum((~missing).sum(axis=1), 1)
        scores = scores * X_last.shape[1] / n_observed
    return -scores


def run_case(csv_path, dataset, seed, pattern, rate, contenders, quick):
    X, y = load_adbench(dataset)
    X_train, X_test, _, y_test = adbench_split(X, y, seed)
    rng = np.random.RandomState(1000 + seed)
    if rate > 0:
        X_train, X_test = (
            remove_cells(X_train, rate, rng, pattern),
            remove_cells(X_test, rate, rng, pattern),
        )
    fitted = {}
    for contender in contenders:
        start = time.perf_counter()
        # The other scoring rules rescore the model "skvae" fits.
        key = REFITS.get(contender, contender)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if key not in fitted:
                fitted[key] = pipeline(key, seed, quick).fit(X_train)
            scores = anomaly_scores(contender, fitted[key], X_test)
        row = {
            "dataset": dataset,
            "seed": seed,
            "pattern": pattern,
            "rate": rate,
            "contender": contender,
            "roc_auc": roc_auc_score(y_test, scores),
            "seconds": time.perf_counter() - start,
            "command": command_line(),
        }
        append_row(csv_path, row, FIELDS)
        print(
            f"{dataset:12s} seed={seed} {pattern:5s} rate={rate:.1f} {contender:18s} "
            f"auc={row['roc_auc']:.4f} ({row['seconds']:.1f} s)",
            flush=True,
        )


def upgrade_csv(csv_path):
    """Give a CSV written before ``--pattern`` existed its ``pattern``
    column (``cells``, the only protocol then), so that rows appended now
    line up with its header. (Rows scored by the earlier default rule were
    renamed ``skvae-credited`` once, in the committed CSV.)"""
    if not csv_path.exists():
        return
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or "pattern" in rows[0]:
        return
    tmp = csv_path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows({**row, "pattern": "cells"} for row in rows)
    tmp.replace(csv_path)


def read_missing(csv_path):
    """The results CSV, rows without a pattern counted as ``cells``."""
    results = read_results(csv_path)
    if results.empty:
        return results
    if "pattern" not in results:
        results["pattern"] = "cells"
    results["pattern"] = results["pattern"].fillna("cells")
    results["seed"] = results["seed"].astype(int)
    return results


def pattern_section(results, pattern):
    """Markdown lines on one pattern: the mean ROC-AUC table, each rate's
    loss against complete data and the scoring rules of skvae compared."""
    missing = results[(results.pattern == pattern) & (results.rate > 0)]
    cases = missing[["dataset", "seed"]].drop_duplicates()
    # Complete data (rate 0) on the same (dataset, seed) cases.
    everything = pd.concat([results[results.rate == 0].merge(cases), missing])
    # The table: at each rate, the contenders run on the most cases, over
    # the cases on which all of them have a result; a contender run on
    # fewer cases (a partial run) is left to the paired comparisons below,
    # so that it does not shrink the table to its cases.
    n_per = everything.groupby(["rate", "contender"]).size()
    partial = n_per[n_per < n_per.groupby("rate").transform("max")]
    results = everything.set_index(["rate", "contender"])
    results = results.drop(partial.index).reset_index()
    per_case = results.groupby(["dataset", "seed", "rate"]).contender.transform(
        "nunique"
    )
    results = results[
        per_case == results.groupby("rate").contender.transform("nunique")
    ]
    table = results.pivot_table(
        index="contender", columns="rate", values="roc_auc", aggfunc="mean"
    )
    n_cases = results.groupby("rate")[["dataset", "seed"]].apply(
        lambda d: len(d.drop_duplicates())
    )
    seeds = results.groupby("rate").seed.apply(
        lambda s: ",".join(map(str, sorted(s.unique())))
    )
    cells = table.map(lambda v: "" if pd.isna(v) else f"{v:.4f}")
    cells.insert(0, "contender", cells.index)
    cells.columns = ["contender"] + [
        f"rate {r:g} ({n_cases[r]} cases, seeds {seeds[r]})" for r in table.columns
    ]
    lines = [f"\n## Pattern `{pattern}`\n", markdown_table(cells)]
    if len(partial):
        left_out = ", ".join(
            f"`{c}` at {r:.0%} ({n} cases)" for (r, c), n in partial.items()
        )
        lines.append(
            f"\nRun on fewer cases, so not in the table (see the paired "
            f"comparisons): {left_out}."
        )
    # Losses and paired comparisons: each pair on all the cases it shares.
    auc = everything.pivot_table(
        index=["dataset", "seed"], columns=["rate", "contender"], values="roc_auc"
    )
    rates = sorted(set(everything.rate) - {0.0})
    # Each rate's loss against complete data, on the cases both have.
    losses = []
    for rate in rates:
        for contender in RULES:
            if (0.0, "skvae") not in auc or (rate, contender) not in auc:
                continue
            pair = auc[[(0.0, "skvae"), (rate, contender)]].dropna()
            loss = (pair.iloc[:, 0] - pair.iloc[:, 1]).mean()
            losses.append(
                f"- `{contender}` at {rate:.0%} missing: {loss:+.4f} mean ROC-AUC "
                f"lost against skvae on the complete data ({len(pair)} cases)."
            )
    if losses:
        lines += ["\nLoss to complete data, on the same cases:\n", *losses]
    # The scoring rules of one fitted model, case by case.
    duels = []
    for rate in rates:
        for a, b in itertools.combinations(RULES, 2):
            if (rate, a) not in auc or (rate, b) not in auc:
                continue
            pair = auc[[(rate, a), (rate, b)]].dropna()
            diff = pair.iloc[:, 0] - pair.iloc[:, 1]
            duels.append(
                f"- {rate:.0%} missing, `{a}` minus `{b}`: {diff.mean():+.4f} "
                f"mean ROC-AUC; `{a}` higher on {(diff > 0).sum()}, lower on "
                f"{(diff < 0).sum()}, tied on {(diff == 0).sum()} of "
                f"{len(diff)} cases."
            )
    if duels:
        lines += ["\nThe scoring rules of the same fitted skvae, paired:\n", *duels]
    return lines


def report(csv_path, md_path, started, note=None):
    results = read_missing(csv_path)
    load, busy = machine_load()
    body = [f"**Note.** {note}\n"] if note else []
    body += [
        f"Started {started}. At the end: 1-minute load average {load:.2f}; "
        f"other busy processes: {', '.join(busy) or 'none'}.\n",
        "Mean ROC-AUC on the test part, one table per missingness pattern "
        "(`cells`: each cell missing with probability `rate`; `rows`: each "
        "row's probability drawn uniformly from [0, 2 rate]), over the "
        "(dataset, seed) cases on which every contender of a rate has a "
        "result. Rate 0 is the complete data, on the same (dataset, seed) "
        "cases as the pattern's other rates. `skvae` (the default) "
        "extrapolates the standardized bound on the observed cells to a full "
        "row, `skvae-credited` counts a missing cell as a typical value of "
        "its column (its `feature_offset_`), `skvae-observed` scores the "
        "bound on the observed cells only, `skvae-per-cell` rescales that "
        "bound to a full row on the data's own scale; all four score the "
        "same fitted model.",
    ]
    for pattern in PATTERNS:
        if ((results.pattern == pattern) & (results.rate > 0)).any():
            body += pattern_section(results, pattern)
    datasets = sorted(results.dataset.unique())
    body.append(f"\nDatasets ({len(datasets)}): {', '.join(datasets)}.")
    commands = "\n".join(f"- `{c}`" for c in results.command.unique())
    body.append(f"\nThe rows come from:\n\n{commands}")
    write_markdown(
        md_path,
        "Anomaly detection with missing cells (ADBench)",
        command_line(),
        "\n".join(body),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke test")
    parser.add_argument("--datasets", help="comma-separated ADBench names")
    parser.add_argument("--seeds", default="1", help="comma-separated seeds")
    parser.add_argument("--rates", default=",".join(map(str, RATES)))
    parser.add_argument("--pattern", choices=PATTERNS, default="cells")
    parser.add_argument(
        "--contenders",
        default=",".join(CONTENDERS),
        help="comma-separated, for the rates above 0",
    )
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--note", help="text put at the top of the report")
    args = parser.parse_args()
    contenders = args.contenders.split(",")
    unknown = sorted(set(contenders) - set(CONTENDERS))
    if unknown:
        parser.error(f"unknown contenders {unknown}; known: {CONTENDERS}")
    contenders = [c for c in CONTENDERS if c in contenders]
    limit_threads(1)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    out = RESULTS_DIR / ("missing_quick" if args.quick else "missing")
    csv_path, md_path = out.with_suffix(".csv"), out.with_suffix(".md")
    patterns = [args.pattern]
    if args.quick:
        csv_path.unlink(missing_ok=True)
        datasets, seeds, rates = ["Pima"], [1], [0.0, 0.3]
        patterns = list(PATTERNS)
    else:
        datasets = args.datasets.split(",") if args.datasets else default_datasets()
        seeds = [int(s) for s in args.seeds.split(",")]
        rates = [0.0, *(float(r) for r in args.rates.split(","))]
    if not args.report_only:
        upgrade_csv(csv_path)
        done = read_missing(csv_path)
        keys = ["dataset", "seed", "pattern", "rate", "contender"]
        done = (
            set() if done.empty else set(done[keys].itertuples(index=False, name=None))
        )
        # Seed by seed, so that an interrupted run leaves whole seeds.
        for seed in seeds:
            for dataset in datasets:
                for rate in rates:
                    cases = (
                        [("cells", COMPLETE)]
                        if rate == 0
                        else [(pattern, contenders) for pattern in patterns]
                    )
                    for pattern, names in cases:
                        todo = [
                            c
                            for c in names
                            if (dataset, seed, pattern, rate, c) not in done
                        ]
                        if todo:
                            run_case(
                                csv_path, dataset, seed, pattern, rate, todo, args.quick
                            )
    report(csv_path, md_path, started, args.note)
    print(f"wrote {md_path}")


if __name__ == "__main__":
    main()
