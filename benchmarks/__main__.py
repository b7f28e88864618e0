"""Entry point: ``python -m benchmarks <study> [options]``.

A study is a module of ``benchmarks/configs`` (peer comparisons,
performance) or ``benchmarks/studies`` (frozen: the runs that chose a
default, each pinned to the commit that produced its results); its
docstring says what it measures and its own options, and
``benchmarks/harness/runner.py`` the interface every study implements.
Options shared by every study:

``--quick``         smoke test with tiny budgets, written to a fresh temp
                    folder unless ``--out`` is given
``--datasets``      comma-separated names (``all`` where the study allows)
``--seeds``         comma-separated seeds
``--contenders``    comma-separated names from the study's registry
``--out``           folder of the results (default ``benchmarks/results``)
``--name``          stem of the result files (default: the study's name)
``--report-only``   rebuild the report from the committed CSV / JSON
``--note``          text put at the top of the report

``python -m benchmarks list`` prints the studies' names, one a line.
"""

import argparse
import importlib
import pkgutil
import sys
import tempfile
from pathlib import Path

from benchmarks import configs, studies
from benchmarks.harness.runner import run_study
from benchmarks.harness.timing import limit_threads

RESULTS = Path(__file__).resolve().parent / "results"


def study_names():
    """``{name: module path}`` of every configuration and frozen study."""
    return {
        m.name: f"{package.__name__}.{m.name}"
        for package in (configs, studies)
        for m in pkgutil.iter_modules(package.__path__)
        if not m.name.startswith("_")  # a helper shared by studies
    }


def split(text, kind=str):
    return [kind(v) for v in text.split(",")] if text else None


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    names = study_names()
    if argv[:1] == ["list"]:  # one name a line, for scripts (.ci/run)
        print("\n".join(names))
        return
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        print("Studies:", ", ".join(names))
        return
    if argv[0] not in names:
        sys.exit(f"unknown study {argv[0]!r}; choose from {sorted(names)}")
    study = importlib.import_module(names[argv[0]])
    parser = argparse.ArgumentParser(
        prog=f"python -m benchmarks {argv[0]}",
        description=study.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="smoke test")
    parser.add_argument("--datasets", help="comma-separated names")
    parser.add_argument("--seeds", help="comma-separated seeds")
    parser.add_argument("--contenders", help="comma-separated names")
    parser.add_argument("--out", help="folder of the results")
    name = getattr(study, "NAME", argv[0])
    parser.add_argument("--name", default=name, help="stem of the result files")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--note", help="text put at the top of the report")
    if hasattr(study, "add_arguments"):
        study.add_arguments(parser)
    args = parser.parse_args(argv[1:])
    args.study = argv[0]
    args.datasets = split(args.datasets)
    args.seeds = split(args.seeds, int)
    args.contenders = split(args.contenders)
    known = [*getattr(study, "CONTENDERS", []), *getattr(study, "ON_REQUEST", [])]
    if args.contenders and known and set(args.contenders) - set(known):
        parser.error(f"unknown contenders; choose from {known}")
    if args.quick:
        for option, value in getattr(study, "QUICK", {}).items():
            if getattr(args, option, None) in (None, parser.get_default(option)):
                setattr(args, option, value)
    if args.datasets in (None, ["all"]) and hasattr(study, "datasets"):
        args.datasets = study.datasets(args)
    args.seeds = args.seeds or list(getattr(study, "SEEDS", [1]))
    args.contenders = args.contenders or list(getattr(study, "CONTENDERS", []))
    if args.out is None:
        args.out = tempfile.mkdtemp(prefix=f"{args.name}_") if args.quick else RESULTS
    if threads := getattr(study, "THREADS", 1):
        limit_threads(threads)
    if (commits := getattr(study, "COMMITS", None)) and not args.report_only:
        pinned = ", ".join(f"{name} at {commit}" for name, commit in commits.items())
        print(
            f"{args.study} is frozen: its results came from {pinned} (check that "
            "commit out to reproduce them exactly); this run uses today's code.",
            file=sys.stderr,
        )
    run_study(study, args)


if __name__ == "__main__":
    main()
