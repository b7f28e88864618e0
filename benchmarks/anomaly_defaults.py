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

Options: ``--configs`` (comma-separated names of ``CONFIGS``; default all,
``default,latent4`` with ``--quick``), ``--datasets`` (comma-separated, or
``all`` for every ADBench dataset; default ``DEV_DATASETS``, ``WBC,vertebral``
with ``--quick``), ``--seeds`` (default 1), ``--out`` (path prefix of the
.csv/.md, default ``benchmarks/results/anomaly_defaults``;
``anomaly_defaults_quick`` with ``--quick``), ``--report-only``, ``--note``
(text put at the top of the report). Everything runs on 1 thread.
"""

import argparse
import warnings
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
from _common import (
    RESULTS_DIR,
    adbench_datasets,
    adbench_split,
    append_row,
    command_line,
    done_keys,
    limit_threads,
    load_adbench,
    markdown_table,
    read_results,
    run_detector,
    runs_section,
    timed,
    write_markdown,
)
from sklearn.metrics import average_precision_score, roc_auc_score

from skvae import VAEAnomalyDetector

DEV_DATASETS = (
    "Pima WBC Ionosphere Stamps cardio thyroid vowels letter yeast "
    "satimage-2 Waveform SpamBase"
).split()

# name -> changes to the current VAEAnomalyDetector defaults. A dotted key
# sets a module constant of skvae for the fit instead (the constants behind
# the detector's max_iter="auto", which no hyperparameter reaches).
CONFIGS = {
    "default": {},
    "latent2": {"n_components": 2},
    "latent4": {"n_components": 4},
    "latent16": {"n_components": 16},
    "hidden32-16": {"hidden_layer_sizes": (32, 16)},
    "hidden128-64": {"hidden_layer_sizes": (128, 64)},
    "iter50": {"max_iter": 50},
    # The budget before the detector's max_iter="auto": 200 epochs with the
    # tol rule on every table.
    "epochs200": {"max_iter": 200},
    # The transformer's and imputer's budget: about 3000 steps at
    # learning_rate_init, no tol rule.
    "steps3000": {
        "max_iter": "auto",
        "skvae.anomaly.SMALL_TABLE_BATCHES": 0,
        "skvae.anomaly.LARGE_TABLE_STEPS": 3000,
        "skvae.anomaly.LARGE_TABLE_LR_FACTOR": 1,
    },
    # The detector's large-table budget (500 steps at ten times
    # learning_rate_init) on small tables too.
    "steps500-everywhere": {"max_iter": "auto", "skvae.anomaly.SMALL_TABLE_BATCHES": 0},
    # Epochs on small tables, the large-table budget unchanged (100 is the
    # default since the run of anomaly_small_budget.md).
    "small-epochs200": {"max_iter": "auto", "skvae.anomaly.SMALL_TABLE_EPOCHS": 200},
    "small-epochs100": {"max_iter": "auto", "skvae.anomaly.SMALL_TABLE_EPOCHS": 100},
    "small-epochs50": {"max_iter": "auto", "skvae.anomaly.SMALL_TABLE_EPOCHS": 50},
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
WIDE_DATASETS = (
    "WDBC Ionosphere letter WPBC landsat satellite satimage-2 celeba "
    "SpamBase campaign optdigits mnist musk InternetAds"
).split()
# Configurations whose likelihood score is also read with these numbers of
# importance samples (``n_mc_samples``; the detector's default was 16 when
# they ran): scoring only, no refit.
MC_CONFIGS = {"trim0.2"}
MC_SAMPLES = (1, 4, 64)

FIELDS = (
    "config params dataset seed detector roc_auc average_precision fit_time "
    "n_iter n_active command"
).split()

INTRO = (
    "ADBench protocol. Each configuration changes the listed hyperparameters "
    "of the `VAEAnomalyDetector` defaults at the time of the run; each fitted "
    "model is read with both scoring rules. Only configurations complete on "
    "all cases are listed. These datasets are also in the full benchmark "
    "(`anomaly.md`): choices made here are tuned on them.\n"
)


def evaluate(config, seed, split, quick):
    """The result rows (dicts) of configuration ``config`` on one case:
    one per reading of the fitted detector; "IForest" is the bar to clear."""
    X_train, X_test, _, y_test = split
    if config == "IForest":
        result = run_detector("IForest", seed, X_train, X_test, y_test)
        yield {"detector": "IForest", "params": "{}"} | {
            k: result[k] for k in ("roc_auc", "average_precision", "fit_time")
        }
        return
    params = CONFIGS[config]
    extra = {"max_iter": 3} if quick else {}
    hyperparameters = {k: v for k, v in params.items() if "." not in k}
    detector = VAEAnomalyDetector(random_state=seed, **{**hyperparameters, **extra})
    with warnings.catch_warnings(), ExitStack() as constants:
        for target, value in params.items():
            if "." in target:
                constants.enter_context(mock.patch(target, value))
        warnings.simplefilter("ignore")
        try:
            _, fit_time = timed(detector.fit, X_train)
        except ValueError as exc:  # diverged: record and move on
            print(f"{config} seed={seed}: {exc}", flush=True)
            detector, fit_time = None, np.nan
    readings = [("likelihood", None), ("reconstruction", None)]
    if config in MC_CONFIGS:
        readings += [("likelihood", n_mc) for n_mc in MC_SAMPLES]
    for score_type, n_mc in readings:
        name = f"skvae-{score_type}" + (f"-mc{n_mc}" if n_mc else "")
        row = {"detector": name, "params": repr(params), "fit_time": fit_time}
        if detector is not None:
            # The scoring rule and the number of importance samples are
            # fixed at fit (set_params takes effect at the next fit); to
            # read one fitted network several ways without refitting, this
            # sweep sets the fitted values themselves.
            detector._score_type = score_type
            detector._n_mc_samples = n_mc or detector.n_mc_samples
            scores = -detector.score_samples(X_test)
            row.update(
                roc_auc=roc_auc_score(y_test, scores),
                average_precision=average_precision_score(y_test, scores),
                n_iter=detector.n_iter_,
                n_active=detector.n_active_components_,
            )
        yield row


def run(configs, datasets, seeds, out, quick):
    """IsolationForest, then each configuration, on every (dataset, seed) not
    yet in ``<out>.csv``; the report is rewritten after each configuration."""
    csv_path = out.with_suffix(".csv")
    done = done_keys(csv_path, ["config", "dataset", "seed"])
    for config in ["IForest", *configs]:
        for seed in seeds:
            for dataset in datasets:
                if (config, dataset, seed) in done:
                    continue
                split = adbench_split(*load_adbench(dataset), seed)
                case = {"config": config, "dataset": dataset, "seed": seed}
                for row in evaluate(config, seed, split, quick):
                    append_row(
                        csv_path, case | row | {"command": command_line()}, FIELDS
                    )
        if config != "IForest":
            print(f"done {config}", flush=True)
            report(out)


def report(out, note=None):
    """Rewrite ``<out>.md`` from ``<out>.csv``; ``note`` goes at the top."""
    results = read_results(out.with_suffix(".csv"))
    if results.empty:
        return
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
    n_cases = per_case.notna().sum()
    wide = per_case[n_cases[n_cases == n_cases["IForest"]].index]
    order = wide.mean().sort_values(ascending=False).index

    def changed(name):
        params = CONFIGS.get(name.split(" / ")[0], {})
        return ", ".join(f"{k}={v}" for k, v in params.items()) or "(defaults)"

    n_iter = results.groupby("name")["n_iter"].mean().reindex(order)
    table = pd.DataFrame(
        {
            "config / score_type": order,
            "changed hyperparameters": order.map(changed),
            "mean ROC-AUC": wide[order].mean().map("{:.4f}".format),
            "minus IForest": (wide[order].mean() - forest.mean()).map("{:+.4f}".format),
            "beats IForest on": wide[order].gt(forest, axis=0).sum().astype(str)
            + f"/{len(wide)}",
            "mean rank": wide.rank(axis=1, ascending=False)
            .mean()[order]
            .map("{:.1f}".format),
            "total fit time (s)": results.groupby("name")["fit_time"]
            .sum()[order]
            .map("{:.0f}".format),
            "mean epochs": n_iter.map(lambda v: "" if np.isnan(v) else f"{v:.0f}"),
        },
        index=order,
    )
    datasets = sorted(set(results["dataset"]))
    seeds = sorted(set(results["seed"].astype(int)))
    body = [f"**Note.** {note}\n"] if note else []
    body += [
        f"Datasets: {len(datasets)} ADBench datasets ({', '.join(datasets)}), "
        f"seeds {seeds}, " + INTRO,
        markdown_table(table),
    ]
    if by_width := width_table(per_case):
        body += ["\n## By number of features\n", by_width]
    top = list(order[:6])
    if "IForest" not in top:
        top.append("IForest")
    if "default / likelihood" in wide and "default / likelihood" not in top:
        top.append("default / likelihood")
    per_dataset = wide[top].groupby(level="dataset").mean()
    body += ["\n## ROC-AUC per dataset\n"]
    per_dataset = per_dataset.apply(lambda c: c.map("{:.3f}".format))
    body.append(markdown_table(per_dataset.reset_index()))
    body += runs_section(results, out.with_suffix(".csv"))
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
    groups = {"< 30 features": per_case[~is_wide], ">= 30 features": per_case[is_wide]}
    if any(group.empty for group in groups.values()):
        return ""
    means = []
    for label, group in groups.items():
        counts = group.notna().sum()
        n_datasets = group.index.get_level_values("dataset").nunique()
        mean = group[counts[counts == len(group)].index].mean()
        means.append(mean.rename(f"{label}: {n_datasets} datasets, {len(group)} cases"))
    table = pd.concat(means, axis=1)
    table = table.loc[table.mean(axis=1).sort_values(ascending=False).index]
    table = table.apply(lambda c: c.map(lambda v: "-" if np.isnan(v) else f"{v:.4f}"))
    return markdown_table(table.rename_axis("config / score_type").reset_index())


def main(argv=None):
    limit_threads(1)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
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
