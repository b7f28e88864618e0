"""skvae on a real Dask cluster (a scheduler and two worker processes on
127.0.0.1): a hyperparameter search gives the same results as a local one,
``dask_ml.wrappers.Incremental`` fits a Dask collection block by block into
the same model as a loop of ``partial_fit`` over its blocks, and
``ParallelPostFit`` / ``map_partitions`` score and transform it as one
in-memory call would.

The packages are the ``tests`` extra's: a missing one is a collection
error, never a silent skip.
"""

import warnings

import dask.array as da
import dask.dataframe as dd
import joblib
import numpy as np
import pandas as pd
import pytest
from dask import distributed
from dask_ml.wrappers import Incremental, ParallelPostFit
from sklearn.model_selection import GridSearchCV
from sklearn.utils import check_random_state

from skvae import VAEAnomalyDetector, VAETransformer

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning",
)

N_BLOCKS, BLOCK_ROWS = 3, 100
LEVELS = ["red", "green", "blue"]


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _torch_threads():
    import torch

    return torch.get_num_threads()


def _make(estimator, **params):
    params = dict(hidden_layer_sizes=(8,), n_components=2, random_state=0, **params)
    if estimator == "detector":
        return VAEAnomalyDetector(contamination=0.1, **params)
    return VAETransformer(**params)


def _incremental(model, **params):
    # No scorer: Incremental scores with the estimator's own ``score``.
    return Incremental(model, **params)


def _table(level_missing_in):
    """N_BLOCKS blocks of BLOCK_ROWS rows: a categorical ``colour`` with
    known categories LEVELS that sets the means of ``x`` and ``y``; block
    ``level_missing_in`` has no "blue"; every block has missing cells in
    every column."""
    rng = np.random.RandomState(0)
    n = N_BLOCKS * BLOCK_ROWS
    codes = rng.randint(len(LEVELS), size=n)
    block = slice(level_missing_in * BLOCK_ROWS, (level_missing_in + 1) * BLOCK_ROWS)
    codes[block][codes[block] == LEVELS.index("blue")] = 0
    frame = pd.DataFrame(
        {
            "colour": pd.Categorical.from_codes(codes, LEVELS),
            "x": 10.0 * codes + rng.normal(size=n),
            "y": -100.0 * codes + 5 * rng.normal(size=n),
        }
    )
    gaps = rng.uniform(size=frame.shape) < 0.1
    frame = frame.mask(gaps)
    ddf = dd.from_pandas(frame, npartitions=N_BLOCKS, sort=False)
    ddf["colour"] = ddf["colour"].cat.as_known()
    blocks = [ddf.partitions[i].compute() for i in range(N_BLOCKS)]
    assert [len(b) for b in blocks] == [BLOCK_ROWS] * N_BLOCKS
    assert all(b.isna().any().all() for b in blocks)
    assert "blue" not in set(blocks[level_missing_in]["colour"])
    return frame, ddf, blocks


def _array():
    rng = np.random.RandomState(0)
    latent = rng.normal(size=(N_BLOCKS * BLOCK_ROWS, 2))
    X = latent @ rng.normal(size=(2, 5)) + 0.1 * rng.normal(size=(len(latent), 5))
    X[rng.uniform(size=X.shape) < 0.1] = np.nan
    return X, da.from_array(X, chunks=(BLOCK_ROWS, X.shape[1]))


def _assert_same_model(fitted, expected):
    """Every attribute of two estimators, trained weights and optimizer
    state included, equal bit for bit."""
    _assert_same(fitted.__getstate__(), expected.__getstate__(), "")


def _assert_same(a, b, path):
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for key in a:
            _assert_same(a[key], b[key], f"{path}/{key}")
    elif isinstance(a, list | tuple):
        assert type(a) is type(b) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, strict=True, err_msg=path)
    elif isinstance(a, float) and np.isnan(a):
        assert isinstance(b, float) and np.isnan(b), path
    else:
        assert a == b and type(a) is type(b), path


def test_grid_search_on_a_local_dask_cluster_matches_a_local_run(client):
    X = np.random.RandomState(0).normal(size=(120, 4))
    search = GridSearchCV(
        VAETransformer(
            hidden_layer_sizes=(8,), n_components=2, max_iter=3, random_state=0
        ),
        {"beta": [0.5, 1.0, 2.0]},
        cv=2,
        n_jobs=-1,
    )
    local = search.fit(X).cv_results_["mean_test_score"]
    # Dask's nanny starts workers with OMP_NUM_THREADS=1, so torch uses one
    # thread per worker and the workers don't oversubscribe the cores.
    assert set(client.run(_torch_threads).values()) == {1}
    with joblib.parallel_backend("dask"):
        remote = search.fit(X).cv_results_["mean_test_score"]
    np.testing.assert_allclose(remote, local, rtol=1e-6)


@pytest.mark.parametrize("estimator", ["transformer", "detector"])
def test_incremental_fit_of_a_dask_dataframe_is_partial_fit_over_its_partitions(
    client, estimator
):
    # The middle partition lacks a level; NaN in every column of every one.
    frame, ddf, blocks = _table(level_missing_in=1)
    incremental = _incremental(_make(estimator), shuffle_blocks=False).fit(ddf)
    model = incremental.estimator_

    expected = _make(estimator)
    with warnings.catch_warnings():
        # No level is unseen (the warning of TableSchema.encode would fail).
        warnings.simplefilter("error", UserWarning)
        for block in blocks:
            expected.partial_fit(block)
    _assert_same_model(model, expected)
    assert model.n_iter_ == N_BLOCKS  # one epoch per partition
    assert incremental.n_iter_ == N_BLOCKS  # fitted attributes copied over
    np.testing.assert_array_equal(model.categories_[0], LEVELS)
    # The model is a usable model of the whole table.
    assert np.isfinite(model.score_samples(frame)).all()


@pytest.mark.parametrize("estimator", ["transformer", "detector"])
def test_incremental_fit_of_a_dask_array_in_shuffled_order_over_two_passes(
    client, estimator
):
    X, dX = _array()
    incremental = _incremental(_make(estimator), shuffle_blocks=True, random_state=0)
    incremental.fit(dX)
    incremental.partial_fit(dX)  # a second pass continues the same model
    model = incremental.estimator_

    # Incremental draws its block order from random_state as here.
    order = list(range(N_BLOCKS))
    check_random_state(0).shuffle(order)
    assert order != sorted(order)
    expected = _make(estimator)
    for i in order + order:
        expected.partial_fit(X[i * BLOCK_ROWS : (i + 1) * BLOCK_ROWS])
    _assert_same_model(model, expected)
    assert model.n_iter_ == 2 * N_BLOCKS
    # The wrapper's default scoring is the estimator's mean held-out bound.
    assert incremental.score(dX, None) == pytest.approx(expected.score(X), rel=1e-6)


def test_incremental_fit_learns_the_known_categories_of_the_dask_dtype(client):
    # The contract: the levels are the Dask dtype's known
    # categories, even when the first partition lacks one.
    frame, ddf, blocks = _table(level_missing_in=0)
    assert list(ddf["colour"].cat.categories) == LEVELS
    incremental = Incremental(_make("transformer"), shuffle_blocks=False)
    model = incremental.fit(ddf).estimator_
    np.testing.assert_array_equal(model.categories_[0], LEVELS)
    with warnings.catch_warnings():
        # "blue" is a level of the model, not an unseen one.
        warnings.simplefilter("error", UserWarning)
        model.score_samples(frame[frame["colour"] == "blue"])


@pytest.mark.parametrize("estimator", ["transformer", "detector"])
def test_parallel_post_fit_on_a_dask_dataframe_matches_in_memory_calls(
    client, estimator
):
    frame, ddf, blocks = _table(level_missing_in=1)
    model = _make(estimator)
    for block in blocks:
        model.partial_fit(block)
    # The output types, as the user guide advises (else dask-ml calls the
    # model on a made-up partition to find them).
    parallel = ParallelPostFit(
        model,
        transform_meta=np.empty((0, model.n_components_)),
        predict_meta=np.empty(0, dtype=int),
    )

    if estimator == "transformer":
        Z = parallel.transform(ddf).compute()
        # transform is exact whatever the batch (posterior means).
        np.testing.assert_array_equal(Z, model.transform(frame), strict=True)
    else:
        labels = parallel.predict(ddf).compute()
        np.testing.assert_array_equal(labels, model.predict(frame), strict=True)
    scores = ddf.map_partitions(model.score_samples, meta=np.empty(0)).compute()
    # The same rows in the same batches give the same bits; the whole table
    # in one batch may differ in the last bit (float64 matrix products
    # accumulate in an order that depends on the batch's size).
    in_blocks = np.concatenate([model.score_samples(b) for b in blocks])
    np.testing.assert_array_equal(scores, in_blocks, strict=True)
    np.testing.assert_allclose(scores, model.score_samples(frame), rtol=1e-12)


@pytest.mark.parametrize("estimator", ["transformer", "detector"])
def test_parallel_post_fit_on_a_dask_array_matches_in_memory_calls(client, estimator):
    X, dX = _array()
    model = _make(estimator)
    for i in range(N_BLOCKS):
        model.partial_fit(X[i * BLOCK_ROWS : (i + 1) * BLOCK_ROWS])
    parallel = ParallelPostFit(model)

    if estimator == "transformer":
        Z = parallel.transform(dX).compute()
        np.testing.assert_array_equal(Z, model.transform(X), strict=True)
    else:
        labels = parallel.predict(dX).compute()
        np.testing.assert_array_equal(labels, model.predict(X), strict=True)
    scores = dX.map_blocks(model.score_samples, drop_axis=1, dtype=np.float64)
    np.testing.assert_allclose(scores.compute(), model.score_samples(X), rtol=1e-12)
