"""Numeric columns modelled over levels: discrete values and histograms.

A numeric column of the "discrete" or "histogram" family is a categorical
column inside the network (the decoder gives a logit per level, the encoder
embeds the cell's level) whose levels are *point masses* (single values)
and, for a histogram, *intervals* between quantiles of the other values.
A cell's log-likelihood is its level's log-probability plus the
log-density of the value within the level (:meth:`NumericLevels.log_density`):
0 at a point mass (a probability), minus the log of the width for an
interval (uniform inside), and a small exponential tail past the training
range on the outer intervals, so that every real value has a density and
the row's bound stays in nats of the data as given. The levels'
probabilities come from an ordinal model (:class:`OrdinalLevels`).
"""

import math
from collections.abc import Sequence

import torch
from torch import nn

from skvae._torch.layers import BlockMaps

# Probability mass of each outer interval that lies past the training range.
TAIL_MASS = 1e-3


class NumericLevels(nn.Module):
    """The levels of ``len(specs)`` numeric columns, in their given order.

    ``specs[i]`` is ``(points, edges)``: the column's point-mass values
    (levels ``0 .. len(points) - 1``) and the ascending edges of its
    intervals (levels ``len(points) ..``, one per pair of neighbouring
    edges; no edges for a discrete column), both ascending. Tables are
    padded to the widest column with +inf.
    """

    def __init__(self, specs: Sequence[tuple[Sequence[float], Sequence[float]]]):
        super().__init__()
        n = len(specs)
        n_points = [len(points) for points, _ in specs]
        n_intervals = [max(len(edges) - 1, 0) for _, edges in specs]
        width = max(1, *n_points)
        n_edges = max(2, *(len(edges) for _, edges in specs))
        points = torch.full((n, width), math.inf, dtype=torch.float64)
        edges = torch.full((n, n_edges), math.inf, dtype=torch.float64)
        for i, (p, e) in enumerate(specs):
            points[i, : len(p)] = torch.tensor(p, dtype=torch.float64)
            edges[i, : len(e)] = torch.tensor(e, dtype=torch.float64)
        self.n_levels = tuple(p + b for p, b in zip(n_points, n_intervals, strict=True))
        n_points = torch.tensor(n_points)
        n_intervals = torch.tensor(n_intervals)
        widths = edges.diff(dim=1)  # (n, n_edges - 1); inf or NaN past the end
        real = torch.arange(n_edges - 1) < n_intervals[:, None]
        widths = torch.where(real, widths, torch.ones_like(widths))
        last = (n_intervals - 1).clamp(min=0)[:, None]  # (n, 1)
        index = torch.arange(n_edges - 1)
        tail_low = torch.where(index == 0, TAIL_MASS, 0.0)
        tail_high = torch.where(index == last, TAIL_MASS, 0.0)
        inner = 1.0 - tail_low - tail_high  # (n, n_intervals): mass inside
        centre = edges[:, :-1] + widths / 2
        first_width, last_width = widths[:, :1], widths.gather(1, last)
        top = edges.gather(1, n_intervals[:, None])
        # An outer interval's tail past e is e -/+ Exp(width): mean e -/+ width.
        interval_mean = (
            inner * centre
            + tail_low * (edges[:, :1] - first_width)
            + tail_high * (top + last_width)
        )
        level_mean = torch.zeros((n, max(self.n_levels)), dtype=torch.float64)
        sizes = zip(n_points.tolist(), n_intervals.tolist(), strict=True)
        for i, (p, b) in enumerate(sizes):
            level_mean[i, :p] = points[i, :p]
            level_mean[i, p : p + b] = torch.where(
                real[i, :b], interval_mean[i, :b], 0.0
            )
        # The place of each level in order of value (a point mass before
        # an interval that starts at it).
        rank = torch.zeros((n, max(self.n_levels)), dtype=torch.long)
        for i, (p, e) in enumerate(specs):
            keys = [(float(v), 0) for v in p] + [(float(v), 1) for v in e[:-1]]
            order = sorted(range(len(keys)), key=keys.__getitem__)
            rank[i, torch.tensor(order, dtype=torch.long)] = torch.arange(len(keys))
        self.rank = rank
        buffers = {
            "points": points,
            "edges": edges,
            "widths": widths,
            "n_points": n_points,
            "n_intervals": n_intervals,
            "inner_log_density": inner.log() - widths.log(),
            "level_mean": level_mean,
        }
        for name, value in buffers.items():
            # Derived from the architecture, so not saved state.
            self.register_buffer(name, value, persistent=False)

    def _flat(self, x: torch.Tensor) -> torch.Tensor:
        return x.movedim(-1, 0).reshape(x.shape[-1], -1)  # (n, m)

    def _unflat(self, y: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return y.reshape(like.shape[-1], *like.shape[:-1]).movedim(0, -1)

    def locate(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Values ``x`` (..., n), no NaN -> the level of each (..., n), as
        codes, and whether a level holds it (False for a value that a
        discrete column never took; its code is then 0)."""
        flat = self._flat(x)
        # The points are ascending (padded with +inf): one search per value.
        points = self.points.to(flat.dtype)
        point = torch.searchsorted(points, flat.contiguous())
        point = point.clamp(max=points.shape[1] - 1)
        hit = points.gather(1, point) == flat
        edges = self.edges.to(flat.dtype)
        interval = torch.searchsorted(edges, flat.contiguous(), right=True) - 1
        interval = torch.minimum(interval.clamp(min=0), self._last_interval())
        known = hit | (self.n_intervals > 0)[:, None]
        code = torch.where(hit, point, self.n_points[:, None] + interval)
        code = torch.where(known, code, torch.zeros_like(code))
        return self._unflat(code, x), self._unflat(known, x)

    def log_density(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """Values ``x`` (..., n), no NaN, in their levels ``code`` (as
        :meth:`locate` gives them) -> the log-density of each within its
        level (..., n): 0 at a point mass, else the interval's uniform
        density, or its exponential tail past the training range."""
        flat, code = self._flat(x), self._flat(code)
        on_point, interval = self._split(code)
        edges = self.edges.to(flat.dtype)
        widths = self.widths.to(flat.dtype)
        density = self.inner_log_density.to(flat.dtype).gather(1, interval)
        low, first = edges[:, :1], widths[:, :1]
        high = edges.gather(1, self.n_intervals[:, None])
        last_width = widths.gather(1, self._last_interval())
        log_tail = math.log(TAIL_MASS)
        below = log_tail - first.log() - (low - flat) / first
        above = log_tail - last_width.log() - (flat - high) / last_width
        density = torch.where(flat < low, below, density)
        density = torch.where(flat > high, above, density)
        density = torch.where(on_point, torch.zeros_like(density), density)
        return self._unflat(density, x)

    def _last_interval(self) -> torch.Tensor:
        """(n, 1): the index of each column's last interval (0 if none)."""
        return (self.n_intervals - 1).clamp(min=0)[:, None]

    def _split(self, code: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Codes (n, m) -> whether each is a point mass, and the index of
        its interval otherwise (n, m)."""
        is_point = code < self.n_points[:, None]
        interval = (code - self.n_points[:, None]).clamp(min=0)
        return is_point, torch.minimum(interval, self._last_interval())

    def values(self, code: torch.Tensor, within: torch.Tensor) -> torch.Tensor:
        """Levels ``code`` (..., n) and a uniform ``within`` (..., n) in
        [0, 1] -> values: a point mass's own, or the value at quantile
        ``within`` of the interval's distribution (tails included)."""
        dtype = within.dtype
        code, u = self._flat(code), self._flat(within).clamp(1e-12, 1 - 1e-12)
        is_point, interval = self._split(code)
        point = self.points.to(dtype).gather(
            1, code.clamp(max=self.points.shape[1] - 1)
        )
        last = self._last_interval()
        edges, widths = self.edges.to(dtype), self.widths.to(dtype)
        left, width = edges.gather(1, interval), widths.gather(1, interval)
        tail_low = torch.where(interval == 0, TAIL_MASS, 0.0).to(dtype)
        tail_high = torch.where(interval == last, TAIL_MASS, 0.0).to(dtype)
        inner = left + width * ((u - tail_low) / (1 - tail_low - tail_high)).clamp(0, 1)
        below = edges[:, :1] - width * torch.log(tail_low / u)
        high = edges.gather(1, self.n_intervals[:, None])
        above = high + width * torch.log(tail_high / (1 - u))
        value = torch.where(u < tail_low, below, inner)
        value = torch.where(u > 1 - tail_high, above, value)
        value = torch.where(is_point, point, value)
        return self._unflat(value, within)


class OrdinalLevels(nn.Module):
    """Ordinal probabilities for the numeric columns over levels of each
    block of categorical columns (HI-VAE's ordinal likelihood, McCullagh's
    cumulative logit model): the decoder's first two slots of such a column
    are a location ``eta`` and a scale ``s``, and with learned cut-points
    ``c_1 < ... < c_{K-1}``,

        P(level <= k | z) = sigmoid((c_k - eta) / s),

    over the levels in order of value. One smooth location per column is
    what the decoder has to move with ``z``, instead of a logit per level.
    The cut-points start at the logits of the training rows' cumulative
    level frequencies, so that ``eta = 0, s = 1`` gives the marginal.

    ``blocks`` lists, per block of ``ColumnExpansion.groups``, the
    in-block positions of its numeric columns over levels, with their
    ranks (``rank[i, code]``: the place of level ``code`` in order of
    value) and training counts per level, (m, K) each; None for a block
    without one.
    """

    def __init__(self, blocks: Sequence[tuple | None]) -> None:
        super().__init__()
        self.firsts = nn.ParameterList()
        self.gaps = nn.ParameterList()
        # The columns over levels of each such block and their levels' ranks.
        self.maps = nn.ModuleList()
        self._blocks = []
        for block in blocks:
            if block is None or block[1].shape[1] < 2:
                self._blocks.append(None)
                continue
            columns, rank, counts = block
            k = rank.shape[1]
            by_rank = torch.zeros_like(counts).scatter_(1, rank, counts)
            share = (by_rank.cumsum(1)[:, :-1] + 0.5) / (by_rank.sum(1, True) + 1.0)
            cuts = torch.logit(share)  # (m, K - 1), ascending
            gaps = cuts.diff(dim=1).clamp(min=1e-3)
            self.firsts.append(nn.Parameter(cuts[:, :1].float()))
            # softplus^-1 of the gaps, so that softplus gives them back.
            self.gaps.append(
                nn.Parameter((gaps + torch.log(-torch.expm1(-gaps))).float())
            )
            self.maps.append(BlockMaps(columns=columns, rank=rank))
            self._blocks.append((len(self.firsts) - 1, k))

    def forward(self, blocks: list[torch.Tensor]) -> list[torch.Tensor]:
        """Per block (..., n_columns, K) of decoder outputs -> the same with
        the numeric columns over levels as their levels' log-probabilities."""
        out = list(blocks)
        for b, spec in enumerate(self._blocks):
            if spec is None:
                continue
            p, k = spec
            columns, rank = self.maps[p].columns, self.maps[p].rank
            outputs = blocks[b].index_select(-2, columns)  # (..., m, K)
            eta = outputs[..., 0:1]
            scale = nn.functional.softplus(outputs[..., 1:2] + _SOFTPLUS_ONE) + 1e-3
            gaps = nn.functional.softplus(self.gaps[p])
            cuts = torch.cat([self.firsts[p], self.firsts[p] + gaps.cumsum(1)], 1)
            below = torch.sigmoid((cuts.to(eta.dtype) - eta) / scale)  # (..., m, K-1)
            zeros = torch.zeros_like(below[..., :1])
            cdf = torch.cat([zeros, below, zeros + 1.0], -1)  # (..., m, K + 1)
            by_rank = cdf.diff(dim=-1).clamp(min=torch.finfo(cdf.dtype).tiny).log()
            log_p = by_rank.gather(-1, rank.expand(*by_rank.shape[:-1], k))
            out[b] = blocks[b].index_copy(-2, columns, log_p)
        return out


# softplus(_SOFTPLUS_ONE) = 1: a decoder output of 0 is a scale of 1.
_SOFTPLUS_ONE = math.log(math.e - 1.0)
