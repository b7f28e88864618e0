"""Why the detector trails KNN and LOF on images: its per-column scaling.

Frozen: the diagnosis behind the detector's per-column scaling. Its results
came from commit 8851de0 (``COMMITS``), whose study replaced the library's
scaling function of the time for the two range-scaling variants: ``git
checkout 8851de0`` then ``python benchmarks/anomaly_scaling.py`` reproduce
them. On today's code the study runs the library's own scaling and the
peers only.

The diagnosis behind the user guide's "Where the detector loses, and why".
``VAEAnomalyDetector`` standardizes every column by its standard deviation
before training, and its likelihood weighs each column's error by the
spread the model learns for it. On images, a pixel that is inked in one row
in a hundred has a tiny standard deviation, so that ink weighs many times
more than a stroke across the middle of the digit; KNN and LOF measure
distances between raw pixels, where every pixel weighs the same. This
study fits the detector three times on the same splits, all else equal:
as it is; with each column scaled by its range (max - min) instead, which
on min-max scaled data gives every column the same weight; and with the
range only for the columns in which most rows share one value (median
absolute deviation 0, such as rarely inked pixels), where the standard
deviation measures how often a row departs from that value rather than
how far.

Tasks, seed 1:

- the 43 ADBench datasets (``anomaly``'s protocol), where the choice of
  scaling was made;
- development one-class tasks from data that ``oneclass`` does not use
  (its tasks stay held out): each digit class of the 10 000 MNIST
  *training* images (``oneclass`` uses the t10k test images), each class
  of scikit-learn's breast cancer data and each species of the penguins'
  numeric columns, with ``oneclass``'s protocol (10% anomalies from the
  other classes, 70/30 split, min-max scaling). KNN, LOF and IsolationForest
  run on the same splits for reference.

Usage::

    python -m benchmarks anomaly_scaling            # ~10 min on 1 thread
    python -m benchmarks anomaly_scaling --quick    # smoke test
    python -m benchmarks anomaly_scaling --report-only
"""

from functools import cache

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import roc_auc_score

from benchmarks.harness import data
from benchmarks.harness.contenders import detect, make
from benchmarks.harness.report import markdown_table, write_markdown
from benchmarks.harness.runner import read_results
from benchmarks.harness.timing import timed
from skvae import VAEAnomalyDetector
from skvae.datasets import load_penguins

TITLE = "Why the detector trails KNN and LOF on images: its per-column scaling"
SEED = 1
FIELDS = "family task seed variant roc_auc fit_time command".split()
KEY = ["task", "variant"]
CONTENDER = "variant"
PEERS = ("KNN", "LOF", "IForest")


# The scalings compared; the range scalings ran at the commit of COMMITS.
SCALINGS = [
    "std scaling (default)",
    "range scaling",
    "range scaling, mostly-constant columns",
]
CONTENDERS = [SCALINGS[0], *PEERS]
COMMITS = {"anomaly_scaling": "8851de0"}


@cache
def dev_source(name):
    """Rows and class labels of a development source."""
    if name == "mnist-train":
        X, _, y, _ = data.load_mnist()
        return X, y
    if name == "cancer":
        return load_breast_cancer(return_X_y=True)
    penguins = load_penguins().dropna()
    X = penguins.select_dtypes("number").to_numpy(dtype=np.float64)
    return X, penguins["species"].cat.codes.to_numpy()


def cases(args):
    """The ADBench datasets, then the development one-class tasks."""
    quick = args.quick
    names = data.adbench_datasets()[: 2 if quick else None]
    tasks = ["penguins-1", "cancer-0"]
    if not quick:
        tasks = [f"mnist-train-{c}" for c in range(10)] + ["cancer-0", "cancer-1"]
        tasks += [f"penguins-{c}" for c in range(3)]
    for name in names:
        case = {"family": "ADBench", "task": name, "seed": SEED}
        yield case | {"contenders": SCALINGS[:1]}
    for task in tasks:
        yield {"family": "one-class (development)", "task": task, "seed": SEED}


def prepare(case, args):
    if case["family"] == "ADBench":
        return data.adbench_split(*data.load_adbench(case["task"]), SEED)
    source, label = case["task"].rsplit("-", 1)
    return data.class_split(*dev_source(source), int(label), SEED)


def evaluate(variant, split, case, args):
    X_train, X_test, _, y_test = split
    if variant in PEERS:
        result = detect(make("detector", variant, SEED, args.quick), *split[:2], y_test)
        return {"roc_auc": result["roc_auc"], "fit_time": result["fit_time"]}
    quick = {"max_iter": 3} if args.quick else {}
    detector = VAEAnomalyDetector(random_state=SEED, **quick)
    _, fit_time = timed(detector.fit, X_train)
    scores = -detector.score_samples(X_test)
    return {"roc_auc": roc_auc_score(y_test, scores), "fit_time": fit_time}


def _cell(value):
    return "" if np.isnan(value) else f"{value:.3f}"


def report(path, args):
    results = read_results(path.with_suffix(".csv"))
    if results.empty:
        return
    groups = {
        "MNIST training digits": results["task"].str.startswith("mnist-train"),
        "ADBench": results["family"] == "ADBench",
    }
    results["group"] = np.select(
        list(groups.values()), list(groups), "breast cancer and penguins"
    )
    n_tasks = results.groupby("group")["task"].nunique()
    results["group"] += " (" + results["group"].map(n_tasks).astype(str) + " tasks)"
    order = [*SCALINGS, *PEERS]
    summary = results.pivot_table("roc_auc", "group", "variant", aggfunc="mean")
    summary = summary[[v for v in order if v in summary]]
    per_task = results.pivot_table("roc_auc", "task", "variant")
    per_task = per_task[[v for v in order if v in per_task]]
    body = [
        __doc__.split("\n\n", 2)[2].split("\nUsage")[0].strip() + "\n",
        "## Mean ROC-AUC\n",
        markdown_table(summary.map(_cell).reset_index()),
        "\n## ROC-AUC per task\n",
        markdown_table(per_task.map(_cell).reset_index()),
    ]
    write_markdown(path.with_suffix(".md"), TITLE, "\n".join(body), note=args.note)
