"""Scale: ``VAEAnomalyDetector`` on nycflights13's 336 776 flights, raw.

``flights.parquet`` is the largest mixed table of the benchmark data: 18
columns, 46 595 missing cells (cancelled flights) and four categorical
columns, among them ``tailnum`` with 4043 levels and ``dest`` with 105. It
has no ``time_hour`` (a copy of year, month, day and hour); what skvae does
with a datetime column is checked apart, on 1000 rows.

Protocol: nested subsamples (the first n rows of one permutation, seed 0) of
10 000, 30 000 and 100 000 rows, then the full table if the 100 000-row fit
took under 15 minutes. Each size runs in a fresh subprocess (1 thread):
``VAEAnomalyDetector(random_state=0)`` fits the DataFrame as it is, then
``score_samples`` scores the same rows. Recorded: fit and score seconds,
epochs, ``batch_size_``, the complete epochs' durations (skorch's history)
per epoch per 1000 rows (constant if the cost is linear in rows), the fixed
work of ``fit`` around the epochs, and memory: the peak resident set
(Linux ``VmHWM``, which counts torch's allocator too) reset after the data
are loaded, during ``fit`` and during ``score_samples``, and ``ru_maxrss``.

``--train-minutes M`` interrupts training after M minutes (a SIGINT that
skorch treats as Ctrl-C: the model so far is kept and ``fit`` and
``score_samples`` finish as usual), a measurement of cost, not of a
converged model; the report marks such rows. ``--deadline HH:MM`` (UTC)
starts no size after it and kills one still running (reported as not
finished).

Usage::

    python -m benchmarks flights --quick            # smoke test, < 60 s
    python -m benchmarks flights                    # 10k, 30k, 100k, full
    python -m benchmarks flights --sizes 100000 --train-minutes 15
    python -m benchmarks flights --report-only

A rerun skips the sizes in ``flights.csv``; ``--quick`` runs 2000 and 5000
rows with ``max_iter=3``.
"""

import argparse
import datetime
import gc
import signal
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.harness import data
from benchmarks.harness.process import PeakMemory, in_subprocess, maxrss_mb, status_mb
from benchmarks.harness.report import markdown_table, runs_section, write_markdown
from benchmarks.harness.runner import read_results
from benchmarks.harness.timing import limit_threads, load_line, timed
from skvae import VAEAnomalyDetector

KEY = ["n_rows"]
FIELDS = (
    "n_rows seed fit_time score_time n_iter batch_size sec_per_epoch_per_1k "
    "score_sec_per_1k rss_before_mb fit_peak_mb score_peak_mb maxrss_mb "
    "n_features n_categorical n_levels nan_cells info command "
    "train_limit_min interrupted epoch_time train_sec_per_epoch_per_1k"
).split()
SIZES = "10000,30000,100000,full"
FULL_IF_100K_UNDER = 15 * 60  # seconds
SEED = 0
N_TOTAL = 336_776


def load_flights():
    return data.load_table("flights")


def subsample(df, n_rows, seed=SEED):
    """The first ``n_rows`` of one fixed permutation (nested samples), in
    the table's order."""
    order = np.random.RandomState(seed).permutation(len(df))
    return df.iloc[np.sort(order[:n_rows])].reset_index(drop=True)


def _in_training(frame):
    """Whether ``frame`` is inside skorch's training loop."""
    while frame is not None:
        if frame.f_code.co_name == "fit_loop":
            return True
        frame = frame.f_back
    return False


def _interrupt_training(signum, frame):
    # skorch ends training on KeyboardInterrupt and skvae keeps the model
    # trained so far (with a ConvergenceWarning), as after a Ctrl-C.
    if _in_training(frame):
        raise KeyboardInterrupt


def child(n_rows, max_iter, train_minutes=None):
    """Fit and score one size: its result row. With
    ``train_minutes``, training is interrupted after that long (the rest
    of ``fit`` and ``score_samples`` then run on the model so far)."""
    limit_threads(1)
    df = load_flights()
    X = df if n_rows == "full" else subsample(df, int(n_rows))
    del df
    gc.collect()
    rss_before = status_mb("VmRSS")
    kw = {} if max_iter is None else {"max_iter": max_iter}
    model = VAEAnomalyDetector(random_state=SEED, verbose=0, **kw)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if train_minutes:
            signal.signal(signal.SIGALRM, _interrupt_training)
            signal.setitimer(signal.ITIMER_REAL, 60 * train_minutes)
        with PeakMemory() as fit_peak:
            _, fit_time = timed(model.fit, X)
        signal.setitimer(signal.ITIMER_REAL, 0)
        with PeakMemory() as score_peak:
            scores, score_time = timed(model.score_samples, X)
    n, n_iter = len(X), model.n_iter_
    epoch_time = float(sum(row["dur"] for row in model.net_.history if "dur" in row))
    # What the model finds, as a sanity check: the 1 % least likely rows.
    top = scores <= np.quantile(scores, 0.01)
    delay = X["arr_delay"].abs()
    categorical = X.columns[model.is_categorical_]
    n_levels = zip(categorical, map(len, model.categories_), strict=True)
    row = dict(n_rows=n, seed=SEED, train_limit_min=train_minutes or "")
    row["interrupted"] = any("interrupted" in str(w.message) for w in caught)
    row["epoch_time"] = epoch_time
    row["train_sec_per_epoch_per_1k"] = epoch_time / n_iter / (n / 1000)
    row |= dict(fit_time=fit_time, score_time=score_time, n_iter=int(n_iter))
    row["batch_size"] = int(model.batch_size_)
    row["sec_per_epoch_per_1k"] = fit_time / n_iter / (n / 1000)
    row["score_sec_per_1k"] = score_time / (n / 1000)
    row |= dict(rss_before_mb=rss_before, fit_peak_mb=fit_peak.mb)
    row["score_peak_mb"] = score_peak.mb
    row["maxrss_mb"] = maxrss_mb()
    row |= dict(n_features=X.shape[1], n_categorical=len(categorical))
    row["n_levels"] = ";".join(f"{k}={v}" for k, v in n_levels)
    row["nan_cells"] = int(X.isna().to_numpy().sum())
    row["info"] = (
        f"finite={bool(np.isfinite(scores).all())};"
        f"active={model.n_active_components_};"
        f"hidden={list(model.hidden_layer_sizes_)};"
        f"top1pct_median_abs_arr_delay={delay[top].median():.0f};"
        f"all_median_abs_arr_delay={delay.median():.0f};"
        f"top1pct_rows_with_nan={X[top].isna().any(axis=1).mean():.2f};"
        f"all_rows_with_nan={X.isna().any(axis=1).mean():.3f}"
    )
    return row


def evaluate(contender, case_data, case, args):
    """One size in a fresh process; one still running at ``--deadline`` is
    killed and recorded as not finished."""
    size, timeout = case["size"], None
    if args.deadline:
        timeout = seconds_left(args.deadline)
    max_iter = 3 if args.quick else args.max_iter
    start = datetime.datetime.now(datetime.timezone.utc)
    print(f"size {size}: started {start:%H:%M:%S} UTC", flush=True)
    try:
        row = in_subprocess(child, size, max_iter, args.train_minutes, timeout=timeout)
    except subprocess.TimeoutExpired:
        now = datetime.datetime.now(datetime.timezone.utc)
        minutes = (now - start).total_seconds() / 60
        info = f"killed at the deadline after {minutes:.1f} min, fit not finished"
        print(f"size {size}: {info}", flush=True)
        return {"seed": SEED, "info": info}
    print(
        f"size {row['n_rows']}: fit {row['fit_time']:.1f} s ({row['n_iter']} epochs, "
        f"{row['sec_per_epoch_per_1k']:.4f} s/epoch/1000 rows), score "
        f"{row['score_time']:.1f} s, fit peak {row['fit_peak_mb']:.0f} MB",
        flush=True,
    )
    return row


def seconds_left(deadline):
    """Seconds from now to ``deadline`` ("HH:MM", UTC, today)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    hour, minute = map(int, deadline.split(":"))
    return (now.replace(hour=hour, minute=minute, second=0) - now).total_seconds()


def datetime_check():
    """What a fit does with a datetime column: ``time_hour`` rebuilt from
    year, month, day and hour on 1000 rows (naive, then New York time)."""
    X = load_flights().head(1000).copy()
    stamp = pd.to_datetime(
        pd.DataFrame({c: X[c] for c in ("year", "month", "day", "hour")})
    )
    lines = []
    for label, column in (
        ("datetime64[ns]", stamp),
        ("datetime64[ns, America/New_York]", stamp.dt.tz_localize("America/New_York")),
    ):
        X["time_hour"] = column
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                VAEAnomalyDetector(max_iter=1, random_state=0).fit(X)
            outcome = "accepted"
        except Exception as exc:  # noqa: BLE001 - the outcome is the result
            outcome = f"`{type(exc).__name__}: {exc}`"
        lines.append(f"- `time_hour` as `{label}`: {outcome}")
    return lines


def report(path, args):
    results = read_results(path.with_suffix(".csv"))
    if results.empty or results["fit_time"].notna().sum() == 0:
        return
    results = results.drop_duplicates("n_rows", keep="last").sort_values("n_rows")
    unfinished = results[results["fit_time"].isna()]
    results = results[results["fit_time"].notna()]
    last = results.iloc[-1]
    rows = []
    for _, r in results.iterrows():
        interrupted = str(r.get("interrupted", "")).lower() == "true"
        fixed = per_epoch = "not recorded"
        if pd.notna(r.get("epoch_time")):
            # Training: the complete epochs, or the whole limit when it
            # interrupted an epoch; the rest of fit is fixed work.
            train = 60 * r["train_limit_min"] if interrupted else r["epoch_time"]
            fixed = f"{r['fit_time'] - train:.0f}"
            per_epoch = f"{r['train_sec_per_epoch_per_1k']:.3f}"
        stopped = f" (stopped at {r['train_limit_min']:g} min)" if interrupted else ""
        rows.append(
            [f"{int(r['n_rows']):,}", f"{r['fit_time']:.0f}"]
            + [f"{int(r['n_iter'])}{stopped}", int(r["batch_size"]), per_epoch]
            + [f"{r['sec_per_epoch_per_1k']:.3f}", fixed, f"{r['score_time']:.0f}"]
            + [f"{r['score_sec_per_1k']:.3f}"]
            + [f"{r[k]:.0f}" for k in MEMORY]
        )
    header = ["rows", "fit (s)", "epochs", "batch"]
    header += ["training s / epoch / 1000 rows", "fit s / epoch / 1000 rows"]
    header += ["fixed work in fit (s)", "score (s)", "score s / 1000 rows"]
    header += ["RSS before fit (MB)", "peak RSS in fit (MB)"]
    header += ["peak RSS in score (MB)", "ru_maxrss (MB)"]
    for _, r in unfinished.iterrows():
        rows.append([f"{int(r['n_rows']):,}", r["info"]] + [""] * (len(header) - 2))
    body = [
        f"At the end: {load_line()} One thread; wall-clock seconds on a shared "
        "2-core machine.\n",
        f"`VAEAnomalyDetector(random_state=0)`, defaults otherwise, on the raw "
        f"DataFrame: {int(last['n_features'])} columns, "
        f"{int(last['n_categorical'])} categorical "
        f"({str(last['n_levels']).replace(';', ', ')} levels in the largest "
        "sample), missing cells left out of the likelihood. Nested subsamples "
        "(seed 0), each size in a fresh subprocess; `score_samples` on the "
        "same rows.\n",
        "## Time and memory per size\n",
        markdown_table(rows, header),
        "\n`training s / epoch / 1000 rows`: the complete epochs' durations "
        "(skorch's history); `fit s / epoch / 1000 rows`: the whole fit "
        "divided by the epochs, fixed work included (validation, the training "
        "scores behind `offset_`, the latent diagnostics). `stopped at`: "
        "training was interrupted then (`--train-minutes`), so the row "
        "measures cost, not a converged model. Memory: peak resident set "
        "(VmHWM) of the subprocess, reset after the data are loaded.",
    ]
    timed_rows = results[results.get("epoch_time", pd.Series()).notna()]
    if len(timed_rows) > 1:
        small, large = timed_rows.iloc[0], timed_rows.iloc[-1]
        key = "train_sec_per_epoch_per_1k"
        train, score = (large[k] / small[k] for k in (key, "score_sec_per_1k"))
        body.append(
            f"\nFrom {int(small['n_rows']):,} to {int(large['n_rows']):,} rows "
            f"({large['n_rows'] / small['n_rows']:.1f}x): training seconds per "
            f"epoch per 1000 rows x{train:.2f}, "
            f"score seconds per 1000 rows x{score:.2f} (1.00 = linear in rows)."
        )
    if SKIPPED:
        body.append(f"\nNot run: {'; '.join(SKIPPED)}")
    body.append("\n## What the least likely 1 % of rows look like\n")
    for _, r in results.iterrows():
        info = dict(kv.split("=", 1) for kv in str(r["info"]).split(";"))
        body.append(
            f"- {int(r['n_rows']):,} rows: median |arr_delay| "
            f"{info['top1pct_median_abs_arr_delay']} min among them against "
            f"{info['all_median_abs_arr_delay']} min overall; rows with a "
            f"missing cell {float(info['top1pct_rows_with_nan']):.0%} against "
            f"{float(info['all_rows_with_nan']):.1%} overall; "
            f"{info['active']} active latent dimensions, hidden layers "
            f"{info['hidden']}, all scores finite: {info['finite']}."
        )
    body += [
        "\n## A datetime column\n",
        "`time_hour` rebuilt from year, month, day and hour on the first 1000 "
        "rows; a `fit` gives:\n",
        *datetime_check(),
        "\nA datetime has to be turned into numbers by the user (e.g. "
        "`time_hour.astype('int64') // 10**9`, or its parts), as in "
        "scikit-learn.",
    ]
    body += runs_section(results, path.with_suffix(".csv"))
    title = "Scale: VAEAnomalyDetector on nycflights13 (336 776 rows)"
    write_markdown(path.with_suffix(".md"), title, "\n".join(body), note=args.note)


MEMORY = ["rss_before_mb", "fit_peak_mb", "score_peak_mb", "maxrss_mb"]
# Sizes not run, for the report.
SKIPPED = []


def add_arguments(parser):
    parser.add_argument("--sizes", default=SIZES)
    parser.add_argument("--deadline", help="HH:MM UTC: start no size after it")
    parser.add_argument("--max-iter", type=int, help=argparse.SUPPRESS)
    text = "interrupt training after this long (a cost measurement)"
    parser.add_argument("--train-minutes", type=float, help=text)


def cases(args):
    """The sizes not yet run, in order: the full table only after a 100 000
    row fit under 15 minutes, and no size after ``--deadline``."""
    csv_path = Path(args.out, args.name).with_suffix(".csv")
    done = read_results(csv_path)
    done = set() if done.empty else set(done["n_rows"].astype(int))
    for size in ["2000", "5000"] if args.quick else args.sizes.split(","):
        if (N_TOTAL if size == "full" else int(size)) in done:
            continue
        timeout = seconds_left(args.deadline) if args.deadline else None
        if timeout is not None and timeout <= 0:
            SKIPPED.append(f"{size} rows (deadline {args.deadline} UTC passed)")
            continue
        if size == "full" and args.sizes == SIZES and not full_allowed(csv_path):
            SKIPPED.append(
                "the full table with defaults: the 100 000-row fit did not "
                "finish in under 15 min."
            )
            continue
        yield {"n_rows": N_TOTAL if size == "full" else int(size), "size": size}


def full_allowed(csv_path):
    """Whether the 100 000-row fit finished, uninterrupted, in 15 minutes."""
    res = read_results(csv_path)
    res = res[res["n_rows"] == 100_000]
    fit_100k = res["fit_time"].dropna()
    stopped = res.get("interrupted", pd.Series(dtype=object))
    return not (
        fit_100k.empty
        or fit_100k.iloc[-1] >= FULL_IF_100K_UNDER
        or (not stopped.empty and str(stopped.iloc[-1]).lower() == "true")
    )
