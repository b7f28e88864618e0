"""Column likelihood families: the levels' densities, the rule of "auto",
and what the estimators do with discrete and histogram columns."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from configs import FAST

from skvae import VAEImputer, VAETransformer
from skvae._families import auto_family, level_spec
from skvae._torch.levels import TAIL_MASS, NumericLevels, OrdinalLevels

LEARN = {**FAST, "n_components": 3, "hidden_layer_sizes": (32,), "max_iter": 60}


@pytest.fixture(scope="module")
def shapes():
    """Columns of the shapes that real tables have: a loan term (few
    values), a zero-inflated debt, a skewed income, a symmetric one."""
    rng = np.random.RandomState(0)
    n = 1500
    income = np.round(rng.lognormal(7, 0.8, size=n), 2)
    return pd.DataFrame(
        {
            "term": rng.choice([12, 24, 36, 60], size=n, p=[0.1, 0.2, 0.25, 0.45]),
            "debt": np.where(rng.uniform(size=n) < 0.7, 0.0, income * 0.3),
            "income": income,
            "height": np.round(rng.normal(170, 10, size=n), 1),
        }
    )


@pytest.fixture(scope="module")
def fitted(shapes):
    return VAETransformer(**LEARN).fit(shapes)


def _levels(spec):
    return NumericLevels([spec[:2]]).double()


def test_auto_names_the_family_of_each_kind_of_column(shapes, fitted):
    families = dict(zip(shapes.columns, fitted.column_likelihoods_, strict=True))
    assert families == {
        "term": "discrete",
        "debt": "histogram",
        "income": "histogram",
        "height": "gaussian",
    }
    assert auto_family(np.array([np.nan, np.nan])) == "gaussian"


def test_each_interval_level_is_a_density_tails_included():
    values = np.random.RandomState(0).gamma(2.0, size=2000)
    spec = level_spec(values, "histogram")
    levels = _levels(spec)
    edges = np.array(spec[1])
    for i in range(len(edges) - 1):
        left, right = edges[i], edges[i + 1]
        width = right - left
        # Midpoints of the interval, and of 60 widths of each tail.
        pieces = [(left, right)]
        if i == 0:
            pieces.append((left - 60 * width, left))
        if i == len(edges) - 2:
            pieces.append((right, right + 60 * width))
        mass = 0.0
        for a, b in pieces:
            x = torch.linspace(a, b, 200_001, dtype=torch.float64)
            x = (x[1:] + x[:-1]) / 2
            cells = x[:, None]
            density = levels.log_density(cells, levels.locate(cells)[0]).exp()
            mass += float(density.sum()) * (b - a) / len(x)
        assert mass == pytest.approx(1.0, abs=1e-4)


def test_a_point_mass_is_a_probability_not_a_density():
    values = np.r_[np.zeros(400), np.random.RandomState(0).uniform(1, 2, 600)]
    spec = level_spec(values, "histogram")
    assert spec[0] == (0.0,)
    levels = _levels(spec)
    code, known = levels.locate(torch.tensor([[0.0], [1.5]], dtype=torch.float64))
    assert code[0, 0] == 0 and code[1, 0] > 0 and known.all()
    zero = torch.zeros((1, 1), dtype=torch.float64)
    assert levels.log_density(zero, levels.locate(zero)[0]) == 0


def test_draws_within_a_level_follow_its_density():
    values = np.random.RandomState(0).uniform(0, 10, size=4000)
    spec = level_spec(values, "histogram")
    levels = _levels(spec)
    n_intervals = len(spec[1]) - 1
    u = torch.rand(200_000, 1, generator=torch.Generator().manual_seed(0))
    first = levels.values(torch.zeros_like(u, dtype=torch.long), u.double())
    last = levels.values(
        torch.full_like(u, n_intervals - 1, dtype=torch.long), u.double()
    )
    # Uniform inside, TAIL_MASS past the range, nothing piled on its ends.
    assert float((first < spec[1][0]).double().mean()) == pytest.approx(
        TAIL_MASS, abs=5e-4
    )
    assert float((last > spec[1][-1]).double().mean()) == pytest.approx(
        TAIL_MASS, abs=5e-4
    )
    assert float((first == spec[1][0]).double().mean()) == 0.0
    inside = first[(first >= spec[1][0]) & (first <= spec[1][1])]
    assert float(inside.mean()) == pytest.approx(
        (spec[1][0] + spec[1][1]) / 2, rel=1e-2
    )


def test_ordinal_cut_points_start_at_the_training_marginal():
    counts = torch.tensor([[10.0, 30.0, 60.0, 100.0]])
    rank = torch.tensor([[2, 0, 3, 1]])  # level code -> place in value order
    ordinal = OrdinalLevels([(torch.tensor([0]), rank, counts)]).double()
    outputs = torch.zeros((1, 1, 4), dtype=torch.float64)  # eta = 0, s = 1
    log_p = ordinal([outputs])[0][0, 0]
    assert float(log_p.exp().sum()) == pytest.approx(1.0)
    expected = (counts[0] + 0.5 * torch.tensor([1.0, 0, 0, 1])) / 201
    np.testing.assert_allclose(log_p.detach().exp(), expected, atol=0.01)


def test_sample_gives_the_values_and_rates_of_the_columns(shapes, fitted):
    drawn = fitted.sample(3000, random_state=0)
    assert set(drawn["term"]) <= {12, 24, 36, 60}
    assert drawn["term"].dtype == shapes["term"].dtype
    assert (drawn["debt"] == 0).mean() == pytest.approx(0.7, abs=0.05)
    share = drawn["term"].value_counts(normalize=True)
    assert share[60] == pytest.approx(0.45, abs=0.06)
    # Nothing piles up at the training range's ends.
    for column in ("income", "height"):
        ends = drawn[column].isin([shapes[column].min(), shapes[column].max()])
        assert ends.mean() < 0.005
    # Values as precise as the training column's (cents, tenths).
    assert np.allclose(drawn["income"], drawn["income"].round(2))
    assert np.allclose(drawn["height"], drawn["height"].round(1))


def test_score_is_a_density_of_the_data_as_given(shapes):
    # Rescaling a histogram column rescales its density: the bound moves
    # by minus the log of the factor, per cell.
    table = shapes[["term", "income"]]
    wider = table.assign(income=table["income"] * 1000)
    a = VAETransformer(**FAST).fit(table).score_samples(table)
    b = VAETransformer(**FAST).fit(wider).score_samples(wider)
    # The same model up to float32 rounding in training.
    assert b.mean() == pytest.approx(a.mean() - np.log(1000), abs=0.05)


def test_a_table_of_discrete_columns_has_a_bound_in_probabilities(shapes):
    table = shapes[["term"]].assign(other=shapes["term"] // 12 % 3)
    vae = VAETransformer(**FAST).fit(table)
    assert (vae.score_samples(table) <= 0).all()


def test_a_value_never_taken_by_a_discrete_column_is_read_as_missing(fitted, shapes):
    rows = shapes.iloc[:3].copy()
    rows.loc[rows.index[0], "term"] = 48
    with pytest.warns(UserWarning, match=r"discrete columns \{'term': \[48.0\]\}"):
        scores = fitted.score_samples(rows)
    assert np.isfinite(scores).all()


def test_a_dict_chooses_families_by_column(shapes):
    vae = VAETransformer(**FAST, likelihood={"term": "gaussian", 3: "histogram"})
    vae.fit(shapes)
    assert list(vae.column_likelihoods_) == [
        "gaussian",
        "histogram",
        "histogram",
        "histogram",
    ]


@pytest.mark.parametrize(
    "likelihood, message",
    [
        ({"rate": "histogram"}, "not a column of X"),
        ({"term": "poisson"}, "must be one of"),
        ({7: "discrete"}, "n_features=4"),
    ],
)
def test_a_dict_that_names_no_family_or_no_column_is_refused(
    shapes, likelihood, message
):
    with pytest.raises(ValueError, match=message):
        VAETransformer(**FAST, likelihood=likelihood).fit(shapes)


def test_a_categorical_column_keeps_the_categorical_likelihood(shapes):
    table = shapes.assign(kind=pd.Categorical(shapes["term"].astype(str)))
    with pytest.raises(ValueError, match="is categorical"):
        VAETransformer(**FAST, likelihood={"kind": "histogram"}).fit(table)


def test_the_imputer_fills_with_values_the_column_can_take(shapes):
    table = shapes.copy()
    gaps = np.random.RandomState(1).uniform(size=table.shape) < 0.2
    table = table.mask(gaps)
    imputer = VAEImputer(**FAST, likelihood="auto").fit(table)
    filled = imputer.transform(table)
    assert not np.isnan(filled).any()
    # The conditional mean of a discrete column lies within its values.
    assert ((filled[:, 0] >= 12) & (filled[:, 0] <= 60)).all()
    drawn = VAEImputer(**FAST, likelihood="auto", sample_posterior=True).fit(table)
    assert set(drawn.transform(table)[:, 0]) <= {12, 24, 36, 60}


def test_a_fitted_model_with_families_persists(fitted, shapes):
    loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(
        loaded.score_samples(shapes.iloc[:50]), fitted.score_samples(shapes.iloc[:50])
    )
    assert list(loaded.column_likelihoods_) == list(fitted.column_likelihoods_)


@pytest.mark.parametrize("max_categories", [None, 3])
def test_sample_never_draws_a_declared_level_of_no_training_row(max_categories):
    rng = np.random.RandomState(0)
    levels = ["a", "b", "c", "d", "never", "nor"]
    codes = rng.choice(4, size=600)  # "never" and "nor" hold no row
    table = pd.DataFrame(
        {
            "kind": pd.Categorical.from_codes(codes, levels),
            "x": codes + rng.normal(size=600),
        }
    )
    vae = VAETransformer(**FAST, max_categories=max_categories).fit(table)
    drawn = vae.sample(3000, random_state=0)
    assert set(drawn["kind"].astype(str)) <= {"a", "b", "c", "d"}
    # They still have a probability when scored (a later row may hold one).
    assert np.isfinite(vae.score_samples(table.assign(kind="never").iloc[:5])).all()


def test_auto_keeps_an_arrays_columns_gaussian_and_a_dict_applies(shapes):
    X = shapes.to_numpy(dtype=float)
    assert set(VAETransformer(**FAST).fit(X).column_likelihoods_) == {"gaussian"}
    chosen = VAETransformer(**FAST, likelihood={0: "discrete"}).fit(X)
    assert list(chosen.column_likelihoods_) == ["discrete", *["gaussian"] * 3]
