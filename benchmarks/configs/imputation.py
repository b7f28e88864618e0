"""Imputation: ``VAEImputer`` against scikit-learn's imputers, four parts.

Every imputer single-threaded, default hyperparameters. Imputers: ``mean``
(``SimpleImputer``), ``KNN`` (``KNNImputer``), ``iterative``
(``IterativeImputer``, BayesianRidge), ``missForest`` (``IterativeImputer``
of ``ExtraTreesRegressor(n_estimators=100)``, ``max_iter=10``) and ``skvae``
(``VAEImputer(random_state=seed)``).

1. **MIWAE protocol** (Mattei & Frellsen, ICML 2019): a complete numeric
   table, standardized, loses each cell completely at random with
   probability ``rate`` (50 % and 20 %; the mask seeded by dataset, seed and
   rate); each imputer fits the gappy table and imputes it (in-sample, as in
   the paper); MSE on the removed cells. Tables: ``breast``
   (``load_breast_cancer``), ``concrete``, ``yeast`` (as in the paper),
   ``glass``, ``Ionosphere`` and ``wine`` (ADBench, 5-40 features).
2. **Mixed tables** (``penguins``, ``wage``, ``credit_data``, ``ames``): 20 %
   of the observed cells removed (their own gaps stay, unscored); integer
   columns become float64. ``num_mse``: MSE of numeric cells standardized by
   their column's observed mean and std; ``cat_accuracy``: share of
   categorical cells given their true level. Imputers: ``mean+mode``,
   ``missForest`` (ordinal codes regressed, rounded and clipped back to
   levels), ``KNN`` (standardized numbers, one-hot levels with NaN in every
   dummy of a missing cell, the largest imputed dummy wins) and ``skvae`` on
   the raw DataFrame.
3. **Downstream**: 5-fold CV score of imputer + encoding + model on tables
   with natural gaps: ``credit_data`` (``Status``,
   ``LogisticRegression(max_iter=1000)``, accuracy, stratified folds) and
   ``airquality`` (``Ozone`` where observed, ``Ridge()``, R^2). The peers
   encode first (numbers standardized with NaN kept, levels most-frequent
   filled and one-hot) then impute (``iterative`` and ``missForest`` with
   ``skip_complete=True``); ``skvae`` imputes the raw features first.
4. **Multiple imputation**: on the part-1 tables at 50 %, ``--draws`` (20)
   fits of ``VAEImputer(sample_posterior=True, random_state=r)`` and of
   ``IterativeImputer(sample_posterior=True, random_state=r)``. A removed
   cell's interval runs from its smallest to its largest draw: were the
   truth one more draw, it would fall inside with probability (draws - 1) /
   (draws + 1) (0.905 for 20), the nominal level. ``coverage``: share of
   removed cells inside; ``width``: mean width (standardized units);
   ``coverage_5_95``: the 5th to 95th percentile instead (about 0.82 for a
   calibrated imputer and 20 draws).

Usage::

    python -m benchmarks imputation --quick          # smoke test, < 60 s
    python -m benchmarks imputation                  # every part below
    python -m benchmarks imputation --parts 1,4 --seeds 1 --datasets glass,wine
    python -m benchmarks imputation --contenders skvae-1000ep --parts 1
    python -m benchmarks imputation --report-only

Own options: see ``--help``. Part 4 runs the first seed only;
``--datasets`` and ``--contenders`` restrict every part to its own names.
"""

import time
import warnings
import zlib

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.datasets import load_breast_cancer
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
)

from benchmarks.harness import data
from benchmarks.harness.contenders import IMPUTERS, make
from benchmarks.harness.report import (
    grid,
    markdown_table,
    mean_std,
    ordered,
    protocol,
    runs_section,
    write_markdown,
)
from benchmarks.harness.runner import read_results
from benchmarks.harness.timing import load_line
from skvae import VAEImputer

TITLE = "Imputation (VAEImputer)"
FIELDS = (
    "part dataset seed rate imputer metric value seconds n_cells info command"
).split()
# A case of an imputer; part 2 writes two metric rows for it, part 4 four.
KEY = ["part", "dataset", "seed", "rate", "imputer"]
CONTENDER = "imputer"
NUMERIC_DATASETS = ["breast", "concrete", "yeast", "glass", "Ionosphere", "wine"]
MIXED_DATASETS = ["penguins", "wage", "credit_data", "ames"]
DOWNSTREAM_DATASETS = ["credit_data", "airquality"]
NUMERIC_IMPUTERS = list(IMPUTERS)
MIXED_IMPUTERS = ["mean+mode", "KNN", "missForest", "skvae"]
MI_IMPUTERS = ["skvae", "iterative"]
CONTENDERS = [*NUMERIC_IMPUTERS, "mean+mode"]
# Part 1 only, not a default and left out of the ranks: skvae trained for
# 1000 epochs without the stopping rule, run only when --contenders names it.
DIAGNOSTIC = "skvae-1000ep"
# Part 1 only, on request: the imputer with the column likelihoods that
# likelihood="auto" chooses (its default is "gaussian").
AUTO = "skvae-auto"
ON_REQUEST = [DIAGNOSTIC, AUTO]
SEEDS = (1, 2, 3)
MIXED_RATE = 0.2
MI_RATE = 0.5
LEVEL = 0.9  # the percentile interval of coverage_5_95: 5th to 95th
QUICK = {"datasets": ["glass", "penguins", "airquality"], "seeds": [1]}
QUICK |= {"rates": "0.5", "draws": 3}


def add_arguments(parser):
    parser.add_argument("--parts", default="1,2,3,4", help="comma-separated parts")
    parser.add_argument("--rates", default="0.5,0.2", help="part 1")
    parser.add_argument("--draws", type=int, default=20, help="part 4")


def datasets(args):
    return NUMERIC_DATASETS + MIXED_DATASETS + DOWNSTREAM_DATASETS


def cases(args):
    """(part, dataset, seed, rate), seed by seed; each part runs the
    datasets and imputers it holds."""
    parts = [int(p) for p in args.parts.split(",")]
    holds = {
        1: (NUMERIC_DATASETS, [*NUMERIC_IMPUTERS, DIAGNOSTIC, AUTO]),
        2: (MIXED_DATASETS, MIXED_IMPUTERS),
        3: (DOWNSTREAM_DATASETS, NUMERIC_IMPUTERS),
        4: (NUMERIC_DATASETS, MI_IMPUTERS),
    }
    for part in parts:
        names, imputers = holds[part]
        imputers = [i for i in imputers if i in args.contenders]
        for seed in args.seeds if part != 4 else args.seeds[:1]:
            for dataset in [d for d in names if d in args.datasets]:
                rates = {1: [float(r) for r in args.rates.split(",")]}
                rates |= {2: [MIXED_RATE], 3: [0.0], 4: [MI_RATE]}
                for rate in rates[part]:
                    case = {"part": part, "dataset": dataset, "seed": seed}
                    yield case | {"rate": rate, "contenders": imputers}


# ------------------------------------------------------------------ data


def load_numeric(name):
    """A complete numeric table of part 1, standardized on all its rows."""
    if name == "breast":
        X = load_breast_cancer().data
    elif name == "concrete":
        X = data.load_table("concrete").to_numpy(dtype=np.float64)
    else:
        X, _ = data.load_adbench(name)
    return StandardScaler().fit_transform(np.asarray(X, dtype=np.float64))


def case_rng(dataset, seed, rate):
    """The random state of one case's mask, seeded by dataset, seed, rate."""
    return np.random.RandomState(
        [zlib.crc32(dataset.encode()), seed, int(round(rate * 1000))]
    )


def mcar_mask(shape, rate, rng, observed=None):
    """Cells removed completely at random, each with probability ``rate``
    (among the ``observed`` cells only, when given)."""
    mask = rng.uniform(size=shape) < rate
    return mask if observed is None else mask & observed


# ------------------------------------------------------------- imputers


def numeric_imputer(name, seed, quick, **kw):
    if name == DIAGNOSTIC:
        return VAEImputer(random_state=seed, max_iter=1000, n_iter_no_change=10**6)
    if name == AUTO:
        # A DataFrame: "auto" chooses families for a table's columns.
        imputer = make("imputer", "skvae", seed, quick, likelihood="auto", **kw)
        return make_pipeline(FunctionTransformer(pd.DataFrame), imputer.estimator)
    return make("imputer", name, seed, quick, **kw).estimator


def split_columns(frame):
    """The categorical columns of ``frame``, then the others."""
    cats = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    return cats, [c for c in frame.columns if c not in cats]


def as_object(frame, columns):
    """``frame`` with ``columns`` as object columns holding ``np.nan``."""
    frame = frame.copy()
    for c in columns:
        frame[c] = frame[c].astype(object).where(frame[c].notna(), np.nan)
    return frame


def impute_mean_mode(frame, seed, quick):
    cats, nums = split_columns(frame)
    steps = [("num", SimpleImputer(), nums)]
    steps += [("cat", SimpleImputer(strategy="most_frequent"), cats)]
    ct = ColumnTransformer(steps, verbose_feature_names_out=False)
    out = ct.fit_transform(as_object(frame, cats))
    out = pd.DataFrame(out, columns=nums + cats, index=frame.index)[frame.columns]
    for c in nums:
        out[c] = out[c].astype(np.float64)
    return out


def impute_missforest(frame, seed, quick):
    cats, nums = split_columns(frame)
    encoder = OrdinalEncoder(encoded_missing_value=np.nan)
    codes = encoder.fit_transform(as_object(frame, cats)[cats]) if cats else None
    X = frame[nums].to_numpy(np.float64)
    if cats:
        X = np.hstack([X, codes])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X = numeric_imputer("missForest", seed, quick).fit_transform(X)
    out = frame.copy()
    out[nums] = X[:, : len(nums)]
    for j, c in enumerate(cats):
        levels = [v for v in encoder.categories_[j] if not pd.isna(v)]
        code = np.clip(np.round(X[:, len(nums) + j]), 0, len(levels) - 1).astype(int)
        out[c] = pd.Categorical(np.asarray(levels, dtype=object)[code])
    return out


def impute_knn(frame, seed, quick):
    cats, nums = split_columns(frame)
    X_num = frame[nums].to_numpy(np.float64)
    mean, std = np.nanmean(X_num, axis=0), np.nanstd(X_num, axis=0)
    std[std == 0] = 1.0
    blocks, levels = [(X_num - mean) / std], {}
    for c in cats:
        levels[c] = list(frame[c].cat.categories)
        dummies = np.array(
            pd.get_dummies(frame[c]).reindex(columns=levels[c]), dtype=float
        )
        dummies[frame[c].isna().to_numpy()] = np.nan
        blocks.append(dummies)
    X = KNNImputer(keep_empty_features=True).fit_transform(np.hstack(blocks))
    out = frame.copy()
    out[nums] = X[:, : len(nums)] * std + mean
    start = len(nums)
    for c in cats:
        block = X[:, start : start + len(levels[c])]
        start += len(levels[c])
        out[c] = pd.Categorical(
            np.asarray(levels[c], dtype=object)[block.argmax(axis=1)],
            categories=levels[c],
        )
    return out


def impute_skvae(frame, seed, quick):
    # The frame in its own dtypes (the default output is an array).
    imputer = numeric_imputer("skvae", seed, quick).set_output(transform="pandas")
    return imputer.fit(frame).transform(frame)


MIXED_FUNCTIONS = {
    "mean+mode": impute_mean_mode,
    "KNN": impute_knn,
    "missForest": impute_missforest,
    "skvae": impute_skvae,
}


# ----------------------------------------------------------------- parts


def prepare(case, args):
    """The data of one case: the complete table and its mask of removed
    cells (parts 1, 2, 4), or features and target (part 3)."""
    part, dataset, seed, rate = (case[k] for k in ("part", "dataset", "seed", "rate"))
    if part == 3:
        return downstream_data(dataset)
    if part == 2:
        table = data.load_table(dataset)
        nums = split_columns(table)[1]
        table[nums] = table[nums].astype(np.float64)
        observed = table.notna().to_numpy()
        mask = mcar_mask(table.shape, rate, case_rng(dataset, seed, rate), observed)
        return table, mask
    X = load_numeric(dataset)
    return X, mcar_mask(X.shape, rate, case_rng(dataset, seed, rate))


def evaluate(imputer, case_data, case, args):
    by_part = {1: evaluate_numeric, 2: evaluate_mixed, 3: evaluate_downstream}
    if case["part"] == 4:
        rows = evaluate_multiple(imputer, *case_data, args.draws, args.quick)
    else:
        rows = by_part[case["part"]](imputer, *case_data, case["seed"], args.quick)
    return [{"info": ""} | row for row in rows]


def evaluate_numeric(name, X, mask, seed, quick):
    """Part 1: MSE of the removed cells, imputing the table fitted on."""
    X_gaps = np.where(mask, np.nan, X)
    imputer = numeric_imputer(name, seed, quick)
    start = time.perf_counter()
    X_filled = imputer.fit(X_gaps).transform(X_gaps)
    seconds = time.perf_counter() - start
    # Imputers drop columns with no observed cell; none is empty here.
    mse = float(np.mean((X_filled[mask] - X[mask]) ** 2))
    info = f"n_iter={imputer.n_iter_}" if hasattr(imputer, "n_iter_") else ""
    row = {"metric": "mse", "value": mse, "seconds": seconds, "info": info}
    return [row | {"n_cells": mask.sum()}]


def evaluate_mixed(name, table, mask, seed, quick):
    """Part 2: standardized MSE of numeric cells, accuracy of categorical."""
    cats, nums = split_columns(table)
    gaps = table.mask(mask)
    for c in cats:  # mask() keeps the categorical dtype; make sure
        gaps[c] = pd.Categorical(gaps[c], categories=table[c].cat.categories)
    is_cat = np.array([c in cats for c in table.columns])
    filled = MIXED_FUNCTIONS[name](gaps, seed, quick)
    assert list(filled.columns) == list(table.columns), name
    assert not filled.isna().to_numpy()[mask].any(), name
    std = table[nums].std().to_numpy(np.float64)
    z = (filled[nums].to_numpy(np.float64) - table[nums].to_numpy(np.float64)) / std
    m = (mask & ~is_cat)[:, ~is_cat]
    num_mse = float(np.mean(z[m] ** 2))
    truth = table[cats].astype(object).to_numpy()
    got = filled[cats].astype(object).to_numpy()
    c = (mask & is_cat)[:, is_cat]
    accuracy = float(np.mean(truth[c] == got[c])) if c.any() else np.nan
    return [
        {"metric": "num_mse", "value": num_mse, "n_cells": m.sum()},
        {"metric": "cat_accuracy", "value": accuracy, "n_cells": c.sum()},
    ]


def downstream_data(dataset):
    if dataset == "credit_data":
        table = data.load_table("credit_data")
        return table.drop(columns="Status"), table["Status"].astype(str), "accuracy"
    table = data.load_table("airquality")
    table = table[table["Ozone"].notna()].reset_index(drop=True)
    return table.drop(columns="Ozone"), table["Ozone"], "r2"


def encoding(fill):
    """Numeric columns standardized (NaN kept), categorical ones one-hot,
    after a most-frequent fill when ``fill``."""
    to_object = FunctionTransformer(lambda X: as_object(X, list(X.columns)))
    steps = [to_object, SimpleImputer(strategy="most_frequent")] if fill else []
    steps.append(OneHotEncoder(handle_unknown="ignore", sparse_output=False))
    numbers = make_column_selector(dtype_exclude="category")
    levels = make_column_selector(dtype_include="category")
    cat = make_pipeline(*steps)
    return ColumnTransformer([("num", StandardScaler(), numbers), ("cat", cat, levels)])


def evaluate_downstream(name, X, y, metric, seed, quick):
    """Part 3: 5-fold CV score of the imputer in front of a model."""
    if metric == "accuracy":
        model = LogisticRegression(max_iter=1000)
        cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    else:
        model = Ridge()
        cv = KFold(5, shuffle=True, random_state=seed)
    if name == "skvae":
        # The encoding selects columns by dtype: the imputer's typed frame.
        imputer = numeric_imputer(name, seed, quick).set_output(transform="pandas")
        pipe = make_pipeline(imputer, encoding(fill=False), model)
    else:
        kw = {"skip_complete": True} if name in ("iterative", "missForest") else {}
        imputer = numeric_imputer(name, seed, quick, **kw)
        pipe = make_pipeline(encoding(fill=True), imputer, model)
    scores = cross_validate(pipe, X, y, cv=cv, scoring=metric)["test_score"]
    info = f"fold_std={scores.std():.4f}"
    row = {"metric": metric, "value": float(scores.mean()), "info": info}
    return [row | {"n_cells": int(X.isna().to_numpy().sum())}]


def evaluate_multiple(name, X, mask, draws, quick):
    """Part 4: ``draws`` imputations, 90 % intervals, coverage and width."""
    X_gaps = np.where(mask, np.nan, X)
    values = []
    for r in range(draws):
        if name == "skvae":
            imputer = numeric_imputer("skvae", r, quick, sample_posterior=True)
        else:
            imputer = IterativeImputer(sample_posterior=True, random_state=r)
        values.append(imputer.fit(X_gaps).transform(X_gaps)[mask])
    values, truth = np.asarray(values), X[mask]  # (draws, n_removed)
    # The range of the draws: if the truth were one more draw from the same
    # distribution, it would fall inside with probability (draws - 1) /
    # (draws + 1), whatever the distribution (0.905 for 20 draws).
    low, high = values.min(axis=0), values.max(axis=0)
    coverage = float(np.mean((truth >= low) & (truth <= high)))
    width = float(np.mean(high - low))
    # The 5th to 95th percentile of the draws, as the first version read
    # them: from 20 draws a calibrated imputer covers about 0.82, not 0.90.
    tail = 100 * (1 - LEVEL) / 2
    low, high = np.percentile(values, [tail, 100 - tail], axis=0)
    coverage_5_95 = float(np.mean((truth >= low) & (truth <= high)))
    mse = float(np.mean((values.mean(axis=0) - truth) ** 2))
    metrics = {"coverage": coverage, "width": width}
    metrics |= {"coverage_5_95": coverage_5_95, "mse_of_mean": mse}
    info, n_cells = f"draws={draws}", int(mask.sum())
    return [
        {"metric": k, "value": v, "info": info, "n_cells": n_cells}
        for k, v in metrics.items()
    ]


# ---------------------------------------------------------------- report


def seeds_of(frame):
    return ",".join(map(str, sorted(frame.seed.unique())))


def per_dataset(part, datasets, imputers, **extra):
    """A markdown table: dataset, its seeds, ``extra`` columns (Series by
    dataset) and "mean ± std" per imputer."""
    seeds = part.groupby("dataset").seed.unique()
    front = {"seeds": seeds.map(lambda s: ",".join(map(str, sorted(s)))), **extra}
    kw = dict(rows=datasets, cols=imputers, front=front)
    table = grid(part, "dataset", "imputer", "value", **kw)
    return markdown_table(table.reset_index())


def section_numeric(results):
    part = results[results.part == 1]
    if part.empty:
        return []
    variants = part[part.imputer.isin(ON_REQUEST)]
    part = part[~part.imputer.isin(ON_REQUEST)]
    imputers = ordered(part.imputer.unique(), NUMERIC_IMPUTERS)
    lines = [
        "\n## 1. MIWAE protocol: MSE on the removed cells (standardized data)\n",
        "Mean ± std over seeds (lower is better). Summary: ranks per dataset "
        "by mean MSE, averaged over the datasets where every imputer ran; "
        "seconds: fit + transform, mean per case.",
    ]
    for rate in sorted(part.rate.unique(), reverse=True):
        p = part[part.rate == rate]
        lines += [
            f"\n### {rate:.0%} of the cells removed\n",
            per_dataset(p, NUMERIC_DATASETS, imputers),
        ]
        means = p.groupby(["dataset", "imputer"]).value.mean().unstack().dropna()
        if means.empty:
            continue
        ranks = means.rank(axis=1).mean()
        seconds = p[p.dataset.isin(means.index)].groupby("imputer").seconds.mean()
        summary = [
            [i, f"{ranks[i]:.2f}", f"{means[i].mean():.4f}", f"{seconds[i]:.1f}"]
            for i in imputers
            if i in means
        ]
        lines += [
            f"\nSummary at {rate:.0%} over {len(means)} datasets "
            f"({', '.join(means.index)}):\n",
            markdown_table(summary, ["imputer", "mean rank", "mean MSE", "seconds"]),
        ]
        if {"skvae", "missForest"} <= set(means.columns):
            best, skvae, forest = ranks.idxmin(), *means[["skvae", "missForest"]].mean()
            goal = best == "skvae" and skvae < forest
            lines.append(
                f"\nGoal (skvae best mean rank and mean MSE below missForest's) "
                f"at {rate:.0%}: **{'met' if goal else 'not met'}** (best mean "
                f"rank: {best}; skvae {skvae:.4f} vs missForest {forest:.4f})."
            )
    for name in ON_REQUEST:
        rows = variants[variants.imputer == name]
        if not rows.empty:
            lines += variant_section(part, rows, name)
    return lines


# What each variant of part 1 is, for its section of the report.
VARIANTS = {
    DIAGNOSTIC: (
        "`VAEImputer(random_state=seed, max_iter=1000, n_iter_no_change=10**6)`: "
        "the same model trained for 1000 epochs, the stopping rule switched off"
    ),
    AUTO: (
        '`VAEImputer(random_state=seed, likelihood="auto")` on the table as a '
        'DataFrame: the column likelihoods that `"auto"` chooses (discrete, '
        "histogram or Gaussian per column)"
    ),
}


def variant_section(part, variant, name):
    keys = ["dataset", "seed", "rate"]
    paired = part[part.imputer.isin(["missForest", "skvae"])]
    paired = paired.pivot_table("value", keys, "imputer")
    paired = paired.join(variant.set_index(keys).value.rename(name), how="inner")
    names = ["missForest", "skvae", name]
    if paired.empty:
        return [f"\n`{name}` ran on no case that missForest and skvae ran on."]
    cells = []
    for rate in sorted(paired.index.get_level_values("rate").unique(), reverse=True):
        p = paired.xs(rate, level="rate")
        means = p.groupby(level="dataset").mean()
        for d in ordered(means.index, NUMERIC_DATASETS):
            seeds = ",".join(map(str, sorted(p.xs(d, level="dataset").index)))
            cells.append(
                [f"{rate:.0%}", d, seeds, *means.loc[d, names].map("{:.3f}".format)]
            )
        cells.append(
            [f"{rate:.0%}", "**mean**", ""]
            + [f"**{means[c].mean():.3f}**" for c in names]
        )
    return [
        f"\n### Variant: `{name}` (not a default)\n",
        f"`{name}` is {VARIANTS[name]}, on the same masks; it is left out of "
        "the ranks and goals above. Mean MSE over the seeds where it ran, with "
        "the default skvae and missForest on the same cases.\n",
        markdown_table(cells, ["rate", "dataset", "seeds", *names]),
        f"\n`{name}` took {variant.seconds.mean():.0f} s per case on average "
        "(the default skvae: the `seconds` column of the summaries).",
    ]


def section_mixed(results):
    part = results[results.part == 2]
    if part.empty:
        return []
    imputers = ordered(part.imputer.unique(), MIXED_IMPUTERS)
    lines = [
        "\n## 2. Mixed tables: 20 % of the observed cells removed\n",
        "Mean ± std over seeds; `cells`: removed cells per seed.",
    ]
    for metric in ["num_mse", "cat_accuracy"]:
        p = part[part.metric == metric]
        n_cells = p.groupby("dataset").n_cells.first().astype(int)
        table = per_dataset(p, MIXED_DATASETS, imputers, cells=n_cells)
        lines += [f"\n### `{metric}`\n", table]
    p = part[part.metric == "num_mse"]
    cell = lambda v: f"{v.mean():.1f}"  # noqa: E731
    seconds = grid(p, "dataset", "imputer", "seconds", cell, MIXED_DATASETS, imputers)
    lines += [
        "\nSeconds (fit + impute, mean per case):\n",
        markdown_table(seconds.reset_index()),
    ]
    acc = part[part.metric == "cat_accuracy"].pivot_table("value", "dataset", "imputer")
    if "skvae" in acc and len(acc.columns) > 1:
        # Per dataset, against the peers that ran on it (mean over seeds).
        wins, lost = [], []
        for d in ordered(acc.index, MIXED_DATASETS):
            peers = acc.loc[d].drop("skvae").dropna()
            (wins if acc.loc[d, "skvae"] > peers.max() else lost).append(
                f"{d}: skvae {acc.loc[d, 'skvae']:.3f}, best peer "
                f"{peers.max():.3f} ({peers.idxmax()}, of {len(peers)})"
            )
        lines.append(
            f"\nGoal (skvae's categorical accuracy above every peer's): skvae "
            f"highest on {len(wins)} of {len(acc)} datasets; "
            + "; ".join(wins + lost)
            + f". **{'met' if not lost else 'not met'}**."
        )
    return lines


def section_downstream(results):
    part = results[results.part == 3]
    if part.empty:
        return []
    imputers = ordered(part.imputer.unique(), NUMERIC_IMPUTERS)
    cells = []
    for dataset in ordered(part.dataset.unique(), DOWNSTREAM_DATASETS):
        d = part[part.dataset == dataset]
        by = d.groupby("imputer")
        first = [dataset, d.metric.iloc[0], seeds_of(d), int(d.n_cells.iloc[0])]
        cells.append(first + [mean_std(by.get_group(i).value, 4) for i in imputers])
        cells.append(
            [dataset, "seconds", "", ""]
            + [f"{by.get_group(i).seconds.mean():.1f}" for i in imputers]
        )
    header = ["dataset", "metric", "seeds", "missing cells", *imputers]
    return [
        "\n## 3. Downstream: 5-fold CV score of imputer + model\n",
        "Mean ± std over seeds (higher is better); seconds: the whole "
        "cross-validation, mean per seed.",
        "",
        markdown_table(cells, header),
    ]


def section_multiple(results):
    part = results[results.part == 4]
    if part.empty:
        return []
    cells = []
    for dataset in ordered(part.dataset.unique(), NUMERIC_DATASETS):
        rows = part[part.dataset == dataset]
        for imputer in ordered(rows.imputer.unique(), MI_IMPUTERS):
            d = rows[rows.imputer == imputer]
            v = d.set_index("metric").value
            cells.append(
                [dataset, seeds_of(d), imputer, d["info"].iloc[0]]
                + [f"{v.get(m, np.nan):.3f}" for m in ("coverage", "width")]
                + [f"{v.get('coverage_5_95', np.nan):.3f}"]
                + [f"{v.get('mse_of_mean', np.nan):.4f}", f"{d.seconds.iloc[0]:.0f}"]
            )
    header = ["dataset", "seed", "imputer", "draws", "coverage", "width"]
    header += ["coverage 5-95", "mse of mean", "seconds"]
    lines = [
        "\n## 4. Multiple imputation: 90 % intervals at 50 % missing\n",
        "Interval: smallest to largest of the draws, nominal coverage (draws - "
        "1) / (draws + 1); `coverage 5-95`: the 5th to 95th percentile instead; "
        "`width` in standard deviations; seconds: all the fits of a dataset.",
        "",
        markdown_table(cells, header),
    ]
    cov = part[part.metric == "coverage"]
    for imputer in ordered(cov.imputer.unique(), MI_IMPUTERS):
        c = cov[cov.imputer == imputer]
        draws = c["info"].str.removeprefix("draws=").astype(int)
        nominal = (draws - 1) / (draws + 1)
        within = int((abs(c.value - nominal) <= 0.05).sum())
        line = (
            f"{imputer}: coverage within 5 points of the nominal level on "
            f"{within} of {len(c)} datasets, mean {c.value.mean():.3f} (nominal "
            f"{nominal.mean():.3f})"
        )
        if imputer == "skvae":
            line = f"Goal ({line}): **{'met' if within == len(c) else 'not met'}**"
        lines.append(f"\n{line}.")
    return lines


def report(path, args):
    results = read_results(path.with_suffix(".csv"))
    if results.empty:
        return
    results["part"] = results["part"].astype(int)
    results["rate"] = results["rate"].astype(float)
    body = [protocol(__doc__), f"At the end: {load_line()}"]
    for section in (section_numeric, section_mixed, section_downstream):
        body += section(results)
    body += section_multiple(results)
    body += runs_section(results, path.with_suffix(".csv"))
    write_markdown(path.with_suffix(".md"), TITLE, "\n".join(body), note=args.note)
