"""VAETransformer: a VAE as a scikit-learn transformer."""

import numpy as np
from scipy.special import softmax
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from skvae._base import BaseVAE
from skvae._docs import fill_doc
from skvae._families import numeric_likelihood
from skvae._generative import GenerativeMixin
from skvae._runtime import uses_torch
from skvae._torch.likelihoods import LIKELIHOODS


@fill_doc
class VAETransformer(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, GenerativeMixin, BaseVAE
):
    """Variational autoencoder for feature extraction and density estimation.

    Learns an encoder q(z | x) and a decoder p(x | z) by maximizing the
    evidence lower bound (ELBO) with a PyTorch model trained through skorch.
    ``transform`` returns the posterior mean of the latent code (a nonlinear,
    probabilistic counterpart of PCA's projection), ``inverse_transform``
    decodes codes back to input space, ``sample`` generates new rows and
    ``score_samples`` gives each row's log-likelihood bound in nats.

    Parameters
    ----------
    {shared_parameters}

    Attributes
    ----------
    {shared_attributes}

    sample_mixture_ : GaussianMixture or None
        The Gaussian mixture over the training rows' codes that ``sample``
        draws from (see ``n_sample_components``); None when it draws from
        the prior.

    See Also
    --------
    VAEAnomalyDetector : The same model used as an outlier detector.
    sklearn.decomposition.PCA : Linear counterpart (probabilistic PCA is a
        linear-Gaussian VAE).
    sklearn.neural_network.BernoulliRBM : Another generative feature learner.

    Notes
    -----
    Training minimizes, per row, ``-E_q[log p(x|z)] + beta * KL(q(z|x) ||
    N(0, I))`` plus the enabled regularizers, with Adam on mini-batches.
    The Gaussian likelihood standardizes each column internally (``mean_``,
    ``scale_``) so raw data need no scaler, and reports densities on the
    original scale. Inference uses the input's float dtype (a float64 copy
    of the weights for float64 input), so results do not depend on how rows
    are batched.

    Sparse input (scipy sparse matrices and arrays) is accepted for every
    likelihood and densified one mini-batch (or row chunk) at a time, so
    memory grows with the batch size times the number of columns, not with
    the number of rows; results equal those of the same rows given dense.
    With ``likelihood="multinomial"`` the model is ProdLDA [4]_, a topic
    model: ``transform`` gives each document's topic proportions (the
    softmax of its posterior mean code), ``components_`` each topic's
    distribution over the words (n_components, n_features), as
    ``LatentDirichletAllocation`` has them once normalized, and
    ``perplexity`` the per-word perplexity of the bound. The prior is
    N(0, I) on the logits of the proportions (a logistic normal, close to
    the Laplace approximation of a Dirichlet(1), whose variance is
    1 - 1/n_components).

    References
    ----------
    .. [1] Kingma, D. P. and Welling, M. "Auto-Encoding Variational Bayes",
       ICLR 2014.
    .. [2] Burda, Y., Grosse, R. and Salakhutdinov, R. "Importance Weighted
       Autoencoders", ICLR 2016.
    .. [3] Higgins, I. et al. "beta-VAE: Learning Basic Visual Concepts with
       a Constrained Variational Framework", ICLR 2017.
    .. [4] Srivastava, A. and Sutton, C. "Autoencoding Variational Inference
       for Topic Models", ICLR 2017.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skvae import VAETransformer
    >>> X, _ = load_digits(return_X_y=True)
    >>> vae = VAETransformer(n_components=2, max_iter=5, random_state=0)
    >>> Z = vae.fit_transform(X)
    >>> Z.shape
    (1797, 2)
    >>> vae.score_samples(X[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        **BaseVAE._parameter_constraints,
        **BaseVAE._latent_model_constraints,
        **BaseVAE._posterior_regularizer_constraints,
        **GenerativeMixin._sampler_constraints,
    }

    _accepts_sparse = True

    def __init__(
        self,
        n_components=8,
        *,
        hidden_layer_sizes="auto",
        likelihood="auto",
        categorical_features="from_dtype",
        min_frequency=None,
        max_categories=64,
        prior="normal",
        n_pseudo_inputs="auto",
        n_flows=0,
        n_top_components=None,
        beta=1.0,
        kl_warmup=0,
        free_bits=0.0,
        weight_decay=0.0,
        l1_penalty=0.0,
        adversarial_weight=0.0,
        mmd_weight=0.0,
        tc_weight=0.0,
        consistency_weight=0.0,
        latent_adversarial_weight=0.0,
        spectral_norm=False,
        n_sample_components=0,
        corruption=0.0,
        dropout="auto",
        n_importance_samples=1,
        trim_fraction=0.0,
        max_iter="auto",
        batch_size="auto",
        learning_rate_init=1e-3,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        shuffle=True,
        warm_start=False,
        n_mc_samples=16,
        n_jobs=None,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        super().__init__(
            n_components=n_components,
            hidden_layer_sizes=hidden_layer_sizes,
            likelihood=likelihood,
            categorical_features=categorical_features,
            min_frequency=min_frequency,
            max_categories=max_categories,
            beta=beta,
            kl_warmup=kl_warmup,
            free_bits=free_bits,
            weight_decay=weight_decay,
            l1_penalty=l1_penalty,
            adversarial_weight=adversarial_weight,
            spectral_norm=spectral_norm,
            corruption=corruption,
            dropout=dropout,
            n_importance_samples=n_importance_samples,
            trim_fraction=trim_fraction,
            max_iter=max_iter,
            batch_size=batch_size,
            learning_rate_init=learning_rate_init,
            tol=tol,
            n_iter_no_change=n_iter_no_change,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            shuffle=shuffle,
            warm_start=warm_start,
            n_mc_samples=n_mc_samples,
            n_jobs=n_jobs,
            device=device,
            random_state=random_state,
            verbose=verbose,
        )
        self.prior = prior
        self.n_pseudo_inputs = n_pseudo_inputs
        self.n_flows = n_flows
        self.n_top_components = n_top_components
        self.mmd_weight = mmd_weight
        self.tc_weight = tc_weight
        self.consistency_weight = consistency_weight
        self.latent_adversarial_weight = latent_adversarial_weight
        self.n_sample_components = n_sample_components

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the VAE to ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Raw, unscaled columns are fine with the Gaussian
            likelihood; the Bernoulli likelihood needs values in [0, 1], the
            multinomial one non-negative integer counts. Missing cells (NaN)
            are left out of the likelihood (see the user guide, "Missing
            values"); a sparse matrix is never densified whole (one
            mini-batch at a time) and must have no missing cells nor
            categorical columns.
        y : None
            Ignored.

        Returns
        -------
        self : VAETransformer
            The fitted estimator.
        """
        return self._fit(X)

    def _fitted_on(self, prepared):
        """``sample_mixture_``, the density that ``sample`` draws codes from."""
        self._fit_sample_mixture(prepared.X)

    @uses_torch
    def transform(self, X):
        """Encode ``X`` as the posterior mean of its latent code.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to encode.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            Posterior means, in the input's float dtype. Deterministic.
            With ``likelihood="multinomial"``, the document's topic
            proportions instead: the softmax of the posterior mean (as
            ProdLDA's), rows summing to 1.
        """
        X = self._validate_for_inference(X)
        Z = self._inference().posterior_mean(X)
        return softmax(Z, axis=1) if self._topic_model else Z

    @uses_torch
    def inverse_transform(self, X):
        """Decode latent codes into the mean of p(x | z), in input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Latent codes, e.g. the output of ``transform``.

        Returns
        -------
        X_original : ndarray or DataFrame of shape (n_samples, `n_features_in_`)
            The decoder's mean: feature values on the original scale for the
            Gaussian likelihood, probabilities for the Bernoulli one, word
            probabilities (rows summing to 1) for the multinomial one,
            whose ``X`` are topic proportions (as ``transform`` gives), the
            most probable level of a categorical column; a DataFrame in the
            training table's column types when fitted on one.
        """
        check_is_fitted(self)
        Z = check_array(X, dtype=np.float64, input_name="X")
        if Z.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {Z.shape[1]} features, but inverse_transform expects "
                f"n_components_={self.n_components_} latent features as input."
            )
        if self._topic_model:
            # Topic proportions: their logarithm is a latent code that the
            # decoder's softmax maps back to them.
            Z = np.log(np.clip(Z, np.finfo(np.float64).tiny, None))
        return self._to_user(self._inference().decode_mean(Z))

    def perplexity(self, X):
        """Perplexity per word of the counts ``X`` (likelihood="multinomial").

        ``exp(-sum(score_samples(X)) / sum(X))``: the bound on the corpus'
        log-likelihood turned into a per-word perplexity, as
        ``LatentDirichletAllocation.perplexity`` reports it (lower is
        better). It includes each document's multinomial coefficient.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Document-term counts.

        Returns
        -------
        perplexity : float
            Per-word perplexity; lower is better.
        """
        check_is_fitted(self)
        if not self._topic_model:
            raise ValueError(
                "perplexity is defined for likelihood='multinomial' only; this "
                f"model was fitted with likelihood={self.likelihood_!r}."
            )
        n_words = float(X.sum())
        return float(np.exp(-np.sum(self.score_samples(X)) / max(n_words, 1.0)))

    @property
    def components_(self):
        """Topic-word weights of likelihood="multinomial", (n_components, n_features).

        Row ``k`` is topic ``k``'s distribution over the words (a row
        summing to 1): the word probabilities that the fitted decoder gives
        a document made of topic ``k`` alone. A topic's top words are its
        row's largest entries. Normalized, they are what
        ``LatentDirichletAllocation.components_`` divided by its row sums
        gives (LDA's rows are pseudo-counts). Other likelihoods have no
        topics: the
        attribute does not exist.
        """
        check_is_fitted(self)
        if not self._topic_model:
            raise AttributeError(
                "components_ exists for likelihood='multinomial' only (the "
                "topics of a topic model)."
            )
        return self.net_.module_.decoder.topics().detach().cpu().double().numpy()

    @property
    def _topic_model(self):
        return LIKELIHOODS[self.likelihood_].topic_model

    @property
    def _n_features_out(self):
        return self.n_components_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        family = LIKELIHOODS.get(numeric_likelihood(self.likelihood))
        if getattr(family, "counts", False):
            tags.input_tags.positive_only = True
        return tags
