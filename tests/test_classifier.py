"""Behaviour of VAEClassifier: semi-supervised M2 and class-conditional
generation."""

import inspect
import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from configs import FAST
from scipy.special import logsumexp
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from skvae import VAEClassifier, VAETransformer
from skvae._noise import row_normal_noise

# Enough epochs for claims about a trained classifier.
TRAINED = {**FAST, "hidden_layer_sizes": (32,), "max_iter": 40}


def two_sausages(n_samples=400, n_noise=18, seed=0):
    """Two long, thin, parallel clusters (the classes) in noise dimensions:
    the clusters are plain to see in unlabelled rows, while a linear model
    fitted on a few labelled rows is misled by the noise dimensions."""
    rng = np.random.RandomState(seed)
    y = rng.randint(2, size=n_samples)
    X = 2.0 * rng.normal(size=(n_samples, 2 + n_noise))
    X[:, 0] = 6.0 * rng.normal(size=n_samples)
    X[:, 1] = np.where(y == 1, 1.5, -1.5) + 0.4 * rng.normal(size=n_samples)
    return X, y


def with_few_labels(y, per_class, seed=0):
    """``y`` with all but ``per_class`` rows of each class set to -1."""
    rng = np.random.RandomState(seed)
    partial = np.full_like(y, -1)
    for c in np.unique(y):
        rows = rng.choice(np.flatnonzero(y == c), per_class, replace=False)
        partial[rows] = c
    return partial


@pytest.fixture(scope="module")
def separable():
    """Three well separated classes in 4-D, every row labelled."""
    rng = np.random.RandomState(0)
    y = rng.randint(3, size=300)
    centres = np.array([[-6.0, 0, 3, 0], [0, 6, -3, 0], [6, 0, 0, 6]])
    return centres[y] + rng.normal(size=(300, 4)), y


@pytest.fixture(scope="module")
def fitted(separable):
    X, y = separable
    return VAEClassifier(**TRAINED).fit(X, y)


def test_unlabelled_rows_improve_accuracy_over_the_labelled_ones_alone():
    X, y = two_sausages()
    y_partial = with_few_labels(y, per_class=10)  # 5% of the rows labelled
    labelled = y_partial != -1
    baseline = LogisticRegression().fit(X[labelled], y[labelled]).score(X, y)
    m2 = VAEClassifier(**TRAINED).fit(X, y_partial)
    assert m2.score(X, y) >= 0.95
    assert m2.score(X, y) > baseline + 0.05


def test_predict_proba_rows_sum_to_one(fitted, separable):
    X, _ = separable
    proba = fitted.predict_proba(X)
    assert proba.shape == (len(X), 3)
    assert np.all(proba >= 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert np.array_equal(fitted.predict(X), fitted.classes_[proba.argmax(axis=1)])


def test_classes_exclude_the_unlabelled_marker(separable):
    X, y = separable
    clf = VAEClassifier(**FAST).fit(X, with_few_labels(y, per_class=5))
    assert list(clf.classes_) == [0, 1, 2]
    assert set(clf.predict(X)) <= {0, 1, 2}


def test_string_labels_with_minus_one_as_unlabelled(separable):
    X, y = separable
    names = np.array(["ant", "bee", "cat"], dtype=object)[y]
    names[with_few_labels(y, per_class=20) == -1] = -1
    clf = VAEClassifier(**TRAINED).fit(X, names)
    assert list(clf.classes_) == ["ant", "bee", "cat"]
    assert set(clf.predict(X)) <= {"ant", "bee", "cat"}
    assert clf.score(X, np.array(["ant", "bee", "cat"], dtype=object)[y]) > 0.9


def test_no_labels_at_all_is_a_clear_error(separable):
    X, _ = separable
    with pytest.raises(ValueError, match="no labelled row"):
        VAEClassifier(**FAST).fit(X, np.full(len(X), -1))


def test_labelled_rows_of_one_class_are_a_clear_error(separable):
    X, _ = separable
    y = np.full(len(X), -1, dtype=object)
    y[:10] = "ant"
    with pytest.raises(ValueError, match="one class"):
        VAEClassifier(**FAST).fit(X, y)


def test_minus_one_and_one_other_label_is_a_binary_problem(separable):
    X, y = separable
    y = np.where(y == 0, -1, 1)
    with pytest.warns(UserWarning, match="binary problem"):
        clf = VAEClassifier(**TRAINED).fit(X, y)
    assert list(clf.classes_) == [-1, 1]
    assert clf.score(X, y) > 0.9


def test_sample_given_a_class_is_assigned_that_class_by_the_classifier(
    fitted, separable
):
    for label in fitted.classes_:
        rows = fitted.sample(100, y=label, random_state=0)
        assert rows.shape == (100, separable[0].shape[1])
        assert np.mean(fitted.predict(rows) == label) >= 0.8


def test_sample_takes_one_label_per_row(fitted):
    labels = np.array([0, 1, 2] * 30)
    rows = fitted.sample(len(labels), y=labels, random_state=0)
    assert np.mean(fitted.predict(rows) == labels) >= 0.8


def test_sample_without_a_class_draws_classes_from_the_prior(fitted):
    rows = fitted.sample(600, random_state=0)
    shares = np.bincount(fitted.predict(rows), minlength=3) / 600
    np.testing.assert_allclose(shares, fitted.class_prior_, atol=0.1)


def test_sample_of_an_unknown_class_is_a_clear_error(fitted):
    with pytest.raises(ValueError, match="Unknown class 7"):
        fitted.sample(3, y=7)
    with pytest.raises(ValueError, match="n_samples=3 labels"):
        fitted.sample(3, y=[0, 1])


def test_sample_is_reproducible(fitted):
    np.testing.assert_array_equal(
        fitted.sample(5, y=1, random_state=3), fitted.sample(5, y=1, random_state=3)
    )


def test_sample_takes_the_parameters_of_every_generator_then_the_class(fitted):
    generator = inspect.signature(VAETransformer.sample).parameters
    own = inspect.signature(VAEClassifier.sample).parameters
    assert list(own)[:3] == list(generator)[:3]  # self, n_samples, random_state
    assert own["y"].kind is inspect.Parameter.KEYWORD_ONLY
    assert own["include_missing"] == generator["include_missing"]


def test_generation_without_labels_draws_classes_from_the_prior(fitted):
    model = fitted._inference()
    rows = model.generate(600, torch.Generator().manual_seed(0))
    shares = np.bincount(fitted.predict(rows), minlength=3) / 600
    np.testing.assert_allclose(shares, fitted.class_prior_, atol=0.1)


def test_transduction_keeps_the_given_labels(separable):
    X, y = separable
    y_partial = with_few_labels(y, per_class=20)
    clf = VAEClassifier(**TRAINED).fit(X, y_partial)
    labelled = y_partial != -1
    np.testing.assert_array_equal(clf.transduction_[labelled], y_partial[labelled])
    np.testing.assert_array_equal(
        clf.transduction_[~labelled], clf.predict(X[~labelled])
    )


def test_score_samples_sums_out_the_label(fitted, separable):
    X = separable[0][:20]
    # log sum_y p(y) p(x | y), each p(x | y) the importance-weighted bound
    # with the row's own noise, on the user's scale.
    m2 = fitted.net_.module_.double()
    try:
        x = torch.from_numpy((X - fitted.mean_) / fitted.scale_)
        k, d = fitted.n_mc_samples_, fitted.n_components_
        noise = torch.from_numpy(row_normal_noise(X, fitted.noise_seed_, k, d))
        per_class = []
        with torch.no_grad():
            for c in range(len(fitted.classes_)):
                y = m2.one_hot(torch.full((len(X),), c))
                q = m2.posterior(x, y)
                z = q.mean + q.stddev * noise
                log_w = (
                    m2.decode(z, y.expand(k, -1, -1)).log_prob(x)
                    + m2.prior().log_prob(z)
                    - q.log_prob(z)
                )
                per_class.append(
                    logsumexp(log_w.numpy(), axis=0)
                    - np.log(k)
                    + np.log(fitted.class_prior_[c])
                )
    finally:
        fitted.net_.module_.float()
    expected = logsumexp(per_class, axis=0) - np.log(fitted.scale_).sum()
    np.testing.assert_allclose(fitted.score_samples(X), expected, rtol=1e-6)
    # The summed-out bound is above the bound with any one label.
    assert np.all(
        fitted.score_samples(X)
        >= np.max(per_class, axis=0) - 1e-9 - np.log(fitted.scale_).sum()
    )


def test_transform_averages_the_codes_over_the_classes(fitted, separable):
    X = separable[0][:10]
    Z = fitted.transform(X)
    assert Z.shape == (10, fitted.n_components_)
    np.testing.assert_array_equal(Z, fitted.transform(X))
    np.testing.assert_allclose(Z[3], fitted.transform(X[3:4])[0], rtol=1e-12)


def test_mixed_table_with_missing_cells_and_a_categorical_target(table):
    X = table.drop(columns="colour")
    y = table["colour"].astype(object).where(table["colour"].notna(), -1)
    y[np.random.RandomState(0).uniform(size=len(y)) < 0.7] = -1
    clf = VAEClassifier(**TRAINED).fit(X, y)
    assert list(clf.classes_) == ["blue", "green", "red"]
    known = table["colour"].notna().to_numpy()
    assert clf.score(X[known], table["colour"][known].astype(object)) > 0.9
    rows = clf.sample(60, y="blue", random_state=0)
    assert isinstance(rows, pd.DataFrame)
    assert list(rows.columns) == list(X.columns)
    assert rows.dtypes.equals(X.dtypes)
    assert np.mean(clf.predict(rows) == "blue") >= 0.8
    assert np.all(np.isfinite(clf.score_samples(X)))
    gappy = clf.sample(200, random_state=0, include_missing=True)
    assert gappy.isna().to_numpy().any() and not rows.isna().to_numpy().any()


def test_pickle_round_trip_gives_identical_outputs_and_continues_training(
    fitted, separable
):
    X, y = separable
    loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    np.testing.assert_array_equal(loaded.score_samples(X), fitted.score_samples(X))
    np.testing.assert_array_equal(
        loaded.sample(4, y=2, random_state=0), fitted.sample(4, y=2, random_state=0)
    )
    again = pickle.loads(pickle.dumps(fitted))
    loaded.partial_fit(X, y)
    again.partial_fit(X, y)
    assert loaded.n_iter_ == fitted.n_iter_ + 1
    np.testing.assert_array_equal(loaded.predict_proba(X), again.predict_proba(X))


def test_partial_fit_needs_the_classes_on_the_first_call(separable):
    X, y = separable
    with pytest.raises(ValueError, match="classes must be passed"):
        VAEClassifier(**FAST).partial_fit(X, y)


def test_partial_fit_learns_from_chunks_with_and_without_labels(separable):
    X, y = separable
    y_partial = with_few_labels(y, per_class=20)
    clf = VAEClassifier(**FAST)
    for _ in range(30):
        for rows in np.array_split(np.arange(len(X)), 3):
            clf.partial_fit(X[rows], y_partial[rows], classes=[0, 1, 2])
    assert clf.n_iter_ == 90
    assert clf.score(X, y) > 0.9
    # A chunk of unlabelled rows only is fine once the classes are known.
    clf.partial_fit(X[:50], np.full(50, -1))
    with pytest.raises(ValueError, match="Unknown class 5"):
        clf.partial_fit(X[:3], [0, 1, 5])
    with pytest.raises(ValueError, match="differs from classes_"):
        clf.partial_fit(X[:3], [0, 1, 1], classes=[0, 1, 2, 3])


def test_warm_start_continues_the_fitted_model(separable):
    X, y = separable
    clf = VAEClassifier(**FAST, warm_start=True).fit(X, y)
    first = clf.loss_curve_[-1]
    clf.fit(X, y)
    assert clf.n_iter_ == 10
    assert clf.loss_curve_[-1] < first


def test_importance_weighted_training_learns_the_classes(separable):
    X, y = separable
    clf = VAEClassifier(**TRAINED, n_importance_samples=4)
    clf.fit(X, with_few_labels(y, per_class=20))
    assert clf.score(X, y) > 0.9
    assert np.all(np.isfinite(clf.loss_curve_))


def test_classification_weight_auto_is_kingmas_alpha(separable):
    X, y = separable
    clf = VAEClassifier(**FAST).fit(X, y)
    assert clf.classification_weight_ == pytest.approx(0.1)
    clf.fit(X, with_few_labels(y, per_class=5))
    assert clf.classification_weight_ == pytest.approx(0.1 * 300 / 15)
    clf.set_params(classification_weight=2.5).fit(X, y)
    assert clf.classification_weight_ == 2.5


# ------------------------------------------------------- the linear part


def clusters_across_the_classes(n_samples=400, seed=0):
    """Two far-apart clusters along the first column, and classes set by the
    sign of the second, across both: the structure that unlabelled rows
    show is not the class."""
    rng = np.random.RandomState(seed)
    cluster = rng.randint(2, size=n_samples)
    X = rng.normal(size=(n_samples, 4))
    X[:, 0] += np.where(cluster == 1, 8.0, -8.0)
    y = (X[:, 1] > 0).astype(int)
    return X, y


def test_linear_weight_zero_is_m2_alone(separable):
    X, y = separable
    clf = VAEClassifier(**FAST, linear_weight=0.0).fit(X, y)
    assert clf.linear_part_ is None
    m2 = clf._inference().class_probabilities(X)
    np.testing.assert_array_equal(clf.predict_proba(X), m2)


def test_predict_proba_mixes_m2_with_the_linear_part():
    X, y = clusters_across_the_classes()
    y_partial = with_few_labels(y, per_class=20)
    clf = VAEClassifier(**TRAINED, linear_weight=0.25).fit(X, y_partial)
    m2 = clf._inference().class_probabilities(X)
    linear = clf.linear_part_.predict_proba(X)
    np.testing.assert_allclose(clf.predict_proba(X), 0.75 * m2 + 0.25 * linear)
    assert not np.allclose(m2, linear, atol=0.05)
    # transduction_ follows the mixed probabilities.
    unlabelled = y_partial == -1
    np.testing.assert_array_equal(
        clf.transduction_[unlabelled], clf.predict(X[unlabelled])
    )


def test_linear_weight_one_predicts_as_a_logistic_regression_of_the_labels():
    X, y = clusters_across_the_classes()
    y_partial = with_few_labels(y, per_class=20)
    clf = VAEClassifier(**FAST, linear_weight=1.0).fit(X, y_partial)
    labelled = y_partial >= 0
    scaled = StandardScaler().fit(X[labelled]).transform(X)
    lr = LogisticRegression(max_iter=1000).fit(scaled[labelled], y[labelled])
    np.testing.assert_allclose(clf.predict_proba(X), lr.predict_proba(scaled))


def test_partial_fit_keeps_the_linear_part_of_a_chunk_with_one_class():
    X, y = clusters_across_the_classes()
    y_partial = with_few_labels(y, per_class=20)
    clf = VAEClassifier(**FAST, linear_weight=0.5)
    clf.partial_fit(X, y_partial, classes=[0, 1])
    first = clf.linear_part_
    one_class = np.where(y_partial == 1, -1, y_partial)  # labelled rows: 0s only
    clf.partial_fit(X, one_class)
    assert clf.linear_part_ is first
    clf.partial_fit(X, y_partial)
    assert clf.linear_part_ is not first
