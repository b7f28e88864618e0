"""A good citizen of a shared process: threads, fork, grad mode, default
dtype and thread count are the caller's, and a fit is the same whatever
else runs in the process."""

import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
import torch
from configs import FAST
from joblib import parallel_config
from sklearn.model_selection import GridSearchCV

from skvae import VAEAnomalyDetector, VAETransformer
from skvae._training import VAENet

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ESTIMATORS = [VAETransformer, VAEAnomalyDetector]


@pytest.fixture(scope="module")
def X():
    return np.random.RandomState(0).normal(size=(200, 5))


def _outputs(est, X):
    outputs = [est.score_samples(X)]
    if hasattr(est, "sample"):
        outputs.append(est.sample(3, random_state=0))
    if hasattr(est, "transform"):
        outputs.append(est.transform(X))
    return outputs


def _assert_same(a, b):
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_concurrent_fits_in_threads_are_bit_identical_to_fits_alone(X):
    # Dropout, corruption, adversarial draws and shuffling all draw random
    # numbers during training: every source must be the fit's own.
    params = {**FAST, "max_iter": 4, "dropout": 0.1, "corruption": 0.1}
    configs = [
        (Estimator, {**params, "random_state": seed, "adversarial_weight": adv})
        for Estimator in ESTIMATORS
        for seed, adv in ((0, 0.0), (1, 0.5))
    ]
    alone = [_outputs(E(**p).fit(X), X) for E, p in configs]
    results = [None] * (2 * len(configs))

    def fit(i):
        E, p = configs[i % len(configs)]
        results[i] = _outputs(E(**p).fit(X), X)

    threads = [threading.Thread(target=fit, args=(i,)) for i in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, result in enumerate(results):
        _assert_same(result, alone[i % len(configs)])


def test_threaded_grid_search_scores_like_a_serial_one(X):
    grid = {"beta": [0.5, 1.0, 2.0], "n_components": [1, 2]}
    est = VAETransformer(**{**FAST, "max_iter": 3})
    serial = GridSearchCV(est, grid, cv=2).fit(X)
    with parallel_config(backend="threading", n_jobs=2):
        threaded = GridSearchCV(est, grid, cv=2, n_jobs=2).fit(X)
    np.testing.assert_array_equal(
        serial.cv_results_["mean_test_score"], threaded.cv_results_["mean_test_score"]
    )


@pytest.mark.parametrize(
    "context",
    [torch.no_grad, torch.inference_mode],
    ids=["no_grad", "inference_mode"],
)
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_fit_inside_the_callers_no_grad_block_trains_normally(Estimator, X, context):
    expected = _outputs(Estimator(**FAST).fit(X), X)
    with context():
        est = Estimator(**FAST).fit(X)
        assert not torch.is_grad_enabled()  # the caller's mode, restored
    _assert_same(_outputs(est, X), expected)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_fit_ignores_the_callers_default_dtype(Estimator, X):
    expected = _outputs(Estimator(**FAST).fit(X), X)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        est = Estimator(**FAST).fit(X)
        outputs = _outputs(est, X)
        assert torch.get_default_dtype() == torch.float64
    finally:
        torch.set_default_dtype(previous)
    assert next(est.net_.module_.parameters()).dtype == torch.float32
    _assert_same(outputs, expected)


def _threads_seen_in_training(monkeypatch):
    seen = []
    train_step = VAENet.train_step

    def recording_train_step(self, batch, **fit_params):
        seen.append(torch.get_num_threads())
        return train_step(self, batch, **fit_params)

    monkeypatch.setattr(VAENet, "train_step", recording_train_step)
    return seen


@pytest.mark.parametrize("n_jobs, expected", [(None, 1), (1, 1), (2, 2), (-1, None)])
def test_n_jobs_sets_the_threads_of_the_fit_only(monkeypatch, X, n_jobs, expected):
    seen = _threads_seen_in_training(monkeypatch)
    before = torch.get_num_threads()
    VAETransformer(**FAST, n_jobs=n_jobs).fit(X)
    assert set(seen) == {expected or torch.get_num_threads()}
    assert torch.get_num_threads() == before


def test_n_jobs_none_follows_joblibs_parallel_config(monkeypatch, X):
    seen = _threads_seen_in_training(monkeypatch)
    with parallel_config(n_jobs=2):
        VAETransformer(**FAST).fit(X)
    assert set(seen) == {2}


def test_fit_leaves_the_callers_thread_count_and_random_state_alone(X):
    torch.manual_seed(1)
    rng_state = torch.get_rng_state()
    threads = torch.get_num_threads()
    est = VAETransformer(**FAST, dropout=0.1, corruption=0.2, n_jobs=1).fit(X)
    est.score_samples(X)
    est.sample(5, random_state=0)
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.get_rng_state(), rng_state)


FORK_SCRIPT = textwrap.dedent(
    """
    import multiprocessing, warnings
    import numpy as np
    warnings.simplefilter("ignore")
    from skvae import VAETransformer

    X = np.random.RandomState(0).normal(size=(2000, 20))

    def fit(seed):
        est = VAETransformer(hidden_layer_sizes=(64,), max_iter=2, n_jobs=2,
                             random_state=seed).fit(X)
        return float(est.score(X[:10]))

    if __name__ == "__main__":
        fit(0)  # the parent uses torch's thread pool, then forks
        with multiprocessing.get_context("fork").Pool(2) as pool:
            print(pool.map(fit, [1, 2]))
    """
)


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_forked_children_of_a_fitted_parent_do_not_hang(tmp_path):
    script = tmp_path / "fork_after_fit.py"
    script.write_text(FORK_SCRIPT)
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr
    assert len(eval(result.stdout)) == 2


def test_the_number_of_threads_does_not_change_the_model():
    # Wide enough for torch to split its kernels over two threads.
    X = np.random.RandomState(0).normal(size=(1000, 64))
    params = dict(hidden_layer_sizes=(256,), n_components=4, max_iter=2)
    one = VAETransformer(**params, random_state=0, n_jobs=1).fit(X)
    two = VAETransformer(**params, random_state=0, n_jobs=2).fit(X)
    # The same trained model, bit for bit ...
    assert one.loss_curve_ == two.loss_curve_
    weights = [p.detach() for p in one.net_.module_.parameters()]
    for a, b in zip(weights, two.net_.module_.parameters(), strict=True):
        assert torch.equal(a, b)
    # ... whose float64 inference may round differently in the last bit
    # when a reduction is split over two threads.
    for a, b in zip(_outputs(one, X), _outputs(two, X), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13)
