"""Inference with a fitted M2 model (``skvae.semi_supervised._network``):
what :class:`~skvae.VAEClassifier` computes, with the guarantees of
``skvae._inference`` (float64 weights for float64 input, per-row noise,
no batch statistic, bounded chunks).
"""

import numpy as np
import torch
from torch.distributions import kl_divergence

from skvae import _sparse
from skvae._inference import (
    CONDITIONAL_DRAWS,
    InferenceModel,
    defensive_draws,
    resampled,
)
from skvae._noise import row_normal_noise
from skvae._objective import log_mean_exp
from skvae._torch.distributions import rsample
from skvae.semi_supervised._network import M2


class M2Inference(InferenceModel):
    """:class:`~skvae._inference.InferenceModel` for an M2 module: class
    probabilities, the bound with y summed out, posterior means averaged
    over the classes and class-conditional generation."""

    def class_probabilities(self, X) -> np.ndarray:
        """q(y | x) per row, shape (n_samples, n_classes), in X's dtype."""
        m2 = self.module_for(X.dtype)
        out = np.empty((X.shape[0], m2.n_classes), dtype=X.dtype)
        for rows in self.row_chunks(X.shape[0]):
            q_y = m2.classify(self.standardized(X[rows], X.dtype))
            out[rows] = q_y.probs.numpy(force=True)
        return out

    def log_likelihood(self, X) -> np.ndarray:
        """A bound on log p(x) = log sum_y p(y) p(x | y) per row of the
        float64 ``X``, each p(x | y) bounded by importance sampling of
        q(z | x, y) with the row's own noise, on the standardized scale."""
        m2 = self.module_for(np.float64)
        k, d = self.n_mc_samples, m2.n_components
        out = np.empty(X.shape[0], dtype=np.float64)
        for rows in self.row_chunks(X.shape[0], k * m2.n_classes):
            chunk = _sparse.dense(X[rows])
            x = self.standardized(chunk, np.float64)
            noise = self.tensor(row_normal_noise(chunk, self.noise_seed, k, d))
            per_class = []
            for c in range(m2.n_classes):
                y = m2.one_hot(torch.full((x.shape[0],), c, device=x.device))
                q = m2.posterior(x, y)
                z = q.mean + q.stddev * noise  # (k, n, n_components)
                log_w = (
                    m2.decode(z, y.expand(k, -1, -1)).log_prob(x)
                    + m2.prior().log_prob(z)
                    - q.log_prob(z)
                )  # (k, n)
                per_class.append(log_mean_exp(log_w) + m2.class_log_prior[c])
            out[rows] = torch.logsumexp(torch.stack(per_class), 0).numpy(force=True)
        return out

    def posterior_mean(self, X) -> np.ndarray:
        """sum_y q(y | x) E[z | x, y] per row, in the dtype of ``X``."""
        m2 = self.module_for(X.dtype)
        out = np.empty((X.shape[0], m2.n_components), dtype=X.dtype)
        for rows in self.row_chunks(X.shape[0], m2.n_classes):
            mean, _ = self._mean_and_kl(m2, self.standardized(X[rows], X.dtype))
            out[rows] = mean.numpy(force=True)
        return out

    def generate(self, n_rows, generator: torch.Generator, labels=None) -> np.ndarray:
        """``n_rows`` draws of x ~ p(x | y, z), z ~ p(z), on the user's
        scale: of the class indices ``labels`` (one per row), or with y ~
        p(y) drawn from ``generator`` when None."""
        m2 = self.module_for(np.float64)
        if labels is None:
            probs = m2.class_prior().probs
            labels = torch.multinomial(probs, n_rows, True, generator=generator)
            labels = labels.numpy(force=True)
        out = np.empty((n_rows, self.mean.shape[0]))
        for rows in self.row_chunks(n_rows):
            y = m2.one_hot(torch.as_tensor(labels[rows], device=self.device))
            prior = m2.prior().expand((y.shape[0],))
            z = rsample(prior, (), generator)  # (n, n_components)
            decoded = m2.decoder(torch.cat([z, y], -1))
            out[rows] = m2.likelihood.sample(decoded, generator).numpy(force=True)
        return out * self.scale + self.mean

    def _conditional_rows(self, m2, x, generator):
        """Draws of the standardized rows ``x`` given their observed cells:
        sampling importance resampling of (y, z) pairs, y from the equal
        mixture of q(y | x) and p(y), z from that of q(z | x, y) and p(z)
        (see :meth:`InferenceModel.conditional_draw`), weighted by
        p(x_observed | y, z) p(y) p(z) over their proposal density."""
        k, n = CONDITIONAL_DRAWS, x.shape[0]
        q_y = m2.classify(x).probs  # (n, n_classes)
        p_y = m2.class_prior().probs.expand_as(q_y)
        proposal_y = (q_y + p_y) / 2
        y = torch.multinomial(proposal_y, k, replacement=True, generator=generator)
        y = y.T.reshape(-1)  # (k * n,), draw-major
        one_hot = m2.one_hot(y)  # (k * n, n_classes)
        # One draw per (row, class) pair, the pairs laid out as k blocks of
        # n rows: the draws of a row are spread over the blocks.
        q = m2.posterior(x.repeat(k, 1), one_hot)
        prior = m2.prior().expand((k * n,))
        z, log_proposal = defensive_draws(q, prior, generator, k=2)  # (2, k * n, d)
        pick = torch.randint(2, (k * n,), generator=generator, device=x.device)
        z = z[pick, torch.arange(k * n)]  # (k * n, d)
        log_proposal = log_proposal[pick, torch.arange(k * n)]
        log_w = (
            m2.decode(z, one_hot).log_prob(x.repeat(k, 1))
            + prior.log_prob(z)
            - log_proposal
            + m2.class_log_prior[y]
            - proposal_y.log().repeat(k, 1).gather(1, y[:, None]).squeeze(1)
        ).reshape(k, n)
        pick = resampled(log_w, generator) * n + torch.arange(n)  # (n,)
        decoded = m2.decoder(torch.cat([z[pick], one_hot[pick]], -1))
        return m2.likelihood.sample(decoded, generator)

    def latent_diagnostics(self, X):
        """KL per latent dimension (expected under q(y | x)) and the
        activity of the posterior means, with the float32 weights."""
        m2 = self.module_for(np.float32)
        kl_sum = torch.zeros(m2.n_components, dtype=torch.float64)
        means = []
        with torch.no_grad():
            for rows in self.row_chunks(X.shape[0], m2.n_classes):
                mean, kl = self._mean_and_kl(m2, self.standardized(X[rows], np.float32))
                kl_sum += kl.sum(0).double().cpu()
                means.append(mean.double().cpu())
        activity = torch.cat(means).var(dim=0, unbiased=False).numpy()
        return (kl_sum / X.shape[0]).numpy(), activity

    @staticmethod
    def _mean_and_kl(m2: M2, x: torch.Tensor):
        """Per row, the posterior mean and KL per dimension, each averaged
        over the classes under q(y | x)."""
        probs = m2.classify(x).probs  # (n, n_classes)
        mean = x.new_zeros(x.shape[0], m2.n_components)
        kl = torch.zeros_like(mean)
        prior = m2.prior().base_dist
        for c in range(m2.n_classes):
            y = m2.one_hot(torch.full((x.shape[0],), c, device=x.device))
            q = m2.posterior(x, y)
            mean += probs[:, c, None] * q.mean
            kl += probs[:, c, None] * kl_divergence(q.base_dist, prior)
        return mean, kl
