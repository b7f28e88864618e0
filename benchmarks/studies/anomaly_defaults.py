"""Which VAEAnomalyDetector hyperparameters give the best mean ROC-AUC?

Frozen: the sweep behind the detector's defaults. Each configuration
changes one or a few hyperparameters of the defaults of the time, or the
detector's training-budget policy for ``max_iter="auto"`` (``AT_COMMIT``).
Each result file came from the commit that ``COMMITS`` names: ``git
checkout <commit>`` then the commands in its CSV (``python
benchmarks/anomaly_defaults.py ...`` then) reproduce it. On today's code
the configurations of public hyperparameters run; those of ``AT_COMMIT``,
which replaced module constants of the time, run only at their commit.
On a development subset of 12 ADBench datasets (ADBench
protocol, seed 1 by default), every fitted model is read with both scoring
rules (``score_type`` "likelihood" and "reconstruction": two readings of one
network), those of ``MC_CONFIGS`` also with 1, 4 and 64 importance samples;
IsolationForest on the same splits is the bar to clear.

The reports of this study: ``anomaly_defaults.md`` (the sweep),
``anomaly_width.md``, ``anomaly_budget.md``, ``anomaly_small_budget.md``,
``anomaly_speed_budget.md`` and ``anomaly_speed_small.md``.

Usage::

    python -m benchmarks anomaly_defaults --quick
    python -m benchmarks anomaly_defaults                      # every config
    python -m benchmarks anomaly_defaults --contenders default,latent4 --seeds 1,2
    # network width on every dataset (report split by number of features):
    python -m benchmarks anomaly_defaults --datasets all --seeds 1,2,3 \
        --contenders default,hidden128-64,hidden256-128 --name anomaly_width
    python -m benchmarks anomaly_defaults --datasets all --seeds 1,2,3 \
        --contenders default,steps500-everywhere --name anomaly_budget
    python -m benchmarks anomaly_defaults --report-only --name anomaly_budget
"""

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from benchmarks.harness import data
from benchmarks.harness.contenders import detect, make
from benchmarks.harness.report import markdown_table, runs_section, write_markdown
from benchmarks.harness.runner import read_results
from benchmarks.harness.timing import timed
from skvae import VAEAnomalyDetector

TITLE = "VAEAnomalyDetector hyperparameters on ADBench datasets"
DEV_DATASETS = (
    "Pima WBC Ionosphere Stamps cardio thyroid vowels letter yeast "
    "satimage-2 Waveform SpamBase"
).split()
# The commit that produced each result file of this study.
COMMITS = {
    "anomaly_defaults": "9a5e76c",
    "anomaly_width": "81bbe96",
    "anomaly_budget": "c137f11",
    "anomaly_small_budget": "c137f11",
    "anomaly_speed_budget": "264a25a",
    "anomaly_speed_small": "3098f5c",
}
# Configurations that replaced the detector's training-budget constants of
# the time, as they ran at their commit.
AT_COMMIT = {
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
    # Shorter budgets in both regimes, for the cost of a default fit; the
    # fields of that commit's skvae._budget.TwoRegimeBudget.
    "small-epochs50-large-steps300": {
        "max_iter": "auto",
        "small_table_epochs": 50,
        "large_table_steps": 300,
    },
    "small-epochs50-large-steps200": {
        "max_iter": "auto",
        "small_table_epochs": 50,
        "large_table_steps": 200,
    },
    # Fewer epochs on small tables at a larger learning rate (run on the
    # small-table sets only: learning_rate_init also sets the large-table
    # rate).
    "small-epochs50-lr2e-3": {
        "max_iter": "auto",
        "small_table_epochs": 50,
        "learning_rate_init": 2e-3,
    },
    "small-epochs25-lr4e-3": {
        "max_iter": "auto",
        "small_table_epochs": 25,
        "learning_rate_init": 4e-3,
    },
}


# name -> changes to the VAEAnomalyDetector defaults of the time.
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


KEY = ["config", "dataset", "seed"]
CONTENDER = "config"
CONTENDERS = ["IForest", *CONFIGS]
QUICK = {
    "datasets": ["WBC", "vertebral"],
    "contenders": ["IForest", "default", "latent4"],
}


def datasets(args):
    return data.adbench_datasets() if args.datasets == ["all"] else DEV_DATASETS


def cases(args):
    """Configuration by configuration (IsolationForest first), as it ran."""
    names = ["IForest", *(c for c in args.contenders if c != "IForest")]
    for config in names:
        for seed in args.seeds:
            for dataset in args.datasets:
                yield {"dataset": dataset, "seed": seed, "contenders": [config]}


def prepare(case, args):
    return data.adbench_split(*data.load_adbench(case["dataset"]), case["seed"])


def evaluate(config, split, case, args):
    """One row per reading of the fitted detector."""
    X_train, X_test, _, y_test = split
    seed = case["seed"]
    if config == "IForest":
        result = detect(make("detector", "IForest", seed), X_train, X_test, y_test)
        keep = ("roc_auc", "average_precision", "fit_time")
        return [{"detector": "IForest", "params": "{}"} | {k: result[k] for k in keep}]
    extra = {"max_iter": 3} if args.quick else {}
    detector = VAEAnomalyDetector(random_state=seed, **{**CONFIGS[config], **extra})
    try:
        _, fit_time = timed(detector.fit, X_train)
    except ValueError as exc:  # diverged: record and move on
        print(f"{config} seed={seed}: {exc}", flush=True)
        detector, fit_time = None, np.nan
    readings = [("likelihood", None), ("reconstruction", None)]
    if config in MC_CONFIGS:
        readings += [("likelihood", n_mc) for n_mc in MC_SAMPLES]
    rows = []
    for score_type, n_mc in readings:
        name = f"skvae-{score_type}" + (f"-mc{n_mc}" if n_mc else "")
        row = {"detector": name, "params": repr(CONFIGS[config]), "fit_time": fit_time}
        if detector is not None:
            # The scoring rule and the number of importance samples are fixed
            # at fit; to read one fitted network several ways without
            # refitting, this sweep sets the fitted attributes themselves.
            detector.score_type_ = score_type
            detector.n_mc_samples_ = n_mc or detector.n_mc_samples
            scores = -detector.score_samples(X_test)
            row.update(
                roc_auc=roc_auc_score(y_test, scores),
                average_precision=average_precision_score(y_test, scores),
                n_iter=detector.n_iter_,
                n_active=detector.n_active_components_,
            )
        rows.append(row)
    return rows


def report(path, args):
    """Rewrite ``<path>.md`` from ``<path>.csv``."""
    results = read_results(path.with_suffix(".csv"))
    if results.empty:
        return
    results = results.drop_duplicates(["config", "dataset", "seed", "detector"])
    results["name"] = np.where(
        results["detector"] == "IForest",
        "IForest",
        results["config"] + " / " + results["detector"].str.replace("skvae-", ""),
    )
    # ROC-AUC per (dataset, seed) case and configuration.
    per_case = results.pivot_table("roc_auc", ["dataset", "seed"], "name")
    forest = per_case["IForest"]
    n_cases = per_case.notna().sum()
    wide = per_case[n_cases[n_cases == n_cases["IForest"]].index]
    order = wide.mean().sort_values(ascending=False).index

    def changed(name):
        params = (CONFIGS | AT_COMMIT).get(name.split(" / ")[0], {})
        return ", ".join(f"{k}={v}" for k, v in params.items()) or "(defaults)"

    n_iter = results.groupby("name")["n_iter"].mean().reindex(order)
    mean, ranks = wide[order].mean(), wide.rank(axis=1, ascending=False).mean()
    table = pd.DataFrame({"config / score_type": order}, index=order)
    table["changed hyperparameters"] = order.map(changed)
    table["mean ROC-AUC"] = mean.map("{:.4f}".format)
    table["minus IForest"] = (mean - forest.mean()).map("{:+.4f}".format)
    wins = wide[order].gt(forest, axis=0).sum()
    table["beats IForest on"] = wins.astype(str) + f"/{len(wide)}"
    table["mean rank"] = ranks[order].map("{:.1f}".format)
    seconds = results.groupby("name")["fit_time"].sum()[order]
    table["total fit time (s)"] = seconds.map("{:.0f}".format)
    table["mean epochs"] = n_iter.map(lambda v: "" if np.isnan(v) else f"{v:.0f}")
    datasets = sorted(set(results["dataset"]))
    seeds = sorted(set(results["seed"].astype(int)))
    body = [
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
    body += runs_section(results, path.with_suffix(".csv"))
    write_markdown(path.with_suffix(".md"), TITLE, "\n".join(body), note=args.note)


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
