"""
===================================================
A raw table in, tables out: the Palmer penguins
===================================================

Real tables mix numbers, integers, categories and gaps. The Palmer penguins
table (shipped with skvae, CC0) has all of them: three categorical columns,
two nullable integer columns and 19 missing cells. skvae takes it as it is,
with no one-hot encoder and no imputer in front: each categorical column
gets a categorical likelihood over its levels, each numeric column a
Gaussian, and the likelihood of a row covers its observed cells only.

This example fits a 2-D :class:`~skvae.VAETransformer` and a
:class:`~skvae.VAEAnomalyDetector` on the raw DataFrame, colours the
latent space by species, shows which cells make the most unusual penguins
unusual, and generates new penguins as a DataFrame in the table's own
types.
"""

# %%
# The table as it comes
# ---------------------
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from skvae import VAEAnomalyDetector, VAETransformer
from skvae.datasets import load_penguins

QUICK = os.environ.get("SKVAE_DOCS_QUICK") == "1"
EPOCHS = 20 if QUICK else 200

penguins = load_penguins()
print(penguins.dtypes)
print("missing cells per column:", penguins.isna().sum().to_dict())

# %%
# A latent space of the whole table
# ---------------------------------
# ``categorical_features="from_dtype"`` (the default) finds the three
# category columns. Two penguins have no measurement at all: their posterior
# is what the model makes of the island and year alone.
vae = VAETransformer(n_components=2, max_iter=EPOCHS, random_state=0)
Z = vae.fit_transform(penguins)
print("categorical columns:", list(penguins.columns[vae.is_categorical_]))

fig, ax = plt.subplots(figsize=(5.5, 4.2), layout="constrained")
for species, marker in zip(penguins["species"].cat.categories, "o^s", strict=True):
    rows = (penguins["species"] == species).to_numpy()
    ax.scatter(*Z[rows].T, s=12, marker=marker, label=species)
ax.set(xlabel="latent z 1", ylabel="latent z 2", title="posterior means")
ax.legend(title="species")
plt.show()

# %%
# Which cells make a penguin unusual
# ----------------------------------
# ``score_samples_per_feature`` has one column per input column (a
# categorical column is one score, not one per level), relative to what is
# usual for that column: 0 is typical, strongly negative is unusual. A
# missing cell counts as typical, in the per-feature scores and in the
# row's score alike.
detector = VAEAnomalyDetector(max_iter=EPOCHS, random_state=0).fit(penguins)
scores = detector.score_samples(penguins)
per_feature = pd.DataFrame(
    detector.score_samples_per_feature(penguins), columns=penguins.columns
)
unusual = np.argsort(scores)[:5]
print(penguins.iloc[unusual])

fig, ax = plt.subplots(figsize=(7, 3), layout="constrained")
image = ax.imshow(per_feature.iloc[unusual], cmap="RdBu", vmin=-5, vmax=5)
ax.set_xticks(range(penguins.shape[1]), penguins.columns, rotation=30, ha="right")
ax.set_yticks(range(len(unusual)), [f"row {i}" for i in unusual])
ax.set_title("score_samples_per_feature of the 5 most unusual penguins")
fig.colorbar(image, label="nats relative to the column's usual")
plt.show()

# %%
# New penguins, in the table's own types
# --------------------------------------
# ``sample`` decodes draws from the prior and draws each cell: a level for a
# categorical column, a number for a numeric one, rounded for the integer
# columns and clipped to the range seen in fit. The same ``random_state``
# gives the same table.
generated = vae.sample(344, random_state=0)
print(generated.head())
print(generated.dtypes.equals(penguins.dtypes))

fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), layout="constrained", sharey=True)
for ax, (name, table) in zip(
    axes, {"real": penguins, "generated": generated}.items(), strict=True
):
    for species, marker in zip(table["species"].cat.categories, "o^s", strict=True):
        rows = table["species"] == species
        ax.scatter(
            table.loc[rows, "bill_length_mm"],
            table.loc[rows, "flipper_length_mm"],
            s=10,
            marker=marker,
            label=species,
        )
    ax.set(title=name, xlabel="bill length (mm)")
axes[0].set_ylabel("flipper length (mm)")
axes[0].legend(title="species")
plt.show()
