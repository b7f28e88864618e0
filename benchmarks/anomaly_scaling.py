"""Why the detector trails KNN and LOF on images: its per-column scaling.

The diagnosis behind the user guide's "Where the detector loses, and why".
``VAEAnomalyDetector`` standardizes every column by its standard deviation
before training, and its likelihood weighs each column's error by the
spread the model learns for it. On images, a pixel that is inked in one row
in a hundred has a tiny standard deviation, so that ink weighs many times
more than a stroke across the middle of the digit; KNN and LOF measure
distances between raw pixels, where every pixel weighs the same. This
script fits the detector three times on the same splits, all else equal:
as it is; with each column scaled by its range (max - min) instead, which
on min-max scaled data gives every column the same weight; and with the
range only for the columns in which most rows share one value (median
absolute deviation 0, such as rarely inked pixels), where the standard
deviation measures how often a row departs from that value rather than
how far.

Tasks, seed 1:

- the 43 ADBench datasets (``anomaly.py``'s protocol), where the choice of
  scaling was made;
- development one-class tasks from data that ``oneclass.py`` does not use
  (its tasks stay held out): each digit class of the 10 000 MNIST
  *training* images (``oneclass.py`` uses the t10k test images), each class
  of scikit-learn's breast cancer data and each species of the penguins'
  numeric columns, with ``oneclass.py``'s protocol (10% anomalies from the
  other classes, 70/30 split, min-max scaling). KNN, LOF and IsolationForest
  run on the same splits for reference.

Usage::

    python benchmarks/anomaly_scaling.py            # ~10 min on 1 thread
    python benchmarks/anomaly_scaling.py --quick    # smoke test
    python benchmarks/anomaly_scaling.py --report-only

Writes ``benchmarks/results/anomaly_scaling.csv`` and ``.md``
(``anomaly_scaling_quick.*`` with ``--quick``).
"""

import argparse
import warnings
from functools import cache
from time import perf_counter
from unittest import mock

import numpy as np
from _common import (
    RESULTS_DIR,
    adbench_datasets,
    adbench_split,
    append_row,
    command_line,
    done_keys,
    limit_threads,
    load_adbench,
    load_mnist,
    markdown_table,
    read_results,
    run_detector,
    write_markdown,
)
from oneclass import class_split
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import roc_auc_score

import skvae._base
from skvae import VAEAnomalyDetector
from skvae.datasets import load_penguins

SEED = 1
FIELDS = "family task seed variant roc_auc fit_time command".split()
PEERS = ("KNN", "LOF", "IForest")
_standardization = skvae._base._standardization


def range_scaling(X, likelihood, is_categorical):
    """The detector's ``mean_`` and ``scale_``, but each non-constant
    column scaled by its range instead of its standard deviation."""
    mean, scale = _standardization(X, likelihood, is_categorical)
    span = np.nanmax(X, axis=0) - np.nanmin(X, axis=0)
    return mean, np.where(span > 0, span, scale)


def sparse_range_scaling(X, likelihood, is_categorical):
    """Range scaling only for the columns in which most rows share one
    value (median absolute deviation 0): there the standard deviation
    measures how often a row departs from that value, not how far."""
    mean, scale = _standardization(X, likelihood, is_categorical)
    span = np.nanmax(X, axis=0) - np.nanmin(X, axis=0)
    mad = np.nanmedian(np.abs(X - np.nanmedian(X, axis=0)), axis=0)
    return mean, np.where((span > 0) & (mad == 0), span, scale)


SCALINGS = {
    "std scaling (default)": _standardization,
    "range scaling": range_scaling,
    "range scaling, mostly-constant columns": sparse_range_scaling,
}


@cache
def dev_source(name):
    """Rows and class labels of a development source."""
    if name == "mnist-train":
        X, _, y, _ = load_mnist()
        return X, y
    if name == "cancer":
        return load_breast_cancer(return_X_y=True)
    penguins = load_penguins().dropna()
    X = penguins.select_dtypes("number").to_numpy(dtype=np.float64)
    return X, penguins["species"].cat.codes.to_numpy()


def dev_tasks(quick):
    if quick:
        return ["penguins-1", "cancer-0"]
    return (
        [f"mnist-train-{c}" for c in range(10)]
        + ["cancer-0", "cancer-1"]
        + [f"penguins-{c}" for c in range(3)]
    )


def dev_split(task):
    """``oneclass.py``'s protocol on a development source."""
    source, label = task.rsplit("-", 1)
    return class_split(*dev_source(source), int(label), SEED)


def fit_and_score(split, variant, quick):
    X_train, X_test, _, y_test = split
    detector = VAEAnomalyDetector(
        random_state=SEED, **({"max_iter": 3} if quick else {})
    )
    scaling = SCALINGS[variant]
    with (
        warnings.catch_warnings(),
        mock.patch.object(skvae._base, "_standardization", scaling),
    ):
        warnings.simplefilter("ignore")
        detector.fit(X_train)
    return roc_auc_score(y_test, -detector.score_samples(X_test))


def run(out, quick):
    csv_path = out.with_suffix(".csv")
    done = done_keys(csv_path, ["task", "variant"])
    cases = [("ADBench", name) for name in adbench_datasets()[: 2 if quick else None]]
    cases += [("one-class (development)", task) for task in dev_tasks(quick)]
    for family, task in cases:
        split = (
            adbench_split(*load_adbench(task), SEED)
            if family == "ADBench"
            else (dev_split(task))
        )
        variants = list(SCALINGS)
        if family != "ADBench":
            variants += list(PEERS)
        for variant in variants:
            if (task, variant) in done:
                continue
            if variant in PEERS:
                result = run_detector(variant, SEED, *split[:2], split[3], quick)
                roc_auc, seconds = result["roc_auc"], result["fit_time"]
            else:
                start = perf_counter()
                roc_auc = fit_and_score(split, variant, quick)
                seconds = perf_counter() - start
            row = {"family": family, "task": task, "seed": SEED, "variant": variant}
            row |= {"roc_auc": roc_auc, "fit_time": seconds, "command": command_line()}
            append_row(csv_path, row, FIELDS)
            print(f"{task:<16} {variant:<22} {roc_auc:.4f}", flush=True)


def _cell(value):
    return "" if np.isnan(value) else f"{value:.3f}"


def report(out, note=None):
    results = read_results(out.with_suffix(".csv"))
    if results.empty:
        return
    groups = {
        "MNIST training digits": results["task"].str.startswith("mnist-train"),
        "ADBench": results["family"] == "ADBench",
    }
    results["group"] = np.select(
        list(groups.values()), list(groups), "breast cancer and penguins"
    )
    n_tasks = results.groupby("group")["task"].nunique()
    results["group"] += " (" + results["group"].map(n_tasks).astype(str) + " tasks)"
    order = [*SCALINGS, *PEERS]
    summary = results.pivot_table(
        index="group", columns="variant", values="roc_auc", aggfunc="mean"
    )
    summary = summary[[v for v in order if v in summary]]
    per_task = results.pivot_table(index="task", columns="variant", values="roc_auc")
    per_task = per_task[[v for v in order if v in per_task]]
    body = [f"**Note.** {note}\n"] if note else []
    body += [
        __doc__.split("\n\n", 1)[1].split("\nUsage")[0].strip() + "\n",
        "## Mean ROC-AUC\n",
        markdown_table(summary.map(_cell).reset_index()),
        "\n## ROC-AUC per task\n",
        markdown_table(per_task.map(_cell).reset_index()),
    ]
    write_markdown(
        out.with_suffix(".md"),
        "Why the detector trails KNN and LOF on images: its per-column scaling",
        command_line(),
        "\n".join(body),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke test")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--note", help="text put at the top of the report")
    args = parser.parse_args()
    limit_threads(1)
    out = RESULTS_DIR / ("anomaly_scaling_quick" if args.quick else "anomaly_scaling")
    if not args.report_only:
        run(out, args.quick)
    report(out, args.note)


if __name__ == "__main__":
    main()
