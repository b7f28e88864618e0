"""Categorical columns inside the network: one-hot inputs, a softmax head.

The estimators hand the network one float matrix per batch: a numeric cell
as it is, a categorical cell as the *code* of its level (its index among
the levels seen in fit) and a missing cell as NaN (see ``skvae._tables``).
Two pieces turn that matrix into a model of a mixed table:

- :class:`ColumnExpansion` maps a row of ``n_features`` cells to the
  network's ``n_outputs`` input features, numeric cells as they are and
  each categorical cell one-hot over its levels (all zeros when missing).
  The encoder reads that; the decoder writes one output per feature: the
  numeric likelihood's parameter, or one logit per level.
- :class:`MixedLikelihood` is one likelihood over the row: the numeric
  columns' distribution (the ``likelihood`` parameter's) and a categorical
  distribution (softmax of the logits) for each categorical column, with
  one log-probability per *column*. A categorical cell is one term of the
  row's log-likelihood, not one per level, so the masked sum over observed
  cells (:class:`~skvae._torch.distributions.Observed`) and the
  per-feature scores work on it unchanged.

Rejected: one-hot columns under the numeric likelihood (what a
``OneHotEncoder`` in front amounts to). A Gaussian on 0/1 columns learns a
variance that collapses onto the two values, so its density is not a
probability of the level, is unbounded, and dominates the row's score; and
its samples and reconstructions are not levels at all (-0.95 or 1.6 in a
one-hot slot).
"""

from collections.abc import Sequence

import torch
from torch import nn
from torch.distributions import Distribution, Independent
from torch.nn import functional as F


class ColumnExpansion(nn.Module):
    """Cells of ``n_features`` columns -> the network's ``n_outputs`` features.

    ``n_levels[j]`` is the number of levels of column ``j``, 0 for a numeric
    column. Feature ("slot") order follows the columns: a numeric column is
    one slot, a categorical column one slot per level. With no categorical
    column every map here is the identity.
    """

    def __init__(self, n_levels: Sequence[int]) -> None:
        super().__init__()
        self.n_levels = tuple(int(k) for k in n_levels)
        self.n_features = len(self.n_levels)
        is_categorical = torch.tensor([k > 0 for k in self.n_levels], dtype=torch.bool)
        self.has_categorical = bool(is_categorical.any())
        widths = torch.tensor([max(k, 1) for k in self.n_levels], dtype=torch.long)
        self.n_outputs = int(widths.sum())
        numeric_columns = torch.nonzero(~is_categorical).flatten()
        categorical_columns = torch.nonzero(is_categorical).flatten()
        n_categorical, max_levels = len(categorical_columns), max(self.n_levels + (1,))
        # The column and level of each slot.
        slot_column = torch.repeat_interleave(torch.arange(self.n_features), widths)
        slot_level = torch.cat([torch.arange(int(w)) for w in widths])
        starts = torch.cumsum(widths, 0) - widths
        # Slot of (categorical column i, level l); n_outputs (a padding slot)
        # past the column's levels.
        level_slots = torch.full((n_categorical, max_levels), self.n_outputs)
        for i, j in enumerate(categorical_columns.tolist()):
            level_slots[i, : self.n_levels[j]] = starts[j] + torch.arange(
                self.n_levels[j]
            )
        # Position of each column in cat([numeric columns, categorical ones]).
        order = torch.cat([numeric_columns, categorical_columns])
        column_position = torch.empty_like(order)
        column_position[order] = torch.arange(self.n_features)
        # For a categorical slot: its index in the flattened (n_categorical,
        # max_levels) grid of levels.
        categorical_row = torch.cumsum(is_categorical.long(), 0) - 1
        slot_grid_index = categorical_row[slot_column] * max_levels + slot_level
        buffers = {
            "is_categorical": is_categorical,
            "numeric_columns": numeric_columns,
            "categorical_columns": categorical_columns,
            "numeric_slots": starts[numeric_columns],
            "slot_column": slot_column,
            "slot_level": slot_level,
            "categorical_slot": is_categorical[slot_column],
            "level_slots": level_slots,
            "column_position": column_position,
            "slot_grid_index": slot_grid_index.clamp(min=0),
        }
        for name, value in buffers.items():
            # Derived from n_levels, so not part of the saved state.
            self.register_buffer(name, value, persistent=False)

    @property
    def n_numeric(self) -> int:
        return len(self.numeric_columns)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., n_features) cells -> (..., n_outputs) features; a missing
        numeric cell stays NaN, a missing categorical one is all zeros."""
        if not self.has_categorical:
            return x
        cells = x[..., self.slot_column]
        one_hot = (cells == self.slot_level).to(x.dtype)  # NaN == l is False
        return torch.where(self.categorical_slot, one_hot, cells)

    def missing(self, x: torch.Tensor) -> torch.Tensor:
        """(..., n_outputs): whether each feature's cell is missing."""
        missing = torch.isnan(x)
        return missing[..., self.slot_column] if self.has_categorical else missing

    def grouped(self, features: torch.Tensor, fill: float) -> torch.Tensor:
        """(..., n_outputs) -> (..., n_categorical, max_levels): the slots of
        each categorical column, padded with ``fill`` past its levels."""
        padding = features.new_full((*features.shape[:-1], 1), fill)
        return torch.cat([features, padding], -1)[..., self.level_slots]

    def by_column(self, numeric: torch.Tensor, categorical: torch.Tensor):
        """Per-column values from the numeric columns' (..., n_numeric) and
        the categorical columns' (..., n_categorical): (..., n_features)."""
        shape = torch.broadcast_shapes(numeric.shape[:-1], categorical.shape[:-1])
        both = torch.cat(
            [
                numeric.expand(*shape, numeric.shape[-1]),
                categorical.expand(*shape, categorical.shape[-1]),
            ],
            -1,
        )
        return both[..., self.column_position]

    def collapse(self, features: torch.Tensor) -> torch.Tensor:
        """(..., n_outputs) -> (..., n_features): the inverse of ``forward``
        for numeric cells; each categorical column's largest slot (its most
        probable level, for probabilities) as a code."""
        if not self.has_categorical:
            return features
        codes = self.grouped(features, -torch.inf).argmax(-1).to(features.dtype)
        return self.by_column(features[..., self.numeric_slots], codes)


class CategoricalColumns(Distribution):
    """p(x | z) cell by cell for a row of mixed columns.

    ``log_prob`` returns one log-probability per column, (..., n_features),
    NaN for a missing cell (as a Normal's ``log_prob`` of NaN is), so that
    :class:`~torch.distributions.Independent` or
    :class:`~skvae._torch.distributions.Observed` sum it over the row.
    """

    arg_constraints: dict = {}

    def __init__(
        self,
        numeric: Distribution | None,
        log_probs: torch.Tensor,
        expansion: ColumnExpansion,
    ) -> None:
        self.numeric = numeric  # batch shape (..., n_numeric)
        self.log_probs = log_probs  # (..., n_categorical, max_levels)
        self.expansion = expansion
        batch_shape = (*log_probs.shape[:-2], expansion.n_features)
        super().__init__(torch.Size(batch_shape), validate_args=False)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        expansion = self.expansion
        codes = value[..., expansion.categorical_columns]  # (..., n_categorical)
        missing = torch.isnan(codes)
        codes = codes.masked_fill(missing, 0.0).long()
        codes = codes.expand(self.log_probs.shape[:-1])
        categorical = self.log_probs.gather(-1, codes[..., None]).squeeze(-1)
        categorical = categorical.masked_fill(missing, torch.nan)
        if self.numeric is None:
            numeric = categorical[..., :0]
        else:
            numeric = self.numeric.log_prob(value[..., expansion.numeric_columns])
        return expansion.by_column(numeric, categorical)


class MixedLikelihood(nn.Module):
    """The numeric columns' likelihood plus a softmax over each categorical
    column's levels; the interface of
    :class:`~skvae._torch.likelihoods.Likelihood`, over the slots of
    ``expansion``.

    ``mean`` is E[features | z]: the numeric means and each level's
    probability. ``sample`` returns cells: numeric draws and level codes.
    """

    def __init__(self, numeric: type[nn.Module], expansion: ColumnExpansion) -> None:
        super().__init__()
        self.expansion = expansion
        self.numeric = numeric(expansion.n_numeric) if expansion.n_numeric else None

    def _numeric_decoded(self, decoded: torch.Tensor) -> torch.Tensor:
        return decoded[..., self.expansion.numeric_slots]  # (..., n_numeric)

    def _log_probs(self, decoded: torch.Tensor) -> torch.Tensor:
        # (..., n_categorical, max_levels); padding slots get probability 0.
        return F.log_softmax(self.expansion.grouped(decoded, -torch.inf), -1)

    def forward(self, decoded: torch.Tensor) -> Distribution:
        numeric = None
        if self.numeric is not None:
            numeric = self.numeric(self._numeric_decoded(decoded)).base_dist
        cells = CategoricalColumns(numeric, self._log_probs(decoded), self.expansion)
        return Independent(cells, 1)

    def mean(self, decoded: torch.Tensor) -> torch.Tensor:
        expansion = self.expansion
        probabilities = self._log_probs(decoded).exp().flatten(-2)
        out = torch.where(
            expansion.categorical_slot,
            probabilities[..., expansion.slot_grid_index],
            decoded,
        )
        if self.numeric is None:
            return out
        numeric = self.numeric.mean(self._numeric_decoded(decoded))
        return out.index_copy(-1, expansion.numeric_slots, numeric)

    def sample(self, decoded: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        log_probs = self._log_probs(decoded)  # (..., n_categorical, max_levels)
        uniform = torch.rand(
            log_probs.shape[:-1],
            generator=generator,
            dtype=decoded.dtype,
            device=decoded.device,
        )
        codes = _inverse_cdf(log_probs, uniform)
        if self.numeric is None:
            numeric = codes[..., :0]
        else:
            numeric = self.numeric.sample(self._numeric_decoded(decoded), generator)
        return self.expansion.by_column(numeric, codes)

    def draw(self, decoded: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
        expansion = self.expansion
        codes = _inverse_cdf(
            self._log_probs(decoded), uniform[..., expansion.categorical_columns]
        )
        if self.numeric is None:
            numeric = codes[..., :0]
        else:
            numeric = self.numeric.draw(
                self._numeric_decoded(decoded),
                uniform[..., expansion.numeric_columns],
            )
        return expansion.by_column(numeric, codes)


def _inverse_cdf(log_probs: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
    """The level at ``uniform`` (..., n_categorical) of the categorical
    distributions ``log_probs`` (..., n_categorical, max_levels): the number
    of levels whose cumulative probability the draw exceeds, as a code."""
    cdf = log_probs.exp().cumsum(-1)
    codes = (uniform[..., None] > cdf).sum(-1)
    last_level = log_probs.isfinite().sum(-1) - 1
    return torch.minimum(codes, last_level).to(log_probs.dtype)
