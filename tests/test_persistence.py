"""Persistence (``skvae._persistence``): pickle, joblib and skops round
trips are exact, hold no torch object, continue training as the original
and refuse a damaged file or another state format clearly."""

import pickle

import joblib
import numpy as np
import pytest
import torch
from configs import ESTIMATORS, FAST
from outputs import assert_same_outputs, generated, row_methods

from skvae import VAETransformer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module", params=ESTIMATORS, ids=lambda c: c.__name__)
def fitted(request, X):
    return request.param(**FAST).fit(X)


# ------------------------------------------------------------- persistence


def test_pickle_and_joblib_round_trips_are_bit_identical(fitted, X, tmp_path):
    loaded = pickle.loads(pickle.dumps(fitted))
    joblib.dump(fitted, tmp_path / "model.joblib")
    from_joblib = joblib.load(tmp_path / "model.joblib")
    for other in (loaded, from_joblib):
        assert_same_outputs(fitted, other, X)
        for a, b in zip(generated(fitted), generated(other), strict=True):
            np.testing.assert_array_equal(a, b)


def test_a_loaded_model_continues_training_exactly_as_the_original(fitted, X):
    original = pickle.loads(pickle.dumps(fitted))  # a copy to train further
    loaded = pickle.loads(pickle.dumps(original))
    # The optimizers' state travels with the model: Adam's moments included.
    original.partial_fit(X)
    loaded.partial_fit(X)
    assert loaded.loss_curve_ == original.loss_curve_
    assert_same_outputs(original, loaded, X)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_partial_fit_after_a_round_trip_continues_its_record(Estimator, X):
    straight = Estimator(**FAST).partial_fit(X).partial_fit(X)
    saved = Estimator(**FAST).partial_fit(X)
    loaded = pickle.loads(pickle.dumps(saved)).partial_fit(X)
    assert loaded.n_iter_ == straight.n_iter_ == 2
    assert loaded.loss_curve_ == straight.loss_curve_
    assert_same_outputs(straight, loaded, X)


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
    assert_same_outputs(fitted, loaded, X)


def test_model_from_another_device_loads_on_cpu(fitted, X):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available: the model would stay on the GPU")
    state = fitted.__getstate__()
    state["device_"] = "cuda"  # as saved on a GPU machine
    loaded = type(fitted).__new__(type(fitted))
    loaded.__setstate__(state)
    assert loaded.device_ == "cpu"
    assert_same_outputs(fitted, loaded, X)


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
        for method in row_methods(est):
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
