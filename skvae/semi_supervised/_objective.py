"""The objective of semi-supervised learning with M2 (Kingma et al., 2014).

The objective of a batch, per row on average, is

- a labelled row (x, y): ``L(x, y) = -E_q(z|x,y)[log p(x | y, z)] -
  log p(y) + KL(q(z | x, y) || p(z))``, plus ``classification_weight``
  times ``-log q(y | x)``;
- an unlabelled row x (label -1): ``U(x) = sum_y q(y | x) L(x, y) -
  H(q(y | x))``, the label summed out under the classifier.

Both are computed in one pass over (row, class) pairs: a labelled row is
one pair of weight 1, an unlabelled row one pair per class, weighted by
q(y | x). The KL term has the weight ``beta``, the warm-up and the free
bits of :class:`~skvae._objective.Objective` (free bits on the batch-mean
KL per dimension, the expected KL of each row under its class weights).
With ``n_importance_samples`` k > 1 the ELBO of each (row, class) pair is
replaced by its importance-weighted bound (Burda et al., 2016), the
latent log-ratio weighted by ``beta`` as in ``Objective``.
"""

from typing import NamedTuple

import torch
from torch.distributions import Categorical, kl_divergence

from skvae._objective import Objective, log_mean_exp
from skvae._torch.distributions import rsample
from skvae.semi_supervised._network import M2


class LabelledRows(NamedTuple):
    """A training batch's target: the clean rows and their class indices
    (-1 where unlabelled)."""

    rows: torch.Tensor  # (n_samples, n_features)
    labels: torch.Tensor  # (n_samples,), int64


class M2Objective:
    """Negative M2 bound plus the classification term, averaged over rows.

    Parameters
    ----------
    beta, kl_warmup, free_bits, n_importance_samples, trim_fraction
        As for :class:`~skvae._objective.Objective`; trimming leaves the
        worst-fitting rows' bounds out, never the classification term of a
        labelled row.
    classification_weight : float
        Weight of ``-log q(y | x)`` per labelled row (the paper's alpha
        divided by the number of labelled rows, times the number of rows).
    """

    def __init__(
        self,
        beta: float = 1.0,
        kl_warmup: int = 0,
        free_bits: float = 0.0,
        n_importance_samples: int = 1,
        trim_fraction: float = 0.0,
        classification_weight: float = 0.1,
    ) -> None:
        # The KL schedule and the trimming rule (and the refusal of free
        # bits with IWAE) are Objective's.
        self.schedule = Objective(
            beta=beta,
            kl_warmup=kl_warmup,
            free_bits=free_bits,
            n_importance_samples=n_importance_samples,
            trim_fraction=trim_fraction,
        )
        self.classification_weight = classification_weight

    def __call__(
        self,
        m2: M2,
        q_y: Categorical,
        target: LabelledRows,
        *,
        inputs: torch.Tensor,
        epoch: int,
        generator: torch.Generator,
    ) -> torch.Tensor:
        """The loss of the batch ``target`` whose (maybe corrupted) rows
        ``inputs`` the classifier read as ``q_y``."""
        schedule = self.schedule
        weight = schedule.kl_weight(epoch)
        k = schedule.n_importance_samples
        terms = _row_terms(m2, q_y, inputs, target, generator, k, weight)
        classification = self.classification_weight * terms.error
        evidence, kl = terms.evidence, terms.kl
        if schedule.trim_fraction > 0:
            # Rank by the beta=1 ELBO; with IWAE by the training bound.
            bound = evidence if kl is None else evidence - kl.sum(-1)
            keep = schedule.best_fitting(bound)  # (n_keep,)
            evidence = evidence[keep]
            kl = None if kl is None else kl[keep]
        if kl is None:  # importance-weighted: the KL is in the bound
            return -evidence.mean() + classification
        kl = kl.mean(dim=0)  # (n_components,)
        if schedule.free_bits > 0:
            kl = kl.clamp(min=schedule.free_bits)
        loss = -evidence.mean() + classification
        return loss + weight * kl.sum() if weight > 0 else loss

    def validation_loss(
        self,
        m2: M2,
        q_y: Categorical,
        target: LabelledRows,
        generator: torch.Generator,
    ) -> torch.Tensor:
        """The beta=1 loss (classification term included) of the batch."""
        terms = _row_terms(m2, q_y, target.rows, target, generator)
        bound = terms.evidence - terms.kl.sum(-1)  # (n_samples,)
        return -bound.mean() + self.classification_weight * terms.error


class _Terms(NamedTuple):
    evidence: torch.Tensor  # (n,): E log p(x | y, z) + log p(y) [+ H(q(y|x))]
    kl: torch.Tensor | None  # (n, n_components): KL(q(z | x, y) || p(z)), over y
    error: torch.Tensor  # (): sum of -log q(y | x) over labelled rows / n


def _row_terms(m2, q_y, inputs, target, generator, n_draws=1, kl_weight=1.0) -> _Terms:
    """Each row's share of the bound, with y given or summed out: the
    ELBO's terms, or with ``n_draws`` > 1 the importance-weighted bound
    (its latent log-ratio weighted by ``kl_weight``) as the evidence and no
    separate KL."""
    x, labels = target
    n_samples, n_classes = x.shape[0], m2.n_classes
    labelled = labels >= 0
    rows_l = torch.nonzero(labelled).flatten()  # (n_l,)
    rows_u = torch.nonzero(~labelled).flatten()  # (n_u,)
    n_u = rows_u.shape[0]
    # (row, class) pairs: each labelled row with its class, each unlabelled
    # row with every class, weighted by q(y | x).
    rows = torch.cat([rows_l, rows_u.repeat(n_classes)])  # (n_pairs,)
    classes = torch.cat(
        [
            labels[rows_l],
            torch.arange(n_classes, device=x.device).repeat_interleave(n_u),
        ]
    )
    probs = q_y.probs  # (n_samples, n_classes)
    weights = torch.cat([probs.new_ones(rows_l.shape[0]), probs[rows_u].T.flatten()])
    y = m2.one_hot(classes)  # (n_pairs, n_classes)
    q_z = m2.posterior(inputs[rows], y)
    log_py = m2.class_log_prior[classes]  # (n_pairs,)
    kl = None
    if n_draws > 1:
        z = rsample(q_z, (n_draws,), generator)  # (k, n_pairs, n_components)
        y_k = y.expand(n_draws, -1, -1)  # (k, n_pairs, n_classes)
        log_px = m2.decode(z, y_k).log_prob(x[rows])  # (k, n_pairs)
        log_ratio = m2.prior().log_prob(z) - q_z.log_prob(z)  # (k, n_pairs)
        log_px = log_mean_exp(log_px + kl_weight * log_ratio)  # (n_pairs,)
    else:
        z = rsample(q_z, (), generator)  # (n_pairs, n_components)
        log_px = m2.decode(z, y).log_prob(x[rows])  # (n_pairs,)
        kl = kl_divergence(q_z.base_dist, m2.prior().base_dist)  # (n_pairs, d)
        kl = kl.new_zeros(n_samples, kl.shape[-1]).index_add(
            0, rows, weights[:, None] * kl
        )  # (n_samples, n_components)
    evidence = probs.new_zeros(n_samples).index_add(
        0, rows, weights * (log_px + log_py)
    )
    evidence = evidence.index_add(0, rows_u, q_y.entropy()[rows_u])
    log_q = q_y.logits[rows_l, labels[rows_l]]  # (n_l,), normalized logits
    return _Terms(evidence, kl, -log_q.sum() / n_samples)
