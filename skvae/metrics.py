"""Scores for what a generative model is for: realistic samples."""

import numpy as np
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
