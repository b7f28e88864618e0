"""Why default VAE features lose to PCA at equal dimension, and which
transformer default closes the gap (issue 25).

Frozen: the run that chose ``VAETransformer``'s ``hidden_layer_sizes``
default. Two protocols, 1 thread, features -> ``LogisticRegression``:

- ``digits``: scikit-learn's 8 x 8 digits (1797 rows, 64 pixels, raw
  0..16), ``cross_validate`` with 3 folds of
  ``make_pipeline(<extractor>, LogisticRegression(max_iter=2000))``, the
  protocol of a new user (issue 25's table);
- ``mnist``: fit on the 10 000 MNIST training images, test on t10k,
  ``StandardScaler() + LogisticRegression(max_iter=3000)`` on the features
  (``fit_cost``'s protocol).

Contenders: ``PCA`` at the same dimension and ``VAETransformer`` settings
(``CONFIGS``), each stated in full against the transformer's defaults
before this study (``hidden_layer_sizes=(64, 32)``), so that a name means
the same thing after the default changes. Besides the accuracy each row
records the number of active latent dimensions (``n_active_components_``,
mean over folds) and the fit's CPU seconds (``time.process_time``: the
machine was shared, so wall-clock seconds would mislead).

Data that informed the choice: digits and MNIST, the feature-extraction
development data of ``features`` and ``fit_cost``. Both are also sources
of ``oneclass``'s held-out one-class tasks, which this study does not run:
it measures feature extraction (labels as the target) and chooses no
detector default.

Usage::

    python -m benchmarks feature_defaults --quick
    python -m benchmarks feature_defaults --datasets digits --seeds 0,1,2
    python -m benchmarks feature_defaults --datasets mnist --seeds 0,1 \\
        --contenders PCA,w64-32,auto,bernoulli
"""

import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from benchmarks.harness import data
from benchmarks.harness.report import markdown_table, protocol, write_markdown
from benchmarks.harness.runner import read_results
from skvae import VAETransformer

# The commit that produced each result file (``git checkout`` it to reproduce
# the file exactly; the report quotes this module's docstring, so it is here).
COMMITS = {"feature_defaults": "4dca3dd"}
TITLE = "Why default VAE features lose to PCA, and the transformer's widths"
# The transformer's settings before this study, stated in full.
BEFORE = dict(hidden_layer_sizes=(64, 32))
CONFIGS = {
    "w64-32": BEFORE,
    "w64-32-free-bits2": BEFORE | dict(free_bits=2.0),
    "w64-32-beta0.5": BEFORE | dict(beta=0.5),
    "w64-32-50epochs": BEFORE | dict(max_iter=50),
    "w128-64": dict(hidden_layer_sizes=(128, 64)),
    "w128-64-free-bits2": dict(hidden_layer_sizes=(128, 64), free_bits=2.0),
    "auto": dict(hidden_layer_sizes="auto"),
    "auto-free-bits1": dict(hidden_layer_sizes="auto", free_bits=1.0),
    "bernoulli": BEFORE | dict(likelihood="bernoulli"),
    "auto-bernoulli": dict(hidden_layer_sizes="auto", likelihood="bernoulli"),
}
CONTENDERS = ["PCA", "w64-32", "w64-32-free-bits2", "w128-64", "auto"]
ON_REQUEST = [c for c in CONFIGS if c not in CONTENDERS]
FIELDS = (
    "dataset seed n_components contender accuracy active cpu_seconds seconds "
    "info command"
).split()
KEY = ["dataset", "seed", "n_components", "contender"]
SEEDS = (0,)
QUICK = {"datasets": ["digits"], "contenders": ["PCA", "auto"], "max_iter": 2}


def add_arguments(parser):
    parser.add_argument(
        "--n-components", type=int, help="latent dimension (digits 10, MNIST 8)"
    )
    parser.add_argument("--max-iter", type=int, help="override (smoke tests)")


def datasets(args):
    return ["digits", "mnist"]


def cases(args):
    for seed in args.seeds:
        for dataset in args.datasets:
            n = args.n_components or {"digits": 10, "mnist": 8}[dataset]
            yield {"dataset": dataset, "seed": seed, "n_components": n}


def prepare(case, args):
    if case["dataset"] == "digits":
        return load_digits(return_X_y=True)
    return data.load_mnist()


def extractor(contender, case, args):
    n = case["n_components"]
    if contender == "PCA":
        return PCA(n, random_state=case["seed"])
    params = CONFIGS[contender] | ({"max_iter": args.max_iter} if args.max_iter else {})
    return VAETransformer(n_components=n, random_state=case["seed"], **params)


def evaluate(contender, case_data, case, args):
    start = time.process_time()
    if case["dataset"] == "digits":
        X, y = case_data
        X = X / 16.0 if "bernoulli" in contender else X
        pipe = make_pipeline(
            extractor(contender, case, args), LogisticRegression(max_iter=2000)
        )
        cv = cross_validate(pipe, X, y, cv=3, return_estimator=True)
        accuracy = cv["test_score"].mean()
        fitted = [p[0] for p in cv["estimator"]]
    else:
        X_train, X_test, y_train, y_test = case_data
        features = extractor(contender, case, args).fit(X_train)
        head = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
        head.fit(features.transform(X_train), y_train)
        accuracy = head.score(features.transform(X_test), y_test)
        fitted = [features]
    active = [getattr(f, "n_active_components_", np.nan) for f in fitted]
    return {
        "accuracy": accuracy,
        "active": np.mean(active),
        "cpu_seconds": time.process_time() - start,
    }


def report(path, args):
    results = read_results(path.with_suffix(".csv"))
    if results.empty:
        return
    order = [c for c in ["PCA", *CONFIGS] if c in set(results.contender)]
    sections = []
    for (dataset, n), rows in results.groupby(["dataset", "n_components"], sort=False):
        table = rows.pivot_table(
            ["accuracy", "active", "cpu_seconds"], "contender", aggfunc="mean"
        ).reindex(order)
        seeds = rows.groupby("contender")["seed"].apply(
            lambda s: ",".join(map(str, sorted(s)))
        )
        table.insert(0, "seeds", seeds.reindex(order))
        table["accuracy"] = table["accuracy"].map("{:.4f}".format)
        table["active"] = table["active"].map("{:.1f}".format)
        table["cpu_seconds"] = table["cpu_seconds"].map("{:.1f}".format)
        per_seed = rows.pivot_table("accuracy", "contender", "seed")
        per_seed = per_seed.reindex([c for c in order if c in per_seed.index])
        sections.append(
            f"## {dataset}, {n} features\n\n"
            "Mean accuracy over seeds (`active`: latent dimensions in use; "
            "`cpu_seconds`: CPU time of the whole protocol, all folds):\n\n"
            + markdown_table(table.reset_index().dropna(subset=["seeds"]))
            + "\n\nPer seed:\n\n"
            + markdown_table(per_seed.map("{:.4f}".format).reset_index()).replace(
                "| nan ", "|  "
            )
        )
    body = protocol(__doc__) + "\n\n" + "\n\n".join(sections)
    write_markdown(path.with_suffix(".md"), TITLE, body, note=args.note)
