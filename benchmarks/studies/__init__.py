"""Frozen studies: the runs that chose a default, runnable as they ran."""
