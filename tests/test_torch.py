"""The torch modules (``skvae._torch``): networks, likelihoods and
distributions. Distributions in, distributions out, right shapes, and every
random draw from the generator a module is given."""

import math

import numpy as np
import pytest
import torch
from configs import FAST, seeded
from sklearn.utils._param_validation import StrOptions
from torch.distributions import Independent, Laplace, Normal, kl_divergence
from torch.nn import functional as F

from skvae import VAETransformer
from skvae._torch.columns import ColumnExpansion
from skvae._torch.distributions import (
    DiagonalNormal,
    Observed,
    SharedScaleNormal,
    StandardNormal,
    diagonal_normal,
    rsample,
    standard_normal,
)
from skvae._torch.likelihoods import (
    LIKELIHOODS,
    BernoulliLikelihood,
    GaussianLikelihood,
    Likelihood,
    MultinomialLikelihood,
)
from skvae._torch.networks import VAE, Discriminator, Dropout, linear


@pytest.fixture
def vae():
    return VAE(
        n_features=5, hidden_layer_sizes=(7, 6), n_components=3, generator=seeded()
    )


# ---------------------------------------------------------------- networks


def test_encoder_returns_a_diagonal_gaussian_posterior(vae):
    q = vae.encoder(torch.randn(4, 5, generator=seeded()))
    assert isinstance(q, Independent) and isinstance(q.base_dist, Normal)
    assert q.batch_shape == (4,) and q.event_shape == (3,)
    assert torch.all(q.stddev > 0)


def test_encoder_output_stays_finite_for_rows_far_outside_the_data(vae):
    q = vae.eval().encoder(torch.tensor([[1e30, -1e30, 0.0, 1e20, 3.0]]))
    assert torch.all(torch.isfinite(q.mean)) and torch.all(torch.isfinite(q.stddev))


def test_decoder_mirrors_the_encoder(vae):
    widths = [
        m.out_features for m in vae.decoder.modules() if isinstance(m, torch.nn.Linear)
    ]
    assert widths == [6, 7, 5]
    assert vae.decode(torch.randn(2, 4, 3)).batch_shape == (2, 4)


def test_prior_is_a_standard_normal_in_the_modules_dtype(vae):
    prior = vae.prior()
    assert isinstance(prior.base_dist, StandardNormal)
    assert prior.event_shape == (3,) and prior.batch_shape == ()
    torch.testing.assert_close(prior.mean, torch.zeros(3))
    torch.testing.assert_close(prior.stddev, torch.ones(3))
    assert vae.double().prior().mean.dtype == torch.float64


def test_weight_matrices_are_the_weights_without_biases(vae):
    matrices = {id(p) for p in vae.weight_matrices()}
    weights = [p for name, p in vae.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in vae.named_parameters() if name.endswith("bias")]
    assert biases and not any(id(p) in matrices for p in biases)
    assert {id(p) for p in weights} == matrices


def test_discriminator_gives_one_logit_per_row():
    discriminator = Discriminator(ColumnExpansion((0,) * 5), (4,), seeded())
    assert discriminator(torch.randn(6, 5)).shape == (6,)


def test_linear_draws_pytorchs_default_initialization_from_theseeded():
    a, b = linear(50, 20, seeded(3)), linear(50, 20, seeded(3))
    torch.testing.assert_close(a.weight, b.weight, rtol=0, atol=0)
    torch.testing.assert_close(a.bias, b.bias, rtol=0, atol=0)
    assert not torch.equal(a.weight, linear(50, 20, seeded(4)).weight)
    bound = 1 / math.sqrt(50)
    assert a.weight.abs().max() <= bound and a.bias.abs().max() <= bound
    # Uniform over the whole interval, not a narrower one.
    assert a.weight.abs().max() > 0.9 * bound


def test_same_generator_seed_builds_identical_vaes():
    a, b = (VAE(5, (7,), 3, generator=seeded(1)) for _ in range(2))
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    c = VAE(5, (7,), 3, generator=seeded(2))
    assert not torch.equal(a.encoder.loc.weight, c.encoder.loc.weight)


def test_building_a_vae_does_not_touch_torchs_global_random_state():
    torch.manual_seed(123)
    state = torch.get_rng_state()
    VAE(5, (7, 6), 3, dropout=0.2, generator=seeded())
    # Categorical columns add embeddings, drawn from the generator too.
    n_levels = (0, 4, 0, 30, 2)
    VAE(5, (7, 6), 3, generator=seeded(), n_levels=n_levels)
    Discriminator(ColumnExpansion(n_levels), (7,), seeded())
    assert torch.equal(torch.get_rng_state(), state)


def test_dropout_draws_its_masks_from_the_generator_in_training_only():
    x = torch.ones(200, 50)
    dropout = Dropout(0.3, seeded(5))
    masked = dropout(x)
    # Inverted dropout: kept entries are rescaled by 1 / (1 - p).
    kept = torch.tensor(1 / 0.7).item()
    assert set(masked.unique().tolist()) == {0.0, kept}
    assert (masked == 0).float().mean().item() == pytest.approx(0.3, abs=0.02)
    assert torch.equal(masked, Dropout(0.3, seeded(5))(x))
    assert torch.equal(dropout.eval()(x), x)


def test_vae_dropout_is_on_in_training_and_off_in_evaluation():
    vae = VAE(5, (32,), 3, dropout=0.5, generator=seeded())
    dropouts = [m for m in vae.modules() if isinstance(m, Dropout)]
    assert len(dropouts) == 2 and all(m.p == 0.5 for m in dropouts)
    x = torch.randn(8, 5, generator=seeded())
    vae.train()
    assert not torch.equal(vae(x).code(), vae(x).code())
    vae.eval()
    assert torch.equal(vae(x).code(), vae(x).code())


# ------------------------------------------------------------- likelihoods


def test_likelihoods_are_registered_with_how_to_prepare_the_data():
    assert LIKELIHOODS == {
        "gaussian": GaussianLikelihood,
        "bernoulli": BernoulliLikelihood,
        "multinomial": MultinomialLikelihood,
    }
    assert GaussianLikelihood.standardize and GaussianLikelihood.support is None
    assert not BernoulliLikelihood.standardize
    assert BernoulliLikelihood.support == (0.0, 1.0)
    assert not MultinomialLikelihood.standardize and MultinomialLikelihood.counts
    assert MultinomialLikelihood.topic_model
    assert not GaussianLikelihood.counts and not BernoulliLikelihood.topic_model


def test_gaussian_log_prob_sums_over_features():
    likelihood = GaussianLikelihood(n_features=3)
    p = likelihood(torch.zeros(2, 3))
    # Initial scale 1 (+ the 1e-3 floor): a standard normal per feature.
    expected = 3 * Normal(0.0, 1.0 + 1e-3).log_prob(torch.tensor(0.0))
    assert torch.allclose(p.log_prob(torch.zeros(2, 3)), expected.expand(2), atol=1e-3)


def test_gaussian_scale_never_falls_below_its_floor():
    likelihood = GaussianLikelihood(n_features=2)
    with torch.no_grad():
        likelihood.raw_scale.fill_(-1e4)
    assert torch.all(likelihood.scale() >= 1e-3)
    assert torch.all(
        torch.isfinite(likelihood(torch.zeros(1, 2)).log_prob(torch.ones(1, 2)))
    )


def test_bernoulli_log_prob_accepts_grey_levels():
    p = BernoulliLikelihood(n_features=2)(torch.zeros(1, 2))  # probabilities 1/2
    assert torch.allclose(
        p.log_prob(torch.tensor([[0.3, 1.0]])), torch.tensor([2 * math.log(0.5)])
    )


def test_gaussian_samples_come_from_the_generator_with_the_learned_scale():
    likelihood = GaussianLikelihood(n_features=2)
    decoded = torch.tensor([[5.0, -5.0]]).expand(20_000, 2)
    draws = likelihood.sample(decoded, seeded(1))
    torch.testing.assert_close(draws, likelihood.sample(decoded, seeded(1)))
    torch.testing.assert_close(
        draws.mean(0), torch.tensor([5.0, -5.0]), atol=0.05, rtol=0
    )
    torch.testing.assert_close(
        draws.std(0), likelihood.scale().detach(), atol=0.02, rtol=0
    )


def test_bernoulli_samples_are_zeros_and_ones_with_the_decoded_probability():
    likelihood = BernoulliLikelihood(n_features=2)
    decoded = torch.tensor([[0.0, math.log(3.0)]]).expand(20_000, 2)  # p 1/2, 3/4
    draws = likelihood.sample(decoded, seeded(1))
    assert set(draws.unique().tolist()) == {0.0, 1.0}
    torch.testing.assert_close(draws, likelihood.sample(decoded, seeded(1)))
    torch.testing.assert_close(
        draws.mean(0), torch.tensor([0.5, 0.75]), atol=0.02, rtol=0
    )


# ----------------------------------------------------------- distributions


def test_diagonal_normal_expand_gives_torchs_normal_log_prob():
    loc, scale = torch.randn(3, generator=seeded()), torch.rand(3) + 0.5
    q = DiagonalNormal(loc, scale).expand((4, 3))
    assert isinstance(q, DiagonalNormal) and q.batch_shape == (4, 3)
    value = torch.randn(4, 3, generator=seeded(1))
    torch.testing.assert_close(
        q.log_prob(value), Normal(loc, scale).expand((4, 3)).log_prob(value)
    )
    # Expanded as an Independent (as the prior is for sample): same again.
    expanded = diagonal_normal(loc, scale).expand((4,))
    assert expanded.batch_shape == (4,) and expanded.event_shape == (3,)
    torch.testing.assert_close(
        expanded.log_prob(value), Normal(loc, scale).log_prob(value).sum(-1)
    )


def test_shared_scale_normal_matches_torchs_normal_and_survives_expand():
    loc = torch.randn(5, 3, generator=seeded())
    scale = torch.tensor([0.5, 1.0, 2.0])
    p = SharedScaleNormal(loc, scale)
    value = torch.randn(5, 3, generator=seeded(1))
    expected = Normal(loc, scale.expand(5, 3)).log_prob(value)
    torch.testing.assert_close(p.log_prob(value), expected)
    expanded = p.expand((2, 5, 3))
    assert isinstance(expanded, SharedScaleNormal)
    torch.testing.assert_close(
        expanded.log_prob(value.expand(2, 5, 3)), expected.expand(2, 5, 3)
    )


def test_standard_normal_expand_stays_a_standard_normal():
    prior = standard_normal(3).expand((6,))
    assert isinstance(prior.base_dist, StandardNormal)
    assert prior.batch_shape == (6,) and prior.event_shape == (3,)
    value = torch.randn(6, 3, generator=seeded())
    torch.testing.assert_close(
        prior.log_prob(value), Normal(0.0, 1.0).log_prob(value).sum(-1)
    )


def test_registered_kl_to_the_prior_equals_torchs_normal_to_normal_kl(vae):
    q = vae.encoder(torch.randn(11, 5, generator=seeded()))
    prior = vae.prior().base_dist
    closed_form = kl_divergence(q.base_dist, prior)  # the registered formula
    general = kl_divergence(
        Normal(q.base_dist.loc, q.base_dist.scale),
        Normal(torch.zeros(3), torch.ones(3)),
    )
    assert closed_form.shape == (11, 3)
    torch.testing.assert_close(closed_form, general)
    # Through Independent, the per-row KL sums the dimensions.
    torch.testing.assert_close(kl_divergence(q, vae.prior()), general.sum(-1))


def test_rsample_is_reproducible_from_the_generator_and_differentiable():
    loc = torch.tensor([[0.5, -1.0]], requires_grad=True)
    scale = torch.tensor([[2.0, 0.1]], requires_grad=True)
    q = diagonal_normal(loc, scale)
    a = rsample(q, (1000,), seeded(4))
    assert a.shape == (1000, 1, 2)
    assert torch.equal(a, rsample(q, (1000,), seeded(4)))
    assert not torch.equal(a, rsample(q, (1000,), seeded(5)))
    a.sum().backward()
    # d z / d loc = 1 per draw; d z / d scale = eps, which averages to ~0.
    torch.testing.assert_close(loc.grad, torch.full((1, 2), 1000.0))
    assert scale.grad is not None and torch.all(scale.grad != 0)
    eps = (a.detach() - loc.detach()) / scale.detach()
    torch.testing.assert_close(scale.grad, eps.sum(0))


def test_rsample_leaves_torchs_global_random_state_alone():
    torch.manual_seed(123)
    state = torch.get_rng_state()
    rsample(standard_normal(3).expand((10,)), (4,), seeded())
    assert torch.equal(torch.get_rng_state(), state)


class LaplaceLikelihood(Likelihood):
    """The user guide's example of a new likelihood ("Add your own")."""

    standardize = True

    def __init__(self, n_features):
        super().__init__(n_features)
        self.raw_scale = torch.nn.Parameter(torch.zeros(n_features))

    def forward(self, decoded):
        return Independent(Laplace(decoded, F.softplus(self.raw_scale)), 1)

    def mean(self, decoded):
        return decoded

    def sample(self, decoded, generator):
        u = torch.rand(decoded.shape, generator=generator, dtype=decoded.dtype) - 0.5
        scale = F.softplus(self.raw_scale)
        return decoded - scale * u.sign() * torch.log1p(-2 * u.abs())


def test_a_new_likelihood_is_a_class_and_its_registration(monkeypatch):
    monkeypatch.setitem(LIKELIHOODS, "laplace", LaplaceLikelihood)
    # The constraint is built from LIKELIHOODS at import; registering in the
    # source rebuilds it, which this test does by hand.
    monkeypatch.setitem(
        VAETransformer._parameter_constraints,
        "likelihood",
        [StrOptions(set(LIKELIHOODS))],
    )
    X = np.random.RandomState(0).laplace(size=(200, 3)) * 10.0 + 5.0
    est = VAETransformer(likelihood="laplace", **FAST).fit(X)
    assert isinstance(est.net_.module_.likelihood, LaplaceLikelihood)
    assert np.all(np.isfinite(est.score_samples(X)))
    rows = est.sample(500, random_state=0)
    assert rows.shape == (500, 3) and abs(rows.mean() - 5.0) < 5.0
    # Standardized internally, scored on the user's scale.
    assert np.all(est.scale_ > 1.0)


def test_observed_scores_the_observed_cells_only():
    base = Normal(torch.zeros(2, 3), torch.ones(2, 3))
    value = torch.tensor([[0.5, float("nan"), -1.0], [0.1, 0.2, 0.3]])
    normal = Normal(0.0, 1.0, validate_args=False)
    expected = normal.log_prob(value).nan_to_num(0.0).sum(-1)
    torch.testing.assert_close(Observed(base, 1).log_prob(value), expected)
    # Complete rows: exactly Independent's log_prob.
    complete = torch.randn(4, 2, 3, generator=seeded())
    assert torch.equal(
        Observed(base, 1).log_prob(complete), Independent(base, 1).log_prob(complete)
    )


# ------------------------------------------------------------- LeanAdam


def _adam_run(optimizer_class, n_steps=5, **options):
    """Parameters and optimizer state after ``n_steps`` steps of a small
    model (one parameter without a gradient) from fixed weights and data."""
    from skvae._torch.optim import LeanAdam  # noqa: F401 (the class under test)

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.SiLU())
    model.unused = torch.nn.Parameter(torch.ones(3))
    optimizer = optimizer_class(model.parameters(), lr=0.01, **options)
    x = torch.randn(16, 5)
    for _ in range(n_steps):
        optimizer.zero_grad()
        model(x).square().mean().backward()
        optimizer.step()
    return [p.detach().clone() for p in model.parameters()], optimizer.state_dict()


@pytest.mark.parametrize(
    "options",
    [
        {"fused": True},  # the direct path
        {"fused": True, "weight_decay": 0.1, "maximize": True},
        {"fused": True, "amsgrad": True},  # Adam.step
        {"foreach": True},  # Adam.step
    ],
)
def test_lean_adam_steps_as_adam_bit_for_bit(options):
    from skvae._torch.optim import LeanAdam

    if options.get("fused") and "cpu" not in _fused_devices():
        pytest.skip("this torch has no fused Adam on CPU")
    params, state = _adam_run(LeanAdam, **options)
    expected_params, expected_state = _adam_run(torch.optim.Adam, **options)
    for p, expected in zip(params, expected_params, strict=True):
        assert torch.equal(p, expected)
    assert state["param_groups"] == expected_state["param_groups"]
    assert state["state"].keys() == expected_state["state"].keys()
    for key, entry in state["state"].items():
        for name, value in entry.items():
            assert torch.equal(value, expected_state["state"][key][name]), name


def test_lean_adam_runs_step_hooks_through_adam_step():
    from skvae._torch.optim import LeanAdam

    calls = []
    param = torch.nn.Parameter(torch.ones(2))
    optimizer = LeanAdam([param], fused="cpu" in _fused_devices())
    optimizer.register_step_post_hook(lambda *args: calls.append(1))
    for _ in range(2):
        param.grad = torch.ones(2)
        optimizer.step()
    assert calls == [1, 1]


def _fused_devices():
    from torch.utils._foreach_utils import _get_fused_kernels_supported_devices

    return _get_fused_kernels_supported_devices()


def test_lean_adam_never_takes_adam_step_when_fused(monkeypatch):
    from skvae._torch.optim import LeanAdam

    if "cpu" not in _fused_devices():
        pytest.skip("this torch has no fused Adam on CPU")
    calls = []
    adam_step = torch.optim.Adam.step

    def counted(self, closure=None):
        calls.append(1)
        return adam_step(self, closure)

    monkeypatch.setattr(torch.optim.Adam, "step", counted)
    _adam_run(LeanAdam, n_steps=5, fused=True)
    assert calls == []  # the first step makes the state itself
    _adam_run(LeanAdam, n_steps=5, fused=True, amsgrad=True)
    assert len(calls) == 5  # AMSGrad: Adam.step every time


def test_a_fit_spares_the_process_torch_compilation_imports():
    # Optimizer's and Adam.step's wrappers import torch._dynamo, and the
    # meta device torch's symbolic shapes (sympy), on first use: seconds
    # once per process, which a fit of its own modules needs neither of.
    import subprocess
    import sys

    code = (
        "import sys, warnings, numpy as np; from skvae import VAEAnomalyDetector; "
        "warnings.simplefilter('ignore'); "
        "X = np.random.RandomState(0).standard_normal((100, 3)); "
        "VAEAnomalyDetector(max_iter=2, random_state=0).fit(X).score_samples(X); "
        "print(sorted(m for m in ('torch._dynamo', 'sympy') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "[]"
