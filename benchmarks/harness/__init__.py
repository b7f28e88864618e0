"""The benchmark harness: data, contenders, runner, report, timing.

``data`` loads and splits the benchmark data; ``contenders`` holds one
registry per task behind one adapter protocol; ``runner`` runs a study's
datasets x contenders x seeds and resumes from its CSV; ``report`` writes
the Markdown reports; ``timing`` is the one timing helper. The studies are
configurations of them, in ``benchmarks/configs`` (peer comparisons and
performance) and ``benchmarks/studies`` (frozen: the runs that chose a
default). Run one with ``python -m benchmarks <study>``.
"""
