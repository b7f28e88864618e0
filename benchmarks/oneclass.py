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
nothing is upsampled: small classes stay small. The detectors, the CSV
handling and the ranking are those of ``anomaly.py``, shared in
``_common.py``; everything runs on 1 thread.

Usage
-----
    python benchmarks/oneclass.py --quick     # smoke test, < 60 s
    python benchmarks/oneclass.py             # 26 tasks x seeds 1,2,3
    python benchmarks/oneclass.py --datasets mnist-0,digits-3 --seeds 1
    python benchmarks/oneclass.py --report-only

Options as in ``anomaly.py``: ``--datasets`` (task names ``<source>-<class>``),
``--seeds``, ``--detectors`` (default every detector but ``skvae-tuned``),
``--out`` (default ``benchmarks/results/oneclass``; ``oneclass_quick`` with
``--quick``), ``--report-only``, ``--note``.
"""

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from _common import (
    DETECTORS,
    RESULTS_DIR,
    auc_table,
    command_line,
    detector_arguments,
    done_keys,
    evaluate_detectors,
    limit_threads,
    load_mnist,
    markdown_table,
    plot_ranks,
    pyplot,
    read_detector_results,
    scaled_split,
    skvae_vs_iforest,
    summarize,
    summary_table,
    write_markdown,
)
from sklearn.datasets import load_digits, load_iris, load_wine

CONTAMINATION = 0.1
SOURCES = ["digits", "wine", "iris", "mnist"]
QUICK_TASKS = ["wine-0", "digits-1"]
# Every detector of anomaly.py except the slow label-free tuning.
DEFAULT_DETECTORS = [d for d in DETECTORS if d != "skvae-tuned"]

INTRO = (
    "One-class tasks from data not used to choose skvae's defaults (see "
    "`benchmarks/oneclass.py`): each class of a labelled source in turn is "
    f"normal, other classes make {CONTAMINATION:.0%} of the rows as "
    "anomalies, stratified 70/30 split, MinMaxScaler fitted on the train "
    "part, every detector with default hyperparameters fitted on the "
    "contaminated train part, 1 torch thread, same process and splits.\n"
)


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


def oneclass_split(task, seed):
    """Train/test split of one one-class task (see the module docstring).

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarrays
        ``y`` is 1 for anomalies (rows of the other classes), 0 for normal.
    """
    source, label = task.rsplit("-", 1)
    return class_split(*load_source(source), int(label), seed)


def class_split(X, classes, label, seed):
    """The one-class protocol on rows ``X`` of classes ``classes``: every row
    of class ``label`` as normal, rows drawn from the other classes as
    ``CONTAMINATION`` of the rows, then ``scaled_split``."""
    rng = np.random.RandomState(seed)
    normal = np.flatnonzero(classes == label)
    others = np.flatnonzero(classes != label)
    n_anomalies = round(CONTAMINATION / (1 - CONTAMINATION) * len(normal))
    anomalies = rng.choice(others, n_anomalies, replace=False)
    rows = np.concatenate([normal, anomalies])
    y = np.r_[np.zeros(len(normal), dtype=int), np.ones(n_anomalies, dtype=int)]
    return scaled_split(X[rows], y, rng)


def run(names, seeds, detectors, out, quick):
    """Run every (task, seed, detector) not yet in ``<out>.csv``; rewrite the
    report after each task."""
    csv_path = out.with_suffix(".csv")
    done = done_keys(csv_path, ["dataset", "seed", "detector"])
    for seed in seeds:
        for task in names:
            todo = [d for d in detectors if (task, seed, d) not in done]
            if todo:
                split = oneclass_split(task, seed)
                evaluate_detectors(csv_path, task, seed, todo, split, quick)
                report(out)


def report(out, note=None):
    """Rewrite ``<out>.md`` and ``<out>.png`` from ``<out>.csv``."""
    results = read_detector_results(out.with_suffix(".csv"))
    if results.empty:
        return
    detectors = [d for d in DETECTORS if d in set(results["detector"])]
    summary, per_task, res, cases = summarize(results, detectors)
    n_seeds = pd.Series([t for t, _ in cases]).value_counts()

    body = [f"**Note.** {note}\n"] if note else []
    body.append(INTRO)
    body.append(
        f"Cases compared: {len(cases)} (task, seed) pairs on {per_task.shape[0]} "
        f"tasks ({(n_seeds == 3).sum()} with 3 seeds), on which every "
        "detector below has a result.\n"
    )
    failed = results["roc_auc"].isna().sum()
    if failed:
        body.append(f"Failed runs (excluded): {failed}, see the CSV `info`.\n")
    body += ["## Summary over all tasks\n", markdown_table(summary_table(summary))]
    if comparison := skvae_vs_iforest(summary, per_task, "tasks"):
        body.append("\n" + comparison)

    source = per_task.index.str.rsplit("-", n=1).str[0]
    by_source = per_task.groupby(source).mean()
    table = by_source.apply(
        lambda row: row.map(lambda v: f"**{v:.3f}**" if v == row.max() else f"{v:.3f}"),
        axis=1,
    )
    table.insert(0, "tasks", pd.Series(source).value_counts())
    table.insert(0, "source", table.index)
    body += ["## Mean ROC-AUC per source\n", markdown_table(table)]
    body.append("\n## ROC-AUC per task (mean ± std over seeds)\n")
    body.append(markdown_table(auc_table(results, res, per_task, "task")))
    write_markdown(
        out.with_suffix(".md"),
        "Held-out one-class anomaly detection: skvae beside its peers",
        command_line(),
        "\n".join(body),
    )
    plot(by_source, summary, out.with_suffix(".png"))


def plot(by_source, summary, path):
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
    plot_ranks(ax1, summary, "tasks", "held-out one-class tasks")
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
    limit_threads(1)
    args = detector_arguments(__doc__, argv)
    names = args.datasets or (QUICK_TASKS if args.quick else tasks())
    stem = "oneclass_quick" if args.quick else "oneclass"
    out = Path(args.out) if args.out else RESULTS_DIR / stem
    if not args.report_only:
        detectors = args.detectors or DEFAULT_DETECTORS
        run(names, args.seeds, detectors, out, args.quick)
    report(out, args.note)


if __name__ == "__main__":
    main()
