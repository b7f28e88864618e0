"""The M2 objective (skvae.semi_supervised._objective) and module
(skvae.semi_supervised._network), at the torch level."""

import math

import pytest
import torch
from configs import seeded

from skvae.semi_supervised._network import M2
from skvae.semi_supervised._objective import LabelledRows, M2Objective


@pytest.fixture
def m2():
    return M2(4, (8,), 2, 2, generator=seeded(0)).eval()


@pytest.fixture
def x():
    return torch.randn(1, 4, generator=seeded(1))


def loss(m2, x, labels, objective, seed=2):
    target = LabelledRows(x, torch.tensor(labels))
    return objective(
        m2, m2.classify(x), target, inputs=x, epoch=1, generator=seeded(seed)
    )


def test_an_unlabelled_row_sums_its_labelled_losses_under_q_minus_the_entropy(m2, x):
    objective = M2Objective(classification_weight=0.0)
    # The two labelled copies of the row draw the same latent noise (pairs
    # in the same order) as the unlabelled row's two classes.
    both = loss(m2, x.repeat(2, 1), [0, 1], objective)  # mean of L(x, 0), L(x, 1)
    each = [loss(m2, x, [c], objective, seed=2) for c in (0, 1)]
    q = m2.classify(x)
    unlabelled = loss(m2, x, [-1], objective)
    with torch.no_grad():
        # L(x, y) with the noise the pair (x, y) gets in the unlabelled pass:
        # 2 * both - each[0] is L(x, 1) with the second draw.
        second = 2 * both - each[0]
        expected = q.probs[0, 0] * each[0] + q.probs[0, 1] * second - q.entropy()[0]
    torch.testing.assert_close(unlabelled, expected)


def test_the_classification_term_is_minus_log_q_of_the_label_times_its_weight(m2, x):
    without = loss(m2, x, [1], M2Objective(classification_weight=0.0))
    with_term = loss(m2, x, [1], M2Objective(classification_weight=2.5))
    log_q = m2.classify(x).log_prob(torch.tensor([1]))[0]
    torch.testing.assert_close(with_term - without, -2.5 * log_q)


def test_a_labelled_row_pays_minus_log_p_of_its_class(m2, x):
    objective = M2Objective(classification_weight=0.0)
    uniform = loss(m2, x, [0], objective)
    m2.set_class_prior(torch.tensor([0.25, 0.75]))
    skewed = loss(m2, x, [0], objective)
    torch.testing.assert_close(skewed - uniform, torch.tensor(math.log(0.5 / 0.25)))


def test_free_bits_with_importance_weighting_is_refused():
    with pytest.raises(ValueError, match="free_bits"):
        M2Objective(free_bits=0.1, n_importance_samples=2)


def test_trimming_leaves_the_worst_fitting_row_out(m2, x):
    outlier = torch.full_like(x, 50.0)
    trimmed = M2Objective(trim_fraction=0.5, classification_weight=0.0)
    alone = loss(m2, x, [0], M2Objective(classification_weight=0.0))
    torch.testing.assert_close(
        loss(m2, torch.cat([x, outlier]), [0, 1], trimmed), alone
    )
