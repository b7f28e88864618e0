"""The skorch training loop: stopping rules, progress output, warm starts,
streaming with partial_fit, batching and devices."""

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from skorch.dataset import Dataset

from skvae import VAEAnomalyDetector, VAETransformer
from skvae._training import TensorBatchIterator

FAST = dict(hidden_layer_sizes=(8,), n_components=2, random_state=0)
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def X():
    rng = np.random.RandomState(0)
    return rng.normal(size=(300, 2)) @ rng.normal(size=(2, 5))


def test_reaching_max_iter_warns_like_mlp(X):
    with pytest.warns(ConvergenceWarning, match="maximum iterations \\(3\\)"):
        est = VAETransformer(max_iter=3, **FAST).fit(X)
    assert est.n_iter_ == 3 and len(est.loss_curve_) == 3


def test_no_improvement_stops_training_without_warning(X, recwarn):
    est = VAETransformer(max_iter=50, tol=1e9, n_iter_no_change=2, **FAST).fit(X)
    # Epoch 1 sets the reference; 2 and 3 bring no improvement of 1e9 nats.
    assert est.n_iter_ == 3
    assert not [w for w in recwarn if issubclass(w.category, ConvergenceWarning)]


def test_loss_decreases(X):
    est = VAETransformer(max_iter=30, **FAST).fit(X)
    assert est.loss_curve_[-1] < est.loss_curve_[0]


def test_early_stopping_on_held_out_likelihood(X):
    est = VAETransformer(
        max_iter=500, early_stopping=True, n_iter_no_change=3, tol=0.05, **FAST
    ).fit(X)
    assert est.n_iter_ < 500
    assert len(est.validation_scores_) == est.n_iter_
    assert est.best_validation_score_ == max(est.validation_scores_)
    plain = VAETransformer(max_iter=2, **FAST)
    with pytest.warns(ConvergenceWarning):
        plain.fit(X)
    assert plain.validation_scores_ is None


def test_early_stopping_needs_rows_to_hold_out():
    with pytest.raises(ValueError, match="early_stopping needs at least 2 samples"):
        VAETransformer(early_stopping=True, **FAST).fit([[1.0, 2.0]])


def test_verbose_levels(X, capfd):
    VAETransformer(max_iter=2, verbose=0, **FAST).fit(X)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    VAETransformer(max_iter=2, verbose=1, **FAST).fit(X)
    out, err = capfd.readouterr()
    assert "2/2" in err and "loss=" in err  # a tqdm bar over epochs
    VAETransformer(max_iter=2, verbose=2, **FAST).fit(X)
    out, err = capfd.readouterr()
    assert "train_loss" in out  # skorch's per-epoch table


def test_warm_start_continues_training(X):
    est = VAETransformer(max_iter=10, warm_start=True, **FAST).fit(X)
    first = list(est.loss_curve_)
    est.fit(X)
    assert est.n_iter_ == 20 and est.loss_curve_[:10] == first
    # The second call starts where the first stopped, not from scratch.
    assert est.loss_curve_[10] < first[0]


def test_warm_start_false_starts_afresh(X):
    est = VAETransformer(max_iter=5, **FAST).fit(X)
    first = est.transform(X)
    np.testing.assert_array_equal(est.fit(X).transform(X), first)
    assert est.n_iter_ == 5


def test_partial_fit_streams_a_memmap(X, tmp_path):
    path = tmp_path / "rows.dat"
    data = np.memmap(path, dtype=np.float64, mode="w+", shape=X.shape)
    data[:] = X * 10 + 3
    data.flush()
    rows = np.memmap(path, dtype=np.float64, mode="r", shape=X.shape)
    for Estimator in (VAETransformer, VAEAnomalyDetector):
        est = Estimator(**FAST)
        for start in range(0, len(rows), 100):
            est.partial_fit(rows[start : start + 100])
        assert est.n_iter_ == 3
        # The input scaling is fixed by the first chunk.
        np.testing.assert_allclose(est.mean_, np.asarray(rows[:100]).mean(0))
        assert np.all(np.isfinite(est.score_samples(rows)))
    with pytest.raises(ValueError, match="X has 4 features"):
        est.partial_fit(np.zeros((5, 4)))


def test_tensor_batch_iterator_covers_every_row_once():
    X = torch.arange(10.0).reshape(10, 1)
    batches = list(TensorBatchIterator(Dataset(X), batch_size=4, shuffle=True))
    assert [len(b) for b, _ in batches] == [4, 4, 2]
    assert sorted(torch.cat([b for b, _ in batches]).flatten().tolist()) == list(
        range(10)
    )
    ordered = list(TensorBatchIterator(Dataset(X), batch_size=4))
    assert torch.equal(torch.cat([b for b, _ in ordered]), X)
    assert len(TensorBatchIterator(Dataset(X), batch_size=4)) == 3


def test_device_resolution(X):
    est = VAETransformer(max_iter=1, device="auto", **FAST).fit(X)
    assert est.device_ == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="torch.cuda.is_available"):
            VAETransformer(device="cuda", **FAST).fit(X)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_training_and_cpu_loading(X):
    import pickle

    est = VAETransformer(max_iter=3, device="cuda", **FAST).fit(X)
    assert est.device_ == "cuda"
    assert next(est.net_.module_.parameters()).is_cuda
    state = pickle.loads(pickle.dumps(est)).__getstate__()
    np.testing.assert_allclose(
        pickle.loads(pickle.dumps(est)).transform(X), est.transform(X)
    )
    assert "net_" not in state


def test_gradient_callbacks_are_notified_and_others_skip_the_call(X):
    from skorch.callbacks import GradientNormClipping

    est = VAETransformer(max_iter=2, **FAST).fit(X)
    assert est.net_.grad_listeners_ is False
    calls = []

    class Recorder(GradientNormClipping):
        def on_grad_computed(self, net, named_parameters, **kwargs):
            calls.append(len(list(named_parameters)))
            super().on_grad_computed(net, named_parameters, **kwargs)

    net = est.net_
    net.callbacks = [("clip", Recorder(gradient_clip_value=1.0))]
    net.initialize_callbacks()
    assert net.grad_listeners_ is True
    net.partial_fit(torch.ones(10, X.shape[1]))
    n_params = len(list(net.module_.parameters()))
    assert calls and all(n == n_params for n in calls)
