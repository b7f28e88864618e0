"""Sparse input: scipy sparse rows, densified one batch or chunk at a time.

A document-term matrix of a few thousand documents over a vocabulary of ten
thousand words is mostly zeros: densified whole it would take hundreds of
megabytes, and far more for a real corpus. The estimators that accept
sparse input (``VAETransformer``, ``VAEAnomalyDetector`` and
``VAEClassifier``; not ``VAEImputer``, whose missing cells a sparse matrix
cannot represent) therefore keep it
as CSR throughout: training reads it through :class:`SparseRows`, which
densifies (and standardizes) one mini-batch at a time, and inference
densifies one row chunk at a time (``skvae._inference``). Memory is then
bounded by the batch (or chunk) size times the number of columns, whatever
the number of rows.

The rules:

- every likelihood takes sparse input: a batch is dense once densified, so
  the Gaussian likelihood's centring costs no more than for a dense batch;
  the statistics of the standardization are computed from the sparse
  matrix (:func:`standardization`);
- sparse input has no missing cells (an explicit NaN is refused) and no
  categorical columns (``categorical_features`` must be left to
  ``"from_dtype"``, which finds none in a matrix);
- scores, codes and decodings equal those of the same rows given dense.
"""

import numpy as np
import torch
from scipy import sparse
from sklearn.preprocessing import StandardScaler

from skvae._torch.likelihoods import LIKELIHOODS


def issparse(X) -> bool:
    return sparse.issparse(X)


def dense(X):
    """``X`` as a dense array (a sparse chunk densified), else ``X``."""
    return X.toarray() if sparse.issparse(X) else X


def check_sparse_rows(X, estimator):
    """Refuse what sparse input cannot carry: missing cells (NaN entries),
    categorical columns and column likelihood families."""
    categorical = estimator.categorical_features
    if categorical is not None and not isinstance(categorical, str):
        raise ValueError(
            "Sparse input cannot have categorical columns: "
            f"categorical_features={categorical!r} needs a dense array or a "
            "DataFrame. Leave categorical_features='from_dtype' for a sparse "
            "matrix of numbers."
        )
    if isinstance(estimator.likelihood, dict):
        raise ValueError(
            "Sparse input cannot take a dict of column likelihoods: the "
            "families over levels read each column's values. Pass a dense "
            "array, or a likelihood name."
        )
    if np.isnan(sparse.csr_matrix(X).data).any():
        raise ValueError(
            "Sparse input with missing values (NaN entries) is not supported: "
            "pass the rows as a dense array to have their missing cells "
            "modelled."
        )


def standardization(X, likelihood):
    """``mean_`` and ``scale_`` of the sparse ``X``: the statistics
    ``skvae._scaling.standardization`` computes for the same rows given
    dense (every column numeric, none missing), without densifying."""
    n_features = X.shape[1]
    mean, scale = np.zeros(n_features), np.ones(n_features)
    if not LIKELIHOODS[likelihood].standardize:
        return mean, scale
    peak = abs(X).max(axis=0).toarray().ravel().astype(np.float64)
    peak[peak == 0] = 1.0
    # with_mean=False: the statistics of a sparse matrix without centring it.
    scaler = StandardScaler(with_mean=False).fit(
        sparse.csr_matrix(X.multiply(1.0 / peak))
    )
    mean, scale = scaler.mean_ * peak, scaler.scale_ * peak
    return mean, scale


def missing_patterns(X, previous=None):
    """``skvae._generative.missing_patterns`` of the sparse ``X``, whose rows
    are complete: the all-observed pattern, counted ``X.shape[0]`` times
    (added to the ``previous`` count)."""
    complete = np.zeros((1, X.shape[1]), dtype=bool)
    if previous is None:
        return complete, np.array([X.shape[0]], dtype=np.int64)
    patterns, counts = previous
    counts = counts.copy()
    seen = ~patterns.any(axis=1)
    if seen.any():
        counts[seen] += X.shape[0]
        return patterns, counts
    # The all-False pattern sorts first (the order of np.unique).
    return (
        np.concatenate([complete, patterns]),
        np.concatenate([[X.shape[0]], counts]).astype(np.int64),
    )


class SparseRows:
    """Training rows kept sparse: indexing a set of rows returns them as a
    dense, standardized tensor (what ``TensorBatchIterator`` slices
    batches with); :meth:`subset` keeps them sparse (a validation split).

    Parameters
    ----------
    X : scipy.sparse.csr_matrix or csr_array
        The rows.
    mean, scale : ndarray of shape (n_features,)
        The standardization.
    dtype : numpy dtype
        Of the tensors (float32 for training).
    device : str
        Where the tensors go.
    """

    def __init__(self, X, mean, scale, dtype, device) -> None:
        self.X = sparse.csr_matrix(X)
        self.mean, self.scale = mean, scale
        self.identity = not mean.any() and (scale == 1).all()
        self.dtype = dtype
        self.device = torch.device(device)
        self.shape = self.X.shape

    def __len__(self) -> int:
        return self.X.shape[0]

    def _rows(self, rows):
        if isinstance(rows, torch.Tensor):
            rows = rows.cpu().numpy()
        return self.X[rows]

    def __getitem__(self, rows) -> torch.Tensor:
        chunk = self._rows(rows)
        if self.identity:
            # Counts are not standardized: (x - 0) / 1 is x, cast once.
            out = chunk.astype(self.dtype).toarray()
        else:
            out = np.subtract(chunk.toarray(), self.mean, dtype=np.float64)
            out /= self.scale
        return torch.from_numpy(out.astype(self.dtype, copy=False)).to(self.device)

    def subset(self, rows) -> "SparseRows":
        return SparseRows(
            self._rows(rows), self.mean, self.scale, self.dtype, self.device
        )
