"""Categorical columns in the network (``skvae._torch.columns``): exact
per-column likelihoods, valid codes, and a cost of one column, not of its
levels."""

import time

import numpy as np
import pytest
import torch
from configs import seeded
from torch.distributions import Categorical
from torch.utils._python_dispatch import TorchDispatchMode

from skvae._objective import importance_weighted_bound
from skvae._regularizers import AdversarialPenalty
from skvae._torch.columns import (
    MAX_EMBEDDING_WIDTH,
    ColumnEmbedding,
    ColumnExpansion,
    MixedLikelihood,
    embedding_width,
)
from skvae._torch.distributions import Observed
from skvae._torch.likelihoods import GaussianLikelihood
from skvae._torch.networks import VAE, Discriminator

# Mixed level counts, numeric columns between them, and two 3-level
# columns apart (a group whose slots are not contiguous).
N_LEVELS = (3, 0, 859, 1, 2, 0, 3, 2)


def _cells(n_levels, n_rows, seed=0, missing=0.2):
    """Random rows: numeric cells N(0, 1), categorical ones valid codes,
    a fraction ``missing`` of the cells NaN."""
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(n_rows, len(n_levels)))
    for j, k in enumerate(n_levels):
        if k:
            x[:, j] = rng.randint(k, size=n_rows)
    x[rng.uniform(size=x.shape) < missing] = np.nan
    return torch.tensor(x)


def _likelihood(n_levels=N_LEVELS):
    expansion = ColumnExpansion(n_levels)
    return MixedLikelihood(GaussianLikelihood, expansion).double(), expansion


def _in_levels(codes, n_levels):
    """Whether every categorical cell of ``codes`` is a valid code."""
    for j, k in enumerate(n_levels):
        column = codes[..., j]
        if k and not (column.eq(column.round()) & (column >= 0) & (column < k)).all():
            return False
    return True


# ------------------------------------------------------------ likelihood


def test_log_prob_is_torchs_categorical_log_prob_column_by_column():
    likelihood, expansion = _likelihood()
    decoded = torch.randn(5, 6, expansion.n_outputs, generator=seeded(), dtype=float)
    x = _cells(N_LEVELS, 6)
    log_prob = likelihood(decoded).base_dist.log_prob(x)  # (5, 6, n_features)
    assert log_prob.shape == (5, 6, len(N_LEVELS))
    start = 0
    for j, k in enumerate(N_LEVELS):
        if k:
            logits = decoded[..., start : start + k]
            observed = ~x[:, j].isnan()
            expected = Categorical(logits=logits[:, observed]).log_prob(x[observed, j])
            torch.testing.assert_close(log_prob[:, observed, j], expected)
            assert log_prob[:, ~observed, j].isnan().all()
        start += max(k, 1)


def test_missing_cells_contribute_nothing_to_the_row():
    likelihood, expansion = _likelihood()
    decoded = torch.randn(4, expansion.n_outputs, generator=seeded(), dtype=float)
    x = _cells(N_LEVELS, 4, missing=0.4)
    cells = likelihood(decoded).base_dist
    per_column = cells.log_prob(x)
    total = Observed(cells, 1).log_prob(x)
    torch.testing.assert_close(total, per_column.nan_to_num(0.0).sum(-1))
    # Blanking an observed cell drops exactly its term.
    blanked = x.clone()
    blanked[:, 2] = np.nan
    dropped = per_column[:, 2].nan_to_num(0.0)
    torch.testing.assert_close(Observed(cells, 1).log_prob(blanked), total - dropped)


def test_mean_gives_each_column_a_distribution_over_its_levels():
    likelihood, expansion = _likelihood()
    decoded = torch.randn(7, expansion.n_outputs, generator=seeded(), dtype=float)
    mean = likelihood.mean(decoded)
    assert mean.shape == decoded.shape
    start = 0
    for k in N_LEVELS:
        if k:
            expected = torch.softmax(decoded[:, start : start + k], -1)
            torch.testing.assert_close(mean[:, start : start + k], expected)
        else:
            torch.testing.assert_close(mean[:, start], decoded[:, start])
        start += max(k, 1)


def test_collapse_sample_and_draw_give_codes_within_each_columns_levels():
    likelihood, expansion = _likelihood()
    decoded = 3 * torch.randn(500, expansion.n_outputs, generator=seeded(), dtype=float)
    collapsed = expansion.collapse(likelihood.mean(decoded))
    drawn = likelihood.sample(decoded, seeded(1))
    uniform = torch.rand(500, len(N_LEVELS), generator=seeded(2), dtype=float)
    pulled = likelihood.draw(decoded, uniform)
    for codes in (collapsed, drawn, pulled):
        assert codes.shape == (500, len(N_LEVELS))
        assert _in_levels(codes, N_LEVELS)
    # collapse is the most probable level; draw is the inverse CDF.
    start = 0
    for j, k in enumerate(N_LEVELS):
        if k:
            probabilities = torch.softmax(decoded[:, start : start + k], -1)
            assert torch.equal(collapsed[:, j].long(), probabilities.argmax(-1))
            cdf = probabilities.cumsum(-1)
            expected = (uniform[:, j, None] > cdf).sum(-1).clamp(max=k - 1)
            assert torch.equal(pulled[:, j].long(), expected)
        start += max(k, 1)
    # Uniforms at the edges still give valid levels.
    for edge in (0.0, 1.0 - 1e-16):
        codes = likelihood.draw(decoded, torch.full_like(uniform, edge))
        assert _in_levels(codes, N_LEVELS)


def test_samples_follow_the_level_probabilities():
    likelihood, expansion = _likelihood((4, 0))
    logits = torch.tensor([0.0, 1.0, 2.0, -1.0], dtype=float)
    decoded = torch.cat([logits, torch.zeros(1, dtype=float)]).expand(20000, 5)
    codes = likelihood.sample(decoded, seeded())[:, 0].long()
    frequencies = torch.bincount(codes, minlength=4).double() / 20000.0
    torch.testing.assert_close(
        frequencies, torch.softmax(logits, -1), atol=0.015, rtol=0
    )


def test_squared_error_of_a_categorical_cell_is_the_one_hot_brier_score():
    likelihood, expansion = _likelihood()
    decoded = torch.randn(9, expansion.n_outputs, generator=seeded(), dtype=float)
    mean = likelihood.mean(decoded)
    x = _cells(N_LEVELS, 9)
    error = expansion.squared_error(x, mean)
    start = 0
    for j, k in enumerate(N_LEVELS):
        observed = ~x[:, j].isnan()
        if k:
            one_hot = torch.nn.functional.one_hot(
                x[observed, j].long(), k
            ).double()  # (n_observed, k): the reference only
            expected = (one_hot - mean[observed, start : start + k]).square().sum(-1)
        else:
            expected = (x[observed, j] - mean[observed, start]).square()
        torch.testing.assert_close(error[observed, j], expected)
        assert error[~observed, j].isnan().all()
        start += max(k, 1)


# ------------------------------------------------------------- embedding


def test_embedding_width_loses_nothing_up_to_its_cap():
    assert [embedding_width(k) for k in (1, 2, 3, 17)] == [1, 1, 2, 16]
    assert embedding_width(4043) == MAX_EMBEDDING_WIDTH
    embedding = ColumnEmbedding(ColumnExpansion(N_LEVELS), seeded())
    widths = sum(embedding_width(k) for k in N_LEVELS if k)
    assert embedding.out_features == 2 + widths
    # Columns of equal width share one table.
    assert len(embedding.tables) == len({embedding_width(k) for k in N_LEVELS if k})


def test_embedding_looks_up_each_cells_level_and_zeros_a_missing_one():
    expansion = ColumnExpansion(N_LEVELS)
    embedding = ColumnEmbedding(expansion, seeded()).double()
    x = _cells(N_LEVELS, 50)
    features = embedding(x)
    missing = embedding.missing(x)
    assert features.shape == missing.shape == (50, embedding.out_features)
    assert features[missing].nan_to_num(0.0).eq(0).all()
    # A cell's vector depends on its own level only: same level, same vector.
    same = x.clone()
    same[1:] = same[0]
    vectors = embedding(same)
    torch.testing.assert_close(
        vectors[1:], vectors[0].expand(49, -1), rtol=0, atol=0, equal_nan=True
    )
    # expected() of a one-hot mean is the level's vector.
    likelihood = MixedLikelihood(GaussianLikelihood, expansion).double()
    decoded = torch.full((50, expansion.n_outputs), -1e4, dtype=float)
    complete = x.nan_to_num(0.0)
    start = 0
    for j, k in enumerate(N_LEVELS):
        if k:
            slots = start + complete[:, j].long()
            decoded[torch.arange(50), slots] = 1e4
        else:
            decoded[:, start] = complete[:, j]
        start += max(k, 1)
    torch.testing.assert_close(
        embedding.expected(likelihood.mean(decoded)), embedding(complete)
    )


def test_embeddings_are_drawn_from_the_generator():
    a, b, c = (ColumnEmbedding(ColumnExpansion(N_LEVELS), seeded(s)) for s in (1, 1, 2))
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    assert not torch.equal(a.tables[0].weight, c.tables[0].weight)


def test_without_categorical_columns_every_map_is_the_identity():
    expansion = ColumnExpansion((0, 0, 0))
    embedding = ColumnEmbedding(expansion, seeded())
    x = torch.tensor([[1.0, np.nan, -2.0]])
    assert embedding(x) is x and embedding.expected(x) is x
    assert expansion.collapse(x) is x
    assert embedding.out_features == expansion.n_outputs == 3
    assert list(embedding.parameters()) == []


def test_adversarial_penalty_trains_on_a_table_with_categorical_columns():
    vae = VAE(len(N_LEVELS), (8,), 2, n_levels=N_LEVELS, generator=seeded())
    discriminator = Discriminator(vae.expansion, (8,), seeded(1))
    optimizer = torch.optim.Adam(discriminator.parameters(), lr=1e-2)
    regularizer = AdversarialPenalty(0.5, discriminator, optimizer, seeded(2))
    x = _cells(N_LEVELS, 32).float()
    regularizer.penalty(vae, x).backward()
    # The decoder is pushed through the generated rows' probabilities, the
    # encoder not at all.
    assert vae.decoder.out.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in vae.encoder.parameters())
    tables = [t.weight.detach().clone() for t in discriminator.embedding.tables]
    losses = [regularizer.step(x)["discriminator_loss"]]
    for _ in range(30):
        regularizer.penalty(vae, x)
        losses.append(regularizer.step(x)["discriminator_loss"])
    assert losses[-1] < losses[0]
    # The discriminator's own level vectors learn.
    after = discriminator.embedding.tables
    assert any(not torch.equal(t, a.weight) for t, a in zip(tables, after, strict=True))


# ------------------------------------------------------------------ cost


class _LargestTensor(TorchDispatchMode):
    """Records the most elements of any tensor an op creates."""

    def __init__(self):
        super().__init__()
        self.numel = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for tensor in torch.utils._pytree.tree_leaves(out):
            if isinstance(tensor, torch.Tensor):
                self.numel = max(self.numel, tensor.numel())
        return out


@pytest.mark.parametrize("part", ["bound", "mean", "sample", "reconstruction"])
def test_a_wide_column_costs_its_levels_once_not_per_categorical_column(part):
    # One 2000-level column and twelve 3-level ones: padding every column to
    # 2000 levels would make (n, 13, 2000) tensors, 13 times the logits.
    n_levels = (2000,) + (3,) * 12 + (0, 0)
    vae = VAE(len(n_levels), (16,), 2, n_levels=n_levels, generator=seeded())
    vae = vae.double().eval()
    vae.observed_only = True
    x = _cells(n_levels, 1000)
    k = 3  # importance samples
    logits = k * 1000 * vae.expansion.n_outputs
    noise = torch.randn(k, 1000, 2, generator=seeded(1), dtype=float)
    start = time.perf_counter()
    with torch.no_grad(), _LargestTensor() as largest:
        if part == "bound":
            importance_weighted_bound(vae, x, noise)
        elif part == "mean":
            vae.expansion.collapse(vae.decode_mean(noise))
        elif part == "sample":
            vae.likelihood.sample(vae.decoder(noise), seeded())
        else:
            vae.expansion.squared_error(x, vae.decode_mean(vae(x).code()))
    elapsed = time.perf_counter() - start
    assert largest.numel <= logits
    assert elapsed < 5.0
