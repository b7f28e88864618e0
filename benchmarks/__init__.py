"""skvae's benchmarks: one harness, one configuration per study.

Run from the repository root::

    python -m benchmarks list                    # every study
    python -m benchmarks anomaly --quick         # a smoke test, to a temp dir
    python -m benchmarks anomaly --datasets cardio --seeds 1
    python -m benchmarks anomaly --report-only   # rebuild the .md from the CSV
"""
