"""Which VAEAnomalyDetector hyperparameters give the best mean ROC-AUC?

An exploratory sweep on a development subset of 12 varied ADBench datasets
(ADBench protocol, see ``_common.adbench_split``; seed 1 by default). Each
configuration changes one or a few hyperparameters of the current defaults;
every fitted model is scored with both scoring rules (``score_type``
"likelihood" and "reconstruction" are two readings of the same fitted
network, so one fit gives both), and the models of ``MC_CONFIGS`` also with
1, 4 and 64 importance samples for the likelihood (``n_mc_samples``).
IsolationForest (defaults) on the same splits is the bar to clear.

Results are appended to ``<out>.csv`` per (config, dataset, seed) and the
report ``<out>.md`` is rewritten after each configuration; a rerun resumes.

Usage
-----
    python benchmarks/anomaly_defaults.py                   # all configs
    python benchmarks/anomaly_defaults.py --quick           # smoke test
    python benchmarks/anomaly_defaults.py --configs default,latent4 --seeds 1,2
    python benchmarks/anomaly_defaults.py --report-only
    # network width on every dataset (report split by number of features):
    python benchmarks/anomaly_defaults.py --configs default,hidden128-64,hidden256-128 \
        --datasets all --seeds 1,2,3 --out benchmarks/results/anomaly_width

Options: ``--configs`` (comma-separated names of ``CONFIGS``), ``--datasets``,
``--seeds`` (default 1), ``--out`` (default
``benchmarks/results/anomaly_defaults``).
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    RESULTS_DIR,
    adbench_split,
    command_line,
    limit_threads,
    load_adbench,
    markdown_table,
    timed,
    write_markdown,
)

limit_threads(1)

from anomaly import adbench_datasets, append_row, read_results  # noqa: E402
from sklearn.ensemble import IsolationForest  # noqa: E402
from sklearn.metrics import average_precision_score, roc_auc_score  # noqa: E402

from skvae import VAEAnomalyDetector  # noqa: E402

DEV_DATASETS = [
    "Pima",
    "WBC",
    "Ionosphere",
    "Stamps",
    "cardio",
    "thyroid",
    "vowels",
    "letter",
    "yeast",
    "satimage-2",
    "Waveform",
    "SpamBase",
]

# name -> changes to the current VAEAnomalyDetector defaults.
CONFIGS = {
    "default": {},
    "latent2": {"n_components": 2},
    "latent4": {"n_components": 4},
    "latent16": {"n_components": 16},
    "hidden32-16": {"hidden_layer_sizes": (32, 16)},
    "hidden128-64": {"hidden_layer_sizes": (128, 64)},
    "iter50": {"max_iter": 50},
    "iter100": {"max_iter": 100},
    "early_stopping": {"early_stopping": True},
    "batch32": {"batch_size": 32},
    "batch256": {"batch_size": 256},
    "beta0.5": {"beta": 0.5},
    "beta2": {"beta": 2.0},
    "beta4": {"beta": 4.0},
    "weight_decay1e-3": {"weight_decay": 1e-3},
    "latent4-hidden32-16": {"n_components": 4, "hidden_layer_sizes": (32, 16)},
    "latent4-iter50": {"n_components": 4, "max_iter": 50},
    "latent2-hidden32-16": {"n_components": 2, "hidden_layer_sizes": (32, 16)},
    "beta2-hidden32-16": {"beta": 2.0, "hidden_layer_sizes": (32, 16)},
    # Run after trim_fraction=0.2 became the default; explicit, so that the
    # names keep their meaning whatever the defaults are.
    "trim0.1": {"trim_fraction": 0.1},
    "trim0.2": {"trim_fraction": 0.2},
    "trim0.3": {"trim_fraction": 0.3},
    "trim0.2-lr3e-4": {"trim_fraction": 0.2, "learning_rate_init": 3e-4},
    "trim0.2-lr3e-3": {"trim_fraction": 0.2, "learning_rate_init": 3e-3},
    # Does the network need to grow with the number of features? Run on the
    # WIDE_DATASETS (``--out benchmarks/results/anomaly_width``).
    "hidden256-128": {"hidden_layer_sizes": (256, 128)},
    "hidden512-256": {"hidden_layer_sizes": (512, 256)},
    "hidden256-128-latent16": {"hidden_layer_sizes": (256, 128), "n_components": 16},
}
# Every ADBench dataset with at least 30 features (30 to 1555), for the
# width configurations.
WIDE_DATASETS = [
    "WDBC",
    "Ionosphere",
    "letter",
    "WPBC",
    "landsat",
    "satellite",
    "satimage-2",
    "celeba",
    "SpamBase",
    "campaign",
    "optdigits",
    "mnist",
    "musk",
    "InternetAds",
]
# Configurations whose likelihood score is also read with these numbers of
# importance samples (``n_mc_samples``; the detector's default was 16 when
# they ran): scoring only, no refit.
MC_CONFIGS = {"trim0.2"}
MC_SAMPLES = (1, 4, 64)

FIELDS = [
    "config",
    "params",
    "dataset",
    "seed",
    "detector",
    "roc_auc",
    "average_precision",
    "fit_time",
    "n_iter",
    "n_active",
    "command",
]


def evaluate(config, params, dataset, seed, quick, csv_path, command):
    X, y = load_adbench(dataset)
    X_train, X_test, _, y_test = adbench_split(X, y, seed)
    base = {"config": config, "params": repr(params), "dataset": dataset}
    base.update(seed=seed, command=command)
    extra = {"max_iter": 3} if quick else {}
    detector = VAEAnomalyDetector(random_state=seed, **{**params, **extra})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _, fit_time = timed(detector.fit, X_train)
        except ValueError as exc:  # diverged: record and move on
            print(f"{config} {dataset}: {exc}", flush=True)
            fit_time = np.nan
            detector = None
    readings = [("likelihood", None), ("reconstruction", None)]
    if config in MC_CONFIGS:
        readings += [("likelihood", n_mc) for n_mc in MC_SAMPLES]
    for score_type, n_mc in readings:
        name = f"skvae-{score_type}" + (f"-mc{n_mc}" if n_mc else "")
        row = {**base, "detector": name, "fit_time": fit_time}
        if detector is not None:
            detector.set_params(score_type=score_type)
            if n_mc:
                detector.set_params(n_mc_samples=n_mc)
            scores = -detector.score_samples(X_test)
            row.update(
                roc_auc=roc_auc_score(y_test, scores),
                average_precision=average_precision_score(y_test, scores),
                n_iter=detector.n_iter_,
                n_active=detector.n_active_components_,
            )
        append_row_fields(csv_path, row)
    return X_train, X_test, y_test


def append_row_fields(csv_path, row):
    append_row(csv_path, {k: row.get(k, "") for k in FIELDS}, FIELDS)


def run(configs, datasets, seeds, out, quick):
    csv_path = out.with_suffix(".csv")
    command = command_line()
    done = read_results(csv_path)
    done = (
        set(zip(done["config"], done["dataset"], done["seed"].astype(int), strict=True))
        if len(done)
        else set()
    )
    for seed in seeds:
        for dataset in datasets:
            if ("IForest", dataset, seed) in done:
                continue
            X, y = load_adbench(dataset)
            X_train, X_test, _, y_test = adbench_split(X, y, seed)
            forest = IsolationForest(random_state=seed)
            _, fit_time = timed(forest.fit, X_train)
            scores = -forest.score_samples(X_test)
            row = {
                "config": "IForest",
                "params": "{}",
                "dataset": dataset,
                "seed": seed,
                "detector": "IForest",
                "roc_auc": roc_auc_score(y_test, scores),
                "average_precision": average_precision_score(y_test, scores),
                "fit_time": fit_time,
                "command": command,
            }
            append_row_fields(csv_path, row)
    for config in configs:
        for seed in seeds:
            for dataset in datasets:
                if (config, dataset, seed) in done:
                    continue
                evaluate(
                    config, CONFIGS[config], dataset, seed, quick, csv_path, command
                )
        print(f"done {config}", flush=True)
        report(out)


def report(out, note=None):
    """Rewrite ``<out>.md`` from ``<out>.csv``; ``note`` goes at the top."""
    results = read_results(out.with_suffix(".csv"))
    results = results.drop_duplicates(["config", "dataset", "seed", "detector"])
    results["name"] = np.where(
        results["detector"] == "IForest",
        "IForest",
        results["config"] + " / " + results["detector"].str.replace("skvae-", ""),
    )
    # ROC-AUC per (dataset, seed) case and configuration.
    per_case = results.pivot_table(
        index=["dataset", "seed"], columns="name", values="roc_auc"
    )
    forest = per_case["IForest"]
    rows = []
    n_cases = per_case.notna().sum()
    complete = n_cases[n_cases == n_cases["IForest"]].index
    wide = per_case[complete]
    ranks = wide.rank(axis=1, ascending=False).mean()
    fit_time = results.groupby("name")["fit_time"].sum()
    n_iter = results.groupby("name")["n_iter"].mean()
    for name in wide.mean().sort_values(ascending=False).index:
        col = wide[name]
        config = name.split(" / ")[0]
        params = CONFIGS.get(config, {})
        rows.append(
            [
                name,
                ", ".join(f"{k}={v}" for k, v in params.items()) or "(defaults)",
                f"{col.mean():.4f}",
                f"{col.mean() - forest.mean():+.4f}",
                f"{(col > forest).sum()}/{len(col)}",
                f"{ranks[name]:.1f}",
                f"{fit_time[name]:.0f}",
                "" if np.isnan(n_iter.get(name, np.nan)) else f"{n_iter[name]:.0f}",
            ]
        )
    datasets = sorted(set(results["dataset"]))
    seeds = sorted(set(results["seed"].astype(int)))
    body = [f"**Note.** {note}\n"] if note else []
    body += [
        f"Datasets: {len(datasets)} ADBench datasets "
        f"({', '.join(datasets)}), seeds {seeds}, ADBench protocol. Each "
        "configuration changes the listed hyperparameters of the "
        "`VAEAnomalyDetector` defaults at the time of the run; each fitted "
        "model is read with both scoring rules. Only configurations complete on "
        "all cases are listed. These datasets are also in the full benchmark "
        "(`anomaly.md`): choices made here are tuned on them.\n",
        markdown_table(
            [
                "config / score_type",
                "changed hyperparameters",
                "mean ROC-AUC",
                "minus IForest",
                "beats IForest on",
                "mean rank",
                "total fit time (s)",
                "mean epochs",
            ],
            rows,
        ),
    ]
    by_width = width_table(per_case)
    if by_width:
        body += ["\n## By number of features\n", by_width]
    body.append("\n## ROC-AUC per dataset\n")
    top = list(wide.mean().sort_values(ascending=False).index[:6])
    if "IForest" not in top:
        top.append("IForest")
    if "default / likelihood" in wide and "default / likelihood" not in top:
        top.append("default / likelihood")
    per = wide[top].groupby(level="dataset").mean()
    body.append(
        markdown_table(
            ["dataset", *top],
            [[d, *(f"{v:.3f}" for v in per.loc[d])] for d in per.index],
        )
    )
    body.append("\n## Runs that produced the CSV\n")
    body += [f"- `{c}`" for c in sorted(set(results["command"].dropna()))]
    body.append(f"\nRaw rows: `{out.with_suffix('.csv').name}`.")
    write_markdown(
        out.with_suffix(".md"),
        "VAEAnomalyDetector hyperparameters on ADBench datasets",
        command_line(),
        "\n".join(body),
    )


def width_table(per_case):
    """Mean ROC-AUC of each configuration on the datasets with fewer than 30
    features and on the ``WIDE_DATASETS``, each over the configurations
    complete on that group; "" unless both groups have results.

    ``per_case`` is the ROC-AUC per (dataset, seed) and configuration.
    """
    is_wide = per_case.index.get_level_values("dataset").isin(WIDE_DATASETS)
    groups = {
        "< 30 features": per_case[~is_wide],
        ">= 30 features": per_case[is_wide],
    }
    if any(group.empty for group in groups.values()):
        return ""
    means = {}
    for label, group in groups.items():
        counts = group.notna().sum()
        complete = counts[counts == len(group)].index
        means[label] = group[complete].mean()
        n_datasets = group.index.get_level_values("dataset").nunique()
        means[label].name = f"{label}: {n_datasets} datasets, {len(group)} cases"
    table = pd.concat(means.values(), axis=1)
    table = table.loc[table.mean(axis=1).sort_values(ascending=False).index]
    return markdown_table(
        ["config / score_type", *(column.name for column in means.values())],
        [
            [name, *("-" if np.isnan(v) else f"{v:.4f}" for v in row)]
            for name, row in table.iterrows()
        ],
    )


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="smoke test")
    parser.add_argument("--configs", help=f"comma-separated, from {list(CONFIGS)}")
    parser.add_argument(
        "--datasets", help='comma-separated dataset names, or "all" (ADBench)'
    )
    parser.add_argument("--seeds", default="1", help="comma-separated seeds")
    parser.add_argument("--out", help="path prefix of the .csv/.md outputs")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--note", help="text put at the top of the report")
    args = parser.parse_args(argv)
    if args.configs:
        configs = args.configs.split(",")
    else:
        configs = ["default", "latent4"] if args.quick else list(CONFIGS)
    if args.datasets == "all":
        datasets = adbench_datasets()
    elif args.datasets:
        datasets = args.datasets.split(",")
    else:
        datasets = ["WBC", "vertebral"] if args.quick else DEV_DATASETS
    seeds = [int(s) for s in args.seeds.split(",")]
    name = "anomaly_defaults_quick" if args.quick else "anomaly_defaults"
    out = Path(args.out) if args.out else RESULTS_DIR / name
    if args.report_only:
        report(out, args.note)
    else:
        run(configs, datasets, seeds, out, args.quick)


if __name__ == "__main__":
    main()
