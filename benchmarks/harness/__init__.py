"""The benchmark harness: data, contenders, runner, report, timing, process.

``data`` loads and splits the benchmark data; ``contenders`` holds one
registry per task behind one adapter protocol; ``runner`` runs a study (the
``Study`` interface: ``evaluate`` and ``report``) case by case and resumes
from its stored rows; ``report`` writes the Markdown reports; ``timing`` is
the one timing helper; ``process`` runs a measurement in a fresh process
and reads peak memory. The studies are configurations of them, in
``benchmarks/configs`` (peer comparisons and performance) and
``benchmarks/studies`` (frozen: the runs that chose a default). Run one
with ``python -m benchmarks <study>``.
"""
