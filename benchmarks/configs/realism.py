"""Realism of samples: a classifier two-sample test, skvae against SDV.

Can a classifier tell sampled rows from real ones? Per table and seed,
``synthesis``'s split (seeded 80/20, the train part at most 10 000 rows);
every contender fits the train part and draws as many rows as the holdout
part has; a ``HistGradientBoostingClassifier`` (``random_state=0``,
categories as categories) is cross-validated (3 stratified folds,
shuffled, seed 0) on the holdout rows against the drawn ones, and
``realism = 1 - 2 |ROC-AUC - 0.5|`` (1: cannot tell them apart, 0: always
can), the formula of ``skvae.metrics.realism_score``, here computed the
same way for every contender from its drawn rows. ``worst column``: the
column whose values alone tell the rows apart best (the same test on that
column only) and its ROC-AUC.

Contenders: ``skvae`` = ``VAETransformer(random_state=seed)`` (its
defaults, ``likelihood="auto"``; ``sample(n, include_missing=True)`` on a
table with missing cells, which SDV's synthesizers reproduce too),
``skvae-gaussian`` (``likelihood="gaussian"``, the former default), SDV's
``GaussianCopula`` and ``TVAE`` at their defaults; on request ``CTGAN``
(300 epochs, the slowest), ``skvae-adversarial-0.1`` and ``-0.5``
(``adversarial_weight`` 0.1 and 0.5) and ``skvae-ex-post-10``
(``n_sample_components=10``: ``sample``'s codes drawn from a 10-component
Gaussian mixture fitted to the training rows' codes after training).

Usage::

    python -m benchmarks realism --quick
    python -m benchmarks realism --seeds 1,2,3
    python -m benchmarks realism --contenders CTGAN --seeds 1
"""

import time

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score

from benchmarks.configs.synthesis import (
    TABLES,
    detect_metadata,
    is_categorical,
    split,
    uncategorize,
)
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

TITLE = "Realism of samples: a classifier two-sample test, skvae against SDV"
CONTENDERS = ["skvae", "skvae-gaussian", "GaussianCopula", "TVAE"]
ON_REQUEST = [
    "CTGAN",
    "skvae-adversarial-0.1",
    "skvae-adversarial-0.5",
    "skvae-ex-post-10",
]
FIELDS = (
    "dataset seed contender n_holdout realism worst_column worst_auc "
    "fit_seconds info command"
).split()
KEY = ["dataset", "seed", "contender"]
SEEDS = (1,)
QUICK = {"datasets": ["penguins"], "contenders": ["skvae", "GaussianCopula"]}


def datasets(args):
    return list(TABLES)


def prepare(case, args):
    train, holdout = split(data.load_table(case["dataset"]), case["seed"])
    plain = uncategorize(train)
    return train, holdout, plain, detect_metadata(plain, case["dataset"])


def evaluate(contender, case_data, case, args):
    train, holdout, plain, metadata = case_data
    synth = make("synthesizer", contender, case["seed"], args.quick, metadata=metadata)
    start = time.perf_counter()
    synth.fit(train if contender.startswith("skvae") else plain)
    fit_seconds = time.perf_counter() - start
    if contender.startswith("skvae"):
        # Gaps as the training rows have them, as SDV reproduces them.
        drawn = synth.estimator.sample(
            len(holdout),
            random_state=case["seed"],
            include_missing=bool(train.isna().any().any()),
        )
    else:
        drawn = synth.sample(len(holdout))
    drawn = drawn.reset_index(drop=True)
    real, fake = _comparable(holdout, drawn, train)
    aucs = {c: _auc(real[[c]], fake[[c]]) for c in real.columns}
    worst = max(aucs, key=aucs.get)
    return dict(
        n_holdout=len(holdout),
        realism=1.0 - 2.0 * abs(_auc(real, fake) - 0.5),
        worst_column=worst,
        worst_auc=aucs[worst],
        fit_seconds=fit_seconds,
        info=synth.info(),
    )


def _comparable(holdout, drawn, train):
    """Both frames in the train part's columns: numbers as floats,
    categorical columns as one pandas category dtype (the union of levels)."""
    real, fake = holdout[list(train.columns)].copy(), drawn[list(train.columns)].copy()
    for col in train.columns:
        if is_categorical(train[col]):
            text = [
                f[col].map(lambda v: np.nan if pd.isna(v) else str(v))
                for f in (real, fake)
            ]
            levels = sorted(set(text[0].dropna()) | set(text[1].dropna()))
            real[col], fake[col] = (pd.Categorical(t, categories=levels) for t in text)
        else:
            for frame in (real, fake):
                frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    return real, fake


def _auc(real, fake):
    """ROC-AUC of the two-sample classifier, cross-validated."""
    X = pd.concat([real, fake], ignore_index=True)
    y = np.r_[np.ones(len(real)), np.zeros(len(fake))]
    classifier = HistGradientBoostingClassifier(
        categorical_features="from_dtype", random_state=0
    )
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    return float(cross_val_score(classifier, X, y, cv=folds, scoring="roc_auc").mean())


def report(path, args):
    results = read_results(path.with_suffix(".csv"))
    body = [f"At the end: {load_line()}.\n", protocol(__doc__)]
    if results.empty:
        body.append("\nNo results yet.")
        write_markdown(path.with_suffix(".md"), TITLE, "\n".join(body), note=args.note)
        return
    order = [c for c in CONTENDERS + ON_REQUEST if c in set(results.contender)]
    means = results.pivot_table(
        index="dataset", columns="contender", values="realism", aggfunc="mean"
    )[order]
    seeds = results.groupby("dataset").seed.nunique()
    rows = [
        [d, str(seeds[d]), *(f"{means.loc[d, c]:.3f}" for c in order)]
        for d in [d for d in TABLES if d in means.index]
    ]
    rows.append(["**mean**", "", *(f"{means[c].mean():.3f}" for c in order)])
    body += [
        "\n## Realism (mean over seeds; 1 = indistinguishable)\n",
        markdown_table(rows, ["dataset", "seeds", *order]),
    ]
    worst = results.sort_values("worst_auc", ascending=False).drop_duplicates(
        ["dataset", "contender"]
    )
    rows = [
        [r.dataset, r.contender, r.worst_column, f"{r.worst_auc:.3f}"]
        for r in worst.sort_values(["dataset", "contender"]).itertuples()
    ]
    body += [
        "\n## The column that gives the samples away most (worst seed)\n",
        markdown_table(rows, ["dataset", "contender", "column", "ROC-AUC alone"]),
        *runs_section(results, path.with_suffix(".csv")),
    ]
    write_markdown(path.with_suffix(".md"), TITLE, "\n".join(body), note=args.note)
