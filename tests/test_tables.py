"""Real tables: categorical columns, DataFrames in and out, and gaps."""

import pickle
import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest
import torch
from configs import FAST, LEARNT, seeded, to_polars
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skvae import VAEAnomalyDetector, VAETransformer
from skvae._base import BaseVAE
from skvae._torch.columns import ColumnEmbedding, ColumnExpansion
from skvae._torch.networks import VAE
from skvae.datasets import load_penguins

# --------------------------------------------------------------- columns


def test_from_dtype_takes_category_text_and_bool_columns(fitted, table):
    assert fitted.is_categorical_.tolist() == [True, False, True, True, False, False]
    levels = [list(levels) for levels in fitted.categories_]
    # A pandas categorical keeps its own order; text and booleans are sorted.
    assert levels == [["red", "green", "blue"], ["L", "M", "S"], [False, True]]
    # The integer column "count" is discrete: categorical to the network,
    # over the values it took.
    n_count = len(set(table["count"]))
    assert fitted.net_.module_.expansion.n_levels == (3, 0, 3, 2, n_count, 0)


@pytest.mark.parametrize(
    "spec",
    [[0, 2, 3], np.array([1, 0, 1, 1, 0, 0], dtype=bool), ["colour", "size", "flag"]],
    ids=["indices", "mask", "names"],
)
def test_categorical_features_as_indices_mask_or_names(table, spec):
    est = VAETransformer(**FAST, categorical_features=spec).fit(table)
    assert est.is_categorical_.tolist() == [True, False, True, True, False, False]


def test_categorical_features_on_an_array_of_text(table):
    X = table.to_numpy(dtype=object)
    est = VAETransformer(**FAST, categorical_features=[0, 2, 3]).fit(X)
    assert [len(levels) for levels in est.categories_] == [3, 3, 2]
    out = est.sample(5, random_state=0)
    assert out.dtype == object
    assert set(out[:, 2]) <= {"S", "M", "L"}


@pytest.mark.parametrize(
    "spec, match",
    [
        ([7], r"must be in \[0, n_features - 1\]"),
        (["colour", "nope"], "not feature names of X"),
        (np.array([True, False]), "must have shape"),
    ],
)
def test_a_bad_categorical_features_raises_a_clear_error(table, spec, match):
    with pytest.raises(ValueError, match=match):
        VAETransformer(**FAST, categorical_features=spec).fit(table)


def test_names_need_feature_names(table):
    with pytest.raises(ValueError, match="without feature names"):
        VAETransformer(**FAST, categorical_features=["colour"]).fit(
            table.to_numpy(dtype=object)
        )


def test_text_in_a_numeric_column_names_the_column(table):
    with pytest.raises(ValueError, match="'size' holds non-numeric values"):
        VAETransformer(**FAST, categorical_features=["colour"]).fit(table)


def test_levels_of_mixed_or_unhashable_types_raise_type_errors():
    X = np.array([["a", 1.0], [2, 2.0], ["b", 3.0]], dtype=object)
    with pytest.raises(TypeError, match="uniformly strings or numbers"):
        VAETransformer(**FAST, categorical_features=[0]).fit(X)
    X[0, 0] = {"a": 1}
    with pytest.raises(TypeError, match="must be a string or a number, not 'dict'"):
        VAETransformer(**FAST, categorical_features=[0]).fit(X)


def test_infinity_in_a_categorical_column_is_rejected():
    X = np.array([[0.0, 1.0], [1.0, 2.0], [np.inf, 3.0]])
    with pytest.raises(ValueError, match="infinity"):
        VAETransformer(**FAST, categorical_features=[0]).fit(X)


# -------------------------------------------------------- what is learnt


def test_a_categorical_column_is_reconstructed_as_its_level(fitted, table):
    complete = table.dropna()
    rebuilt = fitted.inverse_transform(fitted.transform(complete))
    # colour sets x and y far apart: the model must recover it.
    for column in ("colour", "flag"):
        assert (rebuilt[column].to_numpy() == complete[column].to_numpy()).mean() > 0.9


def test_samples_keep_the_joint_structure(fitted):
    sample = fitted.sample(600, random_state=0)
    means = sample.groupby("colour", observed=True)["y"].mean()
    # y is -100 * colour code: the sampled levels carry their y.
    assert means["red"] > means["green"] > means["blue"]
    assert sample["colour"].value_counts(normalize=True).min() > 0.2


def test_a_categorical_cell_is_one_term_of_the_score(table):
    detector = VAEAnomalyDetector(**LEARNT).fit(table)
    row = table.dropna().iloc[[0]].copy()
    per_feature = detector.score_samples_per_feature(row)
    assert per_feature.shape == (1, table.shape[1])
    # The flag contradicts the colour: the flag column takes the blame.
    row["flag"] = ~row["flag"]
    blamed = detector.score_samples_per_feature(row)[0]
    assert blamed.argmin() == table.columns.get_loc("flag")


# ------------------------------------------------ DataFrames in and out


def test_outputs_are_dataframes_in_the_users_types(fitted, table):
    for out in (
        fitted.sample(50, random_state=0),
        fitted.inverse_transform(fitted.transform(table)),
    ):
        assert list(out.columns) == list(table.columns)
        assert out.dtypes.to_dict() == table.dtypes.to_dict()
        assert out["colour"].dtype == table["colour"].dtype
        assert set(out["size"].dropna()) <= {"S", "M", "L"}
        for column in ("x", "count", "y"):
            assert out[column].between(table[column].min(), table[column].max()).all()


def test_same_random_state_same_table(fitted):
    pd.testing.assert_frame_equal(
        fitted.sample(40, random_state=3), fitted.sample(40, random_state=3)
    )
    assert not fitted.sample(40, random_state=3).equals(
        fitted.sample(40, random_state=4)
    )


def test_polars_in_polars_out(table):
    frame = to_polars(table)
    est = VAETransformer(**FAST).fit(frame)
    # Polars categories have no order of their own: levels are sorted, as
    # for text, and the model is the one fitted on the same text in pandas.
    assert list(est.categories_[0]) == ["blue", "green", "red"]
    as_text = table.assign(colour=table["colour"].astype(object))
    pandas_est = VAETransformer(**FAST).fit(as_text)
    np.testing.assert_allclose(est.transform(frame), pandas_est.transform(as_text))
    out = est.sample(20, random_state=0)
    assert isinstance(out, pl.DataFrame)
    assert out.schema == frame.schema


def test_nullable_integer_and_missing_levels_of_penguins():
    penguins = load_penguins()
    est = VAETransformer(**FAST).fit(penguins)
    assert np.isfinite(est.transform(penguins)).all()
    assert np.isfinite(est.score_samples(penguins)).all()
    sample = est.sample(10, random_state=0)
    assert sample.dtypes.to_dict() == penguins.dtypes.to_dict()
    assert sample["sex"].isin(["female", "male"]).all()


def test_an_unseen_level_warns_and_counts_as_missing(fitted, table):
    rows = table.iloc[:3].copy()
    rows["size"] = rows["size"].astype(object)
    as_missing = rows.copy()
    rows.iloc[0, rows.columns.get_loc("size")] = "XXL"
    as_missing.iloc[0, rows.columns.get_loc("size")] = np.nan
    with pytest.warns(UserWarning, match=r"\{'size': \['XXL'\]\}.*treated as missing"):
        scores = fitted.score_samples(rows)
    np.testing.assert_array_equal(scores, fitted.score_samples(as_missing))


def test_an_entirely_missing_categorical_column_is_fitted_and_left_missing(table):
    frame = table.assign(size=pd.Series([np.nan] * len(table), dtype=object))
    est = VAETransformer(**FAST, categorical_features=["colour", "size"]).fit(frame)
    assert len(est.categories_[1]) == 0
    assert np.isfinite(est.score_samples(frame)).all()
    assert est.sample(5, random_state=0)["size"].isna().all()


def test_the_schema_counts_each_levels_training_rows(table):
    frame = table.assign(size=pd.Series([np.nan] * len(table), dtype=object))
    est = VAETransformer(**FAST, categorical_features=["colour", "size"]).fit(frame)
    schema = est.schema_
    assert schema.n_rows == len(frame)
    counts = frame["colour"].value_counts()
    # Per column as n_levels: numeric columns none, an empty column its
    # placeholder level's 0.
    expected = tuple(int(counts[level]) for level in est.categories_[0])
    assert schema.level_counts == (expected, (), (0,), (), (), ())
    # Persisted as plain data with the rest of the schema.
    loaded = pickle.loads(pickle.dumps(est)).schema_
    assert loaded.level_counts == schema.level_counts
    assert loaded.n_rows == schema.n_rows


def test_a_model_fitted_on_a_table_survives_pickling(fitted, table):
    loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(
        loaded.score_samples(table), fitted.score_samples(table)
    )
    pd.testing.assert_frame_equal(
        loaded.sample(5, random_state=0), fitted.sample(5, random_state=0)
    )


def test_skops_stores_a_table_model_trusting_only_the_estimator(fitted, table):
    sio = pytest.importorskip("skops.io")
    data = sio.dumps(fitted)
    assert sio.get_untrusted_types(data=data) == ["skvae.transformer.VAETransformer"]
    loaded = sio.loads(data, trusted=["skvae.transformer.VAETransformer"])
    pd.testing.assert_frame_equal(
        loaded.sample(5, random_state=0), fitted.sample(5, random_state=0)
    )


def test_dates_are_refused_with_advice():
    frame = pd.DataFrame({"when": pd.date_range("2020", periods=6), "x": range(6)})
    with pytest.raises(ValueError, match="'when' holds dates.*days since"):
        VAETransformer(**FAST).fit(frame)


# ---------------------------------------------- scikit-learn citizenship


def test_pipeline_and_grid_search_on_a_mixed_table_with_gaps(table):
    target = table["count"] > 10
    features = table.drop(columns="count")
    pipe = make_pipeline(VAETransformer(**FAST), LogisticRegression())
    assert pipe.fit(features, target).score(features, target) > 0.5
    search = GridSearchCV(VAETransformer(**FAST), {"beta": [0.5, 1.0, 2.0]}, cv=2)
    scores = search.fit(table).cv_results_["mean_test_score"]
    assert np.isfinite(scores).all()
    assert len(set(scores)) == 3


# ------------------------------------------------------- missing cells


def test_missing_cells_alone_do_not_make_a_row_normal_or_anomalous(blobs):
    detector = VAEAnomalyDetector(**LEARNT).fit(blobs)
    complete = detector.score_samples(blobs)
    half = blobs.copy()
    half[:, :3] = np.nan
    gappy = detector.score_samples(half)
    # Where half the cells are gone, the observed half speaks for the row:
    # about as many gappy rows above the median complete score as below.
    # The bound on the observed cells alone puts nearly every gappy row
    # above it.
    above = (gappy > np.median(complete)).mean()
    assert 0.25 < above < 0.75
    # The bound itself, as VAETransformer.score_samples reports it.
    observed_only = BaseVAE.score_samples(detector, half)
    bound = BaseVAE.score_samples(detector, blobs)
    assert (observed_only > np.median(complete)).mean() > 0.95
    # Complete rows keep their bound.
    np.testing.assert_array_equal(complete, bound)


# ----------------------------------------------------------- torch side


def test_embedding_and_collapse_keep_each_column_one_cell_wide():
    expansion = ColumnExpansion((0, 3, 2))
    embedding = ColumnEmbedding(expansion, seeded())
    x = torch.tensor([[0.5, 2.0, 0.0], [np.nan, np.nan, 1.0]])
    features = embedding(x)
    # The numeric column, then 1 + 2 embedding dimensions (grouped order:
    # the 2-level column before the 3-level one).
    assert features.shape == (2, 4)
    assert features[0, 0] == 0.5 and features[1, 0].isnan()
    tables = embedding.tables
    torch.testing.assert_close(features[0, 1:2], tables[0].weight[0])
    torch.testing.assert_close(features[0, 2:], tables[1].weight[2])
    # A missing categorical cell is the zero vector.
    assert features[1, 2:].eq(0).all()
    # Decoded probabilities collapse to each column's most probable level.
    mean = torch.tensor([[0.5, 0.1, 0.2, 0.7, 0.9, 0.1]])
    torch.testing.assert_close(expansion.collapse(mean), x[:1])


def test_mixed_likelihood_is_normalized_and_skips_missing_cells():
    vae = VAE(3, (8,), 2, n_levels=(0, 3, 2), generator=seeded(), missing=True)
    z = torch.randn(4, 2, generator=seeded(1))
    decoded = vae.decoder(z)
    mean = vae.likelihood.mean(decoded)
    torch.testing.assert_close(mean[:, 1:4].sum(-1), torch.ones(4))
    torch.testing.assert_close(mean[:, 4:].sum(-1), torch.ones(4))
    cells = vae.likelihood(decoded).base_dist
    x = torch.tensor([[0.1, 2.0, np.nan]]).expand(4, 3)
    log_prob = cells.log_prob(x)
    assert log_prob[:, 2].isnan().all()
    expected = torch.log_softmax(decoded[:, 1:4], -1)[:, 2]
    torch.testing.assert_close(log_prob[:, 1], expected)
    vae.observed_only = True
    total = vae.decode(z).log_prob(x)
    torch.testing.assert_close(total, log_prob[:, :2].sum(-1))


# ------------------------------------------------------------ generation


def test_samples_can_miss_cells_as_the_training_rows_did(fitted, table):
    complete = fitted.sample(2000, random_state=0)
    assert not complete.isna().any().any()
    gappy = fitted.sample(2000, random_state=0, include_missing=True)
    rates = gappy.isna().mean()
    np.testing.assert_allclose(rates, table.isna().mean(), atol=0.02)
    # Only patterns of missing cells that training rows had.
    seen = {tuple(row) for row in table.isna().to_numpy()}
    assert {tuple(row) for row in gappy.isna().to_numpy()} <= seen
    pd.testing.assert_frame_equal(
        gappy, fitted.sample(2000, random_state=0, include_missing=True)
    )


def test_an_identifier_column_is_named_in_a_warning_at_fit(table):
    frame = table.assign(id=[f"row{i}" for i in range(len(table))])
    with pytest.warns(UserWarning, match="Categorical column 'id' has 300 levels") as w:
        VAETransformer(**FAST).fit(frame)
    # The warning points at the user's line, not at skvae's internals.
    assert all(record.filename == __file__ for record in w)


def test_a_categorical_dtypes_declared_levels_are_levels_even_when_absent(table):
    # A first block of a larger table (partial_fit, Dask) may miss a level
    # that the dtype declares: it is a level of the model all the same.
    frame = table.assign(
        colour=table["colour"].cat.add_categories(["purple"]),
    )
    est = VAETransformer(**FAST).fit(frame)
    assert list(est.categories_[0]) == ["red", "green", "blue", "purple"]
    later = frame.head(5).copy()
    later.loc[later.index[0], "colour"] = "purple"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no unseen-level warning
        scores = est.score_samples(later)
    assert np.isfinite(scores).all()
    # Grouped with the rare levels, it gets a share of its group, not none.
    detector = VAEAnomalyDetector(**FAST, max_categories=2).fit(frame)
    assert np.isfinite(detector.score_samples(later)).all()
