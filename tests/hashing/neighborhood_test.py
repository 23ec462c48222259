"""The Neighborhood hash (eq. 10 of the ArbNets paper)."""

import math

import numpy as np
import pytest

from arbnet_keras import HashedDense
from arbnet_keras import hashing
from arbnet_keras import metrics


def _offsets(entries, ids, table_size, radius):
    """Offsets in [-radius, radius] (when no wrap-around is ambiguous)."""
    return (entries - ids + radius) % table_size - radius


@pytest.mark.parametrize("radius", [1, 3, 10])
def test_offsets_within_radius(radius):
    table_size = 1000
    ids = np.arange(50_000)
    entries = hashing.Neighborhood(radius)(ids, table_size, seed=2)
    offsets = _offsets(entries, ids, table_size, radius)
    assert offsets.min() == -radius
    assert offsets.max() == radius
    # Every offset in the window is drawn, about equally often.
    counts = np.bincount(offsets + radius)
    assert len(counts) == 2 * radius + 1
    expected = len(ids) / (2 * radius + 1)
    assert np.abs(counts - expected).max() < 6 * math.sqrt(expected)


def test_radius_zero_is_modulus():
    ids = np.concatenate([np.arange(3000), [2**40 + 1]])
    for seed in (0, 1):
        np.testing.assert_array_equal(
            hashing.Neighborhood(0)(ids, 37, seed=seed),
            hashing.Modulus()(ids, 37),
        )


def test_wraps_around_the_table():
    ids = 10 * np.arange(1000)
    entries = hashing.Neighborhood(2)(ids, 10, seed=0)
    assert set(np.unique(entries)) == {8, 9, 0, 1, 2}


@pytest.mark.parametrize("radius", [50, 80, 1000])
def test_large_radius_covers_table(radius):
    # A radius of at least half the table spreads one identifier over
    # (nearly) every entry, like the uniform hash.
    table_size, num_draws = 100, 100_000
    entries = hashing.Neighborhood(radius)(
        np.full(num_draws, 12345), table_size, seed=0
    )
    # One id repeated gives one entry: vary the ids, fix the residue.
    assert len(np.unique(entries)) == 1
    ids = 12345 + table_size * np.arange(num_draws)
    entries = hashing.Neighborhood(radius)(ids, table_size, seed=0)
    counts = np.bincount(entries, minlength=table_size)
    assert counts.min() > 0
    assert counts.max() / counts.min() < 2.5
    h = metrics.entropy(entries, table_size)
    assert h > 0.98 * math.log(table_size)


def test_noise_lowers_balance_less_than_uniform():
    # Each entry keeps its expected load at any radius.
    ids = np.arange(100_000)
    for radius in (0, 2, 20):
        entries = hashing.Neighborhood(radius)(ids, 100, seed=1)
        counts = np.bincount(entries, minlength=100)
        assert np.abs(counts - 1000).max() < 200


@pytest.mark.parametrize("radius", [-1, 1.5, "2", True, None])
def test_invalid_radius(radius):
    with pytest.raises(
        ValueError,
        match=r"`radius` must be a non-negative integer\. "
        r"Received: radius=",
    ):
        hashing.Neighborhood(radius=radius)


def test_radius_config():
    assert hashing.Neighborhood(radius=4).get_config() == {
        "radius": 4,
        "version": 2,
    }
    assert hashing.Neighborhood(np.int64(4)).radius == 4


@pytest.mark.parametrize("radius", [2**40 + 1, 2**62, 10**20])
def test_radius_too_large(radius):
    # 2**62 and beyond once passed and raised OverflowError at build.
    with pytest.raises(
        ValueError,
        match=r"`radius` must be at most 2\*\*40 .*"
        rf"Received: radius={radius}$",
    ):
        hashing.Neighborhood(radius=radius)


def test_radius_too_large_in_layer_config():
    config = {"class_name": "Neighborhood", "config": {"radius": 2**62}}
    with pytest.raises(ValueError, match=rf"Received: radius={2**62}$"):
        HashedDense(3, hash=config, table_size=2)


def test_largest_radius_spreads_over_the_table():
    # Offsets of a radius near 2**62 were multiples of 2**10: every
    # weight then landed on one entry of a table of 4.
    ids = np.arange(0, 40_000, 4)
    # Version 1 (64-bit draws) takes radii up to 2**40, version 2 below
    # 2**31.
    entries = hashing.Neighborhood(2**40, version=1)(ids, 4, seed=0)
    counts = np.bincount(entries, minlength=4)
    assert np.abs(counts - 2500).max() < 6 * math.sqrt(2500)
    layer = HashedDense(
        8, hash=hashing.Neighborhood(2**40, version=1), table_size=5, seed=0
    )
    layer.build((None, 8))
    assert set(np.unique(layer.kernel_index().entries)) == set(range(5))
