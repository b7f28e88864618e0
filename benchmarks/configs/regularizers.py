"""What each regularizer of the posterior does: a dose-response study.

``VAETransformer`` at its defaults and with one of ``mmd_weight``,
``tc_weight`` or ``consistency_weight`` turned up, and with ``beta=0.1``
(a weak KL term, InfoVAE's setting) without and with ``mmd_weight`` or
``latent_adversarial_weight`` (``aae``), and at its defaults with
``n_sample_components=10`` (``ex-post``: ``sample``'s codes drawn from
a mixture over the training codes, the same trained model) (``CONFIGS``),
fitted on
70 % of the rows of each table (a random split drawn from the seed, no
resampling; the ADBench sets' labels are unused) and measured on the
other 30 %:

- the quantity each regularizer targets, on the held-out rows: ``mmd``,
  the unbiased MMD^2 (the penalty's own kernel) between 4 posterior draws
  per row and as many prior draws; ``tc``, the total correlation of the
  aggregate posterior of the held-out rows (the penalty's estimate with
  the held-out rows as the whole set); ``consistency``, the mean KL from
  the posterior of a row with a fifth of its cells masked to the row's
  own (the penalty's term);
- what users see: ``score``, the held-out mean log-likelihood bound
  (nats per row, the estimators' ``score``); ``gap``, the training rows'
  score minus the held-out one; ``active``, ``n_active_components_``;
  ``realism``, ``skvae.metrics.realism_score`` of ``sample`` against the
  held-out rows (1: indistinguishable).

Every draw of the targets comes from a generator seeded with 0, so that
the contenders of a case are measured with the same noise.

Usage::

    python -m benchmarks regularizers --quick
    python -m benchmarks regularizers --seeds 0
    python -m benchmarks regularizers --report-only
"""

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import train_test_split
from torch.distributions import kl_divergence

from benchmarks.harness import data
from benchmarks.harness.report import markdown_table, protocol, write_markdown
from benchmarks.harness.runner import read_results
from skvae import VAETransformer
from skvae._regularizers import (
    CONSISTENCY_MASKING,
    mask_cells,
    mmd,
    total_correlation,
)
from skvae.metrics import realism_score

TITLE = "Regularizers of the posterior: dose-response"
CONFIGS = {
    "defaults": {},
    "mmd=10": dict(mmd_weight=10.0),
    "mmd=100": dict(mmd_weight=100.0),
    "tc=2": dict(tc_weight=2.0),
    "tc=8": dict(tc_weight=8.0),
    "consistency=2": dict(consistency_weight=2.0),
    "consistency=8": dict(consistency_weight=8.0),
    # InfoVAE's setting: a weak KL term, which leaves the aggregate
    # posterior free to drift from the prior, and the MMD to pull it back.
    "beta=0.1": dict(beta=0.1),
    "beta=0.1,mmd=10": dict(beta=0.1, mmd_weight=10.0),
    "beta=0.1,mmd=100": dict(beta=0.1, mmd_weight=100.0),
    "beta=0.1,aae=1": dict(beta=0.1, latent_adversarial_weight=1.0),
    "beta=0.1,aae=3": dict(beta=0.1, latent_adversarial_weight=3.0),
    # Not a penalty: the defaults' model, sample's codes drawn from a
    # 10-component mixture over the training codes.
    "ex-post=10": dict(n_sample_components=10),
}
# The quantity each regularizer is for (its column in the CSV).
TARGETS = {
    "mmd": "mmd",
    "aae": "mmd",
    "tc": "tc",
    "consistency": "consistency",
    "ex-post": "realism",
}
# The targets meant to go up (the others are meant to go down).
RAISED = {"realism"}
# What a contender is compared with: the same settings without its penalty.
BASELINES = {c: "beta=0.1" for c in CONFIGS if c.startswith("beta=0.1,")}
CONTENDERS = list(CONFIGS)
FIELDS = (
    "dataset seed contender score gap mmd tc consistency active realism "
    "n_iter seconds info command"
).split()
KEY = ["dataset", "seed", "contender"]
SEEDS = (0,)
TABLES = ["penguins", "concrete", "cps1985", "credit_data"]
ADBENCH = ["cardio", "Pima"]
QUICK = {"datasets": ["penguins"], "contenders": ["defaults", "mmd=10"], "max_iter": 2}


def add_arguments(parser):
    parser.add_argument("--max-iter", type=int, help="override (smoke tests)")


def datasets(args):
    return [*TABLES, *ADBENCH]


def prepare(case, args):
    name = case["dataset"]
    X = data.load_table(name) if name in TABLES else data.load_adbench(name)[0]
    return train_test_split(X, test_size=0.3, random_state=case["seed"])


def evaluate(contender, case_data, case, args):
    X_train, X_test = case_data
    params = CONFIGS[contender] | ({"max_iter": args.max_iter} if args.max_iter else {})
    est = VAETransformer(random_state=case["seed"], **params).fit(X_train)
    score = est.score(X_test)
    return {
        "score": score,
        "gap": est.score(X_train) - score,
        **posterior_targets(est, X_test),
        "active": est.n_active_components_,
        "realism": realism_score(est, X_test),
        "n_iter": est.n_iter_,
    }


# ---------------------------------------------------------- skvae internals
# The only code of this study that uses skvae's private API: the fitted
# torch module (``est.net_.module_``, which maps standardized rows to
# q(z | x)) and the rows as it reads them. Adapt it when those change.


def posterior_targets(est, X):
    """``mmd``, ``tc`` and ``consistency`` of the rows ``X`` (see the
    module docstring)."""
    model = est._inference()
    rows = est._validate_for_inference(X, dtype=np.float64)
    x = model.standardized(rows, np.float32)
    vae = model.module
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        q = vae(x).q  # (n_rows,) x (n_components,)
        z = q.mean + q.stddev * torch.randn(q.mean.shape, generator=g)
        draws = q.mean + q.stddev * torch.randn((4, *q.mean.shape), generator=g)
        draws = draws.reshape(-1, q.mean.shape[1])  # (4 n_rows, n_components)
        to_prior = mmd(draws, vae.sample_codes(len(draws), g))
        tc = total_correlation(z, q, len(x))
        masked = vae(mask_cells(x, CONSISTENCY_MASKING, vae.expansion, g)).q
        consistency = kl_divergence(masked, q).mean()
    return {
        "mmd": float(to_prior),
        "tc": float(tc),
        "consistency": float(consistency),
    }


# ------------------------------------------------------------------ report

COLUMNS = ["score", "gap", "mmd", "tc", "consistency", "active", "realism"]
FORMATS = {
    "score": "{:.2f}",
    "gap": "{:.2f}",
    "mmd": "{:.4f}",
    "tc": "{:.3f}",
    "consistency": "{:.3f}",
    "active": "{:.0f}",
    "realism": "{:.3f}",
}


def direction_table(results):
    """Per contender: on how many tables its target quantity, and the
    held-out score and realism, are below / above the defaults'."""
    rows = []
    for contender in [c for c in CONFIGS if c not in ("defaults", "beta=0.1")]:
        baseline = BASELINES.get(contender, "defaults")
        base = results[results.contender == baseline].set_index(["dataset", "seed"])
        mine = results[results.contender == contender].set_index(["dataset", "seed"])
        common = mine.index.intersection(base.index)
        if common.empty:
            continue
        target = TARGETS[contender.split(",")[-1].split("=")[0]]
        diff = mine.loc[common, COLUMNS] - base.loc[common, COLUMNS]
        sign = -1 if target in RAISED else 1
        rows.append(
            {
                "contender": contender,
                "against": baseline,
                "tables": len(common),
                "target moved as meant": int((sign * diff[target] < 0).sum()),
                "target change (median)": f"{diff[target].median():+.4f}",
                "score higher": int((diff["score"] > 0).sum()),
                "score change (median)": f"{diff['score'].median():+.2f}",
                "realism higher": int((diff["realism"] > 0).sum()),
            }
        )
    return pd.DataFrame(rows)


def report(path, args):
    results = read_results(path.with_suffix(".csv"))
    if results.empty:
        return
    if "info" in results:
        results = results[results["info"].isna() | (results["info"] == "")]
    numeric = results[["dataset", "seed", "contender", *COLUMNS]].copy()
    sections = [
        "## Direction against the same settings without the penalty, per table\n\n"
        "The target is `mmd` for `mmd=` and `aae=`, `tc` for `tc=`, "
        "`consistency` for `consistency=` (each meant to go down) and "
        "`realism` for `ex-post=` (meant to go up); a count is of the tables "
        "where the contender's value moved as meant (target) or is above "
        "(score, realism) the value of the settings it is compared with "
        "(`against`) on the same split.\n\n" + markdown_table(direction_table(numeric))
    ]
    for dataset, rows in numeric.groupby("dataset", sort=False):
        table = rows.groupby("contender")[COLUMNS].mean()
        table = table.reindex([c for c in CONFIGS if c in table.index])
        for column, fmt in FORMATS.items():
            table[column] = table[column].map(fmt.format)
        sections.append(f"## {dataset}\n\n" + markdown_table(table.reset_index()))
    commands = sorted(set(results["command"].dropna()))
    body = (
        protocol(__doc__)
        + "\n\n"
        + "\n\n".join(sections)
        + "\n\n## Runs\n\n"
        + "\n".join(f"- `{c}`" for c in commands)
    )
    write_markdown(path.with_suffix(".md"), TITLE, body, note=args.note)
