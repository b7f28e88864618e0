"""The regularizers (``skvae._regularizers``): each adds the term it
documents to the loss, and changes the fitted model in the expected
direction."""

import numpy as np
import pytest
import torch
from configs import TRAINED, seeded
from torch import nn
from torch.nn import functional as F

from skvae import VAETransformer
from skvae._regularizers import (
    AdversarialPenalty,
    L1Penalty,
    L2Penalty,
    Regularizer,
    build_regularizers,
)
from skvae._torch.networks import VAE, Discriminator

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def vae():
    return VAE(5, (8,), 2, generator=seeded())


@pytest.fixture
def x():
    return torch.randn(16, 5, generator=seeded(1))


def _adversarial(vae, weight=0.5, seed=3):
    discriminator = Discriminator(vae.expansion, (8,), seeded(2))
    optimizer = torch.optim.Adam(discriminator.parameters(), lr=1e-2)
    return AdversarialPenalty(weight, discriminator, optimizer, seeded(seed))


def _weights(est):
    return torch.cat([w.detach().flatten() for w in est.net_.module_.weight_matrices()])


# ------------------------------------------------------------ interface


def test_build_regularizers_leaves_out_every_regularizer_that_is_off(vae):
    off = dict(weight_decay=0.0, l1_penalty=0.0, adversarial_weight=0.0)
    assert build_regularizers(**off) == []
    assert [type(r) for r in build_regularizers(**{**off, "l1_penalty": 0.1})] == [
        L1Penalty
    ]
    adversarial = _adversarial(vae)
    every = build_regularizers(
        weight_decay=0.1,
        l1_penalty=0.1,
        adversarial_weight=0.5,
        discriminator=adversarial.discriminator,
        discriminator_optimizer=adversarial.optimizer,
        generator=seeded(),
    )
    assert [type(r) for r in every] == [L2Penalty, L1Penalty, AdversarialPenalty]
    assert every[2].discriminator is adversarial.discriminator


def test_regularizer_interface_needs_a_penalty_and_logs_nothing_by_default(vae, x):
    class Constant(Regularizer):
        def penalty(self, vae, x):
            return torch.tensor(1.0)

    assert Constant().step(x) == {}
    with pytest.raises(NotImplementedError):
        Regularizer().penalty(vae, x)


# -------------------------------------------------------------- L2 and L1


def test_weight_decay_penalty_is_half_the_squared_norm_of_the_weight_matrices(vae, x):
    penalty = L2Penalty(0.1).penalty(vae, x)
    squares = sum(w.square().sum() for w in vae.weight_matrices())
    torch.testing.assert_close(penalty, 0.05 * squares)
    penalty.backward()
    # The gradient of Adam's weight_decay: weight_decay * W.
    for w in vae.weight_matrices():
        torch.testing.assert_close(w.grad, 0.1 * w.detach())


def test_weight_decay_spares_biases(vae, x):
    L2Penalty(0.1).penalty(vae, x).backward()
    biases = [p for name, p in vae.named_parameters() if name.endswith("bias")]
    assert biases and all(p.grad is None or not p.grad.any() for p in biases)


def test_l1_penalty_is_the_absolute_sum_of_the_weight_matrices_only(vae, x):
    penalty = L1Penalty(0.01).penalty(vae, x)
    absolute = sum(w.abs().sum() for w in vae.weight_matrices())
    torch.testing.assert_close(penalty, 0.01 * absolute)
    penalty.backward()
    for w in vae.weight_matrices():
        torch.testing.assert_close(w.grad, 0.01 * w.detach().sign())
    biases = [p for name, p in vae.named_parameters() if name.endswith("bias")]
    assert all(p.grad is None or not p.grad.any() for p in biases)


def test_weight_decay_shrinks_weights(blobs):
    norms = [
        _weights(VAETransformer(**TRAINED, weight_decay=wd).fit(blobs)).norm()
        for wd in (0.0, 0.1)
    ]
    assert norms[1] < 0.8 * norms[0]


def test_l1_penalty_gives_more_near_zero_weights(blobs):
    fractions = [
        (_weights(VAETransformer(**TRAINED, l1_penalty=l1).fit(blobs)).abs() < 1e-2)
        .float()
        .mean()
        for l1 in (0.0, 0.05)
    ]
    assert fractions[1] > fractions[0] + 0.2


# ------------------------------------------------------------ adversarial


def test_adversarial_penalty_is_the_non_saturating_loss_of_decoded_prior_draws(vae, x):
    regularizer = _adversarial(vae, weight=0.5, seed=3)
    penalty = regularizer.penalty(vae, x)
    z = torch.randn(16, 2, generator=seeded(3))
    generated = vae.decode_mean(z)
    torch.testing.assert_close(regularizer._generated, generated)
    expected = 0.5 * F.softplus(-regularizer.discriminator(generated)).mean()
    torch.testing.assert_close(penalty, expected)
    # Only the decoder makes generated rows: the encoder gets no gradient.
    penalty.backward()
    assert any(p.grad is not None and p.grad.any() for p in vae.decoder.parameters())
    assert all(p.grad is None for p in vae.encoder.parameters())


def test_adversarial_step_trains_the_discriminator_and_leaves_the_vae_alone(vae, x):
    regularizer = _adversarial(vae)
    vae_before = [p.detach().clone() for p in vae.parameters()]
    losses = []
    for _ in range(30):
        regularizer.penalty(vae, x)
        logged = regularizer.step(x)
        assert set(logged) == {"discriminator_loss"}
        losses.append(logged["discriminator_loss"])
    # The real rows and the untrained decoder's rows are easy to tell apart.
    assert losses[-1] < 0.85 * losses[0]
    for before, after in zip(vae_before, vae.parameters(), strict=True):
        assert torch.equal(before, after)
        assert after.grad is None


def test_adversarial_weight_trains_a_discriminator(blobs):
    est = VAETransformer(**TRAINED, adversarial_weight=0.5).fit(blobs)
    assert isinstance(est.net_.discriminator_, nn.Module)
    assert len(est.discriminator_loss_curve_) == est.n_iter_
    assert np.all(np.isfinite(est.discriminator_loss_curve_))
    # The discriminator learns something: its loss falls below chance level
    # (2 log 2) at some point.
    assert min(est.discriminator_loss_curve_) < 2 * np.log(2)


def test_adversarial_weight_zero_builds_no_discriminator(blobs):
    est = VAETransformer(**TRAINED).fit(blobs)
    assert not hasattr(est.net_, "discriminator_")
    assert "discriminator" not in est.net_._modules
    assert est.discriminator_loss_curve_ is None
