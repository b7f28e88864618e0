"""The internal standardization of numeric columns and its change of variables.

The Gaussian likelihood trains on standardized columns, so that raw data
need no scaler and no column's units weigh more than another's; every
density is then reported on the user's scale. Two things follow, and both
live here: the statistics (``mean_``, ``scale_``) and the log-Jacobian of
the map, which the estimators apply once, at the public edge, to turn a
bound on the standardized data into one on the user's data.
"""

import numpy as np
import torch
from sklearn.preprocessing import StandardScaler

from skvae._torch.likelihoods import LIKELIHOODS


def standardization(X, likelihood, is_categorical):
    """``mean_`` and ``scale_`` of the internal standardization.

    Columns are standardized for a likelihood that asks for it, with
    ``StandardScaler``'s statistics of each column divided by its largest
    absolute value: neither the mean nor the variance can then overflow
    (values near 1e200 square to infinity), and a column counts as constant
    only when its variance is within the rounding error of its mean, whatever
    its scale (a spread of 1e-18 is a spread). A constant column is scaled by
    its absolute value (by 1 when it is all zeros). Categorical columns (level
    codes) keep mean 0 and scale 1.
    """
    n_features = X.shape[1]
    mean, scale = np.zeros(n_features), np.ones(n_features)
    if not LIKELIHOODS[likelihood].standardize:
        return mean, scale
    # Missing cells (NaN) are left out, as StandardScaler does; a column
    # with no observed cell keeps mean 0 and scale 1.
    seen = ~np.isnan(X).all(axis=0) & ~is_categorical
    if seen.any():
        X = X[:, seen]
        peak = np.abs(np.nan_to_num(X, nan=0.0)).max(axis=0).astype(np.float64)
        peak[peak == 0] = 1.0
        scaler = StandardScaler().fit(X / peak)
        mean[seen], scale[seen] = scaler.mean_ * peak, scaler.scale_ * peak
    return mean, scale


def standardized_tensor(X, mean, scale, dtype, device):
    """``(X - mean) / scale`` as a new tensor in ``dtype`` on ``device``.

    Computed in float64 in one new array, which the tensor then shares
    (``X`` itself, maybe a read-only memmap, is only read).
    """
    out = np.subtract(X, mean, dtype=np.float64)
    out /= scale
    return torch.from_numpy(out.astype(dtype, copy=False)).to(device)


def log_jacobian(X, scale):
    """log |d x / d x_standardized| of each row of ``X``: the sum of
    ``log(scale)`` over the row's observed cells. A density on the user's
    scale is the standardized one minus this."""
    log_scale = np.log(scale)
    missing = np.isnan(X)
    if not missing.any():
        return log_scale.sum()
    return np.where(missing, 0.0, log_scale).sum(axis=1)
