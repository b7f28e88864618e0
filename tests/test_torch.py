"""The torch modules: distributions in, distributions out, right shapes."""

import math

import pytest
import torch
from torch.distributions import Independent, Normal, kl_divergence

from skvae._torch import VAE, BernoulliLikelihood, Discriminator, GaussianLikelihood
from skvae._torch.bounds import (
    elbo_terms,
    iwae_bound_fixed_noise,
    iwae_terms,
    kl_to_prior,
)


@pytest.fixture
def vae():
    torch.manual_seed(0)
    return VAE(n_features=5, hidden_layer_sizes=(7, 6), n_components=3)


def test_encoder_returns_a_diagonal_gaussian_posterior(vae):
    q = vae(torch.randn(4, 5))
    assert isinstance(q, Independent) and isinstance(q.base_dist, Normal)
    assert q.batch_shape == (4,) and q.event_shape == (3,)
    assert torch.all(q.stddev > 0)


def test_decoder_mirrors_the_encoder(vae):
    widths = [
        m.out_features for m in vae.decoder.modules() if isinstance(m, torch.nn.Linear)
    ]
    assert widths == [6, 7, 5]
    assert vae.decode(torch.randn(2, 4, 3)).batch_shape == (2, 4)


def test_gaussian_log_prob_sums_over_features():
    likelihood = GaussianLikelihood(n_features=3)
    p = likelihood(torch.zeros(2, 3))
    # Initial scale 1 (+ the 1e-3 floor): a standard normal per feature.
    expected = 3 * Normal(0.0, 1.0 + 1e-3).log_prob(torch.tensor(0.0))
    assert torch.allclose(p.log_prob(torch.zeros(2, 3)), expected.expand(2), atol=1e-3)


def test_bernoulli_log_prob_accepts_grey_levels():
    p = BernoulliLikelihood()(torch.zeros(1, 2))  # probabilities 1/2
    assert torch.allclose(
        p.log_prob(torch.tensor([[0.3, 1.0]])), torch.tensor([2 * math.log(0.5)])
    )


def test_discriminator_gives_one_logit_per_row():
    assert Discriminator(5, (4,))(torch.randn(6, 5)).shape == (6,)


def test_single_sample_iwae_is_an_unbiased_elbo(vae):
    torch.manual_seed(0)
    x = torch.randn(3, 5)
    q = vae(x)
    estimates = torch.stack([iwae_terms(vae, q, x, 1).iwae for _ in range(4000)])
    terms = [elbo_terms(vae, q, x) for _ in range(4000)]
    reconstruction = torch.stack([t.reconstruction for t in terms]).mean(0)
    # E[log p(x|z) + log p(z) - log q(z|x)] = E[log p(x|z)] - KL (closed form)
    elbo = reconstruction - terms[0].kl.sum(-1)
    assert torch.allclose(estimates.mean(0), elbo, atol=0.15)


def test_more_importance_samples_never_lower_the_expected_bound(vae):
    torch.manual_seed(0)
    x = torch.randn(200, 5)
    bounds = [
        iwae_bound_fixed_noise(vae, x, torch.randn(k, 200, 3))[0].mean().item()
        for k in (1, 10, 100)
    ]
    assert bounds[0] < bounds[1] < bounds[2]


def test_kl_to_prior_matches_torch_distributions():
    """The closed-form KL equals torch's general Normal-to-Normal KL."""
    torch.manual_seed(0)
    vae = VAE(5, (7,), 3)
    q = vae(torch.randn(11, 5))
    expected = kl_divergence(q.base_dist, vae.prior().base_dist)
    torch.testing.assert_close(kl_to_prior(q), expected)
