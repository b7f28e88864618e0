"""
=====================================================
A synthetic copy of a table: marginals and pair plots
=====================================================

A synthetic table is a new table drawn from a model of a real one: the same
columns and types, the same distributions and relationships between
columns, none of the real rows. :meth:`~skvae.VAETransformer.sample` makes
one from a model fitted to the raw DataFrame, in the table's own types.

This example fits :class:`~skvae.VAETransformer` at its defaults on the
Palmer penguins (shipped with skvae), compares the real and synthetic
marginals column by column and the pairs of numeric columns, puts back
missing cells as the real table has them, and measures how realistic the
synthetic rows are on held-out real rows with
:func:`~skvae.metrics.realism_score`.
"""

# %%
# Fit on the raw table, sample a copy
# -----------------------------------
# A quarter of the rows is held out to judge the copy on rows the model has
# not seen. The synthetic table has as many rows as the training part.
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from skvae import VAETransformer
from skvae.datasets import load_penguins
from skvae.metrics import realism_score

QUICK = os.environ.get("SKVAE_DOCS_QUICK") == "1"
EPOCHS = {"max_iter": 20} if QUICK else {}

penguins = load_penguins()
train, holdout = train_test_split(penguins, test_size=0.25, random_state=0)
vae = VAETransformer(random_state=0, **EPOCHS).fit(train)
synthetic = vae.sample(len(train), random_state=0)
print(synthetic.head())

# %%
# Same columns, same types, valid values: levels from the training data,
# integers in the nullable integer columns, numbers within the range seen
# in fit. The same ``random_state`` gives the same table.
print("same dtypes:", synthetic.dtypes.equals(train.dtypes))
print("reproducible:", synthetic.equals(vae.sample(len(train), random_state=0)))

# %%
# Marginals, column by column
# ---------------------------
# Histograms for the numeric columns, level frequencies for the
# categorical ones.
numeric = [c for c in train.columns if train[c].dtype.kind in "fiu"]
categorical = [c for c in train.columns if c not in numeric]

fig, axes = plt.subplots(2, 4, figsize=(11, 5), layout="constrained")
for ax, column in zip(axes.flat, numeric + categorical, strict=False):
    if column in numeric:
        real = train[column].dropna().to_numpy(float)
        bins = np.histogram_bin_edges(real, bins=20)
        ax.hist(real, bins=bins, density=True, alpha=0.5, label="real")
        ax.hist(
            synthetic[column].to_numpy(float),
            bins=bins,
            density=True,
            histtype="step",
            linewidth=2,
            label="synthetic",
        )
    else:
        levels = train[column].cat.categories
        share = {
            name: table[column].value_counts(normalize=True).reindex(levels)
            for name, table in {"real": train, "synthetic": synthetic}.items()
        }
        where = np.arange(len(levels))
        ax.bar(where - 0.2, share["real"], width=0.4, alpha=0.5, label="real")
        ax.bar(where + 0.2, share["synthetic"], width=0.4, label="synthetic")
        ax.set_xticks(where, levels.astype(str), rotation=30, ha="right")
    ax.set_title(column, fontsize=9)
for ax in axes.flat[len(train.columns) :]:
    ax.remove()
axes.flat[0].legend()
plt.show()

# %%
# Pairs of numeric columns
# ------------------------
# What one-column-at-a-time generators (sampling each column from its own
# histogram) get wrong: the relationships between columns. Real rows below
# the diagonal, synthetic rows above it, coloured by species in both.
measurements = [c for c in numeric if c.endswith(("_mm", "_g"))]
species = train["species"].cat.categories
n = len(measurements)
fig, axes = plt.subplots(n, n, figsize=(9, 9), layout="constrained")
for i, row in enumerate(measurements):
    for j, column in enumerate(measurements):
        ax = axes[i, j]
        if i == j:
            ax.hist(train[row].dropna().to_numpy(float), bins=20, alpha=0.5)
            ax.hist(
                synthetic[row].to_numpy(float), bins=20, histtype="step", linewidth=2
            )
        else:
            table = train if i > j else synthetic
            for level, marker in zip(species, "o^s", strict=True):
                rows = table["species"] == level
                ax.scatter(
                    table.loc[rows, column].to_numpy(float),
                    table.loc[rows, row].to_numpy(float),
                    s=4,
                    marker=marker,
                    label=level,
                )
        if i == n - 1:
            ax.set_xlabel(column, fontsize=8)
        if j == 0:
            ax.set_ylabel(row, fontsize=8)
        ax.tick_params(labelsize=6)
axes[1, 0].set_title("real (below)", fontsize=8, loc="left")
axes[0, 1].set_title("synthetic (above)", fontsize=8, loc="left")
axes[0, n - 1].legend(fontsize=7, markerscale=2)
plt.show()

# %%
# Missing cells as the real table has them
# ----------------------------------------
# By default the synthetic rows are complete. With ``include_missing=True``
# each synthetic row takes the pattern of missing cells of a training row
# drawn at random, so the rate of missing cells per column, and which
# columns go missing together, are the training table's.
with_gaps = vae.sample(len(train), random_state=0, include_missing=True)
print(
    np.c_[train.isna().mean().round(3), with_gaps.isna().mean().round(3)][
        train.isna().any().to_numpy()
    ],
    "<- share missing per column: real, synthetic",
)

# %%
# How realistic, on rows the model has not seen
# ---------------------------------------------
# :func:`~skvae.metrics.realism_score` trains a classifier to tell synthetic
# rows from real held-out rows: 1 means it cannot tell them apart, 0 that it
# always can. It is a scorer, so ``GridSearchCV(..., scoring=realism_score)``
# tunes ``adversarial_weight`` or ``beta`` for realistic samples, which the
# held-out likelihood (``score``) cannot do.
print(f"realism_score on the holdout: {realism_score(vae, holdout):.3f}")
