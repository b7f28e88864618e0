"""The classifier's labels: classes, class codes and unlabelled rows.

:class:`~skvae.VAEClassifier` reads scikit-learn's semi-supervised labels:
numeric or string labels, -1 (:data:`UNLABELLED`) for an unlabelled row.
This module checks them, finds the classes of a fresh fit, turns labels
into indices into ``classes_`` (the codes the model trains on, -1 where
unlabelled) and derives what the labels fix: the class prior, the weight
of the classification term and the classes that ``sample`` draws. None of
it needs the fitted model: the estimator passes ``classes_`` and the few
settings that it reads.
"""

import warnings
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_y, check_consistent_length

from skvae._validation import user_stacklevel

# The label of an unlabelled row (scikit-learn's semi-supervised convention).
UNLABELLED = -1


@dataclass(frozen=True)
class FitLabels:
    """What the labels of a fit call resolve to.

    Attributes
    ----------
    codes : ndarray of int64 of shape (n_samples,)
        Class indices into ``classes``, -1 where unlabelled.
    classes : ndarray of shape (n_classes,)
        The classes (``classes_``).
    class_prior : ndarray of shape (n_classes,)
        p(y), fixed by the first fit (``class_prior_``).
    classification_weight : float
        The weight of the classification term (``classification_weight_``).
    """

    codes: np.ndarray
    classes: np.ndarray
    class_prior: np.ndarray
    classification_weight: float


def encode_labels(y, X, estimator, classes, fitted=None):
    """The classes and the class indices (-1 where unlabelled) of the labels
    ``y`` of the rows ``X``: at a fresh fit (``fitted`` None) the classes of
    :func:`_classes`, else the ``fitted`` ones, which ``partial_fit``'s
    ``classes`` must equal. ``estimator`` names the caller in the errors."""
    y = _check_labels(y, X, estimator)
    if fitted is None:
        fitted = _classes(y, classes)
    else:
        _check_same_classes(classes, fitted)
    return fitted, _label_codes(y, fitted)


def _check_labels(y, X, estimator):
    """``y`` validated as the 1-D labels of the rows ``X`` (``estimator``
    names the caller in the errors)."""
    if y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target "
            "y is None."
        )
    y = _check_y(y, estimator=estimator)
    check_consistent_length(X, y)
    return y


def _check_same_classes(classes, fitted):
    """Raise unless ``classes`` (``partial_fit``'s, None when not passed)
    are the classes ``fitted`` of the first call."""
    if classes is not None and not np.array_equal(
        np.unique(np.asarray(classes)), fitted
    ):
        raise ValueError(
            f"classes={classes!r} differs from classes_={fitted!r} of "
            "the first call to partial_fit."
        )


def _label_codes(y, classes):
    """Indices into ``classes`` of the labels ``y``, -1 where unlabelled
    (unless -1 is a class: -1/+1 labels)."""
    labelled = ~_is_unlabelled(y) | _is_unlabelled(classes).any()
    codes = np.full(y.shape[0], UNLABELLED, dtype=np.int64)
    codes[labelled] = _codes(classes, y[labelled])
    return codes


def _codes(classes, labels):
    """Indices into ``classes`` of ``labels``; an unknown one is an error
    that names it."""
    codes = pd.Index(classes, dtype=object).get_indexer(labels)
    if (codes < 0).any():
        label = labels[np.argmax(codes < 0)]
        label = label.item() if isinstance(label, np.generic) else label
        raise ValueError(f"Unknown class {label!r}: the classes are {classes!r}.")
    return codes.astype(np.int64)


def smoothed_class_prior(codes, n_classes):
    """p(y): the frequencies of the classes among the labelled rows of
    ``codes``, with one added to each count."""
    counts = np.bincount(codes[codes != UNLABELLED], minlength=n_classes)
    return (counts + 1.0) / (counts.sum() + n_classes)


def term_weight(setting, codes):
    """The weight of the classification term: ``setting``, or for "auto"
    ``0.1 * n_samples / n_labelled`` over the rows of ``codes``."""
    if setting == "auto":
        n_labelled = max(int((codes != UNLABELLED).sum()), 1)
        return 0.1 * codes.shape[0] / n_labelled
    return float(setting)


def transduction(codes, X, classes, class_probabilities):
    """The labels of the training rows ``X``: their own (``codes``, -1
    where unlabelled) where they have one, else the most probable class
    under ``class_probabilities`` (the fitted estimator's ``predict_proba``
    of validated rows, called only when a row is unlabelled)."""
    codes = codes.copy()
    unlabelled = codes == UNLABELLED
    if unlabelled.any():
        proba = class_probabilities(X[unlabelled])
        codes[unlabelled] = np.argmax(proba, axis=1)
    return classes[codes]


def class_codes_to_sample(y, n_samples, classes, prior, rng):
    """The class indices of ``n_samples`` rows to draw: ``y`` (one label or
    one per row) as indices into ``classes``, or drawn from ``prior`` with
    ``rng`` when ``y`` is None."""
    if y is None:
        return rng.choice(len(classes), size=n_samples, p=prior)
    y = np.asarray(y, dtype=object if np.ndim(y) else None)
    if y.ndim == 0:
        y = np.full(n_samples, y.item(), dtype=object)
    if y.shape != (n_samples,):
        raise ValueError(
            f"y must be one label or an array of n_samples={n_samples} "
            f"labels; got shape {y.shape}."
        )
    return _codes(classes, y)


def _classes(y, classes):
    """The sorted classes of a fresh fit on labels ``y``: ``classes`` when
    given (``partial_fit``), else the labels of the labelled rows, with -1
    among them when ``y`` is numeric and holds one other label only."""
    if classes is not None:
        found = np.unique(np.asarray(classes))
        check_classification_targets(found)
    else:
        unlabelled = _is_unlabelled(y)
        if unlabelled.all():
            raise ValueError(
                "y has no labelled row (every label is -1): a classifier needs "
                "labelled rows of at least two classes."
            )
        check_classification_targets(y[~unlabelled])
        found = np.unique(y[~unlabelled])
        if len(found) == 1 and unlabelled.any() and y.dtype.kind in "biuf":
            warnings.warn(
                "y holds -1 and one other label: taken as a binary problem whose "
                "classes are -1 and the other label, not as rows of one class and "
                "unlabelled rows (which cannot train a classifier).",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
            found = np.unique(y)
    if len(found) < 2:
        raise ValueError(
            f"y has labelled rows of one class only ({found[0]!r}); a classifier "
            "needs at least two classes."
        )
    return found


def _is_unlabelled(y):
    """Which entries of the 1-D ``y`` are the unlabelled marker -1 (a
    number equal to -1, never a string)."""
    if y.dtype.kind in "biuf":
        return y == UNLABELLED
    if y.dtype.kind != "O":
        return np.zeros(y.shape[0], dtype=bool)
    return np.array(
        [
            isinstance(v, Integral | Real) and not isinstance(v, bool) and v == -1
            for v in y
        ],
        dtype=bool,
    )
