"""Imputation benchmark of ``VAEImputer`` against scikit-learn's imputers.

Four parts (``--parts``, default all), every imputer single-threaded:

1. **MIWAE protocol** (Mattei & Frellsen, ICML 2019). The complete numeric
   table is standardized (``StandardScaler`` on all rows), then each cell is
   removed completely at random with probability ``rate`` (50 % and 20 %;
   the mask is seeded by dataset, seed and rate). Each imputer is fitted on
   the gappy table and imputes that same table (in-sample, as in the paper);
   the error is the MSE on the removed cells. Datasets: ``breast``
   (scikit-learn's ``load_breast_cancer``), ``concrete``
   (``tables/concrete.parquet``, all 9 columns), ``yeast`` (the features of
   ``adbench/47_yeast.npz``), as in the paper, and three ADBench numeric sets
   with 5-40 features and at most 5000 rows: ``glass`` (214 x 7),
   ``Ionosphere`` (351 x 32) and ``wine`` (129 x 13, UCI wine recognition as
   ADBench subsampled it). Imputers: ``mean`` (``SimpleImputer()``),
   ``KNN`` (``KNNImputer()``), ``iterative`` (``IterativeImputer``,
   BayesianRidge), ``missForest`` (``IterativeImputer`` with
   ``ExtraTreesRegressor(n_estimators=100)``, ``max_iter=10``) and ``skvae``
   (``VAEImputer(random_state=seed)``, defaults).
2. **Mixed tables** with categorical columns: ``penguins``, ``wage``,
   ``credit_data`` and ``ames`` (``tables/*.parquet``). The rows are taken as
   they are (their own missing cells stay missing and are not scored); 20 %
   of the observed cells are removed at random; integer columns become
   float64 (they now hold NaN). Scores on the removed cells: ``num_mse``, the
   MSE of numeric cells standardized by their column's observed mean and
   standard deviation, and ``cat_accuracy``, the share of categorical cells
   given their true level. Imputers: ``mean+mode`` (``SimpleImputer`` mean /
   most frequent per column type, in a ``ColumnTransformer``),
   ``missForest`` (``OrdinalEncoder`` on the categorical columns, then the
   missForest ``IterativeImputer`` above on every column, level codes
   rounded and clipped back to levels: a regression on level codes, not
   missForest's classification forest), ``KNN`` (numeric columns
   standardized, categorical columns one-hot with NaN in every dummy of a
   missing cell, ``KNNImputer()``, the dummy with the largest imputed value
   gives the level) and ``skvae`` (``VAEImputer(random_state=seed)`` on the
   raw DataFrame).
3. **Downstream**: 5-fold cross-validated score of ``Pipeline(imputer,
   encoding, model)`` on tables with natural missing cells:
   ``credit_data`` (target ``Status``, ``LogisticRegression(max_iter=1000)``,
   accuracy, stratified folds) and ``airquality`` (rows with an observed
   ``Ozone``, predicted from the other columns, whose gaps are in
   ``Solar.R``; ``Ridge()``, R^2). The peers encode first (numeric columns
   standardized with NaN kept, categorical columns most-frequent filled and
   one-hot) then impute (``SimpleImputer``, ``KNNImputer``,
   ``IterativeImputer`` and missForest, both with ``skip_complete=True``,
   which only skips columns with nothing to impute); ``skvae`` imputes the
   raw features first, then the same encoding. ``hitters`` is left out:
   once the rows with a missing ``Salary`` (the target) are dropped it has
   no missing cell, so every imputer would be a no-op.
4. **Multiple imputation**: on the part-1 tables at 50 % missing (same
   masks), ``--draws`` (20) imputations by ``VAEImputer(sample_posterior=True,
   random_state=r)`` and by ``IterativeImputer(sample_posterior=True,
   random_state=r)``, r = 0 .. draws-1, each a separate fit. The interval
   of a removed cell runs from the smallest to the largest of its draws:
   were the true value one more draw from the same distribution, it would
   fall inside with probability (draws - 1) / (draws + 1) (0.905 for 20
   draws), the nominal level. ``coverage`` is the share of removed cells
   whose true value lies inside, ``width`` the mean interval width
   (standardized units); ``coverage_5_95`` the same for the 5th to 95th
   percentile of the draws (about 0.82 for a calibrated imputer and 20
   draws).

Usage::

    python benchmarks/imputation.py --quick            # smoke test, < 60 s
    python benchmarks/imputation.py                    # everything below
    python benchmarks/imputation.py --parts 1,4 --seeds 1 --datasets glass,wine
    python benchmarks/imputation.py --report-only

Options: ``--parts`` (default 1,2,3,4), ``--seeds`` (default 1,2,3; part 4
uses the first one only), ``--datasets`` (comma-separated names; each part
runs those it holds, default all), ``--rates`` (part 1, default 0.5,0.2),
``--draws`` (part 4, default 20), ``--imputers`` (comma-separated names;
each part runs those it holds, default all), ``--note`` (text put at the top of the
report). Rows are appended to ``benchmarks/results/imputation.csv`` as soon as
a case is known (a rerun resumes); ``imputation.md`` is written from the
whole CSV (``imputation_quick.*`` with ``--quick``, which runs a tiny case of
each part with tiny training budgets).
"""

import argparse
import time
import warnings
import zlib

import numpy as np
import pandas as pd
from _common import (
    RESULTS_DIR,
    append_row,
    command_line,
    data_dir,
    limit_threads,
    load_adbench,
    machine_load,
    markdown_table,
    read_results,
    write_markdown,
)
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import ExtraTreesRegressor
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

from skvae import VAEImputer

FIELDS = (
    "part dataset seed rate imputer metric value seconds n_cells info command"
).split()
KEY = ["part", "dataset", "seed", "rate", "imputer"]
PARTS = (1, 2, 3, 4)
NUMERIC_DATASETS = ["breast", "concrete", "yeast", "glass", "Ionosphere", "wine"]
MIXED_DATASETS = ["penguins", "wage", "credit_data", "ames"]
DOWNSTREAM_DATASETS = ["credit_data", "airquality"]
NUMERIC_IMPUTERS = ["mean", "KNN", "iterative", "missForest", "skvae"]
# Part 1 only, not a default and left out of the ranks: skvae trained for
# 1000 epochs without the stopping rule, run only when --imputers names it.
DIAGNOSTIC = "skvae-1000ep"
MIXED_IMPUTERS = ["mean+mode", "KNN", "missForest", "skvae"]
MI_IMPUTERS = ["skvae", "iterative"]
RATES = (0.5, 0.2)
MIXED_RATE = 0.2
MI_RATE = 0.5
LEVEL = 0.9  # the percentile interval of coverage_5_95: 5th to 95th


# ------------------------------------------------------------------ data


def load_table(name):
    return pd.read_parquet(data_dir() / "tables" / f"{name}.parquet")


def load_numeric(name):
    """A complete numeric table of part 1, standardized on all its rows."""
    if name == "breast":
        X = load_breast_cancer().data
    elif name == "concrete":
        X = load_table("concrete").to_numpy(dtype=np.float64)
    else:
        X, _ = load_adbench(name)
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


def missforest(seed, quick, **kw):
    trees = 10 if quick else 100
    return IterativeImputer(
        estimator=ExtraTreesRegressor(n_estimators=trees, random_state=seed, n_jobs=1),
        random_state=seed,
        max_iter=3 if quick else 10,
        **kw,
    )


def vae(seed, quick, **kw):
    return VAEImputer(random_state=seed, **({"max_iter": 5} if quick else {}), **kw)


def numeric_imputer(name, seed, quick, **kw):
    if name == "mean":
        return SimpleImputer()
    if name == "KNN":
        return KNNImputer()
    if name == "iterative":
        return IterativeImputer(random_state=seed, **kw)
    if name == "missForest":
        return missforest(seed, quick, **kw)
    if name == DIAGNOSTIC:
        return VAEImputer(random_state=seed, max_iter=1000, n_iter_no_change=10**6)
    return vae(seed, quick)


def categorical_columns(frame):
    return [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]


def as_object(frame, columns):
    """``frame`` with ``columns`` as object columns holding ``np.nan``."""
    frame = frame.copy()
    for c in columns:
        frame[c] = frame[c].astype(object).where(frame[c].notna(), np.nan)
    return frame


def impute_mean_mode(frame, seed, quick):
    cats = categorical_columns(frame)
    nums = [c for c in frame.columns if c not in cats]
    ct = ColumnTransformer(
        [
            ("num", SimpleImputer(), nums),
            ("cat", SimpleImputer(strategy="most_frequent"), cats),
        ],
        verbose_feature_names_out=False,
    )
    out = ct.fit_transform(as_object(frame, cats))
    out = pd.DataFrame(out, columns=nums + cats, index=frame.index)[frame.columns]
    for c in nums:
        out[c] = out[c].astype(np.float64)
    return out


def impute_missforest(frame, seed, quick):
    cats = categorical_columns(frame)
    nums = [c for c in frame.columns if c not in cats]
    encoder = OrdinalEncoder(encoded_missing_value=np.nan)
    codes = encoder.fit_transform(as_object(frame, cats)[cats]) if cats else None
    X = frame[nums].to_numpy(np.float64)
    if cats:
        X = np.hstack([X, codes])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X = missforest(seed, quick).fit_transform(X)
    out = frame.copy()
    out[nums] = X[:, : len(nums)]
    for j, c in enumerate(cats):
        levels = [v for v in encoder.categories_[j] if not pd.isna(v)]
        code = np.clip(np.round(X[:, len(nums) + j]), 0, len(levels) - 1).astype(int)
        out[c] = pd.Categorical(np.asarray(levels, dtype=object)[code])
    return out


def impute_knn(frame, seed, quick):
    cats = categorical_columns(frame)
    nums = [c for c in frame.columns if c not in cats]
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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imputer = vae(seed, quick).set_output(transform="pandas")
        return imputer.fit(frame).transform(frame)


MIXED_FUNCTIONS = {
    "mean+mode": impute_mean_mode,
    "KNN": impute_knn,
    "missForest": impute_missforest,
    "skvae": impute_skvae,
}


# ----------------------------------------------------------------- parts


def row(part, dataset, seed, rate, imputer, metric, value, seconds, n_cells, info=""):
    return {
        "part": part,
        "dataset": dataset,
        "seed": seed,
        "rate": rate,
        "imputer": imputer,
        "metric": metric,
        "value": value,
        "seconds": seconds,
        "n_cells": n_cells,
        "info": info,
        "command": command_line(),
    }


def run_numeric(dataset, seed, rate, imputers, quick):
    """Part 1: one (dataset, seed, rate) case, one row per imputer."""
    X = load_numeric(dataset)
    mask = mcar_mask(X.shape, rate, case_rng(dataset, seed, rate))
    X_gaps = np.where(mask, np.nan, X)
    for name in imputers:
        imputer = numeric_imputer(name, seed, quick)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            X_filled = imputer.fit(X_gaps).transform(X_gaps)
        seconds = time.perf_counter() - start
        # Imputers drop columns with no observed cell; none is empty here.
        mse = float(np.mean((X_filled[mask] - X[mask]) ** 2))
        info = f"n_iter={imputer.n_iter_}" if hasattr(imputer, "n_iter_") else ""
        yield row(1, dataset, seed, rate, name, "mse", mse, seconds, mask.sum(), info)


def run_mixed(dataset, seed, imputers, quick):
    """Part 2: one (dataset, seed) case, two rows per imputer."""
    table = load_table(dataset)
    cats = categorical_columns(table)
    nums = [c for c in table.columns if c not in cats]
    table[nums] = table[nums].astype(np.float64)
    observed = table.notna().to_numpy()
    rng = case_rng(dataset, seed, MIXED_RATE)
    mask = mcar_mask(table.shape, MIXED_RATE, rng, observed)
    gaps = table.mask(mask)
    for c in cats:  # mask() keeps the categorical dtype; make sure
        gaps[c] = pd.Categorical(gaps[c], categories=table[c].cat.categories)
    is_cat = np.array([c in cats for c in table.columns])
    num_mask, cat_mask = mask & ~is_cat, mask & is_cat
    std = table[nums].std().reindex(table.columns).to_numpy(np.float64)
    for name in imputers:
        start = time.perf_counter()
        filled = MIXED_FUNCTIONS[name](gaps, seed, quick)
        seconds = time.perf_counter() - start
        assert list(filled.columns) == list(table.columns), name
        assert not filled.isna().to_numpy()[mask].any(), name
        true_num = table[nums].to_numpy(np.float64)
        got_num = filled[nums].to_numpy(np.float64)
        m = num_mask[:, ~is_cat]
        z = (got_num - true_num) / std[~is_cat]
        num_mse = float(np.mean(z[m] ** 2))
        true_cat = table[cats].astype(object).to_numpy()
        got_cat = filled[cats].astype(object).to_numpy()
        m = cat_mask[:, is_cat]
        accuracy = float(np.mean(true_cat[m] == got_cat[m])) if m.any() else np.nan
        yield row(
            2,
            dataset,
            seed,
            MIXED_RATE,
            name,
            "num_mse",
            num_mse,
            seconds,
            num_mask.sum(),
        )
        yield row(
            2,
            dataset,
            seed,
            MIXED_RATE,
            name,
            "cat_accuracy",
            accuracy,
            seconds,
            cat_mask.sum(),
        )


def downstream_data(dataset):
    if dataset == "credit_data":
        table = load_table("credit_data")
        return table.drop(columns="Status"), table["Status"].astype(str), "accuracy"
    table = load_table("airquality")
    table = table[table["Ozone"].notna()].reset_index(drop=True)
    return table.drop(columns="Ozone"), table["Ozone"], "r2"


def encoding(cats, fill):
    """Numeric columns standardized (NaN kept), categorical ones one-hot,
    after a most-frequent fill when ``fill``."""
    steps = (
        [FunctionTransformer(lambda X: as_object(X, list(X.columns)), validate=False)]
        if fill
        else []
    )
    if fill:
        steps.append(SimpleImputer(strategy="most_frequent"))
    steps.append(OneHotEncoder(handle_unknown="ignore", sparse_output=False))
    return ColumnTransformer(
        [
            ("num", StandardScaler(), make_column_selector(dtype_exclude="category")),
            (
                "cat",
                make_pipeline(*steps),
                make_column_selector(dtype_include="category"),
            ),
        ]
    )


def run_downstream(dataset, seed, imputers, quick):
    """Part 3: 5-fold CV score of each imputer in front of a model."""
    X, y, metric = downstream_data(dataset)
    cats = categorical_columns(X)
    if metric == "accuracy":
        model = LogisticRegression(max_iter=1000)
        cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    else:
        model = Ridge()
        cv = KFold(5, shuffle=True, random_state=seed)
    for name in imputers:
        if name == "skvae":
            pipe = make_pipeline(vae(seed, quick), encoding(cats, fill=False), model)
        else:
            imputer = (
                numeric_imputer(name, seed, quick, skip_complete=True)
                if name in ("iterative", "missForest")
                else numeric_imputer(name, seed, quick)
            )
            pipe = make_pipeline(encoding(cats, fill=True), imputer, model)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores = cross_validate(pipe, X, y, cv=cv, scoring=metric)["test_score"]
        seconds = time.perf_counter() - start
        yield row(
            3,
            dataset,
            seed,
            0.0,
            name,
            metric,
            float(scores.mean()),
            seconds,
            int(X.isna().to_numpy().sum()),
            info=f"fold_std={scores.std():.4f}",
        )


def run_multiple(dataset, seed, imputers, draws, quick):
    """Part 4: ``draws`` imputations, 90 % intervals, coverage and width."""
    X = load_numeric(dataset)
    mask = mcar_mask(X.shape, MI_RATE, case_rng(dataset, seed, MI_RATE))
    X_gaps = np.where(mask, np.nan, X)
    for name in imputers:
        start = time.perf_counter()
        values = []
        for r in range(draws):
            if name == "skvae":
                imputer = vae(r, quick, sample_posterior=True)
            else:
                imputer = IterativeImputer(sample_posterior=True, random_state=r)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                values.append(imputer.fit(X_gaps).transform(X_gaps)[mask])
        seconds = time.perf_counter() - start
        values = np.asarray(values)  # (draws, n_removed)
        truth = X[mask]
        # The range of the draws: if the truth were one more draw from the
        # same distribution, it would fall inside with probability
        # (draws - 1) / (draws + 1), whatever the distribution (0.905 for 20
        # draws): the interval whose nominal coverage is known.
        low, high = values.min(axis=0), values.max(axis=0)
        coverage = float(np.mean((truth >= low) & (truth <= high)))
        width = float(np.mean(high - low))
        # The 5th to 95th percentile of the draws, as the first version of
        # this benchmark read them: from 20 draws a calibrated imputer
        # covers about 0.82 with it, not 0.90.
        tail = 100 * (1 - LEVEL) / 2
        low, high = np.percentile(values, [tail, 100 - tail], axis=0)
        coverage_5_95 = float(np.mean((truth >= low) & (truth <= high)))
        # The mean of the draws as a point imputation, for reference.
        mse = float(np.mean((values.mean(axis=0) - truth) ** 2))
        info = f"draws={draws}"
        n = int(mask.sum())
        for metric, value in [
            ("coverage", coverage),
            ("width", width),
            ("coverage_5_95", coverage_5_95),
            ("mse_of_mean", mse),
        ]:
            yield row(4, dataset, seed, MI_RATE, name, metric, value, seconds, n, info)


# ---------------------------------------------------------------- report


def read_imputation(csv_path):
    results = read_results(csv_path)
    if results.empty:
        return results
    results["part"] = results["part"].astype(int)
    results["seed"] = results["seed"].astype(int)
    results["rate"] = results["rate"].astype(float)
    return results


def mean_std(values, digits=3):
    values = values.dropna()
    if values.empty:
        return ""
    if len(values) == 1:
        return f"{values.mean():.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std():.{digits}f}"


def seeds_of(frame):
    return ",".join(map(str, sorted(frame.seed.unique())))


def ordered(names, order):
    return [n for n in order if n in names] + sorted(set(names) - set(order))


def section_numeric(results):
    part = results[results.part == 1]
    if part.empty:
        return []
    diagnostic = part[part.imputer == DIAGNOSTIC]
    part = part[part.imputer != DIAGNOSTIC]
    lines = [
        "\n## 1. MIWAE protocol: MSE on the removed cells (standardized data)\n",
        "Mean ± std over seeds of the MSE on the removed cells (lower is "
        "better), imputing the table the imputer was fitted on. Ranks: the "
        "imputers ranked on each dataset by their mean MSE over seeds (1 = "
        "best), averaged over the datasets on which every imputer has a "
        "result; `mean MSE` is the mean over those datasets of the per-dataset "
        "means; seconds are fit + transform, mean per case.",
    ]
    imputers = ordered(part.imputer.unique(), NUMERIC_IMPUTERS)
    for rate in sorted(part.rate.unique(), reverse=True):
        p = part[part.rate == rate]
        cells = []
        datasets = ordered(p.dataset.unique(), NUMERIC_DATASETS)
        for dataset in datasets:
            d = p[p.dataset == dataset]
            cells.append(
                [dataset, seeds_of(d)]
                + [mean_std(d[d.imputer == i].value) for i in imputers]
            )
        lines += [
            f"\n### {rate:.0%} of the cells removed\n",
            markdown_table(cells, ["dataset", "seeds", *imputers]),
        ]
        means = p.groupby(["dataset", "imputer"]).value.mean().unstack()
        means = means.dropna()  # datasets where every imputer has a result
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
            best = ranks.idxmin()
            goal = (best == "skvae") and means["skvae"].mean() < means[
                "missForest"
            ].mean()
            lines.append(
                f"\nGoal (skvae best mean rank and mean MSE below missForest's) "
                f"at {rate:.0%}: **{'met' if goal else 'not met'}** (best mean "
                f"rank: {best}; skvae {means['skvae'].mean():.4f} vs missForest "
                f"{means['missForest'].mean():.4f})."
            )
    if not diagnostic.empty:
        lines += [
            f"\n### Diagnostic: `{DIAGNOSTIC}` (not a default)\n",
            f"`{DIAGNOSTIC}` is `VAEImputer(random_state=seed, max_iter=1000, "
            "n_iter_no_change=10**6)`: the same model trained for 1000 epochs, "
            "the stopping rule switched off, on the same masks; it is left out "
            "of the ranks and goals above. Mean MSE over the seeds where it ran, "
            "with the default skvae and missForest on the same cases.\n",
        ]
        keys = ["dataset", "seed", "rate"]
        paired = part[part.imputer.isin(["missForest", "skvae"])].pivot_table(
            index=keys, columns="imputer", values="value"
        )
        paired = paired.join(
            diagnostic.set_index(keys).value.rename(DIAGNOSTIC), how="inner"
        )
        cells = []
        for rate in sorted(
            paired.index.get_level_values("rate").unique(), reverse=True
        ):
            p = paired.xs(rate, level="rate")
            per_dataset = p.groupby(level="dataset").mean()
            for d in ordered(per_dataset.index, NUMERIC_DATASETS):
                seeds = sorted(p.xs(d, level="dataset").index)
                cells.append(
                    [f"{rate:.0%}", d, ",".join(map(str, seeds))]
                    + [
                        f"{per_dataset.loc[d, c]:.3f}"
                        for c in ["missForest", "skvae", DIAGNOSTIC]
                    ]
                )
            cells.append(
                [f"{rate:.0%}", "**mean**", ""]
                + [
                    f"**{per_dataset[c].mean():.3f}**"
                    for c in ["missForest", "skvae", DIAGNOSTIC]
                ]
            )
        lines.append(
            markdown_table(
                cells, ["rate", "dataset", "seeds", "missForest", "skvae", DIAGNOSTIC]
            )
        )
        lines.append(
            f"\n`{DIAGNOSTIC}` took {diagnostic.seconds.mean():.0f} s per case on "
            f"average (the default skvae: the `seconds` column of the summaries)."
        )
    return lines


def section_mixed(results):
    part = results[results.part == 2]
    if part.empty:
        return []
    imputers = ordered(part.imputer.unique(), MIXED_IMPUTERS)
    lines = [
        "\n## 2. Mixed tables: 20 % of the observed cells removed\n",
        "`num_mse`: MSE of the removed numeric cells, each column standardized "
        "by its observed mean and standard deviation (lower is better); "
        "`cat_accuracy`: share of the removed categorical cells imputed with "
        "their true level (higher is better). Mean ± std over seeds; the "
        "number of removed cells is per seed.",
    ]
    for metric in ["num_mse", "cat_accuracy"]:
        p = part[part.metric == metric]
        cells = []
        for dataset in ordered(p.dataset.unique(), MIXED_DATASETS):
            d = p[p.dataset == dataset]
            cells.append(
                [dataset, seeds_of(d), int(d.n_cells.iloc[0])]
                + [mean_std(d[d.imputer == i].value) for i in imputers]
            )
        lines += [
            f"\n### `{metric}`\n",
            markdown_table(cells, ["dataset", "seeds", "cells", *imputers]),
        ]
    p = part[part.metric == "num_mse"]
    seconds = p.pivot_table(index="dataset", columns="imputer", values="seconds")
    cells = [
        [d]
        + [
            f"{seconds.loc[d, i]:.1f}"
            if i in seconds and pd.notna(seconds.loc[d, i])
            else ""
            for i in imputers
        ]
        for d in ordered(seconds.index, MIXED_DATASETS)
    ]
    lines += [
        "\nSeconds (fit + impute, mean per case):\n",
        markdown_table(cells, ["dataset", *imputers]),
    ]
    acc = part[part.metric == "cat_accuracy"].pivot_table(
        index="dataset", columns="imputer", values="value"
    )
    if "skvae" in acc and len(acc.columns) > 1:
        # Per dataset, against the peers that ran on it (mean over seeds).
        wins, lost = [], []
        for d in ordered(acc.index, MIXED_DATASETS):
            peers = acc.loc[d].drop("skvae").dropna()
            better = acc.loc[d, "skvae"] > peers.max()
            (wins if better else lost).append(
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
    lines = [
        "\n## 3. Downstream: 5-fold CV score of imputer + model\n",
        "`credit_data`: accuracy of `LogisticRegression(max_iter=1000)` "
        "predicting `Status`; `airquality`: R^2 of `Ridge()` predicting "
        "`Ozone` (rows with an observed Ozone). Mean ± std over seeds (each "
        "seed shuffles the folds, and seeds the imputers); higher is better. "
        "Seconds: the whole cross-validation, mean per seed.",
    ]
    cells = []
    for dataset in ordered(part.dataset.unique(), DOWNSTREAM_DATASETS):
        d = part[part.dataset == dataset]
        cells.append(
            [dataset, d.metric.iloc[0], seeds_of(d), int(d.n_cells.iloc[0])]
            + [mean_std(d[d.imputer == i].value, 4) for i in imputers]
        )
        cells.append(
            [dataset, "seconds", "", ""]
            + [f"{d[d.imputer == i].seconds.mean():.1f}" for i in imputers]
        )
    lines += [
        "",
        markdown_table(
            cells, ["dataset", "metric", "seeds", "missing cells", *imputers]
        ),
    ]
    return lines


def section_multiple(results):
    part = results[results.part == 4]
    if part.empty:
        return []
    lines = [
        "\n## 4. Multiple imputation: 90 % intervals at 50 % missing\n",
        "Each removed cell's interval runs from the smallest to the largest of "
        "its `draws` imputations (each a separate fit with its own "
        "`random_state`). If the true value were one more draw from the same "
        "distribution, it would fall inside with probability (draws - 1) / "
        "(draws + 1), whatever the distribution: 0.905 for 20 draws, the "
        "nominal level. `coverage` is the share of removed cells whose true "
        "value lies inside (a calibrated imputer: about the nominal level; "
        "below it, intervals too narrow), `width` the mean interval width in "
        "standard deviations. `coverage 5-95` uses the 5th to 95th percentile "
        "of the draws instead, as the first version of this benchmark did: "
        "from 20 draws of a calibrated imputer it covers about 0.82, not "
        "0.90. `mse of mean` is the MSE of the mean of the draws. Seconds: "
        "all the fits of one dataset.",
    ]
    cells = []
    for dataset in ordered(part.dataset.unique(), NUMERIC_DATASETS):
        for imputer in ordered(
            part[part.dataset == dataset].imputer.unique(), MI_IMPUTERS
        ):
            d = part[(part.dataset == dataset) & (part.imputer == imputer)]
            v = d.set_index("metric").value
            cells.append(
                [
                    dataset,
                    seeds_of(d),
                    imputer,
                    d["info"].iloc[0],
                    f"{v.get('coverage', np.nan):.3f}",
                    f"{v.get('width', np.nan):.3f}",
                    f"{v.get('coverage_5_95', np.nan):.3f}",
                    f"{v.get('mse_of_mean', np.nan):.4f}",
                    f"{d.seconds.iloc[0]:.0f}",
                ]
            )
    header = ["dataset", "seed", "imputer", "draws", "coverage", "width"]
    header += ["coverage 5-95", "mse of mean", "seconds"]
    lines += ["", markdown_table(cells, header)]
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


def report(csv_path, md_path, started, note=None):
    results = read_imputation(csv_path)
    load, busy = machine_load()
    body = [f"**Note.** {note}\n"] if note else []
    body.append(
        f"Report written {started}. At the end: 1-minute load average "
        f"{load:.2f}; other busy processes: {', '.join(busy) or 'none'}. All "
        "imputers single-threaded; times are wall-clock seconds."
    )
    if not results.empty:
        body += section_numeric(results)
        body += section_mixed(results)
        body += section_downstream(results)
        body += section_multiple(results)
        commands = "\n".join(f"- `{c}`" for c in results.command.unique())
        body.append(
            f"\n## Runs that produced the CSV\n\n{commands}\n\n"
            f"Raw rows: `{csv_path.name}`."
        )
    write_markdown(md_path, "Imputation (VAEImputer)", command_line(), "\n".join(body))


# ------------------------------------------------------------------ main


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke test")
    parser.add_argument("--parts", default="1,2,3,4", help="comma-separated parts")
    parser.add_argument("--datasets", help="comma-separated names, all parts")
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated seeds")
    parser.add_argument("--rates", default=",".join(map(str, RATES)), help="part 1")
    parser.add_argument("--draws", type=int, default=20, help="part 4")
    parser.add_argument("--imputers", help="comma-separated names, all parts")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--note", help="text put at the top of the report")
    args = parser.parse_args()
    limit_threads(1)
    out = RESULTS_DIR / ("imputation_quick" if args.quick else "imputation")
    csv_path, md_path = out.with_suffix(".csv"), out.with_suffix(".md")
    parts = [int(p) for p in args.parts.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    rates = [float(r) for r in args.rates.split(",")]
    draws = args.draws
    wanted = args.datasets.split(",") if args.datasets else None
    if args.quick:
        csv_path.unlink(missing_ok=True)
        seeds, rates, draws = [1], [0.5], 3
        wanted = ["glass", "penguins", "airquality"]

    def pick(names):
        return [n for n in names if wanted is None or n in wanted]

    if not args.report_only:
        done = read_imputation(csv_path)
        done = (
            set() if done.empty else set(done[KEY].itertuples(index=False, name=None))
        )

        def todo(part, dataset, seed, rate, imputers):
            return [
                i
                for i in imputers
                if (part, dataset, seed, rate, i) not in done
                and (args.imputers is None or i in args.imputers.split(","))
            ]

        def record(rows):
            for r in rows:
                append_row(csv_path, r, FIELDS)
                print(
                    f"part {r['part']} {r['dataset']:12s} seed={r['seed']} "
                    f"rate={r['rate']} {r['imputer']:11s} {r['metric']:12s} "
                    f"{r['value']:.4f} ({r['seconds']:.1f} s)",
                    flush=True,
                )

        for part in parts:
            for seed in seeds if part != 4 else seeds[:1]:
                if part == 1:
                    for dataset in pick(NUMERIC_DATASETS):
                        for rate in rates:
                            names = todo(
                                1, dataset, seed, rate, [*NUMERIC_IMPUTERS, DIAGNOSTIC]
                            )
                            if args.imputers is None:
                                names = [n for n in names if n != DIAGNOSTIC]
                            record(run_numeric(dataset, seed, rate, names, args.quick))
                elif part == 2:
                    for dataset in pick(MIXED_DATASETS):
                        names = todo(2, dataset, seed, MIXED_RATE, MIXED_IMPUTERS)
                        record(run_mixed(dataset, seed, names, args.quick))
                elif part == 3:
                    for dataset in pick(DOWNSTREAM_DATASETS):
                        names = todo(3, dataset, seed, 0.0, NUMERIC_IMPUTERS)
                        record(run_downstream(dataset, seed, names, args.quick))
                else:
                    for dataset in pick(NUMERIC_DATASETS):
                        names = todo(4, dataset, seed, MI_RATE, MI_IMPUTERS)
                        record(run_multiple(dataset, seed, names, draws, args.quick))
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    report(csv_path, md_path, started, args.note)
    print(f"wrote {md_path}")


if __name__ == "__main__":
    main()
