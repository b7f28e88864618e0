"""Small real datasets shipped with skvae, so that the demo and the
examples run from the installed package alone."""

from importlib import resources

import pandas as pd

__all__ = ["load_penguins"]


def load_penguins():
    """The Palmer penguins table: 344 penguins, 8 mixed-type columns, gaps.

    Three species of penguins measured on three islands of the Palmer
    Archipelago, Antarctica, 2007-2009 (Gorman, Williams and Fraser, 2014;
    the ``palmerpenguins`` R package by Horst, Hill and Gorman, released
    under CC0). The table is as the package ships it: 19 missing cells (two
    penguins have no measurement at all, nine have no recorded sex).

    Returns
    -------
    frame : pandas.DataFrame of shape (344, 8)
        Columns ``species``, ``island`` and ``sex`` (categorical),
        ``bill_length_mm`` and ``bill_depth_mm`` (float),
        ``flipper_length_mm`` and ``body_mass_g`` (nullable ``Int64``) and
        ``year`` (int). Missing cells are NaN or ``pd.NA``.

    Examples
    --------
    >>> from skvae.datasets import load_penguins
    >>> penguins = load_penguins()
    >>> penguins.shape
    (344, 8)
    >>> int(penguins.isna().sum().sum())
    19
    """
    source = resources.files(__name__).joinpath("data", "penguins.csv")
    with source.open("r", encoding="utf-8") as file:
        frame = pd.read_csv(
            file,
            dtype={
                "species": "category",
                "island": "category",
                "sex": "category",
                "flipper_length_mm": "Int64",
                "body_mass_g": "Int64",
            },
        )
    return frame
