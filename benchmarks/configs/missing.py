"""Anomaly detection with missing cells: skvae's native handling against
imputation pipelines.

The usual way to run a detector on a table with gaps is an imputer in
front; skvae models the gaps instead (the likelihood covers the observed
cells, the encoder is told which are missing). Contenders, side by side on
identical data, default hyperparameters, 1 thread:

- ``skvae``: ``VAEAnomalyDetector()`` on the data with NaN, its default
  score (the bound on the observed cells, standardized, extrapolated to a
  full row);
- ``skvae-credited``, ``skvae-observed``, ``skvae-per-cell``: the same
  fitted model, scored by the observed-cell bound plus each missing cell's
  ``feature_offset_``, by the observed-cell bound alone, and by that bound
  rescaled to a full row on the data's own scale;
- ``skvae+mean``, ``skvae+iterative``, ``IForest+mean``,
  ``IForest+iterative``: ``SimpleImputer()`` or ``IterativeImputer()`` in
  front of ``VAEAnomalyDetector()`` or ``IsolationForest()``;
- at rate 0 (complete data) ``skvae`` and ``IForest`` alone, the reference.

Protocol: the ADBench split of ``anomaly``, then cells removed at random at
each rate in the train and test parts alike, with ``--pattern cells`` (each
cell missing with probability ``rate``) or ``rows`` (each row draws its
probability uniformly from ``[0, 2 rate]``). ROC-AUC on the test part. The
default datasets are the ADBench sets with at most 40 features and 12000
rows.

Usage::

    python -m benchmarks missing --quick          # smoke test, < 60 s
    python -m benchmarks missing --datasets cardio,thyroid --seeds 1,2,3
    python -m benchmarks missing --pattern rows --rates 0.3 \\
        --contenders skvae,skvae-observed,skvae-per-cell
    python -m benchmarks missing --report-only
"""

import itertools

import numpy as np
import pandas as pd
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, SimpleImputer
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline

from benchmarks.harness import data
from benchmarks.harness.contenders import make
from benchmarks.harness.report import (
    markdown_table,
    protocol,
    runs_section,
    write_markdown,
)
from benchmarks.harness.runner import read_results
from benchmarks.harness.timing import load_line
from skvae._base import BaseVAE

TITLE = "Anomaly detection with missing cells (ADBench)"
FIELDS = "dataset seed pattern rate contender roc_auc seconds command".split()
KEY = ["dataset", "seed", "pattern", "rate", "contender"]
CONTENDERS = (
    "skvae skvae-credited skvae-observed skvae-per-cell skvae+mean "
    "skvae+iterative IForest+mean IForest+iterative"
).split()
COMPLETE = ["skvae", "IForest"]  # the contenders at rate 0
# The scoring rules of the one model that "skvae" fits.
RULES = ["skvae", "skvae-credited", "skvae-observed", "skvae-per-cell"]
PATTERNS = ("cells", "rows")
QUICK = {"datasets": ["Pima"], "rates": "0.3", "pattern": "both"}


def add_arguments(parser):
    parser.add_argument("--rates", default="0.1,0.3,0.5", help="above 0")
    parser.add_argument("--pattern", choices=[*PATTERNS, "both"], default="cells")


def datasets(args):
    shapes = {n: data.load_adbench(n)[0].shape for n in data.adbench_datasets()}
    return [n for n, (rows, cols) in shapes.items() if cols <= 40 and rows <= 12_000]


def cases(args):
    """Seed by seed; rate 0 runs the complete-data reference (``cells``)."""
    patterns = PATTERNS if args.pattern == "both" else [args.pattern]
    rates = [0.0, *(float(r) for r in args.rates.split(","))]
    for seed, dataset, rate in itertools.product(args.seeds, args.datasets, rates):
        if rate == 0:
            case = {"dataset": dataset, "seed": seed, "pattern": "cells", "rate": 0.0}
            yield {**case, "contenders": COMPLETE}
            continue
        for pattern in patterns:
            yield {"dataset": dataset, "seed": seed, "pattern": pattern, "rate": rate}


def remove_cells(X, rate, rng, pattern="cells"):
    """A copy of ``X`` with cells set to NaN, with probability ``rate``
    (``cells``) or a per-row probability from ``[0, 2 rate]`` (``rows``)."""
    X = X.copy()
    if pattern == "cells":
        row_rate = rate
    else:
        row_rate = np.minimum(rng.uniform(0, 2 * rate, size=(X.shape[0], 1)), 1.0)
    X[rng.uniform(size=X.shape) < row_rate] = np.nan
    return X


def prepare(case, args):
    seed, rate = case["seed"], case["rate"]
    X_train, X_test, _, y_test = data.adbench_split(
        *data.load_adbench(case["dataset"]), seed
    )
    rng = np.random.RandomState(1000 + seed)
    if rate > 0:
        X_train = remove_cells(X_train, rate, rng, case["pattern"])
        X_test = remove_cells(X_test, rate, rng, case["pattern"])
    return {"train": X_train, "test": X_test, "y": y_test, "fitted": {}}


def pipeline(contender, seed, quick):
    model, _, imputer = contender.partition("+")
    steps = {
        "mean": [SimpleImputer()],
        "iterative": [IterativeImputer(random_state=seed)],
        "": [],
    }[imputer]
    name = "skvae" if model.startswith("skvae") else model
    # The detector's default budget: the runs of missing.md (2026-11-30)
    # trained 200 epochs instead (max_iter=200), see missing_default.md.
    detector = make("detector", name, seed, quick and name == "skvae").estimator
    return make_pipeline(*steps, detector)


def evaluate(contender, case_data, case, args):
    """ROC-AUC of ``contender``; the scoring rules of ``RULES`` reuse the
    model that ``skvae`` fitted on this case."""
    key = "skvae" if contender in RULES else contender
    fitted = case_data["fitted"]
    if key not in fitted:
        fitted[key] = pipeline(key, case["seed"], args.quick).fit(case_data["train"])
    model, X_test = fitted[key], case_data["test"]
    if contender in RULES[1:]:
        detector = model[-1]
        # The bound on the observed cells only, as VAETransformer reports it.
        scores = BaseVAE.score_samples(detector, X_test)
        missing = np.isnan(X_test)
        if contender == "skvae-credited":
            scores = scores + np.where(missing, detector.feature_offset_, 0).sum(1)
        elif contender == "skvae-per-cell":
            scores = scores * X_test.shape[1] / np.maximum((~missing).sum(1), 1)
        scores = -scores
    else:
        scores = -model.score_samples(X_test)
    return {"roc_auc": roc_auc_score(case_data["y"], scores)}


def pattern_section(results, pattern):
    """The mean ROC-AUC table of one pattern, each rate's loss against
    complete data, and the scoring rules of skvae compared case by case."""
    missing = results[(results.pattern == pattern) & (results.rate > 0)]
    cases = missing[["dataset", "seed"]].drop_duplicates()
    everything = pd.concat([results[results.rate == 0].merge(cases), missing])
    # At each rate, the contenders run on the most cases, over the cases on
    # which all of them have a result; one run on fewer cases (a partial
    # run) is left to the paired comparisons.
    n_per = everything.groupby(["rate", "contender"]).size()
    partial = n_per[n_per < n_per.groupby("rate").transform("max")]
    table = everything.set_index(["rate", "contender"]).drop(partial.index)
    table = table.reset_index()
    n_names = table.groupby(["dataset", "seed", "rate"]).contender.transform("nunique")
    table = table[n_names == table.groupby("rate").contender.transform("nunique")]
    means = table.pivot_table("roc_auc", "contender", "rate")
    cells = means.map(lambda v: "" if pd.isna(v) else f"{v:.4f}")
    cells.insert(0, "contender", cells.index)
    header = ["contender"]
    for rate, group in table.groupby("rate"):
        n_cases = len(group[["dataset", "seed"]].drop_duplicates())
        seeds = ",".join(map(str, sorted(group.seed.unique())))
        header.append(f"rate {rate:g} ({n_cases} cases, seeds {seeds})")
    cells.columns = header
    lines = [f"\n## Pattern `{pattern}`\n", markdown_table(cells)]
    if len(partial):
        lines.append(
            "\nRun on fewer cases, so not in the table (see the paired "
            "comparisons): "
            + ", ".join(
                f"`{c}` at {r:.0%} ({n} cases)" for (r, c), n in partial.items()
            )
            + "."
        )
    auc = everything.pivot_table("roc_auc", ["dataset", "seed"], ["rate", "contender"])
    rates = sorted(set(everything.rate) - {0.0})
    losses, duels = [], []
    for rate in rates:
        for contender in RULES:
            if (0.0, "skvae") in auc and (rate, contender) in auc:
                pair = auc[[(0.0, "skvae"), (rate, contender)]].dropna()
                losses.append(
                    f"- `{contender}` at {rate:.0%} missing: "
                    f"{(pair.iloc[:, 0] - pair.iloc[:, 1]).mean():+.4f} mean ROC-AUC "
                    f"lost against skvae on the complete data ({len(pair)} cases)."
                )
        for a, b in itertools.combinations(RULES, 2):
            if (rate, a) in auc and (rate, b) in auc:
                pair = auc[[(rate, a), (rate, b)]].dropna()
                diff = pair.iloc[:, 0] - pair.iloc[:, 1]
                duels.append(
                    f"- {rate:.0%} missing, `{a}` minus `{b}`: {diff.mean():+.4f} "
                    f"mean ROC-AUC; `{a}` higher on {(diff > 0).sum()}, lower on "
                    f"{(diff < 0).sum()}, tied on {(diff == 0).sum()} of "
                    f"{len(diff)} cases."
                )
    if losses:
        lines += ["\nLoss to complete data, on the same cases:\n", *losses]
    if duels:
        lines += ["\nThe scoring rules of the same fitted skvae, paired:\n", *duels]
    return lines


def report(path, args):
    # Every row, duplicates included, as the committed report read them.
    results = read_results(path.with_suffix(".csv"))
    if results.empty:
        return
    body = [
        f"At the end: {load_line()}\n",
        protocol(__doc__),
        "Mean ROC-AUC on the test part, one table per pattern, over the "
        "(dataset, seed) cases on which every contender of a rate has a result; "
        "rate 0 is the complete data on the same cases.",
    ]
    for pattern in PATTERNS:
        if ((results.pattern == pattern) & (results.rate > 0)).any():
            body += pattern_section(results, pattern)
    names = sorted(results.dataset.unique())
    body.append(f"\nDatasets ({len(names)}): {', '.join(names)}.")
    body += runs_section(results, path.with_suffix(".csv"))
    write_markdown(path.with_suffix(".md"), TITLE, "\n".join(body), note=args.note)
