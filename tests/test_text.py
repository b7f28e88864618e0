"""Sparse input and the multinomial likelihood over document-term counts."""

import numpy as np
import pytest
import torch
from configs import FAST
from scipy import sparse
from scipy.stats import multinomial
from sklearn import config_context

from skvae import VAEAnomalyDetector, VAEClassifier, VAEImputer, VAETransformer
from skvae._torch.likelihoods import MultinomialLikelihood
from skvae._torch.networks import TopicDecoder


def _counts(n_rows=120, n_words=30, seed=0):
    """Poisson word counts of documents drawn from two topics."""
    rng = np.random.RandomState(seed)
    rates = np.where(np.arange(n_words) < n_words // 2, 1.0, 0.05)
    topic = rng.randint(2, size=n_rows)[:, None]
    return rng.poisson(np.where(topic == 0, rates, rates[::-1])).astype(np.float64)


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli", "multinomial"])
@pytest.mark.parametrize("container", [sparse.csr_matrix, sparse.csr_array])
def test_sparse_rows_give_what_the_same_rows_give_dense(likelihood, container):
    X = _counts()
    if likelihood == "bernoulli":
        X = (X > 0).astype(np.float64)
    params = {**FAST, "likelihood": likelihood}
    dense = VAETransformer(**params).fit(X)
    fitted_sparse = VAETransformer(**params).fit(container(X))
    np.testing.assert_allclose(
        fitted_sparse.transform(container(X)), dense.transform(X), atol=1e-6
    )
    np.testing.assert_allclose(
        fitted_sparse.score_samples(container(X)),
        dense.score_samples(X),
        rtol=1e-6,
    )
    # A model fitted on sparse rows scores the same rows given dense alike.
    np.testing.assert_array_equal(
        fitted_sparse.score_samples(X), fitted_sparse.score_samples(container(X))
    )


def test_sparse_rows_are_densified_a_batch_or_chunk_at_a_time(monkeypatch):
    X = sparse.csr_matrix(_counts(n_rows=2000))
    densified = []
    toarray = sparse.csr_matrix.toarray

    def recording_toarray(self, *args, **kwargs):
        densified.append(self.shape[0])
        return toarray(self, *args, **kwargs)

    monkeypatch.setattr(sparse.csr_matrix, "toarray", recording_toarray)
    params = {**FAST, "max_iter": 1, "batch_size": 50}
    vae = VAETransformer(**params, likelihood="multinomial")
    with config_context(working_memory=1):
        vae.fit(X)
        # Training batches, then inference chunks (the latent diagnostics).
        assert densified.count(50) == X.shape[0] // 50
        assert max(densified) < X.shape[0] / 4
        densified.clear()
        vae.transform(X)
        vae.score_samples(X)
    assert densified and max(densified) < X.shape[0] / 4


def test_sparse_input_refuses_categorical_columns_and_missing_entries():
    X = sparse.csr_matrix(_counts())
    with pytest.raises(ValueError, match="Sparse input cannot have categorical"):
        VAETransformer(**FAST, categorical_features=[0]).fit(X)
    X_nan = X.copy()
    X_nan.data[0] = np.nan
    with pytest.raises(ValueError, match="Sparse input with missing values"):
        VAETransformer(**FAST).fit(X_nan)


def test_the_imputer_refuses_sparse_input_whose_missing_cells_it_cannot_see():
    with pytest.raises(TypeError, match="Sparse data was passed"):
        VAEImputer(**FAST).fit(sparse.csr_matrix(_counts()))


@pytest.mark.parametrize("score_type", ["likelihood", "reconstruction"])
@pytest.mark.parametrize("likelihood", ["multinomial", "gaussian"])
def test_detector_scores_sparse_documents_as_the_same_rows_dense(
    likelihood, score_type
):
    X = _counts()
    params = {**FAST, "likelihood": likelihood, "score_type": score_type}
    dense = VAEAnomalyDetector(**params).fit(X)
    fitted_sparse = VAEAnomalyDetector(**params).fit(sparse.csr_matrix(X))
    assert fitted_sparse.offset_ == pytest.approx(dense.offset_, rel=1e-9)
    np.testing.assert_allclose(
        fitted_sparse.feature_offset_, dense.feature_offset_, rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(
        fitted_sparse.score_samples(sparse.csr_array(X)),
        dense.score_samples(X),
        rtol=1e-9,
    )
    np.testing.assert_array_equal(
        fitted_sparse.predict(sparse.csr_matrix(X)), dense.predict(X)
    )
    # Per-feature scores are dense: of dense rows only, with a clear error.
    with pytest.raises(TypeError, match="returns a dense array"):
        fitted_sparse.score_samples_per_feature(sparse.csr_matrix(X))
    np.testing.assert_allclose(
        fitted_sparse.score_samples_per_feature(X[:5]),
        dense.score_samples_per_feature(X[:5]),
        rtol=1e-9,
        atol=1e-12,
    )


def test_detector_medians_per_feature_over_a_bounded_number_of_cells(monkeypatch):
    from skvae import anomaly

    X = _counts(n_rows=200)
    monkeypatch.setattr(anomaly, "MAX_SPARSE_OFFSET_CELLS", 10 * X.shape[1])
    shapes = []
    per_feature = VAEAnomalyDetector._scores_and_per_feature

    def recording(self, rows):
        shapes.append(rows.shape)
        return per_feature(self, rows)

    monkeypatch.setattr(VAEAnomalyDetector, "_scores_and_per_feature", recording)
    params = {**FAST, "likelihood": "multinomial"}
    fitted_sparse = VAEAnomalyDetector(**params).fit(sparse.csr_matrix(X))
    assert shapes == [(10, X.shape[1])]
    assert np.isfinite(fitted_sparse.feature_offset_).all()
    # The threshold still reads every training row: as when fitted dense.
    dense = VAEAnomalyDetector(**params).fit(X)
    assert fitted_sparse.offset_ == pytest.approx(dense.offset_, rel=1e-9)


@pytest.mark.parametrize("linear_weight", [0.0, 0.5])
def test_classifier_of_sparse_documents_gives_what_the_same_rows_give_dense(
    linear_weight,
):
    X = _counts()
    topic = (X[:, :15].sum(axis=1) > X[:, 15:].sum(axis=1)).astype(int)
    y = np.where(np.arange(X.shape[0]) % 5 == 0, topic, -1)
    params = {**FAST, "likelihood": "multinomial", "linear_weight": linear_weight}
    dense = VAEClassifier(**params).fit(X, y)
    fitted_sparse = VAEClassifier(**params).fit(sparse.csr_matrix(X), y)
    np.testing.assert_allclose(
        fitted_sparse.transform(sparse.csr_array(X)), dense.transform(X), atol=1e-9
    )
    np.testing.assert_allclose(
        fitted_sparse.score_samples(sparse.csr_matrix(X)),
        dense.score_samples(X),
        rtol=1e-9,
    )
    # The logistic regression of linear_weight scales sparse columns without
    # centring them: the same probabilities up to its solver's tolerance.
    atol = 1e-9 if linear_weight == 0 else 1e-3
    np.testing.assert_allclose(
        fitted_sparse.predict_proba(sparse.csr_matrix(X)),
        dense.predict_proba(X),
        atol=atol,
    )
    # A model fitted dense classifies sparse rows alike, and the reverse.
    np.testing.assert_allclose(
        dense.predict_proba(sparse.csr_matrix(X)), dense.predict_proba(X), atol=1e-12
    )
    np.testing.assert_allclose(
        fitted_sparse.predict_proba(X),
        fitted_sparse.predict_proba(sparse.csr_matrix(X)),
        atol=1e-12,
    )


@pytest.mark.parametrize("Estimator", [VAEAnomalyDetector, VAEClassifier])
def test_detector_and_classifier_densify_a_batch_or_chunk_at_a_time(
    monkeypatch, Estimator
):
    X = sparse.csr_matrix(_counts(n_rows=2000))
    y = np.where(np.arange(X.shape[0]) % 10 == 0, np.arange(X.shape[0]) % 3, -1)
    densified = []
    toarray = sparse.csr_matrix.toarray

    def recording_toarray(self, *args, **kwargs):
        densified.append(self.shape[0])
        return toarray(self, *args, **kwargs)

    monkeypatch.setattr(sparse.csr_matrix, "toarray", recording_toarray)
    params = {**FAST, "max_iter": 1, "batch_size": 50, "likelihood": "multinomial"}
    estimator = Estimator(**params)
    with config_context(working_memory=0.1):
        estimator.fit(X, y)
        assert densified.count(50) >= X.shape[0] // 50
        assert max(densified) < X.shape[0] / 4
        densified.clear()
        estimator.predict(X)
        estimator.score_samples(X)
        if Estimator is VAEClassifier:
            estimator.predict_proba(X)
            estimator.transform(X)
    assert densified and max(densified) < X.shape[0] / 4


def test_multinomial_log_prob_is_the_multinomial_pmf_of_the_counts():
    x = torch.tensor([[3.0, 0.0, 1.0, 2.0], [0.0, 0.0, 5.0, 0.0]], dtype=torch.float64)
    logits = torch.tensor(
        [[0.1, -1.0, 2.0, 0.3], [1.0, 1.0, 1.0, 1.0]], dtype=torch.float64
    )
    log_prob = MultinomialLikelihood(4)(logits).log_prob(x)
    probs = torch.softmax(logits, -1).numpy()
    expected = [
        multinomial.logpmf(row, n=row.sum(), p=p)
        for row, p in zip(x.numpy(), probs, strict=True)
    ]
    np.testing.assert_allclose(log_prob.numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize(
    "X, message",
    [
        (np.array([[1.0, 0.5], [2.0, 1.0]]), "non-negative integer counts"),
        (np.array([[1.0, -1.0], [2.0, 1.0]]), "non-negative integer counts"),
        (np.array([[1.0, np.nan], [2.0, 1.0]]), "no missing values"),
        (sparse.csr_matrix(np.array([[1.0, 0.5], [0.0, 1.0]])), "integer counts"),
    ],
)
def test_multinomial_refuses_anything_but_counts(X, message):
    with pytest.raises(ValueError, match=message):
        VAETransformer(**FAST, likelihood="multinomial").fit(X)


def test_multinomial_refuses_categorical_columns():
    X = _counts()
    vae = VAETransformer(**FAST, likelihood="multinomial", categorical_features=[0])
    with pytest.raises(ValueError, match=r"categorical columns \[0\]"):
        vae.fit(X)


def test_multinomial_transform_gives_topic_proportions_and_components_the_topics():
    X = sparse.csr_matrix(_counts())
    vae = VAETransformer(**{**FAST, "n_components": 3}, likelihood="multinomial")
    theta = vae.fit_transform(X)
    assert theta.shape == (X.shape[0], 3)
    assert (theta >= 0).all()
    np.testing.assert_allclose(theta.sum(axis=1), 1.0)
    assert vae.components_.shape == (3, X.shape[1])
    np.testing.assert_allclose(vae.components_.sum(axis=1), 1.0)
    # Row k is the word distribution of a document of topic k alone.
    one_topic = np.eye(3)
    np.testing.assert_allclose(
        vae.inverse_transform(one_topic), vae.components_, atol=1e-6
    )
    # inverse_transform reads topic proportions: back to word probabilities.
    words = vae.inverse_transform(theta[:5])
    np.testing.assert_allclose(words.sum(axis=1), 1.0)
    assert not hasattr(VAETransformer(**FAST).fit(X), "components_")


def test_multinomial_perplexity_is_the_per_word_bound():
    X = _counts()
    vae = VAETransformer(**FAST, likelihood="multinomial").fit(X)
    expected = np.exp(-vae.score_samples(X).sum() / X.sum())
    assert vae.perplexity(sparse.csr_matrix(X)) == pytest.approx(expected)
    with pytest.raises(ValueError, match="likelihood='multinomial' only"):
        VAETransformer(**FAST).fit(X).perplexity(X)


def test_multinomial_sample_draws_documents_of_the_median_training_length():
    X = _counts()
    vae = VAETransformer(**FAST, likelihood="multinomial").fit(X)
    drawn = vae.sample(7, random_state=0)
    assert drawn.shape == (7, X.shape[1])
    np.testing.assert_array_equal(drawn, np.round(drawn))
    np.testing.assert_array_equal(drawn.sum(axis=1), np.median(X.sum(axis=1)))


def test_topic_decoder_uses_running_statistics_outside_training():
    decoder = TopicDecoder(3, 5, dropout=0.2, generator=torch.Generator())
    z = torch.randn(8, 3, generator=torch.Generator().manual_seed(0))
    decoder.train()
    decoder(z)  # moves the running statistics
    decoder.eval()
    together = decoder(z)
    one_by_one = torch.cat([decoder(z[i : i + 1]) for i in range(len(z))])
    torch.testing.assert_close(together, one_by_one)
    # A batch of one row trains too (the running statistics normalize it).
    decoder.train()
    assert torch.isfinite(decoder(z[:1])).all()


def test_detector_with_the_multinomial_likelihood_flags_unusual_documents():
    X = _counts(n_rows=200)
    X[:5, :3] += 20  # five documents repeating a few words many times
    detector = VAEAnomalyDetector(
        **{**FAST, "max_iter": 20}, likelihood="multinomial"
    ).fit(X)
    assert set(np.argsort(detector.score_samples(X))[:5]) == set(range(5))


def test_partial_fit_continues_on_sparse_chunks():
    X = sparse.csr_matrix(_counts(n_rows=200))
    vae = VAETransformer(**FAST, likelihood="multinomial")
    vae.partial_fit(X[:100]).partial_fit(X[100:])
    assert vae.n_iter_ == 2
    assert vae.missing_patterns_[1].tolist() == [200]
    np.testing.assert_allclose(vae.transform(X).sum(axis=1), 1.0)


def test_early_stopping_holds_out_sparse_rows_as_it_holds_out_dense_ones():
    X = _counts()
    params = {**FAST, "early_stopping": True, "likelihood": "multinomial"}
    dense = VAETransformer(**params).fit(X)
    fitted_sparse = VAETransformer(**params).fit(sparse.csc_matrix(X))
    assert fitted_sparse.n_iter_ == dense.n_iter_
    np.testing.assert_allclose(
        fitted_sparse.validation_scores_, dense.validation_scores_, rtol=1e-6
    )


def test_multinomial_resolves_its_own_auto_defaults():
    X = sparse.csr_matrix(_counts(n_rows=60))
    params = {**FAST, "max_iter": "auto", "hidden_layer_sizes": "auto"}
    params.pop("dropout", None)
    topics = VAETransformer(**params, likelihood="multinomial").fit(X)
    assert topics.hidden_layer_sizes_ == (100, 100)
    assert topics.dropout_ == 0.2
    assert topics.n_iter_ == 20  # the topic model's budget of epochs
    gaussian = VAETransformer(**{**params, "max_iter": 2}).fit(X.toarray())
    assert gaussian.dropout_ == 0.0
    assert gaussian.hidden_layer_sizes_ == (256, 128)
    # An explicit value is used as given.
    explicit = VAETransformer(**{**params, "max_iter": 2, "dropout": 0.0})
    assert explicit.set_params(likelihood="multinomial").fit(X).dropout_ == 0.0


def test_classifier_learns_topics_of_documents_from_a_few_labels():
    rng = np.random.RandomState(0)
    X = _counts(n_rows=300)
    topic = (X[:, :15].sum(axis=1) > X[:, 15:].sum(axis=1)).astype(int)
    y = np.where(rng.rand(X.shape[0]) < 0.1, topic, -1)
    classifier = VAEClassifier(
        **{**FAST, "max_iter": 20}, likelihood="multinomial"
    ).fit(X, y)
    assert classifier.dropout_ == 0.2
    assert (classifier.predict(X) == topic).mean() > 0.9
