"""Shared data sets of the test suite, as session fixtures (the estimator
configurations are in ``configs.py``)."""

import warnings

import numpy as np
import pytest
from configs import LEARNT


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


@pytest.fixture(scope="session")
def fitted(table):
    """``VAETransformer(**LEARNT)`` fitted on ``table`` (read only: a test
    that changes a model fits its own)."""
    from skvae import VAETransformer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return VAETransformer(**LEARNT).fit(table)
