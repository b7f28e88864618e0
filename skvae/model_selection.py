"""Hyperparameter search whose fits train together as stacked models."""

import time
import traceback
import warnings
from numbers import Integral

import numpy as np
from sklearn.base import _fit_context, clone, is_classifier
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import check_scoring
from sklearn.model_selection import ParameterGrid, check_cv
from sklearn.model_selection._search import BaseSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, indexable
from sklearn.utils._param_validation import Interval

from skvae._base import BaseVAE, train_prepared
from skvae._runtime import torch_settings
from skvae._stacked import stack_key, train_stack

# Parameters whose values members of one stack may differ in: what the loss
# weighs and the seed. Every other parameter is the same in a stack.
STACKED_PARAMS = ("beta", "weight_decay", "l1_penalty", "random_state")


class StackedGridSearchCV(BaseSearchCV):
    """Grid search with cross-validation, its fits trained as one stacked model.

    An exhaustive search over a grid of parameters of a skvae estimator. It
    behaves as :class:`~sklearn.model_selection.GridSearchCV` (same
    ``cv_results_``, ``best_params_``, ``best_estimator_``, ``refit``,
    delegated ``predict``, ``transform``, ``score_samples``...) for one
    scoring metric, and trains differently: the fits of every candidate and
    every cross-validation split that share an architecture and a training
    budget, differing only in ``beta``, ``weight_decay``, ``l1_penalty``,
    ``random_state`` and their rows, are trained at once, their parameters
    stacked along a member dimension (one batched forward and backward pass
    and one Adam update per step for all). Each member keeps its own rows,
    standardization, initial weights, batch order, latent noise and
    stopping rule; it is the fit that ``GridSearchCV`` would make of it up
    to floating-point rounding (see Notes).

    Parameters
    ----------
    estimator : estimator object
        The estimator to tune: a skvae estimator, or a
        :class:`~sklearn.pipeline.Pipeline` with one skvae step (its other
        steps fitted per split as ``Pipeline.fit`` fits them), trains
        stacked; any other one is fitted one fit at a time, as
        ``GridSearchCV`` would.
    param_grid : dict or list of dict
        The grid, as ``GridSearchCV``'s.
    scoring : str, callable or None, default=None
        One scoring metric, as ``GridSearchCV``'s (a list or dict of several
        is not supported); None uses the estimator's ``score``.
    n_jobs : int, default=None
        Threads of the stacked training, as the estimators' ``n_jobs``
        (None is one, -1 every core); the fits run in this process.
    refit : bool or callable, default=True
        Refit the best candidate on the whole data, as ``GridSearchCV``'s.
    cv : int, cross-validation generator or iterable, default=None
        The splits, as ``GridSearchCV``'s (None is 5-fold).
    verbose : int, default=0
        Print the number of fits and stacks.
    error_score : 'raise' or float, default=np.nan
        The score of a fit that fails (or diverges in a stack), or raise.
    return_train_score : bool, default=False
        Whether ``cv_results_`` includes training scores.
    max_stack_size : int, default=64
        Most fits trained at once: memory grows with it (each member's
        training rows, weights and Adam state), and larger groups of
        stackable fits are trained in stacks of at most this many.

    Attributes
    ----------
    cv_results_ : dict of numpy (masked) ndarrays
        As ``GridSearchCV``'s; a stacked fit's ``fit_time`` is its own
        preparation and post-fit time plus its share of its stack's.
    best_estimator_ : estimator
        The best candidate refitted on the whole data (a plain ``fit``).
    best_score_ : float
        Mean cross-validated score of the best candidate.
    best_params_ : dict
        Parameters of the best candidate.
    best_index_ : int
        Index of the best candidate in ``cv_results_``.
    scorer_ : callable
        The scorer used.
    n_splits_ : int
        Number of cross-validation splits.
    refit_time_ : float
        Seconds to refit the best candidate.
    multimetric_ : bool
        False: one metric.
    n_stacks_ : int
        Number of stacked trainings run (fits that train alone not counted).
    n_stacked_fits_ : int
        Number of fits trained in stacks.

    See Also
    --------
    sklearn.model_selection.GridSearchCV : The same search, one fit at a time.

    Notes
    -----
    Fits that train alone, one at a time: those whose training draws more
    than each batch's latent noise (``dropout``, ``corruption``, an
    adversary, ``mmd_weight``, ``tc_weight``, ``consistency_weight``), and
    those with importance-weighted training, labels (``VAEClassifier``),
    sparse rows, the topic model or ``verbose``. ``early_stopping`` and the
    ``tol`` rule stop each member on its own. A stacked member's draws
    (initial weights, batch order, latent noise) are those of its fit
    alone, in the same order; its arithmetic is batched, so its weights
    differ from the separate fit's by floating-point rounding, which
    training can amplify over many steps.

    Examples
    --------
    >>> import numpy as np
    >>> from skvae import VAEAnomalyDetector
    >>> from skvae.model_selection import StackedGridSearchCV
    >>> X = np.random.RandomState(0).normal(size=(200, 4))
    >>> search = StackedGridSearchCV(
    ...     VAEAnomalyDetector(max_iter=5, random_state=0),
    ...     {"beta": [0.5, 1.0], "weight_decay": [0.0, 1e-3]}, cv=3,
    ... ).fit(X)
    >>> sorted(search.best_params_)
    ['beta', 'weight_decay']
    """

    _parameter_constraints: dict = {
        **{
            key: value
            for key, value in BaseSearchCV._parameter_constraints.items()
            if key != "pre_dispatch"
        },
        "scoring": [str, callable, None],
        "refit": ["boolean", callable],
        "param_grid": [dict, list],
        "max_stack_size": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        estimator,
        param_grid,
        *,
        scoring=None,
        n_jobs=None,
        refit=True,
        cv=None,
        verbose=0,
        error_score=np.nan,
        return_train_score=False,
        max_stack_size=64,
    ):
        super().__init__(
            estimator=estimator,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.param_grid = param_grid
        self.max_stack_size = max_stack_size

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit every candidate on every split, stacked, and refit the best.

        Fits that cannot share a stack (see Notes of the class) train one at
        a time.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,), default=None
            Passed to the splitter, the scorer (for example anomaly labels
            for a scorer of ``score_samples``) and the estimator's ``fit``
            (which the unsupervised estimators ignore; a pipeline's
            classifier or ``VAEClassifier`` learn from it).

        Returns
        -------
        self : StackedGridSearchCV
            The fitted search.
        """
        scorer = check_scoring(self.estimator, self.scoring)
        X, y = indexable(X, y)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        splits = list(cv.split(X, y))
        self.n_splits_ = len(splits)
        candidates = list(ParameterGrid(self.param_grid))
        if not candidates or not splits:
            raise ValueError(
                "No fits were performed: the parameter grid or the "
                "cross-validation splits are empty."
            )
        if self.verbose > 0:
            print(
                f"Fitting {self.n_splits_} folds for each of {len(candidates)} "
                f"candidates, totalling {len(candidates) * self.n_splits_} fits"
            )
        out = self._evaluate(X, y, candidates, splits, scorer)
        n_failed = sum(result["fit_error"] is not None for result in out)
        if n_failed == len(out):
            raise ValueError(
                f"All the {len(out)} fits failed; the first error:\n"
                f"{out[0]['fit_error']}"
            )
        if n_failed:
            warnings.warn(
                f"{n_failed} fits failed out of a total of {len(out)}; their "
                f"score is error_score={self.error_score}. The first error:\n"
                f"{next(r['fit_error'] for r in out if r['fit_error'])}",
                FitFailedWarning,
                stacklevel=2,
            )
        results = self._format_results(candidates, self.n_splits_, out)
        self.multimetric_ = False
        self.best_index_ = self._select_best_index(self.refit, "score", results)
        if not callable(self.refit):
            self.best_score_ = results["mean_test_score"][self.best_index_]
        self.best_params_ = results["params"][self.best_index_]
        if self.refit:
            self.best_estimator_ = clone(self.estimator).set_params(
                **clone(self.best_params_, safe=False)
            )
            start = time.perf_counter()
            if y is None:
                self.best_estimator_.fit(X)
            else:
                self.best_estimator_.fit(X, y)
            self.refit_time_ = time.perf_counter() - start
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
        self.scorer_ = scorer
        self.cv_results_ = results
        return self

    def _evaluate(self, X, y, candidates, splits, scorer):
        """Per fit, in ``GridSearchCV``'s order (candidates, then splits),
        the result dict that ``_format_results`` reads."""
        fits = [
            (c, s, clone(self.estimator).set_params(**clone(params, safe=False)))
            for c, params in enumerate(candidates)
            for s in range(len(splits))
        ]
        # Fits that may share a stack next to each other, then in chunks of
        # at most max_stack_size prepared at a time.
        order = sorted(range(len(fits)), key=lambda i: _unstacked_params(fits[i][2]))
        out = [None] * len(fits)
        self.n_stacks_ = self.n_stacked_fits_ = 0
        for start in range(0, len(order), self.max_stack_size):
            indices = order[start : start + self.max_stack_size]
            chunk = [fits[i] for i in indices]
            results = self._evaluate_chunk(X, y, chunk, splits, scorer)
            for i, result in zip(indices, results, strict=True):
                out[i] = result
                fits[i] = None  # the fitted model, released once scored
        return out

    def _evaluate_chunk(self, X, y, chunk, splits, scorer):
        """Fit and score the fits of ``chunk``, stacking those that can be."""
        members, results = [], []
        for _, s, estimator in chunk:
            train_rows, test_rows = splits[s]
            member = _Member(estimator, X, y, train_rows, test_rows)
            results.append(member.result)
            members.append(member)
            if member.steps is None:
                member.run(member.fit_alone)
            else:
                member.run(member.begin)
        pending = [m for m in members if m.prepared is not None]
        groups = []  # [key, [members]]
        for member in pending:
            key = stack_key(member.prepared)
            group = next((g for g in groups if key is not None and g[0] == key), None)
            if group is None:
                groups.append([key, [member]])
            else:
                group[1].append(member)
        for key, group in groups:
            if key is None or len(group) == 1:
                for member in group:
                    member.run(member.train_alone)
                continue
            self._train_stacked(group)
        for member in members:
            member.run(member.score, scorer, self.return_train_score)
            if member.result["fit_error"] is not None:
                if self.error_score == "raise":
                    raise member.error
                member.fail(self.error_score, self.return_train_score)
        return results

    def _train_stacked(self, group):
        start = time.perf_counter()
        with torch_settings(self.n_jobs, training=True):
            outcomes = train_stack([m.net for m in group], [m.prepared for m in group])
        share = (time.perf_counter() - start) / len(group)
        self.n_stacks_ += 1
        self.n_stacked_fits_ += len(group)
        for member, outcome in zip(group, outcomes, strict=True):
            member.result["fit_time"] += share
            if isinstance(outcome, Exception):
                member.error = outcome
                member.result["fit_error"] = _format_error(outcome)
            else:
                member.run(member.end, outcome)


def _unstacked_params(estimator):
    """A sort key that puts fits that may share a stack side by side: the
    estimator's parameters (its steps' too) other than ``STACKED_PARAMS``."""
    params = estimator.get_params(deep=True)
    return repr(
        sorted(
            (key, repr(value))
            for key, value in params.items()
            if key.rsplit("__", 1)[-1] not in STACKED_PARAMS
            and not hasattr(value, "get_params")
        )
    )


def _format_error(error):
    return "".join(traceback.format_exception(error))


def _vae_steps(estimator):
    """``(before, vae, after)``: the skvae estimator that ``estimator`` is
    or holds, as the one skvae step of a pipeline without ``memory``, and
    the steps before and after it; None when it neither is nor holds one
    (such an estimator is fitted with its own ``fit``)."""
    if isinstance(estimator, BaseVAE):
        return [], estimator, []
    if isinstance(estimator, Pipeline) and estimator.memory is None:
        steps = [
            step for _, step in estimator.steps if step not in (None, "passthrough")
        ]
        found = [i for i, step in enumerate(steps) if isinstance(step, BaseVAE)]
        if len(found) == 1:
            i = found[0]
            return steps[:i], steps[i], steps[i + 1 :]
    return None


class _Member:
    """One fit of the search: a candidate on a split, and its result.

    The fit of a skvae estimator (or of a pipeline around one, its steps
    fitted in place as ``Pipeline.fit`` fits them) is split at training:
    :meth:`begin` up to it, :meth:`train_alone` or a stack trains, and
    :meth:`end` after it.
    """

    def __init__(self, estimator, X, y, train_rows, test_rows):
        self.estimator = estimator
        self.steps = _vae_steps(estimator)
        self.X_train = _safe_indexing(X, train_rows)
        self.X_test = _safe_indexing(X, test_rows)
        self.y_train = None if y is None else _safe_indexing(y, train_rows)
        self.y_test = None if y is None else _safe_indexing(y, test_rows)
        self.prepared = self.net = self.error = self.X_vae = None
        self.result = {
            "fit_time": 0.0,
            "score_time": 0.0,
            "n_test_samples": len(test_rows),
            "fit_error": None,
            "test_scores": np.nan,
        }

    def run(self, step, *args):
        """Run ``step`` unless the fit failed already; its time counts as
        fit time (scoring's as score time) and its error as the fit's."""
        if self.result["fit_error"] is not None:
            return
        start = time.perf_counter()
        try:
            step(*args)
        except Exception as error:  # the search records it, as GridSearchCV
            self.error = error
            self.result["fit_error"] = _format_error(error)
            self.prepared = self.net = None
        finally:
            key = "score_time" if step.__name__ == "score" else "fit_time"
            self.result[key] += time.perf_counter() - start

    def fit_alone(self):
        if self.y_train is None:
            self.estimator.fit(self.X_train)
        else:
            self.estimator.fit(self.X_train, self.y_train)

    def begin(self):
        before, vae, _ = self.steps
        X = self.X_train
        for step in before:
            X = step.fit_transform(X, self.y_train)
        self.X_vae = X
        self.prepared, self.net = vae._begin_fit(X, self.y_train)

    def train_alone(self):
        with torch_settings(self.steps[1].n_jobs, training=True):
            outcome = train_prepared(self.net, self.prepared, continuing=False)
        self.end(outcome)

    def end(self, outcome):
        _, vae, after = self.steps
        vae._end_fit(self.prepared, self.net, outcome)
        self.prepared = self.net = None  # the training tensors, released
        if after:
            X = vae.transform(self.X_vae)
            for step in after[:-1]:
                X = step.fit_transform(X, self.y_train)
            after[-1].fit(X, self.y_train)
        self.X_vae = None

    def score(self, scorer, train_score):
        self.result["test_scores"] = _score(
            scorer, self.estimator, self.X_test, self.y_test
        )
        if train_score:
            self.result["train_scores"] = _score(
                scorer, self.estimator, self.X_train, self.y_train
            )

    def fail(self, error_score, train_score):
        self.result["test_scores"] = error_score
        if train_score:
            self.result["train_scores"] = error_score


def _score(scorer, estimator, X, y):
    return scorer(estimator, X) if y is None else scorer(estimator, X, y)
