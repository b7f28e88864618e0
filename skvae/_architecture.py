"""What the fitted network *is*: the architecture, resolved once at fit.

:class:`Architecture` is a frozen dataclass of the hyperparameters as
resolved against the data (widths, column families and levels, infrequent
levels and their counts, whether the encoder reads a missing-cell mask),
as nanoGPT's ``GPTConfig`` is for a GPT. It builds the module, is checked
against the parameters of a continuation (``warm_start``, ``partial_fit``)
and is persisted as plain data, so that loading rebuilds the fitted
network whatever the estimator's parameters say by then.
"""

import dataclasses
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

from skvae._families import LEVELED, numeric_likelihood
from skvae._torch.likelihoods import LIKELIHOODS

# The hyperparameters whose value is the fitted architecture's, and which a
# continuation therefore cannot change.
CONTINUATION_FIXED = (
    "n_components",
    "hidden_layer_sizes",
    "likelihood",
    "dropout",
    "prior",
    "n_pseudo_inputs",
    "n_flows",
    "n_top_components",
)

# Pseudo-inputs of n_pseudo_inputs="auto": one per this many training rows,
# at most AUTO_PSEUDO_INPUTS. Every training step encodes them all, so K
# pseudo-inputs cost what K more rows per batch would: 100 is less than one
# batch of 128 rows.
ROWS_PER_PSEUDO_INPUT = 10
AUTO_PSEUDO_INPUTS = 100


@dataclass(frozen=True)
class Architecture:
    """The resolved architecture of a VAE.

    Attributes
    ----------
    n_features : int
        Columns of the table (cells per row).
    n_components : int
        Latent dimension.
    hidden_layer_sizes : tuple of int
        Widths of the encoder's hidden layers; the decoder mirrors them.
    likelihood : str
        The numeric columns' likelihood (a key of ``LIKELIHOODS``).
    dropout : float
        Dropout rate of the hidden layers in training.
    n_levels : tuple of int or None
        Levels of each column, 0 for a numeric one; None when every column
        is numeric.
    infrequent : tuple of tuple of (int, int), or None
        Per column, the levels that share the column's infrequent slot, as
        (code, count in the training rows) pairs (see :func:`infrequent_levels`);
        None when no level does. Plain data, so that loading rebuilds the
        grouping that the weights were trained with.
    missing : bool
        Whether the encoder reads a missing-cell mask (the training rows had
        missing cells).
    adversarial : bool
        Whether the model has a discriminator.
    spectral_norm : bool
        Whether its discriminators (of ``adversarial`` and of the latent
        adversary) are spectrally normalized; False without either.
    n_classes : int
        Classes of a semi-supervised model (M2, see
        ``skvae.semi_supervised._network``); 0 for a plain VAE.
    prior : str
        The prior of the top-most latent layer: "normal" or "vamp".
    n_pseudo_inputs : int or None
        Pseudo-inputs of the VampPrior ("auto" resolved); None without one.
    families : tuple of str or None
        The likelihood family of each column (see
        ``skvae._families.column_families``); None for a model saved before
        families existed (every column categorical or ``likelihood``).
    numeric_levels : tuple or None
        Per column, the ``(points, edges, scale, center, counts)`` of a
        numeric column
        modelled over levels (see ``skvae._families.level_spec``), None for
        other columns; None when no column is.
    unobserved : tuple of tuple of int, or None
        Per column, the codes of the levels that a categorical dtype
        declares but no training row of the first fit holds (never drawn by
        ``sample``); None when there are none.
    n_flows : int
        Inverse autoregressive flow steps of the posterior.
    n_top_components : int or None
        Dimension of the top latent layer of a two-level model; None for
        one level.
    """

    n_features: int
    n_components: int
    hidden_layer_sizes: tuple[int, ...]
    likelihood: str
    dropout: float
    n_levels: tuple[int, ...] | None = None
    infrequent: tuple[tuple[tuple[int, int], ...], ...] | None = None
    missing: bool = False
    adversarial: bool = False
    spectral_norm: bool = False
    n_classes: int = 0
    prior: str = "normal"
    n_pseudo_inputs: int | None = None
    n_flows: int = 0
    n_top_components: int | None = None
    families: tuple[str, ...] | None = None
    numeric_levels: tuple | None = None
    unobserved: tuple[tuple[int, ...], ...] | None = None

    @classmethod
    def resolve(
        cls,
        params,
        *,
        n_features,
        n_levels,
        missing,
        families=None,
        numeric_levels=None,
        level_counts=None,
        n_rows=None,
        n_classes=0,
        n_train=None,
    ):
        """The architecture that the estimator's ``params`` (its
        ``get_params()``) ask for on data of ``n_features`` columns, after
        the checks that ``_parameter_constraints`` cannot express.
        ``level_counts`` (training rows per level, per column, of ``n_rows``
        rows) decide which levels ``min_frequency`` and ``max_categories``
        group; ``n_train`` training rows resolve ``n_pseudo_inputs="auto"``."""
        likelihood = numeric_likelihood(params["likelihood"])
        topic_model = LIKELIHOODS[likelihood].topic_model
        sizes = params["hidden_layer_sizes"]
        if isinstance(sizes, str):  # "auto", the only string allowed
            sizes = TOPIC_HIDDEN if topic_model else auto_hidden_layer_sizes(n_features)
        sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
        if not sizes or not all(
            isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in sizes
        ):
            raise ValueError(
                "hidden_layer_sizes must be a non-empty sequence of positive "
                f"integers, got {params['hidden_layer_sizes']!r}."
            )
        if numeric_levels is not None:
            # A numeric column over levels is categorical to the network.
            n_levels = list(n_levels or (0,) * n_features)
            for j, spec in enumerate(numeric_levels):
                if spec is not None:
                    n_levels[j] = len(spec[0]) + max(len(spec[1]) - 1, 0)
            n_levels = tuple(n_levels)
        return cls(
            n_features=n_features,
            n_components=params["n_components"],
            hidden_layer_sizes=tuple(int(s) for s in sizes),
            likelihood=likelihood,
            dropout=auto_dropout(params["dropout"], topic_model),
            n_levels=n_levels,
            families=families,
            numeric_levels=numeric_levels,
            infrequent=_grouping(params, level_counts, n_rows),
            unobserved=_unobserved(level_counts),
            missing=missing,
            adversarial=params["adversarial_weight"] > 0,
            spectral_norm=bool(params.get("spectral_norm", False))
            and (
                params["adversarial_weight"] > 0
                or params.get("latent_adversarial_weight", 0) > 0
            ),
            n_classes=n_classes,
            **_latent_model(params, n_train),
        )

    def check_continuation(self, requested, device, fitted_device):
        """Refuse to continue this (fitted) architecture as ``requested``,
        the architecture resolved from the current hyperparameters and
        data, where the two differ in what a trained network cannot
        change: widths, likelihood, device, missing-cell inputs or a
        discriminator."""
        changes = [
            (name, getattr(requested, name), getattr(self, name))
            for name in CONTINUATION_FIXED
        ]
        if self.families is not None and requested.families != self.families:
            changes.append(("likelihood", requested.families, self.families))
        for name, value, fitted in [*changes, ("device", device, fitted_device)]:
            if value != fitted:
                raise ValueError(
                    f"{name}={value!r} differs from the fitted model's "
                    f"{name}_={fitted!r}: warm_start and partial_fit continue the "
                    "fitted network and cannot change its architecture or "
                    f"device. Set {name} back, or refit with warm_start=False."
                )
        if requested.infrequent != self.infrequent:
            raise ValueError(
                "min_frequency and max_categories group the levels of the "
                "categorical columns differently from the fitted model, whose "
                "decoder has one output per frequent level and one for the "
                "infrequent ones: warm_start and partial_fit cannot change "
                "that grouping. Set them back, or refit with warm_start=False."
            )
        if requested.missing and not self.missing:
            raise ValueError(
                "X has missing values (NaN), but the fitted model was trained "
                "on complete rows and its encoder has no inputs for missing "
                "cells: warm_start and partial_fit cannot add them. Refit "
                "with warm_start=False on data with missing values."
            )
        if requested.adversarial and not self.adversarial:
            raise ValueError(
                "adversarial_weight > 0 needs a discriminator, which the "
                "model fitted with adversarial_weight=0 does not have: refit "
                "with warm_start=False."
            )
        if requested.spectral_norm and not self.spectral_norm:
            raise ValueError(
                "spectral_norm=True needs spectrally normalized discriminators, "
                "which the model fitted with spectral_norm=False does not "
                "have: refit with warm_start=False."
            )

    @property
    def over_levels(self):
        """ndarray of bool of shape (n_features,): the columns the network
        models over levels (categorical ones, and numeric ones of a family
        over levels), which are not standardized."""
        if self.families is None:  # saved before families existed
            return np.array([k > 0 for k in self.n_levels or (0,) * self.n_features])
        return np.array([f == "categorical" or f in LEVELED for f in self.families])

    def to_state(self):
        """Plain data (what the persisted estimator stores)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_state(cls, state):
        state = dict(state)
        state["hidden_layer_sizes"] = tuple(state["hidden_layer_sizes"])
        if state["n_levels"] is not None:
            state["n_levels"] = tuple(state["n_levels"])
        if state.get("unobserved") is not None:
            state["unobserved"] = tuple(
                tuple(int(c) for c in codes) for codes in state["unobserved"]
            )
        if state.get("families") is not None:
            state["families"] = tuple(state["families"])
        if state.get("numeric_levels") is not None:
            state["numeric_levels"] = tuple(
                None
                if spec is None
                else (
                    tuple(spec[0]),
                    tuple(spec[1]),
                    float(spec[2]),
                    float(spec[3]),
                    tuple(int(c) for c in spec[4]),
                )
                for spec in state["numeric_levels"]
            )
        if state.get("infrequent") is not None:
            state["infrequent"] = tuple(
                tuple((int(code), int(count)) for code, count in column)
                for column in state["infrequent"]
            )
        return cls(**state)


class FittedArchitectureMixin:
    """The fitted attributes that the estimator's ``architecture_`` holds."""

    @property
    def n_components_(self):
        """Latent dimension of the fitted model."""
        return self.architecture_.n_components

    @property
    def hidden_layer_sizes_(self):
        """Widths of the fitted encoder's hidden layers ("auto" resolved)."""
        return self.architecture_.hidden_layer_sizes

    @property
    def likelihood_(self):
        """Likelihood of the fitted network's numeric columns.

        Those of the numeric columns that are not modelled over levels: see
        `column_likelihoods_`.
        """
        return self.architecture_.likelihood

    @property
    def column_likelihoods_(self):
        """The likelihood family of each column, ndarray of str.

        Of shape (n_features_in_,): "categorical", "gaussian", "bernoulli",
        "discrete" (a probability per value seen in fit) or "histogram"
        (point masses at frequent values, a piecewise-uniform density
        elsewhere). See the user guide, "Column likelihoods".
        """
        families = self.architecture_.families or [
            "categorical" if categorical else self.likelihood_
            for categorical in self.is_categorical_
        ]
        return np.array(families, dtype=object)

    @property
    def dropout_(self):
        """Dropout rate the fitted model was trained with."""
        return self.architecture_.dropout

    @property
    def prior_(self):
        """Prior of the fitted model's top latent layer."""
        return self.architecture_.prior

    @property
    def n_pseudo_inputs_(self):
        """Pseudo-inputs of the fitted VampPrior ("auto" resolved), or None."""
        return self.architecture_.n_pseudo_inputs

    @property
    def n_flows_(self):
        """Flow steps of the fitted model's posterior."""
        return self.architecture_.n_flows

    @property
    def n_top_components_(self):
        """Dimension of the fitted model's top latent layer, or None."""
        return self.architecture_.n_top_components


def _latent_model(params, n_train):
    """The latent model's fields of the architecture for ``params`` (the
    textbook VAE's for an estimator without the latent-model
    hyperparameters)."""
    prior = params.get("prior", "normal")
    n_flows = params.get("n_flows", 0)
    n_top_components = params.get("n_top_components")
    n_pseudo_inputs = None
    if prior == "vamp":
        n_pseudo_inputs = params["n_pseudo_inputs"]
        if n_pseudo_inputs == "auto":
            n_pseudo_inputs = min(
                AUTO_PSEUDO_INPUTS, max(1, n_train // ROWS_PER_PSEUDO_INPUT)
            )
    return dict(
        prior=prior,
        n_pseudo_inputs=n_pseudo_inputs,
        n_flows=n_flows,
        n_top_components=n_top_components,
    )


# The topic model's "auto" widths and dropout, ProdLDA's (Srivastava &
# Sutton, 2017): two hidden layers of 100 units, dropout 0.2 (in the
# encoder's hidden layers and on the topic proportions the decoder reads).
TOPIC_HIDDEN = (100, 100)
TOPIC_DROPOUT = 0.2


def auto_dropout(dropout, topic_model):
    """The dropout rate of ``dropout="auto"``: ``TOPIC_DROPOUT`` for a
    topic model (``likelihood="multinomial"``), none otherwise."""
    if dropout != "auto":
        return dropout
    return TOPIC_DROPOUT if topic_model else 0.0


def auto_hidden_layer_sizes(n_features):
    """The widths of ``hidden_layer_sizes="auto"``: (64, 32) for fewer than
    30 features, (256, 128) from 30 on (user guide, "How the defaults were
    chosen")."""
    return (256, 128) if n_features >= 30 else (64, 32)


def infrequent_levels(counts, n_rows, min_frequency=None, max_categories=None):
    """The codes of the infrequent levels of a column whose levels have
    ``counts`` training rows each (of ``n_rows`` rows), by
    ``OneHotEncoder``'s rule: a level held by fewer than ``min_frequency``
    rows (an int) or than ``min_frequency * n_rows`` rows (a float) is
    infrequent, and if more than ``max_categories`` outputs remain
    (counting one for the infrequent group), the least frequent levels join
    the group until ``max_categories`` do (ties broken by code, as the
    stable sort of ``OneHotEncoder``).

    A level of count 0 (declared by a categorical dtype, but not in the
    training rows) is infrequent whenever a group is made; the placeholder
    level of a column with no observed cell never is.
    """
    counts = np.asarray(counts)
    if isinstance(min_frequency, Integral):
        infrequent = counts < min_frequency
    elif isinstance(min_frequency, Real):
        infrequent = counts < min_frequency * n_rows
    else:
        infrequent = np.zeros(counts.shape, dtype=bool)
    n_outputs = counts.size - infrequent.sum() + 1
    if max_categories is not None and max_categories < n_outputs:
        n_frequent = max_categories - 1
        if n_frequent == 0:
            infrequent[:] = True
        else:
            infrequent[np.argsort(counts, kind="mergesort")[:-n_frequent]] = True
    return np.flatnonzero(infrequent) if counts.sum() > 0 else np.array([], int)


def _unobserved(level_counts):
    """The ``unobserved`` field of the architecture: per column, the levels
    of no training row (none for a column whose every level is so, whose
    placeholder level stands for a missing cell)."""
    if level_counts is None:
        return None
    out = tuple(
        tuple(int(c) for c in np.flatnonzero(np.asarray(counts) == 0))
        if counts and any(counts)
        else ()
        for counts in level_counts
    )
    return out if any(out) else None


def _grouping(params, level_counts, n_rows):
    """The ``infrequent`` field of the architecture for ``params`` (None
    when no level is grouped)."""
    min_frequency = params.get("min_frequency")
    max_categories = params.get("max_categories")
    if level_counts is None or (min_frequency is None and max_categories is None):
        return None
    grouping = []
    for counts in level_counts:
        if not counts:  # a numeric column
            grouping.append(())
            continue
        codes = infrequent_levels(counts, n_rows, min_frequency, max_categories)
        # A declared level that no training row holds counts as one row: a
        # small share of its group, not none (it may come with later rows).
        grouping.append(tuple((int(c), max(int(counts[c]), 1)) for c in codes))
    return tuple(grouping) if any(grouping) else None
