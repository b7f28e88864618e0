"""The one runner: datasets x contenders x seeds, one CSV row at a time.

A study (a module of ``benchmarks/configs`` or ``benchmarks/studies``) is a
configuration of this loop. It names:

- ``TITLE``, ``FIELDS`` (the CSV columns), ``KEY`` (the columns that name a
  row, to resume), ``CONTENDER`` (the column of the contender's name,
  ``"contender"`` by default), ``CONTENDERS`` (the default names) and
  ``ON_REQUEST`` (names run only when ``--contenders`` asks);
- ``datasets(args)`` and ``SEEDS`` (the defaults), ``QUICK`` (what
  ``--quick`` overrides: a dict of argument values), ``THREADS`` (1; None
  leaves torch's default) and ``NAME`` (the result files' stem);
- ``cases(args)`` (optional): the case dicts to run, by default every
  ``{"seed": s, "dataset": d}``, seeds outermost so that an interrupted run
  leaves whole seeds;
- ``prepare(case, args)``: the data of one case (a split), made once for
  all its contenders;
- ``evaluate(contender, data, case, args)``: a dict of metrics, or a list of
  dicts for several rows;
- ``report(path, args)``: the Markdown report (and a figure) at
  ``path.with_suffix(".md")``, from every row of the CSV (``read_results``);
- ``add_arguments(parser)`` (optional): the study's own options.

A study that is not a product loop (a timing study, a JSON of curves)
defines ``run(args, path)`` instead of ``prepare`` and ``evaluate``.

The runner skips the rows already in ``<out>/<name>.csv`` (a rerun
resumes; several processes may append to one CSV), times each contender in
this process (``seconds``), records a failure as a row (its ``info``, or a
line on stderr) and carries on, except with ``--quick``: a smoke test fails
loudly. The report is written at the end, also when the run stops early.
"""

import csv
import fcntl
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .report import command_line


def read_results(csv_path, key=None):
    """All rows of a results CSV (empty DataFrame if none); when two
    processes computed the same ``key``, the first row is kept."""
    if not Path(csv_path).exists():
        return pd.DataFrame()
    results = pd.read_csv(csv_path, keep_default_na=False, na_values=["", "nan"])
    if "seed" in results and not results.empty:
        results["seed"] = results["seed"].astype(int)
    return results.drop_duplicates(key) if key else results


def append_row(csv_path, row, fields):
    """Append ``row`` (a dict) under a lock; an existing file keeps its own
    header, so a CSV written by an earlier version of a study stays valid."""
    csv_path = Path(csv_path)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with open(csv_path, "a+", newline="") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        header = next(csv.reader(f), None)
        writer = csv.DictWriter(f, fieldnames=header or fields, extrasaction="ignore")
        if header is None:
            writer.writeheader()
        writer.writerow(row)
        f.flush()
        fcntl.flock(f, fcntl.LOCK_UN)


def done_keys(results, key):
    """The set of ``key`` tuples in ``results``, an empty cell as None (a
    case that has no value for that column)."""
    if results.empty or not set(key) <= set(results.columns):
        return set()
    cells = results[key].astype(object)
    return set(cells.where(cells.notna(), None).itertuples(index=False, name=None))


def _describe(row, key):
    """One line on a row: its key, its first numbers, its seconds, info."""
    names = [k for k in dict.fromkeys([*key, "metric", "detector"]) if k in row]
    numbers = [
        f"{k}={v:.4f}"
        for k, v in row.items()
        if k not in key and isinstance(v, float | np.floating) and k != "seconds"
    ][:4]
    seconds = row.get("seconds", row.get("fit_time", np.nan))
    line = " ".join([*(f"{row[k]}" for k in names), *numbers, f"({seconds:.1f} s)"])
    return line + (f" {row['info']}" if row.get("info") else "")


def run_cases(study, args, csv_path):
    """The product loop: every case of the study, every contender not yet
    in the CSV, one row (or several) appended as soon as it is known."""
    key = list(study.KEY)
    contender_column = getattr(study, "CONTENDER", "contender")
    done = done_keys(read_results(csv_path), key)
    cases = study.cases(args) if hasattr(study, "cases") else default_cases(args)
    for case in cases:
        names = case.pop("contenders", args.contenders)
        todo = [
            c
            for c in names
            if tuple({**case, contender_column: c}.get(k) for k in key) not in done
        ]
        if not todo:
            continue
        data = study.prepare(case, args)
        for contender in todo:
            base = {**case, contender_column: contender, "command": command_line()}
            start = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    rows = study.evaluate(contender, data, case, args)
            except Exception as exc:  # a failure is a result: record it
                if args.quick:
                    raise
                traceback.print_exc()
                rows = {"info": f"error: {type(exc).__name__}: {exc}"[:200]}
            seconds = time.perf_counter() - start
            for row in rows if isinstance(rows, list) else [rows]:
                row = {"seconds": seconds, **base, **row}
                append_row(csv_path, row, study.FIELDS)
                print(_describe(row, key), flush=True)


def default_cases(args):
    for seed in args.seeds:
        for dataset in args.datasets:
            yield {"seed": seed, "dataset": dataset}


def run_study(study, args):
    """Run the study (unless ``--report-only``), then write its report,
    also when the run stopped early: ``study.report(path, args)``."""
    path = Path(args.out) / args.name
    try:
        if args.report_only:
            pass
        elif hasattr(study, "run"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                study.run(args, path)
        else:
            run_cases(study, args, path.with_suffix(".csv"))
    finally:
        study.report(path, args)
