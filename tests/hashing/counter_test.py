"""The counter-based random numbers behind every random choice."""

import numpy as np

from arbnet_keras.hashing import counter


def test_uniform_in_unit_interval_and_uniform():
    u = counter.random_uniform(np.arange(100_000), 0, counter.STREAM_ENTRY)
    assert u.dtype == np.float64
    assert u.min() >= 0
    assert u.max() < 1
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    assert np.abs(counts - 10_000).max() < 600


def test_pure_function_of_seed_stream_counter():
    counters = np.array([5, 0, 2**40, 2**63 + 1], dtype=np.uint64)
    a = counter.random_bits(counters, 3, counter.STREAM_ENTRY)
    np.testing.assert_array_equal(
        a, counter.random_bits(counters, 3, counter.STREAM_ENTRY)
    )
    # Each counter alone gives the same bits.
    for i, c in enumerate(counters):
        assert counter.random_bits([c], 3, counter.STREAM_ENTRY)[0] == a[i]


def test_streams_and_seeds_are_independent():
    ids = np.arange(50_000)
    base = counter.random_uniform(ids, 1, counter.STREAM_ENTRY)
    for other in (
        counter.random_uniform(ids, 2, counter.STREAM_ENTRY),
        counter.random_uniform(ids, 1, counter.STREAM_ZERO),
        counter.random_uniform(ids, 1, counter.STREAM_SIGN),
    ):
        assert abs(np.corrcoef(base, other)[0, 1]) < 0.02
        assert np.mean(base == other) == 0


def test_integers_in_range():
    draws = counter.random_integers(
        np.arange(70_000), 0, counter.STREAM_ENTRY, 7
    )
    assert draws.dtype == np.int64
    np.testing.assert_array_equal(np.unique(draws), np.arange(7))
    assert np.abs(np.bincount(draws) - 10_000).max() < 600
