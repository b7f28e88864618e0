"""The per-row Monte Carlo noise of ``score_samples`` (``skvae._noise``):
a pure function of each row, independent-looking across rows, standard
normal."""

import numpy as np
import pytest
from scipy import stats

from skvae._noise import row_hashes, row_normal_noise


@pytest.fixture(scope="module")
def rows():
    return np.random.RandomState(0).normal(size=(50, 3))


def test_a_row_gets_the_same_draws_alone_or_in_any_batch_and_order(rows):
    full = row_normal_noise(rows, 7, 4, 2)  # (n_draws, n_rows, n_components)
    assert full.shape == (4, 50, 2)
    for i in (0, 17, 49):
        np.testing.assert_array_equal(
            row_normal_noise(rows[i : i + 1], 7, 4, 2)[:, 0], full[:, i]
        )
    order = np.random.RandomState(1).permutation(len(rows))
    np.testing.assert_array_equal(
        row_normal_noise(rows[order], 7, 4, 2), full[:, order]
    )
    np.testing.assert_array_equal(
        row_normal_noise(rows[10:20], 7, 4, 2), full[:, 10:20]
    )


def test_draw_j_of_a_row_does_not_depend_on_n_draws(rows):
    many = row_normal_noise(rows, 7, 16, 3)
    for n_draws in (1, 2, 5):
        np.testing.assert_array_equal(
            row_normal_noise(rows, 7, n_draws, 3), many[:n_draws]
        )


def test_equal_rows_get_equal_draws_whatever_their_dtype_or_sign_of_zero(rows):
    duplicated = np.vstack([rows[:5], rows[:5]])
    noise = row_normal_noise(duplicated, 7, 3, 2)
    np.testing.assert_array_equal(noise[:, :5], noise[:, 5:])
    # Hashed as float64: float32 values and their float64 copies agree.
    as32 = rows.astype(np.float32)
    np.testing.assert_array_equal(
        row_normal_noise(as32, 7, 3, 2),
        row_normal_noise(as32.astype(np.float64), 7, 3, 2),
    )
    # -0.0 == 0.0, so the two rows must be treated as the same row.
    np.testing.assert_array_equal(
        row_hashes(np.array([[0.0, -0.0]]), 7), row_hashes(np.zeros((1, 2)), 7)
    )


def test_different_rows_get_nearly_uncorrelated_draws():
    # Rows as alike as rows can be: consecutive integers, and values one
    # unit in the last place apart.
    base = np.arange(300, dtype=np.float64)[:, None]
    X = np.hstack([base, np.ones_like(base)])
    X[150:, 1] = np.nextafter(1.0, 2.0)
    noise = row_normal_noise(X, 7, 250, 4)  # 1000 draws per row
    per_row = noise.transpose(1, 0, 2).reshape(len(X), -1)
    r = np.corrcoef(per_row)[np.triu_indices(len(X), k=1)]
    # Independent rows: r ~ N(0, 1/1000), so sd 0.032.
    assert abs(r.mean()) < 0.005
    assert np.abs(r).max() < 0.2
    assert np.std(r) == pytest.approx(1 / np.sqrt(1000), rel=0.1)


def test_draws_are_standard_normal_over_many_rows():
    X = np.random.RandomState(0).normal(size=(50_000, 3))
    draws = row_normal_noise(X, 7, 2, 4).ravel()  # 400 000 draws
    assert np.all(np.isfinite(draws))
    assert abs(draws.mean()) < 0.01
    assert draws.var() == pytest.approx(1.0, abs=0.01)
    assert stats.kstest(draws, "norm").pvalue > 1e-3


def test_different_seeds_give_different_draws(rows):
    a = row_normal_noise(rows, 0, 20, 2).ravel()
    b = row_normal_noise(rows, 1, 20, 2).ravel()
    assert not np.any(a == b)
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.1


def test_every_nan_hashes_as_the_same_missing_cell():
    quiet_nan = np.frombuffer(np.uint64(0x7FF8000000000001).tobytes(), np.float64)
    a = np.array([[1.0, np.nan]])
    b = np.array([[1.0, quiet_nan[0]]])
    assert np.isnan(b[0, 1]) and a.tobytes() != b.tobytes()
    np.testing.assert_array_equal(row_hashes(a, 7), row_hashes(b, 7))
