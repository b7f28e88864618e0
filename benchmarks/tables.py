"""Mixed types, natively: skvae on raw tables against the one-hot workaround.

skvae's estimators take a DataFrame with categorical, text and boolean
columns and missing cells as it is (``categorical_features="from_dtype"``):
each categorical column gets a softmax likelihood over its levels, each
numeric column a Gaussian, and a missing cell is left out of the
likelihood. The usual workaround is a ``ColumnTransformer`` in front of the
model: ``SimpleImputer(strategy="most_frequent")`` + ``OneHotEncoder(
handle_unknown="ignore", sparse_output=False)`` on the categorical columns,
``SimpleImputer()`` (mean) on the numeric ones (the "one-hot" preprocessing
below; dense output, which every model here accepts). Three parts, each in
one process on identical splits, 1 thread, default hyperparameters:

a. ``anomaly``: anomaly detection on real tables with a natural rare class,
   the label column dropped from the features:

   - ``default`` (ISLR): ``default == "Yes"``, 3.3 % of 10000 rows;
   - ``credit_data`` (modeldata): ``Status == "bad"``, the bad rows
     downsampled (seed 0, the same for every split) to 5 % of the table;
   - ``ames`` (modeldata): ``Sale_Condition == "Abnorml"`` (abnormal sale:
     trade, foreclosure, short sale), 6.5 % of 2930 rows, a wide table (72
     features, 39 categorical, NaN). ``Sale_Type`` is dropped too: its
     court-officer-deed level is nearly a copy of the label. A hard, weak
     label (a foreclosure is only unusual through its price given the
     house), kept because it is the one wide, messy table with a rare
     class.

   Protocol: stratified 70/30 split per seed (1, 2, 3), detectors fitted on
   the contaminated train part without labels, ROC-AUC on the test part.
   Contenders: ``skvae`` = ``VAEAnomalyDetector()`` on the raw DataFrame;
   ``skvae-onehot`` = one-hot preprocessing -> ``VAEAnomalyDetector()``
   (a Gaussian on every column, 0/1 indicators included);
   ``IForest-onehot`` = one-hot -> ``IsolationForest()``; ``ECOD-onehot``
   and ``HBOS-onehot`` = one-hot -> PyOD's ``ECOD()`` / ``HBOS()``.

b. ``binary``: should binary 0/1 columns be modelled as Bernoulli (a
   2-level categorical) by default? On the ADBench sets that have such
   columns, ``VAEAnomalyDetector()`` (all Gaussian) against
   ``VAEAnomalyDetector(categorical_features=<mask of the binary
   columns>)``, with the ADBench protocol of ``anomaly.py``
   (``_common.adbench_split``: seeds 1, 2, 3, at most 10000 rows, 70/30,
   MinMaxScaler). A column is binary when its values in the (scaled)
   train part are exactly {0, 1}: the rule an "auto" option would apply to
   the data the detector sees. Raw {0, 1} columns exist only in
   Cardiotocography, campaign, celeba, donors, optdigits and InternetAds;
   after the MinMax scaling every two-valued column is {0, 1}, which adds
   fault, Hepatitis, Lymphography and yeast (two-valued attributes stored as
   {1, 2} or standardized). Sets: those with at most 64 features
   (InternetAds, 1555 features, and mnist, 100, are left out); the large
   ones are subsampled to 10000 rows by the protocol.

c. ``features``: latent features in a classifier. 5-fold stratified CV
   (shuffled, seed 1) of ``LogisticRegression(max_iter=1000)`` on:
   ``skvae`` = ``VAETransformer(n_components=8)`` on the raw DataFrame ->
   ``StandardScaler`` -> LR; ``skvae-onehot`` = one-hot ->
   ``VAETransformer(8)`` -> ``StandardScaler`` -> LR; ``PCA-onehot`` =
   one-hot -> ``StandardScaler`` -> ``PCA(8)`` -> LR (``PCA(d)`` when the
   one-hot table has d < 8 columns: ``default`` has 4); ``onehot`` = one-hot
   -> ``StandardScaler`` -> LR, the reference that keeps all information.
   Targets: ``penguins`` ``species`` (3 classes), ``credit_data``
   ``Status`` (28 % bad), ``default`` ``default`` (3.3 % Yes), ``wage``
   ``health_ins`` (31 % without). Accuracy and balanced accuracy.

Usage::

    python benchmarks/tables.py --quick              # smoke test, < 60 s
    python benchmarks/tables.py                      # all three parts
    python benchmarks/tables.py --parts anomaly,binary --seeds 1
    python benchmarks/tables.py --report-only

Options: ``--parts`` (comma-separated from anomaly, binary, features;
default all), ``--seeds`` (default 1,2,3; seeds of parts a and b),
``--datasets`` (comma-separated, restricts every part to these names),
``--report-only``, ``--note`` (text put at the top of the report). Rows are
appended to ``benchmarks/results/tables.csv`` as they are known (a rerun
resumes); ``tables.md`` is written from the whole CSV after each dataset
(``tables_quick.*`` with ``--quick``, which uses ``max_iter=5`` and one
dataset per part).
"""

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from _common import (
    RESULTS_DIR,
    adbench_split,
    append_row,
    command_line,
    data_dir,
    limit_threads,
    load_adbench,
    machine_load,
    markdown_table,
    read_results,
    timed,
    write_markdown,
)
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skvae import VAEAnomalyDetector, VAETransformer

FIELDS = (
    "part dataset seed fold contender roc_auc accuracy balanced_accuracy "
    "fit_time score_time n_train n_test n_features info command"
).split()
PARTS = ("anomaly", "binary", "features")
SEEDS = (1, 2, 3)
CV_SEED = 1
N_FOLDS = 5

ANOMALY_DATASETS = ("default", "credit_data", "ames")
ANOMALY_CONTENDERS = "skvae skvae-onehot IForest-onehot ECOD-onehot HBOS-onehot".split()
BINARY_DATASETS = (
    "Cardiotocography fault Hepatitis Lymphography yeast optdigits campaign "
    "celeba donors"
).split()
BINARY_CONTENDERS = ("all-gaussian", "binary-categorical")
FEATURE_DATASETS = ("penguins", "credit_data", "default", "wage")
FEATURE_CONTENDERS = ("skvae", "skvae-onehot", "PCA-onehot", "onehot")
# (target column, positive/label description) of part c.
TARGETS = {
    "penguins": "species",
    "credit_data": "Status",
    "default": "default",
    "wage": "health_ins",
}
N_COMPONENTS = 8


# ------------------------------------------------------------------ data


def read_table(name):
    return pd.read_parquet(data_dir() / "tables" / f"{name}.parquet")


def anomaly_table(name):
    """Features (a DataFrame, label removed) and 0/1 labels of part a."""
    df = read_table(name)
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
    df = read_table(name)
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
    return ColumnTransformer(
        [
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                cat,
            ),
            ("num", SimpleImputer(), num),
        ],
        sparse_threshold=0.0,
    )


# ------------------------------------------------------------ contenders


def skvae_kw(seed, quick):
    return {"random_state": seed, **({"max_iter": 5} if quick else {})}


def anomaly_model(contender, X, seed, quick):
    from pyod.models.ecod import ECOD
    from pyod.models.hbos import HBOS

    if contender == "skvae":
        return VAEAnomalyDetector(**skvae_kw(seed, quick))
    model = {
        "skvae-onehot": lambda: VAEAnomalyDetector(**skvae_kw(seed, quick)),
        "IForest-onehot": lambda: IsolationForest(random_state=seed),
        "ECOD-onehot": lambda: ECOD(),
        "HBOS-onehot": lambda: HBOS(),
    }[contender]()
    return make_pipeline(onehot(X), model)


def anomaly_scores(model, X):
    """Higher = more anomalous, for scikit-learn and PyOD models alike."""
    last = model.steps[-1][1] if hasattr(model, "steps") else model
    if type(last).__module__.startswith("pyod"):
        return model.decision_function(X)
    return -model.score_samples(X)


def feature_model(contender, X, n_features, seed, quick):
    lr = LogisticRegression(max_iter=1000)
    if contender == "skvae":
        vae = VAETransformer(n_components=N_COMPONENTS, **skvae_kw(seed, quick))
        return make_pipeline(vae, StandardScaler(), lr)
    if contender == "skvae-onehot":
        vae = VAETransformer(n_components=N_COMPONENTS, **skvae_kw(seed, quick))
        return make_pipeline(onehot(X), vae, StandardScaler(), lr)
    if contender == "PCA-onehot":
        pca = PCA(min(N_COMPONENTS, n_features), random_state=seed)
        return make_pipeline(onehot(X), StandardScaler(), pca, lr)
    return make_pipeline(onehot(X), StandardScaler(), lr)


def skvae_info(model):
    """Epochs, active latent dimensions and categorical columns of the skvae
    estimator in ``model`` (an estimator or a pipeline)."""
    steps = [s for _, s in model.steps] if hasattr(model, "steps") else [model]
    est = next(
        (s for s in steps if isinstance(s, VAETransformer | VAEAnomalyDetector)),
        None,
    )
    if est is None:
        return ""
    n_cat = int(np.sum(est.is_categorical_))
    return (
        f"n_iter={est.n_iter_};active={est.n_active_components_};"
        f"categorical={n_cat}/{est.n_features_in_}"
    )


# ------------------------------------------------------------------ runs


def done_cases(csv_path):
    done = read_results(csv_path)
    if done.empty:
        return set()
    fold = done["fold"].fillna(-1).astype(int)
    return set(
        zip(
            done["part"],
            done["dataset"],
            done["seed"].astype(int),
            fold,
            done["contender"],
            strict=True,
        )
    )


def record(csv_path, row):
    row["command"] = command_line()
    append_row(csv_path, row, FIELDS)
    metric = (
        f"auc={row['roc_auc']:.4f}"
        if "roc_auc" in row
        else f"acc={row['accuracy']:.4f} bacc={row['balanced_accuracy']:.4f}"
    )
    print(
        f"{row['part']:8s} {row['dataset']:16s} seed={row['seed']} "
        f"fold={row.get('fold', '')!s:2s} {row['contender']:18s} {metric} "
        f"fit={row['fit_time']:.1f}s {row.get('info', '')}",
        flush=True,
    )


def run_anomaly(csv_path, dataset, seeds, done, quick):
    X, y = anomaly_table(dataset)
    for seed in seeds:
        todo = [
            c
            for c in ANOMALY_CONTENDERS
            if ("anomaly", dataset, seed, -1, c) not in done
        ]
        if not todo:
            continue
        X_train, X_test, _, y_test = train_test_split(
            X, y, test_size=0.3, stratify=y, random_state=seed
        )
        for contender in todo:
            model = anomaly_model(contender, X_train, seed, quick)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _, fit_time = timed(model.fit, X_train)
                scores, score_time = timed(anomaly_scores, model, X_test)
            if not np.all(np.isfinite(scores)):
                raise ValueError(f"{contender} on {dataset}: non-finite scores")
            record(
                csv_path,
                {
                    "part": "anomaly",
                    "dataset": dataset,
                    "seed": seed,
                    "contender": contender,
                    "roc_auc": roc_auc_score(y_test, scores),
                    "fit_time": fit_time,
                    "score_time": score_time,
                    "n_train": len(X_train),
                    "n_test": len(X_test),
                    "n_features": X.shape[1],
                    "info": skvae_info(model) if "skvae" in contender else "",
                },
            )


def binary_mask(X_train):
    """Columns whose values in ``X_train`` are exactly {0, 1}."""
    return np.array(
        [
            set(np.unique(X_train[:, j]).tolist()) == {0.0, 1.0}
            for j in range(X_train.shape[1])
        ]
    )


def run_binary(csv_path, dataset, seeds, done, quick):
    X, y = load_adbench(dataset)
    raw = binary_mask(X)
    for seed in seeds:
        todo = [
            c for c in BINARY_CONTENDERS if ("binary", dataset, seed, -1, c) not in done
        ]
        if not todo:
            continue
        X_train, X_test, _, y_test = adbench_split(X, y, seed)
        mask = binary_mask(X_train)
        for contender in todo:
            categorical = mask if contender == "binary-categorical" else None
            model = VAEAnomalyDetector(
                categorical_features=categorical, **skvae_kw(seed, quick)
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _, fit_time = timed(model.fit, X_train)
                scores, score_time = timed(anomaly_scores, model, X_test)
            record(
                csv_path,
                {
                    "part": "binary",
                    "dataset": dataset,
                    "seed": seed,
                    "contender": contender,
                    "roc_auc": roc_auc_score(y_test, scores),
                    "fit_time": fit_time,
                    "score_time": score_time,
                    "n_train": len(X_train),
                    "n_test": len(X_test),
                    "n_features": X.shape[1],
                    "info": f"binary={mask.sum()};raw01={raw.sum()};"
                    + skvae_info(model),
                },
            )


def run_features(csv_path, dataset, done, quick):
    X, y = feature_table(dataset)
    n_onehot = onehot(X).fit_transform(X).shape[1]
    folds = StratifiedKFold(N_FOLDS, shuffle=True, random_state=CV_SEED)
    for fold, (train, test) in enumerate(folds.split(X, y)):
        X_train, X_test = X.iloc[train], X.iloc[test]
        for contender in FEATURE_CONTENDERS:
            if ("features", dataset, CV_SEED, fold, contender) in done:
                continue
            model = feature_model(contender, X_train, n_onehot, CV_SEED, quick)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _, fit_time = timed(model.fit, X_train, y[train])
                pred, score_time = timed(model.predict, X_test)
            record(
                csv_path,
                {
                    "part": "features",
                    "dataset": dataset,
                    "seed": CV_SEED,
                    "fold": fold,
                    "contender": contender,
                    "accuracy": accuracy_score(y[test], pred),
                    "balanced_accuracy": balanced_accuracy_score(y[test], pred),
                    "fit_time": fit_time,
                    "score_time": score_time,
                    "n_train": len(train),
                    "n_test": len(test),
                    "n_features": X.shape[1],
                    "info": f"onehot_width={n_onehot};"
                    + (skvae_info(model) if "skvae" in contender else ""),
                },
            )


# ---------------------------------------------------------------- report


def _mean_sd(values):
    m, sd = np.mean(values), np.std(values, ddof=1) if len(values) > 1 else np.nan
    return f"{m:.3f}" + ("" if np.isnan(sd) else f" ± {sd:.3f}")


def complete_cases(res, contenders, keys):
    """Rows of the cases (``keys`` tuples) on which every contender ran."""
    res = res[res["contender"].isin(contenders)]
    n = res.groupby(keys)["contender"].transform("nunique")
    return res[n == len(contenders)]


def anomaly_section(results):
    res = results[results["part"] == "anomaly"]
    contenders = [c for c in ANOMALY_CONTENDERS if c in set(res["contender"])]
    res = complete_cases(res, contenders, ["dataset", "seed"])
    if res.empty:
        return []
    per = res.groupby(["dataset", "contender"])["roc_auc"].mean().unstack()
    per = per.reindex(columns=contenders)
    datasets = [d for d in ANOMALY_DATASETS if d in per.index] + [
        d for d in per.index if d not in ANOMALY_DATASETS
    ]
    rows = []
    for dataset in datasets:
        part = res[res["dataset"] == dataset]
        first = part.iloc[0]
        row = {
            "dataset": dataset,
            "seeds": part["seed"].nunique(),
            "n_train": int(first["n_train"]),
            "features": int(first["n_features"]),
        }
        best = per.loc[dataset].max()
        for c in contenders:
            cell = _mean_sd(part.loc[part["contender"] == c, "roc_auc"].to_numpy())
            row[c] = f"**{cell}**" if per.loc[dataset, c] == best else cell
        rows.append(row)
    mean_row = {"dataset": "**mean**", "seeds": "", "n_train": "", "features": ""}
    mean_row.update({c: f"{per[c].mean():.4f}" for c in contenders})
    rows.append(mean_row)
    times = res.groupby("contender")[["fit_time", "score_time"]].mean()
    time_rows = [
        [c, f"{times.loc[c, 'fit_time']:.1f}", f"{times.loc[c, 'score_time']:.2f}"]
        for c in contenders
    ]
    lines = [
        "## a. Anomaly detection on real tables (ROC-AUC)\n",
        "Stratified 70/30 split per seed, fitted on the contaminated train "
        "part, ROC-AUC on the test part; mean ± std over seeds, the best per "
        "table in bold. `skvae` reads the raw DataFrame; the `-onehot` "
        "contenders read the one-hot + imputed table. Labels: `default`: "
        '`default == "Yes"`; `credit_data`: `Status == "bad"` downsampled to '
        '5 %; `ames`: `Sale_Condition == "Abnorml"` (and `Sale_Type` '
        "dropped).\n",
        markdown_table(pd.DataFrame(rows)),
        "\nMean seconds per case (fit on the train part, score the test part):\n",
        markdown_table(time_rows, ["contender", "fit (s)", "score (s)"]),
    ]
    if {"skvae", "skvae-onehot"} <= set(contenders):
        gap = per["skvae"] - per["skvae-onehot"]
        lines.append(
            "\n`skvae` (native) minus `skvae-onehot`: "
            + ", ".join(f"{d} {gap[d]:+.3f}" for d in datasets)
            + "."
        )
    return lines


def binary_section(results):
    res = results[results["part"] == "binary"]
    res = complete_cases(res, list(BINARY_CONTENDERS), ["dataset", "seed"])
    if res.empty:
        return []
    per = res.groupby(["dataset", "contender"])["roc_auc"].mean().unstack()
    per = per.reindex(columns=list(BINARY_CONTENDERS))
    order = [d for d in BINARY_DATASETS if d in per.index] + [
        d for d in per.index if d not in BINARY_DATASETS
    ]
    per = per.loc[order]
    info = res[res["contender"] == "binary-categorical"].groupby("dataset").first()
    rows = []
    for dataset in order:
        fields = dict(kv.split("=") for kv in info.loc[dataset, "info"].split(";"))
        part = res[res["dataset"] == dataset]
        a, b = per.loc[dataset]
        rows.append(
            {
                "dataset": dataset,
                "seeds": part["seed"].nunique(),
                "n_train": int(info.loc[dataset, "n_train"]),
                "d": int(info.loc[dataset, "n_features"]),
                "binary (raw {0,1})": f"{fields['binary']} ({fields['raw01']})",
                "all-gaussian": _mean_sd(
                    part.loc[part["contender"] == "all-gaussian", "roc_auc"]
                ),
                "binary-categorical": _mean_sd(
                    part.loc[part["contender"] == "binary-categorical", "roc_auc"]
                ),
                "difference": f"{b - a:+.3f}",
            }
        )
    diff = per["binary-categorical"] - per["all-gaussian"]
    wins_cat = int((diff > 0).sum())
    wins_gauss = int((diff < 0).sum())
    ties = int((diff == 0).sum())
    seed_diff = res.pivot_table(
        index=["dataset", "seed"], columns="contender", values="roc_auc"
    )
    seed_diff = seed_diff["binary-categorical"] - seed_diff["all-gaussian"]
    raw = [
        d
        for d in order
        if int(dict(kv.split("=") for kv in info.loc[d, "info"].split(";"))["raw01"])
        > 0
    ]
    times = res.groupby("contender")["fit_time"].mean()
    lines = [
        "\n## b. Binary 0/1 columns: Gaussian or Bernoulli? (ADBench)\n",
        "`all-gaussian` = `VAEAnomalyDetector()` (every column Gaussian); "
        "`binary-categorical` = `VAEAnomalyDetector(categorical_features="
        "mask)`, the mask marking the columns whose values in the scaled "
        "train part are exactly {0, 1} (2-level categorical = Bernoulli). "
        "ADBench protocol (`adbench_split`), ROC-AUC on the test part, mean ± "
        "std over seeds. `binary (raw {0,1})`: binary columns after scaling "
        "(before it, with raw values exactly {0, 1}).\n",
        markdown_table(pd.DataFrame(rows)),
        "",
        f"- Mean ROC-AUC over {len(order)} datasets: all-gaussian "
        f"{per['all-gaussian'].mean():.4f}, binary-categorical "
        f"{per['binary-categorical'].mean():.4f} (difference "
        f"{diff.mean():+.4f}).",
        f"- Datasets won (seed-mean ROC-AUC): binary-categorical {wins_cat}, "
        f"all-gaussian {wins_gauss}, ties {ties}; (dataset, seed) cases won: "
        f"binary-categorical {int((seed_diff > 0).sum())}, all-gaussian "
        f"{int((seed_diff < 0).sum())} of {len(seed_diff)}.",
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
    order = [d for d in FEATURE_DATASETS if d in set(res["dataset"])]
    tables = []
    for metric in ("accuracy", "balanced_accuracy"):
        rows = []
        for dataset in order:
            part = res[res["dataset"] == dataset]
            first = part.iloc[0]
            means = part.groupby("contender")[metric].mean()
            width = first["info"].split(";")[0].split("=")[1]
            row = {
                "dataset (target)": f"{dataset} ({TARGETS.get(dataset, '?')})",
                "folds": part["fold"].nunique(),
                "rows": int(first["n_train"] + first["n_test"]),
                "features (one-hot)": f"{int(first['n_features'])} ({width})",
            }
            for c in contenders:
                cell = _mean_sd(part.loc[part["contender"] == c, metric].to_numpy())
                row[c] = f"**{cell}**" if means[c] == means.max() else cell
            rows.append(row)
        tables.append(markdown_table(pd.DataFrame(rows)))
    times = res.groupby("contender")["fit_time"].mean()
    return [
        "\n## c. Latent features in a classifier (5-fold CV)\n",
        f"`LogisticRegression(max_iter=1000)` on 8 features: `skvae` = "
        "`VAETransformer(n_components=8)` on the raw DataFrame -> "
        "`StandardScaler`; `skvae-onehot` = one-hot -> `VAETransformer(8)` -> "
        "`StandardScaler`; `PCA-onehot` = one-hot -> `StandardScaler` -> "
        "`PCA(8)` (`PCA(4)`, all components, on `default`); `onehot` = "
        "one-hot -> `StandardScaler`, the reference with all information. "
        f"Stratified {N_FOLDS}-fold CV shuffled with seed {CV_SEED}; mean ± "
        "std over folds, the best in bold.\n",
        "Accuracy:\n",
        tables[0],
        "\nBalanced accuracy (mean recall over classes; the one to read on "
        "the imbalanced `credit_data`, `default`, `wage`):\n",
        tables[1],
        "\nMean fit seconds per fold: "
        + ", ".join(f"{c} {times[c]:.1f}" for c in contenders)
        + ".",
    ]


def report(csv_path, md_path, started, note=None):
    results = read_results(csv_path)
    if results.empty:
        return
    results["seed"] = results["seed"].astype(int)
    load, busy = machine_load()
    body = [f"**Note.** {note}\n"] if note else []
    body.append(
        f"Started {started}. At the end: 1-minute load average {load:.2f}; "
        f"other busy processes: {', '.join(busy) or 'none'}. Seconds are "
        "wall-clock on 1 thread of a shared machine: compare them as ratios.\n"
    )
    body += anomaly_section(results)
    body += binary_section(results)
    body += features_section(results)
    commands = "\n".join(f"- `{c}`" for c in results["command"].unique())
    body.append(
        f"\n## Runs that produced the CSV\n\n{commands}\n\nRaw rows: `{csv_path.name}`."
    )
    write_markdown(
        md_path,
        "Mixed-type tables, natively: skvae against the one-hot workaround",
        command_line(),
        "\n".join(body),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke test, < 60 s")
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    parser.add_argument("--datasets", help="comma-separated, restricts each part")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--note", help="text put at the top of the report")
    args = parser.parse_args()
    limit_threads(1)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    out = RESULTS_DIR / ("tables_quick" if args.quick else "tables")
    csv_path, md_path = out.with_suffix(".csv"), out.with_suffix(".md")
    parts = args.parts.split(",")
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts {sorted(unknown)}; choose from {PARTS}")
    seeds = [int(s) for s in args.seeds.split(",")]
    lists = {
        "anomaly": list(ANOMALY_DATASETS),
        "binary": list(BINARY_DATASETS),
        "features": list(FEATURE_DATASETS),
    }
    if args.quick:
        csv_path.unlink(missing_ok=True)
        seeds = [1]
        lists = {
            "anomaly": ["default"],
            "binary": ["Hepatitis"],
            "features": ["penguins"],
        }
    if args.datasets:
        keep = args.datasets.split(",")
        lists = {p: [d for d in names if d in keep] for p, names in lists.items()}
    if not args.report_only:
        done = done_cases(csv_path)
        for part in parts:
            for dataset in lists[part]:
                if part == "anomaly":
                    run_anomaly(csv_path, dataset, seeds, done, args.quick)
                elif part == "binary":
                    run_binary(csv_path, dataset, seeds, done, args.quick)
                else:
                    run_features(csv_path, dataset, done, args.quick)
                report(csv_path, md_path, started, args.note)
    report(csv_path, md_path, started, args.note)
    print(f"wrote {md_path}")


if __name__ == "__main__":
    main()
