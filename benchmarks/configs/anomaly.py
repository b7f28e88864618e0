"""Anomaly detection on the ADBench classical datasets, skvae beside its peers.

Side by side in one process on identical splits: skvae's
``VAEAnomalyDetector`` with its defaults (``skvae``), without trimming
(``skvae-notrim``), tuned without labels (``skvae-tuned``: a
``GridSearchCV`` over ``beta`` x ``weight_decay`` on the held-out
log-likelihood of a ``VAETransformer``); PyOD's ``VAE`` (default, whose KL
term ``capacity=0`` clips to 0, and ``pyod-VAE-KL`` with
``capacity=inf``), ``AutoEncoder``, ``ECOD`` and ``KNN``; scikit-learn's
``IsolationForest``, ``LocalOutlierFactor(novelty=True)`` and
``OneClassSVM``; all with default hyperparameters, 1 thread.

Protocol (ADBench, Han et al. 2022; ``harness.data.adbench_split``): seeds 1,
2, 3; datasets under 1000 rows upsampled with duplicates to 1000, over 10000
subsampled to 10000; stratified 70/30 split; MinMaxScaler fitted on the
train part; detectors fitted on the contaminated train part without labels,
scored on the test part (ROC-AUC, average precision).

Usage::

    python -m benchmarks anomaly --quick          # smoke test, < 60 s
    python -m benchmarks anomaly                  # 43 datasets x seeds 1,2,3
    python -m benchmarks anomaly --datasets cardio,thyroid --seeds 1
    python -m benchmarks anomaly --contenders skvae-tuned --seeds 1
    python -m benchmarks anomaly --contenders skvae,IForest,ECOD,pyod-VAE \\
        --seeds 1 --name anomaly_cost             # the cost run
    python -m benchmarks anomaly --report-only
"""

import numpy as np
import pandas as pd

from benchmarks.harness import data
from benchmarks.harness.contenders import (
    BUDGET_DETECTORS,
    DETECTOR_FIELDS,
    DETECTORS,
    LATENT_DETECTORS,
    TUNING_GRID,
    detect,
    make,
)
from benchmarks.harness.report import (
    auc_table,
    markdown_table,
    plot_ranks,
    protocol,
    pyplot,
    runs_section,
    skvae_vs_iforest,
    summarize,
    summary_table,
    write_markdown,
)
from benchmarks.harness.runner import read_results

TITLE = "Anomaly detection on ADBench (classical datasets)"
FIELDS = DETECTOR_FIELDS
KEY = ["dataset", "seed", "detector"]
CONTENDER = "detector"
# HBOS is tables.py's peer, not ADBench's; the latent models and the other
# budgets are variants.
ON_REQUEST = [*LATENT_DETECTORS, *BUDGET_DETECTORS]
CONTENDERS = [d for d in DETECTORS if d not in ("HBOS", *ON_REQUEST)]
SEEDS = (1, 2, 3)
QUICK = {"datasets": ["vertebral", "WBC"], "seeds": [1]}
# Detectors that are also a column of ADBench's Table D4, under the same name.
D4_DETECTORS = ["IForest", "LOF", "OCSVM", "ECOD", "KNN"]


def datasets(args):
    return data.adbench_datasets()


def prepare(case, args):
    return data.adbench_split(*data.load_adbench(case["dataset"]), case["seed"])


def evaluate(detector, split, case, args):
    X_train, X_test, _, y_test = split
    model = make("detector", detector, case["seed"], args.quick)
    return detect(model, X_train, X_test, y_test)


def report(path, args):
    results = read_results(path.with_suffix(".csv"), KEY)
    if results.empty:
        return
    present = [d for d in [*CONTENDERS, *ON_REQUEST] if d in set(results["detector"])]
    main = [d for d in present if d != "skvae-tuned"]
    summary, per_dataset, res, cases = summarize(results, main)
    n_seeds = pd.Series([d for d, _ in cases]).value_counts()
    d4 = data.data_dir() / "adbench" / "reference_tableD4_aucroc.csv"
    d4 = pd.read_csv(d4, na_values=["N/A"]).set_index("dataset")

    def d4_cell(name, dataset, missing=""):
        ref = d4[name].get(dataset, np.nan)
        return missing if np.isnan(ref) else f"{ref / 100:.3f}"

    body = [
        protocol(__doc__),
        f"Cases compared: {len(cases)} (dataset, seed) pairs on "
        f"{per_dataset.shape[0]} datasets, on which every detector below has a "
        f"result ({(n_seeds == 3).sum()} datasets with 3 seeds, "
        f"{(n_seeds < 3).sum()} with fewer).",
    ]
    if failed := results["roc_auc"].isna().sum():
        body.append(f"Failed runs (excluded): {failed}, see the CSV `info`.")
    table = summary_table(summary)
    d4_mean = d4.reindex(per_dataset.index).mean() / 100
    table["ADBench D4 mean AUC (same datasets)"] = [
        f"{d4_mean[n]:.4f}" if n in D4_DETECTORS else "" for n in table.index
    ]
    body += ["", "## Summary\n", markdown_table(table)]
    body.append(
        "\nMean rank: ranked per dataset by seed-mean ROC-AUC (1 = best). Fit "
        "times are wall-clock sums on a shared machine: compare them as ratios.\n"
    )
    body.append(skvae_vs_iforest(summary, per_dataset, "datasets"))
    table = auc_table(results, res, per_dataset, "dataset")
    table["D4 IForest"] = [d4_cell("IForest", d) for d in table.index]
    body += ["## ROC-AUC per dataset (mean ± std over seeds)\n", markdown_table(table)]
    by_case = res.groupby(["dataset", "detector"])
    ap = by_case["average_precision"].mean().unstack().loc[per_dataset.index, main]
    body += ["\n## Average precision per dataset (mean over seeds)\n"]
    body.append(markdown_table(ap.map("{:.3f}".format).reset_index()))
    seconds = (res["fit_time"] + res["score_time"]).groupby([res.dataset, res.detector])
    seconds = seconds.mean().unstack().reindex(per_dataset.index, columns=main)
    seconds.loc["sum"] = seconds.sum()
    body += [
        "\n## Fit + score time per dataset (seconds, mean over seeds)\n",
        markdown_table(seconds.map("{:.2f}".format).reset_index()),
        "\n## Ours beside ADBench Table D4 (ROC-AUC, ours / D4)\n",
    ]
    table = pd.DataFrame({"dataset": per_dataset.index})
    for name in [n for n in D4_DETECTORS if n in main]:
        table[name] = [
            f"{per_dataset.loc[d, name]:.3f} / {d4_cell(name, d, 'n/a')}"
            for d in per_dataset.index
        ]
    body.append(markdown_table(table))
    if "skvae-tuned" in present:
        body += tuned_section(results, present)
    body += runs_section(results, path.with_suffix(".csv"))
    write_markdown(path.with_suffix(".md"), TITLE, "\n".join(body), note=args.note)
    plot(per_dataset, summary, path.with_suffix(".png"))


def tuned_section(results, present):
    tuned = [d for d in ["skvae-tuned", "skvae", "IForest"] if d in present]
    summary, per_dataset, _, cases = summarize(results, tuned)
    table = summary_table(summary).loc[tuned].drop(columns="wins")
    table["detector"] = tuned
    chosen = results[results["detector"] == "skvae-tuned"]["info"]
    counts = chosen[~chosen.str.startswith("error")].value_counts()
    return [
        "\n## skvae tuned without labels\n",
        f"Grid {TUNING_GRID}; compared on the (dataset, seed) cases where it ran:\n",
        f"{len(cases)} cases on {per_dataset.shape[0]} datasets.\n\n"
        + markdown_table(table.rename(columns={"total fit time (s)": "fit time (s)"})),
        "\nChosen hyperparameters (count): "
        + ", ".join(f"`{k}` ({v})" for k, v in counts.items()),
    ]


def plot(per_dataset, summary, path):
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
    plot_ranks(ax1, summary, "datasets", f"{per_dataset.shape[0]} ADBench datasets")
    if {"skvae", "IForest"} <= set(per_dataset.columns):
        x, y = per_dataset["IForest"], per_dataset["skvae"]
        ax2.scatter(x, y, s=18)
        for name in per_dataset.index:
            ax2.annotate(name, (x[name], y[name]), fontsize=6, alpha=0.7)
        lo = min(x.min(), y.min()) - 0.02
        ax2.plot([lo, 1], [lo, 1], color="k", lw=0.8)
        ax2.set(xlim=(lo, 1.0), ylim=(lo, 1.0), xlabel="IsolationForest ROC-AUC")
        ax2.set(ylabel="skvae VAEAnomalyDetector (defaults) ROC-AUC")
        ax2.set(title="per dataset, mean over seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
