"""Does tuning a regularizer with ``GridSearchCV`` beat the defaults?

On the tables of ``regularizers`` (the same 70/30 split drawn from the
seed; the ADBench sets' labels unused), per regularizer (a contender),
``GridSearchCV(VAETransformer(random_state=seed), {name: grid},
cv=3, scoring=scorer)`` on the 70 %, its grid the default value and one
other (``GRIDS``), refitted on the whole 70 % at the chosen value, and
judged on the held-out 30 % with the same scorer, against
``VAETransformer(random_state=seed)`` at its defaults on the same rows
(the ``defaults`` contender, which records both scorers). The scorer is
the one the user guide gives for what the regularizer is for:

- ``score``, the estimators' mean held-out log-likelihood bound (nats per
  row), for ``beta``, ``weight_decay``, ``l1_penalty``, ``mmd_weight``,
  ``tc_weight`` and ``consistency_weight``;
- ``realism``, ``skvae.metrics.realism_score`` (the classifier
  two-sample test of ``sample`` against the rows), for
  ``adversarial_weight`` and ``n_sample_components`` (the ex-post density
  of ``sample``'s codes).

``cv_best`` is the search's best mean cross-validated score; ``chosen``
the value it chose. A tuned model equal to the defaults (the default value
chosen) scores what they score.

Usage::

    python -m benchmarks regularizer_search --quick
    python -m benchmarks regularizer_search --seeds 0
    python -m benchmarks regularizer_search --contenders n_sample_components,beta
"""

import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV, KFold

from benchmarks.configs import regularizers
from benchmarks.configs.regularizers import ADBENCH, TABLES
from benchmarks.harness.report import markdown_table, protocol, write_markdown
from benchmarks.harness.runner import read_results
from skvae import VAETransformer
from skvae.metrics import realism_score

TITLE = "Regularizers tuned by GridSearchCV against the defaults"
# The default value first, then one other: the value that earlier studies
# suggest (beta=0.5, the one anomaly.md's searches chose most; the
# adversarial and posterior weights that regularizers.md and realism.md
# measured). Two values, so that a search costs 7 fits (3 folds each,
# and the refit) on a machine where one fit takes a minute.
GRIDS = {
    "n_sample_components": [0, 10],
    "beta": [1.0, 0.5],
    "weight_decay": [0.0, 1e-3],
    "adversarial_weight": [0.0, 0.1],
    "mmd_weight": [0.0, 10.0],
    "tc_weight": [0.0, 2.0],
    "consistency_weight": [0.0, 2.0],
    "l1_penalty": [0.0, 1e-4],
}
REALISM = ("adversarial_weight", "n_sample_components")
CONTENDERS = ["defaults", *GRIDS]
FIELDS = (
    "dataset seed contender scorer held_out default_held_out chosen cv_best "
    "score realism seconds info command"
).split()
KEY = ["dataset", "seed", "contender"]
SEEDS = (0,)
QUICK = {
    "datasets": ["penguins"],
    "contenders": ["defaults", "n_sample_components", "beta"],
    "max_iter": 2,
}


def add_arguments(parser):
    parser.add_argument("--max-iter", type=int, help="override (smoke tests)")


def datasets(args):
    return [*TABLES, *ADBENCH]


def prepare(case, args):
    return regularizers.prepare(case, args)


def scorer_of(name):
    """The scorer of the regularizer ``name``: its key and the callable."""
    if name in REALISM:
        return "realism", realism_score
    return "score", None  # the estimator's own score


def _estimator(case, args):
    extra = {"max_iter": args.max_iter} if args.max_iter else {}
    return VAETransformer(random_state=case["seed"], **extra)


def evaluate(contender, case_data, case, args):
    X_train, X_test = case_data
    if contender == "defaults":
        est = _estimator(case, args).fit(X_train)
        return {
            "score": est.score(X_test),
            "realism": realism_score(est, X_test),
        }
    key, scoring = scorer_of(contender)
    search = GridSearchCV(
        _estimator(case, args),
        {contender: GRIDS[contender]},
        cv=KFold(3, shuffle=True, random_state=case["seed"]),
        scoring=scoring,
        error_score="raise",
    ).fit(X_train)
    best = search.best_estimator_
    held_out = realism_score(best, X_test) if key == "realism" else best.score(X_test)
    return {
        "scorer": key,
        "held_out": held_out,
        "chosen": search.best_params_[contender],
        "cv_best": search.best_score_,
    }


def comparison(results):
    """Per regularizer: on how many tables the tuned model's held-out value
    of its scorer is above / equal to / below the defaults'."""
    defaults = results[results.contender == "defaults"].set_index(["dataset", "seed"])
    rows = []
    for name in GRIDS:
        mine = results[results.contender == name].set_index(["dataset", "seed"])
        common = mine.index.intersection(defaults.index)
        if common.empty:
            continue
        key = scorer_of(name)[0]
        tuned = mine.loc[common, "held_out"].astype(float)
        base = defaults.loc[common, key].astype(float)
        diff = tuned - base
        default_value = GRIDS[name][0]
        chosen = mine.loc[common, "chosen"].astype(float)
        rows.append(
            {
                "regularizer": name,
                "scorer": key,
                "grid": ", ".join(f"{v:g}" for v in GRIDS[name]),
                "tables": len(common),
                "default chosen": int((chosen == default_value).sum()),
                "better": int((diff > 1e-12).sum()),
                "equal": int((diff.abs() <= 1e-12).sum()),
                "worse": int((diff < -1e-12).sum()),
                "defaults (mean)": f"{base.mean():.3f}",
                "tuned (mean)": f"{tuned.mean():.3f}",
                "change (median)": f"{diff.median():+.3f}",
            }
        )
    return pd.DataFrame(rows)


def report(path, args):
    results = read_results(path.with_suffix(".csv"))
    if results.empty:
        return
    if "info" in results:
        results = results[results["info"].isna() | (results["info"] == "")]
    sections = [
        "## Tuned against the defaults, per table (held-out 30 %)\n\n"
        "`better` / `equal` / `worse`: tables where the tuned model's "
        "held-out value of its scorer is above / equal to / below the "
        "defaults' (equal: the search chose the default value).\n\n"
        + markdown_table(comparison(results))
    ]
    searched = results[results.contender != "defaults"]
    defaults = results[results.contender == "defaults"].set_index(["dataset", "seed"])
    rows = []
    for r in searched.itertuples():
        base = defaults.loc[(r.dataset, r.seed), r.scorer]
        rows.append(
            [
                r.dataset,
                r.seed,
                r.contender,
                r.scorer,
                f"{float(r.chosen):g}",
                f"{r.cv_best:.3f}",
                f"{np.float64(base):.3f}",
                f"{r.held_out:.3f}",
            ]
        )
    header = ["dataset", "seed", "regularizer", "scorer", "chosen", "CV best"]
    sections.append(
        "## Every search\n\n"
        + markdown_table(rows, [*header, "defaults held-out", "tuned held-out"])
    )
    commands = sorted(set(results["command"].dropna()))
    body = (
        protocol(__doc__)
        + "\n\n"
        + "\n\n".join(sections)
        + "\n\n## Runs\n\n"
        + "\n".join(f"- `{c}`" for c in commands)
    )
    write_markdown(path.with_suffix(".md"), TITLE, body, note=args.note)
