"""
=========================================================
Few labels, many rows: semi-supervised penguins with M2
=========================================================

:class:`~skvae.VAEClassifier` is Kingma et al.'s M2: a VAE whose class is
a second latent variable. It learns from labelled rows and from rows whose
label is ``-1`` (scikit-learn's semi-supervised convention), takes the raw
table with its categories and missing cells, and generates rows of a
chosen class.

Here only 10 % of the Palmer penguins keep their species. The example
shows the latent space with the labelled and the unlabelled rows, compares
the held-out accuracy with a logistic regression of the labelled rows, draws
new penguins of each species, and completes rows of which only some
columns are given (``sample_remaining_columns``).
"""

# %%
# A table with few labels
# -----------------------
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skvae import VAEClassifier
from skvae.datasets import load_penguins

QUICK = os.environ.get("SKVAE_DOCS_QUICK") == "1"
EPOCHS = 10 if QUICK else 150

penguins = load_penguins()
X = penguins.drop(columns="species")
y = penguins["species"].astype(str).to_numpy()
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
rng = np.random.RandomState(0)
labelled = np.zeros(len(y_train), dtype=bool)
for species in np.unique(y_train):  # 10 % of each species keeps its label
    rows = np.flatnonzero(y_train == species)
    labelled[rng.choice(rows, max(2, len(rows) // 10), replace=False)] = True
y_partial = np.where(labelled, y_train, -1).astype(object)
print(f"{labelled.sum()} labelled rows of {len(y_train)}")

# %%
# Fit on every row, the unlabelled ones included
# ----------------------------------------------
clf = VAEClassifier(n_components=2, max_iter=EPOCHS, random_state=0)
clf.fit(X_train, y_partial)
print("classes:", clf.classes_)
print("held-out accuracy, VAEClassifier:", round(clf.score(X_test, y_test), 3))

# The supervised baseline sees the labelled rows only (and needs an imputer
# and an encoder in front).
categorical = list(X.columns[X.dtypes == "category"])
numeric = [c for c in X.columns if c not in categorical]
baseline = make_pipeline(
    make_column_transformer(
        (
            make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder()),
            categorical,
        ),
        (SimpleImputer(), numeric),
    ),
    StandardScaler(),
    LogisticRegression(max_iter=1000),
).fit(X_train[labelled], y_train[labelled])
print(
    "held-out accuracy, logistic regression:", round(baseline.score(X_test, y_test), 3)
)

# %%
# The latent space: labelled rows coloured, unlabelled ones grey
# --------------------------------------------------------------
# ``transform`` is the posterior mean of the code z, averaged over the
# classes under q(y | x). z holds what is not the species (size, sex, the
# year), so the species need not separate in it: the classifier q(y | x)
# holds that.
Z = clf.transform(X_train)
fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
ax = axes[0]
ax.scatter(*Z[~labelled].T, s=10, c="lightgrey", label="unlabelled")
for species, marker in zip(clf.classes_, "o^s", strict=True):
    rows = labelled & (y_train == species)
    ax.scatter(*Z[rows].T, s=40, marker=marker, edgecolor="k", label=species)
ax.set(xlabel="latent z 1", ylabel="latent z 2", title="training rows")
ax.legend()
ax = axes[1]
predicted = clf.transduction_
for species, marker in zip(clf.classes_, "o^s", strict=True):
    rows = predicted == species
    ax.scatter(*Z[rows].T, s=12, marker=marker, label=species)
ax.set(xlabel="latent z 1", title="transduction_: labels given to every row")
ax.legend()
plt.show()

# %%
# New penguins of a chosen species
# --------------------------------
# ``sample(n, y=c)`` draws z from N(0, I) and a row from p(x | y=c, z), in
# the table's own column types.
samples = pd.concat(
    [
        clf.sample(150, y=s, random_state=i).assign(species=s)
        for i, s in enumerate(clf.classes_)
    ],
    ignore_index=True,
)
print(samples.head())
fig, axes = plt.subplots(
    1, 2, figsize=(10, 4), sharex=True, sharey=True, layout="constrained"
)
for ax, (title, frame) in zip(
    axes, [("real penguins", penguins), ("sample(y=species)", samples)], strict=True
):
    for species, marker in zip(clf.classes_, "o^s", strict=True):
        rows = frame["species"].astype(str) == species
        ax.scatter(
            frame.loc[rows, "bill_length_mm"],
            frame.loc[rows, "flipper_length_mm"],
            s=10,
            marker=marker,
            label=species,
        )
    ax.set(xlabel="bill length (mm)", title=title)
axes[0].set_ylabel("flipper length (mm)")
axes[0].legend()
plt.show()

# %%
# Does the classifier agree with the class it generated?
# ------------------------------------------------------
agreement = (clf.predict(samples.drop(columns="species")) == samples["species"]).mean()
print(f"sampled rows that the classifier assigns to their class: {agreement:.0%}")

# %%
# Completing rows from some of their columns
# ------------------------------------------
# ``sample_remaining_columns`` draws the other columns given the known ones
# (here a rare combination: heavy penguins on Torgersen island), through
# the masked encoder rather than by rejection sampling.
known = pd.DataFrame({"island": ["Torgersen"] * 5, "body_mass_g": [4700] * 5})
print(clf.sample_remaining_columns(known, random_state=0))
