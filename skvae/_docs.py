"""Docstring pieces shared by the estimators (one source for every class)."""

import inspect

SHARED_PARAMETERS = """\
n_components : int, default=8
        Dimension of the latent space. Larger values let the model keep more
        detail of each row (better reconstructions, higher likelihood) at the
        risk of unused dimensions; ``n_active_components_`` after fit tells
        how many the data actually needed.

    hidden_layer_sizes : tuple of int or "auto", default=HIDDEN_DEFAULT
        Widths of the encoder's hidden layers; the decoder mirrors them. Wider
        and deeper networks fit more complex data but need more rows and
        epochs. "auto" is (64, 32) for fewer than 30 features and (256, 128)
        from 30 features on (see the user guide, "How the defaults were
        chosen"); with ``likelihood="multinomial"``, (100, 100), ProdLDA's.
        The widths used are ``hidden_layer_sizes_`` after fit.

    likelihood : {"auto", "gaussian", "bernoulli", "multinomial"} or dict, \
            default=LIKELIHOOD_DEFAULT
        Distribution of each numeric cell given the latent code (categorical
        columns are set by ``categorical_features``). ``"gaussian"`` has a
        learned per-column variance and works on raw, unscaled columns: the
        data are standardized internally and every output is reported on the
        original scale. ``"bernoulli"`` is for data in [0, 1] (binary or
        grey levels, e.g. pixels); values outside raise a ``ValueError``.
        ``"multinomial"`` is a topic model over rows of non-negative integer
        counts (documents as the document-term matrix of
        ``CountVectorizer``, sparse or dense): ProdLDA's decoder, the words'
        logits a batch-normalized linear map of the topic proportions
        ``softmax(z)``; scores are the multinomial log-pmf of the counts
        given the row total, in nats. Other values, and missing cells, raise
        a ``ValueError``.
        ``"auto"`` chooses a family per column of a DataFrame from the
        training rows (an array's columns are ``"gaussian"``):
        ``"discrete"`` for a column of at most 64 values that repeat (a
        probability per value seen in fit; ``sample`` draws only those
        values, and a new value is read as a missing cell with a warning),
        ``"histogram"`` for a column with a point mass (a value held by 1 %
        of the cells, such as exact zeros) or a skewed one (point masses
        plus quantile intervals with a uniform density inside), else
        ``"gaussian"``. Both families over levels use an ordinal model of
        the levels in order of value, and score a value in nats of the data
        as given (a probability at a point mass, a density elsewhere). A
        dict maps columns (names or indices) to ``"gaussian"``,
        ``"discrete"`` or ``"histogram"``; the other columns get
        ``"auto"``'s choice. The family each column got is
        ``column_likelihoods_``.

    categorical_features : "from_dtype", array-like of int, bool or str, or None, \
            default="from_dtype"
        Which columns are categorical, with the meaning of
        ``HistGradientBoostingClassifier``'s parameter: integer indices, a
        boolean mask, feature names, or None (none). "from_dtype" takes a
        DataFrame's (pandas or polars) categorical, string/object and boolean
        columns, and none of an array's. A categorical column gets a
        categorical distribution over the levels seen in fit (a softmax
        output per level; the encoder reads a learned embedding of the
        level, at most 16 numbers wide), so it is one term of
        the row's log-likelihood, its reconstruction is a level and its draws
        are levels. A level not seen in fit is treated as a missing cell, with
        a warning that names it. The fitted column types are
        ``is_categorical_`` and ``categories_``.

    min_frequency : int, float or None, default=None
        Levels held by fewer training rows than this (an int ``>= 1``), or
        than this fraction of the rows (a float in (0, 1)), are
        *infrequent*: the decoder gives a categorical column one output per
        frequent level and one shared by its infrequent levels, and an
        infrequent level's probability is the group's times its share of the
        group's training rows. ``OneHotEncoder``'s parameter, with its
        meaning. The likelihood stays a probability over every level seen in
        fit and a rare level stays rare (an outlier detector still finds it
        unlikely), but the model no longer tells one row's rare level from
        another's: within the group the split is the training frequencies,
        whatever the rest of the row says. Raising it makes scoring and
        sampling a many-level column cheaper (their cost grows with the
        decoder's outputs); None (default) keeps one output per level, the
        exact model. The counts are those of the first ``fit`` or
        ``partial_fit`` call's rows, and a warm start keeps the fitted
        grouping.

    max_categories : int or None, default=MAX_CATEGORIES_DEFAULT
        Most outputs per categorical column, the infrequent group's
        included (``OneHotEncoder``'s parameter, with its meaning): the
        least frequent levels join the group until that many remain (of
        equal counts, the earlier levels first, as there). With
        ``min_frequency`` too, both apply. A column of fewer levels than
        ``max_categories`` is left as it is; ``max_categories=1`` draws the
        column from its training frequencies whatever the rest of the row.
        Lowering it bounds what the widest column costs ``score_samples``,
        ``sample`` and training (e.g. the 4043 aircraft of a flights table
        become 63 outputs and a group), at the price of modelling the rare
        levels by their frequencies only; None sets no bound.
        ``VAEAnomalyDetector`` and ``VAETransformer`` default to 64, which
        keeps a column of thousands of levels from multiplying the cost of a
        fit and of scoring; ``VAEImputer`` and ``VAEClassifier``, whose
        outputs are levels, keep the exact model (see the user guide, "How
        the defaults were chosen"). The infrequent levels found are
        ``infrequent_categories_``.

    beta : float, default=1.0
        Weight of the KL term (beta-VAE). 1 is the textbook VAE. Larger
        values give a smoother, more disentangled latent space but blurrier
        reconstructions and more collapsed dimensions; smaller values move
        towards an autoencoder; 0 is a plain autoencoder with a noisy
        bottleneck.

    kl_warmup : int, default=0
        Number of epochs over which the KL weight grows linearly from 0 to
        ``beta``. A few epochs of warm-up prevent posterior collapse on data
        where the decoder is strong.

    free_bits : float, default=FREE_BITS_DEFAULT
        Nats per latent dimension below which the KL is not penalized (Kingma
        et al., 2016): each dimension's batch-mean KL is floored at this
        value, so the model is free to use that much information per
        dimension. Raise it (e.g. 0.1 to 1) when dimensions collapse.
        ``VAEImputer`` defaults to 0.5, against collapse onto the prior on
        tables with many missing cells.

    weight_decay : float, default=0.0
        L2 penalty ``weight_decay / 2 * ||W||^2`` on the weight matrices (not
        the biases) of the encoder and decoder. Larger values give smaller
        weights and smoother mappings; useful on small data sets.

    l1_penalty : float, default=0.0
        L1 penalty ``l1_penalty * sum |W|`` on the weight matrices. Drives
        weights to zero, e.g. to ignore irrelevant input columns.

    adversarial_weight : float, default=0.0
        Weight of an adversarial loss: a discriminator network learns to tell
        real rows from rows drawn from the model (prior draws decoded and
        drawn through the likelihood, as ``sample`` draws them, relaxed so
        that gradients pass), and the decoder learns to fool it (as in
        VAE-GAN). 0 builds no discriminator at all. See the user guide for
        what it did to the realism of ``sample`` on real tables.

    spectral_norm : bool, default=False
        Spectral normalization (Miyato et al., 2018) of the linear layers of
        the discriminators: of ``adversarial_weight``'s and, where the
        estimator has one, of ``latent_adversarial_weight``'s. Each layer's
        weight is divided by its largest singular value (estimated by power
        iteration), which bounds how fast a discriminator's output can
        change with its input: the usual stabilizer of adversarial training,
        against a discriminator that wins too easily to leave a useful
        gradient. No effect without an adversary.

    corruption : float, default=0.0
        Fraction of input entries masked in training (set to the column
        mean, or to 0 for the Bernoulli likelihood) while the loss asks for
        the clean row: a denoising,
        self-supervised regularizer that makes the encoder robust to missing
        or damaged values. Must be in [0, 1).

    dropout : float or "auto", default="auto"
        Dropout rate in the hidden layers during training (never at
        inference). "auto" is 0 (no dropout), except with
        ``likelihood="multinomial"``: 0.2, ProdLDA's, in the encoder's
        hidden layers and on the topic proportions the decoder reads. The
        rate used is ``dropout_`` after fit.

    n_importance_samples : int, default=1
        Importance samples in the training bound: 1 trains a VAE on the ELBO,
        k > 1 an IWAE on the importance-weighted bound (Burda et al., 2016),
        which fits a tighter likelihood at k times the decoder cost.

    trim_fraction : float, default=TRIM_DEFAULT
        Fraction of each mini-batch's worst-fitting rows (lowest ELBO) left
        out of the training loss: a trimmed-likelihood estimator that keeps
        outliers in contaminated training data from being learned as normal.
        0 uses every row (the textbook VAE, ``VAETransformer``'s default);
        ``VAEAnomalyDetector`` defaults to 0.2 (see the user guide, "How the
        defaults were chosen"). Must be in [0, 0.5).

    max_iter : int or "auto", default=MAX_ITER_DEFAULT
        Maximum number of epochs. "auto" is a budget of gradient steps
        rather than of epochs: as many epochs as make about 3000 mini-batch
        steps (at most 1000 epochs; a table of more than 6000 mini-batches
        trains one epoch of 3000 of them, a random part of its rows), so
        that a large table costs no more to fit than a small one and a small
        table is not stopped after a few hundred steps. The budget is then the stopping
        rule: ``tol`` and ``n_iter_no_change`` apply only with
        ``early_stopping``, and reaching the budget raises no
        ``ConvergenceWarning``. ``VAEAnomalyDetector``'s "auto" is its own,
        set for detection, where stopping short helps (on contaminated
        training data, longer training learns the anomalies too): 25
        epochs at four times ``learning_rate_init`` on a table of at most 12
        mini-batches (1536 rows at the default batch size), otherwise about
        300 steps at ten times ``learning_rate_init``, never more however
        many rows, the budget being the stopping rule there too (see the
        user guide, "How the defaults were chosen"). With
        ``likelihood="multinomial"`` (a topic model), "auto" is 20 epochs at
        ten times ``learning_rate_init``, for every estimator: ProdLDA's high
        learning rate, at about the cost of a batch
        ``LatentDirichletAllocation``.

    batch_size : int or "auto", default=BATCH_DEFAULT
        Rows per mini-batch; "auto" is ``min(128, n_samples)``. The value
        used is ``batch_size_`` after fit. ``VAEImputer`` defaults to 32:
        more, smaller steps, which small tables with gaps need;
        ``VAEClassifier`` too, for its few labelled rows.

    learning_rate_init : float, default=LR_DEFAULT
        Learning rate of the Adam optimizer. ``VAEClassifier`` defaults to
        0.003 (with a batch size of 32): on a small table, a few epochs of
        larger, slower steps leave its classifier at chance.

    tol : float, default=1e-4
        Improvement, in nats per row, of the training loss (or of the
        validation loss with ``early_stopping``) below which an epoch counts
        as no improvement. Unused with ``max_iter="auto"`` (a budget that is
        its own stopping rule) unless ``early_stopping``.

    n_iter_no_change : int, default=10
        Epochs without improvement by ``tol`` after which training stops.
        Unused where ``tol`` is.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows, stop when their
        beta=1 ELBO stops improving and restore the best epoch's weights.

    validation_fraction : float, default=0.1
        Fraction of the rows held out with ``early_stopping``.

    shuffle : bool, default=True
        Shuffle the rows at every epoch.

    warm_start : bool, default=False
        Continue training the fitted model on the next call to ``fit``,
        keeping its input scaling, instead of starting afresh. With
        ``early_stopping``, each call restores the best epoch of that call
        only.

    n_mc_samples : int, default=MC_DEFAULT
        Importance samples used by ``score_samples`` (and by ``VAEImputer``
        to weigh the latent draws that fill a row). More samples give a
        tighter (higher) bound at proportional cost. ``VAETransformer``
        defaults to 16, for likelihood estimates; ``VAEAnomalyDetector`` to
        4, since a ranking needs fewer samples than a likelihood estimate and
        scoring cost grows with the number; ``VAEImputer`` to 100, since an
        imputation is a weighted mean over the draws rather than a ranking
        (user guide, "How the defaults were chosen"). Fixed at fit,
        like every setting that shapes the model's outputs: a change takes
        effect at the next fit.

    n_jobs : int or None, default=None
        Threads of torch's intra-op pool while this estimator trains or
        infers, for the calling thread only (torch's global setting is left
        as it was). None means 1 unless in a ``joblib.parallel_config``
        context, -1 means all cores, as in scikit-learn. One thread is the
        default because torch's threads wait for each other by spinning, so
        a fit with several threads stalls while other work keeps a core
        busy, and a small model gains nothing from them even on an idle
        machine (user guide, "Sharing a process"). Raise it
        for a wide model on an otherwise idle machine. In a ``fork()``-ed
        child process training is single-threaded whatever ``n_jobs`` says.

    device : {"cpu", "cuda", "auto"}, default="cpu"
        Where to train and infer; "auto" picks CUDA when available. The
        resolved device is ``device_``.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialization, shuffling, the training noise and the
        Monte Carlo noise of ``score_samples``. An int gives bit-identical
        fits, whatever other fits run at the same time in other threads:
        every draw comes from a ``torch.Generator`` of the fit's own. The
        caller's global random state (Python, NumPy, torch) is left
        untouched.

    verbose : int, default=0
        0 is silent, 1 shows a progress bar that advances every mini-batch,
        with the epoch, the loss and the time left, 2 prints a table row per
        epoch."""

# The parameters of the latent models beyond the textbook VAE, inserted
# before ``beta`` for the estimators that have them.
LATENT_MODEL_PARAMETERS = """
    prior : {"normal", "vamp"}, default="normal"
        Prior over the latent codes (of the top layer with
        ``n_top_components``). "normal" is N(0, I), the textbook VAE.
        "vamp" is the VampPrior (Tomczak & Welling, 2018): the mixture of
        the encoder's Gaussian posteriors at ``n_pseudo_inputs`` learned
        pseudo-inputs, a prior fitted to where the encoded rows actually
        lie. It tightens the bound (higher ``score``) and makes ``sample``
        draw codes like the training rows' (fewer samples from "holes" of
        the prior), at the cost of encoding the pseudo-inputs at every
        training step; the KL is then a Monte Carlo term and
        ``kl_per_component_`` is NaN (see the user guide, "Richer latent
        models").

    n_pseudo_inputs : int or "auto", default="auto"
        Pseudo-inputs of the VampPrior (used with ``prior="vamp"`` only):
        the number of mixture components. More give a more flexible prior
        at a proportional cost per step and per ``score_samples`` draw, and
        can overfit a small table. "auto" is one per 10 training rows of
        the first fit, at least 1 and at most 100: every training step
        encodes every pseudo-input, so 100 cost about what a batch of 100
        more rows would (Tomczak & Welling used 500 on MNIST). The number
        used is ``n_pseudo_inputs_``.

    n_flows : int, default=0
        Steps of an inverse autoregressive flow (Kingma et al., 2016) after
        the Gaussian encoder: a posterior of correlated, non-Gaussian shape,
        whose log-determinant enters the bound. Each step tightens the
        bound a little (it narrows the gap between the bound and the
        likelihood) for one more small network per step. 0 keeps the
        diagonal Gaussian posterior. ``transform`` then returns the flow
        applied to the Gaussian posterior's mean.

    n_top_components : int or None, default=None
        Dimension of a second, top latent layer z2 over the codes z1 (of
        dimension ``n_components``, what ``transform`` returns): the model
        becomes p(z2) p(z1 | z2) p(x | z1), with the posterior q(z2 | x)
        q(z1 | x, z2). The prior of z1 is then learned (a continuous
        mixture), with ``prior`` the prior of z2. None (default) is one
        latent layer. ``transform`` returns z1's posterior mean given z2's
        posterior mean.
"""

# The parameters of the regularizers of q(z | x), inserted after
# ``adversarial_weight`` for the estimators that have them.
POSTERIOR_REGULARIZER_PARAMETERS = """
    mmd_weight : float, default=0.0
        Weight of an MMD penalty (InfoVAE, Zhao et al.): the maximum mean
        discrepancy between the codes of the batch's rows (one posterior
        draw each) and as many draws from the prior, added to the loss. The
        KL term pulls each row's posterior towards the prior; this pulls
        their mixture, the aggregate posterior, towards it, so that prior
        draws (what ``sample`` decodes) land where the codes of real rows
        are. 0 leaves it out.

    tc_weight : float, default=0.0
        Weight of the total-correlation penalty of beta-TCVAE (Chen et al.,
        2018; ``tc_weight`` is their beta - 1): the KL from the aggregate
        posterior to the product of its marginals, estimated on each batch
        with the number of rows of the call (of the chunk, for
        ``partial_fit``) as the size of the training set.
        Turning it up makes the latent dimensions statistically independent
        over the data (disentangled features), at some cost to the
        likelihood. Needs a diagonal Gaussian posterior (``n_flows=0``, no
        ``n_top_components``). 0 leaves it out.

    consistency_weight : float, default=0.0
        Weight of consistency regularization (CR-VAE, Sinha & Dieng, 2021):
        the KL between the posterior of a row with a fifth of its cells
        masked (as ``corruption`` masks them) and the posterior of the row
        itself, added to the loss. Turning it up gives damaged or partly
        missing rows codes closer to those of their complete versions.
        Needs a diagonal Gaussian posterior (``n_flows=0``, no
        ``n_top_components``). 0 leaves it out.

    latent_adversarial_weight : float, default=0.0
        Weight of an adversary on the latent codes (Adversarial
        Autoencoder, Makhzani et al.): a discriminator network learns to
        tell prior draws from the codes of real rows, with its own
        optimizer in alternating steps, and the encoder learns to fool it.
        Like ``mmd_weight``, it pulls the aggregate posterior towards the
        prior. 0 builds no discriminator at all.
"""

# The ex-post density of ``sample``'s codes, inserted before ``corruption``
# for the estimators that have it.
SAMPLER_PARAMETERS = """
    n_sample_components : int, default=0
        Components of an ex-post density of the latent codes (Ghosh et al.,
        2020): after training, a Gaussian mixture with full covariances
        (``sklearn.mixture.GaussianMixture``, seeded by the fit) is fitted
        to the posterior means of the training rows, and ``sample`` draws
        its codes from it instead of the prior, so that they land where the
        codes of real rows are rather than in the prior's regions that no
        row occupies. Training is unchanged; the mixture is fitted after
        every ``fit`` and ``partial_fit`` (to the rows of that call, a
        random subsample of a large one), at the cost of one encoder pass
        over them. 0 draws from the prior.
"""

SHARED_ATTRIBUTES = """\
n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit. Defined only when `X` has feature
        names that are all strings.

    is_categorical_ : ndarray of bool of shape (`n_features_in_`,)
        Which columns are modelled as categorical.

    categories_ : list of ndarray
        The levels of each categorical column seen in fit, in column order
        (a pandas categorical's own order, else sorted). A categorical cell
        enters the model as the index of its level here.

    infrequent_categories_ : list of ndarray or None
        Per categorical column (as ``categories_``), the infrequent levels
        that share one output of the decoder (see ``min_frequency`` and
        ``max_categories``); None for a column without.

    mean_ : ndarray of shape (`n_features_in_`,)
        Per-feature mean used to standardize the input (zeros for the
        Bernoulli likelihood).

    scale_ : ndarray of shape (`n_features_in_`,)
        Per-feature standard deviation used to standardize the input (ones
        for the Bernoulli likelihood). Computed without overflow for values
        up to float64's range; a constant column is scaled by its absolute
        value (1 when it is all zeros).

    n_components_ : int
        Latent dimension of the fitted network.

    hidden_layer_sizes_ : tuple of int
        Encoder widths of the fitted network ("auto" resolved).

    likelihood_ : str
        Likelihood of the fitted network.

    dropout_ : float
        Dropout rate the network was trained with. Together with the three
        above, the architecture that inference and loading use: changing
        the corresponding parameters after fit affects only the next fit,
        and a warm start or ``partial_fit`` that would need a different
        architecture raises a ``ValueError`` naming the parameter.

    prior_ : str
        The prior of the fitted model.

    n_pseudo_inputs_ : int or None
        Pseudo-inputs of the fitted VampPrior ("auto" resolved), None with
        ``prior="normal"``.

    n_flows_ : int
        Flow steps of the fitted posterior.

    n_top_components_ : int or None
        Dimension of the fitted model's top latent layer, None for one
        layer. Together with the three above and the four before, the
        latent model and the network that a warm start or ``partial_fit``
        continues and cannot change.

    architecture_ : Architecture
        The resolved architecture as one frozen record (the four attributes
        above read from it, with the levels of each categorical column and
        whether the encoder reads a missing-cell mask); loading rebuilds the
        network from it.

    schema_ : TableSchema or None
        The column types, levels and dtypes of the table seen in fit (None
        for an array of numbers): how later tables are read and how outputs
        are given back in the user's types.

    n_mc_samples_ : int
        Importance samples per row of ``score_samples``, fixed at fit.

    noise_seed_ : int
        Seed of each row's Monte Carlo draws at inference, drawn at fit from
        ``random_state``.

    missing_patterns_ : tuple of ndarray
        The distinct patterns of missing cells of the training rows and
        their counts, over every training call (what
        ``sample(include_missing=True)`` draws from).

    batch_size_ : int
        Rows per mini-batch in the last training call.

    net_ : skorch.NeuralNet
        The trained skorch net; ``net_.module_`` is the torch module and
        ``net_.history`` skorch's history of the last training call.

    device_ : str
        The device the model lives on.

    n_iter_ : int
        Number of epochs run, summed over warm starts and ``partial_fit``
        calls.

    loss_curve_ : list of float
        Training loss (negative ELBO plus penalties, nats per row) per epoch,
        over every training call of the model.

    validation_scores_ : list of float or None
        Held-out beta=1 ELBO per epoch with ``early_stopping``, else None.

    best_validation_score_ : float or None
        Best of ``validation_scores_``, else None.

    discriminator_loss_curve_ : list of float or None
        Discriminator loss per epoch when ``adversarial_weight > 0``.

    kl_per_component_ : ndarray of shape (n_components,)
        Mean KL divergence of each latent dimension on the training data, in
        nats. Near-zero entries are collapsed dimensions. Computed on at most
        10 000 training rows (a random subsample of a larger table). NaN for
        a latent model whose KL does not split by dimension
        (``prior="vamp"``, ``n_flows``, ``n_top_components``): use
        ``component_activity_``.

    component_activity_ : ndarray of shape (n_components,)
        Variance over the training rows of each dimension's posterior mean
        (Burda et al.'s activity statistic), on the same rows as
        ``kl_per_component_``.

    n_active_components_ : int
        Number of dimensions whose activity exceeds 1e-2.

    column_likelihoods_ : ndarray of str of shape (n_features_in_,)
        The likelihood family of each column: "categorical", "gaussian",
        "bernoulli", "discrete" or "histogram" (see ``likelihood``)."""


def fill_doc(cls):
    """Insert the shared parameter and attribute sections into ``cls``."""
    defaults = inspect.signature(cls).parameters
    shared_parameters = SHARED_PARAMETERS
    for placeholder, name in [
        ("TRIM_DEFAULT", "trim_fraction"),
        ("MC_DEFAULT", "n_mc_samples"),
        ("HIDDEN_DEFAULT", "hidden_layer_sizes"),
        ("FREE_BITS_DEFAULT", "free_bits"),
        ("BATCH_DEFAULT", "batch_size"),
        ("MAX_ITER_DEFAULT", "max_iter"),
        ("LR_DEFAULT", "learning_rate_init"),
        ("MAX_CATEGORIES_DEFAULT", "max_categories"),
        ("LIKELIHOOD_DEFAULT", "likelihood"),
    ]:
        default = defaults[name].default
        shared_parameters = shared_parameters.replace(
            placeholder, f'"{default}"' if isinstance(default, str) else str(default)
        )
    if "prior" in defaults:
        anchor = "\n\n    beta : float"
        shared_parameters = shared_parameters.replace(
            anchor, "\n" + LATENT_MODEL_PARAMETERS + anchor[1:]
        )
    if "mmd_weight" in defaults:
        anchor = "\n\n    spectral_norm : bool"
        shared_parameters = shared_parameters.replace(
            anchor, "\n" + POSTERIOR_REGULARIZER_PARAMETERS + anchor[1:]
        )
    if "n_sample_components" in defaults:
        anchor = "\n\n    corruption : float"
        shared_parameters = shared_parameters.replace(
            anchor, "\n" + SAMPLER_PARAMETERS + anchor[1:]
        )
    cls.__doc__ = cls.__doc__.format(
        shared_parameters=shared_parameters, shared_attributes=SHARED_ATTRIBUTES
    )
    return cls
