"""The performance benchmark suite of arbnet_keras.

Every measurement compares a hashed model with the plain `Dense` model of
the same shape, measured in the same process, interleaved with it, as a
ratio `hashed / dense`. Run it with

    python benchmarks/run.py [--quick | --full] [--only SECTION ...]

which prints a table and writes `docs/benchmarks.json` (see `run.py`).
The suite is never part of the default test run, except for the tiny
smoke test `tests/benchmarks/benchmarks_test.py`.
"""
