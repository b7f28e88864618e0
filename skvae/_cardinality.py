"""Categorical columns with nearly one level per row: identifiers.

A categorical column whose levels are about as many as the training rows
(a customer id, a timestamp read as text) is an identifier rather than a
category: its likelihood term learns nothing that carries to new rows, and
its decoder output grows with the number of rows. The estimators warn at
fit, naming the column, where the levels are learned (``skvae._tables``).
"""

import warnings
from collections.abc import Sequence

import numpy as np

# A column is flagged when its levels number at least this fraction of the
# rows: on average two rows or fewer per level.
IDENTIFIER_FRACTION = 0.5
# ... and it has at least this many levels: on a small table a few
# distinct values per row say nothing about identifiers, and cost nothing.
MIN_IDENTIFIER_LEVELS = 20


def identifier_columns(
    n_levels: Sequence[int],
    n_rows: int,
    *,
    fraction: float = IDENTIFIER_FRACTION,
    min_levels: int = MIN_IDENTIFIER_LEVELS,
) -> np.ndarray:
    """Indices of the categorical columns that look like identifiers.

    Parameters
    ----------
    n_levels : sequence of int
        Levels per column, 0 for a numeric column (``TableSchema.n_levels``).
    n_rows : int
        Number of rows the levels were learned from.
    fraction : float, default=0.5
        A column is flagged when it has at least ``fraction * n_rows``
        levels, i.e. ``1 / fraction`` rows per level or fewer on average.
    min_levels : int, default=20
        Columns with fewer levels are never flagged.

    Returns
    -------
    columns : ndarray of int
        Indices of the flagged columns, in increasing order.
    """
    n_levels = np.asarray(n_levels, dtype=np.int64)
    flagged = (n_levels >= min_levels) & (n_levels >= fraction * n_rows)
    return np.flatnonzero(flagged)


def warn_identifier_columns(
    n_levels: Sequence[int],
    n_rows: int,
    feature_names: Sequence[str] | None = None,
    stacklevel: int = 2,
) -> np.ndarray:
    """Warn (``UserWarning``) naming each column that
    :func:`identifier_columns` flags; return their indices."""
    columns = identifier_columns(n_levels, n_rows)
    for j in columns:
        name = repr(str(feature_names[j])) if feature_names is not None else j
        warnings.warn(
            f"Categorical column {name} has {n_levels[j]} levels for {n_rows} "
            "rows: nearly one per row, like an identifier. Its levels are "
            "too rare to learn from, and each costs the decoder an output; "
            "drop the column if it identifies rows.",
            UserWarning,
            stacklevel=stacklevel,
        )
    return columns
