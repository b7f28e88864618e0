"""Anomaly detection with missing cells: skvae's native handling against
imputation pipelines.

The usual way to run a detector on a table with gaps is an imputer in
front. skvae models the gaps instead: the likelihood covers the observed
cells and the encoder is told which are missing. This script measures both,
side by side in one process on identical data:

- ``skvae``: ``VAEAnomalyDetector()`` on the data with NaN (score: the bound
  on the observed cells);
- ``skvae-per-cell``: the same fitted model, its score rescaled to a full row
  (``score * n_features / n_observed``), a candidate for comparing rows that
  miss different numbers of cells;
- ``skvae+mean``, ``skvae+iterative``: ``SimpleImputer()`` or
  ``IterativeImputer()`` in front of ``VAEAnomalyDetector()``;
- ``IForest+mean``, ``IForest+iterative``: the same imputers in front of
  ``IsolationForest()``;
- at rate 0 (complete data) ``skvae`` and ``IForest`` alone, the reference.

Protocol: the ADBench split of ``anomaly.py`` (seed, stratified 70/30,
MinMaxScaler fitted on the train part), then cells removed completely at
random at each rate, in the train and the test part alike (a row may lose
every cell). Detectors use default hyperparameters, 1 thread, and are
scored by ROC-AUC on the test part. The default datasets are the 28 ADBench
sets with at most 40 features and at most 12000 rows (``IterativeImputer``
is slow on wide tables).

Usage::

    python benchmarks/missing.py --quick             # smoke test, < 60 s
    python benchmarks/missing.py                     # defaults below
    python benchmarks/missing.py --datasets cardio,thyroid --seeds 1,2,3
    python benchmarks/missing.py --report-only

Options: ``--datasets`` (default: see above), ``--seeds`` (default 1),
``--rates`` (default 0.1,0.3,0.5), ``--note`` (text put at the top of the
report). Rows are appended to
``benchmarks/results/missing.csv`` as they are known (a rerun resumes);
``missing.md`` is written from the whole CSV (``missing_quick.*`` with
``--quick``).
"""

import argparse
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
    done_keys,
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

FIELDS = "dataset seed rate contender roc_auc seconds command".split()
RATES = (0.1, 0.3, 0.5)
CONTENDERS = (
    "skvae skvae-per-cell skvae+mean skvae+iterative IForest+mean IForest+iterative"
).split()


def default_datasets():
    names = []
    for name in adbench_datasets():
        X, _ = load_adbench(name)
        if X.shape[1] <= 40 and X.shape[0] <= 12_000:
            names.append(name)
    return names


def remove_cells(X, rate, rng):
    """A copy of ``X`` with each cell set to NaN with probability ``rate``."""
    X = X.copy()
    X[rng.uniform(size=X.shape) < rate] = np.nan
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
    scores = -model.score_samples(X_test)
    if contender == "skvae-per-cell":
        n_observed = np.maximum((~np.isnan(X_test)).sum(axis=1), 1)
        scores = scores * X_test.shape[1] / n_observed
    return scores


def run_case(csv_path, dataset, seed, rate, contenders, quick):
    X, y = load_adbench(dataset)
    X_train, X_test, _, y_test = adbench_split(X, y, seed)
    rng = np.random.RandomState(1000 + seed)
    if rate > 0:
        X_train, X_test = (
            remove_cells(X_train, rate, rng),
            remove_cells(X_test, rate, rng),
        )
    fitted = {}
    for contender in contenders:
        start = time.perf_counter()
        # skvae-per-cell rescores the model that "skvae" fitted.
        key = "skvae" if contender == "skvae-per-cell" else contender
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if key not in fitted:
                fitted[key] = pipeline(key, seed, quick).fit(X_train)
            scores = anomaly_scores(contender, fitted[key], X_test)
        row = {
            "dataset": dataset,
            "seed": seed,
            "rate": rate,
            "contender": contender,
            "roc_auc": roc_auc_score(y_test, scores),
            "seconds": time.perf_counter() - start,
            "command": command_line(),
        }
        append_row(csv_path, row, FIELDS)
        print(
            f"{dataset:12s} seed={seed} rate={rate:.1f} {contender:18s} "
            f"auc={row['roc_auc']:.4f} ({row['seconds']:.1f} s)",
            flush=True,
        )


def report(csv_path, md_path, started, note=None):
    results = read_results(csv_path)
    # Keep the cases on which every contender of their rate has a result.
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
    cells = table.map(lambda v: "" if pd.isna(v) else f"{v:.4f}")
    cells.insert(0, "contender", cells.index)
    cells.columns = ["contender"] + [
        f"rate {r:g} ({n_cases[r]} cases)" for r in table.columns
    ]
    load, busy = machine_load()
    body = [f"**Note.** {note}\n"] if note else []
    body += [
        f"Started {started}. At the end: 1-minute load average {load:.2f}; "
        f"other busy processes: {', '.join(busy) or 'none'}.\n",
        "Mean ROC-AUC on the test part, over the (dataset, seed) cases on "
        "which every contender of a rate has a result. Rate 0 is the complete "
        "data.\n",
        markdown_table(cells),
    ]
    # Each rate's loss against complete data, on the cases both have.
    auc = results.pivot_table(
        index=["dataset", "seed"], columns=["rate", "contender"], values="roc_auc"
    )
    losses = []
    for rate in sorted(set(table.columns) - {0.0}):
        for contender in ("skvae", "skvae-per-cell"):
            if (0.0, "skvae") not in auc or (rate, contender) not in auc:
                continue
            pair = auc[[(0.0, "skvae"), (rate, contender)]].dropna()
            loss = (pair.iloc[:, 0] - pair.iloc[:, 1]).mean()
            losses.append(
                f"- `{contender}` at {rate:.0%} missing: {loss:+.4f} mean ROC-AUC "
                f"lost against skvae on the complete data ({len(pair)} cases)."
            )
    if losses:
        body += ["\nLoss to complete data, on the same cases:\n", *losses]
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
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--note", help="text put at the top of the report")
    args = parser.parse_args()
    limit_threads(1)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    out = RESULTS_DIR / ("missing_quick" if args.quick else "missing")
    csv_path, md_path = out.with_suffix(".csv"), out.with_suffix(".md")
    if args.quick:
        csv_path.unlink(missing_ok=True)
        datasets, seeds, rates = ["Pima"], [1], [0.0, 0.3]
    else:
        datasets = args.datasets.split(",") if args.datasets else default_datasets()
        seeds = [int(s) for s in args.seeds.split(",")]
        rates = [0.0, *(float(r) for r in args.rates.split(","))]
    if not args.report_only:
        done = done_keys(csv_path, ["dataset", "seed", "rate", "contender"])
        for dataset in datasets:
            for seed in seeds:
                for rate in rates:
                    contenders = ["skvae", "IForest"] if rate == 0 else list(CONTENDERS)
                    todo = [
                        c for c in contenders if (dataset, seed, rate, c) not in done
                    ]
                    if todo:
                        run_case(csv_path, dataset, seed, rate, todo, args.quick)
    report(csv_path, md_path, started, args.note)
    print(f"wrote {md_path}")


if __name__ == "__main__":
    main()
