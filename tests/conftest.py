"""Shared fast configurations and data sets of the test suite.

Test files import the constants with ``from conftest import FAST`` (the
``tests`` directory is on ``pythonpath``, see ``pyproject.toml``). A test that
needs a better-trained model asks for more epochs explicitly, e.g.
``{**FAST, "max_iter": 30}``.
"""

import numpy as np
import pytest
import torch

# A tiny network trained for a handful of epochs: fast, deterministic, and
# enough for every claim that does not depend on a well-trained model.
FAST = dict(n_components=2, hidden_layer_sizes=(16,), max_iter=5, random_state=0)

# For claims about what the objective's terms and the regularizers do to a
# trained model: enough epochs to tell, and four latent dimensions so that
# the KL terms have room to differ.
TRAINED = {**FAST, "n_components": 4, "max_iter": 40}

# The hyperparameter mixes that scikit-learn's estimator checks run over
# (test_common.py): every objective term and regularizer is switched on in
# at least one of them.
CONFIGS = {
    "defaults": {},
    "adversarial": dict(adversarial_weight=0.5),
    "corruption_dropout_trim": dict(corruption=0.2, dropout=0.1, trim_fraction=0.2),
    "warmup_free_bits": dict(kl_warmup=2, free_bits=0.1),
    "l1_weight_decay": dict(l1_penalty=1e-3, weight_decay=1e-2),
    # free_bits=0: VAEImputer's default floor applies to the ELBO only.
    "iwae_early_stopping": dict(
        n_importance_samples=3, early_stopping=True, free_bits=0.0
    ),
    # The checks' first column becomes categorical: its distinct values are
    # the levels, and new values at inference are unseen levels.
    "categorical": dict(categorical_features=[0]),
    "categorical_adversarial_corruption": dict(
        categorical_features=[0], adversarial_weight=0.5, corruption=0.2
    ),
}


def seeded(seed=0):
    """A fresh ``torch.Generator`` seeded with ``seed``, for the torch-level
    tests that build modules and draw noise without the global generator."""
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="session")
def blobs():
    """Correlated 6-D Gaussian data driven by 2 latent factors, unscaled."""
    rng = np.random.RandomState(0)
    latent = rng.normal(size=(400, 2))
    mixing = rng.normal(size=(2, 6))
    X = latent @ mixing + 0.1 * rng.normal(size=(400, 6))
    return X * np.array([1, 10, 100, 0.1, 1, 5]) + np.array([0, 5, -50, 1, 2, 3])


@pytest.fixture(scope="session")
def binary():
    """Binary 0/1 data with structure (two prototypes with bit flips)."""
    rng = np.random.RandomState(0)
    prototypes = rng.uniform(size=(2, 20)) < 0.5
    rows = prototypes[rng.randint(2, size=300)]
    flips = rng.uniform(size=rows.shape) < 0.05
    return (rows ^ flips).astype(np.float64)


@pytest.fixture(scope="session")
def X():
    """A small standard-normal sample: 60 rows, 4 features."""
    return np.random.RandomState(0).normal(size=(60, 4))


@pytest.fixture(scope="session")
def table():
    """A mixed pandas table with structure and gaps: the level of ``colour``
    sets the means of ``x`` and ``y``; ``size`` is text, ``flag`` boolean,
    ``count`` integer; a few cells of each column are missing."""
    import pandas as pd

    rng = np.random.RandomState(0)
    n = 300
    colour = rng.randint(3, size=n)
    frame = pd.DataFrame(
        {
            "colour": pd.Categorical.from_codes(colour, ["red", "green", "blue"]),
            "x": 10.0 * colour + rng.normal(size=n),
            "size": np.array(["S", "M", "L"], dtype=object)[rng.randint(3, size=n)],
            "flag": colour == 2,
            "count": rng.poisson(5 + 5 * colour),
            "y": -100.0 * colour + 5 * rng.normal(size=n),
        }
    )
    gaps = rng.uniform(size=frame.shape) < 0.05
    for j, column in enumerate(["x", "size", "y"]):
        frame.loc[gaps[:, j], column] = np.nan
    frame.loc[gaps[:, 3], "colour"] = np.nan
    return frame


def to_polars(frame):
    """The pandas ``frame`` as a polars DataFrame, built column by column
    (``pl.from_pandas`` needs pyarrow for category and text columns)."""
    import pandas as pd
    import polars as pl

    columns = []
    for name in frame.columns:
        column = frame[name]
        values = [None if pd.isna(v) else v for v in column.astype(object)]
        series = pl.Series(name, values)
        if isinstance(column.dtype, pd.CategoricalDtype):
            series = series.cast(pl.Categorical)
        columns.append(series)
    return pl.DataFrame(columns)
