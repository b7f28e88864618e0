"""realism_score: a scorer for the realism of samples."""

import numpy as np
import pytest
from configs import FAST
from sklearn.model_selection import GridSearchCV

from skvae import VAETransformer
from skvae.metrics import realism_score


@pytest.fixture(scope="module")
def fitted(blobs):
    return VAETransformer(**{**FAST, "max_iter": 40}).fit(blobs[:300])


def test_held_out_rows_look_more_real_than_shifted_ones(fitted, blobs):
    held_out = blobs[300:]
    real = realism_score(fitted, held_out)
    shifted = realism_score(fitted, held_out + 3 * blobs.std(axis=0))
    assert 0.0 <= shifted < real <= 1.0
    assert shifted < 0.1
    assert realism_score(fitted, held_out) == real  # deterministic


def test_realism_score_works_on_tables_and_as_a_grid_search_scorer(table):
    search = GridSearchCV(
        VAETransformer(**FAST),
        {"adversarial_weight": [0.0, 0.5]},
        scoring=realism_score,
        cv=2,
    ).fit(table)
    scores = search.cv_results_["mean_test_score"]
    assert np.all((0 <= scores) & (scores <= 1))


def test_too_few_rows_is_a_clear_error(fitted, blobs):
    with pytest.raises(ValueError, match="at least 6 real rows"):
        realism_score(fitted, blobs[:3])
