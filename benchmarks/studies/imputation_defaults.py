"""Which VAEImputer defaults: the MIWAE protocol for a few candidate settings.

Frozen: the run that chose the imputer's defaults, at commit 659705e
(``COMMITS``; ``git checkout 659705e`` reproduces it). On
the six numeric tables of ``imputation`` (standardized), 50 % of the cells
(``--rate``) are removed at random (seed 1); each setting of ``CONFIGS`` is
fitted on the gappy table and imputes it; the error is the MSE on the
removed cells, beside the epochs run and the fit + transform seconds.

The record of the run that chose the defaults is
``results/imputation_defaults.md`` (written by hand from this protocol's
output); a rerun writes ``imputation_defaults_rerun.md`` beside it rather
than replacing that record.

Usage::

    python -m benchmarks imputation_defaults --quick
    python -m benchmarks imputation_defaults
    python -m benchmarks imputation_defaults --rate 0.2 \\
        --contenders free-bits0.5-batch32,free-bits0.5-batch32-auto
"""

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler

from benchmarks.harness import data
from benchmarks.harness.report import markdown_table, write_markdown
from benchmarks.harness.runner import read_results
from skvae import VAEImputer

COMMITS = {"imputation_defaults": "659705e"}  # result -> the commit that produced it
TITLE = "Which VAEImputer defaults (MIWAE protocol)"
NAME = "imputation_defaults_rerun"
# The transformer's defaults when the first run chose the imputer's: 200
# epochs with the tol rule on the training loss, no free bits, batches of
# min(128, n_samples). Each setting states its changes to them in full, so
# that it means today what it meant then.
TRANSFORMER_DEFAULTS = dict(max_iter=200, free_bits=0.0, batch_size="auto")
CONFIGS = {
    "transformer-defaults": TRANSFORMER_DEFAULTS,
    "iwae5": TRANSFORMER_DEFAULTS | dict(n_importance_samples=5),
    "batch32": TRANSFORMER_DEFAULTS | dict(batch_size=32),
    "batch32-iwae5": TRANSFORMER_DEFAULTS | dict(batch_size=32, n_importance_samples=5),
    "free-bits0.5": TRANSFORMER_DEFAULTS | dict(free_bits=0.5),
    "beta0.5": TRANSFORMER_DEFAULTS | dict(beta=0.5),
    "warmup20": TRANSFORMER_DEFAULTS | dict(kl_warmup=20),
    "patience30": TRANSFORMER_DEFAULTS | dict(n_iter_no_change=30),
    "free-bits0.5-batch32": TRANSFORMER_DEFAULTS | dict(free_bits=0.5, batch_size=32),
    # max_iter="auto": about 3000 gradient steps, no tol rule.
    "free-bits0.5-batch32-auto": (
        TRANSFORMER_DEFAULTS | dict(max_iter="auto", free_bits=0.5, batch_size=32)
    ),
}
CONTENDERS = list(CONFIGS)
FIELDS = "table rate config mse epochs seconds command".split()
KEY = ["table", "rate", "config"]
CONTENDER = "config"
TABLES = ["concrete", "wine", "glass", "breast", "yeast", "Ionosphere"]
QUICK = {"datasets": ["glass"], "contenders": ["batch32"], "max_iter": 3}


def add_arguments(parser):
    parser.add_argument("--rate", type=float, default=0.5)
    parser.add_argument("--max-iter", type=int, help="override (smoke tests)")


def datasets(args):
    return TABLES


def cases(args):
    for table in args.datasets:
        yield {"table": table, "rate": args.rate}


def prepare(case, args):
    name = case["table"]
    if name == "concrete":
        concrete = data.load_table("concrete")
        X = concrete.select_dtypes("number").to_numpy(float)
    elif name == "breast":
        X = load_breast_cancer().data
    else:
        X = data.load_adbench(name)[0]
    X = StandardScaler().fit_transform(X)
    removed = np.random.RandomState(1).uniform(size=X.shape) < case["rate"]
    return X, removed


def evaluate(config, case_data, case, args):
    X, removed = case_data
    params = CONFIGS[config] | ({"max_iter": args.max_iter} if args.max_iter else {})
    imputer = VAEImputer(random_state=1, **params)
    filled = imputer.fit_transform(np.where(removed, np.nan, X))
    return {"mse": ((filled - X)[removed] ** 2).mean(), "epochs": imputer.n_iter_}


def report(path, args):
    results = read_results(path.with_suffix(".csv"))
    if results.empty:
        return
    cells = results.pivot_table("mse", ["rate", "table"], "config", sort=False)
    epochs = results.pivot_table("epochs", ["rate", "table"], "config", sort=False)
    table = cells.map("{:.3f}".format) + " (" + epochs.map("{:.0f}".format) + ")"
    table = table.reindex(columns=[c for c in CONFIGS if c in table]).fillna("")
    body = (
        "MSE on the removed cells of the standardized table (mean imputation "
        "is about 1.0); epochs run in parentheses.\n\n"
        + markdown_table(table.reset_index())
    )
    write_markdown(path.with_suffix(".md"), TITLE, body, note=args.note)
