"""
=============================================
Imputing a mixed table, once and many times
=============================================

:class:`~skvae.VAEImputer` fills the missing cells of a table with what a
VAE trained on its observed cells infers, behind scikit-learn's imputer API.
With ``sample_posterior=False`` (the default) a numeric cell gets its
conditional mean and a categorical cell its most probable level, given the
row's observed cells; with ``sample_posterior=True`` each fit draws from
p(missing | observed), and imputers fitted with different ``random_state``
values give multiple imputations whose spread shows how uncertain each
filled cell is.

Here 20 % of the measured cells of the Palmer penguins table (shipped with
skvae) are hidden, imputed, and compared with the truth, beside mean and
most-frequent imputation.
"""

# %%
# Hide a fifth of the cells
# -------------------------
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer

from skvae import VAEImputer
from skvae.datasets import load_penguins

QUICK = os.environ.get("SKVAE_DOCS_QUICK") == "1"
EPOCHS = 20 if QUICK else 300
N_IMPUTATIONS = 3 if QUICK else 10

penguins = load_penguins().dropna().reset_index(drop=True)
numeric = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
rng = np.random.RandomState(0)
hidden = rng.uniform(size=penguins.shape) < 0.2
hidden[:, penguins.columns.get_loc("year")] = False
gappy = penguins.mask(hidden)
print(f"{hidden.sum()} cells hidden")

# %%
# Impute
# ------
# The imputer takes the DataFrame as it is and, asked for pandas output (an
# array by default, as scikit-learn's imputers), returns one in the same
# column types: valid species, islands and sexes, integer masses.
imputer = VAEImputer(max_iter=EPOCHS, random_state=0).set_output(transform="pandas")
filled = imputer.fit_transform(gappy)
print(filled.dtypes.equals(penguins.dtypes))

baseline = make_column_transformer(
    (SimpleImputer(strategy="most_frequent"), ["species", "island", "sex"]),
    (SimpleImputer(), numeric),
    remainder="passthrough",
    verbose_feature_names_out=False,
).set_output(transform="pandas")
simple = baseline.fit_transform(gappy)[penguins.columns]

for name, table in {"VAEImputer": filled, "mean / most frequent": simple}.items():
    errors = []
    for column in numeric:
        rows = hidden[:, penguins.columns.get_loc(column)]
        true = penguins.loc[rows, column].astype(float)
        error = (table.loc[rows, column].astype(float) - true) / penguins[column].std()
        errors.append(np.mean(error**2))
    rows = hidden[:, penguins.columns.get_loc("species")]
    accuracy = (table.loc[rows, "species"] == penguins.loc[rows, "species"]).mean()
    print(
        f"{name:>22}: standardized MSE {np.mean(errors):.3f}, "
        f"species accuracy {accuracy:.2f}"
    )

# %%
# Multiple imputations
# --------------------
# Each imputer fitted with another ``random_state`` gives another draw of
# every missing cell; their spread is the imputation's uncertainty (what
# multiple imputation carries into a downstream analysis).
draws = np.stack(
    [
        VAEImputer(sample_posterior=True, max_iter=EPOCHS, random_state=seed)
        .set_output(transform="pandas")
        .fit_transform(gappy)["body_mass_g"]
        .astype(float)
        for seed in range(N_IMPUTATIONS)
    ]
)
rows = np.flatnonzero(hidden[:, penguins.columns.get_loc("body_mass_g")])[:25]
order = rows[np.argsort(penguins.loc[rows, "body_mass_g"].to_numpy())]

fig, ax = plt.subplots(figsize=(8, 3.8), layout="constrained")
positions = np.arange(len(order))
ax.scatter(
    np.repeat(positions, N_IMPUTATIONS),
    draws[:, order].T.ravel(),
    s=8,
    alpha=0.5,
    label=f"{N_IMPUTATIONS} posterior draws",
)
ax.scatter(positions, filled.loc[order, "body_mass_g"], marker="_", s=200, c="k")
ax.scatter(
    positions,
    penguins.loc[order, "body_mass_g"],
    marker="x",
    c="tab:red",
    label="hidden true value",
)
ax.set(
    xlabel="penguins whose body mass was hidden (sorted by true mass)",
    ylabel="body mass (g)",
    title="VAEImputer: conditional mean (black) and multiple imputations",
)
ax.set_xticks([])
ax.legend()
plt.show()
