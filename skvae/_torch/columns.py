"""Categorical columns inside the network: embeddings in, a softmax head out.

:class:`ColumnEmbedding` is the encoder's input layer (numeric cells as
they are, a categorical cell as a learned vector of its level, zeros when
missing); :class:`ColumnExpansion` is the layout of the decoder's output
(one parameter per numeric column, one logit per level or slot);
:class:`MixedLikelihood` is the likelihood of the row, one
log-probability per column. Infrequent levels share one slot, split by
their training counts. The design notes say why.
"""

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.distributions import Distribution, Independent
from torch.nn import functional as F

from skvae._torch.layers import BlockMaps
from skvae._torch.levels import NumericLevels, OrdinalLevels

# Widest embedding of a categorical column (see embedding_width).
MAX_EMBEDDING_WIDTH = 16
# Temperature of the relaxed draws of levels that an adversary is shown.
RELAXED_TEMPERATURE = 0.5


def _select_last(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``x[..., index]``, for a wide ``index``: ``index_select`` on a 2-D
    view. On a tensor of more dimensions, ``index_select``'s last-dimension
    path is much slower when it picks hundreds of slots; for a few slots it
    is the fastest, so the narrow picks call it directly."""
    if x.dim() <= 2:
        return x.index_select(-1, index)
    rows = x.reshape(-1, x.shape[-1]).index_select(1, index)
    return rows.unflatten(0, x.shape[:-1])


def embedding_width(n_levels: int, max_width: int = MAX_EMBEDDING_WIDTH) -> int:
    """Width of the embedding of a column with ``n_levels`` levels:
    ``n_levels - 1``, at least 1 and at most ``max_width``.

    Up to ``max_width + 1`` levels the embedding loses nothing against a
    one-hot input: ``k`` vectors in general position in ``k - 1``
    dimensions are affinely independent, so the encoder's first (affine)
    layer can still give each level any pre-activation it could give a
    one-hot cell. Past that the width stops growing: the encoder's hidden
    layers (tens of units) and its ``n_components`` latent dimensions
    summarize the whole row, so a wider vector for one column mostly adds
    weights. Rejected: fastai's ``1.6 * n_levels ** 0.56`` (167 dimensions
    for 4 000 levels, wider than the default hidden layer) and rules in
    ``n_levels ** 0.25`` (3 dimensions for a 3-level column, where 2 lose
    nothing).
    """
    return max(1, min(n_levels - 1, max_width))


class ColumnExpansion(nn.Module):
    """Layout of the decoder's ``n_outputs`` for ``n_features`` columns.

    ``n_levels[j]`` is the number of levels of column ``j``, 0 for a numeric
    column. Output ("slot") order follows the columns: a numeric column is
    one slot (its likelihood's parameter), a categorical column one slot
    per level (its logits, or probabilities in a decoded mean). With no
    categorical column every map here is the identity.

    ``infrequent[j]``, if given, lists the infrequent levels of column
    ``j`` as (code, training count) pairs: they share the column's last
    slot (its frequent levels keep one each, in code order), so that the
    column has ``n_output_levels[j]`` slots. :meth:`observed_slots` maps
    levels to slots and shares.

    Categorical columns are kept in *grouped order*, by number of slots
    (then of levels, then by position): ``categorical_columns`` lists them
    so, and :meth:`levels` returns one (..., n_columns, n_slots) block per
    slot count. Per-column values of categorical columns,
    (..., n_categorical), are in that order.
    """

    def __init__(
        self,
        n_levels: Sequence[int],
        infrequent: Sequence[Sequence[tuple[int, int]]] | None = None,
        numeric_levels: Sequence[tuple | None] | None = None,
        unobserved: Sequence[Sequence[int]] | None = None,
    ) -> None:
        super().__init__()
        self.n_levels = tuple(int(k) for k in n_levels)
        self.n_features = len(self.n_levels)
        unobserved = unobserved or ((),) * self.n_features
        infrequent = [
            _InfrequentGroup(k, levels, hidden) if levels else None
            for k, levels, hidden in zip(
                self.n_levels,
                infrequent or ((),) * self.n_features,
                unobserved,
                strict=True,
            )
        ]
        # Output slots per column: one per level, but one for all the
        # infrequent levels of a grouped column.
        self.n_output_levels = tuple(
            k if group is None else group.n_slots
            for k, group in zip(self.n_levels, infrequent, strict=True)
        )
        self._register_maps(self._slot_layout(infrequent))
        self._register_numeric_levels(numeric_levels)
        self._register_undrawn(unobserved, infrequent)

    def _slot_layout(
        self, infrequent: list["_InfrequentGroup | None"]
    ) -> dict[str, torch.Tensor]:
        """The layout's maps of columns to slots and blocks, by buffer name."""
        # Also sets the sizes, the blocks and the infrequent groups.
        is_categorical, starts, numeric_columns, categorical_order = self._columns()
        # The infrequent group of each categorical column (grouped order).
        self.infrequent = [infrequent[j] for j in categorical_order]
        self.groups = self._runs(categorical_order)
        categorical_columns = torch.tensor(categorical_order, dtype=torch.long)
        categorical_starts = starts[categorical_columns]  # (n_categorical,)
        group_slots = self._group_slots(categorical_starts)
        column_position, slot_position, slot_order = self._positions(
            starts, numeric_columns, categorical_columns, group_slots
        )
        self._in_order = torch.equal(slot_order, torch.arange(self.n_outputs))
        self._split_sizes = [
            len(numeric_columns),
            *((stop - first) * k for first, stop, k in self.groups),
        ]
        self._grouped = [
            any(self.infrequent[i] is not None for i in range(first, stop))
            for first, stop, _ in self.groups
        ]
        return {
            "is_categorical": is_categorical,
            "numeric_columns": numeric_columns,
            "categorical_columns": categorical_columns,
            "categorical_starts": categorical_starts,
            "numeric_slots": starts[numeric_columns],
            "column_position": column_position,
            "slot_position": slot_position,
            "slot_order": slot_order,
        }

    def _columns(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[int]]:
        """Which columns are categorical, their first slots, and both orders."""
        # (n_features,) each: whether categorical, and the first slot; then
        # the numeric columns (n_numeric,) and the categorical ones in
        # grouped order. Also sets has_categorical and n_outputs.
        is_categorical = torch.tensor([k > 0 for k in self.n_levels], dtype=torch.bool)
        self.has_categorical = bool(is_categorical.any())
        widths = torch.tensor(
            [max(m, 1) for m in self.n_output_levels], dtype=torch.long
        )  # (n_features,)
        self.n_outputs = int(widths.sum())
        starts = torch.cumsum(widths, 0) - widths  # first slot of each column
        numeric_columns = torch.nonzero(~is_categorical).flatten()  # (n_numeric,)
        categorical_columns = sorted(
            torch.nonzero(is_categorical).flatten().tolist(),
            key=lambda j: (self.n_output_levels[j], self.n_levels[j], j),
        )
        return is_categorical, starts, numeric_columns, categorical_columns

    def _runs(self, categorical_columns: list[int]) -> list[tuple[int, int, int]]:
        """The blocks: runs of equal slot counts, as (first, stop, n_slots)."""
        # Runs of categorical columns (in grouped order) of equal slot counts.
        groups: list[tuple[int, int, int]] = []
        for i, j in enumerate(categorical_columns):
            m = self.n_output_levels[j]
            if groups and groups[-1][2] == m:
                groups[-1] = (groups[-1][0], i + 1, m)
            else:
                groups.append((i, i + 1, m))
        return groups

    def _group_slots(self, categorical_starts: torch.Tensor) -> list[torch.Tensor]:
        """The (n_columns, n_slots) output slots of each block."""
        return [
            categorical_starts[first:stop, None] + torch.arange(k)
            for first, stop, k in self.groups
        ]

    def _positions(
        self,
        starts: torch.Tensor,
        numeric_columns: torch.Tensor,
        categorical_columns: torch.Tensor,
        group_slots: list[torch.Tensor],
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Where each column and each slot goes in the numeric-first order,
        and the slots in that order."""
        # Position of each column in cat([numeric columns, categorical ones]),
        # (n_features,), and of each slot in cat([numeric slots, each group's
        # slots]), (n_outputs,).
        order = torch.cat([numeric_columns, categorical_columns])
        column_position = torch.empty_like(order)
        column_position[order] = torch.arange(self.n_features)
        slot_order = torch.cat(
            [starts[numeric_columns], *(s.flatten() for s in group_slots)]
        )
        slot_position = torch.empty_like(slot_order)
        slot_position[slot_order] = torch.arange(self.n_outputs)
        return column_position, slot_position, slot_order

    def _register_maps(self, layout: dict[str, torch.Tensor]) -> None:
        """Register the layout's maps as buffers, each block's maps
        (``group_maps``) and each grouped column's draws (``group_draws``,
        grouped order) as modules."""
        for name, value in layout.items():
            # Derived from n_levels and the grouping, so not saved state.
            self.register_buffer(name, value, persistent=False)
        self.group_maps = nn.ModuleList(
            _group_maps(self, layout["categorical_columns"])
        )
        self.group_draws = nn.ModuleList(
            BlockMaps()
            if group is None
            else BlockMaps(cdf=group.cdf, codes=group.codes)
            for group in self.infrequent
        )

    def _register_undrawn(self, unobserved, infrequent) -> None:
        """``undrawn`` (n_outputs,): 1 in the slot of each level of no
        training row (a frequent level's own slot; an infrequent one has a
        zero share of its group instead), which ``sample`` never draws."""
        undrawn = torch.zeros(self.n_outputs)
        starts = self.categorical_starts.tolist()
        for i, j in enumerate(self.categorical_columns.tolist()):
            if infrequent[j] is None:
                for code in unobserved[j]:
                    undrawn[starts[i] + code] = 1.0
        self.has_undrawn = bool(undrawn.any())
        self.register_buffer("undrawn", undrawn, persistent=False)

    def _register_numeric_levels(self, numeric_levels) -> None:
        """The numeric columns modelled over levels (see
        ``skvae._torch.levels``): their positions among the categorical
        columns (grouped order), their levels, counts, centres and scales."""
        levels, self.leveled_counts, buffers = _leveled_columns(
            numeric_levels, self.categorical_columns.tolist()
        )
        self.numeric_levels = levels
        for name, value in buffers.items():
            self.register_buffer(name, value, persistent=False)

    def leveled_values(self, x: torch.Tensor) -> torch.Tensor:
        """The cells of the numeric columns modelled over levels, (...,
        n_leveled), NaN where missing."""
        cells = x.index_select(-1, self.categorical_columns)
        return cells.index_select(-1, self.leveled_position)

    @property
    def n_leveled(self) -> int:
        return len(self.leveled_position)

    def leveled_standardized(self, x: torch.Tensor, leveled=False) -> torch.Tensor:
        """The cells of the numeric columns over levels (of the row ``x``, or
        ``x`` itself with ``leveled``) centred and scaled by their training
        mean and standard deviation, (..., n_leveled)."""
        values = x if leveled else self.leveled_values(x)
        dtype = values.dtype
        return (values - self.leveled_center.to(dtype)) / self.leveled_scale.to(dtype)

    def leveled_mean(self, features: torch.Tensor) -> torch.Tensor:
        """(..., n_outputs) slot probabilities -> E[x] of each numeric column
        modelled over levels (..., n_leveled)."""
        starts = self.categorical_starts[self.leveled_position].tolist()
        means = self.numeric_levels.level_mean.to(features.dtype)
        return torch.stack(
            [
                features[..., s : s + k] @ means[i, :k]
                for i, (s, k) in enumerate(
                    zip(starts, self.numeric_levels.n_levels, strict=True)
                )
            ],
            -1,
        )

    @property
    def n_numeric(self) -> int:
        return len(self.numeric_columns)

    @property
    def n_categorical(self) -> int:
        return len(self.categorical_columns)

    def codes(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The categorical cells of ``x`` (..., n_features) in grouped order:
        their codes, (..., n_categorical) integers (0 where missing), and
        whether each is missing."""
        codes = x.index_select(-1, self.categorical_columns)  # (..., n_categorical)
        missing = torch.isnan(codes)
        codes = codes.masked_fill(missing, 0.0)
        if self.numeric_levels is None:
            return codes.long(), missing
        # Numeric columns over levels hold values: their levels are found.
        position = self.leveled_position
        level, known = self.numeric_levels.locate(codes.index_select(-1, position))
        codes = codes.long().index_copy(-1, position, level)
        missing = missing.index_copy(
            -1, position, missing.index_select(-1, position) | ~known
        )
        return codes, missing

    def split(self, outputs: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(..., n_outputs) -> the numeric slots (..., n_numeric) and the
        categorical ones, one (..., n_columns, n_slots) block per group of
        columns with equal slot counts.

        One gather puts the slots in numeric-first grouped order and
        ``split`` cuts it into views. Rejected: a slice or an index per
        block. Each slice's gradient is a zero-filled tensor as wide as the
        output, summed into the rest; with five blocks (flights with a
        text column) that zero-filling was a fifth of a training step, and
        ``index_select`` on the last dimension of a tensor of draws is slow
        (see ``_select_last``).
        """
        grouped = outputs if self._in_order else _select_last(outputs, self.slot_order)
        numeric, *blocks = grouped.split(self._split_sizes, -1)
        return numeric, [
            block.unflatten(-1, (stop - first, k))
            for block, (first, stop, k) in zip(blocks, self.groups, strict=True)
        ]

    def levels(self, outputs: torch.Tensor) -> list[torch.Tensor]:
        """(..., n_outputs) -> the categorical slots, one (..., n_columns,
        n_slots) block per group of columns with equal slot counts."""
        return self.split(outputs)[1]

    def from_levels(
        self, numeric: torch.Tensor, blocks: Sequence[torch.Tensor]
    ) -> torch.Tensor:
        """The inverse of :meth:`levels`: (..., n_outputs) from the numeric
        slots (..., n_numeric) and each group's (..., n_columns, n_levels)."""
        parts = [numeric, *(block.flatten(-2) for block in blocks)]
        return _select_last(torch.cat(parts, -1), self.slot_position)

    def by_column(self, numeric: torch.Tensor, categorical: torch.Tensor):
        """Per-column values from the numeric columns' (..., n_numeric) and
        the categorical columns' (..., n_categorical) in grouped order:
        (..., n_features)."""
        shape = torch.broadcast_shapes(numeric.shape[:-1], categorical.shape[:-1])
        both = torch.cat(
            [
                numeric.expand(*shape, numeric.shape[-1]),
                categorical.expand(*shape, categorical.shape[-1]),
            ],
            -1,
        )
        return both.index_select(-1, self.column_position)

    def collapse(self, features: torch.Tensor) -> torch.Tensor:
        """(..., n_outputs) -> (..., n_features): numeric slots as they are;
        each categorical column's largest slot (its most probable level, for
        probabilities) as a code."""
        if not self.has_categorical:
            return features
        codes = []
        for g, block in enumerate(self.levels(features)):
            if not self._grouped[g]:
                codes.append(block.argmax(-1))
                continue
            # The group's slot stands for its most frequent level, whose
            # probability is the group's times that level's share.
            slot = (block * self.group_maps[g].slot_share).argmax(-1)
            codes.append(self._slot_codes(g, slot))
        codes = torch.cat(codes, -1).to(features.dtype)
        if self.numeric_levels is not None:
            # A numeric column over levels: its expected value.
            codes = codes.index_copy(
                -1, self.leveled_position, self.leveled_mean(features)
            )
        return self.by_column(features.index_select(-1, self.numeric_slots), codes)

    def observed_slots(self, codes: torch.Tensor) -> list[tuple]:
        """Per block of :meth:`levels`, the slot of each categorical cell's
        level and the log of its share of that slot's probability, each
        (..., n_columns); None for a block without infrequent levels, whose
        slots are the codes and shares 1. ``codes`` as :meth:`codes`
        gives them."""
        out = []
        for g, (first, stop, _) in enumerate(self.groups):
            if not self._grouped[g]:
                out.append(None)
                continue
            maps = self.group_maps[g]
            index = codes[..., first:stop] + maps.level_offsets
            out.append((maps.slot_of[index], maps.log_share[index]))
        return out

    def _slot_codes(self, g: int, slot: torch.Tensor) -> torch.Tensor:
        """The code of the level that each slot (..., n_columns) of block
        ``g`` stands for: a frequent level's own, the infrequent group's
        most frequent level."""
        table = self.group_maps[g].slot_code  # (n_columns, n_slots)
        n_columns, n_slots = table.shape
        base = torch.arange(n_columns, device=slot.device) * n_slots
        return table.flatten()[slot + base]

    def squared_error(self, x: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
        """Per cell of ``x`` (..., n_features), the squared error of the
        decoded ``mean`` (..., n_outputs): ``(x - mean)^2`` for a numeric
        cell and, for a categorical one, the Brier score of its level
        probabilities ``p``, ``1 - 2 p[observed] + sum(p^2)`` (the squared
        error of the one-hot cell, summed over the levels, without making
        the one-hot); NaN where ``x`` is missing."""
        if not self.has_categorical:
            return (x - mean).square()
        numeric = (
            x.index_select(-1, self.numeric_columns)
            - mean.index_select(-1, self.numeric_slots)
        ).square()
        codes, missing = self.codes(x)
        grouped = any(self._grouped)
        log_share = None
        if grouped:
            # An infrequent level's probability: its slot's (the group's)
            # times its share; a level of the group is squared as such.
            slots, log_shares = [], []
            for (first, stop, _), grouping in zip(
                self.groups, self.observed_slots(codes), strict=True
            ):
                if grouping is None:
                    slots.append(codes[..., first:stop])
                    log_shares.append(torch.zeros_like(codes[..., first:stop]))
                else:
                    slots.append(grouping[0])
                    log_shares.append(grouping[1])
            codes = torch.cat(slots, -1)  # (..., n_categorical)
            log_share = torch.cat([s.to(mean.dtype) for s in log_shares], -1)
        index = self.categorical_starts + codes  # (..., n_categorical)
        shape = torch.broadcast_shapes(index.shape[:-1], mean.shape[:-1])
        observed = mean.expand(*shape, mean.shape[-1]).gather(
            -1, index.expand(*shape, index.shape[-1])
        )
        blocks = self.levels(mean)
        if grouped:
            observed = observed * log_share.exp()
            blocks = [
                b * self.group_maps[g].slot_square_share.sqrt()
                if self._grouped[g]
                else b
                for g, b in enumerate(blocks)
            ]
        sum_squares = torch.cat([b.square().sum(-1) for b in blocks], -1)
        brier = 1.0 - 2.0 * observed + sum_squares
        if self.numeric_levels is not None:
            # A numeric column over levels: the squared error of its
            # expected value, in units of the column's spread.
            error = (self.leveled_values(x) - self.leveled_mean(mean)) / (
                self.leveled_scale.to(mean.dtype)
            )
            error = error.expand(*brier.shape[:-1], error.shape[-1])
            brier = brier.index_copy(-1, self.leveled_position, error.square())
        brier = brier.masked_fill(missing, torch.nan)
        return self.by_column(numeric, brier)


class ColumnEmbedding(nn.Module):
    """The encoder's (or discriminator's) input layer: (..., n_features)
    cells -> (..., out_features) features.

    A numeric cell passes as it is (NaN when missing, for the caller to
    fill); a categorical cell becomes the learned vector of its *slot* (its
    level's, or for an infrequent level its column's group's, see
    ``ColumnExpansion``), ``embedding_width(n_slots)`` wide, and a missing
    categorical cell the zero vector. Zeros rather than a learned "missing"
    vector: the encoder told which cells are missing (``missing_inputs``)
    adds its own learned vector for them through the indicator's weights,
    and one that never saw a missing cell in training is best given the
    neutral input, as a missing numeric cell gets 0 (the column's mean).
    Output order: the numeric columns, then the categorical ones in grouped
    order (see ``ColumnExpansion``). With no categorical column it is the
    identity.

    Columns of equal width share one table (their slots stacked, each
    column's codes offset to its block), so a forward pass makes one lookup
    per distinct width, whatever the number of columns. Initial vectors are
    N(0, 1), PyTorch's default for ``nn.Embedding`` (the scale of
    standardized numeric inputs), drawn from ``generator``. The tables are
    weight matrices: ``weight_decay`` and ``l1_penalty`` apply to them, as
    nanoGPT decays its token embeddings.

    A grouped column's infrequent levels share one vector (the design
    notes say why).
    """

    def __init__(
        self, expansion: ColumnExpansion, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        self.expansion = expansion
        columns = expansion.categorical_columns.tolist()
        slots = [expansion.n_output_levels[j] for j in columns]
        self._slots = slots
        widths = [embedding_width(m) for m in slots]
        # Runs of categorical columns (grouped order) of equal width; the
        # width grows with the slot count, so each width is one run.
        self.runs: list[tuple[int, int, int]] = []
        for i, width in enumerate(widths):
            if self.runs and self.runs[-1][2] == width:
                self.runs[-1] = (self.runs[-1][0], i + 1, width)
            else:
                self.runs.append((i, i + 1, width))
        self.tables = nn.ModuleList()
        self.run_maps = nn.ModuleList()
        for first, stop, width in self.runs:
            run_slots = torch.tensor(slots[first:stop])
            self.tables.append(_embedding(int(run_slots.sum()), width, generator))
            offsets = torch.cumsum(run_slots, 0) - run_slots
            self.run_maps.append(self._run_maps(first, stop, offsets))
        self._mapped = [hasattr(maps, "rows") for maps in self.run_maps]
        self._starts = expansion.categorical_starts.tolist()  # first slots
        self.in_features = expansion.n_features
        self.out_features = expansion.n_numeric + sum(widths) + expansion.n_leveled

    def _run_maps(self, first: int, stop: int, offsets) -> BlockMaps:
        """The maps of a run: each column's first table row (``offsets``,
        by which a code is its row) and, for a run that holds a grouped
        column, the table row of each of its columns' levels (``rows``,
        indexed by code plus the column's ``level_offsets``)."""
        expansion = self.expansion
        if all(expansion.infrequent[i] is None for i in range(first, stop)):
            return BlockMaps(offsets=offsets)  # every code is its slot
        columns = expansion.categorical_columns.tolist()
        rows = []
        for i, offset in zip(range(first, stop), offsets.tolist(), strict=True):
            k = expansion.n_levels[columns[i]]
            group = expansion.infrequent[i]
            slot_of = torch.arange(k) if group is None else group.slot_of
            rows.append(slot_of + offset)
        levels = torch.tensor([len(column) for column in rows])
        return BlockMaps(
            offsets=offsets,
            rows=torch.cat(rows),
            level_offsets=torch.cumsum(levels, 0) - levels,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        expansion = self.expansion
        if not expansion.has_categorical:
            return x
        codes, missing = expansion.codes(x)  # (..., n_categorical)
        parts = [x.index_select(-1, expansion.numeric_columns)]
        for r, (first, stop, _) in enumerate(self.runs):
            maps = self.run_maps[r]
            if self._mapped[r]:
                index = maps.rows[codes[..., first:stop] + maps.level_offsets]
            else:
                index = codes[..., first:stop] + maps.offsets
            vectors = self.tables[r](index)  # (..., stop - first, width)
            vectors = vectors.masked_fill(missing[..., first:stop, None], 0.0)
            parts.append(vectors.flatten(-2))
        if expansion.numeric_levels is not None:
            # A numeric column over levels also passes its value,
            # standardized: the order and position that a level's vector
            # alone does not give.
            parts.append(expansion.leveled_standardized(x))
        return torch.cat(parts, -1)  # (..., out_features)

    def expected(self, mean: torch.Tensor) -> torch.Tensor:
        """Decoded means (..., n_outputs), slot probabilities in the
        categorical slots -> (..., out_features): numeric means as they are,
        each categorical column's probability-weighted mean of its slot
        vectors (what its embedding is in expectation)."""
        expansion = self.expansion
        if not expansion.has_categorical:
            return mean
        parts = [mean.index_select(-1, expansion.numeric_slots)]
        starts = self._starts
        for r, (first, stop, _) in enumerate(self.runs):
            table = self.tables[r].weight  # (slots of the run, width)
            offset = 0
            for i in range(first, stop):
                m = self._slots[i]
                probabilities = mean[..., starts[i] : starts[i] + m]
                parts.append(probabilities @ table[offset : offset + m])
                offset += m
        if expansion.numeric_levels is not None:
            values = expansion.leveled_mean(mean)
            parts.append(expansion.leveled_standardized(values, leveled=True))
        return torch.cat(parts, -1)  # (..., out_features)

    def missing(self, x: torch.Tensor) -> torch.Tensor:
        """(..., out_features): whether each feature's cell is missing."""
        expansion = self.expansion
        if not expansion.has_categorical:
            return torch.isnan(x)
        _, missing = expansion.codes(x)  # (..., n_categorical)
        parts = [torch.isnan(x.index_select(-1, expansion.numeric_columns))]
        for first, stop, width in self.runs:
            run = missing[..., first:stop, None]
            parts.append(run.expand(*run.shape[:-1], width).flatten(-2))
        if expansion.numeric_levels is not None:
            parts.append(missing.index_select(-1, expansion.leveled_position))
        return torch.cat(parts, -1)


def _embedding(
    n_levels: int, width: int, generator: torch.Generator | None
) -> nn.Embedding:
    """``nn.Embedding`` with PyTorch's default N(0, 1) initialization drawn
    from ``generator`` (as ``skvae._torch.networks.linear``)."""
    # Given its weight, nn.Embedding skips its own initialization, which
    # would draw from the global generator. Not built on the meta device
    # as ``linear`` is: initializing a meta embedding imports torch._dynamo
    # (which torch.optim's optimizers import on first use anyway).
    device = generator.device if generator else "cpu"
    weight = torch.empty((n_levels, width), device=device, dtype=torch.float32)
    with torch.no_grad():
        weight.normal_(generator=generator)
    return nn.Embedding(n_levels, width, _weight=weight)


class CategoricalColumns(Distribution):
    """p(x | z) cell by cell for a row of mixed columns.

    ``log_prob`` returns one log-probability per column, (..., n_features),
    NaN for a missing cell (as a Normal's ``log_prob`` of NaN is), so that
    :class:`~torch.distributions.Independent` or
    :class:`~skvae._torch.distributions.Observed` sum it over the row. A
    categorical cell's is its level's logit minus the log-sum-exp of its
    column's logits, ``log_softmax`` at one level.
    """

    arg_constraints: dict = {}

    def __init__(
        self,
        numeric: Distribution | None,
        logits: Sequence[torch.Tensor],
        expansion: ColumnExpansion,
    ) -> None:
        self.numeric = numeric  # batch shape (..., n_numeric)
        self.logits = logits  # per group, (..., n_columns, n_levels)
        self.expansion = expansion
        batch_shape = (*logits[0].shape[:-2], expansion.n_features)
        super().__init__(torch.Size(batch_shape), validate_args=False)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        expansion = self.expansion
        codes, missing = expansion.codes(value)  # (..., n_categorical)
        categorical = []
        for logits, (first, stop, _), grouping in zip(
            self.logits,
            expansion.groups,
            expansion.observed_slots(codes),
            strict=True,
        ):
            slot = codes[..., first:stop] if grouping is None else grouping[0]
            slot = slot.expand(logits.shape[:-1])
            observed = logits.gather(-1, slot[..., None]).squeeze(-1)
            log_prob = observed - logits.logsumexp(-1)  # (..., n_columns)
            if grouping is not None:
                # An infrequent level: the group's probability times the
                # level's share of the group's training rows.
                log_prob = log_prob + grouping[1]
            categorical.append(log_prob)
        categorical = torch.cat(categorical, -1)
        if expansion.numeric_levels is not None:
            # A value's density within its level (0 at a point mass).
            cells = expansion.leveled_values(value).nan_to_num(0.0)
            levels = codes.index_select(-1, expansion.leveled_position)
            density = expansion.numeric_levels.log_density(cells, levels)
            density = density.to(categorical.dtype)
            categorical = categorical.index_add(
                -1,
                expansion.leveled_position,
                density.expand(*categorical.shape[:-1], density.shape[-1]),
            )
        categorical = categorical.masked_fill(missing, torch.nan)
        if self.numeric is None:
            numeric = categorical[..., :0]
        else:
            numeric = self.numeric.log_prob(
                value.index_select(-1, expansion.numeric_columns)
            )
        return expansion.by_column(numeric, categorical)


class MixedLikelihood(nn.Module):
    """The numeric columns' likelihood plus a softmax over each categorical
    column's levels; the interface of
    :class:`~skvae._torch.likelihoods.Likelihood`, over the slots of
    ``expansion``.

    ``mean`` is E[features | z]: the numeric means and each slot's
    probability (a level's, or the infrequent group's). ``sample`` and
    ``draw`` return cells: numeric draws and level codes.
    """

    def __init__(self, numeric: type[nn.Module], expansion: ColumnExpansion) -> None:
        super().__init__()
        self.expansion = expansion
        self.numeric = numeric(expansion.n_numeric) if expansion.n_numeric else None
        self.ordinal = (
            None if expansion.numeric_levels is None else _ordinal_levels(expansion)
        )

    def _blocks(self, decoded: torch.Tensor):
        """The numeric slots and the categorical blocks of ``decoded``, the
        numeric columns over levels as their levels' log-probabilities."""
        numeric, blocks = self.expansion.split(decoded)
        if self.ordinal is not None:
            blocks = self.ordinal(blocks)
        return numeric, blocks

    def _numeric_decoded(self, decoded: torch.Tensor) -> torch.Tensor:
        return decoded.index_select(
            -1, self.expansion.numeric_slots
        )  # (..., n_numeric)

    def forward(self, decoded: torch.Tensor) -> Distribution:
        numeric, logits = self._blocks(decoded)
        numeric = None if self.numeric is None else self.numeric(numeric).base_dist
        return Independent(CategoricalColumns(numeric, logits, self.expansion), 1)

    def mean(self, decoded: torch.Tensor) -> torch.Tensor:
        numeric, logits = self._blocks(decoded)  # numeric (..., n_numeric)
        if self.numeric is not None:
            numeric = self.numeric.mean(numeric)
        probabilities = [F.softmax(b, -1) for b in logits]
        return self.expansion.from_levels(numeric, probabilities)

    def relaxed(
        self, decoded: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """Reparameterized numeric draws and straight-through Gumbel-softmax
        draws of each categorical column's slots (Jang et al., 2017;
        temperature ``RELAXED_TEMPERATURE``), in the layout of
        :meth:`mean`."""
        numeric, blocks = self._blocks(decoded)
        if self.numeric is not None:
            numeric = self.numeric.relaxed(numeric, generator)
        relaxed = []
        for logits in blocks:
            uniform = torch.rand(
                logits.shape,
                generator=generator,
                dtype=logits.dtype,
                device=logits.device,
            )
            gumbel = -torch.log(-torch.log(uniform.clamp(1e-12, 1 - 1e-7)))
            soft = F.softmax((logits + gumbel) / RELAXED_TEMPERATURE, -1)
            # Straight through: the drawn level exactly, as real rows hold
            # one, with the relaxed draw's gradient.
            hard = F.one_hot(soft.argmax(-1), soft.shape[-1]).to(soft.dtype)
            relaxed.append(hard + soft - soft.detach())
        return self.expansion.from_levels(numeric, relaxed)

    def sample(self, decoded: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        uniform = torch.rand(
            (*decoded.shape[:-1], self.expansion.n_categorical),
            generator=generator,
            dtype=decoded.dtype,
            device=decoded.device,
        )
        codes = self._inverse_cdf(decoded, uniform)
        if self.numeric is None:
            numeric = codes[..., :0]
        else:
            numeric = self.numeric.sample(self._numeric_decoded(decoded), generator)
        return self.expansion.by_column(numeric, codes)

    def draw(self, decoded: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
        expansion = self.expansion
        codes = self._inverse_cdf(
            decoded, uniform.index_select(-1, expansion.categorical_columns)
        )
        if self.numeric is None:
            numeric = codes[..., :0]
        else:
            numeric = self.numeric.draw(
                self._numeric_decoded(decoded),
                uniform.index_select(-1, expansion.numeric_columns),
            )
        return expansion.by_column(numeric, codes)

    def _inverse_cdf(
        self, decoded: torch.Tensor, uniform: torch.Tensor
    ) -> torch.Tensor:
        """The level of each categorical column at ``uniform``
        (..., n_categorical, grouped order): the number of levels whose
        cumulative probability the draw exceeds, as a code (the slots'
        CDF, then the infrequent group's by training frequencies)."""
        expansion = self.expansion
        codes, withins = [], []
        undrawn = expansion.levels(expansion.undrawn) if expansion.has_undrawn else None
        for g, (logits, (first, stop, k)) in enumerate(
            zip(self._blocks(decoded)[1], expansion.groups, strict=True)
        ):
            probabilities = F.softmax(logits, -1)  # (..., n_columns, n_slots)
            if expansion.has_undrawn:
                # Levels of no training row are never drawn.
                kept = 1.0 - undrawn[g].to(probabilities.dtype)
                probabilities = probabilities * kept
                probabilities = probabilities / probabilities.sum(-1, keepdim=True)
            cdf = probabilities.cumsum(-1)
            exceeded = (uniform[..., first:stop, None] > cdf).sum(-1)
            slot = exceeded.clamp(max=k - 1)  # rounding can leave cdf < 1
            if expansion.numeric_levels is not None:
                # Where the draw fell within its slot's stretch of the CDF:
                # uniform on [0, 1], the position within a numeric level.
                p = probabilities.gather(-1, slot[..., None]).squeeze(-1)
                above = cdf.gather(-1, slot[..., None]).squeeze(-1) - p
                within = (uniform[..., first:stop] - above) / p
                withins.append(within.nan_to_num(0.5).clamp(0.0, 1.0))
            if not expansion._grouped[g]:
                codes.append(slot)
                continue
            code = expansion._slot_codes(g, slot)
            for i in range(first, stop):
                if expansion.infrequent[i] is None:
                    continue
                # Within the group (the last slot), the same uniform,
                # rescaled to the group's interval of the CDF, picks a level
                # by the training frequencies: one inverse CDF over every
                # level, as if the group's levels had slots of their own.
                c = i - first
                p_group = probabilities[..., c, -1]
                within = (uniform[..., i] - (cdf[..., c, -1] - p_group)) / p_group
                within = within.nan_to_num(0.0).clamp(0.0, 1.0)
                draws = expansion.group_draws[i]
                position = torch.searchsorted(draws.cdf, within.contiguous())
                level = draws.codes[position.clamp(max=len(draws.cdf) - 1)]
                code[..., c] = torch.where(slot[..., c] == k - 1, level, code[..., c])
            codes.append(code)
        codes = torch.cat(codes, -1)
        if expansion.numeric_levels is None:
            return codes.to(decoded.dtype)
        # Numeric columns over levels: the value at that position.
        position = expansion.leveled_position
        values = expansion.numeric_levels.values(
            codes.index_select(-1, position),
            torch.cat(withins, -1).index_select(-1, position),
        )
        return codes.to(decoded.dtype).index_copy(-1, position, values)


def _group_maps(
    expansion: "ColumnExpansion", categorical_columns: torch.Tensor
) -> list[BlockMaps]:
    """Per block of ``expansion``, the maps of its grouped columns (none for
    a block without one)."""
    # Their columns' tables concatenated (see _InfrequentGroup): level ->
    # slot and log-share, by code plus the column's offset; and per slot
    # the level that collapse names, its share, and the sum of squared
    # shares (the Brier score's).
    blocks = []
    for g, (first, stop, _) in enumerate(expansion.groups):
        if not expansion._grouped[g]:
            blocks.append(BlockMaps())
            continue
        maps = [
            _InfrequentGroup.identity(expansion.n_levels[j])
            if expansion.infrequent[i] is None
            else expansion.infrequent[i]
            for i, j in zip(
                range(first, stop),
                categorical_columns[first:stop].tolist(),
                strict=True,
            )
        ]
        sizes = torch.tensor([len(group.slot_of) for group in maps])
        blocks.append(
            BlockMaps(
                level_offsets=torch.cumsum(sizes, 0) - sizes,
                slot_of=torch.cat([group.slot_of for group in maps]),
                log_share=torch.cat([group.log_share for group in maps]),
                slot_code=torch.stack([group.slot_code for group in maps]),
                slot_share=torch.stack([group.slot_share for group in maps]),
                slot_square_share=torch.stack(
                    [group.slot_square_share for group in maps]
                ),
            )
        )
    return blocks


def _leveled_columns(numeric_levels, order: list[int]):
    """``(levels, counts, buffers)`` of the numeric columns over levels
    among the categorical columns in grouped ``order``: their
    ``NumericLevels`` (None without any), training counts, and positions,
    scales and centres by buffer name."""
    leveled = [i for i, j in enumerate(order) if numeric_levels and numeric_levels[j]]
    levels = (
        NumericLevels([numeric_levels[order[i]][:2] for i in leveled])
        if leveled
        else None
    )
    counts = [numeric_levels[order[i]][4] for i in leveled]
    scales = [float(numeric_levels[order[i]][2]) for i in leveled]
    centers = [float(numeric_levels[order[i]][3]) for i in leveled]
    return (
        levels,
        counts,
        {
            "leveled_position": torch.tensor(leveled, dtype=torch.long),
            "leveled_scale": torch.tensor(scales, dtype=torch.float32),
            "leveled_center": torch.tensor(centers, dtype=torch.float32),
        },
    )


def _ordinal_levels(expansion: ColumnExpansion) -> OrdinalLevels:
    """The ordinal model of the numeric columns over levels of
    ``expansion``, block by block."""
    position = expansion.leveled_position.tolist()
    blocks = []
    for first, stop, k in expansion.groups:
        inside = [i for i, p in enumerate(position) if first <= p < stop]
        if not inside:
            blocks.append(None)
            continue
        columns = torch.tensor([position[i] - first for i in inside])
        rank = expansion.numeric_levels.rank[inside, :k]
        counts = torch.tensor(
            [expansion.leveled_counts[i] for i in inside], dtype=torch.float64
        )
        blocks.append((columns, rank, counts))
    return OrdinalLevels(blocks)


class _InfrequentGroup:
    """The output slots of a categorical column of ``n_levels`` levels whose
    infrequent ``levels``, (code, count in the training rows) pairs, share
    one slot, the last (the frequent levels keep theirs, in code order).

    Tensors: per level, its slot (``slot_of``) and the log of its share of
    that slot (``log_share``: its count over the group's for an infrequent
    level, 0 for a frequent one); per slot, the code of the level that
    ``collapse`` names (``slot_code``: the most frequent level of the group
    for its slot), that level's share (``slot_share``) and the sum of the
    squared shares of the slot's levels (``slot_square_share``); and the
    group's levels (``codes``) and their cumulative shares (``cdf``).
    """

    def __init__(
        self,
        n_levels: int,
        levels: Sequence[tuple[int, int]],
        unobserved: Sequence[int] = (),
    ) -> None:
        levels = sorted(levels)
        codes = np.array([code for code, _ in levels], dtype=np.int64)
        counts = np.array([count for _, count in levels], dtype=np.float64)
        infrequent = np.zeros(n_levels, dtype=bool)
        infrequent[codes] = True
        frequent = np.flatnonzero(~infrequent)
        self.n_slots = len(frequent) + 1
        share = counts / counts.sum()
        slot_of = np.full(n_levels, len(frequent))
        slot_of[frequent] = np.arange(len(frequent))
        log_share = np.zeros(n_levels)
        log_share[codes] = np.log(share)
        top = int(np.argmax(counts))  # the first of equals: the lowest code
        ones = np.ones(len(frequent))
        self._set(
            slot_of=slot_of,
            log_share=log_share,
            slot_code=np.r_[frequent, codes[top]],
            slot_share=np.r_[ones, share[top]],
            slot_square_share=np.r_[ones, np.square(share).sum()],
            codes=codes,
            cdf=np.cumsum(_drawn_share(codes, counts, unobserved)),
        )

    def _set(self, **arrays) -> None:
        for name, array in arrays.items():
            dtype = torch.long if array.dtype.kind in "iu" else torch.float32
            setattr(self, name, torch.tensor(array, dtype=dtype))

    @classmethod
    def identity(cls, n_levels: int) -> "_InfrequentGroup":
        """The maps of a column without infrequent levels (a slot each)."""
        group = cls.__new__(cls)
        group.n_slots = n_levels
        levels = np.arange(n_levels)
        group._set(
            slot_of=levels,
            log_share=np.zeros(n_levels),
            slot_code=levels,
            slot_share=np.ones(n_levels),
            slot_square_share=np.ones(n_levels),
        )
        return group


def _drawn_share(codes, counts, unobserved):
    """Each grouped level's share of its group's draws: by training count,
    none for a level of no training row (unless no level has one)."""
    drawn = np.where(np.isin(codes, unobserved), 0.0, counts)
    drawn = drawn if drawn.sum() > 0 else counts
    return drawn / drawn.sum()
