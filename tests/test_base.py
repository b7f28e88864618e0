"""What BaseVAE (``skvae._base``) does for every estimator: input and
hyperparameter validation, the fitted architecture, scaling and extreme
data, warm starts and partial_fit, persistence, determinism, and the
shared inference (score_samples, inverse_transform, sample, chunking,
latent diagnostics). Every failure ends in a clear scikit-learn-style
error, every success in finite, correct results."""

import pickle
import random
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pytest
import torch
from configs import FAST
from scipy import sparse
from sklearn import config_context
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted

from skvae import VAEAnomalyDetector, VAEImputer, VAETransformer
from skvae._inference import _BYTES_PER_ELEMENT, _CACHE_BYTES, _MIN_CHUNK_ROWS
from skvae._scaling import standardization as _standardization

ESTIMATORS = [VAETransformer, VAEAnomalyDetector, VAEImputer]
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _methods(est):
    """Every public method that takes rows of X."""
    names = ["transform", "score_samples", "score", "decision_function", "predict"]
    names.append("score_samples_per_feature")
    return [getattr(est, n) for n in names if hasattr(est, n)]


def _outputs(est, X):
    return [np.asarray(method(X)) for method in _methods(est)]


def _generated(est):
    """What the estimators that generate make without rows of X: new rows
    (``sample``) and decoded latent codes (``inverse_transform``)."""
    out = []
    if hasattr(est, "sample"):
        out.append(np.asarray(est.sample(5, random_state=0)))
    if hasattr(est, "inverse_transform"):
        out.append(np.asarray(est.inverse_transform(np.zeros((2, 2)))))
    return out


def _assert_same_outputs(a, b, X):
    for x, y in zip(_outputs(a, X), _outputs(b, X), strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.fixture(scope="module", params=ESTIMATORS, ids=lambda c: c.__name__)
def fitted(request, X):
    return request.param(**FAST).fit(X)


@pytest.fixture(scope="module")
def gaussian_1d():
    return np.random.RandomState(0).normal(loc=3.0, scale=2.0, size=(1000, 1))


# ------------------------------------------------------- input validation

BAD_ROWS = {
    "inf": (np.array([[np.inf, 0, 0, 0]]), "infinity"),
    "-inf next to NaN": (np.array([[np.nan, -np.inf, 0, 0]]), "infinity"),
    "strings": (np.array([["a", "b", "c", "d"]], dtype=object), "string"),
    "complex": (np.array([[1 + 1j, 0, 0, 0]]), "Complex data not supported"),
    "empty": (np.empty((0, 4)), "0 sample"),
    "1d": (np.zeros(4), "Expected 2D array"),
    "wrong width": (np.zeros((3, 5)), "X has 5 features, but"),
}
BAD_ROWS_AT_FIT = [case for case in BAD_ROWS if case != "wrong width"]


@pytest.mark.parametrize("case", BAD_ROWS, ids=list(BAD_ROWS))
def test_bad_rows_get_a_clear_error_in_every_method(fitted, case):
    rows, message = BAD_ROWS[case]
    for method in _methods(fitted):
        with pytest.raises(ValueError, match=message):
            method(rows)


@pytest.mark.parametrize("case", BAD_ROWS_AT_FIT)
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_bad_rows_get_a_clear_error_in_fit_and_leave_it_unfitted(Estimator, case):
    rows, message = BAD_ROWS[case]
    est = Estimator(**FAST)
    with pytest.raises(ValueError, match=message):
        est.fit(rows)
    assert not hasattr(est, "n_features_in_")


def test_sparse_input_is_refused_by_name_unless_accepted(fitted, X):
    if fitted.__sklearn_tags__().input_tags.sparse:
        # Accepted (VAETransformer): tested in tests/test_text.py.
        np.testing.assert_allclose(
            fitted.score_samples(sparse.csr_matrix(X)), fitted.score_samples(X)
        )
        return
    for method in [*_methods(fitted), type(fitted)(**FAST).fit]:
        with pytest.raises(TypeError, match="[Ss]parse"):
            method(sparse.csr_matrix(X))


def test_renamed_or_reordered_columns_are_refused():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(
        np.random.RandomState(0).normal(size=(40, 3)), columns=list("abc")
    )
    est = VAEAnomalyDetector(**FAST).fit(df)
    for other in (df.rename(columns={"a": "z"}), df[["c", "b", "a"]]):
        for method in _methods(est):
            with pytest.raises(ValueError, match="feature names should match"):
                method(other)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_every_method_of_an_unfitted_estimator_raises_not_fitted_error(Estimator, X):
    est = Estimator(**FAST)
    generators = [getattr(est, m) for m in ("inverse_transform",) if hasattr(est, m)]
    for method in [*_methods(est), *generators]:
        with pytest.raises(NotFittedError):
            method(X)
    if hasattr(est, "sample"):
        with pytest.raises(NotFittedError):
            est.sample(2)


def test_inverse_transform_and_sample_reject_bad_arguments(X):
    fitted = VAETransformer(**FAST).fit(X)
    with pytest.raises(ValueError, match="n_components_=2"):
        fitted.inverse_transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        fitted.inverse_transform(np.array([[np.nan, 0.0]]))
    for bad in (0, -1, 1.5, "3"):
        with pytest.raises(ValueError, match="n_samples must be a positive integer"):
            fitted.sample(bad)


@pytest.mark.parametrize(
    "params, error, message",
    [
        ({"beta": -1.0}, InvalidParameterError, "beta"),
        ({"corruption": 1.0}, InvalidParameterError, "corruption"),
        ({"likelihood": "poisson"}, InvalidParameterError, "likelihood"),
        ({"hidden_layer_sizes": (8, 0)}, ValueError, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": ()}, ValueError, "hidden_layer_sizes"),
        ({"n_components": 0}, InvalidParameterError, "n_components"),
        ({"free_bits": 0.5, "n_importance_samples": 3}, ValueError, "free_bits"),
    ],
)
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_invalid_hyperparameters_get_a_clear_error_and_leave_it_unfitted(
    Estimator, X, params, error, message
):
    est = Estimator(**{**FAST, **params})
    with pytest.raises(error, match=message):
        est.fit(X)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_bernoulli_data_outside_the_unit_interval_is_refused_everywhere(Estimator):
    X01 = (np.random.RandomState(0).uniform(size=(40, 3)) > 0.5).astype(float)
    est = Estimator(**FAST, likelihood="bernoulli").fit(X01)
    with pytest.raises(ValueError, match="likelihood='bernoulli'"):
        est.score_samples(X01 - 0.5)
    for method in [*_methods(est), est.fit]:
        with pytest.raises(ValueError, match=r"requires every value of X in \[0, 1\]"):
            method(X01 + 1.5)


def test_early_stopping_needs_rows_to_hold_out():
    with pytest.raises(ValueError, match="early_stopping needs at least 2 samples"):
        VAETransformer(**FAST, early_stopping=True).fit([[1.0, 2.0]])


def test_device_auto_picks_what_is_available_and_cuda_needs_a_gpu(X):
    est = VAETransformer(**{**FAST, "max_iter": 1}, device="auto").fit(X)
    assert est.device_ == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="torch.cuda.is_available"):
            VAETransformer(**FAST, device="cuda").fit(X)


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
    expected = _outputs(est, X)
    est.set_params(n_components=5, hidden_layer_sizes=(3, 3), dropout=0.5)
    for a, b in zip(expected, _outputs(est, X), strict=True):
        np.testing.assert_array_equal(a, b)
    for rows in _generated(est):
        assert rows.shape[1] == X.shape[1]
    for a, b in zip(
        expected, _outputs(pickle.loads(pickle.dumps(est)), X), strict=True
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
    for method in _methods(est):
        assert np.all(np.isfinite(method(X)))
    np.testing.assert_allclose(est.mean_, np.nanmean(X, axis=0))


def test_a_model_of_complete_rows_scores_rows_with_missing_cells(with_missing):
    X, X_missing = with_missing
    est = VAEAnomalyDetector(**FAST).fit(X)
    assert not est.net_.module_.encoder.missing_inputs
    for method in _methods(est):
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
    for method in _methods(est):
        assert np.all(np.isfinite(method(X)))
    for rows in _generated(est):
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
    for method in _methods(fitted):
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
    for method in _methods(est):
        assert np.all(np.isfinite(method(X)))
    for rows in _generated(est):
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


# ------------------------------------------------------------- persistence


def test_pickle_and_joblib_round_trips_are_bit_identical(fitted, X, tmp_path):
    loaded = pickle.loads(pickle.dumps(fitted))
    joblib.dump(fitted, tmp_path / "model.joblib")
    from_joblib = joblib.load(tmp_path / "model.joblib")
    for other in (loaded, from_joblib):
        _assert_same_outputs(fitted, other, X)
        for a, b in zip(_generated(fitted), _generated(other), strict=True):
            np.testing.assert_array_equal(a, b)


def test_a_loaded_model_continues_training_exactly_as_the_original(fitted, X):
    original = pickle.loads(pickle.dumps(fitted))  # a copy to train further
    loaded = pickle.loads(pickle.dumps(original))
    # The optimizers' state travels with the model: Adam's moments included.
    original.partial_fit(X)
    loaded.partial_fit(X)
    assert loaded.loss_curve_ == original.loss_curve_
    _assert_same_outputs(original, loaded, X)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_partial_fit_after_a_round_trip_continues_its_record(Estimator, X):
    straight = Estimator(**FAST).partial_fit(X).partial_fit(X)
    saved = Estimator(**FAST).partial_fit(X)
    loaded = pickle.loads(pickle.dumps(saved)).partial_fit(X)
    assert loaded.n_iter_ == straight.n_iter_ == 2
    assert loaded.loss_curve_ == straight.loss_curve_
    _assert_same_outputs(straight, loaded, X)


@pytest.mark.parametrize("change", [{"n_components": 3}, {"likelihood": "bernoulli"}])
def test_partial_fit_cannot_change_the_architecture(change):
    X01 = np.random.RandomState(0).uniform(size=(50, 3))
    est = VAETransformer(**FAST).partial_fit(X01)
    est.set_params(**change)
    name = next(iter(change))
    with pytest.raises(ValueError, match=f"{name}=.* differs from the fitted"):
        est.partial_fit(X01)
    assert est.n_iter_ == 1


def test_persisted_state_holds_no_torch_objects(fitted):
    def walk(value):
        if isinstance(value, dict):
            for v in value.values():
                yield from walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                yield from walk(v)
        else:
            yield value

    state = fitted.__getstate__()
    assert "net_" not in state
    assert not any(
        isinstance(v, (torch.Tensor, torch.nn.Module, torch.Generator))
        for v in walk(state)
    )


def test_skops_round_trip_is_exact_and_trusts_only_skvae(fitted, X):
    sio = pytest.importorskip("skops.io")
    data = sio.dumps(fitted)
    untrusted = sio.get_untrusted_types(data=data)
    assert untrusted == [f"{type(fitted).__module__}.{type(fitted).__name__}"]
    loaded = sio.loads(data, trusted=untrusted)
    _assert_same_outputs(fitted, loaded, X)


def test_model_from_another_device_loads_on_cpu(fitted, X):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available: the model would stay on the GPU")
    state = fitted.__getstate__()
    state["device_"] = "cuda"  # as saved on a GPU machine
    loaded = type(fitted).__new__(type(fitted))
    loaded.__setstate__(state)
    assert loaded.device_ == "cpu"
    _assert_same_outputs(fitted, loaded, X)


def test_a_model_saved_in_another_state_format_fails_to_load_clearly(fitted):
    state = fitted.__getstate__()
    state["_skvae_state_format"] = 999
    blank = type(fitted).__new__(type(fitted))
    with pytest.raises(ValueError, match="incompatible skvae version"):
        blank.__setstate__(state)


def test_a_damaged_file_fails_to_load_instead_of_changing_the_model(fitted):
    data = bytearray(pickle.dumps(fitted))
    # Flip 16 bytes inside the largest weight matrix's stored bytes.
    weights = max(
        (p.detach().numpy() for p in fitted.net_.module_.parameters()),
        key=lambda w: w.size,
    )
    start = bytes(data).find(weights.tobytes()[:64])
    assert start > 0
    data[start + 8 : start + 24] = bytes(b ^ 0xFF for b in data[start + 8 : start + 24])
    with pytest.raises(ValueError, match="do not match their checksum"):
        pickle.loads(bytes(data))


def test_partial_fit_alone_makes_a_usable_model_of_every_estimator(X):
    gappy = X.copy()
    gappy[::3, 1] = np.nan
    for Estimator in ESTIMATORS:
        est = Estimator(**FAST).partial_fit(gappy)
        for method in _methods(est):
            assert np.all(np.isfinite(np.asarray(method(gappy), dtype=float)))
        # A continued model is as usable as a fitted one.
        est.partial_fit(gappy)
        assert est.n_iter_ == 2


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_model_trained_on_cuda_round_trips_through_pickle(X):
    est = VAETransformer(**FAST, device="cuda").fit(X)
    assert est.device_ == "cuda"
    assert next(est.net_.module_.parameters()).is_cuda
    state = est.__getstate__()
    assert "net_" not in state
    np.testing.assert_allclose(
        pickle.loads(pickle.dumps(est)).transform(X), est.transform(X)
    )


# ------------------------------------------------------------- determinism


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_same_random_state_gives_bit_identical_fits(Estimator, X):
    # Every random draw of training is used: shuffling, initialization,
    # latent samples, corruption, dropout and the adversarial generator.
    params = {**FAST, "adversarial_weight": 0.1, "corruption": 0.2, "dropout": 0.1}
    a = Estimator(**params).fit(X)
    b = Estimator(**params).fit(X)
    assert a.loss_curve_ == b.loss_curve_
    _assert_same_outputs(a, b, X)
    for rows_a, rows_b in zip(_generated(a), _generated(b), strict=True):
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
    expected = _outputs(fitted, X)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: _outputs(fitted, X), range(8)))
    for result in results:
        for a, b in zip(expected, result, strict=True):
            np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- inference


def test_score_samples_is_deterministic_and_batch_independent(blobs):
    est = VAETransformer(**FAST).fit(blobs)
    full = est.score_samples(blobs)
    rows = np.concatenate(
        [est.score_samples(blobs[i : i + 7]) for i in range(0, 400, 7)]
    )
    np.testing.assert_allclose(full, rows, rtol=1e-12)
    np.testing.assert_array_equal(full, est.score_samples(blobs))
    np.testing.assert_array_equal(full[::-1], est.score_samples(blobs[::-1]))


@pytest.mark.filterwarnings("ignore:Could not adhere to working_memory")
def test_inference_is_chunked_with_identical_results(fitted, X):
    expected = _outputs(fitted, X)
    # A working memory too small for one row forces one row per chunk (with
    # scikit-learn's warning that it could not adhere to it).
    with config_context(working_memory=1e-9):
        chunks = fitted._inference().row_chunks(len(X), 16)
        assert all(s.stop - s.start == 1 for s in chunks)
        for a, b in zip(expected, _outputs(fitted, X), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_sample_decodes_in_bounded_chunks(X):
    est = VAETransformer(**FAST).fit(X)
    width = max(est.n_features_in_, *est.hidden_layer_sizes_)
    # The float64 copy of the module that inference uses, made at fit.
    decoder = est._inference().module_for(np.float64).decoder
    seen = []
    hook = decoder.register_forward_hook(lambda m, i, o: seen.append(len(o)))
    try:
        # Room for 4 rows per chunk.
        with config_context(working_memory=4 * _BYTES_PER_ELEMENT * width / 2**20):
            rows = est.sample(1000, random_state=0)
            again = est.sample(1000, random_state=0)
    finally:
        hook.remove()
    assert rows.shape == (1000, est.n_features_in_) and np.isfinite(rows).all()
    assert max(seen) == 4 and sum(seen) == 2000
    np.testing.assert_array_equal(rows, again)


def test_the_float64_copy_of_the_weights_follows_training_and_pickling(X):
    est = VAETransformer(**FAST).fit(X)
    at_fit = est._inference().module_for(np.float64)
    # Made once per fit, not per call.
    assert est._inference().module_for(np.float64) is at_fit
    est.partial_fit(X)
    copy = est._inference().module_for(np.float64)
    assert copy is not at_fit and not copy.training
    for trained, used in zip(
        est.net_.module_.parameters(), copy.parameters(), strict=True
    ):
        np.testing.assert_array_equal(
            trained.detach().double().numpy(), used.detach().numpy()
        )
    assert "_float64_module" not in est.__getstate__()
    assert "_float64_module" in vars(est)  # pickling leaves it in place
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(loaded.score_samples(X), est.score_samples(X))


def test_chunks_are_cache_sized_unless_working_memory_is_smaller(X):
    model = VAETransformer(**FAST).fit(X)._inference()
    chunks = list(model.row_chunks(10**6, 4))
    largest = max(c.stop - c.start for c in chunks)
    assert largest == max(_MIN_CHUNK_ROWS, _CACHE_BYTES // (8 * 4 * model.width))


def test_chunk_memory_does_not_grow_with_rows(X):
    model = VAETransformer(**FAST).fit(X)._inference()
    for working_memory in (64, 1024):
        with config_context(working_memory=working_memory):
            for n_rows in (10**4, 10**6):
                for n_draws in (1, 1000):
                    chunks = list(model.row_chunks(n_rows, n_draws))
                    largest = max(c.stop - c.start for c in chunks)
                    assert sum(c.stop - c.start for c in chunks) == n_rows
                    row_bytes = _BYTES_PER_ELEMENT * n_draws * model.width
                    assert largest * row_bytes <= working_memory * 2**20


def test_score_is_close_to_true_log_density_of_a_1d_gaussian(gaussian_1d):
    est = VAETransformer(n_components=1, hidden_layer_sizes=(8,), max_iter=60)
    est.set_params(random_state=0, batch_size=64).fit(gaussian_1d)
    # E[log N(x; 3, 2^2)] = -log(2 sqrt(2 pi)) - 1/2
    true_mean_log_density = -np.log(2.0 * np.sqrt(2 * np.pi)) - 0.5
    assert est.score(gaussian_1d) == pytest.approx(true_mean_log_density, abs=0.1)


def test_score_is_a_whole_row_log_likelihood_in_nats(gaussian_1d):
    # Two independent copies of the feature: the row log-likelihood doubles
    # (summed over features, not averaged).
    X2 = np.hstack([gaussian_1d, gaussian_1d[::-1]])
    params = dict(hidden_layer_sizes=(8,), max_iter=60, random_state=0, batch_size=64)
    s1 = VAETransformer(n_components=1, **params).fit(gaussian_1d).score(gaussian_1d)
    s2 = VAETransformer(n_components=2, **params).fit(X2).score(X2)
    assert s2 == pytest.approx(2 * s1, abs=0.3)


def test_score_samples_is_on_the_users_scale(blobs):
    # Internal standardization: scaling the data changes the density by the
    # Jacobian, d * log(c), and nothing else.
    est = VAETransformer(**{**FAST, "max_iter": 30}).fit(blobs)
    scaled = VAETransformer(**{**FAST, "max_iter": 30}).fit(blobs * 1000.0)
    # (Each row's Monte Carlo draws depend on its values, so compare means.)
    assert scaled.score(blobs * 1000.0) == pytest.approx(
        est.score(blobs) - blobs.shape[1] * np.log(1000.0), abs=0.05
    )
    assert scaled.score_samples(blobs.astype(np.float32)).dtype == np.float64


def test_more_importance_samples_tighten_the_bound(blobs):
    # Same random_state, same model: only the number of samples differs.
    scores = [
        VAETransformer(**{**FAST, "max_iter": 30}, n_mc_samples=k)
        .fit(blobs)
        .score(blobs)
        for k in (1, 10, 100)
    ]
    assert scores[0] < scores[1] < scores[2]


def test_n_mc_samples_changes_take_effect_at_the_next_fit(blobs):
    est = VAETransformer(**FAST, n_mc_samples=1).fit(blobs)
    before = est.score_samples(blobs)
    est.set_params(n_mc_samples=50)
    np.testing.assert_array_equal(est.score_samples(blobs), before)
    assert est.fit(blobs).score(blobs) > before.mean()


def test_inverse_transform_decodes_to_input_space(blobs):
    est = VAETransformer(**{**FAST, "max_iter": 30}).fit(blobs)
    decoded = est.inverse_transform(est.transform(blobs))
    assert decoded.shape == blobs.shape
    # Reconstructions are on the original scale of each column.
    np.testing.assert_allclose(
        decoded.mean(0), blobs.mean(0), atol=0.2 * blobs.std(0).max()
    )


def test_samples_match_the_mean_and_covariance_of_a_gaussian_blob():
    rng = np.random.RandomState(0)
    cov = np.array([[4.0, 1.5], [1.5, 1.0]])
    X = rng.multivariate_normal([10.0, -5.0], cov, size=2000)
    est = VAETransformer(n_components=2, hidden_layer_sizes=(16,), max_iter=40)
    est.set_params(random_state=0, batch_size=64).fit(X)
    samples = est.sample(5000, random_state=0)
    assert samples.shape == (5000, 2)
    np.testing.assert_allclose(samples.mean(0), [10.0, -5.0], atol=0.15)
    np.testing.assert_allclose(np.cov(samples.T), cov, atol=0.4, rtol=0.15)
    np.testing.assert_array_equal(samples, est.sample(5000, random_state=0))
    assert not np.array_equal(samples, est.sample(5000, random_state=1))


def test_bernoulli_model_samples_binary_rows_and_decodes_probabilities(binary):
    est = VAETransformer(**{**FAST, "max_iter": 30}, likelihood="bernoulli")
    est.fit(binary)
    samples = est.sample(50, random_state=0)
    assert set(np.unique(samples)) <= {0.0, 1.0}
    probs = est.inverse_transform(est.transform(binary))
    assert probs.min() >= 0 and probs.max() <= 1
    # No standardization for 0/1 data.
    assert np.all(est.mean_ == 0) and np.all(est.scale_ == 1)
    # log p(x) of binary data is a (negative) log-probability.
    assert np.all(est.score_samples(binary) < 0)


def test_latent_diagnostics_show_collapse(blobs):
    est = VAETransformer(n_components=6, hidden_layer_sizes=(16,), max_iter=150)
    est.set_params(random_state=0, batch_size=32).fit(blobs)
    assert est.kl_per_component_.shape == (6,)
    assert est.component_activity_.shape == (6,)
    # Two latent factors generated the data: the other four dimensions
    # collapse to the prior, with near-zero KL and activity.
    assert est.n_active_components_ == 2
    inactive = est.component_activity_ <= 1e-2
    assert np.all(est.kl_per_component_[inactive] < 0.1)


def test_latent_diagnostics_read_a_bounded_subsample_of_a_large_table(monkeypatch):
    from skvae._inference import MAX_DERIVED_ROWS, InferenceModel

    read = []
    diagnostics = InferenceModel.latent_diagnostics

    def recording(self, X):
        read.append(len(X))
        return diagnostics(self, X)

    monkeypatch.setattr(InferenceModel, "latent_diagnostics", recording)
    X = np.random.RandomState(0).normal(size=(MAX_DERIVED_ROWS + 5_000, 3))
    est = VAETransformer(**{**FAST, "max_iter": 1}).fit(X)
    assert read == [MAX_DERIVED_ROWS]
    assert est.component_activity_.shape == (est.n_components_,)
