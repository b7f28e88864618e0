"""Held-out one-class anomaly detection: data the defaults were not chosen on.

skvae's detector defaults were chosen on the ADBench datasets of
``anomaly``. This study checks them on one-class tasks from labelled data
that played no part in that choice: scikit-learn's ``digits``, ``wine`` and
``iris`` and the official MNIST t10k test images.

Protocol, per task ``<source>-<class>`` and seed: every row of the normal
class, plus rows drawn from the other classes so that anomalies make 10% of
the rows (``harness.data.class_split``); stratified 70/30 split; MinMaxScaler
fitted on the train part; every detector of ``anomaly`` but ``skvae-tuned``
with default hyperparameters, fitted without labels on the contaminated
train part, scored on the test part; 1 thread. Nothing is upsampled.

Usage::

    python -m benchmarks oneclass --quick       # smoke test, < 60 s
    python -m benchmarks oneclass               # 26 tasks x seeds 1,2,3
    python -m benchmarks oneclass --datasets mnist-0,digits-3 --seeds 1
    python -m benchmarks oneclass --report-only
"""

from functools import cache

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits, load_iris, load_wine

from benchmarks.configs._detector_ranking import (
    auc_table,
    plot_ranks,
    skvae_vs_iforest,
    summarize,
    summary_table,
)
from benchmarks.harness import data
from benchmarks.harness.contenders import (
    BUDGET_DETECTORS,
    DETECTOR_FIELDS,
    DETECTORS,
    LATENT_DETECTORS,
    detect,
    make,
)
from benchmarks.harness.report import markdown_table, protocol, pyplot, write_markdown
from benchmarks.harness.runner import read_results

TITLE = "Held-out one-class anomaly detection: skvae beside its peers"
FIELDS, KEY, CONTENDER = DETECTOR_FIELDS, ["dataset", "seed", "detector"], "detector"
# Every detector of the anomaly study but the slow label-free tuning.
ON_REQUEST = [*LATENT_DETECTORS, *BUDGET_DETECTORS]
CONTENDERS = [d for d in DETECTORS if d not in ("skvae-tuned", "HBOS", *ON_REQUEST)]
SEEDS = (1, 2, 3)
QUICK = {"datasets": ["wine-0", "digits-1"], "seeds": [1]}
SOURCES = ["digits", "wine", "iris", "mnist"]


@cache
def load_source(source):
    """Rows and class labels of one labelled source."""
    if source == "mnist":
        _, X, _, y = data.load_mnist()  # the official t10k test images
        return X, y
    loader = {"digits": load_digits, "wine": load_wine, "iris": load_iris}[source]
    X, y = loader(return_X_y=True)
    return np.asarray(X, dtype=np.float64), y


def datasets(args):
    return [f"{s}-{c}" for s in SOURCES for c in np.unique(load_source(s)[1])]


def prepare(case, args):
    source, label = case["dataset"].rsplit("-", 1)
    return data.class_split(*load_source(source), int(label), case["seed"])


def evaluate(detector, split, case, args):
    X_train, X_test, _, y_test = split
    model = make("detector", detector, case["seed"], args.quick)
    return detect(model, X_train, X_test, y_test)


def report(path, args):
    results = read_results(path.with_suffix(".csv"), KEY)
    if results.empty:
        return
    detectors = [d for d in DETECTORS if d in set(results["detector"])]
    summary, per_task, res, cases = summarize(results, detectors)
    n_seeds = pd.Series([t for t, _ in cases]).value_counts()
    body = [
        protocol(__doc__),
        f"Cases compared: {len(cases)} (task, seed) pairs on {per_task.shape[0]} "
        f"tasks ({(n_seeds == 3).sum()} with 3 seeds), on which every "
        "detector below has a result.\n",
        "## Summary over all tasks\n",
        markdown_table(summary_table(summary)),
        "\n" + skvae_vs_iforest(summary, per_task, "tasks"),
    ]
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
    write_markdown(path.with_suffix(".md"), TITLE, "\n".join(body), note=args.note)
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
    plot_ranks(ax1, summary, "tasks", "held-out one-class tasks")
    shown = ["skvae", "IForest", "pyod-VAE", "pyod-AutoEncoder"]
    shown = [d for d in shown if d in summary.index]
    width = 0.8 / max(len(shown), 1)
    x = np.arange(len(by_source))
    for i, name in enumerate(shown):
        ax2.bar(x + i * width, by_source[name], width, label=name)
    ax2.set_xticks(x + width * (len(shown) - 1) / 2, by_source.index)
    ax2.set_ylim(max(0.0, by_source[shown].min().min() - 0.1), 1.0)
    ax2.set(ylabel="mean ROC-AUC", title="per source")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path.with_suffix(".png"), dpi=120)
    plt.close(fig)
