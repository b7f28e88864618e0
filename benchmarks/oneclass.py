"""Held-out one-class anomaly detection: data the defaults were not chosen on.

skvae's detector defaults (``trim_fraction=0.2`` above all) were chosen on the
ADBench datasets of ``anomaly.py``. This script checks them on one-class
tasks built from labelled data that played no part in that choice:
scikit-learn's bundled ``digits`` (8 x 8 images, 10 classes), ``wine`` (13
features, 3 classes) and ``iris`` (4 features, 3 classes), and the official
MNIST t10k test images (784 pixels, 10 classes; ``../shared/data/mnist``).

Protocol, per (source, normal class, seed): every row of the normal class,
plus rows drawn without replacement from the other classes so that anomalies
make ``CONTAMINATION`` (10%) of the rows; a stratified 70/30 split; a
MinMaxScaler fitted on the train part; every detector fitted on the
contaminated train part with its default hyperparameters, without labels,
and scored on the test part (ROC-AUC, average precision). Unlike ADBench,
nothing is upsampled: small classes stay small. The detectors, adapters, CSV
handling and summary are those of ``anomaly.py``.

Usage
-----
    python benchmarks/oneclass.py --quick     # smoke test, < 60 s
    python benchmarks/oneclass.py             # 26 tasks x seeds 1,2,3
    python benchmarks/oneclass.py --datasets mnist-0,digits-3 --seeds 1
    python benchmarks/oneclass.py --report-only

Options as in ``anomaly.py``: ``--datasets`` (task names ``<source>-<class>``),
``--seeds``, ``--detectors``, ``--out`` (default
``benchmarks/results/oneclass``; ``oneclass_quick`` with ``--quick``),
``--report-only``, ``--note``.
"""

import sys
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import anomaly  # noqa: E402
from _common import (  # noqa: E402
    ADBENCH_TEST_SIZE,
    command_line,
    load_mnist,
    markdown_table,
    write_markdown,
)
from anomaly import DETECTORS, read_results, summarize  # noqa: E402
from sklearn.datasets import load_digits, load_iris, load_wine  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import MinMaxScaler  # noqa: E402

CONTAMINATION = 0.1
SOURCES = ["digits", "wine", "iris", "mnist"]
QUICK_TASKS = ["wine-0", "digits-1"]
# Every detector of anomaly.py except the slow label-free tuning.
DEFAULT_DETECTORS = [d for d in DETECTORS if d != "skvae-tuned"]


@cache
def load_source(source):
    """Rows and class labels of one labelled source data set."""
    if source == "mnist":
        _, X, _, y = load_mnist()  # the official t10k test images
        return X, y
    loader = {"digits": load_digits, "wine": load_wine, "iris": load_iris}[source]
    X, y = loader(return_X_y=True)
    return np.asarray(X, dtype=np.float64), y


def tasks():
    """Every task name, ``<source>-<normal class>``."""
    return [
        f"{source}-{label}"
        for source in SOURCES
        for label in np.unique(load_source(source)[1])
    ]


def oneclass_case(task, seed):
    """Train/test split of one one-class task (see the module docstring).

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarrays
        ``y`` is 1 for anomalies (rows of the other classes), 0 for normal.
    """
    source, label = task.rsplit("-", 1)
    X, classes = load_source(source)
    rng = np.random.RandomState(seed)
    normal = np.flatnonzero(classes == int(label))
    others = np.flatnonzero(classes != int(label))
    n_anomalies = round(CONTAMINATION / (1 - CONTAMINATION) * len(normal))
    anomalies = rng.choice(others, n_anomalies, replace=False)
    rows = np.concatenate([normal, anomalies])
    y = np.r_[np.zeros(len(normal), dtype=int), np.ones(n_anomalies, dtype=int)]
    X_train, X_test, y_train, y_test = train_test_split(
        X[rows], y, test_size=ADBENCH_TEST_SIZE, stratify=y, random_state=rng
    )
    scaler = MinMaxScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


# ------------------------------------------------------------------ report


def report(out, note=None):
    """Rewrite ``<out>.md`` and ``<out>.png`` from ``<out>.csv``."""
    results = read_results(out.with_suffix(".csv"))
    if results.empty:
        return
    results["seed"] = results["seed"].astype(int)
    results = results.drop_duplicates(["dataset", "seed", "detector"])
    detectors = [d for d in DETECTORS if d in set(results["detector"])]
    summary, per_task, res, cases = summarize(results, detectors)
    source = per_task.index.str.rsplit("-", n=1).str[0]

    body = [f"**Note.** {note}\n"] if note else []
    body.append(
        "One-class tasks from data not used to choose skvae's defaults (see "
        "`benchmarks/oneclass.py`): each class of a labelled source in turn is "
        f"normal, other classes make {CONTAMINATION:.0%} of the rows as "
        "anomalies, stratified 70/30 split, MinMaxScaler fitted on the train "
        "part, every detector with default hyperparameters fitted on the "
        "contaminated train part, 1 torch thread, same process and splits.\n"
    )
    seeds_per_task = pd.Series([t for t, _ in cases]).value_counts()
    body.append(
        f"Cases compared: {len(cases)} (task, seed) pairs on {per_task.shape[0]} "
        f"tasks ({(seeds_per_task == 3).sum()} with 3 seeds), on which every "
        "detector below has a result.\n"
    )
    failed = results[results["roc_auc"].isna()]
    if len(failed):
        body.append(f"Failed runs (excluded): {len(failed)}, see the CSV `info`.\n")
    body.append("## Summary over all tasks\n")
    rows = []
    for name in summary.sort_values("mean ROC-AUC", ascending=False).index:
        s = summary.loc[name]
        rows.append(
            [
                f"**{name}**" if name == "skvae" else name,
                f"{s['mean ROC-AUC']:.4f}",
                f"{s['mean AP']:.4f}",
                f"{s['mean rank']:.2f}",
                int(s["wins"]),
                f"{s['total fit time (s)']:.0f}",
            ]
        )
    body.append(
        markdown_table(
            [
                "detector",
                "mean ROC-AUC",
                "mean AP",
                "mean rank",
                "wins",
                "total fit time (s)",
            ],
            rows,
        )
    )
    if {"skvae", "IForest"} <= set(per_task.columns):
        better = (per_task["skvae"] > per_task["IForest"]).sum()
        gap = per_task["skvae"].mean() - per_task["IForest"].mean()
        body.append(
            f"\nskvae (defaults) minus IsolationForest, mean ROC-AUC: {gap:+.4f}; "
            f"skvae is better on {better} of {per_task.shape[0]} tasks.\n"
        )
    body.append("## Mean ROC-AUC per source\n")
    by_source = per_task.groupby(source).mean()
    counts = pd.Series(source).value_counts()
    rows = [
        [name, int(counts[name])]
        + [
            f"**{v:.3f}**" if v == by_source.loc[name].max() else f"{v:.3f}"
            for v in by_source.loc[name, detectors]
        ]
        for name in by_source.index
    ]
    body.append(markdown_table(["source", "tasks", *detectors], rows))
    body.append("\n## ROC-AUC per task (mean ± std over seeds)\n")
    stats = res.groupby(["dataset", "detector"])["roc_auc"].agg(["mean", "std"])
    info = results.groupby("dataset")[["n_train", "n_features"]].first()
    rows = []
    for task in per_task.index:
        row = [task, int(info.loc[task, "n_train"]), int(info.loc[task, "n_features"])]
        best = per_task.loc[task].max()
        for name in detectors:
            m, sd = stats.loc[(task, name)]
            cell = f"{m:.3f}" + ("" if np.isnan(sd) else f" ± {sd:.3f}")
            row.append(f"**{cell}**" if m == best else cell)
        rows.append(row)
    body.append(markdown_table(["task", "n_train", "d", *detectors], rows))
    write_markdown(
        out.with_suffix(".md"),
        "Held-out one-class anomaly detection: skvae beside its peers",
        command_line(),
        "\n".join(body),
    )
    plot(by_source, summary, out.with_suffix(".png"))


def plot(by_source, summary, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
    ranks = summary["mean rank"].sort_values()
    colors = ["tab:red" if n == "skvae" else "tab:gray" for n in ranks.index]
    ax1.barh(ranks.index[::-1], ranks.values[::-1], color=colors[::-1])
    ax1.set_xlabel("mean rank of ROC-AUC over tasks (lower is better)")
    ax1.set_title("held-out one-class tasks")
    peers = ("skvae", "IForest", "pyod-VAE", "pyod-AutoEncoder")
    shown = [d for d in peers if d in summary.index]
    width = 0.8 / max(len(shown), 1)
    x = np.arange(len(by_source))
    for i, name in enumerate(shown):
        ax2.bar(x + i * width, by_source[name], width, label=name)
    ax2.set_xticks(x + width * (len(shown) - 1) / 2, by_source.index)
    ax2.set_ylim(max(0.0, by_source[shown].min().min() - 0.1), 1.0)
    ax2.set_ylabel("mean ROC-AUC")
    ax2.legend(fontsize=8)
    ax2.set_title("per source")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    anomaly.main(
        argv,
        description=__doc__,
        names=tasks,
        quick_names=QUICK_TASKS,
        default_detectors=DEFAULT_DETECTORS,
        stem="oneclass",
        make_case=oneclass_case,
        write=report,
    )


if __name__ == "__main__":
    main()
