"""Training budgets: how long a fit trains, at which learning rate, and
whether ``tol`` may stop it sooner.

An integer ``max_iter`` is a number of epochs at ``learning_rate_init`` with
the ``tol`` rule, for every estimator. ``max_iter="auto"`` is a policy of
the estimator class (its ``_auto_budget`` attribute, replaced by
subclassing) that maps the number of mini-batches per epoch to a
:class:`Budget`.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    """A resolved training budget.

    Attributes
    ----------
    max_epochs : int
        Most epochs to train.
    learning_rate : float
        Learning rate of the optimizer.
    tol_rule : bool
        Whether ``tol`` and ``n_iter_no_change`` may stop training sooner
        (always with ``early_stopping``).
    warns_when_spent : bool
        Whether running every epoch without the ``tol`` rule stopping
        training raises a ``ConvergenceWarning``, as ``MLPRegressor`` does
        for its ``max_iter``; not for a budget that is itself the stopping
        rule.
    max_steps_per_epoch : int or None
        At most this many mini-batches per epoch (a random part of the rows
        when shuffling): a budget smaller than half a pass over a large
        table trains that many steps, not a whole epoch, so that the cost of
        a fit stops growing with the rows. None: whole epochs.
    """

    max_epochs: int
    learning_rate: float
    tol_rule: bool
    warns_when_spent: bool = False
    max_steps_per_epoch: int | None = None


@dataclass(frozen=True)
class StepBudget:
    """About ``steps`` gradient steps, in at most ``max_epochs`` epochs (a
    table of a few rows would otherwise run thousands of one-step epochs),
    at ``lr_factor`` times ``learning_rate_init``; a table of more than
    ``steps`` mini-batches trains one epoch of ``steps`` of them."""

    steps: int = 3000
    max_epochs: int = 1000
    lr_factor: float = 1.0

    def __call__(self, steps_per_epoch: int, learning_rate_init: float) -> Budget:
        learning_rate = self.lr_factor * learning_rate_init
        if steps_per_epoch > self.steps:  # more than the budget in one pass
            return Budget(1, learning_rate, False, max_steps_per_epoch=self.steps)
        epochs = round(self.steps / steps_per_epoch)
        return Budget(min(self.max_epochs, epochs), learning_rate, False)


@dataclass(frozen=True)
class TwoRegimeBudget:
    """Outlier detection's budget: stop short, the budget being the
    stopping rule.

    On contaminated data a model trained long learns the anomalies too. A
    table of at most ``small_table_batches`` mini-batches per epoch trains
    ``small_table_epochs`` epochs at ``small_table_lr_factor`` times
    ``learning_rate_init``; a larger one about ``large_table_steps``
    gradient steps at ``large_table_lr_factor`` times
    ``learning_rate_init``.
    """

    small_table_batches: int = 12
    small_table_epochs: int = 25
    small_table_lr_factor: float = 4.0
    large_table_steps: int = 300
    large_table_lr_factor: float = 10.0

    def __call__(self, steps_per_epoch: int, learning_rate_init: float) -> Budget:
        if steps_per_epoch <= self.small_table_batches:
            learning_rate = self.small_table_lr_factor * learning_rate_init
            return Budget(self.small_table_epochs, learning_rate, False)
        learning_rate = self.large_table_lr_factor * learning_rate_init
        if steps_per_epoch > self.large_table_steps:  # more than the budget
            steps = self.large_table_steps
            return Budget(1, learning_rate, False, max_steps_per_epoch=steps)
        epochs = round(self.large_table_steps / steps_per_epoch)
        return Budget(epochs, learning_rate, False)


@dataclass(frozen=True)
class EpochBudget:
    """A topic model's budget (``likelihood="multinomial"``, whatever the
    estimator): ``epochs`` passes over the documents at ``lr_factor`` times
    ``learning_rate_init``, the budget being the stopping rule. ProdLDA
    trains with Adam at a high learning rate; a fixed number of passes costs
    what a batch ``LatentDirichletAllocation`` of as many iterations does,
    in proportion to the corpus."""

    epochs: int = 20
    lr_factor: float = 10.0

    def __call__(self, steps_per_epoch: int, learning_rate_init: float) -> Budget:
        return Budget(self.epochs, self.lr_factor * learning_rate_init, False)


def resolve_budget(
    max_iter, learning_rate_init: float, steps_per_epoch: int, policy, *, partial=False
) -> Budget:
    """The budget of a fit with ``steps_per_epoch`` mini-batches per epoch.

    ``partial=True`` (``partial_fit``) is one epoch at ``learning_rate_init``
    whatever the chunk's size: a budget is for a whole fit. An integer
    ``max_iter`` is that many epochs with the ``tol`` rule; "auto" is what
    ``policy`` says.
    """
    if partial:
        return Budget(1, learning_rate_init, True)
    if max_iter != "auto":
        return Budget(max_iter, learning_rate_init, True, warns_when_spent=True)
    return policy(steps_per_epoch, learning_rate_init)
