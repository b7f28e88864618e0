"""What the fitted network *is*: the architecture, resolved once at fit.

The hyperparameters describe a network loosely ("auto" widths, a likelihood
name); the data add what they alone can tell (the number of columns, the
levels of each categorical column, whether cells are missing, so that the
encoder reads a missing-cell mask). :class:`Architecture` is the resolved
result, as nanoGPT's ``GPTConfig`` is for a GPT: a frozen dataclass that
builds the module, is checked against the hyperparameters of a
continuation (``warm_start``, ``partial_fit``) and is persisted as plain
data, so that loading rebuilds the fitted network whatever the estimator's
parameters say by then.
"""

import dataclasses
from dataclasses import dataclass
from numbers import Integral

# The hyperparameters whose value is the fitted architecture's, and which a
# continuation therefore cannot change.
CONTINUATION_FIXED = ("n_components", "hidden_layer_sizes", "likelihood", "dropout")


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
    missing : bool
        Whether the encoder reads a missing-cell mask (the training rows had
        missing cells).
    adversarial : bool
        Whether the model has a discriminator.
    n_classes : int
        Classes of a semi-supervised model (M2, see
        ``skvae._torch.semisupervised``); 0 for a plain VAE.
    """

    n_features: int
    n_components: int
    hidden_layer_sizes: tuple[int, ...]
    likelihood: str
    dropout: float
    n_levels: tuple[int, ...] | None = None
    missing: bool = False
    adversarial: bool = False
    n_classes: int = 0

    @classmethod
    def resolve(cls, params, *, n_features, n_levels, missing, n_classes=0):
        """The architecture that the estimator's ``params`` (its
        ``get_params()``) ask for on data of ``n_features`` columns, after
        the checks that ``_parameter_constraints`` cannot express."""
        sizes = params["hidden_layer_sizes"]
        if isinstance(sizes, str):  # "auto", the only string allowed
            sizes = auto_hidden_layer_sizes(n_features)
        sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
        if not sizes or not all(
            isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in sizes
        ):
            raise ValueError(
                "hidden_layer_sizes must be a non-empty sequence of positive "
                f"integers, got {params['hidden_layer_sizes']!r}."
            )
        return cls(
            n_features=n_features,
            n_components=params["n_components"],
            hidden_layer_sizes=tuple(int(s) for s in sizes),
            likelihood=params["likelihood"],
            dropout=params["dropout"],
            n_levels=n_levels,
            missing=missing,
            adversarial=params["adversarial_weight"] > 0,
            n_classes=n_classes,
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
        for name, value, fitted in [*changes, ("device", device, fitted_device)]:
            if value != fitted:
                raise ValueError(
                    f"{name}={value!r} differs from the fitted model's "
                    f"{name}_={fitted!r}: warm_start and partial_fit continue the "
                    "fitted network and cannot change its architecture or "
                    f"device. Set {name} back, or refit with warm_start=False."
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

    def to_state(self):
        """Plain data (what the persisted estimator stores)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_state(cls, state):
        state = dict(state)
        state["hidden_layer_sizes"] = tuple(state["hidden_layer_sizes"])
        if state["n_levels"] is not None:
            state["n_levels"] = tuple(state["n_levels"])
        return cls(**state)


def auto_hidden_layer_sizes(n_features):
    """The widths of ``hidden_layer_sizes="auto"``: (64, 32) for fewer than
    30 features, (256, 128) from 30 on (user guide, "How the defaults were
    chosen")."""
    return (256, 128) if n_features >= 30 else (64, 32)
