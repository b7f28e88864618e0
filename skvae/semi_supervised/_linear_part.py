"""The linear part of :class:`~skvae.VAEClassifier`'s class probabilities.

With few labels, M2's classifier q(y | x) and a logistic regression of the
labelled rows err differently: the first follows the structure of every
row (and is misled when the classes are not where the rows cluster), the
second the labelled rows alone, with an L2 penalty that keeps it simple.
With ``linear_weight`` w > 0 the classifier predicts ``(1 - w) q(y | x) +
w p(y | x)``, ``p`` being the logistic regression fitted here.

The logistic regression reads the validated training matrix (numbers, and
level codes in the categorical columns, NaN where missing): numeric
columns mean-imputed and standardized, categorical ones one-hot encoded
(sparse, so a column of many levels costs no dense block; a missing cell
is a level of its own, an unseen level all zeros), the usual scikit-learn
pipeline of a mixed table. Sparse rows (numbers, none missing) stay sparse:
scaled without centring, which leaves the logistic regression's
probabilities as they are (its unpenalized intercept absorbs the means),
and classified one densified chunk of rows at a time.
"""

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils import gen_batches
from sklearn.utils._chunking import get_chunk_n_rows

from skvae import _sparse
from skvae.semi_supervised._labels import UNLABELLED


def updated_linear_part(estimator, X, codes):
    """The linear part of ``estimator`` after a training call on the
    encoded rows ``X`` and their class indices ``codes``: None when its
    ``linear_weight_`` is 0; else fitted on the call's labelled rows, or
    the previous one when they hold a single class (a ``partial_fit`` chunk
    may)."""
    if estimator.linear_weight_ == 0:
        return None
    fitted = fit_linear_part(X, codes, estimator.is_categorical_)
    return vars(estimator).get("linear_part_") if fitted is None else fitted


def fit_linear_part(X, codes, is_categorical):
    """A logistic regression of the labelled rows of the encoded ``X``
    (``codes`` the class indices, -1 where unlabelled), or None when they
    hold fewer than two classes (a ``partial_fit`` chunk may)."""
    labelled = codes != UNLABELLED
    if np.unique(codes[labelled]).shape[0] < 2:
        return None
    if _sparse.issparse(X):
        model = make_pipeline(
            StandardScaler(with_mean=False), LogisticRegression(max_iter=1000)
        )
        return model.fit(X[labelled], codes[labelled])
    numeric = np.flatnonzero(~is_categorical)
    categorical = np.flatnonzero(is_categorical)
    parts = []
    if numeric.size:
        fill = SimpleImputer(keep_empty_features=True)
        parts.append(("numeric", make_pipeline(fill, StandardScaler()), numeric))
    if categorical.size:
        encode = OneHotEncoder(handle_unknown="ignore")
        parts.append(("categorical", encode, categorical))
    model = make_pipeline(ColumnTransformer(parts), LogisticRegression(max_iter=1000))
    rows = _with_missing_level(X[labelled], is_categorical)
    return model.fit(rows, codes[labelled])


def mixed_probabilities(proba, model, X, is_categorical, weight):
    """``(1 - weight) * proba + weight * p(y | x)``, ``p`` the linear
    ``model``'s (a class its labelled rows lacked has probability 0), for
    the rows of the encoded ``X``; ``proba`` (n_samples, n_classes) itself
    when there is no linear part."""
    if model is None or weight == 0:
        return proba
    linear = np.zeros_like(proba)
    if _sparse.issparse(X):
        # Float64 bytes per row of a densified chunk, and of its copy.
        chunk_rows = get_chunk_n_rows(row_bytes=16 * X.shape[1])
        for rows in gen_batches(X.shape[0], chunk_rows):
            # One chunk densified: the model may have been fitted on dense
            # rows, whose pipeline centres them.
            chunk = _with_missing_level(X[rows].toarray(), is_categorical)
            linear[rows, model.classes_] = model.predict_proba(chunk)
    else:
        linear[:, model.classes_] = model.predict_proba(
            _with_missing_level(X, is_categorical)
        )
    return (1.0 - weight) * proba + weight * linear


def _with_missing_level(X, is_categorical):
    """``X`` as float64 with the missing cells of categorical columns as
    the code -1, a level of its own (``OneHotEncoder`` refuses NaN in a
    numeric array)."""
    X = np.array(X, dtype=np.float64)
    cells = X[:, is_categorical]
    X[:, is_categorical] = np.where(np.isnan(cells), -1.0, cells)
    return X
