"""Mixed types, natively: skvae on raw tables against the one-hot workaround.

skvae takes a DataFrame with categorical, text and boolean columns and
missing cells as it is (a softmax likelihood per categorical column, a
Gaussian per numeric one, missing cells left out). The usual workaround,
"one-hot" below, is a ``ColumnTransformer``: most-frequent imputer + dense
``OneHotEncoder(handle_unknown="ignore")`` on the categorical columns, mean
imputer on the others. Three parts, one process, identical splits, 1
thread, default hyperparameters:

a. ``anomaly``: tables with a natural rare class, the label dropped:
   ``default`` (ISLR; ``default == "Yes"``, 3.3 % of 10000 rows),
   ``credit_data`` (``Status == "bad"``, downsampled with seed 0 to 5 %),
   ``ames`` (``Sale_Condition == "Abnorml"``, 6.5 % of 2930 rows, 72
   features, 39 categorical, NaN; ``Sale_Type`` dropped as a near copy of
   the label: a hard, weak label, kept as the one wide, messy table with a
   rare class). Stratified 70/30 split per seed, fitted without labels on
   the contaminated train part, ROC-AUC on the test part. Contenders:
   ``skvae`` (raw DataFrame), ``skvae-auto`` (raw, ``likelihood="auto"``),
   ``skvae-onehot``, ``IForest-onehot``,
   ``ECOD-onehot`` and ``HBOS-onehot``.
b. ``binary``: should 0/1 columns be Bernoulli (2-level categorical) by
   default? ``VAEAnomalyDetector()`` (``all-gaussian``) against
   ``categorical_features=<mask>`` (``binary-categorical``), the mask
   marking the columns exactly {0, 1} in the scaled train part (the rule
   an "auto" option would apply), ADBench protocol, on the ADBench sets
   with such columns and at most 64 features (raw {0, 1} columns in
   Cardiotocography, campaign, celeba, donors and optdigits; two-valued
   after scaling in fault, Hepatitis, Lymphography and yeast).
c. ``features``: 5-fold stratified CV (shuffled, seed 1) of
   ``LogisticRegression(max_iter=1000)`` on ``skvae`` =
   ``VAETransformer(n_components=8)`` on the raw DataFrame ->
   ``StandardScaler``; ``skvae-onehot`` = one-hot -> ``VAETransformer(8)``
   -> ``StandardScaler``; ``PCA-onehot`` = one-hot -> ``StandardScaler`` ->
   ``PCA(min(8, d))``; ``onehot`` = one-hot -> ``StandardScaler`` (all the
   information). Targets: ``penguins`` ``species``, ``credit_data``
   ``Status``, ``default`` ``default``, ``wage`` ``health_ins``. Accuracy
   and balanced accuracy.

Usage::

    python -m benchmarks tables --quick              # smoke test, < 60 s
    python -m benchmarks tables                      # all three parts
    python -m benchmarks tables --parts anomaly,binary --seeds 1
    python -m benchmarks tables --report-only

``--parts``: comma-separated from anomaly, binary, features (default
all); ``--seeds`` are those of parts a and b.
"""

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from benchmarks.harness import data
from benchmarks.harness.contenders import make
from benchmarks.harness.report import (
    grid,
    markdown_table,
    protocol,
    runs_section,
    write_markdown,
)
from benchmarks.harness.runner import read_results
from benchmarks.harness.timing import load_line, timed
from skvae import VAEAnomalyDetector, VAETransformer

TITLE = "Mixed-type tables, natively: skvae against the one-hot workaround"
FIELDS = (
    "part dataset seed fold contender roc_auc accuracy balanced_accuracy "
    "fit_time score_time n_train n_test n_features info command"
).split()
KEY = ["part", "dataset", "seed", "fold", "contender"]
PARTS = ("anomaly", "binary", "features")
SEEDS = (1, 2, 3)
CV_SEED = 1
N_FOLDS = 5
ANOMALY_DATASETS = ("default", "credit_data", "ames")
ANOMALY_CONTENDERS = (
    "skvae skvae-auto skvae-onehot IForest-onehot ECOD-onehot HBOS-onehot".split()
)
BINARY_DATASETS = (
    "Cardiotocography fault Hepatitis Lymphography yeast optdigits campaign "
    "celeba donors"
).split()
BINARY_CONTENDERS = ["all-gaussian", "binary-categorical"]
FEATURE_DATASETS = ("penguins", "credit_data", "default", "wage")
FEATURE_CONTENDERS = ["skvae", "skvae-onehot", "PCA-onehot", "onehot"]
CONTENDERS = [*dict.fromkeys(ANOMALY_CONTENDERS + BINARY_CONTENDERS)]
CONTENDERS += [c for c in FEATURE_CONTENDERS if c not in CONTENDERS]
TARGETS = {
    "penguins": "species",
    "credit_data": "Status",
    "default": "default",
    "wage": "health_ins",
}
N_COMPONENTS = 8
QUICK = {"datasets": ["ames", "Hepatitis", "penguins"], "seeds": [1]}


def add_arguments(parser):
    parser.add_argument("--parts", default=",".join(PARTS))


def datasets(args):
    return [*ANOMALY_DATASETS, *BINARY_DATASETS, *FEATURE_DATASETS]


def cases(args):
    """Parts a and b: (dataset, seed); part c: the folds of one CV."""
    lists = {
        "anomaly": (ANOMALY_DATASETS, ANOMALY_CONTENDERS),
        "binary": (BINARY_DATASETS, BINARY_CONTENDERS),
    }
    for part in args.parts.split(","):
        if part == "features":
            for dataset in [d for d in FEATURE_DATASETS if d in args.datasets]:
                for fold in range(N_FOLDS):
                    case = {"part": part, "dataset": dataset, "seed": CV_SEED}
                    yield case | {"fold": fold, "contenders": FEATURE_CONTENDERS}
            continue
        names, contenders = lists[part]
        for dataset in [d for d in names if d in args.datasets]:
            for seed in args.seeds:
                case = {"part": part, "dataset": dataset, "seed": seed}
                yield case | {"contenders": contenders}


# ------------------------------------------------------------------ data


def anomaly_table(name):
    """Features (a DataFrame, label removed) and 0/1 labels of part a."""
    df = data.load_table(name)
    if name == "default":
        y = (df["default"] == "Yes").to_numpy(int)
        X = df.drop(columns="default")
    elif name == "credit_data":
        bad = df.index[df["Status"] == "bad"]
        good = df.index[df["Status"] == "good"]
        n_bad = int(round(0.05 * len(good) / 0.95))  # bad = 5 % of the table
        keep = np.random.RandomState(0).choice(bad, n_bad, replace=False)
        df = df.loc[np.sort(np.concatenate([good, keep]))].reset_index(drop=True)
        y = (df["Status"] == "bad").to_numpy(int)
        X = df.drop(columns="Status")
    elif name == "ames":
        y = (df["Sale_Condition"] == "Abnorml").to_numpy(int)
        X = df.drop(columns=["Sale_Condition", "Sale_Type"])
    else:
        raise ValueError(f"No anomaly task for table {name!r}.")
    return X, y


def feature_table(name):
    """Features (a DataFrame, target removed) and the target of part c."""
    df = data.load_table(name)
    target = TARGETS[name]
    df = df[df[target].notna()].reset_index(drop=True)
    return df.drop(columns=target), df[target].astype(str).to_numpy()


def categorical_columns(X):
    return [
        c
        for c in X.columns
        if isinstance(X[c].dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(X[c])
        or pd.api.types.is_object_dtype(X[c])
        or pd.api.types.is_string_dtype(X[c])
    ]


def onehot(X):
    """The one-hot workaround for the table ``X``: a ``ColumnTransformer``
    (most-frequent imputer + one-hot on categorical columns, mean imputer on
    the others) returning a dense float array."""
    cat = categorical_columns(X)
    num = [c for c in X.columns if c not in cat]
    fill = SimpleImputer(strategy="most_frequent")
    encode = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    steps = [("cat", make_pipeline(fill, encode), cat), ("num", SimpleImputer(), num)]
    return ColumnTransformer(steps, sparse_threshold=0.0)


# ------------------------------------------------------------ contenders


def skvae_kw(seed, quick):
    return {"random_state": seed, **({"max_iter": 5} if quick else {})}


def anomaly_model(contender, X, seed, quick):
    if contender == "skvae":
        return VAEAnomalyDetector(**skvae_kw(seed, quick))
    if contender == "skvae-auto":
        # The column likelihoods that "auto" chooses (the detector's default
        # is "gaussian").
        return VAEAnomalyDetector(likelihood="auto", **skvae_kw(seed, quick))
    name = {"skvae-onehot": "skvae", "IForest-onehot": "IForest"}.get(
        contender, contender.removesuffix("-onehot")
    )
    return make_pipeline(onehot(X), make("detector", name, seed, quick).estimator)


def anomaly_scores(model, X):
    """Higher = more anomalous, for scikit-learn and PyOD models alike."""
    last = model.steps[-1][1] if hasattr(model, "steps") else model
    if type(last).__module__.startswith("pyod"):
        return model.decision_function(X)
    return -model.score_samples(X)


def feature_model(contender, X, n_features, seed, quick):
    lr = make("classifier", "LogisticRegression", seed).estimator
    if contender == "skvae":
        vae = make("featurizer", "VAE", seed, quick, n_components=N_COMPONENTS)
        return make_pipeline(vae.estimator, StandardScaler(), lr)
    if contender == "skvae-onehot":
        vae = make("featurizer", "VAE", seed, quick, n_components=N_COMPONENTS)
        return make_pipeline(onehot(X), vae.estimator, StandardScaler(), lr)
    if contender == "PCA-onehot":
        k = min(N_COMPONENTS, n_features)
        pca = make("featurizer", "PCA", seed, n_components=k).estimator
        return make_pipeline(onehot(X), StandardScaler(), pca, lr)
    return make_pipeline(onehot(X), StandardScaler(), lr)


def skvae_info(model):
    """Epochs, active latent dimensions and categorical columns of the skvae
    estimator in ``model`` (an estimator or a pipeline)."""
    steps = [s for _, s in model.steps] if hasattr(model, "steps") else [model]
    est = next(
        (s for s in steps if isinstance(s, VAETransformer | VAEAnomalyDetector)), None
    )
    if est is None:
        return ""
    n_cat = int(np.sum(est.is_categorical_))
    return (
        f"n_iter={est.n_iter_};active={est.n_active_components_};"
        f"categorical={n_cat}/{est.n_features_in_}"
    )


def binary_mask(X_train):
    """Columns whose values in ``X_train`` are exactly {0, 1}."""
    return np.array([set(np.unique(col).tolist()) == {0.0, 1.0} for col in X_train.T])


# ------------------------------------------------------------------ runs


def prepare(case, args):
    part, dataset, seed = case["part"], case["dataset"], case["seed"]
    if part == "anomaly":
        X, y = anomaly_table(dataset)
        split = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
        return split, len(X.columns), ""
    if part == "binary":
        X, y = data.load_adbench(dataset)
        split = data.adbench_split(X, y, seed)
        return split, X.shape[1], f"raw01={binary_mask(X).sum()};"
    X, y = feature_table(dataset)
    n_onehot = onehot(X).fit_transform(X).shape[1]
    folds = StratifiedKFold(N_FOLDS, shuffle=True, random_state=CV_SEED)
    train, test = list(folds.split(X, y))[case["fold"]]
    split = X.iloc[train], X.iloc[test], y[train], y[test]
    return split, X.shape[1], n_onehot


def evaluate(contender, case_data, case, args):
    (X_train, X_test, y_train, y_test), n_features, extra = case_data
    seed, quick = case["seed"], args.quick
    row = {"n_train": len(X_train), "n_test": len(X_test), "n_features": n_features}
    if case["part"] == "features":
        model = feature_model(contender, X_train, extra, seed, quick)
        _, row["fit_time"] = timed(model.fit, X_train, y_train)
        pred, row["score_time"] = timed(model.predict, X_test)
        row["accuracy"] = accuracy_score(y_test, pred)
        row["balanced_accuracy"] = balanced_accuracy_score(y_test, pred)
        info = skvae_info(model) if "skvae" in contender else ""
        return row | {"info": f"onehot_width={extra};{info}"}
    if case["part"] == "binary":
        mask = binary_mask(X_train)
        categorical = mask if contender == "binary-categorical" else None
        model = VAEAnomalyDetector(
            categorical_features=categorical, **skvae_kw(seed, quick)
        )
        extra = f"binary={mask.sum()};{extra}"
    else:
        model = anomaly_model(contender, X_train, seed, quick)
    _, row["fit_time"] = timed(model.fit, X_train)
    scores, row["score_time"] = timed(anomaly_scores, model, X_test)
    if not np.all(np.isfinite(scores)):
        raise ValueError(f"{contender}: non-finite scores")
    row["roc_auc"] = roc_auc_score(y_test, scores)
    skvae = "skvae" in contender or case["part"] == "binary"
    return row | {"info": extra + (skvae_info(model) if skvae else "")}


# ---------------------------------------------------------------- report


def complete_cases(res, contenders, keys):
    """Rows of the cases (``keys`` tuples) on which every contender ran."""
    res = res[res["contender"].isin(contenders)]
    return res[res.groupby(keys)["contender"].transform("nunique") == len(contenders)]


def per_dataset(res, metric, datasets, contenders, columns):
    """Dataset, ``columns`` (name -> Series by dataset), then "mean ± std"
    of ``metric`` per contender, the best in bold."""
    kw = dict(rows=datasets, cols=contenders, best="max", front=columns)
    return grid(res, "dataset", "contender", metric, **kw).reset_index()


def anomaly_section(results):
    res = results[results["part"] == "anomaly"]
    contenders = [c for c in ANOMALY_CONTENDERS if c in set(res["contender"])]
    res = complete_cases(res, contenders, ["dataset", "seed"])
    if res.empty:
        return []
    by = res.groupby("dataset")
    columns = {"seeds": by["seed"].nunique(), "n_train": by["n_train"].first()}
    columns["features"] = by["n_features"].first()
    table = per_dataset(res, "roc_auc", ANOMALY_DATASETS, contenders, columns)
    per = res.groupby(["dataset", "contender"])["roc_auc"].mean().unstack()
    mean_row = {"dataset": "**mean**", "seeds": "", "n_train": "", "features": ""}
    table.loc[len(table)] = mean_row | {c: f"{per[c].mean():.4f}" for c in contenders}
    times = res.groupby("contender")[["fit_time", "score_time"]].mean().loc[contenders]
    fit, score = (
        times.fit_time.map("{:.1f}".format),
        times.score_time.map("{:.2f}".format),
    )
    times = pd.DataFrame({"fit (s)": fit, "score (s)": score})
    lines = [
        "## a. Anomaly detection on real tables (ROC-AUC)\n",
        "Mean ± std over seeds, the best per table in bold.\n",
        markdown_table(table),
        "\nMean seconds per case (fit on the train part, score the test part):\n",
        markdown_table(times.reset_index()),
    ]
    if {"skvae", "skvae-onehot"} <= set(contenders):
        gap = (per["skvae"] - per["skvae-onehot"]).reindex(table["dataset"][:-1])
        lines.append(
            "\n`skvae` (native) minus `skvae-onehot`: "
            + ", ".join(f"{d} {v:+.3f}" for d, v in gap.items())
            + "."
        )
    return lines


def binary_section(results):
    res = results[results["part"] == "binary"]
    res = complete_cases(res, BINARY_CONTENDERS, ["dataset", "seed"])
    if res.empty:
        return []
    fields = res[res["contender"] == "binary-categorical"].groupby("dataset").first()
    info = fields["info"].map(lambda i: dict(kv.split("=") for kv in i.split(";")))
    by = res.groupby("dataset")
    columns = {"seeds": by["seed"].nunique(), "n_train": fields["n_train"]}
    columns["d"] = fields["n_features"]
    columns["binary (raw {0,1})"] = info.map(lambda f: f"{f['binary']} ({f['raw01']})")
    table = per_dataset(res, "roc_auc", BINARY_DATASETS, BINARY_CONTENDERS, columns)
    per = res.groupby(["dataset", "contender"])["roc_auc"].mean().unstack()
    diff = (per["binary-categorical"] - per["all-gaussian"]).reindex(table["dataset"])
    table["difference"] = diff.map("{:+.3f}".format).to_numpy()
    seed_diff = res.pivot_table("roc_auc", ["dataset", "seed"], "contender")
    seed_diff = seed_diff["binary-categorical"] - seed_diff["all-gaussian"]
    raw = [d for d in diff.index if int(info[d]["raw01"]) > 0]
    times = res.groupby("contender")["fit_time"].mean()
    lines = [
        "\n## b. Binary 0/1 columns: Gaussian or Bernoulli? (ADBench)\n",
        "Mean ± std over seeds; `binary (raw {0,1})`: binary columns after "
        "scaling (before it).\n",
        markdown_table(table),
        "",
        f"- Mean ROC-AUC over {len(diff)} datasets: all-gaussian "
        f"{per['all-gaussian'].mean():.4f}, binary-categorical "
        f"{per['binary-categorical'].mean():.4f} (difference "
        f"{diff.mean():+.4f}).",
        f"- Datasets won (seed-mean ROC-AUC): binary-categorical "
        f"{(diff > 0).sum()}, all-gaussian {(diff < 0).sum()}, ties "
        f"{(diff == 0).sum()}; (dataset, seed) cases won: binary-categorical "
        f"{(seed_diff > 0).sum()}, all-gaussian {(seed_diff < 0).sum()} of "
        f"{len(seed_diff)}.",
        f"- Mean fit seconds: all-gaussian {times['all-gaussian']:.1f}, "
        f"binary-categorical {times['binary-categorical']:.1f}.",
    ]
    if raw:
        lines.insert(
            -1,
            f"- On the {len(raw)} sets with raw {{0, 1}} columns "
            f"({', '.join(raw)}): mean difference {diff[raw].mean():+.4f}, "
            f"binary-categorical better on {int((diff[raw] > 0).sum())}.",
        )
    return lines


def features_section(results):
    res = results[results["part"] == "features"]
    contenders = [c for c in FEATURE_CONTENDERS if c in set(res["contender"])]
    res = complete_cases(res, contenders, ["dataset", "fold"])
    if res.empty:
        return []
    res = res.assign(dataset=res["dataset"] + " (" + res["dataset"].map(TARGETS) + ")")
    by = res.groupby("dataset")
    first = by.first()
    width = first["info"].str.split(";").str[0].str.split("=").str[1]
    columns = {"folds": by["fold"].nunique()}
    columns["rows"] = (first["n_train"] + first["n_test"]).astype(int)
    columns["features (one-hot)"] = (
        first["n_features"].astype(int).astype(str) + " (" + width + ")"
    )
    order = [f"{d} ({TARGETS[d]})" for d in FEATURE_DATASETS]
    rename = {"dataset": "dataset (target)"}
    tables = [
        markdown_table(
            per_dataset(res, m, order, contenders, columns).rename(columns=rename)
        )
        for m in ("accuracy", "balanced_accuracy")
    ]
    times = res.groupby("contender")["fit_time"].mean()
    return [
        "\n## c. Latent features in a classifier (5-fold CV)\n",
        "Mean ± std over folds, the best in bold.\n",
        "Accuracy:\n",
        tables[0],
        "\nBalanced accuracy (mean recall over classes; the one to read on "
        "the imbalanced `credit_data`, `default`, `wage`):\n",
        tables[1],
        "\nMean fit seconds per fold: "
        + ", ".join(f"{c} {times[c]:.1f}" for c in contenders)
        + ".",
    ]


def report(path, args):
    results = read_results(path.with_suffix(".csv"))
    if results.empty:
        return
    body = [protocol(__doc__), f"At the end: {load_line()}\n"]
    for section in (anomaly_section, binary_section, features_section):
        body += section(results)
    body += runs_section(results, path.with_suffix(".csv"))
    write_markdown(path.with_suffix(".md"), TITLE, "\n".join(body), note=args.note)
