"""The xxHash32 hash of HashedNets, checked against the `xxhash` package."""

import numpy as np
import pytest
import xxhash

from arbnet_keras import hashing
from arbnet_keras.hashing.hashed_nets import xxh32_uint64

SAMPLE_IDS = np.concatenate(
    [
        np.arange(300, dtype=np.uint64),
        np.array(
            [2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**32 + 1, 2**40 + 12345],
            dtype=np.uint64,
        ),
        np.array([2**63 - 1, 2**63, 2**64 - 1], dtype=np.uint64),
        np.random.default_rng(0).integers(0, 2**63, 200, dtype=np.uint64),
    ]
)


def _reference(key, seed):
    return xxhash.xxh32_intdigest(int(key).to_bytes(8, "little"), seed)


@pytest.mark.parametrize("seed", [0, 1, 2**31 + 7, 2**32 - 1])
def test_xxh32_matches_xxhash_package(seed):
    digests = xxh32_uint64(SAMPLE_IDS, seed)
    assert digests.dtype == np.uint32
    expected = [_reference(key, seed) for key in SAMPLE_IDS]
    np.testing.assert_array_equal(digests, expected)


def test_seed_is_taken_modulo_2_32():
    np.testing.assert_array_equal(
        xxh32_uint64(SAMPLE_IDS, 2**32 + 5), xxh32_uint64(SAMPLE_IDS, 5)
    )


@pytest.mark.parametrize("table_size", [1, 10, 1000, 12345])
@pytest.mark.parametrize("seed", [0, 42])
def test_entries_match_xxhash_package(table_size, seed):
    ids = SAMPLE_IDS[SAMPLE_IDS < 2**63].astype(np.int64)
    entries = hashing.HashedNets()(ids, table_size, seed)
    expected = [_reference(i, seed) % table_size for i in ids]
    np.testing.assert_array_equal(entries, expected)
    assert entries.dtype == np.int64


def test_sign_hash_is_balanced():
    signs = hashing.HashedNets().signs(np.arange(100_000), seed=0)
    assert set(np.unique(signs)) == {-1, 1}
    assert abs(np.mean(signs == 1) - 0.5) < 0.02


def test_sign_hash_is_independent_of_entry_hash():
    ids = np.arange(100_000)
    entries = hashing.HashedNets()(ids, 2, seed=11)
    signs = hashing.HashedNets().signs(ids, seed=11)
    # Not `sign = f(entry)`: each entry sees both signs, half and half.
    for entry in (0, 1):
        assert abs(np.mean(signs[entries == entry] == 1) - 0.5) < 0.02


def test_roughly_balanced():
    entries = hashing.HashedNets()(np.arange(100_000), 100, seed=0)
    counts = np.bincount(entries, minlength=100)
    assert np.abs(counts - 1000).max() < 200
