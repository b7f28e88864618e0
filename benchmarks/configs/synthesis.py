"""Synthetic tables: skvae against SDV's TVAE, CTGAN and Gaussian copula.

skvae's ``VAETransformer`` fits a raw DataFrame and ``sample`` returns one
with the same columns and dtypes; this study compares those samples with the
synthesizers of the Synthetic Data Vault (SDV), the usual single-table
reference.

Protocol, per table and seed: a seeded 80/20 train/holdout split (a train
part above 10 000 rows, ``diamonds``, subsampled to 10 000); every
contender fits the train DataFrame (one thread, defaults) and draws as many
rows: ``skvae`` = ``VAETransformer(random_state=seed)``, ``sample(n,
random_state=seed)``; ``TVAE``, ``CTGAN`` (300 epochs) and
``GaussianCopula`` = SDV's synthesizers on the metadata SDV detects from the
train part, ``random``, ``numpy`` and ``torch`` seeded before the fit.

Metrics (real = the train part): SDMetrics ``QualityReport`` (score,
"Column Shapes", "Column Pair Trends"); ML efficacy, a
``HistGradientBoosting`` model (``random_state=0``, categories through an
``OrdinalEncoder`` of the train part's levels) trained on the synthetic rows
and tested on the holdout rows, beside the same model trained on the real
rows (``ml_real``; targets in ``TABLES``, accuracy or R^2); privacy, the
median distance to the closest train record (standardized numbers, one-hot
levels) of the synthetic rows over that of the holdout rows (>= 1: no closer
than new real rows); fit and sample seconds (wall and CPU); for skvae,
``skvae.metrics.realism_score(vae, holdout)`` (1 = indistinguishable).

Usage::

    python -m benchmarks synthesis --quick            # smoke test, < 1 min
    python -m benchmarks synthesis --seeds 1 --datasets penguins,cps1985
    python -m benchmarks synthesis --contenders skvae-200ep
    python -m benchmarks synthesis --report-only --note "..."

SDV is in the ``benchmarks`` extra; its pins (pandas) may differ from the
development environment's, so a separate virtual environment is the safe
place to run this study.
"""

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from benchmarks.harness import data
from benchmarks.harness.contenders import make
from benchmarks.harness.report import (
    markdown_table,
    protocol,
    runs_section,
    write_markdown,
)
from benchmarks.harness.runner import read_results
from benchmarks.harness.timing import clocked, load_line
from skvae.metrics import realism_score

TITLE = "Synthetic tables: skvae against SDV (TVAE, CTGAN, Gaussian copula)"
# table -> (target, task)
TABLES = {
    "penguins": ("species", "classification"),
    "wage": ("health_ins", "classification"),
    "cps1985": ("wage", "regression"),
    "credit_data": ("Status", "classification"),
    "diamonds": ("price", "regression"),
    "ames": ("Sale_Price", "regression"),
}
CONTENDERS = ["skvae", "GaussianCopula", "TVAE", "CTGAN"]
# Not a default: VAETransformer's budget before max_iter="auto", 200 epochs
# with the tol rule on the training loss.
ON_REQUEST = [
    "skvae-gaussian",
    "skvae-200ep",
    "skvae-vamp",
    "skvae-hierarchy",
    "skvae-flow",
]
MAX_TRAIN_ROWS = 10_000
TEST_SIZE = 0.2
FIELDS = (
    "dataset seed contender n_train n_holdout n_columns target task quality "
    "column_shapes pair_trends ml_synthetic ml_real dcr_synthetic dcr_holdout "
    "dcr_ratio realism fit_seconds fit_cpu_seconds sample_seconds info command"
).split()
KEY = ["dataset", "seed", "contender"]
SEEDS = (1,)
QUICK = {"datasets": ["penguins"]}


def datasets(args):
    return list(TABLES)


def split(table, seed):
    """Seeded 80/20 train/holdout split; the train part subsampled to
    ``MAX_TRAIN_ROWS`` rows when larger."""
    train, holdout = train_test_split(table, test_size=TEST_SIZE, random_state=seed)
    if len(train) > MAX_TRAIN_ROWS:
        train = train.sample(MAX_TRAIN_ROWS, random_state=seed)
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


def is_categorical(series):
    return not (
        pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    )


def like_train(frame, train):
    """``frame`` with the train part's column order and numeric columns as
    floats; categorical columns as object (strings, NaN kept)."""
    frame = frame[list(train.columns)].copy()
    for col in train.columns:
        if is_categorical(train[col]):
            # object even when every cell is missing (map would make floats)
            text = frame[col].astype(object)
            text = text.map(lambda v: np.nan if pd.isna(v) else str(v))
            frame[col] = text.astype(object)
        else:
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    return frame


def uncategorize(frame):
    """``frame`` with its ``category`` columns as ``object``: SDV's TVAE and
    CTGAN refuse the category dtype and ask for this cast."""
    frame = frame.copy()
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.CategoricalDtype):
            frame[col] = frame[col].astype(object)
    return frame


def detect_metadata(train, name):
    from sdv.metadata import Metadata

    # SDV 2 dropped ``Metadata.detect_from_dataframe``; its public detector
    # takes a dict of tables (here one).
    if hasattr(Metadata, "detect_from_dataframe"):
        return Metadata.detect_from_dataframe(train, table_name=name)
    return Metadata.detect_from_dataframes({name: train})


# --------------------------------------------------------------- metrics


def quality(train, synthetic, metadata):
    from sdmetrics.reports.single_table import QualityReport

    report = QualityReport()
    meta = metadata.to_dict()
    if "tables" in meta:  # SDV >= 1.10: multi-table layout, one table here
        meta = next(iter(meta["tables"].values()))
    report.generate(train, synthetic, meta, verbose=False)
    props = report.get_properties().set_index("Property")["Score"]
    return (
        report.get_score(),
        float(props.get("Column Shapes", np.nan)),
        float(props.get("Column Pair Trends", np.nan)),
    )


def ml_efficacy(fit_rows, holdout, train, target, task):
    """Accuracy / R^2 on ``holdout`` of a HistGradientBoosting model fitted on
    ``fit_rows`` (all columns but ``target`` as features)."""
    fit_rows = fit_rows[fit_rows[target].notna()]
    holdout = holdout[holdout[target].notna()]
    features = [c for c in train.columns if c != target]
    categorical = [c for c in features if is_categorical(train[c])]
    levels = [sorted(train[c].dropna().astype(str).unique()) for c in categorical]
    unknown = dict(handle_unknown="use_encoded_value", unknown_value=np.nan)
    codes = OrdinalEncoder(categories=levels, encoded_missing_value=np.nan, **unknown)
    steps = [("categories", codes, categorical)]
    kw = dict(remainder="passthrough", verbose_feature_names_out=False)
    encoder = ColumnTransformer(steps, **kw)
    mask = [True] * len(categorical) + [False] * (len(features) - len(categorical))
    classify = task == "classification"
    kind = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
    gbm = kind(categorical_features=mask if categorical else None, random_state=0)
    model = make_pipeline(encoder, gbm)
    y_fit, y_test = fit_rows[target], holdout[target]
    if classify:
        y_fit, y_test = y_fit.astype(str), y_test.astype(str)
        if y_fit.nunique() < 2:
            return np.nan
    model.fit(fit_rows[features], y_fit)
    predicted = model.predict(holdout[features])
    return (accuracy_score if classify else r2_score)(y_test, predicted)


def dcr(train, synthetic, holdout):
    """Median distance to the closest train row of the synthetic rows and of
    the holdout rows (standardized numeric + one-hot categorical)."""
    numeric = [c for c in train.columns if not is_categorical(train[c])]
    categorical = [c for c in train.columns if is_categorical(train[c])]

    def as_text(frame):
        frame = frame.copy()
        for c in categorical:
            frame[c] = frame[c].astype(object).where(frame[c].notna(), "<missing>")
            frame[c] = frame[c].astype(str)
        return frame

    onehot = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    scale = make_pipeline(SimpleImputer(), StandardScaler())
    encoder = ColumnTransformer(
        [("numeric", scale, numeric), ("categories", onehot, categorical)]
    )
    real = encoder.fit_transform(as_text(train))
    neighbors = NearestNeighbors(n_neighbors=1).fit(real)
    medians = []
    for frame in (synthetic, holdout):
        distances, _ = neighbors.kneighbors(encoder.transform(as_text(frame)))
        medians.append(float(np.median(distances)))
    return medians


# ------------------------------------------------------------------- run


def prepare(case, args):
    dataset = case["dataset"]
    train, holdout = split(data.load_table(dataset), case["seed"])
    target, task = TABLES[dataset]
    plain = uncategorize(train)  # what SDV fits, and the real rows of SDMetrics
    metadata = detect_metadata(plain, dataset)
    ml_real = ml_efficacy(
        like_train(train, train), like_train(holdout, train), train, target, task
    )
    return train, holdout, plain, metadata, ml_real


def evaluate(contender, case_data, case, args):
    train, holdout, plain, metadata, ml_real = case_data
    target, task = TABLES[case["dataset"]]
    synth = make("synthesizer", contender, case["seed"], args.quick, metadata=metadata)
    is_skvae = contender.startswith("skvae")
    _, fit_seconds, fit_cpu = clocked(synth.fit, train if is_skvae else plain)
    sample, sample_seconds, _ = clocked(synth.sample, len(train))
    sample = sample.reset_index(drop=True)
    score, shapes, pairs = quality(plain, uncategorize(sample), metadata)
    real_t, synth_t, hold_t = (like_train(f, train) for f in (train, sample, holdout))
    ml = ml_efficacy(synth_t, hold_t, train, target, task)
    dcr_synth, dcr_hold = dcr(real_t, synth_t, hold_t)
    row = dict(n_train=len(train), n_holdout=len(holdout), n_columns=train.shape[1])
    row |= dict(target=target, task=task, quality=score, column_shapes=shapes)
    row |= dict(pair_trends=pairs, ml_synthetic=ml, ml_real=ml_real)
    row |= dict(dcr_synthetic=dcr_synth, dcr_holdout=dcr_hold)
    row["dcr_ratio"] = dcr_synth / dcr_hold if dcr_hold > 0 else np.nan
    row["realism"] = realism_score(synth.estimator, holdout) if is_skvae else np.nan
    row |= dict(fit_seconds=fit_seconds, fit_cpu_seconds=fit_cpu)
    return row | dict(sample_seconds=sample_seconds, info=synth.info())


# ---------------------------------------------------------------- report

METRICS = {
    "quality": "quality",
    "column_shapes": "column shapes",
    "pair_trends": "pair trends",
    "ml_synthetic": "ML on synthetic",
    "ml_real": "ML on real",
    "dcr_ratio": "DCR ratio (median)",
    "realism": "realism (skvae)",
    "fit_seconds": "fit s",
    "sample_seconds": "sample s",
}


def fmt(value, metric):
    if pd.isna(value):
        return ""
    if metric in ("fit_seconds", "sample_seconds"):
        return f"{value:.1f}" if value >= 10 else f"{value:.2f}"
    return f"{value:.3f}"


def contender_table(results, contenders):
    """Means over ``results`` per contender; the DCR ratio as a median, which
    one table of anonymized columns does not swamp."""
    means = results.groupby("contender")[list(METRICS)].mean()
    means["dcr_ratio"] = results.groupby("contender")["dcr_ratio"].median()
    rows = [
        [c] + [fmt(means.loc[c, m], m) for m in METRICS]
        for c in contenders
        if c in means.index
    ]
    return markdown_table(rows, ["contender", *METRICS.values()])


def goals(results):
    """Lines on the goals of the issue: skvae against TVAE on the same cases."""
    values = ["quality", "ml_synthetic", "fit_seconds"]
    wide = results.pivot_table(values, ["dataset", "seed"], "contender")
    if ("quality", "skvae") not in wide or ("quality", "TVAE") not in wide:
        return ["\nNo case with both skvae and TVAE yet."]
    both = wide[[("quality", "skvae"), ("quality", "TVAE")]].dropna().index
    wide = wide.loc[both]
    q_s, q_t = wide["quality"]["skvae"].mean(), wide["quality"]["TVAE"].mean()
    ml_diff = wide["ml_synthetic"]["skvae"] - wide["ml_synthetic"]["TVAE"]
    ratio = wide["fit_seconds"]["skvae"] / wide["fit_seconds"]["TVAE"]
    verdict = {True: "met", False: "not met"}
    return [
        f"\n## Goals (skvae against TVAE, on the {len(both)} cases both have)\n",
        f"- Mean quality score >= TVAE's: skvae {q_s:.4f}, TVAE {q_t:.4f} -> "
        f"{verdict[bool(q_s >= q_t)]}.",
        f"- ML efficacy >= TVAE's: skvae minus TVAE {ml_diff.mean():+.4f} on "
        f"average (accuracy or R^2), skvae ahead on {(ml_diff > 0).sum()}, "
        f"behind on {(ml_diff < 0).sum()}, tied on {(ml_diff == 0).sum()} of "
        f"{len(ml_diff)} cases -> {verdict[bool(ml_diff.mean() >= 0)]} on "
        "average.",
        f"- Fit time <= 1/10 of TVAE's: skvae / TVAE fit seconds, median "
        f"{ratio.median():.3f} (range {ratio.min():.3f}..{ratio.max():.3f}), "
        f"measured in the same process -> met on {(ratio <= 0.1).sum()} of "
        f"{len(ratio)} cases.",
    ]


def library_versions():
    versions = []
    for module in ("sdv", "sdmetrics", "pandas"):
        try:
            versions.append(f"{module} {__import__(module).__version__}")
        except ImportError:
            versions.append(f"{module} not installed")
    return ", ".join(versions)


def report(path, args):
    results = read_results(path.with_suffix(".csv"))
    body = [
        f"At the end: {load_line()} {library_versions()}.\n",
        protocol(__doc__),
        "Means over cases (the DCR ratio: median); times in seconds, wall clock.",
    ]
    if results.empty:
        body.append("\nNo results yet.")
    else:
        results["seed"] = results["seed"].astype(int)
        order = [c for c in CONTENDERS + ON_REQUEST if c in set(results.contender)]
        # Cases on which every contender has a result.
        n_per_case = results.groupby(["dataset", "seed"]).contender.transform("nunique")
        complete = results[n_per_case == len(order)]
        if not complete.empty:
            cases = complete[["dataset", "seed"]].drop_duplicates()
            body += [
                f"\n## Mean over the {len(cases)} cases every contender has "
                f"({', '.join(sorted(cases.dataset.unique()))})\n",
                contender_table(complete, order),
                "\nML efficacy averages accuracies and R^2 of different "
                "tables: compare it within a row of the per-table tables.",
            ]
        body += goals(results)
        for dataset in [d for d in TABLES if d in set(results.dataset)]:
            part = results[results.dataset == dataset]
            first = part.iloc[0]
            metric = "accuracy" if first.task == "classification" else "R^2"
            seeds = ",".join(map(str, sorted(part.seed.unique())))
            body += [
                f"\n## `{dataset}` ({int(first.n_train)} train rows, "
                f"{int(first.n_holdout)} holdout rows, {int(first.n_columns)} "
                f"columns; target `{first.target}`, {metric}; seeds {seeds})\n",
                contender_table(part, order),
            ]
            if dataset == "diamonds":
                body.append(
                    f"\nThe train part is a random subsample of "
                    f"{MAX_TRAIN_ROWS} rows of the 80 % split."
                )
        body += runs_section(results, path.with_suffix(".csv"))
    write_markdown(path.with_suffix(".md"), TITLE, "\n".join(body), note=args.note)
