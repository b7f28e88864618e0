"""Scores for what a generative model is for: realistic samples."""

import numpy as np
from scipy import sparse
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.utils.validation import _num_samples, check_is_fitted
from threadpoolctl import threadpool_limits

from skvae._runtime import n_threads

# HistGradientBoostingClassifier takes categories as codes below this.
_MAX_CATEGORIES = 255

# Fewest real rows a two-sample test can use: each cross-validation fold
# trains on 2/3 of twice as many rows, and a gradient-boosted tree needs 20
# rows per leaf (its default) to split at all. With fewer, every sample
# would look "indistinguishable".
MIN_REAL_ROWS = 50


def realism_score(estimator, X, y=None, *, n_jobs=None):
    """How hard rows sampled from a fitted model are to tell from ``X``.

    A classifier two-sample test (Lopez-Paz & Oquab, 2017): as many rows as
    ``X`` has are drawn with ``estimator.sample(random_state=0)``, and a
    ``HistGradientBoostingClassifier`` learns to tell them from the rows of
    ``X`` (3-fold cross-validation, categorical columns as categories,
    missing cells as missing). Its ROC-AUC is 0.5 when it cannot, 1 when it
    always can. The score is ``1 - 2 * |AUC - 0.5|``: 1 for samples
    indistinguishable from real rows, 0 for samples that are told apart
    every time.

    It has the signature of a scikit-learn scorer, so that
    ``GridSearchCV(VAETransformer(), {"adversarial_weight": [0, 0.5]},
    scoring=realism_score)`` tunes for realistic samples on held-out rows
    (``score``, the held-out likelihood, always prefers no adversarial
    term). Deterministic for a fitted model and ``X``.

    Parameters
    ----------
    estimator : fitted VAETransformer or VAEImputer
        The generative model (an estimator with ``sample``).
    X : array-like or DataFrame of shape (n_samples, n_features)
        Real rows, ideally not used in fit; at least 50, below which the
        classifier cannot split and every model would look perfect.
    y : None
        Ignored.
    n_jobs : int or None, default=None
        Threads of the classifier, as the estimators' ``n_jobs``: one by
        default, since threads that spin while other work keeps the cores
        busy slow a call down.

    Returns
    -------
    score : float
        In [0, 1]; higher is more realistic.

    References
    ----------
    .. [1] Lopez-Paz, D. and Oquab, M. "Revisiting Classifier Two-Sample
       Tests", ICLR 2017.

    Examples
    --------
    >>> from sklearn.model_selection import train_test_split
    >>> from skvae import VAETransformer
    >>> from skvae.datasets import load_penguins
    >>> from skvae.metrics import realism_score
    >>> train, test = train_test_split(load_penguins(), random_state=0)
    >>> vae = VAETransformer(max_iter=5, random_state=0).fit(train)
    >>> 0.0 <= realism_score(vae, test) <= 1.0
    True
    """
    check_is_fitted(estimator)
    n_samples = _num_samples(X)
    if n_samples < MIN_REAL_ROWS:
        raise ValueError(
            f"realism_score needs at least {MIN_REAL_ROWS} real rows, got "
            f"n_samples={n_samples}: with fewer, its classifier cannot learn "
            "to tell any samples from real rows."
        )
    generated = estimator.sample(n_samples, random_state=0)
    real = estimator._validate_for_inference(X, dtype=np.float64)
    fake = estimator._validate_for_inference(generated, dtype=np.float64)
    n_levels = np.array([len(levels) for levels in estimator.categories_])
    categorical = estimator.is_categorical_.copy()
    categorical[categorical] = n_levels <= _MAX_CATEGORIES
    classifier = HistGradientBoostingClassifier(
        categorical_features=categorical if categorical.any() else None,
        random_state=0,
    )
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    with threadpool_limits(limits=n_threads(n_jobs), user_api="openmp"):
        auc = cross_val_score(
            classifier,
            np.vstack([real, fake]),
            np.r_[np.ones(n_samples), np.zeros(n_samples)],
            cv=folds,
            scoring="roc_auc",
        ).mean()
    return float(1.0 - 2.0 * abs(auc - 0.5))


def npmi_coherence(components, X, *, n_top_words=10):
    """Mean NPMI coherence of the topics' top words over the documents ``X``.

    For each topic (row of ``components``, e.g. ``components_`` of a topic
    model), its ``n_top_words`` largest entries name its top words; each
    pair of them scores its normalized pointwise mutual information
    ``log(p(i, j) / (p(i) p(j))) / -log p(i, j)`` (Bouma, 2009), where
    ``p(i)`` and ``p(i, j)`` are the fractions of the documents (rows of
    ``X``, a document-term matrix, sparse or dense) that contain word ``i``
    and both words; a pair that no document contains together scores -1.
    The score is the mean over the pairs of a topic, then over the topics:
    from -1 (top words never seen together) to 1 (always together).

    Parameters
    ----------
    components : array-like of shape (n_topics, n_words)
        Topic-word weights; larger means more of the topic.
    X : {array-like, sparse matrix} of shape (n_documents, n_words)
        The reference documents' word counts (only whether a count is
        positive matters).
    n_top_words : int, default=10
        Top words per topic.

    Returns
    -------
    npmi : float
        Mean NPMI of the top words' pairs.
    """
    components = np.asarray(components)
    present = sparse.csc_matrix(X, dtype=np.float64)
    present.data = (present.data > 0).astype(np.float64)
    present.eliminate_zeros()
    n_documents = present.shape[0]
    p_word = np.asarray(present.sum(axis=0)).ravel() / n_documents
    pairs = np.triu_indices(n_top_words, k=1)
    scores = []
    for row in components:
        top = np.argsort(row, kind="stable")[::-1][:n_top_words]
        columns = present[:, top]
        p_pair = (columns.T @ columns).toarray()[pairs] / n_documents
        p_i, p_j = p_word[top][pairs[0]], p_word[top][pairs[1]]
        with np.errstate(divide="ignore", invalid="ignore"):
            npmi = np.log(p_pair / (p_i * p_j)) / -np.log(p_pair)
        # Never together: -1; always together (p = 1, log 0): 1.
        npmi = np.where(p_pair == 0, -1.0, np.where(p_pair == 1, 1.0, npmi))
        scores.append(npmi.mean())
    return float(np.mean(scores))


def topic_diversity(components, *, n_top_words=25):
    """Fraction of distinct words among the topics' top words.

    Dieng et al. (2020): the ``n_top_words`` largest entries of each row of
    ``components`` are its top words; the score is the number of distinct
    words among all of them over ``n_topics * n_top_words``. 1 when no two
    topics share a top word, ``1 / n_topics`` when all have the same.

    Parameters
    ----------
    components : array-like of shape (n_topics, n_words)
        Topic-word weights; larger means more of the topic.
    n_top_words : int, default=25
        Top words per topic.

    Returns
    -------
    diversity : float
        In ``(0, 1]``.
    """
    components = np.asarray(components)
    top = np.argsort(components, axis=1, kind="stable")[:, ::-1][:, :n_top_words]
    return len(np.unique(top)) / top.size
