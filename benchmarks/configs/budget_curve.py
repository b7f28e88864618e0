"""ROC-AUC against training length of the default detector (issue 36, item 2).

A probe for a budget that stops when training is done: on the ADBench sets
that the detector trains in its small-table regime (at most
``small_table_batches`` mini-batches per epoch; 100 epochs at
``learning_rate_init`` with the ``tol`` rule when this ran, 25 epochs at
four times that rate since ``anomaly_budget_short.md``), the default
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

import dataclasses
import json
import math
import warnings

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

from benchmarks.harness.contenders import with_budget
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


STEPS = [100, 200, 300, 500]


def add_arguments(parser):
    parser.add_argument("--epochs", default=",".join(map(str, EPOCHS)))
    parser.add_argument(
        "--large",
        action="store_true",
        help="the large-table regime instead: the policy's large_table_steps "
        f"set to each of {STEPS} (--epochs then lists steps)",
    )


def datasets(args):
    """The ADBench sets whose seed-1 train part trains in the detector's
    small-table regime."""
    policy = VAEAnomalyDetector._auto_budget
    names = []
    for name in adbench_datasets():
        X, y = load_adbench(name)
        n_train = len(adbench_split(X[:, :1], y, 1)[0])
        small = math.ceil(n_train / 128) <= policy.small_table_batches
        if small != bool(getattr(args, "large", False)):
            names.append(name)
    return names


def detector(k, large):
    """The default detector trained ``k`` epochs (small-table regime) or
    about ``k`` steps (large-table regime, a policy of ``k`` steps: the
    first steps are those of the default's 500, at the same rate)."""
    if not large:
        return VAEAnomalyDetector(random_state=0, max_iter=k)
    policy = dataclasses.replace(VAEAnomalyDetector._auto_budget, large_table_steps=k)
    return with_budget(VAEAnomalyDetector, policy)(random_state=0)


def run(args, path):
    default = ",".join(map(str, EPOCHS))
    if args.large and args.epochs == default:
        args.epochs = ",".join(map(str, STEPS))
    epochs = [int(e) for e in args.epochs.split(",")]
    r = dict(command=command_line(), machine=machine_info(), epochs=epochs, rows=[])
    r["large"] = args.large
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
                fitted, seconds, cpu = clocked(detector(k, args.large).fit, X_train)
            auc = roc_auc_score(y_test, -fitted.score_samples(X_test))
            row["fits"].append(
                dict(
                    max_iter=k,
                    n_iter=fitted.n_iter_,
                    steps=sum(len(h["batches"]) for h in fitted.net_.history),
                    auc=auc,
                    seconds=seconds,
                    cpu=cpu,
                    loss_curve=list(map(float, fitted.loss_curve_)),
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
    kind = "large_table_steps" if r.get("large") else "max_iter"
    header = ["data", *(f"{kind}={k}" for k in epochs), "epochs run", "IForest"]
    body = f"""
ROC-AUC of ``VAEAnomalyDetector(random_state=0, max_iter=k)`` on the test
part (seed-1 ADBench split), for each k; "epochs run" is the full
fit's (the ``tol`` rule may stop it before ``max_iter``).

{markdown_table(rows, header)}
"""
    write_markdown(
        path.with_suffix(".md"),
        "ROC-AUC against training length ("
        + ("large" if r.get("large") else "small")
        + "-table regime)",
        body,
        command=r["command"],
        machine=r["machine"],
        note=getattr(args, "note", None),
    )
