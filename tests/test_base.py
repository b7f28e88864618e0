"""What BaseVAE (``skvae._base``) does for every estimator: the fitted
architecture, missing cells, scaling and extreme data, warm starts and
partial_fit, and determinism. Validation, persistence and inference have
files of their own (test_validation.py, test_persistence.py,
test_inference.py)."""

import pickle
import random
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from configs import ESTIMATORS, FAST
from outputs import assert_same_outputs, generated, row_methods, row_outputs
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from skvae import VAEAnomalyDetector, VAETransformer
from skvae._scaling import standardization as _standardization

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module", params=ESTIMATORS, ids=lambda c: c.__name__)
def fitted(request, X):
    return request.param(**FAST).fit(X)


# ------------------------------------------------------------ architecture


@pytest.mark.parametrize(
    "n_features, widths", [(1, (64, 32)), (29, (64, 32)), (30, (256, 128))]
)
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_auto_widths_grow_with_the_number_of_features(Estimator, n_features, widths):
    X = np.random.RandomState(0).normal(size=(40, n_features))
    est = Estimator(hidden_layer_sizes="auto", max_iter=1, random_state=0).fit(X)
    assert est.hidden_layer_sizes_ == widths
    assert est.net_.module__hidden_layer_sizes == widths
    assert est.net_.module_.encoder.body[0].out_features == widths[0]
    # A pickled model rebuilds the same network.
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(loaded.score_samples(X), est.score_samples(X))


def test_fit_records_the_resolved_architecture_and_batch_size(X):
    est = VAETransformer(
        **{**FAST, "hidden_layer_sizes": 12}, dropout=0.1, likelihood="gaussian"
    ).fit(X)
    assert est.n_components_ == 2
    assert est.hidden_layer_sizes_ == (12,)
    assert est.likelihood_ == "gaussian" and est.dropout_ == 0.1
    assert est.batch_size_ == len(X)  # "auto": min(128, n_samples)
    assert VAETransformer(**FAST, batch_size=7).fit(X).batch_size_ == 7


def test_set_params_after_fit_does_not_change_the_fitted_model(fitted, X):
    est = pickle.loads(pickle.dumps(fitted))
    expected = row_outputs(est, X)
    est.set_params(n_components=5, hidden_layer_sizes=(3, 3), dropout=0.5)
    for a, b in zip(expected, row_outputs(est, X), strict=True):
        np.testing.assert_array_equal(a, b)
    for rows in generated(est):
        assert rows.shape[1] == X.shape[1]
    for a, b in zip(
        expected, row_outputs(pickle.loads(pickle.dumps(est)), X), strict=True
    ):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "change", [{"n_components": 3}, {"hidden_layer_sizes": (8,)}, {"dropout": 0.2}]
)
def test_warm_start_cannot_change_the_architecture(X, change):
    est = VAETransformer(**FAST, warm_start=True).fit(X)
    before = est.transform(X)
    est.set_params(**change)
    with pytest.raises(ValueError, match="cannot change its architecture"):
        est.fit(X)
    with pytest.raises(ValueError, match="cannot change its architecture"):
        est.partial_fit(X)
    np.testing.assert_array_equal(est.transform(X), before)
    assert est.n_iter_ == FAST["max_iter"]


def test_partial_fit_cannot_move_the_model_to_another_device(X):
    est = VAETransformer(**FAST).partial_fit(X)
    est.set_params(device="cuda")
    # Without a GPU: CUDA is not available; with one: the model lives on
    # device_="cpu". Either way, a clear error and the model unchanged.
    with pytest.raises(ValueError, match="cuda"):
        est.partial_fit(X)
    assert est.device_ == "cpu" and est.n_iter_ == 1


# ------------------------------------------------------- missing values


@pytest.fixture(scope="module")
def with_missing():
    """Correlated rows with 30% of the cells missing completely at random."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 2)) @ rng.normal(size=(2, 5)) + 0.1 * rng.normal(
        size=(300, 5)
    )
    X_missing = X.copy()
    X_missing[rng.uniform(size=X.shape) < 0.3] = np.nan
    return X, X_missing


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_missing_cells_are_modelled_not_refused(Estimator, with_missing):
    _, X = with_missing
    est = Estimator(**FAST).fit(X)
    assert est.net_.module_.encoder.missing_inputs  # it sees which are missing
    for method in row_methods(est):
        assert np.all(np.isfinite(method(X)))
    np.testing.assert_allclose(est.mean_, np.nanmean(X, axis=0))


def test_a_model_of_complete_rows_scores_rows_with_missing_cells(with_missing):
    X, X_missing = with_missing
    est = VAEAnomalyDetector(**FAST).fit(X)
    assert not est.net_.module_.encoder.missing_inputs
    for method in row_methods(est):
        assert np.all(np.isfinite(method(X_missing)))
    # Complete rows score exactly as before.
    complete = ~np.isnan(X_missing).any(axis=1)
    np.testing.assert_array_equal(
        est.score_samples(X_missing[complete]), est.score_samples(X[complete])
    )


def test_the_bound_counts_observed_cells_only(with_missing):
    # Scaling column 2 by 1000 changes the density of a row by log(1000)
    # if its cell is observed, and not at all if it is missing.
    _, X = with_missing
    factor = np.array([1.0, 1.0, 1000.0, 1.0, 1.0])
    est = VAETransformer(**{**FAST, "max_iter": 30}).fit(X)
    scaled = VAETransformer(**{**FAST, "max_iter": 30}).fit(X * factor)
    change = scaled.score_samples(X * factor) - est.score_samples(X)
    observed = ~np.isnan(X[:, 2])
    # (Each row's Monte Carlo draws depend on its values, so compare means.)
    assert change[observed].mean() == pytest.approx(-np.log(1000.0), abs=0.05)
    assert change[~observed].mean() == pytest.approx(0.0, abs=0.05)


def test_outliers_are_flagged_among_rows_with_missing_cells(with_missing):
    X, X_missing = with_missing
    det = VAEAnomalyDetector(**{**FAST, "max_iter": 40}).fit(X_missing)
    outliers = X_missing[:20].copy()
    observed_0 = ~np.isnan(outliers[:, 0])
    outliers[observed_0, 0] += 8 * np.nanstd(X_missing[:, 0])
    scores = det.score_samples(outliers[observed_0])
    assert np.mean(scores < det.offset_) >= 0.9
    per_feature = det.score_samples_per_feature(outliers[observed_0])
    assert np.mean(per_feature.argmin(axis=1) == 0) >= 0.9
    # Missing cells say nothing unusual about their row.
    assert np.all(per_feature[np.isnan(outliers[observed_0])] == 0)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_entirely_missing_columns_and_rows_give_finite_outputs(Estimator, X):
    X = X.copy()
    X[:, 1] = np.nan  # a column never observed
    X[:3] = np.nan  # rows with nothing observed
    est = Estimator(**FAST).fit(X)
    assert est.mean_[1] == 0.0 and est.scale_[1] == 1.0
    for method in row_methods(est):
        assert np.all(np.isfinite(method(X)))
    for rows in generated(est):
        assert np.all(np.isfinite(rows))


def test_pandas_na_and_polars_nulls_are_missing_cells(with_missing):
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    _, X = with_missing
    as_numpy = VAEAnomalyDetector(**FAST).fit(X).score_samples(X)
    frame = pd.DataFrame(X, columns=list("abcde")).astype("Float64")  # pd.NA
    assert frame.isna().to_numpy().sum() == np.isnan(X).sum()
    polars = pl.DataFrame(
        {
            c: [None if np.isnan(v) else v for v in X[:, i]]
            for i, c in enumerate("abcde")
        }
    )
    for data in (frame, polars):
        det = VAEAnomalyDetector(**FAST).fit(data)
        np.testing.assert_array_equal(det.score_samples(data), as_numpy)


def test_warm_start_cannot_add_missing_inputs_to_a_model_of_complete_rows(
    with_missing,
):
    X, X_missing = with_missing
    est = VAETransformer(**FAST).partial_fit(X)
    with pytest.raises(ValueError, match="missing values"):
        est.partial_fit(X_missing)
    assert est.n_iter_ == 1


# ---------------------------------------------------- scaling, extreme data


def test_scaling_survives_huge_values_and_tiny_spreads():
    z = np.random.RandomState(0).normal(size=(100, 1))
    X = np.hstack([1e200 * z, 1e-18 * z, np.full_like(z, -5.0), np.zeros_like(z)])
    mean, scale = _standardization(X, "gaussian", np.zeros(X.shape[1], dtype=bool))
    assert np.all(np.isfinite(mean)) and np.all(np.isfinite(scale))
    np.testing.assert_allclose(mean[:2], [1e200 * z.mean(), 1e-18 * z.mean()])
    # A spread of 1e-18 is a spread; a constant column is scaled by its
    # absolute value, an all-zero one by 1.
    np.testing.assert_allclose(scale, [1e200 * z.std(), 1e-18 * z.std(), 5.0, 1.0])
    mean, scale = _standardization(X, "bernoulli", np.zeros(X.shape[1], dtype=bool))
    assert np.all(mean == 0) and np.all(scale == 1)


def test_huge_columns_still_flag_their_outliers():
    X = np.random.RandomState(0).normal(size=(200, 3)) * 1e200
    det = VAEAnomalyDetector(**FAST).fit(X)
    assert np.isfinite(det.offset_)
    assert np.all(np.isfinite(det.score_samples(X)))
    assert det.predict(np.array([[0.0, 0.0, 0.0], [8e200, -8e200, 8e200]]))[1] == -1


def test_per_feature_scores_name_the_column_of_a_float32_fill_value():
    # Climate data mark missing cells with fill values such as 1e20.
    X = np.random.RandomState(0).normal(size=(200, 4)).astype(np.float32)
    det = VAEAnomalyDetector(**FAST).fit(X)
    rows = X[:5].copy()
    rows[:, 2] = 1e20
    per_feature = det.score_samples_per_feature(rows)
    assert not np.isnan(per_feature).any()
    np.testing.assert_array_equal(per_feature.argmin(axis=1), 2)
    # Beyond float64's range of squares the density is 0: -inf, not NaN.
    rows = X[:5].astype(np.float64)
    rows[:, 1] = 1e200
    per_feature = det.score_samples_per_feature(rows)
    assert not np.isnan(per_feature).any()
    np.testing.assert_array_equal(per_feature.argmin(axis=1), 1)
    assert np.all(det.predict(rows) == -1)


def test_rows_that_compare_equal_score_equal(fitted, X):
    rows = np.zeros((2, X.shape[1]))
    rows[1, 0] = -0.0
    for method in row_methods(fitted):
        if method.__name__ == "score":  # one number for all rows
            continue
        out = np.asarray(method(rows))
        np.testing.assert_array_equal(out[0], out[1])


EXTREME = {
    "huge values": np.random.RandomState(0).normal(size=(50, 3)) * 1e30,
    "constant columns": np.hstack(
        [np.ones((50, 1)), np.random.RandomState(0).normal(size=(50, 2))]
    ),
    "duplicated rows": np.repeat(
        np.random.RandomState(0).normal(size=(5, 3)), 10, axis=0
    ),
    "single row": np.array([[1.0, 2.0, 3.0]]),
    "fewer rows than batch": np.random.RandomState(0).normal(size=(3, 3)),
    "one feature": np.random.RandomState(0).normal(size=(50, 1)),
}


@pytest.mark.parametrize("case", EXTREME, ids=list(EXTREME))
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_extreme_but_valid_data_gives_finite_outputs(Estimator, case):
    X = EXTREME[case]
    est = Estimator(**FAST, batch_size=16).fit(X)
    for method in row_methods(est):
        assert np.all(np.isfinite(method(X)))
    for rows in generated(est):
        assert np.all(np.isfinite(rows))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_diverging_training_raises_and_leaves_no_fitted_state(Estimator, X):
    est = Estimator(**{**FAST, "max_iter": 50}, learning_rate_init=1e6)
    with pytest.raises(ValueError, match="learning_rate_init"):
        est.fit(X * 1e3)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    assert not hasattr(est, "n_features_in_")


def test_diverging_warm_start_keeps_the_previous_model(X):
    est = VAETransformer(**FAST, warm_start=True).fit(X)
    before = est.transform(X)
    est.set_params(learning_rate_init=1e6, max_iter=50)
    with pytest.raises(ValueError, match="learning_rate_init"):
        est.fit(X * 1e3)
    np.testing.assert_array_equal(est.transform(X), before)


# ------------------------------------------------- warm start, partial_fit


def test_warm_start_continues_training(blobs):
    est = VAETransformer(**{**FAST, "max_iter": 10}, warm_start=True).fit(blobs)
    first = list(est.loss_curve_)
    est.fit(blobs)
    assert est.n_iter_ == 20 and est.loss_curve_[:10] == first
    # The second call starts where the first stopped, not from scratch.
    assert est.loss_curve_[10] < first[0]


def test_warm_start_false_starts_afresh(X):
    est = VAETransformer(**FAST).fit(X)
    first = est.transform(X)
    np.testing.assert_array_equal(est.fit(X).transform(X), first)
    assert est.n_iter_ == FAST["max_iter"]


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_partial_fit_streams_a_memmap_with_the_first_chunks_scaling(
    Estimator, blobs, tmp_path
):
    path = tmp_path / "rows.dat"
    data = np.memmap(path, dtype=np.float64, mode="w+", shape=blobs.shape)
    data[:] = blobs * 10 + 3
    data.flush()
    rows = np.memmap(path, dtype=np.float64, mode="r", shape=blobs.shape)
    est = Estimator(**FAST)
    for start in range(0, len(rows), 100):
        est.partial_fit(rows[start : start + 100])
    assert est.n_iter_ == 4
    np.testing.assert_allclose(est.mean_, np.asarray(rows[:100]).mean(0))
    assert np.all(np.isfinite(est.score_samples(rows)))
    with pytest.raises(ValueError, match="X has 4 features"):
        est.partial_fit(np.zeros((5, 4)))


# ------------------------------------------------------------- determinism


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_same_random_state_gives_bit_identical_fits(Estimator, X):
    # Every random draw of training is used: shuffling, initialization,
    # latent samples, corruption, dropout and the adversarial generator.
    params = {**FAST, "adversarial_weight": 0.1, "corruption": 0.2, "dropout": 0.1}
    a = Estimator(**params).fit(X)
    b = Estimator(**params).fit(X)
    assert a.loss_curve_ == b.loss_curve_
    assert_same_outputs(a, b, X)
    for rows_a, rows_b in zip(generated(a), generated(b), strict=True):
        np.testing.assert_array_equal(rows_a, rows_b)
    c = Estimator(**{**params, "random_state": 1}).fit(X)
    assert a.loss_curve_ != c.loss_curve_
    assert not np.array_equal(a.score_samples(X), c.score_samples(X))


def test_fit_and_inference_leave_the_global_random_states_alone(X):
    # The legacy global NumPy RNG is exactly what users' code relies on.
    random.seed(1)
    np.random.seed(1)  # noqa: NPY002
    torch.manual_seed(1)
    numpy_state = np.random.get_state()[1].copy()  # noqa: NPY002
    states = random.getstate(), numpy_state, torch.get_rng_state()
    VAEAnomalyDetector(**FAST).fit(X).score_samples(X)
    est = pickle.loads(pickle.dumps(VAETransformer(**FAST).fit(X)))
    est.sample(5, random_state=0)
    assert random.getstate() == states[0]
    np.testing.assert_array_equal(np.random.get_state()[1], states[1])  # noqa: NPY002
    assert torch.equal(torch.get_rng_state(), states[2])


def test_concurrent_inference_in_threads_matches_sequential_inference(fitted, X):
    expected = row_outputs(fitted, X)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: row_outputs(fitted, X), range(8)))
    for result in results:
        for a, b in zip(expected, result, strict=True):
            np.testing.assert_array_equal(a, b)
