"""Anomaly detection on the ADBench classical datasets, skvae beside its peers.

Runs, side by side in one process and on identical splits, skvae's
``VAEAnomalyDetector`` with its defaults, skvae tuned without labels (a small
``GridSearchCV`` over ``beta`` x ``weight_decay`` on the held-out
log-likelihood of a ``VAETransformer`` with the same hyperparameters, then a
detector fitted with the best ones), PyOD's ``VAE`` (defaults, whose KL term
is clipped to 0 by ``capacity=0``, and with ``capacity=inf`` so that the KL
is actually on), PyOD's ``AutoEncoder``, ``ECOD`` and ``KNN``, and
scikit-learn's ``IsolationForest``, ``LocalOutlierFactor(novelty=True)`` and
``OneClassSVM``, all with default hyperparameters.

Protocol (ADBench, Han et al. 2022; see ``_common.adbench_split``): seeds 1, 2,
3; datasets under 1000 rows upsampled with duplicates to 1000, over 10000 rows
subsampled to 10000; stratified 70/30 split; MinMaxScaler fitted on the train
part; detectors fitted on the contaminated train part without labels and
scored on the test part (ROC-AUC and average precision, higher score = more
anomalous).

Every (dataset, seed, detector) result is appended to ``<out>.csv`` as soon as
it is known, so a partial run leaves a usable CSV and a rerun resumes where it
stopped (existing rows are skipped; several processes may append to the same
CSV). After each dataset the report ``<out>.md`` and figure ``<out>.png`` are
rewritten from the whole CSV.

Usage
-----
    python benchmarks/anomaly.py --quick            # smoke test, < 60 s
    python benchmarks/anomaly.py                    # all datasets, seeds 1,2,3
    python benchmarks/anomaly.py --datasets cardio,thyroid --seeds 1
    python benchmarks/anomaly.py --detectors skvae-tuned --seeds 1
    python benchmarks/anomaly.py --report-only      # rebuild .md/.png from .csv

Options: ``--datasets`` (comma-separated names, default all), ``--seeds``
(default 1,2,3; 1 with ``--quick``), ``--detectors`` (default all, see
``_common.DETECTORS``), ``--out`` (path prefix of the .csv/.md/.png, default
``benchmarks/results/anomaly``; ``benchmarks/results/anomaly_quick`` with
``--quick``), ``--report-only``, ``--note`` (text put at the top of the
report). The detectors, the CSV handling and the ranking are shared with
``oneclass.py`` in ``_common.py``; everything runs on 1 thread.
"""

from pathlib import Path

import numpy as np
import pandas as pd
from _common import (
    DETECTORS,
    RESULTS_DIR,
    TUNING_GRID,
    adbench_datasets,
    adbench_split,
    auc_table,
    command_line,
    data_dir,
    detector_arguments,
    done_keys,
    evaluate_detectors,
    limit_threads,
    load_adbench,
    markdown_table,
    plot_ranks,
    pyplot,
    read_detector_results,
    runs_section,
    skvae_vs_iforest,
    summarize,
    summary_table,
    time_table,
    write_markdown,
)

QUICK_DATASETS = ["vertebral", "WBC"]
# Detectors that are also a column of ADBench's Table D4, under the same name.
D4_DETECTORS = ["IForest", "LOF", "OCSVM", "ECOD", "KNN"]

INTRO = (
    "ROC-AUC and average precision (AP) on the test part, ADBench protocol "
    "(see `benchmarks/_common.py: adbench_split`). All detectors use default "
    "hyperparameters, are fitted on the contaminated train part without "
    "labels and run in the same process on identical splits, 1 torch "
    "thread. `pyod-VAE` is PyOD's default VAE, whose KL term is clipped to 0 "
    "by its default `capacity=0`; `pyod-VAE-KL` sets `capacity=inf` so the "
    "KL is on. `skvae-tuned` is reported separately below.\n"
)
TIME_NOTE = (
    "Wall-clock seconds of `fit` plus `score_samples` on the test part, 1 "
    "thread; compare detectors within one run (see the runs below and the "
    "note on how busy the machine was).\n"
)
RANK_NOTE = (
    "\nMean rank: detectors ranked per dataset by their seed-mean ROC-AUC "
    "(1 = best), averaged over datasets. Fit times are wall-clock sums over "
    "all cases on a shared 2-core machine: compare them as ratios only.\n"
)
TUNED_INTRO = (
    "`GridSearchCV(VAETransformer(random_state=seed), "
    f"{TUNING_GRID}, cv=KFold(3, shuffle=True))` on the train part, "
    "scored by the held-out mean log-likelihood bound "
    "(`VAETransformer.score`); then `VAEAnomalyDetector` with the best "
    "`beta`/`weight_decay` fitted on the whole train part. Compared on "
    "the (dataset, seed) cases where it ran:\n"
)


def run(datasets, seeds, detectors, out, quick):
    """Run every (dataset, seed, detector) not yet in ``<out>.csv``; rewrite
    the report after each dataset."""
    csv_path = out.with_suffix(".csv")
    done = done_keys(csv_path, ["dataset", "seed", "detector"])
    # Seeds in the outer loop: after the first pass every dataset has a result.
    for seed in seeds:
        for dataset in datasets:
            todo = [d for d in detectors if (dataset, seed, d) not in done]
            if todo:
                split = adbench_split(*load_adbench(dataset), seed)
                evaluate_detectors(csv_path, dataset, seed, todo, split, quick)
                report(out)


def report(out, note=None):
    """Rewrite ``<out>.md`` and ``<out>.png`` from ``<out>.csv``; ``note``,
    if given, goes at the top (e.g. to say that a run is partial and why)."""
    results = read_detector_results(out.with_suffix(".csv"))
    if results.empty:
        return
    present = [d for d in DETECTORS if d in set(results["detector"])]
    main = [d for d in present if d != "skvae-tuned"]
    summary, per_dataset, res, cases = summarize(results, main)
    n_seeds = pd.Series([d for d, _ in cases]).value_counts()
    d4 = pd.read_csv(
        data_dir() / "adbench" / "reference_tableD4_aucroc.csv", na_values=["N/A"]
    ).set_index("dataset")

    def d4_cell(name, dataset, missing=""):
        ref = d4[name].get(dataset, np.nan)
        return missing if np.isnan(ref) else f"{ref / 100:.3f}"

    def d4_mean(name):
        ref = d4[name].reindex(per_dataset.index)
        return f"{ref.mean() / 100:.4f}" if ref.notna().any() else ""

    body = [f"**Note.** {note}\n"] if note else []
    body.append(INTRO)
    body.append(
        f"Cases compared: {len(cases)} (dataset, seed) pairs on "
        f"{per_dataset.shape[0]} datasets, on which every detector below has a "
        f"result ({(n_seeds == 3).sum()} datasets with 3 seeds, "
        f"{(n_seeds < 3).sum()} with fewer)."
    )
    failed = results["roc_auc"].isna().sum()
    if failed:
        body.append(f"Failed runs (excluded): {failed}, see the CSV `info`.")
    table = summary_table(summary)
    table["ADBench D4 mean AUC (same datasets)"] = [
        d4_mean(name) if name in D4_DETECTORS else "" for name in table.index
    ]
    body += ["", "## Summary\n", markdown_table(table), RANK_NOTE]
    if comparison := skvae_vs_iforest(summary, per_dataset, "datasets"):
        body.append(comparison)

    table = auc_table(results, res, per_dataset, "dataset")
    table["D4 IForest"] = [d4_cell("IForest", dataset) for dataset in table.index]
    body += ["## ROC-AUC per dataset (mean ± std over seeds)\n", markdown_table(table)]

    ap = res.groupby(["dataset", "detector"])["average_precision"].mean().unstack()
    ap = ap.loc[per_dataset.index, main].apply(lambda c: c.map("{:.3f}".format))
    ap = ap.reset_index()
    body += ["\n## Average precision per dataset (mean over seeds)\n"]
    body.append(markdown_table(ap))

    with_ref = [name for name in D4_DETECTORS if name in main]
    table = pd.DataFrame({"dataset": per_dataset.index})
    for name in with_ref:
        table[name] = [
            f"{per_dataset.loc[dataset, name]:.3f} / {d4_cell(name, dataset, 'n/a')}"
            for dataset in per_dataset.index
        ]
    body += [
        "\n## Fit + score time per dataset (seconds, mean over seeds)\n",
        TIME_NOTE,
        markdown_table(time_table(res, per_dataset[main])),
    ]

    body += ["\n## Ours beside ADBench Table D4 (ROC-AUC, ours / D4)\n"]
    body.append(markdown_table(table))

    if "skvae-tuned" in present:
        tuned = [d for d in ["skvae-tuned", "skvae", "IForest"] if d in present]
        t_summary, t_per_dataset, _, t_cases = summarize(results, tuned)
        table = summary_table(t_summary).loc[tuned].drop(columns="wins")
        table["detector"] = tuned
        table = table.rename(columns={"total fit time (s)": "fit time (s)"})
        chosen = results[results["detector"] == "skvae-tuned"]["info"]
        counts = chosen[~chosen.str.startswith("error")].value_counts()
        body += [
            "\n## skvae tuned without labels\n",
            TUNED_INTRO,
            f"{len(t_cases)} cases on {t_per_dataset.shape[0]} datasets.\n\n"
            + markdown_table(table),
            "\nChosen hyperparameters (count): "
            + ", ".join(f"`{k}` ({v})" for k, v in counts.items()),
        ]

    body += runs_section(results, out.with_suffix(".csv"))
    write_markdown(
        out.with_suffix(".md"),
        "Anomaly detection on ADBench (classical datasets)",
        command_line(),
        "\n".join(body),
    )
    plot(per_dataset, summary, out.with_suffix(".png"))


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
        ax2.set_xlim(lo, 1.0)
        ax2.set_ylim(lo, 1.0)
        ax2.set_xlabel("IsolationForest ROC-AUC")
        ax2.set_ylabel("skvae VAEAnomalyDetector (defaults) ROC-AUC")
        ax2.set_title("per dataset, mean over seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    limit_threads(1)
    args = detector_arguments(__doc__, argv)
    datasets = args.datasets or (QUICK_DATASETS if args.quick else adbench_datasets())
    stem = "anomaly_quick" if args.quick else "anomaly"
    out = Path(args.out) if args.out else RESULTS_DIR / stem
    if not args.report_only:
        run(datasets, args.seeds, args.detectors or DETECTORS, out, args.quick)
    report(out, args.note)


if __name__ == "__main__":
    main()
