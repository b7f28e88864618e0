"""Where the detector's and the imputer's defaults lose, and why (issue 25).

Frozen: the measurements behind the user guide's "Where the defaults lose,
and why". Defaults throughout, 1 thread, seed 1 (one split per case: these
are diagnoses, not rankings). Three parts (``--parts``):

- ``tables``: ``tables``' anomaly protocol (part a) on ``credit_data`` and
  ``ames``: ``VAEAnomalyDetector()`` on the raw DataFrame and one-hot +
  ``IsolationForest`` on the seed-1 split. For each column of the raw
  model, ``score_samples_per_feature`` on the test part gives the column's
  standard deviation over rows (nats), its share of the variance of the
  row score (covariances left out), and the ROC-AUC of that column alone;
  and the ROC-AUC of the numeric columns' and of the categorical columns'
  sums. The five columns with the largest spread are listed.
- ``missing``: ``missing``'s protocol (ADBench split, 30 % of the cells of
  the train and test parts removed at random, seed 1) with the detector's
  default budget (``missing.md`` ran ``max_iter=200``). Four ROC-AUCs
  separate what training on gaps costs from what scoring gappy rows costs:
  a model fitted on the complete train part scoring the complete
  (``full/full``) and the gappy test part (``full/gappy``), and a model
  fitted on the gappy train part scoring both (``gappy/full``,
  ``gappy/gappy``, the benchmark's case).
- ``imputation``: ``imputation_defaults``' protocol (standardized table,
  cells removed at random with seed 1) at 20 % and 50 %: the MSE of
  ``VAEImputer()`` on the removed cells and, per column, the ratio of the
  decoder's learned standard deviation to the root-mean-square error of
  the imputed means on the removed cells. ``sample_posterior`` draws a
  cell from the decoder at a latent draw, so a ratio below 1 makes its
  intervals too narrow, unless the latent draws spread the cells enough.

Data that informed the diagnoses: the tables and ADBench sets named, the
development data of the detector and of the imputer; none of
``oneclass``'s held-out tasks.

Usage::

    python -m benchmarks loss_diagnosis --quick
    python -m benchmarks loss_diagnosis
    python -m benchmarks loss_diagnosis --parts missing --datasets wine,glass
"""

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from benchmarks.configs.missing import remove_cells
from benchmarks.configs.tables import anomaly_table, onehot
from benchmarks.harness import data
from benchmarks.harness.report import markdown_table, protocol, write_markdown
from benchmarks.harness.runner import read_results
from benchmarks.studies.imputation_defaults import prepare as imputation_data
from skvae import VAEAnomalyDetector, VAEImputer

# The commit that produced each result file (``git checkout`` it to reproduce
# the file exactly); the missing part's extension ran at ba450a1, as the
# report's note says. The report quotes this module's docstring, so it is here.
COMMITS = {"loss_diagnosis": "4dca3dd"}
TITLE = "Where the defaults lose, and why: diagnoses"
PARTS = {
    "tables": ["credit_data", "ames"],
    # The first eight were the first diagnosis; the others, added after
    # missing_default.md, complete missing's 28 ADBench sets.
    "missing": [
        *("breastw", "glass", "Ionosphere", "vertebral", "wine", "WDBC", "yeast"),
        *("Stamps", "annthyroid", "cardio", "Cardiotocography", "fault"),
        *("Hepatitis", "landsat", "letter", "Lymphography", "mammography"),
        *("PageBlocks", "pendigits", "Pima", "satellite", "satimage-2"),
        *("thyroid", "vowels", "Waveform", "WBC", "Wilt", "WPBC"),
    ],
    "imputation": ["concrete", "wine", "glass"],
}
CONTENDERS = ["skvae"]
FIELDS = "part dataset seed contender metric value seconds info command".split()
KEY = ["part", "dataset", "seed", "contender", "metric"]
SEEDS = (1,)
QUICK = {"datasets": ["wine", "concrete"], "max_iter": 2, "parts": "missing"}


def add_arguments(parser):
    parser.add_argument("--parts", default="tables,missing,imputation")
    parser.add_argument("--max-iter", type=int, help="override (smoke tests)")


def datasets(args):
    return [d for names in PARTS.values() for d in names]


def cases(args):
    parts = args.parts.split(",")
    if args.quick:
        parts = ["missing", "imputation"]
    for seed in args.seeds:
        for part in parts:
            for dataset in PARTS[part]:
                if dataset in args.datasets:
                    yield {"part": part, "dataset": dataset, "seed": seed}


def _kw(args, seed):
    return {"random_state": seed} | (
        {"max_iter": args.max_iter} if args.max_iter else {}
    )


def prepare(case, args):
    return case


def evaluate(contender, case, _, args):
    part = case["part"]
    rows = {"tables": _tables, "missing": _missing, "imputation": _imputation}[part](
        case, args
    )
    return [{"metric": k, "value": v, "info": i} for k, v, i in rows]


def _tables(case, args):
    seed = case["seed"]
    X, y = anomaly_table(case["dataset"])
    X_train, X_test, _, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=seed
    )
    detector = VAEAnomalyDetector(**_kw(args, seed)).fit(X_train)
    forest = make_pipeline(onehot(X_train), IsolationForest(random_state=seed))
    forest.fit(X_train)
    per_cell = pd.DataFrame(
        detector.score_samples_per_feature(X_test), columns=X.columns
    )
    categorical = detector.is_categorical_
    forest_scores = -forest.score_samples(X_test)
    numeric_sum = _auc(y_test, per_cell.loc[:, ~categorical])
    categorical_sum = _auc(y_test, per_cell.loc[:, categorical])
    rows = [
        ("auc skvae", roc_auc_score(y_test, -detector.score_samples(X_test)), ""),
        ("auc IForest-onehot", roc_auc_score(y_test, forest_scores), ""),
        ("auc numeric columns' sum", numeric_sum, ""),
        ("auc categorical columns' sum", categorical_sum, ""),
    ]
    spread = per_cell.std().sort_values(ascending=False)
    variance = per_cell.var()
    for column in spread.index[:5]:
        kind = "categorical" if categorical[X.columns.get_loc(column)] else "numeric"
        share = variance[column] / variance.sum()
        zero = float((X_train[column] == 0).mean()) if kind == "numeric" else np.nan
        info = f"{kind}; share of variance {share:.3f}; zero in {zero:.0%} of rows"
        rows.append((f"std nats {column}", spread[column], info))
        rows.append((f"auc alone {column}", _auc(y_test, per_cell[[column]]), ""))
    return rows


def _auc(y, per_cell):
    return roc_auc_score(y, -per_cell.sum(axis=1))


def _missing(case, args):
    seed = case["seed"]
    X_train, X_test, _, y_test = data.adbench_split(
        *data.load_adbench(case["dataset"]), seed
    )
    rng = np.random.RandomState(1000 + seed)
    gappy_train = remove_cells(X_train, 0.3, rng, "cells")
    gappy_test = remove_cells(X_test, 0.3, rng, "cells")
    full = VAEAnomalyDetector(**_kw(args, seed)).fit(X_train)
    gappy = VAEAnomalyDetector(**_kw(args, seed)).fit(gappy_train)
    return [
        (f"auc {fit}/{test}", roc_auc_score(y_test, -model.score_samples(X)), "")
        for fit, model in [("full", full), ("gappy", gappy)]
        for test, X in [("full", X_test), ("gappy", gappy_test)]
    ]


def _imputation(case, args):
    rows = []
    for rate in (0.2, 0.5):
        X, removed = imputation_data({"table": case["dataset"], "rate": rate}, args)
        imputer = VAEImputer(**_kw(args, case["seed"]))
        filled = imputer.fit_transform(np.where(removed, np.nan, X))
        error = np.where(removed, filled - X, np.nan)
        rmse = np.sqrt(np.nanmean(error**2, axis=0))
        # The data are standardized before the gaps are made, so the
        # imputer's own scale_ is about 1; the decoder's scale is in its
        # standardized units.
        scale = imputer.net_.module_.likelihood.scale().detach().numpy()
        ratio = scale * imputer.scale_ / rmse
        rows += [
            (f"mse {rate:.0%}", np.nanmean(error**2), ""),
            (
                f"decoder scale / rmse {rate:.0%}",
                float(np.median(ratio)),
                f"median over columns; range {ratio.min():.2f}-{ratio.max():.2f}",
            ),
        ]
    return rows


def report(path, args):
    results = read_results(path.with_suffix(".csv"))
    if results.empty:
        return
    sections = []
    for part, rows in results.groupby("part", sort=False):
        rows = rows.assign(
            value=rows["value"].map("{:.4f}".format), info=rows["info"].fillna("")
        )
        if part == "missing":
            table = rows.pivot_table(
                "value", "dataset", "metric", aggfunc="first", sort=False
            )
            means = (
                results[results.part == "missing"]
                .pivot_table("value", "dataset", "metric")
                .mean()
            )
            table.loc["mean"] = means.map("{:.4f}".format)
            body = markdown_table(table.reset_index())
        else:
            body = markdown_table(rows[["dataset", "metric", "value", "info"]])
        sections.append(f"## {part}\n\n{body}")
    text = protocol(__doc__) + "\n\n" + "\n\n".join(sections)
    write_markdown(path.with_suffix(".md"), TITLE, text, note=args.note)
