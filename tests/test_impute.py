"""VAEImputer: scikit-learn's imputer API over the masked-likelihood VAE."""

import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest
from configs import FAST, LEARNT, to_polars
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skvae import VAEImputer


def remove_cells(X, rate, seed=0):
    X = np.array(X, dtype=float)
    X[np.random.RandomState(seed).uniform(size=X.shape) < rate] = np.nan
    return X


@pytest.fixture(scope="module")
def gappy(blobs):
    return remove_cells(blobs, 0.3)


@pytest.fixture(scope="module")
def imputer(gappy):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return VAEImputer(**LEARNT).fit(gappy)


def test_fills_every_missing_cell_and_keeps_observed_ones_bit_for_bit(imputer, gappy):
    for X in (gappy, gappy.astype(np.float32)):
        out = imputer.transform(X)
        assert out.dtype == X.dtype
        assert not np.isnan(out).any()
        observed = ~np.isnan(X)
        assert np.array_equal(out[observed], X[observed])


def test_beats_mean_imputation_on_correlated_columns(imputer, blobs, gappy):
    missing = np.isnan(gappy)
    scale = blobs.std(axis=0)

    def error(filled):
        return (((filled - blobs) / scale)[missing] ** 2).mean()

    mean_error = error(SimpleImputer().fit_transform(gappy))
    # Six columns driven by two factors: the observed cells of a row say
    # much about its missing ones.
    assert error(imputer.transform(gappy)) < 0.5 * mean_error


def test_a_rows_imputation_does_not_depend_on_its_batch(imputer, gappy):
    # Up to float64 rounding, as every output of the estimators.
    full = imputer.transform(gappy)
    for i in np.flatnonzero(np.isnan(gappy).any(axis=1))[:5]:
        np.testing.assert_allclose(
            imputer.transform(gappy[i : i + 1])[0], full[i], rtol=1e-12
        )
    np.testing.assert_array_equal(full, imputer.transform(gappy))


def test_posterior_draws_are_reproducible_and_differ_by_seed(gappy):
    def draws(seed):
        est = VAEImputer(**{**FAST, "random_state": seed}, sample_posterior=True)
        return est.fit_transform(gappy)

    first = draws(0)
    np.testing.assert_array_equal(first, draws(0))
    missing = np.isnan(gappy)
    assert not np.allclose(first[missing], draws(1)[missing])


def test_posterior_draws_spread_around_the_conditional_mean(imputer, gappy):
    drawn = VAEImputer(**LEARNT, sample_posterior=True).fit_transform(gappy)
    missing = np.isnan(gappy)
    spread = (drawn - imputer.transform(gappy))[missing]
    assert spread.std() > 0
    assert abs(np.median(spread)) < spread.std()


def test_posterior_draws_spread_as_far_as_the_imputed_means_err(blobs, gappy):
    # The decoder's noise is calibrated at fit on observed cells held out of
    # training: the draws' spread around the imputed means then matches
    # those means' error on the cells that are really missing. Uncalibrated,
    # this short fit's decoder spreads its draws more than twice as far.
    drawn = VAEImputer(**LEARNT, sample_posterior=True).fit(gappy)
    mean = VAEImputer(**LEARNT).fit(gappy).transform(gappy)
    missing, scale = np.isnan(gappy), blobs.std(axis=0)

    def spread(X):
        return np.mean(((X - mean) / scale)[missing] ** 2)

    ratio = spread(drawn.transform(gappy)) / spread(blobs)
    assert 0.7 < ratio < 1.4
    assert drawn.draw_spread_.shape == (6,)
    assert np.all(drawn.draw_spread_ < 1.0)


def test_the_draws_of_levels_and_of_bernoulli_cells_are_not_rescaled(table):
    imputer = VAEImputer(**FAST).fit(table)
    categorical = imputer.is_categorical_
    assert np.all(imputer.draw_spread_[categorical] == 1.0)
    assert not np.all(imputer.draw_spread_[~categorical] == 1.0)
    binary = (np.random.RandomState(0).uniform(size=(50, 3)) < 0.5).astype(float)
    binary[::7, 1] = np.nan
    imputer = VAEImputer(**FAST, likelihood="bernoulli").fit(binary)
    np.testing.assert_array_equal(imputer.draw_spread_, np.ones(3))


def test_a_model_fitted_on_complete_rows_continues_on_rows_with_gaps(blobs, gappy):
    # The imputer's encoder always reads the missing-cell mask (its training
    # rows always lack the held-out cells), so the continuation is allowed
    # and its draws are calibrated on the gappy rows' held-out cells too.
    imputer = VAEImputer(**FAST).fit(blobs)
    imputer.partial_fit(gappy)
    assert not np.isnan(imputer.transform(gappy)).any()
    assert imputer.draw_spread_.shape == (6,)


def test_a_mixed_table_comes_back_in_its_own_types(table):
    imputer = VAEImputer(**LEARNT).set_output(transform="pandas").fit(table)
    out = imputer.transform(table)
    assert isinstance(out, pd.DataFrame)
    assert out.dtypes.to_dict() == table.dtypes.to_dict()
    assert not out.isna().any().any()
    assert set(out["size"]) <= {"S", "M", "L"}
    observed = table.notna()
    for column in table.columns:
        rows = observed[column].to_numpy()
        assert out[column][rows].equals(table[column][rows])
    # colour is set by x and y: its gaps are filled from them.
    truth = pd.Categorical.from_codes(
        (table["x"] / 10).round().clip(0, 2).fillna(0).astype(int),
        ["red", "green", "blue"],
    )
    gaps = (table["colour"].isna() & table["x"].notna()).to_numpy()
    assert (out["colour"][gaps].to_numpy() == truth[gaps]).mean() > 0.8


def test_polars_in_polars_out(table):
    frame = to_polars(table)
    imputer = VAEImputer(**FAST).set_output(transform="polars")
    out = imputer.fit(frame).transform(frame)
    assert isinstance(out, pl.DataFrame) and out.schema == frame.schema
    assert out.null_count().sum_horizontal().item() == 0


def test_add_indicator_appends_named_missing_masks(gappy):
    imputer = VAEImputer(**FAST, add_indicator=True).fit(gappy)
    out = imputer.transform(gappy)
    assert out.shape == (gappy.shape[0], 2 * gappy.shape[1])
    np.testing.assert_array_equal(out[:, 6:], np.isnan(gappy))
    names = imputer.get_feature_names_out()
    assert list(names[6:]) == [f"missingindicator_x{j}" for j in range(6)]


def test_empty_features_are_dropped_unless_kept(gappy):
    X = gappy.copy()
    X[:, 2] = np.nan
    assert VAEImputer(**FAST).fit_transform(X).shape[1] == 5
    kept = VAEImputer(**FAST, keep_empty_features=True).fit_transform(X)
    assert kept.shape[1] == 6 and (kept[:, 2] == 0).all()


def test_another_placeholder_is_imputed_and_nan_then_refused(gappy):
    X = np.nan_to_num(gappy, nan=-1.0)
    out = VAEImputer(**FAST, missing_values=-1.0).fit_transform(X)
    assert not (out == -1.0).any()
    assert np.array_equal(out[X != -1.0], X[X != -1.0])
    with pytest.raises(ValueError, match="contains NaN.*missing_values=-1.0"):
        VAEImputer(**FAST, missing_values=-1.0).fit(gappy)


def test_no_inverse_transform_for_an_imputer(imputer):
    assert not hasattr(imputer, "inverse_transform")


def test_first_step_of_a_pipeline_and_grid_search(gappy, blobs):
    y = blobs[:, 0] > np.median(blobs[:, 0])
    pipe = make_pipeline(VAEImputer(**FAST), LogisticRegression())
    assert pipe.fit(gappy, y).score(gappy, y) > 0.6
    # free_bits=0: under the default floor, this short fit's KL is constant
    # and beta changes nothing.
    search = GridSearchCV(
        VAEImputer(**FAST, free_bits=0.0), {"beta": [0.5, 2.0]}, cv=2
    ).fit(gappy)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all() and scores[0] != scores[1]


# ----------------------------------------------- the container and the cells


def test_transform_returns_an_array_by_default_whatever_the_input(table):
    imputer = VAEImputer(**FAST).fit(table)
    out = imputer.transform(table)
    # Text levels: an object array, as SimpleImputer gives for object data.
    assert isinstance(out, np.ndarray) and out.dtype == object
    assert out.shape == table.shape
    assert not pd.isna(out).any()
    numbers = table.select_dtypes("number")
    numeric = VAEImputer(**FAST).fit(numbers)
    filled = numeric.transform(numbers)
    assert isinstance(filled, np.ndarray) and filled.dtype == np.float64
    # The model's numbers, unrounded: count is an integer column.
    count = numbers.columns.get_loc("count")
    assert np.array_equal(filled[:, count], numbers["count"].to_numpy(float))
    gaps = numbers["x"].isna().to_numpy()
    column = numbers.columns.get_loc("x")
    np.testing.assert_array_equal(
        filled[gaps, column],
        numeric.set_output(transform="pandas").transform(numbers)["x"][gaps],
    )


def test_an_observed_level_unseen_in_fit_comes_back_as_it_was(table):
    imputer = VAEImputer(**FAST).fit(table)
    batch = table.head(40).copy()
    batch["size"] = batch["size"].astype(object)
    batch.loc[batch.index[:10], "size"] = "XL"
    batch.loc[batch.index[:10], "x"] = np.nan
    with pytest.warns(UserWarning, match="levels not seen in fit.*XL"):
        out = imputer.transform(batch)
    size = table.columns.get_loc("size")
    assert list(out[:10, size]) == ["XL"] * 10
    # The model reads the unseen level as missing: x is filled as if size
    # were blank.
    blank = batch.copy()
    blank.loc[blank.index[:10], "size"] = np.nan
    x = table.columns.get_loc("x")
    np.testing.assert_array_equal(out[:10, x], imputer.transform(blank)[:10, x])
    with pytest.warns(UserWarning, match="levels not seen in fit"):
        framed = imputer.set_output(transform="pandas").transform(batch)
    assert list(framed["size"][:10]) == ["XL"] * 10
    # In a category column too: the level is one of the batch's categories.
    batch["colour"] = batch["colour"].cat.add_categories(["purple"])
    batch.loc[batch.index[:3], "colour"] = "purple"
    with pytest.warns(UserWarning, match="purple"):
        framed = imputer.transform(batch)
    assert list(framed["colour"][:3]) == ["purple"] * 3
    assert framed["colour"].notna().all()


@pytest.mark.parametrize("container", ["default", "pandas", "polars"])
def test_a_category_column_with_its_own_categories_takes_the_imputed_levels(
    table, container
):
    imputer = VAEImputer(**LEARNT).fit(table).set_output(transform=container)
    # Built by astype("category") from the rows at hand: red only.
    batch = table[table["colour"].isin(["red"]) | table["colour"].isna()].copy()
    batch["colour"] = batch["colour"].astype(object).astype("category")
    assert list(batch["colour"].cat.categories) == ["red"]
    out = imputer.transform(batch)
    colour = _cells(out, "colour", 0)
    gaps = batch["colour"].isna().to_numpy()
    assert not any(pd.isna(colour))
    assert set(colour) <= {"red", "green", "blue"} and set(colour[gaps]) != {"red"}
    assert list(colour[~gaps]) == ["red"] * (~gaps).sum()
    if container == "pandas":
        # The batch's categories first, then the imputed ones in fit order.
        categories = list(out["colour"].cat.categories)
        assert categories[0] == "red" and categories[1:] == [
            c for c in ["green", "blue"] if c in set(colour)
        ]
    # All blank, with no categories at all.
    blank = batch.assign(colour=pd.Categorical([None] * len(batch)))
    colour = _cells(imputer.transform(blank), "colour", 0)
    assert not any(pd.isna(colour)) and set(colour) <= {"red", "green", "blue"}


def _cells(out, name, j):
    if isinstance(out, np.ndarray):
        return out[:, j]
    if isinstance(out, pl.DataFrame):
        return np.array(out[name].to_list(), dtype=object)
    return out[name].to_numpy(dtype=object)


def test_an_ordered_category_column_stays_ordered_when_the_orders_merge():
    from skvae._frames import _extended_categories

    fitted = pd.CategoricalDtype(["lo", "mid", "hi"], ordered=True)
    imputed = pd.Series(["mid", "lo"], dtype=fitted)
    given = pd.Series(pd.Categorical(["hi"], categories=["lo", "hi"], ordered=True))
    dtype = _extended_categories(given, imputed, "c")
    assert dtype == pd.CategoricalDtype(["lo", "mid", "hi"], ordered=True)
    # A batch that orders the levels the other way round: unordered, said so.
    given = pd.Series(pd.Categorical(["hi"], categories=["hi", "lo"], ordered=True))
    with pytest.warns(UserWarning, match="contradict the order seen in fit"):
        dtype = _extended_categories(given, imputed, "c")
    assert dtype == pd.CategoricalDtype(["hi", "lo", "mid"], ordered=False)


def test_pd_na_as_missing_values_is_the_nan_placeholder(gappy):
    frame = pd.DataFrame(np.round(gappy), dtype="Int64")
    frame.columns = [f"c{j}" for j in range(frame.shape[1])]
    assert frame.isna().to_numpy().sum() == np.isnan(gappy).sum()
    out = VAEImputer(**FAST, missing_values=pd.NA).fit_transform(frame)
    expected = VAEImputer(**FAST).fit_transform(frame)
    np.testing.assert_array_equal(out, expected)
    assert not np.isnan(out).any()


@pytest.mark.parametrize("kind", ["array", "pandas"])
def test_keep_empty_features_keeps_the_values_observed_later(gappy, kind):
    X = gappy.copy()
    X[:, 2] = np.nan
    later = gappy[:20].copy()
    later[:, 2] = np.arange(20.0)
    later[::2, 2] = np.nan
    if kind == "pandas":
        X, later = pd.DataFrame(X), pd.DataFrame(later)
    imputer = VAEImputer(**FAST, keep_empty_features=True).fit(X)
    out = np.asarray(imputer.transform(later), dtype=float)
    assert (out[::2, 2] == 0).all()
    np.testing.assert_array_equal(out[1::2, 2], np.arange(1.0, 20.0, 2))


def test_set_output_pandas_on_a_polars_table_keeps_numbers_numeric(table):
    frame = to_polars(table)
    imputer = VAEImputer(**FAST).set_output(transform="pandas").fit(frame)
    out = imputer.transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert out["x"].dtype == np.float64 and out["y"].dtype == np.float64
    assert out["count"].dtype == np.int64 and out["flag"].dtype == bool
    assert isinstance(out["colour"].dtype, pd.CategoricalDtype)
    observed = table["x"].notna()
    assert out["x"][observed].equals(table["x"][observed])
    # And back: fitted on pandas, polars out, numbers numeric.
    imputer = VAEImputer(**FAST).set_output(transform="polars").fit(table)
    out = imputer.transform(table)
    assert isinstance(out, pl.DataFrame)
    assert out.schema["x"] == pl.Float64 and out.schema["count"] == pl.Int64
    assert out.schema["colour"] == pl.Categorical
    assert out.null_count().sum_horizontal().item() == 0


@pytest.mark.parametrize("batch_kind", ["polars", "array"])
def test_a_batch_of_another_kind_comes_back_in_the_training_dtypes(table, batch_kind):
    imputer = VAEImputer(**FAST).set_output(transform="pandas").fit(table)
    batch = to_polars(table) if batch_kind == "polars" else table.to_numpy(object)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an array has no feature names
        out = imputer.transform(batch)
    assert out.dtypes.to_dict() == table.dtypes.to_dict()
    assert not out.isna().any().any()
    # Fitted on polars, a pandas batch (this read pandas as polars).
    imputer = VAEImputer(**FAST).set_output(transform="polars").fit(to_polars(table))
    out = imputer.transform(table)
    assert out.schema == to_polars(table).schema
    assert out.null_count().sum_horizontal().item() == 0
