"""The README's results table, computed from the committed result files.

Run from the repository root::

    python -m benchmarks.readme_table           # rewrite the table in README.md
    python -m benchmarks.readme_table --check   # exit 1 if README.md is stale

The table sits between the two ``results-table`` comment lines of README.md.
Each row is one study: skvae's figure and the best of the other contenders
the study ran (skvae's own variants left out), as the study's report
computes them (mean over datasets and seeds).
"""

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
README = ROOT / "README.md"
START = "<!-- results-table: start (python -m benchmarks.readme_table) -->"
END = "<!-- results-table: end -->"

# Contender names of the result files, as the README prints them.
NAMES = {
    "IForest": "IsolationForest",
    "IForest+iterative": "IterativeImputer + IsolationForest",
    "iterative": "IterativeImputer",
    "LogisticRegression": "LogisticRegression on the labelled rows",
}


def _best_other(means, lower_is_better=False):
    """skvae's value and the best other contender's (name, value)."""
    others = means[~means.index.str.startswith("skvae")]
    best = others.idxmin() if lower_is_better else others.idxmax()
    return means["skvae"], NAMES.get(best, best), others[best]


def _csv_row(task, file, metric, value, contender, data, where=None, lower=False):
    """A row from a CSV result: the mean of ``value`` per ``contender`` over
    the rows that ``where`` selects (all by default)."""
    frame = pd.read_csv(RESULTS / file)
    if where is not None:
        frame = frame[where(frame)]
    means = frame.groupby(contender)[value].mean()
    skvae, name, other = _best_other(means, lower)
    data = data.format(
        datasets=frame["dataset"].nunique(), seeds=frame["seed"].nunique()
    )
    return task, data, metric, skvae, f"{other:.3f} ({name})", file


def _feature_row():
    """16 features of MNIST in a logistic regression (``features.json``)."""
    record = json.loads((RESULTS / "features.json").read_text(encoding="utf-8"))
    rows = [row for row in record["mnist"] if row[1] == 16]
    vae = next(row for row in rows if row[0].startswith("VAE bernoulli"))
    best = max((row for row in rows if not row[0].startswith("VAE")), key=_accuracy)
    data = f"MNIST, {record['n_train']} training images, 16 features"
    metric = "test accuracy of a logistic regression"
    other = f"{best[2]:.3f} ({best[0]})"
    return "Features (Bernoulli likelihood)", data, metric, vae[2], other, "features.md"


def _accuracy(row):
    return row[2]


def rows():
    """The table's rows: (task, data, metric, skvae, best other, file)."""
    return [
        _csv_row(
            "Anomaly detection",
            "anomaly.csv",
            "mean ROC-AUC",
            "roc_auc",
            "detector",
            "ADBench, {datasets} datasets x {seeds} seeds",
        ),
        _csv_row(
            "One-class detection",
            "oneclass.csv",
            "mean ROC-AUC",
            "roc_auc",
            "detector",
            "{datasets} held-out tasks x {seeds} seeds",
        ),
        _csv_row(
            "Anomaly detection, 30% of cells missing",
            "missing_default.csv",
            "mean ROC-AUC",
            "roc_auc",
            "contender",
            "ADBench, {datasets} datasets x {seeds} seeds",
            where=lambda f: f["rate"] == 0.3,
        ),
        _csv_row(
            "Imputation",
            "imputation.csv",
            "mean MSE (lower is better)",
            "value",
            "imputer",
            "MIWAE protocol, 50% removed, {datasets} tables x {seeds} seeds",
            where=lambda f: (f["part"] == 1) & (f["rate"] == 0.5),
            lower=True,
        ),
        _csv_row(
            "Synthetic tables",
            "synthesis.csv",
            "mean SDMetrics quality",
            "quality",
            "contender",
            "{datasets} tables x {seeds} seeds",
        ),
        _csv_row(
            "Realism of synthetic tables",
            "realism.csv",
            "mean classifier two-sample realism (1 = indistinguishable)",
            "realism",
            "contender",
            "{datasets} tables x {seeds} seeds, held-out rows",
        ),
        _csv_row(
            "Semi-supervised classification",
            "semisupervised.csv",
            "mean ROC-AUC",
            "roc_auc",
            "contender",
            "5% labels, {datasets} binary tables x {seeds} seeds",
            where=lambda f: (f["fraction"] == 0.05) & (f["n_classes"] == 2),
        ),
        _feature_row(),
    ]


def table():
    """The Markdown table, with the file each row comes from."""
    lines = [
        "| task | data | metric | skvae | best other measured | result file |",
        "|---|---|---|---|---|---|",
    ]
    for task, data, metric, skvae, other, file in rows():
        report = Path(file).with_suffix(".md").name
        link = f"[`{report}`](benchmarks/results/{report})"
        lines.append(f"| {task} | {data} | {metric} | {skvae:.3f} | {other} | {link} |")
    return "\n".join(lines)


def updated(readme):
    """``readme`` with the text between the markers replaced by the table."""
    head, found, rest = readme.partition(START)
    _, found_end, tail = rest.partition(END)
    if not (found and found_end):
        raise SystemExit(f"README.md lacks the lines {START!r} and {END!r}")
    return f"{head}{START}\n{table()}\n{END}{tail}"


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.readme_table", description=__doc__
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if README.md's table is stale"
    )
    args = parser.parse_args(argv)
    readme = README.read_text(encoding="utf-8")
    new = updated(readme)
    if args.check:
        if new != readme:
            sys.exit(
                "README.md's results table differs from the result files: run "
                "python -m benchmarks.readme_table and commit README.md"
            )
        print("README.md's results table matches benchmarks/results/")
        return
    README.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()
