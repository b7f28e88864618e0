"""StackedGridSearchCV: GridSearchCV's results, from fits trained stacked."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skvae import VAEAnomalyDetector, VAEImputer, VAETransformer
from skvae._stacked import stack_key, train_stack
from skvae.model_selection import StackedGridSearchCV

GRID = {"beta": [0.5, 1.0], "weight_decay": [0.0, 1e-3]}


@pytest.fixture(scope="module")
def X():
    # 203 rows: 3 folds of unequal sizes, so members' last batches differ.
    return np.random.RandomState(0).normal(size=(203, 4))


def _searches(estimator, X, grid=GRID, **kwargs):
    cv = KFold(3, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        stacked = StackedGridSearchCV(estimator, grid, cv=cv, **kwargs).fit(X)
        plain = GridSearchCV(estimator, grid, cv=cv).fit(X)
    return stacked, plain


def test_results_are_grid_search_cv_s(X):
    stacked, plain = _searches(VAEAnomalyDetector(max_iter=5, random_state=0), X)
    assert stacked.n_stacks_ == 1 and stacked.n_stacked_fits_ == 12
    assert set(stacked.cv_results_) == set(plain.cv_results_)
    assert stacked.cv_results_["params"] == plain.cv_results_["params"]
    for key in ["mean_test_score", "split0_test_score", "split2_test_score"]:
        np.testing.assert_allclose(
            stacked.cv_results_[key], plain.cv_results_[key], rtol=1e-5
        )
    assert stacked.best_params_ == plain.best_params_
    assert stacked.best_index_ == plain.best_index_
    # The refit is a plain fit: the same model as GridSearchCV's.
    np.testing.assert_array_equal(stacked.score_samples(X), plain.score_samples(X))
    assert stacked.score(X) == plain.score(X)


def _begun(estimators, X):
    return [estimator._begin_fit(X) for estimator in estimators]


@pytest.mark.parametrize(
    "base, params",
    [
        # trimmed (the detector's default) and penalized members, the KL
        # weight warming up
        (
            VAEAnomalyDetector(max_iter=4, kl_warmup=2, random_state=0),
            [{"beta": b, "l1_penalty": l1} for b in (0.5, 2.0) for l1 in (0.0, 1e-3)],
        ),
        (
            VAEAnomalyDetector(max_iter=4),
            [{"random_state": seed, "weight_decay": 1e-2} for seed in (0, 1, 2)],
        ),
        # held-out rows: the validation loss, its best epoch's weights
        (
            VAETransformer(max_iter=30, early_stopping=True, n_iter_no_change=3),
            [{"beta": b, "random_state": seed} for b in (0.5, 2.0) for seed in (0, 1)],
        ),
        # free bits and held-out cells (the imputer's defaults), missing cells
        (
            VAEImputer(max_iter=4, random_state=0),
            [{"beta": b} for b in (0.5, 1.0, 2.0)],
        ),
    ],
)
def test_a_member_is_its_fit_alone(X, base, params):
    if isinstance(base, VAEImputer):
        X = X.copy()
        X[np.random.RandomState(1).rand(*X.shape) < 0.2] = np.nan
    alone = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for p in params:
            alone.append(clone(base).set_params(**p).fit(X))
        members = [clone(base).set_params(**p) for p in params]
        begun = _begun(members, X)
        keys = [stack_key(prepared) for prepared, _ in begun]
        assert keys[0] is not None and all(key == keys[0] for key in keys)
        outcomes = train_stack([net for _, net in begun], [p for p, _ in begun])
        for member, (prepared, net), outcome in zip(
            members, begun, outcomes, strict=True
        ):
            member._end_fit(prepared, net, outcome)
    for member, fit in zip(members, alone, strict=True):
        assert member.n_iter_ == fit.n_iter_
        np.testing.assert_allclose(member.loss_curve_, fit.loss_curve_, rtol=1e-5)
        if fit.validation_scores_ is not None:
            np.testing.assert_allclose(
                member.validation_scores_, fit.validation_scores_, rtol=1e-5
            )
        np.testing.assert_allclose(
            member.score_samples(X), fit.score_samples(X), rtol=1e-4, atol=1e-4
        )


def test_a_mixed_table_stacks():
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    X = pd.DataFrame(
        {
            "x": rng.normal(size=150),
            "count": rng.randint(0, 4, size=150).astype(float),
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], 150)),
        }
    )
    stacked, plain = _searches(
        VAETransformer(max_iter=3, random_state=0), X, {"beta": [0.5, 1.0]}
    )
    assert stacked.n_stacked_fits_ == 6
    np.testing.assert_allclose(
        stacked.cv_results_["mean_test_score"],
        plain.cv_results_["mean_test_score"],
        rtol=1e-4,
    )


def test_each_member_stops_by_its_own_rule(X):
    # A large tol: members stop after different numbers of epochs, each
    # when its fit alone stops.
    base = VAEAnomalyDetector(max_iter=60, tol=0.05, n_iter_no_change=2)
    params = [{"beta": b, "random_state": s} for b in (0.1, 1.0, 4.0) for s in (0, 1)]
    alone = [clone(base).set_params(**p).fit(X) for p in params]
    members = [clone(base).set_params(**p) for p in params]
    begun = _begun(members, X)
    outcomes = train_stack([net for _, net in begun], [p for p, _ in begun])
    n_epochs = [len(outcome.loss_curve) for outcome in outcomes]
    assert len(set(n_epochs)) > 1
    assert all(outcome.stopped_early for outcome in outcomes)
    assert n_epochs == [fit.n_iter_ for fit in alone]


def test_stacks_of_any_size_give_the_same_members(X):
    estimator = VAEAnomalyDetector(max_iter=3, random_state=0)
    cv = KFold(3, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        whole = StackedGridSearchCV(estimator, GRID, cv=cv, refit=False).fit(X)
        chunked = StackedGridSearchCV(
            estimator, GRID, cv=cv, refit=False, max_stack_size=5
        ).fit(X)
    assert whole.n_stacks_ == 1 and chunked.n_stacks_ == 3
    np.testing.assert_allclose(
        whole.cv_results_["mean_test_score"],
        chunked.cv_results_["mean_test_score"],
        rtol=1e-5,
    )
    assert not hasattr(whole, "best_estimator_")


@pytest.mark.parametrize(
    "estimator",
    [
        VAEAnomalyDetector(max_iter=3, dropout=0.1, random_state=0),
        VAEAnomalyDetector(max_iter=3, corruption=0.1, random_state=0),
    ],
)
def test_fits_that_cannot_stack_train_alone_as_fit_does(X, estimator):
    stacked, plain = _searches(estimator, X, {"beta": [0.5, 1.0]})
    assert stacked.n_stacked_fits_ == 0
    np.testing.assert_array_equal(
        stacked.cv_results_["mean_test_score"], plain.cv_results_["mean_test_score"]
    )


def test_a_pipeline_stacks_its_skvae_step(X):
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    pipe = make_pipeline(
        StandardScaler(),
        VAETransformer(n_components=2, max_iter=5, random_state=0),
        LogisticRegression(),
    )
    grid = {"vaetransformer__beta": [0.5, 2.0]}
    cv = KFold(3, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        stacked = StackedGridSearchCV(pipe, grid, cv=cv).fit(X, y)
        plain = GridSearchCV(pipe, grid, cv=cv).fit(X, y)
    assert stacked.n_stacked_fits_ == 6
    np.testing.assert_allclose(
        stacked.cv_results_["mean_test_score"],
        plain.cv_results_["mean_test_score"],
        atol=0.02,  # accuracy: a row of one fold could flip
    )
    np.testing.assert_array_equal(stacked.predict(X), plain.predict(X))


def test_any_estimator_is_searched_one_fit_at_a_time(X):
    stacked, plain = _searches(PCA(), X, {"n_components": [1, 2, 3]})
    assert stacked.n_stacked_fits_ == 0
    np.testing.assert_array_equal(
        stacked.cv_results_["mean_test_score"], plain.cv_results_["mean_test_score"]
    )
    assert stacked.best_params_ == plain.best_params_


def test_the_scorer_gets_y(X):
    y = (np.abs(X).max(axis=1) > 2).astype(int)

    def auc(estimator, X, y):
        return roc_auc_score(y, -estimator.score_samples(X))

    search = StackedGridSearchCV(
        VAEAnomalyDetector(max_iter=3, random_state=0), GRID, scoring=auc, cv=3
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    assert np.all(search.cv_results_["mean_test_score"] > 0.5)


def test_a_diverging_fit_scores_error_score(X):
    estimator = VAEAnomalyDetector(max_iter=3, random_state=0)
    grid = {"learning_rate_init": [1e-3, 1e30], "beta": [0.5, 1.0]}
    search = StackedGridSearchCV(estimator, grid, cv=3)
    with pytest.warns(FitFailedWarning, match="Training diverged"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            search.fit(X)
    scores = search.cv_results_["mean_test_score"]
    diverged = [p["learning_rate_init"] == 1e30 for p in search.cv_results_["params"]]
    assert np.isnan(scores[diverged]).all()
    assert np.isfinite(scores[~np.array(diverged)]).all()
    with pytest.raises(ValueError, match="Training diverged"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clone(search).set_params(error_score="raise").fit(X)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"max_stack_size": 0}, "max_stack_size"),
        ({"scoring": ["neg_mean_squared_error"]}, "scoring"),
    ],
)
def test_bad_parameters_are_refused(X, params, match):
    search = StackedGridSearchCV(VAEAnomalyDetector(), GRID, **params)
    with pytest.raises(ValueError, match=match):
        search.fit(X)
