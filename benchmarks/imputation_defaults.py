"""Which VAEImputer defaults: the MIWAE protocol (50 % of standardized
cells removed at random, seed 1, MSE on the removed cells) for a few
candidate settings on the six numeric tables of ``imputation.py``.

Usage::

    python benchmarks/imputation_defaults.py [--rate R] [config ...]

Prints one line per (table, config): the MSE, the epochs run and the fit +
transform seconds. The configs are the keys of ``CONFIGS``; all by default.
``--rate`` is the share of cells removed (default 0.5).
The output of the run that chose the defaults is in
``results/imputation_defaults.md``.
"""

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from _common import data_dir, limit_threads, load_adbench
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler

from skvae import VAEImputer

# The transformer's defaults when the first run chose the imputer's: 200
# epochs with the tol rule on the training loss, no free bits, batches of
# min(128, n_samples). Each setting states its changes to them in full, so
# that it means today what it meant then.
TRANSFORMER_DEFAULTS = dict(max_iter=200, free_bits=0.0, batch_size="auto")
CONFIGS = {
    "transformer-defaults": TRANSFORMER_DEFAULTS,
    "iwae5": {**TRANSFORMER_DEFAULTS, "n_importance_samples": 5},
    "batch32": {**TRANSFORMER_DEFAULTS, "batch_size": 32},
    "batch32-iwae5": {
        **TRANSFORMER_DEFAULTS,
        "batch_size": 32,
        "n_importance_samples": 5,
    },
    "free-bits0.5": {**TRANSFORMER_DEFAULTS, "free_bits": 0.5},
    "beta0.5": {**TRANSFORMER_DEFAULTS, "beta": 0.5},
    "warmup20": {**TRANSFORMER_DEFAULTS, "kl_warmup": 20},
    "patience30": {**TRANSFORMER_DEFAULTS, "n_iter_no_change": 30},
    "free-bits0.5-batch32": {
        **TRANSFORMER_DEFAULTS,
        "free_bits": 0.5,
        "batch_size": 32,
    },
    # max_iter="auto": about 3000 gradient steps, no tol rule.
    "free-bits0.5-batch32-auto": {
        **TRANSFORMER_DEFAULTS,
        "max_iter": "auto",
        "free_bits": 0.5,
        "batch_size": 32,
    },
}


def tables():
    concrete = pd.read_parquet(data_dir() / "tables" / "concrete.parquet")
    return {
        "concrete": concrete.select_dtypes("number").to_numpy(float),
        "wine": load_adbench("wine")[0],
        "glass": load_adbench("glass")[0],
        "breast": load_breast_cancer().data,
        "yeast": load_adbench("yeast")[0],
        "Ionosphere": load_adbench("Ionosphere")[0],
    }


def main():
    limit_threads(1)
    warnings.simplefilter("ignore")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", help="keys of CONFIGS (all)")
    parser.add_argument("--rate", type=float, default=0.5)
    args = parser.parse_args()
    names = args.configs or list(CONFIGS)
    for table, X in tables().items():
        X = StandardScaler().fit_transform(X)
        removed = np.random.RandomState(1).uniform(size=X.shape) < args.rate
        X_gaps = np.where(removed, np.nan, X)
        for name in names:
            start = time.perf_counter()
            imputer = VAEImputer(random_state=1, **CONFIGS[name])
            filled = imputer.fit_transform(X_gaps)
            mse = ((filled - X)[removed] ** 2).mean()
            print(
                f"{table} {X.shape} rate={args.rate} {name} mse={mse:.3f} "
                f"epochs={imputer.n_iter_} "
                f"seconds={time.perf_counter() - start:.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
