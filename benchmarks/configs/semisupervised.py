"""Semi-supervised classification on real tables: VAEClassifier (M2) against
scikit-learn's semi-supervised learners and supervised models.

Tables of ``../shared/data/tables`` with a categorical target, natural
missing cells kept (rows whose target is missing dropped): ``credit_data``
(``Status``, bad 28 %, 455 NaN cells), ``default`` (``default``, Yes 3.3 %),
``wage`` (``health_ins``), ``cps1985`` (``union``, yes 18 %), ``hitters``
(``Division``; ``NewLeague`` kept, 59 NaN salaries), ``penguins-sex``
(``sex``) and ``penguins`` (``species``, three classes). Per seed a
stratified 70/30 split; of the train part a stratified draw of
``round(fraction * n_train)`` rows (at least two per class) keeps its
labels, the others get -1. Held-out ROC-AUC (the second class's
probability for binary targets, macro one-vs-rest for more classes) and
accuracy on the test part. One process, 1 thread, default
hyperparameters unless said:

- ``skvae``: ``VAEClassifier(random_state=seed)`` on the raw DataFrame,
  every training row (-1 where unlabelled): M2's q(y | x) averaged with a
  logistic regression of the labelled rows (``linear_weight=0.5``);
- ``skvae-M2`` (on request): the same with ``linear_weight=0``, M2's
  classifier alone (the default before these runs);
- ``SelfTraining``: ``SelfTrainingClassifier(LogisticRegression(
  max_iter=1000))`` and ``LabelSpreading``: ``LabelSpreading(kernel=
  "knn")`` on every training row, behind the one-hot workaround
  (most-frequent imputer + one-hot on categorical columns, mean imputer on
  the others) and a ``StandardScaler``. LabelSpreading's default RBF
  kernel (``gamma=20``) gives NaN probabilities on these standardized
  tables (every affinity underflows), hence ``knn``; a test row that no
  labelled row reaches (NaN probabilities) gets the uniform distribution;
- ``LogisticRegression``: ``LogisticRegression(max_iter=1000)`` on the
  labelled rows only, behind the same pipeline;
- ``HistGradientBoosting``: ``HistGradientBoostingClassifier(
  categorical_features="from_dtype")`` on the labelled rows of the raw
  DataFrame (it handles categories and NaN natively).

Usage::

    python -m benchmarks semisupervised --quick      # smoke test, < 60 s
    python -m benchmarks semisupervised              # every table, 3 seeds
    python -m benchmarks semisupervised --fractions 0.05 --datasets wage
    python -m benchmarks semisupervised --report-only

``--fractions``: comma-separated fractions of labelled training rows
(default 0.01,0.05,0.1).
"""

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier

from benchmarks.configs.tables import onehot
from benchmarks.harness import data
from benchmarks.harness.report import (
    grid,
    markdown_table,
    protocol,
    runs_section,
    write_markdown,
)
from benchmarks.harness.runner import read_results
from benchmarks.harness.timing import load_line, timed
from skvae import VAEClassifier

TITLE = "Semi-supervised classification on real tables (VAEClassifier, M2)"
FIELDS = (
    "dataset fraction seed contender roc_auc accuracy fit_time n_labelled "
    "n_train n_test n_classes info seconds command"
).split()
KEY = ["dataset", "fraction", "seed", "contender"]
# dataset -> (table, target, columns dropped beside the target)
TASKS = {
    "credit_data": ("credit_data", "Status", ()),
    "default": ("default", "default", ()),
    "wage": ("wage", "health_ins", ()),
    "cps1985": ("cps1985", "union", ()),
    "hitters": ("hitters", "Division", ()),
    "penguins-sex": ("penguins", "sex", ()),
    "penguins": ("penguins", "species", ()),
}
FRACTIONS = (0.01, 0.05, 0.1)
SEEDS = (1, 2, 3)
CONTENDERS = [
    "skvae",
    "SelfTraining",
    "LabelSpreading",
    "LogisticRegression",
    "HistGradientBoosting",
]
# M2's classifier alone (linear_weight=0).
ON_REQUEST = ["skvae-M2"]
QUICK = {"datasets": ["penguins", "cps1985"], "seeds": [1]}
MIN_PER_CLASS = 2


def add_arguments(parser):
    parser.add_argument("--fractions", default=",".join(map(str, FRACTIONS)))


def datasets(args):
    return list(TASKS)


def cases(args):
    """Seeds outermost, then fractions, then tables: an interrupted run
    leaves whole seeds of the first fractions."""
    fractions = [float(f) for f in args.fractions.split(",")]
    for seed in args.seeds:
        for fraction in fractions:
            for dataset in args.datasets:
                yield {"dataset": dataset, "fraction": fraction, "seed": seed}


# ------------------------------------------------------------------ data


def load_task(dataset):
    """Features (a DataFrame) and string labels of ``dataset``, rows with a
    missing target dropped."""
    table, target, dropped = TASKS[dataset]
    df = data.load_table(table)
    df = df[df[target].notna()].reset_index(drop=True)
    return df.drop(columns=[target, *dropped]), df[target].astype(str).to_numpy()


def partly_labelled(y, fraction, seed):
    """``y`` with all but a stratified ``fraction`` of the rows (at least
    ``MIN_PER_CLASS`` per class) set to -1, as integer class indices."""
    classes, codes = np.unique(y, return_inverse=True)
    n_labelled = max(round(fraction * len(y)), MIN_PER_CLASS * len(classes))
    rows = np.arange(len(y))
    labelled, _ = train_test_split(
        rows, train_size=n_labelled, stratify=codes, random_state=seed
    )
    out = np.full(len(y), -1)
    out[labelled] = codes[labelled]
    return out


def prepare(case, args):
    X, y = load_task(case["dataset"])
    classes, codes = np.unique(y, return_inverse=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, codes, test_size=0.3, stratify=codes, random_state=case["seed"]
    )
    y_partial = partly_labelled(y_train, case["fraction"], case["seed"])
    return X_train, X_test, y_partial, y_test, len(classes)


# ------------------------------------------------------------ contenders


def model(contender, X_train, seed, quick):
    """A fresh ``contender`` and whether it trains on the labelled rows only."""
    if contender.startswith("skvae"):
        params = {"max_iter": 3} if quick else {}
        if contender == "skvae-M2":
            params["linear_weight"] = 0.0
        return VAEClassifier(random_state=seed, **params)
    if contender == "HistGradientBoosting":
        return HistGradientBoostingClassifier(
            categorical_features="from_dtype", random_state=seed
        )
    lr = LogisticRegression(max_iter=1000)
    learner = {
        "SelfTraining": SelfTrainingClassifier(lr),
        "LabelSpreading": LabelSpreading(kernel="knn"),
        "LogisticRegression": lr,
    }[contender]
    return make_pipeline(onehot(X_train), StandardScaler(), learner)


SUPERVISED = ("LogisticRegression", "HistGradientBoosting")


def evaluate(contender, case_data, case, args):
    X_train, X_test, y_partial, y_test, n_classes = case_data
    clf = model(contender, X_train, case["seed"], args.quick)
    if contender in SUPERVISED:
        labelled = y_partial >= 0
        X_fit, y_fit = X_train[labelled], y_partial[labelled]
    else:
        X_fit, y_fit = X_train, y_partial
    _, fit_time = timed(clf.fit, X_fit, y_fit)
    proba = clf.predict_proba(X_test)
    unreached = ~np.isfinite(proba).all(axis=1)
    proba[unreached] = 1.0 / n_classes
    if n_classes == 2:
        auc = roc_auc_score(y_test, proba[:, 1])
    else:
        auc = roc_auc_score(y_test, proba, multi_class="ovr")
    info = f"unreached={unreached.sum()}" if unreached.any() else ""
    if contender.startswith("skvae"):
        info = f"n_iter={clf.n_iter_};weight={clf.classification_weight_:.3g}"
    return {
        "roc_auc": auc,
        "accuracy": accuracy_score(y_test, proba.argmax(axis=1)),
        "fit_time": fit_time,
        "n_labelled": int((y_partial >= 0).sum()),
        "n_train": len(X_train),
        "n_test": len(X_test),
        "n_classes": n_classes,
        "info": info,
    }


# ---------------------------------------------------------------- report


def complete(res, contenders=CONTENDERS):
    """The rows of ``contenders`` in the (dataset, fraction, seed) cases
    where every one of them has a result."""
    res = res[res["roc_auc"].notna() & res["contender"].isin(contenders)]
    n = res["contender"].nunique()
    keys = ["dataset", "fraction", "seed"]
    return res[res.groupby(keys)["contender"].transform("nunique") == n]


def fraction_section(res, fraction, metric):
    """Per dataset "mean ± std" of ``metric`` over seeds, a mean row and the
    mean rank, at one labelled ``fraction``."""
    res = complete(res[res["fraction"] == fraction])
    contenders = [c for c in CONTENDERS if c in set(res["contender"])]
    by = res.groupby("dataset")
    front = {"seeds": by["seed"].nunique(), "labelled": by["n_labelled"].first()}
    table = grid(
        res,
        "dataset",
        "contender",
        metric,
        rows=list(TASKS),
        cols=contenders,
        best="max",
        front=front,
    ).reset_index()
    per = res.groupby(["dataset", "contender"])[metric].mean().unstack()[contenders]
    means = per.mean()
    best = means.max()
    mean_row = {"dataset": "**mean**", "seeds": "", "labelled": ""}
    mean_row |= {
        c: f"**{v:.4f}**" if v == best else f"{v:.4f}" for c, v in means.items()
    }
    ranks = per.rank(axis=1, ascending=False).mean()
    rank_row = {"dataset": "mean rank", "seeds": "", "labelled": ""}
    rank_row |= {c: f"{v:.2f}" for c, v in ranks.items()}
    binary = res.groupby("dataset")["n_classes"].first() == 2
    binary_means = per[binary.reindex(per.index).to_numpy()].mean()
    binary_row = {"dataset": "mean (binary targets)", "seeds": "", "labelled": ""}
    top = binary_means.max()
    binary_row |= {
        c: f"**{v:.4f}**" if v == top else f"{v:.4f}" for c, v in binary_means.items()
    }
    table.loc[len(table)] = mean_row
    table.loc[len(table)] = binary_row
    table.loc[len(table)] = rank_row
    return markdown_table(table)


def report(path, args):
    results = read_results(path.with_suffix(".csv"))
    if results.empty:
        return
    res = results[results["roc_auc"].notna()]
    body = [protocol(__doc__), f"At the end: {load_line()}\n"]
    for fraction in sorted(res["fraction"].unique()):
        for metric, label in (("roc_auc", "ROC-AUC"), ("accuracy", "accuracy")):
            body += [
                f"\n## {fraction:.0%} of the training rows labelled: {label}\n",
                "Mean ± std over seeds, the best per table in bold; "
                "`labelled`: labelled training rows.\n",
                fraction_section(res, fraction, metric),
            ]
    for fraction in sorted(res["fraction"].unique()):
        both = complete(res[res["fraction"] == fraction], ["skvae", "skvae-M2"])
        if both["contender"].nunique() < 2:
            continue
        means = both.groupby("contender")["roc_auc"].mean()
        body.append(
            f"\n{fraction:.0%} labelled, M2's classifier alone (`skvae-M2`) on "
            f"the {len(both) // 2} cases where both ran: mean ROC-AUC "
            f"{means['skvae-M2']:.4f}, against {means['skvae']:.4f} for `skvae`."
        )
    times = res.groupby("contender")["fit_time"].mean()
    times = times.reindex(CONTENDERS + ON_REQUEST).dropna()
    body += [
        "\nMean fit seconds per case: "
        + ", ".join(f"{c} {t:.1f}" for c, t in times.items())
        + "."
    ]
    body += runs_section(results, path.with_suffix(".csv"))
    write_markdown(path.with_suffix(".md"), TITLE, "\n".join(body), note=args.note)
