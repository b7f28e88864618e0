"""realism_score: a scorer for the realism of samples."""

import numpy as np
import pytest
from configs import FAST
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GridSearchCV

from skvae import VAETransformer
from skvae.metrics import MIN_REAL_ROWS, realism_score


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


@pytest.mark.parametrize("n_rows", [3, 10, 20, MIN_REAL_ROWS - 1])
def test_too_few_rows_to_tell_anything_is_a_clear_error(fitted, blobs, n_rows):
    # With 10 or 20 rows the classifier cannot split, and rows 10 standard
    # deviations away would score as "indistinguishable".
    shifted = blobs[300 : 300 + n_rows] + 10 * blobs.std(axis=0)
    with pytest.raises(ValueError, match=f"at least {MIN_REAL_ROWS} real rows"):
        realism_score(fitted, shifted)


def test_the_fewest_rows_allowed_already_tell_shifted_rows_apart(fitted, blobs):
    shifted = blobs[300 : 300 + MIN_REAL_ROWS] + 10 * blobs.std(axis=0)
    assert realism_score(fitted, shifted) < 0.1


def test_the_classifier_runs_on_one_thread_by_default(fitted, blobs, monkeypatch):
    from threadpoolctl import threadpool_info

    seen = []
    fit = HistGradientBoostingClassifier.fit

    def recording_fit(self, *args, **kwargs):
        seen.append(
            [p["num_threads"] for p in threadpool_info() if p["user_api"] == "openmp"]
        )
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(HistGradientBoostingClassifier, "fit", recording_fit)
    realism_score(fitted, blobs[300:])
    assert seen and all(threads == [1] * len(threads) for threads in seen)
