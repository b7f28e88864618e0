"""A grid search whose fits train stacked, against GridSearchCV's fits one by one.

On three real tables, the same search of 9 candidates x 5 folds (45 fits):
``{"beta": [0.5, 1.0, 2.0], "weight_decay": [0.0, 1e-4, 1e-3]}``,
``cv=KFold(5, shuffle=True, random_state=0)``, ``refit=False`` (the 45
fits and their scores only), the estimator's own ``score`` (the held-out
bound) as scoring, by four contenders:

- ``GridSearchCV(n_jobs=1)``: scikit-learn's search, one fit after the
  other in this process, each on one thread (the estimators' ``n_jobs=None``);
- ``GridSearchCV(n_jobs=2)``: the same search over two worker processes
  (joblib's loky), one thread each; the workers are started and import
  skvae before the clock starts (``workers_seconds``), so a first search of
  a session costs that much more;
- ``StackedGridSearchCV(n_jobs=1)`` and ``StackedGridSearchCV(n_jobs=2)``:
  ``skvae.model_selection.StackedGridSearchCV``, the fits that share an
  architecture trained as one stacked model, with one and two torch
  threads in this process.

The tables (every row, labels unused): ADBench's ``fault`` (1941 x 27) and
``magic.gamma`` (19020 x 10) with ``VAEAnomalyDetector(random_state=0)``,
and the mixed-type ``credit_data`` (4454 x 14, 5 categorical columns,
missing cells) with ``VAETransformer(random_state=0)``, their defaults
otherwise. The contenders run one after the other in one process, per
table and round (``--rounds``); ``seconds`` is the wall clock of the
search's ``fit``, ``cpu_seconds`` this process's CPU time in it (two
threads show as more CPU than wall time; worker processes not counted).
``uptime`` is recorded before and after each contender. Each search's
mean test score per candidate is compared with ``GridSearchCV(n_jobs=1)``'s
of the same round: the largest absolute difference (``max_score_diff``)
and whether the selected parameters are the same (``same_best``).

Usage::

    python -m benchmarks grid_search --quick
    python -m benchmarks grid_search
    python -m benchmarks grid_search --datasets fault --rounds 3
"""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.model_selection import GridSearchCV, KFold

from benchmarks.harness import data
from benchmarks.harness.report import markdown_table, protocol, write_markdown
from benchmarks.harness.runner import read_results
from benchmarks.harness.timing import clocked, timed, uptime
from skvae import VAEAnomalyDetector, VAETransformer
from skvae.model_selection import StackedGridSearchCV

TITLE = "Grid search: StackedGridSearchCV against GridSearchCV"
# name -> (loader, estimator class)
TABLES = {
    "fault": ("adbench", VAEAnomalyDetector),
    "magic.gamma": ("adbench", VAEAnomalyDetector),
    "credit_data": ("tables", VAETransformer),
}
GRID = {"beta": [0.5, 1.0, 2.0], "weight_decay": [0.0, 1e-4, 1e-3]}
QUICK_GRID = {"beta": [0.5, 1.0], "weight_decay": [0.0, 1e-3]}
N_FOLDS, QUICK_FOLDS = 5, 2
REFERENCE = "GridSearchCV(n_jobs=1)"
CONTENDERS = [
    REFERENCE,
    "GridSearchCV(n_jobs=2)",
    "StackedGridSearchCV(n_jobs=1)",
    "StackedGridSearchCV(n_jobs=2)",
]
# The process starts on one thread, as the estimators' n_jobs=None fits;
# each contender sets its own threads or processes (its n_jobs).
THREADS = 1
KEY = ["dataset", "round", "contender"]
FIELDS = (
    "dataset round contender rows columns n_fits seconds cpu_seconds "
    "workers_seconds n_stacks n_stacked_fits best_params same_best "
    "max_score_diff mean_test_scores uptime_before uptime_after commit info "
    "command"
).split()
QUICK = {"datasets": ["fault", "credit_data"], "rows": 200, "max_iter": 2}


def add_arguments(parser):
    parser.add_argument("--rounds", type=int, default=1, help="rounds per table")
    parser.add_argument("--rows", type=int, help="first rows only (smoke tests)")
    parser.add_argument("--max-iter", type=int, help="override (smoke tests)")


def datasets(args):
    return list(TABLES)


def cases(args):
    for round_ in range(args.rounds):
        for dataset in args.datasets:
            yield {"dataset": dataset, "round": round_}


def prepare(case, args):
    """The table's rows (a DataFrame for the mixed table)."""
    loader, _ = TABLES[case["dataset"]]
    if loader == "adbench":
        X = data.load_adbench(case["dataset"])[0]
    else:
        X = data.load_table(case["dataset"])
    return X[: args.rows] if args.rows else X


def _commit():
    """This checkout's commit, ``+`` when it has uncommitted changes."""
    root = data.REPO_ROOT

    def git(*command):
        return subprocess.run(
            ["git", *command], cwd=root, capture_output=True, text=True
        ).stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no")
    return git("rev-parse", "--short", "HEAD") + ("+" if dirty else "")


def _import_skvae():
    import skvae  # noqa: F401

    return os.getpid()


def _search(contender, estimator, args):
    grid = QUICK_GRID if args.quick else GRID
    cv = KFold(QUICK_FOLDS if args.quick else N_FOLDS, shuffle=True, random_state=0)
    kind, n_jobs = contender.removesuffix(")").split("(n_jobs=")
    stacked = kind == "StackedGridSearchCV"
    return (StackedGridSearchCV if stacked else GridSearchCV)(
        estimator, grid, cv=cv, refit=False, n_jobs=int(n_jobs)
    )


def _scores(search):
    """``{"beta=0.5, weight_decay=0.0": mean test score}`` per candidate."""
    return {
        ", ".join(f"{k}={v!r}" for k, v in sorted(params.items())): float(score)
        for params, score in zip(
            search.cv_results_["params"],
            search.cv_results_["mean_test_score"],
            strict=True,
        )
    }


def _reference(case, args):
    """``GridSearchCV(n_jobs=1)``'s stored row of this table and round."""
    results = read_results(Path(args.out) / f"{args.name}.csv")
    if results.empty:
        return None
    mine = results[
        (results.dataset == case["dataset"])
        & (results["round"] == case["round"])
        & (results.contender == REFERENCE)
        & results.mean_test_scores.notna()
    ]
    return None if mine.empty else mine.iloc[0]


def evaluate(contender, X, case, args):
    _, estimator_class = TABLES[case["dataset"]]
    extra = {"max_iter": args.max_iter} if args.max_iter else {}
    search = _search(contender, estimator_class(random_state=0, **extra), args)
    row = {"rows": X.shape[0], "columns": X.shape[1], "commit": _commit()}
    if contender == "GridSearchCV(n_jobs=2)":
        # Start the workers (and import skvae in them) off the clock.
        _, row["workers_seconds"] = timed(
            Parallel(n_jobs=2), (delayed(_import_skvae)() for _ in range(2))
        )
    row["uptime_before"] = uptime()
    _, row["seconds"], row["cpu_seconds"] = clocked(search.fit, X)
    row["uptime_after"] = uptime()
    scores = _scores(search)
    row |= {
        "n_fits": len(scores) * search.n_splits_,
        "n_stacks": getattr(search, "n_stacks_", ""),
        "n_stacked_fits": getattr(search, "n_stacked_fits_", ""),
        "best_params": json.dumps(search.best_params_, sort_keys=True),
        "mean_test_scores": json.dumps(scores),
    }
    reference = row if contender == REFERENCE else _reference(case, args)
    if reference is not None:
        theirs = json.loads(reference["mean_test_scores"])
        row["max_score_diff"] = max(abs(scores[k] - theirs[k]) for k in theirs)
        row["same_best"] = row["best_params"] == reference["best_params"]
    return row


def _load(text):
    """The 1-minute load average of an ``uptime`` line."""
    try:
        return float(text.split("load average:")[1].split(",")[0])
    except (IndexError, ValueError):
        return np.nan


def _integer(value):
    """An integer cell as text, "" where empty."""
    return "" if value == "" or value != value else str(int(value))


def _stacked(row):
    """``"45 (5)"``: the fits trained in stacks and the stacks, "" for
    GridSearchCV."""
    fits = _integer(row.n_stacked_fits)
    return fits and f"{fits} ({_integer(row.n_stacks)})"


def _relative(rows, references):
    """The largest ``|score - reference score| / |reference score|`` over
    the candidates and rounds of ``rows``."""
    worst = np.nan
    for round_, row in rows.iterrows():
        if round_ not in references.index:
            continue
        mine = json.loads(row.mean_test_scores)
        theirs = json.loads(references.loc[round_, "mean_test_scores"])
        diff = max(abs(mine[k] - theirs[k]) / abs(theirs[k]) for k in theirs)
        worst = np.fmax(worst, diff)
    return worst


def _params(text):
    return ", ".join(f"{k}={v:g}" for k, v in json.loads(text).items())


def summary(results):
    """Per table and contender: median seconds over rounds, the median of
    the per-round ratio GridSearchCV(n_jobs=1) seconds / its seconds, and
    how its selection and scores compare with GridSearchCV(n_jobs=1)'s."""
    rows = []
    for dataset in [d for d in TABLES if d in set(results.dataset)] + sorted(
        set(results.dataset) - set(TABLES)
    ):
        table = results[results.dataset == dataset]
        references = table[table.contender == REFERENCE].set_index("round")
        reference = references.seconds
        for contender in CONTENDERS:
            mine = table[table.contender == contender].set_index("round")
            if mine.empty:
                continue
            common = mine.index.intersection(reference.index)
            ratio = (reference[common] / mine.seconds[common]).median()
            first = mine.iloc[0]
            rows.append(
                {
                    "table": f"{dataset} ({first.rows} x {first.columns})",
                    "contender": contender,
                    "rounds": len(mine),
                    "seconds": f"{mine.seconds.median():.1f}",
                    "CPU seconds": f"{mine.cpu_seconds.median():.1f}",
                    "speed-up": f"{ratio:.2f}x" if np.isfinite(ratio) else "",
                    "stacked fits (stacks)": _stacked(first),
                    "selected": _params(first.best_params),
                    "same selection": "yes"
                    if mine.same_best.astype(str).eq("True").all()
                    else "no",
                    "max abs score diff": f"{mine.max_score_diff.max():.2g}",
                    "max rel score diff": f"{_relative(mine, references):.1g}",
                    "1-min load before / after": ", ".join(
                        f"{_load(b):.2f} / {_load(a):.2f}"
                        for b, a in zip(
                            mine.uptime_before, mine.uptime_after, strict=True
                        )
                    ),
                }
            )
    return rows


def score_tables(results):
    """Per table, each candidate's mean test score by each contender
    (the first round)."""
    sections = []
    for dataset in results.dataset.unique():
        table = results[(results.dataset == dataset) & (results["round"] == 0)]
        scores = {
            r.contender: json.loads(r.mean_test_scores) for r in table.itertuples()
        }
        names = [c for c in CONTENDERS if c in scores]
        if not names:
            continue
        candidates = list(scores[names[0]])
        lines = [[c, *(f"{scores[n][c]:.4f}" for n in names)] for c in candidates]
        sections.append(
            f"### {dataset}\n\n" + markdown_table(lines, ["candidate", *names])
        )
    return "\n\n".join(sections)


def report(path, args):
    results = read_results(path.with_suffix(".csv"))
    if results.empty:
        return
    failed = results[results["info"].notna() & (results["info"] != "")]
    results = results[results["info"].isna() | (results["info"] == "")]
    rows = summary(results)
    body = [
        protocol(__doc__),
        "## Seconds of the search's fits, per table\n\n"
        "`speed-up`: GridSearchCV(n_jobs=1)'s seconds over the contender's "
        "(median over rounds of the ratio within a round). "
        "GridSearchCV(n_jobs=2) runs two worker processes, one thread each; "
        "StackedGridSearchCV(n_jobs=2) two torch threads in this process. "
        "`stacked fits (stacks)`: fits trained in stacks (`n_stacked_fits_`) "
        "and the number of stacks (`n_stacks_`). "
        "`selected`: `best_params_` of the first round; `same selection`: "
        "the same as GridSearchCV(n_jobs=1)'s in every round; `max abs score "
        "diff`: the largest absolute difference of a candidate's "
        "`mean_test_score` from GridSearchCV(n_jobs=1)'s (nats per row), "
        "`max rel score diff` the same divided by GridSearchCV(n_jobs=1)'s "
        "|score|.\n\n" + markdown_table(pd.DataFrame(rows)),
        "## Mean test score per candidate (round 0)\n\n" + score_tables(results),
    ]
    if not failed.empty:
        body.append(
            "## Failures\n\n"
            + "\n".join(
                f"- {r.dataset}, {r.contender}: {r.info}" for r in failed.itertuples()
            )
        )
    commits = sorted(set(results["commit"].dropna().astype(str)))
    commands = sorted(set(results["command"].dropna()))
    body.append(
        "## Runs\n\n"
        + f"Commit(s): {', '.join(commits)}.\n\n"
        + "\n".join(f"- `{c}`" for c in commands)
        + f"\n\nRaw rows: `{path.with_suffix('.csv').name}`."
    )
    write_markdown(path.with_suffix(".md"), TITLE, "\n\n".join(body), note=args.note)
