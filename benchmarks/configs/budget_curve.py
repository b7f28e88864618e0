"""ROC-AUC against training length of the default detector (issue 36, item 2).

A probe for a budget that stops when training is done: on the ADBench sets
that the detector trains in its small-table regime (at most
``small_table_batches`` mini-batches per epoch: 100 epochs at
``learning_rate_init`` with the ``tol`` rule), the default
``VAEAnomalyDetector(random_state=0)`` is refitted with ``max_iter`` set to
each of ``--epochs`` (same seed: the first k epochs are those of the full
fit, the learning rate is the same) and scored on the test part (seed-1
ADBench split). Each fit's training loss curve is kept, so that a stopping
rule on the smoothed training bound can be read against the ROC-AUC it
would have kept and the epochs it would have saved.

Usage::

    python -m benchmarks budget_curve --quick
    python -m benchmarks budget_curve
"""

import json
import math
import warnings

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

from benchmarks.harness.data import adbench_datasets, adbench_split, load_adbench
from benchmarks.harness.report import (
    command_line,
    machine_info,
    markdown_table,
    write_markdown,
)
from benchmarks.harness.timing import clocked
from skvae import VAEAnomalyDetector

EPOCHS = [10, 20, 30, 50, 75, 100]
QUICK = {"datasets": ["wine"]}


def add_arguments(parser):
    parser.add_argument("--epochs", default=",".join(map(str, EPOCHS)))


def datasets(args):
    """The ADBench sets whose seed-1 train part trains in the detector's
    small-table regime."""
    policy = VAEAnomalyDetector._auto_budget
    names = []
    for name in adbench_datasets():
        X, y = load_adbench(name)
        n_train = len(adbench_split(X[:, :1], y, 1)[0])
        if math.ceil(n_train / 128) <= policy.small_table_batches:
            names.append(name)
    return names


def run(args, path):
    epochs = [int(e) for e in args.epochs.split(",")]
    r = dict(command=command_line(), machine=machine_info(), epochs=epochs, rows=[])
    for name in args.datasets:
        X, y = load_adbench(name)
        X_train, X_test, _, y_test = adbench_split(X, y, 1)
        forest = IsolationForest(random_state=0).fit(X_train)
        row = dict(name=name, shape=list(X_train.shape))
        row["forest_auc"] = roc_auc_score(y_test, -forest.score_samples(X_test))
        row["fits"] = []
        for k in epochs:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                detector, seconds, cpu = clocked(
                    VAEAnomalyDetector(random_state=0, max_iter=k).fit, X_train
                )
            auc = roc_auc_score(y_test, -detector.score_samples(X_test))
            row["fits"].append(
                dict(
                    max_iter=k,
                    n_iter=detector.n_iter_,
                    auc=auc,
                    seconds=seconds,
                    cpu=cpu,
                    loss_curve=list(map(float, detector.loss_curve_)),
                )
            )
        r["rows"].append(row)
        print(
            name, [(f["n_iter"], round(f["auc"], 4)) for f in row["fits"]], flush=True
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".json").write_text(json.dumps(r, indent=1))


def report(path, args):
    json_path = path.with_suffix(".json")
    if not json_path.exists():
        return
    r = json.loads(json_path.read_text())
    epochs = r["epochs"]
    rows = []
    for row in r["rows"]:
        fits = row["fits"]
        rows.append(
            [
                f"{row['name']} ({row['shape'][0]} x {row['shape'][1]})",
                *(f"{f['auc']:.4f}" for f in fits),
                f"{fits[-1]['n_iter']}",
                f"{row['forest_auc']:.4f}",
            ]
        )
    aucs = np.array([[f["auc"] for f in row["fits"]] for row in r["rows"]])
    if len(aucs):
        mean = aucs.mean(0)
        rows.append(["**mean**", *(f"**{m:.4f}**" for m in mean), "", ""])
    header = ["data", *(f"max_iter={k}" for k in epochs), "epochs run", "IForest"]
    body = f"""
ROC-AUC of ``VAEAnomalyDetector(random_state=0, max_iter=k)`` on the test
part (seed-1 ADBench split), for each k; "epochs run" is the full
fit's (the ``tol`` rule may stop it before ``max_iter``).

{markdown_table(rows, header)}
"""
    write_markdown(
        path.with_suffix(".md"),
        "ROC-AUC against training length (small-table regime)",
        body,
        command=r["command"],
        machine=r["machine"],
        note=getattr(args, "note", None),
    )
