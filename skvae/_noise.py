"""Monte Carlo noise that is a deterministic function of each row.

``score_samples`` must give a row the same value whatever batch it is in,
and repeated calls must agree. Sharing one set of draws across all rows
(common random numbers) achieves that, but then every row's estimate errs in
the same direction: a mean over rows keeps the full error of a handful of
draws. Here each row gets its own draws, derived by a counter-based hash
from (seed, row content, draw index): independent-looking across rows, so
errors average out over a data set, and still a pure function of the row.
"""

import numpy as np
from scipy.special import ndtri

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(x):
    """The splitmix64 finalizer (Steele et al., 2014), vectorized; wraps.

    Returns a new array; the updates after the first are in place to keep
    the number of passes over memory low.
    """
    x = x + _GOLDEN
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def row_hashes(X, seed):
    """A 64-bit hash of each row of ``X`` (hashed as float64), keyed by seed.

    Rows that compare equal hash equal: ``-0.0`` is hashed as ``0.0`` (they
    differ in the sign bit only), and a missing cell as NaN whatever its bits.
    """
    # Adding 0.0 turns -0.0 into 0.0 (IEEE 754) and leaves the rest as is;
    # every NaN (whatever its payload: np.nan, pd.NA converted, ...) is
    # hashed as the one NaN of NumPy.
    values = np.add(X, 0.0, dtype=np.float64)
    values[np.isnan(values)] = np.nan
    bits = np.ascontiguousarray(values).view(np.uint64)
    hashes = np.full(X.shape[0], np.uint64(seed), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column in bits.T:
            hashes = _splitmix64(hashes ^ column)
    return hashes


def row_uniform_noise(X, seed, n_draws, n_components):
    """Uniform draws strictly inside (0, 1), of shape (n_draws, n_samples,
    n_components), with the guarantees of :func:`row_normal_noise`."""
    hashes = row_hashes(X, seed)
    counters = np.arange(n_draws * n_components, dtype=np.uint64) * _GOLDEN
    with np.errstate(over="ignore"):
        bits = _splitmix64(hashes[None, :] ^ counters[:, None])  # (k*d, n)
    # Top 53 bits -> a uniform strictly inside (0, 1).
    bits >>= np.uint64(11)
    uniform = bits.astype(np.float64)
    uniform += 0.5
    uniform *= 2.0**-53
    return uniform.reshape(n_draws, n_components, X.shape[0]).transpose(0, 2, 1)


def row_normal_noise(X, seed, n_draws, n_components):
    """Standard-normal draws of shape (n_draws, n_samples, n_components).

    Row ``i`` gets the same draws whenever it is passed, alone or in any
    batch, and draw ``j`` of a row does not depend on ``n_draws``.
    """
    uniform = row_uniform_noise(X, seed, n_draws, n_components)
    return ndtri(uniform, out=uniform)
