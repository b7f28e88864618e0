"""Held-out bound against training length of the transformer and the imputer
(issue 36, item 2).

Does the step budget of :class:`~skvae.VAETransformer` and
:class:`~skvae.VAEImputer` (``max_iter="auto"``: about 3000 gradient steps
at ``learning_rate_init``) train past the point where the bound stops
improving? On each table of the ``synthesis`` study (its seed-1 split), the
default estimator is fitted, then refitted with ``max_iter`` set to
fractions of the epochs the default ran, the ``tol`` rule off
(``n_iter_no_change`` larger than any budget): the same seed, learning rate
and draws, so the first k epochs are the full fit's. Each fit's mean
held-out bound (``score`` on the held-out rows, nats per row) and the full
fit's training loss curve, as means over tenths of its epochs, are kept: a
plateau rule on the smoothed training bound would stop where those means
stop falling, and the held-out bound says what stopping there would cost.

Usage::

    python -m benchmarks step_budget_curve --quick
    python -m benchmarks step_budget_curve --datasets penguins,cps1985
"""

import json
import warnings

import numpy as np

from benchmarks.configs.synthesis import TABLES, split
from benchmarks.harness import data
from benchmarks.harness.contenders import with_budget
from benchmarks.harness.report import (
    command_line,
    machine_info,
    markdown_table,
    write_markdown,
)
from benchmarks.harness.timing import clocked
from skvae import VAEImputer, VAETransformer
from skvae._budget import StepBudget

FRACTIONS = [0.1, 0.2, 0.3, 0.5, 0.7]
QUICK = {"datasets": ["penguins"]}
ESTIMATORS = {"transformer": VAETransformer, "imputer": VAEImputer}


def datasets(args):
    return list(TABLES)


def _fit(cls, train, holdout, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted, seconds, _ = clocked(cls(random_state=0, **params).fit, train)
    return fitted, seconds, float(fitted.score(holdout))


def run(args, path):
    r = dict(command=command_line(), machine=machine_info(), rows=[])
    r["fractions"] = FRACTIONS
    estimators = ESTIMATORS
    if args.quick:  # 20 steps instead of about 3000
        quick = StepBudget(steps=20)
        estimators = {k: with_budget(c, quick) for k, c in estimators.items()}
    for name in args.datasets:
        train, holdout = split(data.load_table(name), 1)
        for kind, cls in estimators.items():
            full, seconds, score = _fit(cls, train, holdout)
            n_epochs = full.n_iter_
            row = dict(name=name, estimator=kind, shape=list(train.shape))
            row |= dict(n_epochs=n_epochs, seconds=seconds, holdout=score)
            row["loss_curve"] = list(map(float, full.loss_curve_))
            row["fits"] = []
            for fraction in FRACTIONS:
                k = max(1, round(fraction * n_epochs))
                _, seconds, score = _fit(
                    cls, train, holdout, max_iter=k, n_iter_no_change=10**9
                )
                row["fits"].append(dict(max_iter=k, seconds=seconds, holdout=score))
            r["rows"].append(row)
            print(name, kind, n_epochs, round(row["holdout"], 3), flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".json").write_text(json.dumps(r, indent=1))


def _tenths(curve):
    """Means of the training loss over tenths of the epochs."""
    return [float(np.mean(part)) for part in np.array_split(curve, 10) if len(part)]


def report(path, args):
    json_path = path.with_suffix(".json")
    if not json_path.exists():
        return
    r = json.loads(json_path.read_text())
    header = ["data", "estimator", *(f"{f:.0%} of epochs" for f in r["fractions"])]
    header += ["full budget", "epochs", "fit (s)"]
    held_out, training = [], []
    for row in r["rows"]:
        label = f"{row['name']} ({row['shape'][0]} x {row['shape'][1]})"
        scores = [f"{f['holdout']:.3f}" for f in row["fits"]]
        held_out.append(
            [
                label,
                row["estimator"],
                *scores,
                f"{row['holdout']:.3f}",
                str(row["n_epochs"]),
                f"{row['seconds']:.1f}",
            ]
        )
        tenths = _tenths(row["loss_curve"])
        cells = [f"{t:.3f}" for t in tenths] + [""] * (10 - len(tenths))
        training.append([label, row["estimator"], *cells])
    tenth_header = ["data", "estimator", *(f"tenth {i + 1}" for i in range(10))]
    body = f"""
Mean held-out bound (``score`` of the seed-1 held-out rows, nats per row,
higher is better) of the default estimator refitted for a fraction of the
epochs its full budget ran (the same first epochs, ``tol`` rule off), and of
the full fit.

{markdown_table(held_out, header)}

The full fit's training loss (negative bound, nats per row, lower is
better), mean over each tenth of its epochs: a plateau rule on the smoothed
training bound could stop only where these stop falling.

{markdown_table(training, tenth_header)}
"""
    write_markdown(
        path.with_suffix(".md"),
        "Held-out bound against training length (transformer and imputer)",
        body,
        command=r["command"],
        machine=r["machine"],
        note=getattr(args, "note", None),
    )
