"""Input and hyperparameter validation (``skvae._validation``) of every
estimator: bad rows, bad arguments and bad hyperparameters get a clear
scikit-learn-style error and leave the estimator unfitted."""

import numpy as np
import pytest
import torch
from configs import ESTIMATORS, FAST
from outputs import row_methods
from scipy import sparse
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted

from skvae import VAEAnomalyDetector, VAETransformer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module", params=ESTIMATORS, ids=lambda c: c.__name__)
def fitted(request, X):
    return request.param(**FAST).fit(X)


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
    for method in row_methods(fitted):
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
    for method in [*row_methods(fitted), type(fitted)(**FAST).fit]:
        with pytest.raises(TypeError, match="[Ss]parse"):
            method(sparse.csr_matrix(X))


def test_renamed_or_reordered_columns_are_refused():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(
        np.random.RandomState(0).normal(size=(40, 3)), columns=list("abc")
    )
    est = VAEAnomalyDetector(**FAST).fit(df)
    for other in (df.rename(columns={"a": "z"}), df[["c", "b", "a"]]):
        for method in row_methods(est):
            with pytest.raises(ValueError, match="feature names should match"):
                method(other)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_every_method_of_an_unfitted_estimator_raises_not_fitted_error(Estimator, X):
    est = Estimator(**FAST)
    generators = [getattr(est, m) for m in ("inverse_transform",) if hasattr(est, m)]
    for method in [*row_methods(est), *generators]:
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
    for method in [*row_methods(est), est.fit]:
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
