"""Generation: new rows from a fitted VAE, for the estimators that generate.

A VAE is a generative model, but not every estimator built on one is a
generator to its user: the transformer, the imputer (incomplete tables
synthesized with their gaps) and the classifier generate; the outlier
detector, like ``IsolationForest``, does not. :class:`GenerativeMixin`
gives ``sample`` to the first kind only.
"""

from numbers import Integral

import numpy as np
import pandas as pd
import torch
from sklearn import config_context
from sklearn.mixture import GaussianMixture
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from skvae._inference import bounded_rows
from skvae._runtime import uses_torch
from skvae._tables import is_pandas_df, is_polars_df
from skvae._validation import check_n_samples


class GenerativeMixin:
    """``sample``: rows drawn from the fitted model, in the table's types.

    An estimator that declares ``n_sample_components`` (its constraint is
    ``_sampler_constraints``) and calls :meth:`_fit_sample_mixture` after
    training draws the codes of ``sample`` from ``sample_mixture_`` when it
    is not None.
    """

    _sampler_constraints: dict = {
        "n_sample_components": [Interval(Integral, 0, None, closed="left")]
    }

    @uses_torch
    def sample(self, n_samples=1, random_state=None, *, include_missing=False):
        """Draw new rows from the fitted model.

        Latent codes are drawn from the prior N(0, I) (from
        ``sample_mixture_`` when ``n_sample_components > 0``), decoded, and
        a row is drawn from p(x | z): Gaussian noise with the learned
        per-feature scale, 0/1 draws for the Bernoulli likelihood, a level
        for a categorical column. Rows are generated in chunks of bounded
        size, so memory does not grow beyond the result.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to generate.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws; pass an int for reproducible samples.
        include_missing : bool, default=False
            Blank cells as the training data had them: each generated row
            takes the pattern of missing cells of a training row drawn at
            random (so the rate of each column and the patterns across
            columns are the training data's, independent of the values).
            False gives complete rows.

        Returns
        -------
        X : ndarray or DataFrame of shape (n_samples, `n_features_in_`)
            Generated rows on the original scale of the training data: a
            DataFrame in the training table's column types when fitted on
            one (see the user guide, "Tables with categories and missing
            values").
        """
        check_is_fitted(self)
        check_n_samples(n_samples)
        rng = check_random_state(random_state)
        generator = torch_generator(rng, self.device_)
        out = self._inference().generate(
            n_samples, generator, getattr(self, "sample_mixture_", None)
        )
        return self._to_user(self._with_missing(out, rng, include_missing))

    def _with_missing(self, out, rng, include_missing):
        """The drawn rows ``out``, with ``include_missing`` blanked in the
        patterns of missing cells of training rows drawn from ``rng``."""
        if include_missing:
            patterns, counts = self.missing_patterns_
            chosen = rng.choice(len(patterns), size=len(out), p=counts / counts.sum())
            out[patterns[chosen]] = np.nan
        return out

    def _fit_sample_mixture(self, X):
        """``sample_mixture_``: with ``n_sample_components > 0``, a Gaussian
        mixture (full covariances) fitted to the posterior means of the
        training rows ``X`` (a random subsample of a large table, see
        :func:`~skvae._inference.bounded_rows`), with as many components
        (at most one per row), seeded by the fit; None otherwise."""
        self.sample_mixture_ = None
        if not self.n_sample_components:
            return
        rows = bounded_rows(X, self.noise_seed_)
        codes = self._inference().posterior_mean(rows).astype(np.float64)
        mixture = GaussianMixture(
            min(self.n_sample_components, codes.shape[0]),
            random_state=self.noise_seed_,
        )
        # The codes are the model's own NumPy array, whatever the input's
        # namespace: the mixture is fitted as NumPy, k-means start included.
        with config_context(array_api_dispatch=False):
            self.sample_mixture_ = mixture.fit(codes)

    @uses_torch
    def sample_remaining_columns(self, known_columns, random_state=None):
        """Draw the other columns of rows whose known columns are given.

        Conditional generation: each row of ``known_columns`` fixes some
        cells, and the others are drawn from the model's p(x_other |
        x_known), exactly (not by rejection): the encoder reads the known
        cells with the others missing, ``n_mc_samples`` latent codes are
        drawn from q(z | x_known) and one is picked with probability its
        importance weight (how well it explains the known cells), then the
        other cells are drawn from p(x | z). Rare conditions cost what
        frequent ones do. The name is SDV's (``sample_remaining_columns``),
        whose rejection sampling fails on conditions it rarely generates.

        Parameters
        ----------
        known_columns : DataFrame or array-like
            The conditions, one row per row to generate. A DataFrame holds
            some of the training table's columns (any order); a missing
            cell in it is drawn too, so rows may fix different columns.
            For a model fitted on an array, an array of ``n_features_in_``
            columns with NaN in the cells to draw. Known levels of a
            categorical column must have been seen in fit.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws; pass an int for reproducible samples. Equal
            rows of ``known_columns`` get independent draws.

        Returns
        -------
        X : ndarray or DataFrame of shape (n_rows, `n_features_in_`)
            Complete rows that hold the given cells exactly, in the
            training table's columns and dtypes when fitted on a DataFrame
            (with the index of ``known_columns`` when it is a pandas one).
            Drawn cells are clipped to the training range and rounded to
            the training column's decimal places (to integers in integer
            columns), as by :meth:`sample`.

        Examples
        --------
        >>> import pandas as pd
        >>> from skvae import VAETransformer
        >>> df = pd.DataFrame({"size": [1.0, 2.0, 3.0, 4.0] * 25,
        ...                    "kind": pd.Categorical(["a", "a", "b", "b"] * 25)})
        >>> vae = VAETransformer(max_iter=5, random_state=0).fit(df)
        >>> rows = vae.sample_remaining_columns(
        ...     pd.DataFrame({"kind": ["b", "b", "a"]}), random_state=0)
        >>> rows["kind"].tolist()
        ['b', 'b', 'a']
        >>> rows.shape
        (3, 2)
        """
        check_is_fitted(self)
        conditions = _conditions_table(self, known_columns)
        X, table = self._validate_for_inference(
            conditions, dtype=np.float64, return_table=True
        )
        given = _given_cells(self, X, table)
        generator = torch_generator(check_random_state(random_state), self.device_)
        out = self._to_user(self._inference().conditional_draw(X, generator))
        return _with_given(out, conditions, given)


def torch_generator(rng, device):
    """A ``torch.Generator`` on ``device`` seeded by one draw from the NumPy
    ``rng``: the draws of a ``random_state``."""
    seed = rng.randint(np.iinfo(np.int32).max)
    return torch.Generator(device=device).manual_seed(int(seed))


def missing_patterns(X, previous=None):
    """The distinct patterns of missing cells of the rows of ``X`` and how
    many rows have each, added to the ``previous`` count of earlier
    training calls (what ``sample(include_missing=True)`` draws from).

    Patterns come in ``np.unique(..., axis=0)``'s order (lexicographic,
    False before True), found by sorting each row's mask packed into
    64-bit words: ``np.unique`` along an axis compares rows as raw bytes
    and took 1.4 s of a 5 s fit of 336 776 rows.
    """
    patterns, counts = _unique_rows(np.isnan(X))
    if previous is not None:
        seen, seen_counts = previous
        patterns, inverse = _unique_rows(
            np.concatenate([seen, patterns]), return_inverse=True
        )
        counts = np.bincount(
            inverse, weights=np.concatenate([seen_counts, counts])
        ).astype(np.int64)
    return patterns, counts


def _unique_rows(mask, return_inverse=False):
    """``np.unique(mask, axis=0, return_counts=True)`` (or with
    ``return_inverse`` instead of the counts) of a 2D boolean ``mask``."""
    n_rows, n_columns = mask.shape
    # Each row's bits, first column first, in big-endian 64-bit words: the
    # words compare as the rows do.
    packed = np.packbits(mask, axis=1, bitorder="big")  # (n_rows, n_bytes)
    n_words = max(1, -(-packed.shape[1] // 8))
    words = np.zeros((n_rows, 8 * n_words), dtype=np.uint8)
    words[:, : packed.shape[1]] = packed
    words = words.view(">u8").astype(np.uint64)  # (n_rows, n_words)
    if n_words == 1 and not return_inverse:
        # Up to 64 columns: a sort of integers, the patterns unpacked back.
        keys, counts = np.unique(words[:, 0], return_counts=True)
        unpacked = np.unpackbits(
            keys.astype(">u8").view(np.uint8).reshape(-1, 8), axis=1, count=n_columns
        )
        return unpacked.astype(bool), counts
    order = np.lexsort(words.T[::-1]) if n_rows else np.zeros(0, dtype=np.intp)
    ordered = words[order]
    new = np.ones(n_rows, dtype=bool)
    new[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    first = np.flatnonzero(new)
    patterns = mask[order[first]].reshape(len(first), n_columns)
    if return_inverse:
        inverse = np.empty(n_rows, dtype=np.intp)
        inverse[order] = np.cumsum(new) - 1
        return patterns, inverse
    return patterns, np.diff(np.append(first, n_rows))


def _conditions_table(estimator, known_columns):
    """The rows of ``known_columns`` in the training table's columns, the
    columns not given all missing (a pandas DataFrame when the estimator was
    fitted on a DataFrame)."""
    if is_polars_df(known_columns):
        known_columns = known_columns.to_pandas()
    if not is_pandas_df(known_columns):
        return known_columns
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        raise ValueError(
            f"{type(estimator).__name__} was fitted without feature names: pass "
            f"known_columns as an array of {estimator.n_features_in_} columns "
            "with NaN in the cells to draw."
        )
    unknown = [c for c in known_columns.columns if c not in set(names)]
    if unknown:
        raise ValueError(
            f"known_columns has columns not seen in fit: {unknown}; the "
            f"columns are {list(names)}."
        )
    if known_columns.columns.duplicated().any():
        raise ValueError("known_columns has duplicated column names.")
    return known_columns.reindex(columns=list(names))


def _given_cells(estimator, X, table):
    """The cells of the validated ``table`` (encoded as ``X``) that the user
    gave; a given level unseen in fit is an error (nothing to condition
    on)."""
    schema = estimator.schema_
    given = ~np.isnan(X) if schema is None else ~schema.missing(table)
    unseen = given & np.isnan(X)
    if unseen.any():
        columns = np.flatnonzero(unseen.any(axis=0))
        names = getattr(estimator, "feature_names_in_", columns)
        raise ValueError(
            "known_columns holds levels not seen in fit, in the columns "
            f"{[names[j] for j in columns]}: the model cannot condition on them."
        )
    return given


def _with_given(out, conditions, given):
    """The decoded rows ``out`` with the given numeric cells of a pandas
    ``conditions`` table put back as the user wrote them (decoding clips
    to the training range) and with its index."""
    if not is_pandas_df(out) or not is_pandas_df(conditions):
        return out
    for j, name in enumerate(out.columns):
        column = out[name]
        if not given[:, j].any() or not pd.api.types.is_numeric_dtype(column):
            continue
        if pd.api.types.is_bool_dtype(column):
            continue
        values = conditions[name].to_numpy()
        kept = np.where(given[:, j], values, column.to_numpy())
        out[name] = pd.array(kept, dtype=column.dtype)
    out.index = conditions.index
    return out
