"""numpydoc validation of the public docstrings of every estimator.

Modelled on scikit-learn's ``sklearn/tests/test_docstrings.py``: every public
class and every public method (inherited ones included, so that the API
reference is complete) must pass ``numpydoc.validate.validate``, except for a
few error codes that scikit-learn ignores too (see ``filter_errors``).
"""

import inspect

import pytest

import skvae
from skvae import VAEAnomalyDetector, VAEClassifier, VAEImputer, VAETransformer

numpydoc_validation = pytest.importorskip("numpydoc.validate")

ESTIMATORS = [VAETransformer, VAEAnomalyDetector, VAEImputer, VAEClassifier]


def public_names(Klass):
    """Dotted names of the class and its public methods and properties."""
    prefix = f"skvae.{Klass.__name__}"
    names = [prefix]
    for name, member in inspect.getmembers(Klass):
        if name.startswith("_"):
            continue
        if callable(member) or isinstance(member, property):
            names.append(f"{prefix}.{name}")
    return names


def filter_errors(errors, name, Klass):
    """Drop the error codes that scikit-learn's own docstring test ignores.

    - RT02 (the first line of Returns holds only the type): scikit-learn's
      style names the returned object, ``self : object``.
    - GL01 and GL02 (blank lines around the summary): a matter of layout.
    - ES01, SA01, EX01 (extended summary, See Also and Examples sections) are
      required of class docstrings only, not of every method.
    - PR02 and GL08 on properties, whose signatures numpydoc cannot read.
    """
    method = name.rsplit(".", 1)[1] if name.count(".") == 2 else None
    for code, message in errors:
        if code in ("RT02", "GL01", "GL02"):
            continue
        if method is not None:
            if code in ("ES01", "SA01", "EX01"):
                continue
            if code in ("PR02", "GL08") and isinstance(
                inspect.getattr_static(Klass, method), property
            ):
                continue
        yield code, message


@pytest.mark.parametrize(
    "name", [name for Klass in ESTIMATORS for name in public_names(Klass)]
)
def test_public_docstring_passes_numpydoc_validation(name):
    Klass = getattr(skvae, name.split(".")[1])
    result = numpydoc_validation.validate(name)
    errors = list(filter_errors(result["errors"], name, Klass))
    if errors:
        report = "\n".join(f"{code}: {message}" for code, message in errors)
        raise AssertionError(f"{name} fails numpydoc validation:\n{report}")


def test_every_estimator_method_is_checked():
    # The list of names must not be silently empty (e.g. after a rename).
    names = public_names(VAEAnomalyDetector)
    for method in ("fit", "predict", "score_samples", "score_samples_per_feature"):
        assert f"skvae.VAEAnomalyDetector.{method}" in names
    names = public_names(VAETransformer)
    for method in ("fit", "transform", "inverse_transform", "sample", "score"):
        assert f"skvae.VAETransformer.{method}" in names
    names = public_names(VAEImputer)
    for method in ("fit", "transform", "partial_fit", "sample", "score"):
        assert f"skvae.VAEImputer.{method}" in names
    names = public_names(VAEClassifier)
    for method in ("fit", "predict_proba", "partial_fit", "sample", "score_samples"):
        assert f"skvae.VAEClassifier.{method}" in names


@pytest.mark.parametrize(
    "name",
    [
        "skvae.model_selection.StackedGridSearchCV",
        # Its only method of its own; the others are BaseSearchCV's.
        "skvae.model_selection.StackedGridSearchCV.fit",
    ],
)
def test_search_docstring_passes_numpydoc_validation(name):
    ignored = {"RT02", "GL01", "GL02"}
    if name.endswith(".fit"):
        ignored |= {"ES01", "SA01", "EX01"}
    errors = [
        f"{code}: {message}"
        for code, message in numpydoc_validation.validate(name)["errors"]
        if code not in ignored
    ]
    assert not errors, "\n".join(errors)
