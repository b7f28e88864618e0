"""The skorch training loop (``skvae._training``): the net's loss and step,
the batch iterator, stopping rules, progress output, corruption and
dropout in training."""

import warnings

import numpy as np
import pytest
import torch
from configs import FAST, TRAINED
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import GradientNormClipping
from skorch.dataset import Dataset

from skvae import VAEAnomalyDetector, VAETransformer
from skvae._budget import StepBudget, TwoRegimeBudget
from skvae._objective import Objective
from skvae._regularizers import Regularizer
from skvae._torch.networks import Dropout
from skvae._training import TensorBatchIterator, VAENet

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# ------------------------------------------------------------- the net


def test_training_loss_is_the_objective_plus_every_regularizers_penalty(X):
    class Constant(Regularizer):
        def penalty(self, vae, x):
            return torch.tensor(7.0)

    net = VAETransformer(**FAST).fit(X).net_
    x = torch.tensor(X, dtype=torch.float32)
    q = net.module_(x)

    def loss(training):
        net.generator.manual_seed(0)
        return net.get_loss(q, x, training=training)

    without = loss(training=True)
    net.regularizers = [Constant(), Constant()]
    torch.testing.assert_close(loss(training=True), without + 14.0)
    # Validation: the objective's beta=1 ELBO, without penalties.
    net.generator.manual_seed(0)
    expected = net.objective.validation_loss(net.module_, q, x, net.generator)
    torch.testing.assert_close(loss(training=False), expected)


def test_warm_starts_continue_the_kl_warm_up_where_the_last_fit_stopped(X, monkeypatch):
    epochs = []
    call = Objective.__call__

    def recording_call(self, *args, epoch, **kwargs):
        epochs.append(epoch)
        return call(self, *args, epoch=epoch, **kwargs)

    monkeypatch.setattr(Objective, "__call__", recording_call)
    est = VAETransformer(**{**FAST, "max_iter": 2, "warm_start": True, "kl_warmup": 4})
    est.fit(X)
    assert sorted(set(epochs)) == [1, 2]
    epochs.clear()
    est.fit(X)
    assert sorted(set(epochs)) == [3, 4]


def test_gradient_callbacks_are_notified_and_others_skip_the_call(X):
    est = VAETransformer(**{**FAST, "max_iter": 2}).fit(X)
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


def test_adversarial_warm_start_of_a_model_without_discriminator_is_refused(X):
    est = VAETransformer(**{**FAST, "warm_start": True}).fit(X)
    before = est.transform(X)
    est.set_params(adversarial_weight=0.5)
    with pytest.raises(ValueError, match="needs a discriminator"):
        est.fit(X)
    np.testing.assert_array_equal(est.transform(X), before)


def test_early_stopping_with_a_discriminator_records_its_training_losses(X):
    # Validation batches log no discriminator loss: only training batches
    # make the curve.
    est = VAETransformer(**FAST, early_stopping=True, adversarial_weight=0.1).fit(X)
    assert len(est.discriminator_loss_curve_) == est.n_iter_
    assert np.all(np.isfinite(est.discriminator_loss_curve_))
    assert len(est.validation_scores_) == est.n_iter_


# ------------------------------------------------------------ iterator


def test_tensor_batch_iterator_covers_every_row_once_as_input_and_target():
    X = torch.arange(10.0).reshape(10, 1)
    batches = list(TensorBatchIterator(Dataset(X), batch_size=4, shuffle=True))
    assert [len(b) for b, _ in batches] == [4, 4, 2]
    assert all(target is batch for batch, target in batches)
    assert sorted(torch.cat([b for b, _ in batches]).flatten().tolist()) == list(
        range(10)
    )
    ordered = list(TensorBatchIterator(Dataset(X), batch_size=4))
    assert torch.equal(torch.cat([b for b, _ in ordered]), X)
    assert len(TensorBatchIterator(Dataset(X), batch_size=4)) == 3


def test_tensor_batch_iterator_shuffles_from_its_generator():
    X = torch.arange(100.0).reshape(100, 1)

    def order(seed):
        generator = torch.Generator().manual_seed(seed)
        iterator = TensorBatchIterator(Dataset(X), 100, True, generator)
        return next(iter(iterator))[0].flatten()

    assert torch.equal(order(0), order(0))
    assert not torch.equal(order(0), order(1))
    assert not torch.equal(order(0), X.flatten())


# ------------------------------------------------------------ stopping


def test_reaching_max_iter_warns_like_mlp(X):
    with pytest.warns(ConvergenceWarning, match="maximum iterations \\(3\\)"):
        est = VAETransformer(**{**FAST, "max_iter": 3}).fit(X)
    assert est.n_iter_ == 3 and len(est.loss_curve_) == 3


@pytest.mark.parametrize(
    "Estimator, method",
    [
        (VAETransformer, "fit"),
        (VAEAnomalyDetector, "fit"),
        (VAETransformer, "fit_transform"),
    ],
)
def test_the_convergence_warning_points_at_the_callers_line(Estimator, method, X):
    # fit_transform runs through scikit-learn's set_output wrapper.
    with pytest.warns(ConvergenceWarning) as record:
        getattr(Estimator(**FAST), method)(X)
    assert record[0].filename == __file__


def test_a_single_epoch_budget_warns_too(X):
    with pytest.warns(ConvergenceWarning, match="maximum iterations \\(1\\)"):
        VAETransformer(**{**FAST, "max_iter": 1}).fit(X)


def _with_budget(Estimator, policy):
    """``Estimator`` whose ``max_iter="auto"`` follows ``policy``: how a
    test or a study injects a budget (see ``skvae._budget``)."""
    return type(Estimator.__name__, (Estimator,), {"_auto_budget": policy})


def test_auto_max_iter_is_a_budget_of_gradient_steps(X):
    # 60 rows in batches of 16: 4 steps per epoch, 12 steps in 3 epochs.
    Transformer = _with_budget(VAETransformer, StepBudget(steps=12))
    # A tol no epoch can meet would stop the training-loss rule after 2
    # epochs; the step budget is the only stopping rule, so it runs out and
    # that is no convergence failure.
    est = Transformer(
        **{**FAST, "max_iter": "auto", "batch_size": 16},
        tol=1e9,
        n_iter_no_change=2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X)
    assert est.n_iter_ == 3


def test_auto_max_iter_takes_one_epoch_at_least_and_caps_the_epochs(X):
    Transformer = _with_budget(VAETransformer, StepBudget(steps=1))
    est = Transformer(**{**FAST, "max_iter": "auto", "batch_size": 16}).fit(X)
    assert est.n_iter_ == 1
    Transformer = _with_budget(VAETransformer, StepBudget(steps=10**6, max_epochs=4))
    assert Transformer(**{**FAST, "max_iter": "auto"}).fit(X).n_iter_ == 4


def test_a_budget_smaller_than_a_pass_trains_that_many_steps(X):
    # 60 rows in batches of 4: 15 steps per epoch, more than a budget of 6
    # steps, which then trains one epoch of 6 steps, not of 15: the cost of
    # a fit stops growing with the rows.
    steps = []
    train_step = VAENet.train_step

    def counting_train_step(self, batch, **fit_params):
        steps.append(len(batch[0]))
        return train_step(self, batch, **fit_params)

    Transformer = _with_budget(VAETransformer, StepBudget(steps=6))
    Detector = _with_budget(
        VAEAnomalyDetector, TwoRegimeBudget(small_table_batches=1, large_table_steps=6)
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(VAENet, "train_step", counting_train_step)
        for Estimator in (Transformer, Detector):
            steps.clear()
            est = Estimator(**{**FAST, "max_iter": "auto", "batch_size": 4}).fit(X)
            assert est.n_iter_ == 1
            assert steps == [4] * 6  # six full batches of a random part
    # A budget of a pass or more still trains whole epochs; a pass of one
    # step more than the budget trains the budget (not a whole pass, up to
    # twice the budget, as it once did).
    assert StepBudget(steps=15)(15, 1e-3).max_steps_per_epoch is None
    assert StepBudget(steps=14)(15, 1e-3).max_steps_per_epoch == 14
    detector = TwoRegimeBudget(small_table_batches=1, large_table_steps=14)
    assert detector(15, 1e-3).max_steps_per_epoch == 14
    assert detector(14, 1e-3).max_steps_per_epoch is None


def test_auto_max_iter_still_stops_on_the_held_out_bound(X):
    Transformer = _with_budget(VAETransformer, StepBudget(steps=10**6))
    est = Transformer(
        **{**FAST, "max_iter": "auto"},
        early_stopping=True,
        tol=1e9,
        n_iter_no_change=2,
    ).fit(X)
    # The first epoch sets the best held-out loss; two misses stop training.
    assert est.n_iter_ == 3


def test_the_detectors_auto_budget_on_a_small_table_is_fast_epochs(X):
    # 60 rows in batches of 16: 4 mini-batches per epoch, a small table,
    # trained its epochs at four times learning_rate_init; the tol rule does
    # not cut them short, and running out of them is no convergence failure.
    Detector = _with_budget(VAEAnomalyDetector, TwoRegimeBudget(small_table_epochs=5))
    params = {**FAST, "max_iter": "auto", "batch_size": 16, "learning_rate_init": 1e-3}
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        det = Detector(**params, tol=1e9, n_iter_no_change=1).fit(X)
    assert det.n_iter_ == 5
    assert det.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(4e-3)


def test_the_detectors_auto_budget_on_a_large_table_is_fast_steps(X):
    # With tables of more than 1 mini-batch per epoch counted as large, 60
    # rows in batches of 16 (4 per epoch) train 16 steps in 4 epochs, at ten
    # times learning_rate_init, and the tol rule does not cut them short.
    policy = TwoRegimeBudget(small_table_batches=1, large_table_steps=16)
    det = _with_budget(VAEAnomalyDetector, policy)(
        **{**FAST, "max_iter": "auto", "batch_size": 16, "learning_rate_init": 1e-3},
        tol=1e9,
        n_iter_no_change=1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        det.fit(X)
    assert det.n_iter_ == 4
    assert det.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(1e-2)
    # partial_fit trains one epoch at learning_rate_init: a budget is for a
    # whole fit, and a stream's chunks should not change the step size.
    det.partial_fit(X)
    assert det.n_iter_ == 5
    assert det.net_.optimizer_.param_groups[0]["lr"] == 1e-3
    # An integer max_iter is epochs at learning_rate_init, as for every
    # estimator.
    det.set_params(max_iter=2).fit(X)
    assert det.net_.optimizer_.param_groups[0]["lr"] == 1e-3


def _interrupt_at_batch(monkeypatch, n_batch):
    """Make the n-th training step raise KeyboardInterrupt, as Ctrl-C would."""
    calls = []
    train_step = VAENet.train_step

    def interrupted_train_step(self, batch, **fit_params):
        calls.append(1)
        if len(calls) == n_batch:
            raise KeyboardInterrupt
        return train_step(self, batch, **fit_params)

    monkeypatch.setattr(VAENet, "train_step", interrupted_train_step)


@pytest.mark.parametrize("Estimator", [VAETransformer, VAEAnomalyDetector])
def test_ctrl_c_in_the_first_epoch_leaves_the_estimator_unfitted(
    Estimator, X, monkeypatch
):
    _interrupt_at_batch(monkeypatch, 2)
    est = Estimator(**{**FAST, "batch_size": 16})
    with pytest.raises(KeyboardInterrupt):
        est.fit(X)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)


def test_ctrl_c_in_the_first_epoch_of_a_warm_start_keeps_the_previous_model(
    X, monkeypatch
):
    est = VAETransformer(**{**FAST, "batch_size": 16}, warm_start=True).fit(X)
    before, n_iter = est.transform(X), est.n_iter_
    _interrupt_at_batch(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        est.fit(X)
    np.testing.assert_array_equal(est.transform(X), before)
    assert est.n_iter_ == n_iter


@pytest.mark.parametrize("Estimator", [VAETransformer, VAEAnomalyDetector])
def test_ctrl_c_later_keeps_the_epochs_done_and_says_it_was_interrupted(
    Estimator, X, monkeypatch
):
    # 60 rows in batches of 16: 4 batches per epoch; batch 10 is in epoch 3.
    _interrupt_at_batch(monkeypatch, 10)
    est = Estimator(**{**FAST, "batch_size": 16, "max_iter": 100})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X)
    messages = [str(w.message) for w in caught if w.category is ConvergenceWarning]
    assert messages == [
        "Training was interrupted after 2 of 100 epochs; the model "
        "is the one trained so far."
    ]
    assert est.n_iter_ == 2 and len(est.loss_curve_) == 2
    assert np.all(np.isfinite(est.score_samples(X)))
    if hasattr(est, "sample"):
        assert np.all(np.isfinite(est.sample(3)))


def test_no_improvement_stops_training_without_warning(X, recwarn):
    est = VAETransformer(
        **{**FAST, "max_iter": 50, "tol": 1e9, "n_iter_no_change": 2}
    ).fit(X)
    # Epoch 1 sets the reference; 2 and 3 bring no improvement of 1e9 nats.
    assert est.n_iter_ == 3
    assert not [w for w in recwarn if issubclass(w.category, ConvergenceWarning)]


def test_training_loss_decreases(blobs):
    est = VAETransformer(**{**FAST, "max_iter": 30}).fit(blobs)
    assert est.loss_curve_[-1] < est.loss_curve_[0]


def test_early_stopping_stops_on_the_held_out_likelihood_and_records_it(blobs):
    est = VAETransformer(
        **{**FAST, "max_iter": 500, "early_stopping": True},
        n_iter_no_change=3,
        tol=0.05,
    ).fit(blobs)
    assert est.n_iter_ < 500
    assert len(est.validation_scores_) == est.n_iter_
    assert est.best_validation_score_ == max(est.validation_scores_)
    plain = VAETransformer(**{**FAST, "max_iter": 2})
    with pytest.warns(ConvergenceWarning):
        plain.fit(blobs)
    assert plain.validation_scores_ is None


# ------------------------------------------------------------- verbose


def test_verbose_0_prints_nothing(X, capfd):
    VAETransformer(**{**FAST, "max_iter": 2}, verbose=0).fit(X)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_verbose_1_shows_a_progress_bar_over_batches(X, capfd):
    # 60 rows in batches of 16: 4 batches per epoch, 8 in all.
    VAETransformer(**{**FAST, "max_iter": 2, "batch_size": 16}, verbose=1).fit(X)
    out, err = capfd.readouterr()
    assert "8/8" in err and "epoch 2/2" in err and "loss=" in err
    assert "train_loss" not in out


def test_verbose_2_prints_a_per_epoch_table_without_colour_codes_in_a_log(X, capfd):
    VAETransformer(**{**FAST, "max_iter": 2}, verbose=2).fit(X)
    out, err = capfd.readouterr()
    assert "train_loss" in out  # skorch's per-epoch table
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines[-1].split()[0] == "2"  # one row per epoch, the last is 2
    assert "\x1b[" not in out  # not a terminal: no ANSI escapes


# ---------------------------------------------------------- corruption


def test_corruption_masks_the_encoders_input_but_not_the_target(X, monkeypatch):
    net = VAETransformer(**FAST, corruption=0.3).fit(X).net_
    inputs, targets = [], []
    net.module_.register_forward_pre_hook(lambda m, a: inputs.append(a[0]))
    get_loss = VAENet.get_loss

    def recording_get_loss(self, y_pred, y_true, *args, **kwargs):
        targets.append(y_true)
        return get_loss(self, y_pred, y_true, *args, **kwargs)

    monkeypatch.setattr(VAENet, "get_loss", recording_get_loss)
    x = torch.ones(500, X.shape[1])
    net.train_step((x, x))
    masked = inputs[0]
    assert set(masked.unique().tolist()) == {0.0, 1.0}  # zeroed, not rescaled
    assert (masked == 0).float().mean().item() == pytest.approx(0.3, abs=0.03)
    assert torch.equal(targets[0], torch.ones(500, X.shape[1]))


def test_corruption_trains_a_denoiser(blobs):
    params = {**TRAINED, "beta": 0.1, "batch_size": 32, "max_iter": 60}
    plain = VAETransformer(**params).fit(blobs)
    denoiser = VAETransformer(**params, corruption=0.3).fit(blobs)
    rng = np.random.RandomState(1)
    mask = rng.uniform(size=blobs.shape) < 0.3
    damaged = np.where(mask, blobs.mean(axis=0), blobs)  # masked = column mean

    def error(est):
        restored = est.inverse_transform(est.transform(damaged))
        return np.mean(((restored - blobs) / blobs.std(axis=0))[mask] ** 2)

    assert error(denoiser) < 0.8 * error(plain)


# ------------------------------------------------------------- dropout


def test_dropout_is_used_in_training_only(blobs):
    params = {**FAST, "max_iter": 30}
    est = VAETransformer(**params, dropout=0.3).fit(blobs)
    dropouts = [m for m in est.net_.module_.modules() if isinstance(m, Dropout)]
    assert dropouts and all(m.p == 0.3 for m in dropouts)
    # Inference runs without dropout: deterministic.
    np.testing.assert_array_equal(est.transform(blobs), est.transform(blobs))
    # Training runs with it: a noisier, higher training loss.
    plain = VAETransformer(**params).fit(blobs)
    assert est.loss_curve_[-1] > plain.loss_curve_[-1]


# ------------------------------------------------------------ the optimizer


def test_adam_uses_the_fused_kernel_where_torch_has_one(X):
    from torch.utils._foreach_utils import _get_fused_kernels_supported_devices

    group = VAETransformer(**FAST).fit(X).net_.optimizer_.param_groups[0]
    fused = "cpu" in _get_fused_kernels_supported_devices()
    assert bool(group["fused"]) is fused
    assert bool(group["foreach"]) is not fused


def test_a_model_saved_with_fused_adam_trains_on_where_there_is_none(X, monkeypatch):
    import pickle

    import skvae._training

    est = VAETransformer(**{**FAST, "warm_start": True}).fit(X)
    saved = pickle.dumps(est)
    # A machine (device or torch) without a fused Adam kernel.
    monkeypatch.setattr(
        skvae._training,
        "adam_speed_options",
        lambda device: {"fused": None, "foreach": True},
    )
    loaded = pickle.loads(saved)
    group = loaded.net_.optimizer_.param_groups[0]
    assert not group["fused"] and group["foreach"]
    loaded.partial_fit(X)  # steps with the multi-tensor kernel
    assert loaded.net_.optimizer_.state_dict()["state"][0]["step"] > 0
