"""Conditional generation: skvae's exact draw against SDV's rejection sampling.

"Generate the other columns of rows whose some columns are given" is
SDV's ``sample_remaining_columns``, which samples the synthesizer and keeps
the rows that match (up to ``max_tries_per_batch=100`` batches), and fails
on a condition it rarely generates ("Unable to sample any rows for the
given conditions", sdv#1419, sdv#1424). skvae's
``sample_remaining_columns`` draws from the model's conditional
distribution through its masked encoder, at one pass per row whatever the
condition.

Protocol, per seed: ``credit_data`` (4454 rows, 14 columns, 455 NaN
cells); every contender fits the whole table (one thread, defaults), then
is asked for ``N_ROWS`` rows under each condition of ``CONDITIONS``: a
common one (``Job == "fixed"``, 63 % of the rows) and a rare one (``Job ==
"others"`` and ``Records == "yes"``, 21 rows, 0.5 %). Contenders:
``skvae`` = ``VAETransformer(random_state=seed)``; ``GaussianCopula`` and
``TVAE`` (300 epochs) = SDV's synthesizers on the metadata SDV detects,
``random``, ``numpy`` and ``torch`` seeded before the fit, sampled with
their defaults. Measured: the rows delivered (of ``N_ROWS``), the
seconds to draw them (wall), and the fidelity of the delivered rows: the
mean over the columns not given of SDMetrics' column-shape similarity
between them and the real rows that meet the condition (1 - the
Kolmogorov-Smirnov statistic for a numeric column, 1 - the total
variation distance of the level frequencies for a categorical one;
missing cells left out; 1 = the same marginal distributions). Two
references bound it: ``unconditional`` = every real row, ignoring the
condition (what a sampler that does not condition scores), computed from
the data.

Usage::

    python -m benchmarks conditional --quick          # smoke test, < 60 s
    python -m benchmarks conditional                  # 3 seeds
    python -m benchmarks conditional --contenders CTGAN
    python -m benchmarks conditional --report-only

SDV is in the ``benchmarks`` extra.
"""

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from benchmarks.configs.synthesis import detect_metadata, uncategorize
from benchmarks.harness import data
from benchmarks.harness.contenders import make
from benchmarks.harness.report import (
    grid,
    markdown_table,
    mean_std,
    protocol,
    runs_section,
    write_markdown,
)
from benchmarks.harness.runner import read_results
from benchmarks.harness.timing import load_line, timed

TITLE = "Conditional generation: skvae against SDV's sample_remaining_columns"
FIELDS = (
    "dataset seed contender condition delivered requested fidelity "
    "fit_time sample_time real_rows info seconds command"
).split()
KEY = ["dataset", "seed", "contender", "condition"]
CONTENDERS = ["skvae", "GaussianCopula", "TVAE", "unconditional"]
ON_REQUEST = ["CTGAN"]
SEEDS = (1, 2, 3)
N_ROWS = 500
CONDITIONS = {
    "common: Job=fixed": {"Job": "fixed"},
    "rare: Job=others, Records=yes": {"Job": "others", "Records": "yes"},
}
QUICK = {"seeds": [1], "contenders": ["skvae", "GaussianCopula", "unconditional"]}


def datasets(args):
    return ["credit_data"]


def prepare(case, args):
    table = data.load_table(case["dataset"])
    return table, uncategorize(table), detect_metadata(uncategorize(table), "t")


def matching(table, condition):
    mask = np.ones(len(table), dtype=bool)
    for column, value in condition.items():
        mask &= (table[column].astype(object) == value).to_numpy()
    return table[mask]


def similarity(real, synthetic):
    """Mean over columns of 1 - KS statistic (numbers) or 1 - total
    variation distance (levels), missing cells left out."""
    scores = []
    for column in real.columns:
        r, s = real[column].dropna(), synthetic[column].dropna()
        if len(r) == 0 or len(s) == 0:
            continue
        if pd.api.types.is_numeric_dtype(r) and not pd.api.types.is_bool_dtype(r):
            scores.append(1.0 - ks_2samp(r.astype(float), s.astype(float)).statistic)
        else:
            p = r.astype(str).value_counts(normalize=True)
            q = s.astype(str).value_counts(normalize=True)
            p, q = p.align(q, fill_value=0.0)
            scores.append(1.0 - 0.5 * np.abs(p - q).sum())
    return float(np.mean(scores))


def sampler(contender, table, plain, metadata, seed, quick):
    """A fitted model and its conditional sampler ``draw(known) -> rows``."""
    if contender == "skvae":
        synth = make("synthesizer", "skvae", seed, quick, metadata=None)
        _, fit_time = timed(synth.fit, table)
        vae = synth.estimator
        return fit_time, lambda known: vae.sample_remaining_columns(
            known, random_state=seed
        )
    synth = make("synthesizer", contender, seed, quick, metadata=metadata)
    _, fit_time = timed(synth.fit, plain)

    def draw(known):
        out = synth.estimator.sample_remaining_columns(known)
        # SDV 2 may answer with {table name: DataFrame}.
        return next(iter(out.values())) if isinstance(out, dict) else out

    return fit_time, draw


def evaluate(contender, case_data, case, args):
    table, plain, metadata = case_data
    n_rows = 50 if args.quick else N_ROWS
    rows = []
    if contender == "unconditional":
        fit_time, draw = 0.0, None
    else:
        fit_time, draw = sampler(
            contender, table, plain, metadata, case["seed"], args.quick
        )
    for name, condition in CONDITIONS.items():
        real = matching(table, condition)
        others = [c for c in table.columns if c not in condition]
        row = {"condition": name, "requested": n_rows, "real_rows": len(real)}
        row["fit_time"] = fit_time
        if draw is None:
            row |= {"delivered": len(table), "sample_time": 0.0}
            row["fidelity"] = similarity(real[others], table[others])
            rows.append(row)
            continue
        known = pd.DataFrame({c: [v] * n_rows for c, v in condition.items()})
        info = ""
        try:
            synthetic, row["sample_time"] = timed(draw, known)
        except Exception as exc:  # SDV's rejection sampling may give up
            synthetic, row["sample_time"] = known.iloc[:0], np.nan
            info = f"{type(exc).__name__}: {exc}"[:150]
        row["delivered"] = len(synthetic)
        kept = matching(synthetic, condition) if len(synthetic) else synthetic
        if len(kept) != len(synthetic):
            info += f" {len(synthetic) - len(kept)} rows break the condition"
        fidelity = similarity(real[others], kept[others]) if len(kept) else np.nan
        row["fidelity"] = fidelity
        rows.append(row | {"info": info.strip()})
    return rows


def report(path, args):
    results = read_results(path.with_suffix(".csv"))
    if results.empty:
        return
    order = [c for c in [*CONTENDERS, *ON_REQUEST] if c != "unconditional"]
    models = results[results["contender"] != "unconditional"]
    reference = results[results["contender"] == "unconditional"]
    conditions = list(CONDITIONS)
    tables = []
    for metric, label, digits in (
        ("fidelity", "Fidelity (mean column-shape similarity, 1 = the real rows')", 3),
        ("delivered", f"Rows delivered (of {N_ROWS} requested)", 0),
        ("sample_time", "Seconds to draw them", 2),
    ):

        def cell(values, digits=digits):
            return mean_std(values, digits) or "failed"

        table = grid(
            models,
            "condition",
            "contender",
            metric,
            cell=cell,
            rows=conditions,
            cols=order,
            best="max" if metric != "sample_time" else "min",
        ).reset_index()
        if metric == "fidelity" and not reference.empty:
            ref = reference.groupby("condition")["fidelity"].mean()
            table["unconditional (reference)"] = (
                table["condition"].map(ref).map("{:.3f}".format).to_numpy()
            )
        tables += [f"\n## {label}\n", "Mean ± std over seeds.\n", markdown_table(table)]
    fits = results.groupby("contender")["fit_time"].mean().reindex(order).dropna()
    noted = results["info"].fillna("") != ""
    notes = results.loc[noted, ["contender", "condition", "info"]]
    body = [protocol(__doc__), f"At the end: {load_line()}\n", *tables]
    body.append(
        "\nMean fit seconds: " + ", ".join(f"{c} {t:.1f}" for c, t in fits.items())
    )
    if not notes.empty:
        body += ["\nFailures and notes:\n", markdown_table(notes.drop_duplicates())]
    body += runs_section(results, path.with_suffix(".csv"))
    write_markdown(path.with_suffix(".md"), TITLE, "\n".join(body), note=args.note)
