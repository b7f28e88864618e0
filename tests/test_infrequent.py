"""Infrequent levels (``min_frequency``, ``max_categories``): one decoder
output for a column's rare levels, split by their training counts, so that
the likelihood stays a probability over every level seen in fit."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from configs import FAST, seeded
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils._param_validation import InvalidParameterError

from skvae import VAEAnomalyDetector, VAEImputer, VAETransformer
from skvae._architecture import infrequent_levels
from skvae._torch.columns import ColumnEmbedding, ColumnExpansion, MixedLikelihood
from skvae._torch.likelihoods import GaussianLikelihood

# Two grouped columns (one whose group holds its most frequent level's
# neighbours in code order, one whose group starts at code 0), a numeric
# column and an ungrouped categorical one.
N_LEVELS = (6, 0, 9, 3)
INFREQUENT = (((3, 1), (4, 2), (5, 1)), (), ((0, 5), (7, 1), (8, 3)), ())


def _likelihood():
    expansion = ColumnExpansion(N_LEVELS, INFREQUENT)
    return MixedLikelihood(GaussianLikelihood, expansion).double(), expansion


def _level_log_probs(likelihood, decoded, j):
    """log p(level) of every level of column ``j``: (n_rows, n_levels)."""
    columns = []
    for code in range(N_LEVELS[j]):
        x = torch.zeros(decoded.shape[0], len(N_LEVELS), dtype=decoded.dtype)
        x[:, j] = code
        columns.append(likelihood(decoded).base_dist.log_prob(x)[:, j])
    return torch.stack(columns, -1)


def _group_slot(j):
    """The output slot of column ``j``'s infrequent group: the last of its
    slots (numeric columns and frequent levels come first, column by
    column)."""
    widths = [
        max(k - len(group) + (1 if group else 0), 1)
        for k, group in zip(N_LEVELS, INFREQUENT, strict=True)
    ]
    return sum(widths[: j + 1]) - 1


def _warnings_off():
    warnings.simplefilter("ignore", ConvergenceWarning)


# ------------------------------------------------------------------ rule


@pytest.mark.parametrize(
    "params",
    [
        dict(min_frequency=5),
        dict(min_frequency=0.04),
        dict(max_categories=1),
        dict(max_categories=3),
        dict(max_categories=4, min_frequency=9),
        dict(max_categories=40),
    ],
)
def test_infrequent_levels_are_onehotencoders(params):
    rng = np.random.RandomState(0)
    counts = rng.randint(1, 12, size=10)
    counts[[2, 5]] = counts[7]  # ties, broken as OneHotEncoder breaks them
    column = np.repeat(np.arange(10), counts).reshape(-1, 1)
    encoder = OneHotEncoder(**params).fit(column)
    found = encoder.infrequent_categories_[0]
    expected = [] if found is None else list(found)
    assert list(infrequent_levels(counts, len(column), **params)) == expected


def test_a_level_of_no_training_row_is_never_grouped():
    # A column with no observed cell has one placeholder level of count 0.
    assert list(infrequent_levels([0], 10, min_frequency=2)) == []
    assert list(infrequent_levels([0], 10, max_categories=1)) == []


# ------------------------------------------------------------- the model


def test_decoder_has_one_output_per_frequent_level_and_one_per_group():
    expansion = ColumnExpansion(N_LEVELS, INFREQUENT)
    assert expansion.n_output_levels == (4, 0, 7, 3)
    assert expansion.n_outputs == 4 + 1 + 7 + 3


def test_log_probs_of_every_seen_level_sum_to_one():
    likelihood, expansion = _likelihood()
    decoded = 3 * torch.randn(20, expansion.n_outputs, generator=seeded(), dtype=float)
    for j, k in enumerate(N_LEVELS):
        if k:
            total = _level_log_probs(likelihood, decoded, j).logsumexp(-1)
            torch.testing.assert_close(total, torch.zeros(20, dtype=float))


def test_an_infrequent_levels_log_prob_is_the_groups_plus_its_share():
    likelihood, expansion = _likelihood()
    decoded = torch.randn(8, expansion.n_outputs, generator=seeded(), dtype=float)
    start = 0
    for j, k in enumerate(N_LEVELS):
        width = max(expansion.n_output_levels[j], 1)
        if INFREQUENT[j]:
            logits = decoded[:, start : start + width]
            log_group = torch.log_softmax(logits, -1)[:, -1]
            log_probs = _level_log_probs(likelihood, decoded, j)
            total = sum(count for _, count in INFREQUENT[j])
            for code, count in INFREQUENT[j]:
                expected = log_group + np.log(count / total)
                torch.testing.assert_close(log_probs[:, code], expected)
            # A frequent level keeps its own softmax output.
            frequent = [c for c in range(k) if c not in dict(INFREQUENT[j])]
            torch.testing.assert_close(
                log_probs[:, frequent], torch.log_softmax(logits, -1)[:, :-1]
            )
        start += width


def test_samples_and_draws_follow_the_level_probabilities():
    likelihood, expansion = _likelihood()
    n = 40000
    decoded = torch.zeros(expansion.n_outputs, dtype=float)
    for j in (0, 2):  # the groups are likely enough to be drawn often
        decoded[_group_slot(j)] = 1.5
    decoded = decoded.expand(n, -1)
    sampled = likelihood.sample(decoded, seeded(1))
    uniform = torch.rand(n, len(N_LEVELS), generator=seeded(2), dtype=float)
    drawn = likelihood.draw(decoded, uniform)
    for j, k in enumerate(N_LEVELS):
        if not k:
            continue
        probabilities = _level_log_probs(likelihood, decoded[:1], j)[0].exp()
        for codes in (sampled, drawn):
            frequencies = torch.bincount(codes[:, j].long(), minlength=k) / n
            torch.testing.assert_close(
                frequencies.double(), probabilities, atol=0.01, rtol=0
            )
        if INFREQUENT[j]:
            # Within the group, the levels follow their training counts.
            group = [code for code, _ in INFREQUENT[j]]
            counts = torch.tensor([count for _, count in INFREQUENT[j]], dtype=float)
            in_group = torch.bincount(sampled[:, j].long(), minlength=k)[group]
            torch.testing.assert_close(
                in_group.double() / in_group.sum(),
                counts / counts.sum(),
                atol=0.02,
                rtol=0,
            )
    # Uniforms at the edges still give valid levels.
    for edge in (0.0, 1.0 - 1e-16):
        codes = likelihood.draw(decoded[:3], torch.full((3, 4), edge, dtype=float))
        for j, k in enumerate(N_LEVELS):
            if k:
                assert ((codes[:, j] >= 0) & (codes[:, j] < k)).all()


def test_collapse_is_the_most_probable_level():
    likelihood, expansion = _likelihood()
    decoded = 2 * torch.randn(300, expansion.n_outputs, generator=seeded(), dtype=float)
    for j in (0, 2):  # make the group win often
        decoded[::2, _group_slot(j)] += 3.0
    collapsed = expansion.collapse(likelihood.mean(decoded))
    for j, k in enumerate(N_LEVELS):
        if k:
            probabilities = _level_log_probs(likelihood, decoded, j).exp()
            assert torch.equal(collapsed[:, j].long(), probabilities.argmax(-1))
    # Both outcomes occur: a frequent level and the group's top level.
    assert set(collapsed[:, 2].long().tolist()) & {0, 8}
    assert set(collapsed[:, 2].long().tolist()) - {0, 7, 8}


def test_brier_score_and_expected_embedding_count_every_level():
    likelihood, expansion = _likelihood()
    decoded = torch.randn(30, expansion.n_outputs, generator=seeded(), dtype=float)
    mean = likelihood.mean(decoded)
    x = torch.zeros(30, len(N_LEVELS), dtype=float)
    rng = np.random.RandomState(0)
    for j, k in enumerate(N_LEVELS):
        x[:, j] = torch.tensor(rng.randint(max(k, 1), size=30), dtype=float)
    error = expansion.squared_error(x, mean)
    embedding = ColumnEmbedding(expansion, seeded()).double()
    expected = embedding.expected(mean)
    features, offset = embedding.expected(mean).clone(), 1  # numeric first
    for table, (first, stop, _) in zip(embedding.tables, embedding.runs, strict=True):
        row = 0
        for i in range(first, stop):
            j = expansion.categorical_columns[i].item()
            k = N_LEVELS[j]
            p = _level_log_probs(likelihood, decoded, j).exp()  # (30, k)
            one_hot = torch.nn.functional.one_hot(x[:, j].long(), k).double()
            torch.testing.assert_close(error[:, j], (one_hot - p).square().sum(-1))
            # Each level's vector is its slot's: an infrequent level's is
            # its column's group's.
            group = expansion.infrequent[i]
            slot_of = torch.arange(k) if group is None else group.slot_of
            vectors = table.weight[row + slot_of]  # (k, width)
            width = vectors.shape[1]
            features[:, offset : offset + width] = p @ vectors
            offset, row = offset + width, row + expansion.n_output_levels[j]
    torch.testing.assert_close(expected, features)
    # What the encoder reads for a row is the expectation at its one-hot
    # levels: a grouped level's vector is the group's.
    torch.testing.assert_close(
        embedding(x), embedding.expected(_one_hot_slots(expansion, x))
    )


def _one_hot_slots(expansion, x):
    """(n, n_outputs): numeric cells as they are, 1 in each categorical
    cell's slot."""
    out = torch.zeros(len(x), expansion.n_outputs, dtype=x.dtype)
    for j in range(expansion.n_features):
        start = sum(max(m, 1) for m in expansion.n_output_levels[:j])
        if expansion.n_levels[j] == 0:
            out[:, start] = x[:, j]
            continue
        i = expansion.categorical_columns.tolist().index(j)
        group = expansion.infrequent[i]
        slot = x[:, j].long() if group is None else group.slot_of[x[:, j].long()]
        out[torch.arange(len(x)), start + slot] = 1.0
    return out


def test_without_infrequent_levels_the_expansion_is_unchanged():
    plain = ColumnExpansion(N_LEVELS)
    same = ColumnExpansion(N_LEVELS, ((),) * len(N_LEVELS))
    assert plain.n_output_levels == same.n_output_levels == N_LEVELS
    buffers = dict(plain.named_buffers())
    assert buffers.keys() == dict(same.named_buffers()).keys()
    assert not any(name.startswith("slot_of") for name in buffers)


# ------------------------------------------------------------ estimators


@pytest.fixture(scope="module")
def table():
    """300 rows: two numeric columns, a 3-level column, and a 40-level one
    whose levels 0 to 3 hold most rows."""
    rng = np.random.RandomState(0)
    n = 300
    weights = np.r_[[40.0, 30, 20, 10], np.full(36, 1.0)]
    many = rng.choice(40, size=n, p=weights / weights.sum())
    return pd.DataFrame(
        {
            "x": rng.normal(size=n) + 0.1 * many,
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], n)),
            "plane": pd.Categorical([f"N{i:02d}" for i in many]),
            "y": rng.normal(size=n),
        }
    )


def test_a_grouped_models_decoder_has_the_expected_width(table):
    with warnings.catch_warnings():
        _warnings_off()
        vae = VAETransformer(**FAST, max_categories=5).fit(table)
    counts = table["plane"].value_counts()
    assert vae.net_.module_.decoder.out.out_features == 2 + 3 + 5
    infrequent = vae.infrequent_categories_
    assert infrequent[0] is None
    assert set(infrequent[1]) == set(counts.index) - set(counts.index[:4])


def test_parameters_that_group_nothing_give_the_exact_model(table):
    with warnings.catch_warnings():
        _warnings_off()
        exact = VAETransformer(**FAST).fit(table)
        same = VAETransformer(**FAST, max_categories=100, min_frequency=1).fit(table)
    assert same.architecture_ == exact.architecture_
    assert same.infrequent_categories_ == [None, None]
    np.testing.assert_array_equal(same.score_samples(table), exact.score_samples(table))


def test_a_grouped_model_survives_pickling(table):
    with warnings.catch_warnings():
        _warnings_off()
        vae = VAETransformer(**FAST, min_frequency=0.02).fit(table)
    loaded = pickle.loads(pickle.dumps(vae))
    assert loaded.architecture_ == vae.architecture_
    np.testing.assert_array_equal(loaded.score_samples(table), vae.score_samples(table))
    np.testing.assert_array_equal(loaded.transform(table), vae.transform(table))
    pd.testing.assert_frame_equal(
        loaded.sample(50, random_state=1), vae.sample(50, random_state=1)
    )


def test_skops_stores_a_grouped_model_trusting_only_the_estimator(table):
    sio = pytest.importorskip("skops.io")
    with warnings.catch_warnings():
        _warnings_off()
        vae = VAETransformer(**FAST, max_categories=5).fit(table)
    data = sio.dumps(vae)
    assert sio.get_untrusted_types(data=data) == ["skvae.transformer.VAETransformer"]
    loaded = sio.loads(data, trusted=["skvae.transformer.VAETransformer"])
    assert loaded.architecture_ == vae.architecture_
    np.testing.assert_array_equal(loaded.score_samples(table), vae.score_samples(table))


def test_warm_starts_keep_the_grouping_and_refuse_another(table):
    with warnings.catch_warnings():
        _warnings_off()
        vae = VAETransformer(**FAST, max_categories=5, warm_start=True).fit(table)
        grouping = vae.architecture_.infrequent
        # The counts are the first call's: later chunks change nothing.
        vae.partial_fit(table.iloc[:20])
        vae.fit(table.iloc[::-1])
        assert vae.architecture_.infrequent == grouping
        with pytest.raises(ValueError, match="min_frequency and max_categories"):
            vae.set_params(max_categories=8).fit(table)
    assert vae.architecture_.infrequent == grouping


def test_a_rare_level_stays_unlikely(table):
    with warnings.catch_warnings():
        _warnings_off()
        detector = VAEAnomalyDetector(**{**FAST, "max_iter": 30}, max_categories=5)
        detector.fit(table)
    rows = table.iloc[:100].copy()
    frequent, rare = rows.copy(), rows.copy()
    frequent["plane"] = "N00"  # 13% of the rows
    rare["plane"] = "N39"  # once in 300, in the group
    assert detector.score_samples(rare).mean() < detector.score_samples(
        frequent
    ).mean() - np.log(10)


@pytest.mark.parametrize("Estimator", [VAETransformer, VAEAnomalyDetector, VAEImputer])
@pytest.mark.parametrize(
    "params, match",
    [
        (dict(min_frequency=0), "'min_frequency' parameter"),
        (dict(min_frequency=1.0), "'min_frequency' parameter"),
        (dict(min_frequency=-0.5), "'min_frequency' parameter"),
        (dict(min_frequency="rare"), "'min_frequency' parameter"),
        (dict(max_categories=0), "'max_categories' parameter"),
        (dict(max_categories=2.5), "'max_categories' parameter"),
    ],
)
def test_bad_values_raise_onehotencoders_errors(Estimator, params, table, match):
    with pytest.raises(InvalidParameterError, match=match):
        Estimator(**FAST, **params).fit(table)
    # The same values are refused by OneHotEncoder itself.
    with pytest.raises(InvalidParameterError, match=match):
        OneHotEncoder(**params).fit(table[["colour"]])


def test_every_estimator_stores_the_parameters():
    for Estimator in (VAETransformer, VAEAnomalyDetector, VAEImputer):
        params = Estimator(min_frequency=0.01, max_categories=7).get_params()
        assert params["min_frequency"] == 0.01 and params["max_categories"] == 7
        defaults = Estimator().get_params()
        assert defaults["min_frequency"] is None
        # The detector and the transformer bound a column's outputs; the
        # imputer, whose outputs are levels, models every level.
        expected = None if Estimator is VAEImputer else 64
        assert defaults["max_categories"] == expected
