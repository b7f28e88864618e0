"""VAEClassifier: semi-supervised classification with a VAE (Kingma et al.'s
M2), with scikit-learn's semi-supervised API."""

import dataclasses
from numbers import Real

import numpy as np
from sklearn.base import (
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from skvae._base import BaseVAE
from skvae._docs import fill_doc
from skvae._generative import GenerativeMixin, torch_generator
from skvae._runtime import uses_torch
from skvae._validation import check_n_samples
from skvae.semi_supervised._inference import M2Inference
from skvae.semi_supervised._labels import (
    FitLabels,
    class_codes_to_sample,
    encode_labels,
    smoothed_class_prior,
    term_weight,
    transduction,
)
from skvae.semi_supervised._linear_part import mixed_probabilities, updated_linear_part


@fill_doc
class VAEClassifier(
    ClassNamePrefixFeaturesOutMixin,
    ClassifierMixin,
    TransformerMixin,
    GenerativeMixin,
    BaseVAE,
):
    """Semi-supervised classifier and class-conditional generator: M2.

    The deep generative model M2 of Kingma et al. (2014): the class y is a
    latent variable of a VAE, beside the code z. A row is generated as
    y ~ p(y), z ~ N(0, I), x ~ p(x | y, z); a classifier q(y | x) and an
    encoder q(z | x, y) are learnt with the decoder. Labelled rows are
    explained with their class, unlabelled ones with every class weighted
    by q(y | x), so the unlabelled rows teach the classifier where the
    classes of the data lie: with few labels and clustered data, M2
    classifies better than a classifier of the labelled rows alone (see
    the user guide, "Semi-supervised learning").

    As :class:`~sklearn.semi_supervised.SelfTrainingClassifier`, ``fit``
    takes every row with ``y == -1`` as unlabelled; numeric or string
    labels (string labels in an object array, with -1 for unlabelled
    rows). A numeric ``y`` of -1 and one other label only, such as the
    -1/+1 labels of binary problems, is a binary problem (with a warning),
    since rows of one class cannot train a classifier; so is any ``y`` when
    ``partial_fit``'s ``classes`` include -1. ``predict_proba`` averages
    q(y | x) with a logistic regression of the labelled rows
    (``linear_weight``), ``transform`` is the posterior mean of z,
    ``score_samples`` the log-likelihood bound of a row with its class
    summed out and ``sample(n, y=c)`` draws rows of class ``c``. Tables
    with categories and missing cells are modelled as by the others.

    Sparse input (scipy sparse matrices and arrays, e.g. document-term
    counts with ``likelihood="multinomial"`` and a few labelled documents)
    is accepted as ``VAETransformer`` accepts it: densified one mini-batch
    or row chunk at a time, with the outputs of the same rows given dense.
    The logistic regression of ``linear_weight`` then scales the sparse
    columns without centring them, which leaves its probabilities equal up
    to its solver's tolerance (its intercept absorbs the means).

    Parameters
    ----------
    classification_weight : float or "auto", default="auto"
        Weight of the classification term ``-log q(y | x)`` of each
        labelled row, relative to the likelihood bound of a row (the
        paper's alpha, per labelled row). "auto" is the paper's choice,
        ``alpha = 0.1 * n_samples`` over the mean classification loss of
        the labelled rows: a weight of ``0.1 * n_samples / n_labelled``,
        0.1 for a fully labelled ``y`` and 2 with 5% of the rows labelled.
        Larger values make the classifier fit the labelled rows more
        closely and rely less on the structure of the unlabelled ones; 0
        leaves it to learn from the bound alone. The value used is
        ``classification_weight_``.

    linear_weight : float in [0, 1], default=0.5
        ``predict_proba`` is ``(1 - linear_weight) * q(y | x) +
        linear_weight * p(y | x)``, ``p`` a ``LogisticRegression`` of the
        labelled rows (numbers mean-imputed and standardized, categories
        one-hot). 0 is M2 alone. M2 follows where the rows cluster; when
        the classes are not there, the linear part holds to the labels.

    {shared_parameters}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels seen in fit (the unlabelled marker -1 excluded),
        sorted.

    class_prior_ : ndarray of shape (n_classes,)
        p(y) of the model: the frequencies of the classes among the
        labelled rows of the first training call, with one added to each
        count (so that a class seen only in ``partial_fit``'s ``classes``
        keeps a positive probability).

    classification_weight_ : float
        The weight of the classification term of the last training call
        ("auto" resolved).

    linear_part_ : Pipeline or None
        The logistic regression of ``linear_weight``, fitted on the
        labelled rows of the last training call that held two classes or
        more (``partial_fit`` refits it on each such chunk's rows; it does
        not accumulate them); None when ``linear_weight`` is 0 or no call
        had two classes.

    transduction_ : ndarray of shape (n_samples,)
        The labels given to the rows of the last training call: a row's own
        label where it had one, the prediction where it was unlabelled (as
        :class:`~sklearn.semi_supervised.LabelSpreading`).

    {shared_attributes}

    See Also
    --------
    sklearn.semi_supervised.SelfTrainingClassifier : Semi-supervised
        learning by self-training a supervised classifier.
    sklearn.semi_supervised.LabelSpreading : Graph-based semi-supervised
        learning.
    VAETransformer : The unsupervised model.

    Notes
    -----
    Training minimizes, per row on average (Kingma et al., 2014, eq. 9),
    for a labelled row ``L(x, y) = -E_q(z|x,y)[log p(x | y, z)] - log p(y)
    + beta * KL(q(z | x, y) || N(0, I))`` plus ``classification_weight *
    -log q(y | x)``, and for an unlabelled row ``U(x) = sum_y q(y | x)
    L(x, y) - H(q(y | x))``. ``beta``, ``kl_warmup`` and ``free_bits``
    apply to the KL term as in the other estimators (free bits on the
    batch-mean KL per dimension, a row's KL expected under its class
    weights). The adversarial loss (``adversarial_weight``) shows its
    discriminator rows decoded from y ~ p(y), z ~ N(0, I). With
    ``n_importance_samples > 1`` the bound of each row and class is the
    importance-weighted one (IWAE). ``trim_fraction`` leaves the bounds of
    a batch's worst-fitting rows out of the loss (not the classification
    term of a labelled row). ``validation_scores_`` (``early_stopping``)
    are minus this loss with ``beta=1`` on the held-out rows.

    A step costs about ``n_classes`` times a ``VAETransformer`` step on
    unlabelled rows (each is explained with every class), and so do
    ``score_samples`` and ``transform``. ``max_iter="auto"`` is the budget
    of the other estimators (about 3000 steps of 32 rows). There is no
    ``decision_function``: ``predict_proba`` is the model's output.

    ``score_samples`` is a lower bound on ``log p(x) = log sum_y p(y) p(x |
    y)``, each ``p(x | y)`` bounded by importance sampling of q(z | x, y)
    with ``n_mc_samples`` draws (the same draws for every class, derived
    from the row and a seed drawn at fit, so a row's score does not depend
    on its batch). ``transform`` returns ``sum_y q(y | x) E[z | x, y]``,
    deterministic. ``predict_proba``, ``transform`` and ``score_samples``
    are computed in the input's float dtype (float64 for the scores).

    References
    ----------
    .. [1] Kingma, D. P., Rezende, D. J., Mohamed, S. and Welling, M.
       "Semi-supervised learning with deep generative models", NeurIPS
       2014.

    Examples
    --------
    >>> import numpy as np
    >>> from skvae import VAEClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = np.r_[rng.normal(-3, 1, (100, 2)), rng.normal(3, 1, (100, 2))]
    >>> y = np.r_[np.zeros(100, int), np.ones(100, int)]
    >>> y_partial = np.where(rng.uniform(size=200) < 0.1, y, -1)
    >>> clf = VAEClassifier(max_iter=30, random_state=0).fit(X, y_partial)
    >>> clf.classes_
    array([0, 1])
    >>> clf.predict([[-3.0, -3.0], [3.0, 3.0]])
    array([0, 1])
    >>> clf.sample(2, y=1, random_state=0).shape
    (2, 2)
    """

    _parameter_constraints: dict = {
        **BaseVAE._parameter_constraints,
        "classification_weight": [
            StrOptions({"auto"}),
            Interval(Real, 0, None, closed="left"),
        ],
        "linear_weight": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(
        self,
        classification_weight="auto",
        linear_weight=0.5,
        *,
        n_components=8,
        hidden_layer_sizes="auto",
        likelihood="gaussian",
        categorical_features="from_dtype",
        min_frequency=None,
        max_categories=None,
        beta=1.0,
        kl_warmup=0,
        free_bits=0.0,
        weight_decay=0.0,
        l1_penalty=0.0,
        adversarial_weight=0.0,
        spectral_norm=False,
        corruption=0.0,
        dropout="auto",
        n_importance_samples=1,
        trim_fraction=0.0,
        max_iter="auto",
        batch_size=32,
        learning_rate_init=3e-3,
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
        self.classification_weight = classification_weight
        self.linear_weight = linear_weight

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the model to the rows ``X`` and their labels ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Training rows, labelled and unlabelled. Missing cells (NaN) are
            left out of the likelihood; a sparse matrix is never densified
            whole and must have no missing cells.
        y : array-like of shape (n_samples,)
            Labels, -1 for an unlabelled row (string labels in an object
            array). At least one row must be labelled, with at least two
            classes among the labelled rows.

        Returns
        -------
        self : VAEClassifier
            The fitted estimator.
        """
        return self._fit(X, y=y)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """Train for one epoch on ``X`` and ``y``, continuing the model.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            A chunk of training rows. The input scaling is fixed by the first
            call, so the first chunk should be representative.
        y : array-like of shape (n_samples,)
            Labels of the chunk, -1 for an unlabelled row.
        classes : array-like of shape (n_classes,), default=None
            Every class of the problem; required on the first call and
            ignored (if equal to ``classes_``) on later ones, as for
            scikit-learn's incremental classifiers.

        Returns
        -------
        self : VAEClassifier
            The updated estimator.
        """
        if classes is None and not self.__sklearn_is_fitted__():
            raise ValueError("classes must be passed on the first call to partial_fit.")
        return self._fit(X, partial=True, y=y, classes=classes)

    @uses_torch
    def predict_proba(self, X):
        """Class probabilities of each row (M2's, mixed with the linear part's).

        ``(1 - linear_weight) * q(y | x) + linear_weight * p(y | x)``, ``p``
        the logistic regression of the labelled rows (``linear_part_``).

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities of the classes in the order of ``classes_``; each
            row sums to 1. In the input's float dtype.
        """
        return self._class_probabilities(self._validate_for_inference(X))

    def predict(self, X):
        """The most probable class of each row under ``predict_proba``.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    @uses_torch
    def transform(self, X):
        """Encode ``X`` as the posterior mean of its latent code.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Rows to encode.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            ``sum_y q(y | x) E[z | x, y]``, in the input's float dtype.
            Deterministic.
        """
        X = self._validate_for_inference(X)
        return self._inference().posterior_mean(X)

    @uses_torch
    def sample(self, n_samples=1, random_state=None, *, y=None, include_missing=False):
        """Draw new rows from the model, of given classes or of any.

        A class is drawn from ``class_prior_`` when ``y`` is None, a code
        from N(0, I), and a row from p(x | y, z).

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to generate.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws; pass an int for reproducible samples.
        y : label, array-like of shape (n_samples,) or None, default=None
            The class of the rows: one label for all of them, or one per
            row; None draws each row's class from ``class_prior_``. A label
            not in ``classes_`` raises a ``ValueError``.
        include_missing : bool, default=False
            Blank cells as the training data had them: each generated row
            takes the pattern of missing cells of a training row drawn at
            random, independent of its class and values. False gives
            complete rows.

        Returns
        -------
        X : ndarray or DataFrame of shape (n_samples, `n_features_in_`)
            Generated rows on the original scale of the training data, in
            the training table's column types when fitted on a DataFrame.
        """
        check_is_fitted(self)
        check_n_samples(n_samples)
        rng = check_random_state(random_state)
        codes = class_codes_to_sample(
            y, n_samples, self.classes_, self.class_prior_, rng
        )
        generator = torch_generator(rng, self.device_)
        out = self._inference().generate(n_samples, generator, labels=codes)
        return self._to_user(self._with_missing(out, rng, include_missing))

    @property
    def _n_features_out(self):
        return self.n_components_

    # ------------------------------------------------------------ private

    # Sparse rows: densified one batch or chunk at a time (skvae._sparse).
    _accepts_sparse = True

    def _labels_for_fit(self, y, X, *, reset, classes=None):
        """The classes, the class indices of ``y`` (-1 where unlabelled),
        the class prior (of a fresh fit's labels, else the fitted one) and
        the classification term's weight."""
        fitted = None if reset else self.classes_
        classes, codes = encode_labels(y, X, self, classes, fitted)
        prior = (
            smoothed_class_prior(codes, len(classes)) if reset else self.class_prior_
        )
        weight = term_weight(self.classification_weight, codes)
        return FitLabels(codes, classes, prior, weight)

    def _fitted_on(self, prepared):
        """The linear part; ``transduction_``: given labels, else predictions."""
        X, codes = prepared.X, prepared.labels.codes
        self.linear_weight_ = self.linear_weight
        self.linear_part_ = updated_linear_part(self, X, codes)
        proba = self._class_probabilities
        self.transduction_ = transduction(codes, X, self.classes_, proba)

    def _class_probabilities(self, X):
        """``predict_proba`` of the validated rows ``X``."""
        proba = self._inference().class_probabilities(X)
        return mixed_probabilities(
            proba, self.linear_part_, X, self.is_categorical_, self.linear_weight_
        )

    def _inference(self):
        return _as_m2(super()._inference())


def _as_m2(model):
    """The inference ``model`` of a fitted estimator as an M2 one, which
    also classifies and generates rows of given classes."""
    fields = dataclasses.fields(model)
    return M2Inference(**{f.name: getattr(model, f.name) for f in fields})
