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
(default 1,2,3), ``--detectors`` (default all, see ``DETECTORS``), ``--out``
(path prefix of the .csv/.md/.png, default ``benchmarks/results/anomaly``;
``benchmarks/results/anomaly_quick`` with ``--quick``).
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import fcntl  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    ADBENCH_SEEDS,
    RESULTS_DIR,
    adbench_datasets,
    adbench_split,
    command_line,
    data_dir,
    limit_threads,
    load_adbench,
    markdown_table,
    timed,
    write_markdown,
)

limit_threads(1)

from sklearn.ensemble import IsolationForest  # noqa: E402
from sklearn.metrics import average_precision_score, roc_auc_score  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold  # noqa: E402
from sklearn.neighbors import LocalOutlierFactor  # noqa: E402
from sklearn.svm import OneClassSVM  # noqa: E402

from skvae import VAEAnomalyDetector, VAETransformer  # noqa: E402

QUICK_DATASETS = ["vertebral", "WBC"]
TUNING_GRID = {"beta": [0.5, 1.0, 2.0], "weight_decay": [0.0, 1e-3]}

# Our detector name -> column of ADBench's Table D4 (same algorithm).
D4_COLUMNS = {
    "IForest": "IForest",
    "LOF": "LOF",
    "OCSVM": "OCSVM",
    "ECOD": "ECOD",
    "KNN": "KNN",
}

CSV_FIELDS = [
    "dataset",
    "seed",
    "detector",
    "roc_auc",
    "average_precision",
    "fit_time",
    "score_time",
    "n_train",
    "n_test",
    "n_features",
    "info",
    "command",
]


# ------------------------------------------------------------------ detectors


class SklearnScores:
    """Adapter: a scikit-learn outlier detector, scores higher = anomalous."""

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X):
        self.estimator.fit(X)
        return self

    def anomaly_score(self, X):
        return -self.estimator.score_samples(X)

    def info(self):
        return ""


class PyODScores(SklearnScores):
    """Adapter: a PyOD detector (``decision_function`` is already oriented)."""

    def anomaly_score(self, X):
        return self.estimator.decision_function(X)


class SkvaeScores(SklearnScores):
    def info(self):
        est = self.estimator
        return f"n_iter={est.n_iter_};active={est.n_active_components_}"


class TunedSkvae:
    """skvae tuned without labels.

    A ``GridSearchCV`` over ``TUNING_GRID`` of a ``VAETransformer`` (whose
    ``score`` is the mean held-out log-likelihood bound), then a
    ``VAEAnomalyDetector`` with the best hyperparameters fitted on all rows.
    """

    def __init__(self, seed, **params):
        self.seed = seed
        self.params = params

    def fit(self, X):
        search = GridSearchCV(
            VAETransformer(random_state=self.seed, **self.params),
            TUNING_GRID,
            cv=KFold(3, shuffle=True, random_state=self.seed),
            refit=False,
            error_score=np.nan,
        )
        search.fit(X)
        self.best_params_ = search.best_params_
        self.estimator = VAEAnomalyDetector(
            random_state=self.seed, **self.params, **self.best_params_
        ).fit(X)
        return self

    def anomaly_score(self, X):
        return -self.estimator.score_samples(X)

    def info(self):
        return ";".join(f"{k}={v}" for k, v in self.best_params_.items())


def make_detector(name, seed, quick=False):
    """A fresh detector ``name`` seeded with ``seed`` (tiny budgets if quick)."""
    from pyod.models.auto_encoder import AutoEncoder
    from pyod.models.ecod import ECOD
    from pyod.models.knn import KNN
    from pyod.models.vae import VAE

    skvae_kw = {"max_iter": 5} if quick else {}
    pyod_kw = {"epoch_num": 2} if quick else {}
    if name == "skvae":
        return SkvaeScores(VAEAnomalyDetector(random_state=seed, **skvae_kw))
    if name == "skvae-notrim":
        # The default before trim_fraction=0.2: every training row in the loss.
        return SkvaeScores(
            VAEAnomalyDetector(random_state=seed, trim_fraction=0.0, **skvae_kw)
        )
    if name == "skvae-tuned":
        return TunedSkvae(seed, **skvae_kw)
    if name == "pyod-VAE":
        # PyOD 3.x default capacity=0 clamps the KL term to [0, 0]: the
        # default "VAE" trains as an autoencoder with a noisy bottleneck.
        return PyODScores(VAE(random_state=seed, verbose=0, device="cpu", **pyod_kw))
    if name == "pyod-VAE-KL":
        # capacity=inf: the KL is never clipped, the textbook (beta=1) VAE.
        return PyODScores(
            VAE(
                capacity=float("inf"),
                random_state=seed,
                verbose=0,
                device="cpu",
                **pyod_kw,
            )
        )
    if name == "pyod-AutoEncoder":
        return PyODScores(
            AutoEncoder(random_state=seed, verbose=0, device="cpu", **pyod_kw)
        )
    if name == "ECOD":
        return PyODScores(ECOD())
    if name == "KNN":
        return PyODScores(KNN())
    if name == "IForest":
        return SklearnScores(IsolationForest(random_state=seed))
    if name == "LOF":
        return SklearnScores(LocalOutlierFactor(novelty=True))
    if name == "OCSVM":
        return SklearnScores(OneClassSVM())
    raise ValueError(f"Unknown detector {name!r}; choose from {DETECTORS}.")


DETECTORS = [
    "skvae",
    "skvae-notrim",
    "skvae-tuned",
    "pyod-VAE",
    "pyod-VAE-KL",
    "pyod-AutoEncoder",
    "ECOD",
    "KNN",
    "IForest",
    "LOF",
    "OCSVM",
]


# ------------------------------------------------------------------ running


def read_results(csv_path):
    """All rows of the results CSV as a DataFrame (empty if none yet)."""
    if not Path(csv_path).exists():
        return pd.DataFrame(columns=CSV_FIELDS)
    return pd.read_csv(csv_path, keep_default_na=False, na_values=["", "nan"])


def append_row(csv_path, row, fields=CSV_FIELDS):
    """Append one result row; a lock lets several processes share the file."""
    csv_path = Path(csv_path)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with open(csv_path, "a", newline="") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        writer = csv.DictWriter(f, fieldnames=fields)
        if f.tell() == 0:
            writer.writeheader()
        writer.writerow(row)
        f.flush()
        fcntl.flock(f, fcntl.LOCK_UN)


def run_one(name, seed, X_train, X_test, y_test, quick):
    detector = make_detector(name, seed, quick)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, fit_time = timed(detector.fit, X_train)
        scores, score_time = timed(detector.anomaly_score, X_test)
    if not np.all(np.isfinite(scores)):
        raise ValueError(f"{np.sum(~np.isfinite(scores))} non-finite scores")
    return {
        "roc_auc": roc_auc_score(y_test, scores),
        "average_precision": average_precision_score(y_test, scores),
        "fit_time": fit_time,
        "score_time": score_time,
        "info": detector.info(),
    }


def adbench_case(dataset, seed):
    """The ADBench train/test split of ``dataset`` for ``seed``."""
    X, y = load_adbench(dataset)
    return adbench_split(X, y, seed)


def run(datasets, seeds, detectors, out, quick, make_case=adbench_case, write=None):
    """Run every (dataset, seed, detector) not yet in ``<out>.csv``.

    ``make_case(dataset, seed)`` returns ``X_train, X_test, y_train, y_test``;
    ``write(out)`` rewrites the report after each dataset (default
    :func:`report`).
    """
    write = report if write is None else write
    csv_path = out.with_suffix(".csv")
    done = read_results(csv_path)
    done = set(
        zip(done["dataset"], done["seed"].astype(int), done["detector"], strict=True)
    )
    command = command_line()
    # Seeds in the outer loop: after the first pass every dataset has a result.
    for seed in seeds:
        for dataset in datasets:
            todo = [d for d in detectors if (dataset, seed, d) not in done]
            if not todo:
                continue
            X_train, X_test, _, y_test = make_case(dataset, seed)
            for name in todo:
                row = {
                    "dataset": dataset,
                    "seed": seed,
                    "detector": name,
                    "n_train": len(X_train),
                    "n_test": len(X_test),
                    "n_features": X_train.shape[1],
                    "command": command,
                }
                try:
                    row.update(run_one(name, seed, X_train, X_test, y_test, quick))
                except Exception as exc:  # record the failure, keep going
                    if quick:
                        raise  # a smoke test must fail loudly
                    row.update(roc_auc=np.nan, average_precision=np.nan)
                    row["info"] = f"error: {type(exc).__name__}: {exc}"[:200]
                append_row(csv_path, row)
                print(
                    f"seed={seed} {dataset:<17} {name:<17} "
                    f"auc={row['roc_auc']:.4f} fit={row.get('fit_time', np.nan):.1f}s "
                    f"{row['info']}",
                    flush=True,
                )
            write(out)


# ------------------------------------------------------------------ report


def _d4_reference():
    path = data_dir() / "adbench" / "reference_tableD4_aucroc.csv"
    return pd.read_csv(path, na_values=["N/A"]).set_index("dataset")


def summarize(results, detectors):
    """Mean AUC, AP, rank and fit time per detector on the common cases.

    Only (dataset, seed) cases on which every detector in ``detectors`` has a
    finite result are used, so the detectors are compared on identical work.
    """
    res = results[results["detector"].isin(detectors)]
    wide = res.pivot_table(
        index=["dataset", "seed"], columns="detector", values="roc_auc"
    )
    wide = wide.reindex(columns=detectors).dropna()
    cases = wide.index
    keep = res.set_index(["dataset", "seed"]).index.isin(cases)
    res = res[keep]
    per_dataset = res.groupby(["dataset", "detector"])["roc_auc"].mean().unstack()
    per_dataset = per_dataset.reindex(columns=detectors)
    ranks = per_dataset.rank(axis=1, ascending=False).mean()
    summary = pd.DataFrame(
        {
            "mean ROC-AUC": per_dataset.mean(),
            "mean AP": res.groupby("detector")["average_precision"].mean(),
            "mean rank": ranks,
            "wins": (
                per_dataset.rank(axis=1, ascending=False, method="min") == 1
            ).sum(),
            "total fit time (s)": res.groupby("detector")["fit_time"].sum(),
        }
    ).reindex(detectors)
    return summary, per_dataset, res, cases


def report(out, note=None):
    """Rewrite ``<out>.md`` and ``<out>.png`` from ``<out>.csv``.

    ``note``, if given, is printed at the top of the report (e.g. to say that
    a run is partial and why).
    """
    results = read_results(out.with_suffix(".csv"))
    if results.empty:
        return
    results["seed"] = results["seed"].astype(int)
    # Two processes may have computed the same case: keep the first row.
    results = results.drop_duplicates(["dataset", "seed", "detector"])
    present = [d for d in DETECTORS if d in set(results["detector"])]
    main = [d for d in present if d != "skvae-tuned"]
    summary, per_dataset, res, cases = summarize(results, main)
    n_datasets = per_dataset.shape[0]
    seeds_per_dataset = pd.Series([d for d, _ in cases]).value_counts()
    d4 = _d4_reference()

    body = [f"**Note.** {note}\n"] if note else []
    body.append(
        "ROC-AUC and average precision (AP) on the test part, ADBench protocol "
        "(see `benchmarks/_common.py: adbench_split`). All detectors use default "
        "hyperparameters, are fitted on the contaminated train part without "
        "labels and run in the same process on identical splits, 1 torch "
        "thread. `pyod-VAE` is PyOD's default VAE, whose KL term is clipped to 0 "
        "by its default `capacity=0`; `pyod-VAE-KL` sets `capacity=inf` so the "
        "KL is on. `skvae-tuned` is reported separately below.\n"
    )
    body.append(
        f"Cases compared: {len(cases)} (dataset, seed) pairs on {n_datasets} "
        f"datasets, on which every detector below has a result "
        f"({(seeds_per_dataset == 3).sum()} datasets with 3 seeds, "
        f"{(seeds_per_dataset < 3).sum()} with fewer)."
    )
    failed = results[results["roc_auc"].isna()]
    if len(failed):
        body.append(f"Failed runs (excluded): {len(failed)}, see the CSV `info`.")
    body.append("")
    body.append("## Summary\n")
    ref_cols = {}
    for name, col in D4_COLUMNS.items():
        if name in summary.index:
            ref = d4[col].reindex(per_dataset.index)
            ref_cols[name] = ref.mean() / 100 if ref.notna().any() else np.nan
    rows = []
    order = summary.sort_values("mean ROC-AUC", ascending=False).index
    for name in order:
        s = summary.loc[name]
        ref = ref_cols.get(name, np.nan)
        rows.append(
            [
                f"**{name}**" if name == "skvae" else name,
                f"{s['mean ROC-AUC']:.4f}",
                f"{s['mean AP']:.4f}",
                f"{s['mean rank']:.2f}",
                int(s["wins"]),
                f"{s['total fit time (s)']:.0f}",
                "" if np.isnan(ref) else f"{ref:.4f}",
            ]
        )
    body.append(
        markdown_table(
            [
                "detector",
                "mean ROC-AUC",
                "mean AP",
                "mean rank",
                "wins",
                "total fit time (s)",
                "ADBench D4 mean AUC (same datasets)",
            ],
            rows,
        )
    )
    body.append(
        "\nMean rank: detectors ranked per dataset by their seed-mean ROC-AUC "
        "(1 = best), averaged over datasets. Fit times are wall-clock sums over "
        "all cases on a shared 2-core machine: compare them as ratios only.\n"
    )
    if "skvae" in summary.index and "IForest" in summary.index:
        gap = (
            summary.loc["skvae", "mean ROC-AUC"]
            - summary.loc["IForest", "mean ROC-AUC"]
        )
        better = (per_dataset["skvae"] > per_dataset["IForest"]).sum()
        body.append(
            f"skvae (defaults) minus IsolationForest, mean ROC-AUC: {gap:+.4f}; "
            f"skvae is better on {better} of {n_datasets} datasets.\n"
        )

    stats = res.groupby(["dataset", "detector"])["roc_auc"].agg(["mean", "std"])
    info = results.groupby("dataset")[["n_train", "n_features"]].first()
    body.append("## ROC-AUC per dataset (mean ± std over seeds)\n")
    rows = []
    for dataset in per_dataset.index:
        row = [
            dataset,
            int(info.loc[dataset, "n_train"]),
            int(info.loc[dataset, "n_features"]),
        ]
        best = per_dataset.loc[dataset].max()
        for name in main:
            m, sd = stats.loc[(dataset, name)]
            cell = f"{m:.3f}" + ("" if np.isnan(sd) else f" ± {sd:.3f}")
            row.append(f"**{cell}**" if m == best else cell)
        ref = d4["IForest"].get(dataset, np.nan)
        row.append("" if np.isnan(ref) else f"{ref / 100:.3f}")
        rows.append(row)
    body.append(markdown_table(["dataset", "n_train", "d", *main, "D4 IForest"], rows))

    body.append("\n## Average precision per dataset (mean over seeds)\n")
    ap = res.groupby(["dataset", "detector"])["average_precision"].mean().unstack()
    rows = [
        [dataset, *(f"{ap.loc[dataset, name]:.3f}" for name in main)]
        for dataset in per_dataset.index
    ]
    body.append(markdown_table(["dataset", *main], rows))

    body.append("\n## Ours beside ADBench Table D4 (ROC-AUC, ours / D4)\n")
    with_ref = [n for n in D4_COLUMNS if n in main]
    rows = []
    for dataset in per_dataset.index:
        row = [dataset]
        for name in with_ref:
            ref = d4[D4_COLUMNS[name]].get(dataset, np.nan)
            ref = "n/a" if np.isnan(ref) else f"{ref / 100:.3f}"
            row.append(f"{per_dataset.loc[dataset, name]:.3f} / {ref}")
        rows.append(row)
    body.append(markdown_table(["dataset", *with_ref], rows))

    if "skvae-tuned" in present:
        body.append("\n## skvae tuned without labels\n")
        body.append(
            "`GridSearchCV(VAETransformer(random_state=seed), "
            f"{TUNING_GRID}, cv=KFold(3, shuffle=True))` on the train part, "
            "scored by the held-out mean log-likelihood bound "
            "(`VAETransformer.score`); then `VAEAnomalyDetector` with the best "
            "`beta`/`weight_decay` fitted on the whole train part. Compared on "
            "the (dataset, seed) cases where it ran:\n"
        )
        tuned_set = [d for d in ["skvae-tuned", "skvae", "IForest"] if d in present]
        t_summary, t_per_dataset, t_res, t_cases = summarize(results, tuned_set)
        rows = [
            [
                name,
                f"{t_summary.loc[name, 'mean ROC-AUC']:.4f}",
                f"{t_summary.loc[name, 'mean AP']:.4f}",
                f"{t_summary.loc[name, 'mean rank']:.2f}",
                f"{t_summary.loc[name, 'total fit time (s)']:.0f}",
            ]
            for name in tuned_set
        ]
        body.append(
            f"{len(t_cases)} cases on {t_per_dataset.shape[0]} datasets.\n\n"
            + markdown_table(
                ["detector", "mean ROC-AUC", "mean AP", "mean rank", "fit time (s)"],
                rows,
            )
        )
        chosen = results[results["detector"] == "skvae-tuned"]["info"]
        counts = chosen[~chosen.str.startswith("error")].value_counts()
        body.append(
            "\nChosen hyperparameters (count): "
            + ", ".join(f"`{k}` ({v})" for k, v in counts.items())
        )

    commands = sorted(set(results["command"].dropna()))
    body.append("\n## Runs that produced the CSV\n")
    body += [f"- `{c}`" for c in commands]
    body.append(f"\nRaw rows: `{out.with_suffix('.csv').name}`.")

    write_markdown(
        out.with_suffix(".md"),
        "Anomaly detection on ADBench (classical datasets)",
        command_line(),
        "\n".join(body),
    )
    plot(per_dataset, summary, out.with_suffix(".png"))


def plot(per_dataset, summary, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
    ranks = summary["mean rank"].sort_values()
    colors = ["tab:red" if n == "skvae" else "tab:gray" for n in ranks.index]
    ax1.barh(ranks.index[::-1], ranks.values[::-1], color=colors[::-1])
    ax1.set_xlabel("mean rank of ROC-AUC over datasets (lower is better)")
    ax1.set_title(f"{per_dataset.shape[0]} ADBench datasets")
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


def main(
    argv=None,
    *,
    description=__doc__,
    names=adbench_datasets,
    quick_names=QUICK_DATASETS,
    default_detectors=DETECTORS,
    stem="anomaly",
    make_case=adbench_case,
    write=report,
):
    """Command line of this script; :mod:`oneclass` runs it on its own cases.

    ``names()`` lists the cases run by default, ``make_case`` builds one (see
    :func:`run`), ``write(out, note)`` writes the report and
    ``<RESULTS_DIR>/<stem>`` is the default output prefix.
    """
    parser = argparse.ArgumentParser(
        description=description.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="smoke test, < 60 s")
    parser.add_argument("--datasets", help="comma-separated names (default all)")
    parser.add_argument("--seeds", help="comma-separated seeds (default 1,2,3)")
    parser.add_argument("--detectors", help=f"comma-separated, from {DETECTORS}")
    parser.add_argument("--out", help="path prefix of the .csv/.md/.png outputs")
    parser.add_argument(
        "--report-only", action="store_true", help="rebuild .md/.png from the CSV"
    )
    parser.add_argument("--note", help="text put at the top of the report")
    args = parser.parse_args(argv)

    if args.datasets:
        datasets = args.datasets.split(",")
    else:
        datasets = quick_names if args.quick else names()
    if args.seeds:
        seeds = [int(s) for s in args.seeds.split(",")]
    else:
        seeds = [ADBENCH_SEEDS[0]] if args.quick else list(ADBENCH_SEEDS)
    detectors = args.detectors.split(",") if args.detectors else default_detectors
    unknown = set(detectors) - set(DETECTORS)
    if unknown:
        parser.error(f"unknown detectors {sorted(unknown)}; choose from {DETECTORS}")
    default_out = RESULTS_DIR / (f"{stem}_quick" if args.quick else stem)
    out = Path(args.out) if args.out else default_out
    if not args.report_only:
        run(datasets, seeds, detectors, out, args.quick, make_case, write)
    write(out, args.note)


if __name__ == "__main__":
    main()
