"""The likelihood family of each numeric column: ``likelihood="auto"`` and
dicts of column -> family.

A "discrete" column is modelled over the values it took in fit, a
"histogram" column over its frequent values (point masses) and quantile
intervals of the rest (see ``skvae._torch.levels``); "gaussian" and
"bernoulli" columns share the numeric likelihood of the network.
:func:`auto_family` is the rule that ``"auto"`` applies.
"""

from numbers import Integral

import numpy as np
from scipy import stats

# The families a dict may name; "auto" chooses among the first three.
FAMILIES = ("gaussian", "discrete", "histogram")
LEVELED = ("discrete", "histogram")

# "auto": discrete when a column takes at most MAX_DISCRETE_VALUES values,
# each held by ROWS_PER_DISCRETE_VALUE rows on average.
MAX_DISCRETE_VALUES = 64
ROWS_PER_DISCRETE_VALUE = 10
# A histogram's point masses: values held by at least POINT_MASS_SHARE of
# the observed cells and MIN_POINT_MASS_ROWS rows, at most MAX_POINT_MASSES.
POINT_MASS_SHARE = 0.01
MIN_POINT_MASS_ROWS = 5
MAX_POINT_MASSES = 32
# "auto": a column without point masses is Gaussian unless its skewness
# is beyond this in size.
MAX_GAUSSIAN_SKEW = 1.0
# A histogram's intervals: one per ROWS_PER_INTERVAL other cells, at most
# MAX_INTERVALS, cut at quantiles.
MAX_INTERVALS = 32
ROWS_PER_INTERVAL = 20


def numeric_likelihood(likelihood):
    """The network's likelihood of the numeric columns not modelled over
    levels: ``likelihood`` itself, or "gaussian" for "auto" and dicts."""
    if isinstance(likelihood, str) and likelihood != "auto":
        return likelihood
    return "gaussian"


def column_families(X, likelihood, is_categorical, feature_names=None, table=True):
    """The family of each column of the encoded training rows ``X``:
    "categorical" for a categorical column, else what ``likelihood`` gives
    it (a name of ``LIKELIHOODS``, "auto", or a dict of column -> family
    whose other columns get "auto"'s choice).

    "auto" chooses by :func:`auto_family` for the columns of a DataFrame
    (``table``), and "gaussian" for those of an array: a matrix of numbers
    (pixels, sensor readings) is modelled as it always was, a table's
    columns as what they hold.
    """
    n_features = X.shape[1]
    chosen = {}
    if isinstance(likelihood, dict):
        chosen = _resolve_dict(likelihood, is_categorical, feature_names, n_features)
    families = []
    for j in range(n_features):
        if is_categorical[j]:
            families.append("categorical")
        elif j in chosen:
            families.append(chosen[j])
        elif isinstance(likelihood, str) and likelihood != "auto":
            families.append(likelihood)
        else:
            families.append(auto_family(X[:, j]) if table else "gaussian")
    return families


def auto_family(values):
    """The family that ``likelihood="auto"`` gives a numeric column of
    ``values`` (NaN where missing): "discrete" for a column of few values
    that repeat; "histogram" for a column with a point mass (a value held
    by ``POINT_MASS_SHARE`` of the cells) or a skewed one (sample skewness
    beyond ``MAX_GAUSSIAN_SKEW`` in size); "gaussian" otherwise, and for a
    column without an observed cell."""
    observed = values[~np.isnan(values)]
    if not observed.size:
        return "gaussian"
    distinct, counts = np.unique(observed, return_counts=True)
    if (
        distinct.size <= MAX_DISCRETE_VALUES
        and observed.size >= ROWS_PER_DISCRETE_VALUE * distinct.size
    ):
        return "discrete"
    if _point_masses(counts, observed.size).any():
        return "histogram"
    with np.errstate(all="ignore"):
        skewness = stats.skew(observed)
    if np.isfinite(skewness) and abs(skewness) > MAX_GAUSSIAN_SKEW:
        return "histogram"
    return "gaussian"


def _point_masses(counts, n_observed):
    """Which values, held by ``counts`` cells each, are point masses."""
    return (counts >= MIN_POINT_MASS_ROWS) & (counts >= POINT_MASS_SHARE * n_observed)


def level_spec(values, family):
    """``(points, edges, scale, center, counts)`` of a numeric column of
    ``values`` (NaN where missing) of a family over levels: its point
    masses, the edges of its intervals (see
    ``skvae._torch.levels.NumericLevels``), its standard deviation and mean
    (which standardize its value as the encoder reads it, and its
    reconstruction error), and the training cells of each level (where the
    ordinal cut-points start)."""
    observed = values[~np.isnan(values)]
    center = float(observed.mean()) if observed.size else 0.0
    scale = float(observed.std()) if observed.size else 1.0
    scale = scale if scale > 0 else 1.0
    distinct, counts = np.unique(observed, return_counts=True)
    if family == "discrete":
        counts = _counts(observed, distinct, ())
        return tuple(distinct.tolist()), (), scale, center, counts
    frequent = _point_masses(counts, observed.size)
    if frequent.sum() > MAX_POINT_MASSES:
        keep = np.argsort(-counts, kind="stable")[:MAX_POINT_MASSES]
        frequent = np.zeros_like(frequent)
        frequent[keep] = True
    points = distinct[frequent]
    rest = observed[~np.isin(observed, points)]
    if not rest.size:
        counts = _counts(observed, points, ())
        return tuple(points.tolist()), (), scale, center, counts
    n_intervals = int(np.clip(rest.size // ROWS_PER_INTERVAL, 1, MAX_INTERVALS))
    edges = np.unique(np.quantile(rest, np.linspace(0, 1, n_intervals + 1)))
    if edges.size < 2:
        # The other cells hold one value: a point mass of its own.
        points, edges = np.sort(np.r_[points, edges]), np.array([])
    counts = _counts(observed, points, edges)
    return tuple(points.tolist()), tuple(edges.tolist()), scale, center, counts


def _counts(observed, points, edges):
    """Training cells per level (point masses, then intervals), as ints."""
    on_point = np.isin(observed, points)
    at = np.searchsorted(points, observed[on_point])
    counts = np.bincount(at, minlength=len(points)).tolist()
    if len(edges):
        rest = observed[~on_point]
        interval = np.searchsorted(edges, rest, side="right") - 1
        interval = np.clip(interval, 0, len(edges) - 2)
        counts += np.bincount(interval, minlength=len(edges) - 1).tolist()
    return tuple(int(c) for c in counts)


def _resolve_dict(likelihood, is_categorical, feature_names, n_features):
    """A ``likelihood`` dict as {column index: family}, with errors that name
    the key at fault."""
    names = list(feature_names) if feature_names is not None else []
    out = {}
    for key, family in likelihood.items():
        if isinstance(key, Integral) and not isinstance(key, bool):
            if not 0 <= key < n_features:
                raise ValueError(
                    f"likelihood names column {key}, but X has n_features={n_features}."
                )
            j = int(key)
        elif key in names:
            j = names.index(key)
        else:
            raise ValueError(
                f"likelihood names column {key!r}, which is not a column of X"
                + (f" (columns: {names[:10]})." if names else " (no column names).")
            )
        if family not in FAMILIES:
            raise ValueError(
                f"likelihood[{key!r}] must be one of {list(FAMILIES)}, got {family!r}."
            )
        if is_categorical[j]:
            raise ValueError(
                f"likelihood[{key!r}]={family!r}, but column {key!r} is "
                "categorical and has the categorical likelihood; see "
                "categorical_features."
            )
        out[j] = family
    return out


def numeric_levels(X, families):
    """The ``numeric_levels`` of the architecture: per column, the
    :func:`level_spec` of a column over levels, None for others; None when
    no column is."""
    specs = [
        level_spec(X[:, j], family) if family in LEVELED else None
        for j, family in enumerate(families)
    ]
    return tuple(specs) if any(s is not None for s in specs) else None
