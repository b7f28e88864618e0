"""realism_score: a scorer for the realism of samples."""

import numpy as np
import pytest
from configs import FAST
from scipy import sparse
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GridSearchCV

from skvae import VAETransformer
from skvae.metrics import (
    MIN_REAL_ROWS,
    npmi_coherence,
    realism_score,
    topic_diversity,
)


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


def test_npmi_coherence_known_answers():
    # Words 0 and 1 always together, 2 and 3 never; 4 documents.
    X = sparse.csr_matrix(
        np.array([[1, 2, 1, 0], [3, 1, 0, 1], [0, 0, 1, 0], [0, 0, 0, 1]])
    )
    together = np.array([[5.0, 4.0, 0.0, 0.0]])  # top words 0, 1
    apart = np.array([[0.0, 0.0, 5.0, 4.0]])  # top words 2, 3
    # p(0) = p(1) = p(0, 1) = 1/2: log(2) / log(2) = 1.
    assert npmi_coherence(together, X, n_top_words=2) == pytest.approx(1.0)
    assert npmi_coherence(apart, X, n_top_words=2) == -1.0
    # Words 0 and 2: p = 1/2 each, together in 1 of 4 documents: PMI 0.
    mixed = np.array([[5.0, 0.0, 4.0, 0.0]])
    assert npmi_coherence(mixed, X.toarray(), n_top_words=2) == pytest.approx(0.0)
    # The mean over topics.
    both = np.vstack([together, apart])
    assert npmi_coherence(both, X, n_top_words=2) == pytest.approx(0.0)


def test_topic_diversity_known_answers():
    distinct = np.array([[3.0, 2.0, 0.0, 0.0], [0.0, 0.0, 3.0, 2.0]])
    assert topic_diversity(distinct, n_top_words=2) == 1.0
    same = np.array([[3.0, 2.0, 0.0, 0.0], [2.0, 3.0, 0.0, 0.0]])
    assert topic_diversity(same, n_top_words=2) == 0.5
