"""The ranking of detectors that the anomaly studies (``anomaly``,
``oneclass``) share: mean ROC-AUC, AP, rank and cost per detector, and its
tables and plot.

Usage::

    from benchmarks.configs._detector_ranking import summarize, summary_table
    summary, per_dataset, rows, cases = summarize(results, ["skvae", "IForest"])
    markdown_table(summary_table(summary))
"""

import numpy as np
import pandas as pd


def summarize(results, detectors):
    """Mean ROC-AUC, AP, rank and times per detector, on the (dataset,
    seed) cases where every one of ``detectors`` has a finite ROC-AUC.

    Returns ``summary`` (indexed by detector), ``per_dataset`` (dataset x
    detector, seed-mean ROC-AUC), the rows used and the cases used.
    """
    res = results[results["detector"].isin(detectors)]
    wide = res.pivot_table("roc_auc", ["dataset", "seed"], "detector")
    cases = wide.reindex(columns=detectors).dropna().index
    res = res[res.set_index(["dataset", "seed"]).index.isin(cases)]
    per_dataset = res.groupby(["dataset", "detector"])["roc_auc"].mean().unstack()
    per_dataset = per_dataset.reindex(columns=detectors)
    by = res.groupby("detector")
    summary = pd.DataFrame(
        {
            "mean ROC-AUC": per_dataset.mean(),
            "mean AP": by["average_precision"].mean(),
            "mean rank": per_dataset.rank(axis=1, ascending=False).mean(),
            "wins": (
                per_dataset.rank(axis=1, ascending=False, method="min") == 1
            ).sum(),
            "total fit time (s)": by["fit_time"].sum(),
            "total fit + score time (s)": (res["fit_time"] + res["score_time"])
            .groupby(res["detector"])
            .sum(),
        }
    ).reindex(detectors)
    return summary, per_dataset, res, cases


def summary_table(summary):
    """``summary`` formatted, best mean ROC-AUC first, skvae in bold."""
    s = summary.sort_values("mean ROC-AUC", ascending=False)
    total = s["total fit + score time (s)"]
    table = pd.DataFrame(index=s.index)
    table["detector"] = [f"**{n}**" if n == "skvae" else n for n in s.index]
    for column, digits in (("mean ROC-AUC", 4), ("mean AP", 4), ("mean rank", 2)):
        table[column] = s[column].map(f"{{:.{digits}f}}".format)
    table["wins"] = s["wins"].astype(int)
    table["total fit time (s)"] = s["total fit time (s)"].map("{:.0f}".format)
    ratio = total / total.get("IForest", np.nan)
    table["fit + score time / IForest's"] = ratio.map("{:.1f}".format)
    return table


def skvae_vs_iforest(summary, per_dataset, unit):
    """One sentence comparing skvae with IsolationForest ("" if absent)."""
    if not {"skvae", "IForest"} <= set(summary.index):
        return ""
    gap = summary.loc["skvae", "mean ROC-AUC"] - summary.loc["IForest", "mean ROC-AUC"]
    better = (per_dataset["skvae"] > per_dataset["IForest"]).sum()
    return (
        f"skvae (defaults) minus IsolationForest, mean ROC-AUC: {gap:+.4f}; "
        f"skvae is better on {better} of {per_dataset.shape[0]} {unit}.\n"
    )


def auc_table(results, res, per_dataset, label):
    """ROC-AUC per dataset, "mean ± std" over seeds, the best in bold, with
    the train rows and features; ``label`` heads the first column."""
    stats = res.groupby(["dataset", "detector"])["roc_auc"].agg(["mean", "std"])
    info = results.groupby("dataset")[["n_train", "n_features"]].first()
    rows = []
    for dataset, aucs in per_dataset.iterrows():
        row = {label: dataset, "n_train": int(info.loc[dataset, "n_train"])}
        row["d"] = int(info.loc[dataset, "n_features"])
        for name in per_dataset.columns:
            m, sd = stats.loc[(dataset, name)]
            cell = f"{m:.3f}" + ("" if np.isnan(sd) else f" ± {sd:.3f}")
            row[name] = f"**{cell}**" if m == aucs.max() else cell
        rows.append(row)
    return pd.DataFrame(rows, index=per_dataset.index)


def plot_ranks(ax, summary, unit, title):
    """Horizontal bars of the detectors' mean rank, best on top, skvae red."""
    ranks = summary["mean rank"].sort_values()
    colors = ["tab:red" if n == "skvae" else "tab:gray" for n in ranks.index]
    ax.barh(ranks.index[::-1], ranks.values[::-1], color=colors[::-1])
    ax.set_xlabel(f"mean rank of ROC-AUC over {unit} (lower is better)")
    ax.set_title(title)
