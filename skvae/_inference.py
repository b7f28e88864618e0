"""Inference with a fitted VAE: bounds, posterior means and decodings of
rows, in bounded chunks.

:class:`InferenceModel` is the fitted model as inference sees it. Every
output of a row is a deterministic function of that row alone: float64 input
runs through a float64 copy of the weights made once per fit, each row's
Monte Carlo noise derives from the row and a seed drawn at fit
(``skvae._noise``), and no batch statistic is used. Rows go through in
chunks sized for the CPU's cache. Densities are on the standardized scale:
the estimators apply the standardization's log-Jacobian at the public edge.
"""

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.utils import gen_batches
from sklearn.utils._chunking import get_chunk_n_rows

from skvae import _sparse
from skvae._noise import row_normal_noise
from skvae._objective import importance_weighted_bound
from skvae._runtime import uses_torch
from skvae._scaling import log_jacobian, standardized_tensor
from skvae._torch.distributions import rsample
from skvae._torch.networks import VAE
from skvae._training import trained_module

# Bytes per row, per importance sample and per unit of width that one
# chunk may take: room for the intermediate tensors of a decoder pass.
_BYTES_PER_ELEMENT = 8 * 16

# Target size of a chunk's widest intermediate tensor (float64 values of
# rows x importance samples x width): about a CPU's level-2 or -3 cache.
_CACHE_BYTES = 8 * 2**20

# Fewest rows in a chunk (unless working_memory says fewer): below a few
# hundred rows, the Python work of a chunk costs more than its arithmetic.
_MIN_CHUNK_ROWS = 256

# Latent draws per row of a conditional draw (sample_remaining_columns).
CONDITIONAL_DRAWS = 128

# Burda et al. (2016): a latent dimension is active when the variance over
# the data of its posterior mean exceeds this.
ACTIVITY_THRESHOLD = 1e-2

# Training rows read by the work after training (thresholds, latent
# diagnostics): a random subsample of a larger table, so that this fixed
# work of a fit does not grow with the table.
MAX_DERIVED_ROWS = 10_000


def bounded_rows(X, seed, max_rows=MAX_DERIVED_ROWS):
    """``X``, or a random subsample of ``max_rows`` of its rows (in their
    order, drawn from ``seed``) when it has more."""
    if X.shape[0] <= max_rows:
        return X
    rng = np.random.RandomState(seed)
    return X[np.sort(rng.choice(X.shape[0], max_rows, replace=False))]


class InferenceMixin:
    """``score_samples`` and ``score``, and the fitted model as inference sees
    it."""

    @uses_torch
    def score_samples(self, X):
        """Log-likelihood lower bound of each row, in nats.

        The importance-weighted bound (Burda et al., 2016) with
        ``n_mc_samples`` samples (1 gives the beta=1 ELBO), whatever ``beta``
        was used in training. Each row's Monte Carlo draws are a deterministic
        function of the row and of a seed drawn at fit, so a row's score does
        not depend on the other rows it is scored with, and estimation errors
        average out over rows. With the Gaussian likelihood the density is
        that of the original, unstandardized features.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,), dtype float64
            Higher means more likely under the model.
        """
        X = self._validate_for_inference(X, dtype=np.float64)
        return self._bound(X)

    @uses_torch
    def score(self, X, y=None):
        """Mean log-likelihood bound of ``X``, in nats per row.

        The unsupervised score of ``GridSearchCV``, ``cross_val_score`` and
        ``dask_ml.wrappers.Incremental`` (as ``GaussianMixture.score``): the
        beta=1 importance-weighted bound of the observed cells of each row
        (as ``VAETransformer.score_samples`` computes it), whatever ``beta``
        and the regularizers were in training, so it compares their settings
        like with like on held-out rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.
        y : None
            Ignored.

        Returns
        -------
        score : float
            The mean bound of the rows; higher is better.
        """
        X = self._validate_for_inference(X, dtype=np.float64)
        return float(np.mean(self._bound(X)))

    def _bound(self, X):
        """The bound of each validated row of ``X`` on the user's scale."""
        bound = self._inference().log_likelihood(X)
        if _sparse.issparse(X):  # complete rows
            return bound - np.log(self.scale_).sum()
        return bound - log_jacobian(X, self.scale_)

    def _inference(self):
        """The fitted model as ``skvae._inference`` computes with it."""
        module = trained_module(self.net_)
        return InferenceModel(
            module=module,
            mean=self.mean_,
            scale=self.scale_,
            device=self.device_,
            noise_seed=self.noise_seed_,
            n_mc_samples=self.n_mc_samples_,
            # A VampPrior's density is one value per pseudo-input and draw.
            width=max(
                module.expansion.n_outputs,
                *self.hidden_layer_sizes_,
                self.architecture_.n_pseudo_inputs or 0,
            ),
            float64_module=getattr(self, "_float64_module", None),
        )

    def _refresh_float64_module(self):
        """Make the float64 copy of the trained weights that inference on
        float64 rows uses, after every change of the weights (a fit, a
        ``partial_fit``, loading). Read-only afterwards, so that threads
        may share it."""
        self._float64_module = inference_copy(trained_module(self.net_))


def inference_copy(module: VAE) -> VAE:
    """A float64 copy of the trained ``module`` for inference (eval mode,
    bounds over the observed cells of a row, whatever the training)."""
    vae = copy.deepcopy(module).double()
    vae.observed_only = True
    return vae.eval()


def mixture_draws(mixture, n_draws, generator: torch.Generator, device) -> torch.Tensor:
    """``n_draws`` float64 draws (n_draws, d) from the fitted
    ``GaussianMixture`` ``mixture`` (full covariances), from ``generator``:
    a component with probability its weight, then its Gaussian."""

    def tensor(a):
        return torch.tensor(a, dtype=torch.float64, device=device)

    weights = tensor(mixture.weights_)
    components = torch.multinomial(weights, n_draws, True, generator=generator)
    # (k, d, d): Cholesky factors of the components' covariances.
    factors = tensor(np.linalg.cholesky(mixture.covariances_))
    eps = torch.randn(
        n_draws,
        factors.shape[-1],
        generator=generator,
        dtype=torch.float64,
        device=device,
    )
    # (n_draws, d)
    spread = (factors[components] @ eps[:, :, None]).squeeze(-1)
    return tensor(mixture.means_)[components] + spread


@dataclass(frozen=True)
class InferenceModel:
    """A fitted VAE, for inference.

    Attributes
    ----------
    module : VAE
        The trained module (float32, in eval mode).
    mean, scale : ndarray of shape (n_features,)
        The standardization of the columns.
    device : str
        Where the module lives.
    noise_seed : int
        Seed of the per-row Monte Carlo noise, drawn at fit.
    n_mc_samples : int
        Importance samples per row.
    width : int
        The widest layer, in values per row (sizes the chunks).
    float64_module : VAE or None
        The float64 copy of ``module`` made at fit (see
        :func:`inference_copy`); None makes one per call.
    """

    module: VAE
    mean: np.ndarray
    scale: np.ndarray
    device: str
    noise_seed: int
    n_mc_samples: int
    width: int
    float64_module: VAE | None = None

    def module_for(self, dtype) -> VAE:
        """The trained module in ``dtype``: a float64 copy for float64 input,
        so that inference is exact to float64 precision and does not depend
        on the batch a row is in."""
        if dtype == np.float64:
            if self.float64_module is not None:
                return self.float64_module
            return inference_copy(self.module)
        return self.module.eval()

    def standardized(self, X, dtype) -> torch.Tensor:
        """``X`` (a chunk of rows, densified if sparse) standardized, as a
        new tensor in ``dtype``."""
        X = _sparse.dense(X)
        return standardized_tensor(X, self.mean, self.scale, dtype, self.device)

    def tensor(self, X) -> torch.Tensor:
        # torch.tensor copies: read-only inputs (memmaps) stay untouched.
        return torch.tensor(X, device=self.device)

    def row_chunks(self, n_rows, n_draws=1):
        """Slices of at most as many rows as ``working_memory`` allows for
        ``n_draws`` importance samples per row and, on a CPU, of rows whose
        widest intermediate is about ``_CACHE_BYTES`` (at least
        ``_MIN_CHUNK_ROWS`` rows)."""
        per_row = n_draws * self.width
        chunk = get_chunk_n_rows(_BYTES_PER_ELEMENT * per_row)
        if self.device == "cpu":
            # A GPU has no such cache, and each chunk costs kernel launches.
            chunk = min(chunk, max(_MIN_CHUNK_ROWS, _CACHE_BYTES // (8 * per_row)))
        return gen_batches(n_rows, chunk)

    def bound_chunks(self, X):
        """Per chunk of rows of the float64 ``X``: the rows, their
        standardized tensor and the importance-weighted bound's terms (see
        :func:`~skvae._objective.importance_weighted_bound`)."""
        vae = self.module_for(np.float64)
        k, d = self.n_mc_samples, self.module.n_noise
        for rows in self.row_chunks(X.shape[0], k):
            chunk = _sparse.dense(X[rows])
            x = self.standardized(chunk, np.float64)
            noise = row_normal_noise(chunk, self.noise_seed, k, d)
            yield rows, x, importance_weighted_bound(vae, x, self.tensor(noise))

    def log_likelihood(self, X) -> np.ndarray:
        """The IWAE bound on log p(x) per row of the float64 ``X``, in nats,
        on the standardized scale."""
        out = np.empty(X.shape[0], dtype=np.float64)
        for rows, _, samples in self.bound_chunks(X):
            out[rows] = samples.bound.cpu().numpy()
        return out

    def posterior_mean(self, X) -> np.ndarray:
        """The deterministic code of each row, in the dtype of ``X``: E[z | x]
        of a Gaussian posterior, the flow applied to it with a flow and
        z1's mean given z2's mean with two levels (``Posterior.code``)."""
        vae = self.module_for(X.dtype)
        out = np.empty((X.shape[0], self.module.n_components), dtype=X.dtype)
        for rows in self.row_chunks(X.shape[0]):
            q = vae(self.standardized(X[rows], X.dtype))
            out[rows] = q.code().cpu().numpy()
        return out

    def decode_mean(self, Z) -> np.ndarray:
        """E[x | z] per latent code of the float64 ``Z``, on the user's
        scale (level codes of the most probable levels)."""
        vae = self.module_for(np.float64)
        out = np.empty((Z.shape[0], self.mean.shape[0]))
        for rows in self.row_chunks(Z.shape[0]):
            mean = vae.decode_mean(self.tensor(Z[rows]))
            out[rows] = vae.expansion.collapse(mean).cpu().numpy()
        return out * self.scale + self.mean

    def generate(self, n_rows, generator: torch.Generator, mixture=None) -> np.ndarray:
        """``n_rows`` draws of x ~ p(x | z), z ~ p(z), on the user's scale
        (p(z) the model's prior: N(0, I), the VampPrior, or with two levels
        p(z1 | z2) p(z2)); z ~ ``mixture`` instead when given (a fitted
        ``GaussianMixture`` with full covariances over the codes)."""
        vae = self.module_for(np.float64)
        out = np.empty((n_rows, self.mean.shape[0]))
        for rows in self.row_chunks(n_rows):
            n = rows.stop - rows.start
            if mixture is None:
                z = vae.sample_codes(n, generator)
            else:
                z = mixture_draws(mixture, n, generator, self.device)
            decoded = vae.decoder(z)
            out[rows] = vae.likelihood.sample(decoded, generator).cpu().numpy()
        return out * self.scale + self.mean

    def conditional_draw(self, X, generator: torch.Generator) -> np.ndarray:
        """One draw of the missing cells of each row of the float64 ``X``
        from p(x_missing | x_observed), on the user's scale, the observed
        cells kept as they are.

        Sampling importance resampling with fresh draws from ``generator``
        (not the per-row noise of scoring: identical rows get independent
        draws): ``CONDITIONAL_DRAWS`` latent draws, half from q(z |
        x_observed) and half from the prior (the encoder, trained on rows
        with few missing cells, may read a row with many poorly; the prior
        keeps every region of the latent space in reach), one picked with
        probability its importance weight p(x_observed | z) p(z) over the
        mixture's density, then x ~ p(x | z). A richer latent model
        (VampPrior, flow, two levels) proposes from its own posterior
        alone, weighted by p(x_observed | z) p(z) / q(z | x_observed).
        """
        vae = self.module_for(np.float64)
        out = np.empty_like(X)
        for rows in self.row_chunks(X.shape[0], CONDITIONAL_DRAWS):
            x = self.standardized(X[rows], np.float64)
            draws = self._conditional_rows(vae, x, generator)
            out[rows] = draws.cpu().numpy()
        return np.where(np.isnan(X), out * self.scale + self.mean, X)

    def _conditional_rows(self, vae, x, generator):
        """Draws of the standardized rows ``x`` given their observed cells
        (every cell drawn; the caller keeps the observed ones)."""
        posterior = vae(x)
        if posterior.has_analytic_kl:
            prior = vae.prior().expand((x.shape[0],))
            z, log_proposal = defensive_draws(posterior.q, prior, generator)
            log_prior = prior.log_prob(z)  # (k, n)
        else:
            # A richer latent model (VampPrior, flow, two levels): its own
            # posterior is the proposal, with the densities of its draws.
            eps = posterior.noise((CONDITIONAL_DRAWS,), generator)
            z, log_proposal, log_prior = posterior.draw(eps)
        log_w = vae.decode(z).log_prob(x) + log_prior - log_proposal
        z = z[resampled(log_w, generator), torch.arange(x.shape[0])]  # (n, d)
        return vae.likelihood.sample(vae.decoder(z), generator)

    def latent_diagnostics(self, X):
        """KL per latent dimension and Burda et al.'s activity on ``X``.

        Computed with the float32 training weights: a diagnostic needs no
        float64 exactness, and a float64 pass costs a sizeable share of a
        short fit of a wide model. The KL is NaN for a latent model whose
        KL does not split by dimension (VampPrior, flow, two levels); the
        activity is that of the deterministic codes of ``transform``.
        """
        vae = self.module_for(np.float32)
        kl_sum = torch.zeros(self.module.n_components, dtype=torch.float64)
        locs = []
        with torch.no_grad():
            for rows in self.row_chunks(X.shape[0]):
                q = vae(self.standardized(X[rows], np.float32))
                kl = q.analytic_kl()  # (n_rows, n_components) or None
                if kl is None:
                    kl_sum[:] = np.nan
                else:
                    kl_sum += kl.sum(0).double().cpu()
                locs.append(q.code().double().cpu())
        kl_per_component = (kl_sum / X.shape[0]).numpy()
        activity = torch.cat(locs).var(dim=0, unbiased=False).numpy()
        return kl_per_component, activity


def resampled(log_w: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Per row, the index of one of the k draws with log-weights ``log_w``
    (k, n_rows), picked with probability its normalized weight; equal
    probabilities for a row that no draw explains (all weights -inf)."""
    log_w = torch.nan_to_num(log_w, nan=-torch.inf)
    explained = torch.isfinite(log_w).any(dim=0)  # (n_rows,)
    log_w = torch.where(explained, log_w, 0.0)
    probs = torch.softmax(log_w, dim=0).T  # (n_rows, k)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)


def defensive_draws(q, prior, generator: torch.Generator, k=CONDITIONAL_DRAWS):
    """``k`` draws per row, the first half from ``q`` and the others from
    ``prior`` (both of batch shape (n_rows,)), and the log-density of the
    equal mixture of the two at each draw: a defensive importance sampling
    proposal (Hesterberg, 1995), shape (k, n_rows, n_components) and
    (k, n_rows)."""
    half = k // 2
    from_q = rsample(q, (half,), generator)
    z = torch.cat([from_q, rsample(prior, (k - half,), generator)])
    log_mixture = torch.logaddexp(q.log_prob(z), prior.log_prob(z)) - math.log(2.0)
    return z, log_mixture
