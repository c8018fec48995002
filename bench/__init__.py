"""Benchmarks of issue 7: certkeeper against its peers and the machine's limits, side by side.

`python -m bench` (or `./scripts/bench`) runs them; results go to `bench/results/`.
Never part of the test command: only `tests/e2e/test_bench_harness.py` smoke-tests it.
"""
