"""One contender registry per task, behind one adapter protocol.

Every contender is made by ``make(task, name, seed, quick=False, **kw)``
and is an ``Adapter``: ``fit(X)`` then, by task,

- detectors: ``score(X)``, anomaly scores (higher = more anomalous, PyOD's
  orientation, whatever the estimator's own);
- imputers and featurizers: ``transform(X)``;
- synthesizers: ``sample(n_rows)``;
- classifiers: ``predict(X)``;

and ``info()``, a short string recorded in the result row (epochs run,
active latent dimensions). ``quick`` gives tiny training budgets for smoke
tests. Every peer runs with its default hyperparameters unless its name
says otherwise.

Usage::

    from benchmarks.harness.contenders import DETECTORS, make
    detector = make("detector", "IForest", seed=1).fit(X_train)
    scores = detector.score(X_test)
"""

import dataclasses
import functools
import random

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.ensemble import ExtraTreesRegressor, IsolationForest
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.neighbors import LocalOutlierFactor
from sklearn.neural_network import BernoulliRBM
from sklearn.svm import OneClassSVM

from skvae import VAEAnomalyDetector, VAEImputer, VAETransformer
from skvae._budget import Budget, StepBudget, TwoRegimeBudget

from .timing import timed

# Hyperparameters tried by "skvae-tuned" (a GridSearchCV without labels).
TUNING_GRID = {"beta": [0.5, 1.0, 2.0], "weight_decay": [0.0, 1e-3]}


class Adapter:
    """A fitted-on-demand estimator with the harness's method names."""

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X):
        self.estimator.fit(X)
        return self

    def score(self, X):
        return -self.estimator.score_samples(X)

    def transform(self, X):
        return self.estimator.transform(X)

    def predict(self, X):
        return self.estimator.predict(X)

    def info(self):
        est = self.estimator
        if isinstance(est, VAEImputer):
            return f"n_iter={est.n_iter_}"
        if isinstance(est, VAETransformer | VAEAnomalyDetector):
            return f"n_iter={est.n_iter_};active={est.n_active_components_}"
        return ""


class PyOD(Adapter):
    """A PyOD detector: ``decision_function`` is already anomalous-high."""

    def score(self, X):
        return self.estimator.decision_function(X)


class TunedSkvae(Adapter):
    """skvae tuned without labels: ``GridSearchCV`` over ``TUNING_GRID`` of a
    ``VAETransformer`` (``score`` = held-out log-likelihood bound), then a
    ``VAEAnomalyDetector`` with the best hyperparameters on all rows."""

    def __init__(self, seed, **params):
        self.seed, self.params = seed, params

    def fit(self, X):
        params = {"random_state": self.seed, **self.params}
        cv = KFold(3, shuffle=True, random_state=self.seed)
        kw = dict(cv=cv, refit=False, error_score=np.nan)
        search = GridSearchCV(VAETransformer(**params), TUNING_GRID, **kw).fit(X)
        self.best_params_ = search.best_params_
        self.estimator = VAEAnomalyDetector(**params, **self.best_params_).fit(X)
        return self

    def info(self):
        return ";".join(f"{k}={v}" for k, v in self.best_params_.items())


class SDV(Adapter):
    """An SDV single-table synthesizer (``metadata`` from the train part)."""

    def __init__(self, name, seed, quick, metadata):
        import sdv
        from sdv import single_table

        cls = getattr(single_table, f"{name}Synthesizer")
        kw = {"epochs": 2} if quick and name != "GaussianCopula" else {}
        self.seed, self.table = seed, next(iter(metadata.tables))
        self.sdv2 = int(sdv.__version__.split(".")[0]) >= 2
        self.estimator = cls(metadata, **kw)

    def fit(self, X):
        # SDV draws from the global generators: seed them all.
        random.seed(self.seed)
        np.random.seed(self.seed)  # noqa: NPY002
        torch.manual_seed(self.seed)
        # SDV 2 takes {table name: DataFrame}, SDV 1 the DataFrame.
        self.estimator.fit({self.table: X} if self.sdv2 else X)
        return self

    def sample(self, n_rows):
        sample = self.estimator.sample(num_rows=n_rows)
        return next(iter(sample.values())) if isinstance(sample, dict) else sample

    def info(self):
        epochs = getattr(self.estimator, "_model_kwargs", {}).get("epochs", "")
        return f"epochs={epochs}" if epochs != "" else ""


class SkvaeSynthesizer(Adapter):
    def __init__(self, seed, **params):
        self.seed = seed
        self.estimator = VAETransformer(random_state=seed, **params)

    def sample(self, n_rows):
        return self.estimator.sample(n_rows, random_state=self.seed)

    def info(self):
        return f"n_iter={self.estimator.n_iter_}"


def _skvae(quick):
    return {"max_iter": 5} if quick else {}


def _pyod(name, seed, quick, **kw):
    from pyod.models import auto_encoder, ecod, hbos, knn, vae

    module = {"VAE": vae, "AutoEncoder": auto_encoder, "ECOD": ecod}
    module |= {"KNN": knn, "HBOS": hbos}
    if name in ("VAE", "AutoEncoder"):
        kw |= {"random_state": seed, "verbose": 0, "device": "cpu"}
        kw |= {"epoch_num": 2} if quick else {}
    return PyOD(getattr(module[name], name)(**kw))


def _skvae_detector(seed, quick, **kw):
    return Adapter(VAEAnomalyDetector(random_state=seed, **_skvae(quick), **kw))


def with_budget(Estimator, policy):
    """``Estimator`` with ``policy`` as its ``max_iter="auto"`` budget (a
    subclass: the budget is a class attribute, see ``skvae._budget``)."""
    return type(Estimator.__name__, (Estimator,), {"_auto_budget": policy})


# The detector with one budget for every table (issue 36, item 2): about
# 300 steps at 10 times learning_rate_init, at most 100 epochs.
ONE_REGIME = StepBudget(steps=300, max_epochs=100, lr_factor=10.0)


@dataclasses.dataclass(frozen=True)
class ShortSmallBudget:
    """The detector's budget with its small-table regime set to about
    ``steps`` steps in at most 100 epochs, or to ``epochs`` epochs, at
    ``lr_factor`` times ``learning_rate_init``, with the ``tol`` rule if
    ``tol_rule``; large tables as the default."""

    steps: int | None = 300
    lr_factor: float = 1.0
    epochs: int | None = None
    tol_rule: bool = False

    def __call__(self, steps_per_epoch, learning_rate_init):
        default = TwoRegimeBudget()
        if steps_per_epoch > default.small_table_batches:
            return default(steps_per_epoch, learning_rate_init)
        learning_rate = self.lr_factor * learning_rate_init
        if self.epochs is not None:
            return Budget(self.epochs, learning_rate, self.tol_rule)
        budget = StepBudget(self.steps, 100, self.lr_factor)
        budget = budget(steps_per_epoch, learning_rate_init)
        return dataclasses.replace(budget, tol_rule=self.tol_rule)


# (steps, lr_factor) of the ShortSmallBudget variants.
SHORT_SMALL_BUDGETS = [(300, 1.0), (300, 2.0), (300, 3.0), (300, 5.0), (400, 3.0)]


def _short_small_detector(seed, quick, steps, lr_factor, epochs=None, tol_rule=False):
    budget = ShortSmallBudget(steps, lr_factor, epochs, tol_rule)
    return _budget_detector(seed, quick, budget)


def _budget_detector(seed, quick, policy):
    detector = with_budget(VAEAnomalyDetector, policy)
    return Adapter(detector(random_state=seed, **_skvae(quick)))


def _missforest(seed, quick, **kw):
    n_trees = 10 if quick else 100
    trees = ExtraTreesRegressor(n_estimators=n_trees, random_state=seed, n_jobs=1)
    return IterativeImputer(trees, random_state=seed, max_iter=3 if quick else 10, **kw)


def _rbm(seed, quick, n_components, n_iter=10):
    # scikit-learn's RBM example's learning rate.
    kw = dict(learning_rate=0.06, n_iter=n_iter, random_state=seed)
    return Adapter(BernoulliRBM(n_components, **kw))


# name -> factory(seed, quick, **kw) of an Adapter, one registry per task.
DETECTORS = {
    "skvae": _skvae_detector,
    # The default before trim_fraction=0.2: every training row in the loss.
    "skvae-notrim": lambda seed, quick: _skvae_detector(seed, quick, trim_fraction=0.0),
    "skvae-tuned": lambda seed, quick: TunedSkvae(seed, **_skvae(quick)),
    # The richer latent models as the detector's model (on request: see
    # LATENT_DETECTORS): does a better density rank anomalies better?
    "skvae-vamp": lambda seed, quick: _skvae_detector(seed, quick, prior="vamp"),
    "skvae-hierarchy": lambda seed, quick: _skvae_detector(
        seed, quick, n_top_components=8
    ),
    # Another training budget (on request: see BUDGET_DETECTORS).
    "skvae-one-regime": lambda seed, quick: _budget_detector(seed, quick, ONE_REGIME),
    **{
        f"skvae-small{steps}-lr{lr_factor:g}": functools.partial(
            _short_small_detector, steps=steps, lr_factor=lr_factor
        )
        for steps, lr_factor in SHORT_SMALL_BUDGETS
    },
    # The default small-table budget (25 epochs at 4e-3) and the one before
    # it (100 epochs at 1e-3 with the tol rule).
    "skvae-small-epochs25-lr4": functools.partial(
        _short_small_detector, steps=None, lr_factor=4.0, epochs=25
    ),
    "skvae-small-epochs100-lr1-tol": functools.partial(
        _short_small_detector, steps=None, lr_factor=1.0, epochs=100, tol_rule=True
    ),
    # PyOD 3's default capacity=0 clamps the KL term to 0: the default "VAE"
    # trains as an autoencoder with a noisy bottleneck.
    "pyod-VAE": lambda seed, quick: _pyod("VAE", seed, quick),
    # capacity=inf: the KL is never clipped, the textbook (beta=1) VAE.
    "pyod-VAE-KL": lambda seed, quick: _pyod("VAE", seed, quick, capacity=np.inf),
    "pyod-AutoEncoder": lambda seed, quick: _pyod("AutoEncoder", seed, quick),
    "ECOD": lambda seed, quick: _pyod("ECOD", seed, quick),
    "KNN": lambda seed, quick: _pyod("KNN", seed, quick),
    "HBOS": lambda seed, quick: _pyod("HBOS", seed, quick),
    "IForest": lambda seed, quick: Adapter(IsolationForest(random_state=seed)),
    "LOF": lambda seed, quick: Adapter(LocalOutlierFactor(novelty=True)),
    "OCSVM": lambda seed, quick: Adapter(OneClassSVM()),
}
# The detectors above that the anomaly and one-class studies run only when
# ``--contenders`` names them.
LATENT_DETECTORS = ("skvae-vamp", "skvae-hierarchy")
BUDGET_DETECTORS = tuple(
    d for d in DETECTORS if d.startswith(("skvae-one-", "skvae-small"))
)
IMPUTERS = {
    "mean": lambda seed, quick: Adapter(SimpleImputer()),
    "KNN": lambda seed, quick: Adapter(KNNImputer()),
    "iterative": lambda seed, quick, **kw: Adapter(
        IterativeImputer(random_state=seed, **kw)
    ),
    # missForest as an IterativeImputer of extra trees.
    "missForest": lambda seed, quick, **kw: Adapter(_missforest(seed, quick, **kw)),
    "skvae": lambda seed, quick, **kw: Adapter(
        VAEImputer(random_state=seed, **_skvae(quick), **kw)
    ),
}
SYNTHESIZERS = {
    "skvae": lambda seed, quick, metadata: SkvaeSynthesizer(seed, **_skvae(quick)),
    # The numeric likelihood before likelihood="auto" (a variant on request).
    "skvae-gaussian": lambda seed, quick, metadata: SkvaeSynthesizer(
        seed, likelihood="gaussian", **_skvae(quick)
    ),
    # The adversarial regularizer (variants on request).
    **{
        f"skvae-adversarial-{w}": lambda seed, quick, metadata, w=w: SkvaeSynthesizer(
            seed, adversarial_weight=w, **_skvae(quick)
        )
        for w in (0.1, 0.5)
    },
    # sample's codes from a Gaussian mixture fitted to the training codes
    # after training (the ex-post density; a variant on request).
    "skvae-ex-post-10": lambda seed, quick, metadata: SkvaeSynthesizer(
        seed, n_sample_components=10, **_skvae(quick)
    ),
    # VAETransformer's budget before max_iter="auto" (a variant on request).
    "skvae-200ep": lambda seed, quick, metadata: SkvaeSynthesizer(
        seed, max_iter=5 if quick else 200
    ),
    # The richer latent models (variants on request): sample draws from the
    # learned prior (VampPrior, or the two-level model's p(z1 | z2) p(z2)).
    "skvae-vamp": lambda seed, quick, metadata: SkvaeSynthesizer(
        seed, prior="vamp", **_skvae(quick)
    ),
    "skvae-hierarchy": lambda seed, quick, metadata: SkvaeSynthesizer(
        seed, n_top_components=8, **_skvae(quick)
    ),
    "skvae-flow": lambda seed, quick, metadata: SkvaeSynthesizer(
        seed, n_flows=2, **_skvae(quick)
    ),
    **{
        name: lambda seed, quick, metadata, name=name: SDV(name, seed, quick, metadata)
        for name in ("GaussianCopula", "TVAE", "CTGAN")
    },
}
FEATURIZERS = {
    "VAE": lambda seed, quick, n_components, **kw: Adapter(
        VAETransformer(n_components, random_state=seed, **_skvae(quick), **kw)
    ),
    "PCA": lambda seed, quick, n_components: Adapter(
        PCA(n_components, random_state=seed)
    ),
    "BernoulliRBM": _rbm,
}
CLASSIFIERS = {
    "LogisticRegression": lambda seed, quick, **kw: Adapter(
        LogisticRegression(**{"max_iter": 1000, **kw})
    )
}
REGISTRIES = {
    "detector": DETECTORS,
    "imputer": IMPUTERS,
    "synthesizer": SYNTHESIZERS,
    "featurizer": FEATURIZERS,
    "classifier": CLASSIFIERS,
}


def make(task, name, seed, quick=False, **kw):
    """A fresh contender ``name`` of the ``task`` registry."""
    registry = REGISTRIES[task]
    if name not in registry:
        raise ValueError(f"Unknown {task} {name!r}; choose from {list(registry)}.")
    return registry[name](seed, quick, **kw)


DETECTOR_FIELDS = (
    "dataset seed detector roc_auc average_precision fit_time score_time "
    "n_train n_test n_features info command"
).split()


def detect(detector, X_train, X_test, y_test):
    """Fit a detector on ``X_train``, score ``X_test``: ROC-AUC, average
    precision, fit and score seconds (this process), its info and the sizes
    (a row of ``DETECTOR_FIELDS``)."""
    _, fit_time = timed(detector.fit, X_train)
    scores, score_time = timed(detector.score, X_test)
    if not np.all(np.isfinite(scores)):
        raise ValueError(f"{np.sum(~np.isfinite(scores))} non-finite scores")
    return {
        "roc_auc": roc_auc_score(y_test, scores),
        "average_precision": average_precision_score(y_test, scores),
        "fit_time": fit_time,
        "score_time": score_time,
        "info": detector.info(),
        "n_train": len(X_train),
        "n_test": len(X_test),
        "n_features": X_train.shape[1],
    }
