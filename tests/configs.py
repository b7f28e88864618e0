"""Fast estimator configurations and small helpers shared by the test files.

A plain module, imported as ``from configs import FAST`` (the ``tests``
directory is on ``pythonpath``, see ``pyproject.toml``): pytest advises
against importing ``conftest``, which holds the fixtures only. A test that
needs a better-trained model asks for more epochs explicitly, e.g.
``{**FAST, "max_iter": 30}``.
"""

import torch

from skvae import VAEAnomalyDetector, VAEImputer, VAETransformer

# A tiny network trained for a handful of epochs: fast, deterministic, and
# enough for every claim that does not depend on a well-trained model.
FAST = dict(n_components=2, hidden_layer_sizes=(16,), max_iter=5, random_state=0)

# The estimators without labels, which every behaviour test of the shared
# base runs over.
ESTIMATORS = [VAETransformer, VAEAnomalyDetector, VAEImputer]

# For claims about what the objective's terms and the regularizers do to a
# trained model: enough epochs to tell, and four latent dimensions so that
# the KL terms have room to differ.
TRAINED = {**FAST, "n_components": 4, "max_iter": 40}

# For claims about what a model learnt of the mixed ``table`` fixture (its
# levels, their relations to the numbers, the cells it fills or draws).
LEARNT = {**FAST, "n_components": 3, "hidden_layer_sizes": (32,), "max_iter": 80}

# The hyperparameter mixes that scikit-learn's estimator checks run over
# (test_common.py): every objective term and regularizer is switched on in
# at least one of them.
CONFIGS = {
    "defaults": {},
    "adversarial": dict(adversarial_weight=0.5),
    "corruption_dropout_trim": dict(corruption=0.2, dropout=0.1, trim_fraction=0.2),
    "warmup_free_bits": dict(kl_warmup=2, free_bits=0.1),
    "l1_weight_decay": dict(l1_penalty=1e-3, weight_decay=1e-2),
    # free_bits=0: VAEImputer's default floor applies to the ELBO only.
    "iwae_early_stopping": dict(
        n_importance_samples=3, early_stopping=True, free_bits=0.0
    ),
    # The checks' first column becomes categorical: its distinct values are
    # the levels, and new values at inference are unseen levels.
    "categorical": dict(categorical_features=[0]),
    # Spectrally normalized discriminators, in data space here and on the
    # codes in the posterior regularizers' configuration.
    "categorical_adversarial_corruption_spectral": dict(
        categorical_features=[0],
        adversarial_weight=0.5,
        corruption=0.2,
        spectral_norm=True,
    ),
    # The first column's rarest levels share one output (all but two of
    # the checks' levels, which are often distinct values).
    "categorical_infrequent": dict(categorical_features=[0], max_categories=3),
    # Column likelihoods: the checks' first column over quantile
    # intervals, the second over the values it takes (new values at
    # inference are unseen values), the rest as "auto" chooses.
    "histogram_discrete": dict(likelihood={0: "histogram", 1: "discrete"}),
    "auto": dict(likelihood="auto"),
    # The richer latent models (VAEClassifier has none: test_common.py),
    # each with an objective term whose KL is now a Monte Carlo one.
    "vamp": dict(prior="vamp"),
    "flow_free_bits_warmup": dict(n_flows=2, free_bits=0.1, kl_warmup=2),
    "hierarchy_iwae": dict(n_top_components=2, n_importance_samples=3, free_bits=0.0),
    "vamp_flow_hierarchy_categorical": dict(
        prior="vamp",
        n_pseudo_inputs=3,
        n_flows=1,
        n_top_components=1,
        categorical_features=[0],
        trim_fraction=0.1,
    ),
    # The regularizers of the posterior (not VAEClassifier's), masking a
    # categorical column and drawing from a VampPrior.
    "posterior_regularizers_categorical_vamp": dict(
        mmd_weight=10.0,
        tc_weight=1.0,
        consistency_weight=1.0,
        latent_adversarial_weight=0.5,
        spectral_norm=True,
        categorical_features=[0],
        prior="vamp",
    ),
}

# What VAEClassifier (M2) does not have: a latent model beyond the textbook,
# and the regularizers of q(z | x).
LATENT_MODEL_PARAMS = ("prior", "n_flows", "n_top_components")
POSTERIOR_REGULARIZER_PARAMS = (
    "mmd_weight",
    "tc_weight",
    "consistency_weight",
    "latent_adversarial_weight",
)


def seeded(seed=0):
    """A fresh ``torch.Generator`` seeded with ``seed``, for the torch-level
    tests that build modules and draw noise without the global generator."""
    return torch.Generator().manual_seed(seed)


def to_polars(frame):
    """The pandas ``frame`` as a polars DataFrame, built column by column
    (``pl.from_pandas`` needs pyarrow for category and text columns)."""
    import pandas as pd
    import polars as pl

    columns = []
    for name in frame.columns:
        column = frame[name]
        values = [None if pd.isna(v) else v for v in column.astype(object)]
        series = pl.Series(name, values)
        if isinstance(column.dtype, pd.CategoricalDtype):
            series = series.cast(pl.Categorical)
        columns.append(series)
    return pl.DataFrame(columns)
