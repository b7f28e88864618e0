"""Generation: given known columns (``sample_remaining_columns``), and
``sample``'s codes drawn from an ex-post density (``n_sample_components``)."""

import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest
from configs import FAST, TRAINED, seeded
from sklearn.mixture import GaussianMixture

from skvae import VAEClassifier, VAEImputer, VAETransformer
from skvae._inference import mixture_draws


def test_rows_hold_the_given_cells_exactly_in_the_tables_dtypes(fitted, table):
    known = pd.DataFrame(
        {
            "colour": pd.Categorical(["blue", "red", "green"] * 4),
            "count": [3, 1, 7] * 4,
            "x": [0.123456789, -3.5, 12.25] * 4,
        },
        index=np.arange(100, 112),
    )
    rows = fitted.sample_remaining_columns(known, random_state=0)
    assert list(rows.columns) == list(table.columns)
    assert rows.dtypes.equals(table.dtypes)
    assert rows.index.tolist() == known.index.tolist()
    assert rows["colour"].astype(str).tolist() == known["colour"].astype(str).tolist()
    assert rows["count"].tolist() == known["count"].tolist()
    assert rows["x"].tolist() == known["x"].tolist()
    assert not rows.isna().any().any()


def test_a_value_that_a_discrete_column_never_took_cannot_be_given(fitted):
    assert fitted.column_likelihoods_[
        list(fitted.feature_names_in_).index("count")
    ] == ("discrete")
    known = pd.DataFrame({"count": [3, 400]})
    with pytest.raises(ValueError, match="not seen in fit.*'count'"):
        fitted.sample_remaining_columns(known, random_state=0)


def test_the_other_columns_follow_the_models_conditional(fitted):
    # What rejection sampling from the same model gives: the rows of each
    # colour among unconditional samples. In the table, colour sets y
    # (about -100 per level) and flag (blue).
    samples = fitted.sample(4000, random_state=0)
    n = 400
    known = pd.DataFrame({"colour": pd.Categorical(["red"] * n + ["blue"] * n)})
    rows = fitted.sample_remaining_columns(known, random_state=0)
    spread = samples["y"].std()
    for colour, drawn in (("red", rows.iloc[:n]), ("blue", rows.iloc[n:])):
        rejected = samples[samples["colour"] == colour]
        assert abs(drawn["y"].mean() - rejected["y"].mean()) < 0.15 * spread
        assert abs(drawn["flag"].mean() - rejected["flag"].mean()) < 0.1
    assert rows.iloc[:n]["y"].mean() > rows.iloc[n:]["y"].mean() + 0.5 * spread


def test_equal_conditions_get_independent_draws_reproducible_by_seed(fitted):
    known = pd.DataFrame({"colour": pd.Categorical(["green"] * 50)})
    rows = fitted.sample_remaining_columns(known, random_state=1)
    assert rows["y"].nunique() > 40
    again = fitted.sample_remaining_columns(known, random_state=1)
    pd.testing.assert_frame_equal(rows, again)
    other = fitted.sample_remaining_columns(known, random_state=2)
    assert not rows["y"].equals(other["y"])


def test_a_rare_condition_is_drawn_as_easily_as_a_common_one(fitted, table):
    # Far in the tail of y (a few training rows at most): rejection
    # sampling would need many draws per row; the conditional draw needs one.
    rare = table["y"].min() - 20.0
    known = pd.DataFrame({"y": [rare] * 30, "size": ["L"] * 30})
    rows = fitted.sample_remaining_columns(known, random_state=0)
    assert (rows["y"] == rare).all() and (rows["size"] == "L").all()
    # The colour of the lowest y, as the model has learnt it.
    assert rows["colour"].value_counts().idxmax() == "blue"


def test_missing_cells_of_the_conditions_are_drawn_too(fitted):
    known = pd.DataFrame({"x": [1.0, np.nan], "size": ["S", None]})
    rows = fitted.sample_remaining_columns(known, random_state=0)
    assert rows["x"].iloc[0] == 1.0 and rows["size"].iloc[0] == "S"
    assert not rows.isna().any().any()


def test_arrays_mark_the_cells_to_draw_with_nan():
    X = np.random.RandomState(0).normal(size=(200, 3))
    vae = VAETransformer(**FAST).fit(X)
    known = np.array([[0.5, np.nan, np.nan], [np.nan, -1.0, np.nan]])
    rows = vae.sample_remaining_columns(known, random_state=0)
    assert rows.shape == (2, 3) and np.isfinite(rows).all()
    assert rows[0, 0] == 0.5 and rows[1, 1] == -1.0


def test_polars_conditions_give_polars_rows(table):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vae = VAETransformer(**FAST).fit(pl.from_pandas(table))
    rows = vae.sample_remaining_columns(pl.DataFrame({"count": [4, 5]}))
    assert isinstance(rows, pl.DataFrame)
    assert rows["count"].to_list() == [4, 5]


def test_the_imputer_and_the_classifier_generate_given_columns_too(table):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imputer = VAEImputer(**FAST).fit(table)
        X = table.drop(columns="colour")
        y = np.where(np.arange(len(table)) % 5 == 0, table["flag"].astype(int), -1)
        classifier = VAEClassifier(**FAST).fit(X, y)
    known = pd.DataFrame({"size": ["M"] * 5})
    assert (imputer.sample_remaining_columns(known)["size"] == "M").all()
    rows = classifier.sample_remaining_columns(known, random_state=0)
    assert list(rows.columns) == list(X.columns) and (rows["size"] == "M").all()
    assert not rows.isna().any().any()


@pytest.mark.parametrize(
    "known, message",
    [
        (pd.DataFrame({"colour": ["purple"]}), "levels not seen in fit"),
        (pd.DataFrame({"weight": [1.0]}), "columns not seen in fit"),
        (np.zeros((1, 4)), "4 features"),
    ],
)
def test_bad_conditions_are_clear_errors(fitted, known, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=message):
            fitted.sample_remaining_columns(known)


def test_a_model_fitted_on_an_array_asks_for_an_array():
    vae = VAETransformer(**FAST).fit(np.random.RandomState(0).normal(size=(50, 2)))
    with pytest.raises(ValueError, match="without feature names"):
        vae.sample_remaining_columns(pd.DataFrame({"a": [1.0]}))


# ------------------------------------------- ex-post density of the codes


def test_ex_post_density_is_a_mixture_fitted_to_the_training_codes(blobs):
    est = VAETransformer(**TRAINED, n_sample_components=3).fit(blobs)
    mixture = est.sample_mixture_
    assert isinstance(mixture, GaussianMixture)
    assert mixture.n_components == 3
    assert mixture.covariance_type == "full"
    codes = est.transform(blobs)
    # A mixture's maximum-likelihood fit matches the codes' mean.
    mean = mixture.weights_ @ mixture.means_
    np.testing.assert_allclose(mean, codes.mean(0), atol=1e-3)
    expected = GaussianMixture(3, random_state=est.noise_seed_).fit(codes)
    np.testing.assert_allclose(mixture.means_, expected.means_)
    again = VAETransformer(**TRAINED, n_sample_components=3).fit(blobs)
    np.testing.assert_array_equal(again.sample_mixture_.means_, mixture.means_)


def test_ex_post_density_leaves_training_alone_and_zero_draws_from_the_prior(blobs):
    prior = VAETransformer(**FAST).fit(blobs)
    off = VAETransformer(**FAST, n_sample_components=0).fit(blobs)
    on = VAETransformer(**FAST, n_sample_components=4).fit(blobs)
    assert prior.sample_mixture_ is None and off.sample_mixture_ is None
    np.testing.assert_array_equal(
        off.sample(50, random_state=0), prior.sample(50, random_state=0)
    )
    assert on.loss_curve_ == prior.loss_curve_
    np.testing.assert_array_equal(on.transform(blobs), prior.transform(blobs))
    assert not np.array_equal(
        on.sample(50, random_state=0), prior.sample(50, random_state=0)
    )


def test_mixture_draws_follow_the_mixture():
    mixture = GaussianMixture(2)
    mixture.weights_ = np.array([0.25, 0.75])
    mixture.means_ = np.array([[-5.0, 0.0], [5.0, 1.0]])
    mixture.covariances_ = np.array([np.eye(2), [[2.0, 0.9], [0.9, 1.0]]])
    z = mixture_draws(mixture, 40_000, seeded(), "cpu").numpy()
    first = z[:, 0] < 0
    assert abs(first.mean() - 0.25) < 0.01
    for rows, k in ((first, 0), (~first, 1)):
        np.testing.assert_allclose(z[rows].mean(0), mixture.means_[k], atol=0.05)
        covariance = np.cov(z[rows].T)
        np.testing.assert_allclose(covariance, mixture.covariances_[k], atol=0.06)


def test_sample_draws_its_codes_from_the_ex_post_density(blobs):
    est = VAETransformer(**TRAINED, n_sample_components=2).fit(blobs)
    # One narrow component at a code of a training row: every drawn row is
    # decoded from about that code.
    code = est.transform(blobs[:1])
    narrow = GaussianMixture(1)
    narrow.weights_, narrow.means_ = np.ones(1), code
    narrow.covariances_ = 1e-8 * np.eye(est.n_components)[None]
    est.sample_mixture_ = narrow
    rows = est.sample(4000, random_state=0)
    decoded = est.inverse_transform(code)[0]
    spread = blobs.std(0)
    np.testing.assert_allclose(rows.mean(0), decoded, atol=0.1 * spread.max())
    prior_rows = VAETransformer(**TRAINED).fit(blobs).sample(4000, random_state=0)
    assert np.all(rows.std(0) < prior_rows.std(0))


def test_ex_post_density_persists_and_works_for_the_imputer(blobs):
    import pickle

    gappy = blobs.copy()
    gappy[np.random.RandomState(0).uniform(size=gappy.shape) < 0.1] = np.nan
    for est in (
        VAETransformer(**FAST, n_sample_components=3).fit(blobs),
        VAEImputer(**FAST, n_sample_components=3).fit(gappy),
    ):
        loaded = pickle.loads(pickle.dumps(est))
        np.testing.assert_array_equal(
            loaded.sample(20, random_state=1), est.sample(20, random_state=1)
        )
        assert loaded.sample_mixture_.n_components == 3
    assert "n_sample_components" not in VAEClassifier().get_params()


def test_ex_post_density_has_at_most_one_component_per_row(blobs):
    est = VAETransformer(**FAST, n_sample_components=50).fit(blobs[:20])
    assert est.sample_mixture_.n_components == 20
    assert np.isfinite(est.sample(5, random_state=0)).all()
    with pytest.raises(ValueError, match="n_sample_components"):
        VAETransformer(**FAST, n_sample_components=-1).fit(blobs)
