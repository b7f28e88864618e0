"""The one runner: a study's cases, one stored row at a time, then its report.

A study is a module of ``benchmarks/configs`` or ``benchmarks/studies``
(``python -m benchmarks <module name>``). Its interface is two functions:

- ``evaluate(contender, data, case, args)``: the result row (a dict) of one
  contender on one case, or a list of rows; ``contender`` is None in a
  study without contenders (an empty ``CONTENDERS``);
- ``report(path, args)``: the Markdown report at ``path.with_suffix(".md")``
  (and a figure), from every stored row (``read_results``);

and two constants: ``KEY``, the columns that name a row (a rerun skips the
rows already stored: it resumes), and ``FIELDS``, the columns of the CSV.
Optional, with their defaults:

- ``cases(args)``: the case dicts to run, by default every ``{"seed": s,
  "dataset": d}``, seeds outermost so that an interrupted run leaves whole
  seeds; a case's ``"contenders"`` list replaces ``--contenders`` for it;
- ``prepare(case, args)``: the data that a case's contenders share, made
  once, only when one of them is still to run (default: None);
- ``STORE``: ``"csv"`` (default: rows appended to ``<out>/<name>.csv``) or
  ``"json"`` (each row is a file ``<out>/<name>[_<KEY values>].json``);
- ``CONTENDER`` (the column of the contender's name, ``"contender"``),
  ``CONTENDERS`` (the default names), ``ON_REQUEST`` (names run only when
  ``--contenders`` asks), ``datasets(args)`` and ``SEEDS`` (the defaults),
  ``QUICK`` (what ``--quick`` overrides: a dict of argument values),
  ``THREADS`` (1; None leaves torch's default), ``NAME`` (the result files'
  stem), ``add_arguments(parser)`` (the study's own options) and, for a
  frozen study, ``COMMITS`` (``{result name: the commit that produced
  it}``).

The runner times each contender in this process (``seconds``), records a
failure as a CSV row (its ``info``; a JSON study only logs it) and carries
on, except with ``--quick``: a smoke test fails loudly. The report is
written at the end, also when the run stops early. Several processes may
append to one CSV.

A study not yet written this way defines ``run(args, path)`` instead of
``evaluate``; the runner calls it and then ``report``.
"""

import csv
import fcntl
import json
import time
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from .report import command_line


class Study(Protocol):
    """What a study module provides (the optional names above aside)."""

    KEY: Sequence[str]
    FIELDS: Sequence[str]

    def evaluate(self, contender: Any, data: Any, case: dict, args: Any) -> Any:
        """The row (a dict) of ``contender`` on ``case``, or a list of rows."""

    def report(self, path: Path, args: Any) -> None:
        """Write ``path.with_suffix(".md")`` from the stored rows."""


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


class CsvStore:
    """Rows appended to ``<path>.csv``, with the runner's ``seconds``; a
    failure is a row too."""

    records_failures = True

    def __init__(self, path, key, fields):
        self.path, self.fields = path.with_suffix(".csv"), fields
        self.done = done_keys(read_results(self.path), key)

    def is_done(self, values):
        return values in self.done

    def save(self, row, base, seconds, values):
        row = {"seconds": seconds, **base, **row}
        append_row(self.path, row, self.fields)
        return row


class JsonStore:
    """Each row a file ``<path>[_<key values>].json``, as the study wrote
    it; a row is done when its file exists."""

    records_failures = False

    def __init__(self, path, key, fields):
        self.path = path

    def file(self, values):
        name = "_".join([self.path.name, *map(str, values)])
        return self.path.parent / f"{name}.json"

    def is_done(self, values):
        return self.file(values).exists()

    def save(self, row, base, seconds, values):
        row = row | {k: v for k, v in base.items() if k not in row}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file(values).write_text(json.dumps(row, indent=1))
        print(f"wrote {self.file(values)}", flush=True)
        return row


STORES = {"csv": CsvStore, "json": JsonStore}


def _describe(row, key, seconds):
    """One line on a row: its key, its first numbers, its seconds, info."""
    names = [k for k in dict.fromkeys([*key, "metric", "detector"]) if k in row]
    numbers = [
        f"{k}={v:.4f}"
        for k, v in row.items()
        if k not in key and isinstance(v, float | np.floating) and k != "seconds"
    ][:4]
    line = " ".join([*(f"{row[k]}" for k in names), *numbers, f"({seconds:.1f} s)"])
    return line + (f" {row['info']}" if row.get("info") else "")


def run_cases(study: Study, args, path):
    """Every case of the study, every contender whose row is not stored
    yet: its row (or rows) stored as soon as it is known."""
    key = list(study.KEY)
    contender_column = getattr(study, "CONTENDER", "contender")
    store_class = STORES[getattr(study, "STORE", "csv")]
    store = store_class(path, key, getattr(study, "FIELDS", None))
    cases = study.cases(args) if hasattr(study, "cases") else default_cases(args)
    for case in cases:
        names = case.pop("contenders", args.contenders) or [None]
        named = {c: case if c is None else {**case, contender_column: c} for c in names}
        values = {c: tuple(named[c].get(k) for k in key) for c in names}
        todo = [c for c in names if not store.is_done(values[c])]
        if not todo:
            continue
        data = study.prepare(case, args) if hasattr(study, "prepare") else None
        for contender in todo:
            base = {**named[contender], "command": command_line()}
            start = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    rows = study.evaluate(contender, data, case, args)
            except Exception as exc:  # a failure is a result: record it
                if args.quick:
                    raise
                traceback.print_exc()
                if not store.records_failures:
                    continue
                rows = {"info": f"error: {type(exc).__name__}: {exc}"[:200]}
            seconds = time.perf_counter() - start
            for row in rows if isinstance(rows, list) else [rows]:
                row = store.save(row, base, seconds, values[contender])
                print(_describe(row, key, row.get("seconds", seconds)), flush=True)


def default_cases(args):
    for seed in args.seeds:
        for dataset in args.datasets:
            yield {"seed": seed, "dataset": dataset}


def run_study(study: Study, args):
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
            run_cases(study, args, path)
    finally:
        study.report(path, args)
