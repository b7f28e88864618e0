"""Identifier columns (``skvae._cardinality``): flagged by their levels per
row, named in the warning."""

import warnings

import numpy as np
import pytest

from skvae._cardinality import identifier_columns, warn_identifier_columns


def test_columns_with_about_one_level_per_row_are_identifiers():
    # numeric, a category, a near-identifier, an identifier, flights' tailnum
    n_levels = (0, 12, 12_000, 20_000, 4043)
    assert identifier_columns(n_levels, 20_000).tolist() == [2, 3]
    # On fewer rows the same tailnum levels are one per row or more.
    assert identifier_columns(n_levels, 5_000).tolist() == [2, 3, 4]


def test_small_tables_are_not_flagged_for_a_few_distinct_values():
    assert identifier_columns((0, 8, 3), 10).size == 0
    assert identifier_columns((0, 25, 3), 40).tolist() == [1]


def test_the_warning_names_each_flagged_column():
    names = ["amount", "customer_id", "colour"]
    with pytest.warns(UserWarning, match="'customer_id' has 950 levels for 1000"):
        flagged = warn_identifier_columns((0, 950, 3), 1000, names)
    assert flagged.tolist() == [1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert warn_identifier_columns((0, 10, 3), 1000, names).size == 0
    with pytest.warns(UserWarning, match="column 1 has"):
        warn_identifier_columns(np.array([0, 950, 3]), 1000)
