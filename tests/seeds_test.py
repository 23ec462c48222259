"""Seeds of layers, tables and hash functions: integers in [0, 2**64)."""

import numpy as np
import pytest

from arbnet_keras import HashedDense
from arbnet_keras import HashTable
from arbnet_keras import hashing
from arbnet_keras.hashing import counter
from arbnet_keras.seeds import resolve_seed
from arbnet_keras.seeds import validate_seed

TOO_LARGE = [2**64, 1 + 2**64, 10**30]
TOO_LARGE_IDS = ["2**64", "1+2**64", "10**30"]


def _too_large(seed):
    return (
        r"`seed` must be less than 2\*\*64: seeds key 64-bit hashes, so a "
        r"larger seed would repeat a smaller one\. "
        rf"Received: seed={seed}$"
    )


# Every hash function, with a kernel of shape (2, 3) it can index.
HASHES = {
    "identity": lambda: hashing.Identity(),
    "modulus": lambda: hashing.Modulus(),
    "uniform": lambda: hashing.Uniform(),
    "dirichlet": lambda: hashing.Dirichlet(),
    "neighborhood": lambda: hashing.Neighborhood(2),
    "hashed_nets": lambda: hashing.HashedNets(),
    "custom_fn": lambda: hashing.Custom(fn=lambda ids, n, seed: ids % n),
    "custom_index": lambda: hashing.Custom(index=[[0, 1, 2], [3, 4, 5]]),
    "toeplitz": lambda: hashing.Toeplitz((1, 2), kernel_size=1, filters=3),
}
KERNEL_IDS = np.arange(6, dtype=np.int64).reshape(2, 3)
TABLE_SIZE = 9


class TestValidateSeed:
    @pytest.mark.parametrize("seed", [0, 1, 2**63, 2**64 - 1])
    def test_accepts_the_range(self, seed):
        assert validate_seed(seed) == seed
        assert type(validate_seed(seed)) is int

    def test_accepts_numpy_integers(self):
        assert validate_seed(np.uint64(2**64 - 1)) == 2**64 - 1
        assert resolve_seed(np.int32(7)) == 7

    @pytest.mark.parametrize("seed", TOO_LARGE, ids=TOO_LARGE_IDS)
    def test_too_large(self, seed):
        with pytest.raises(ValueError, match=_too_large(seed)):
            validate_seed(seed)
        with pytest.raises(ValueError, match=_too_large(seed)):
            resolve_seed(seed)

    @pytest.mark.parametrize("seed", [-1, 1.0, "1", True, None])
    def test_not_a_non_negative_integer(self, seed):
        with pytest.raises(
            ValueError,
            match=r"`seed` must be a non-negative integer\. "
            rf"Received: seed={seed!r}$",
        ):
            validate_seed(seed)

    @pytest.mark.parametrize("seed", [-1, 2.5, "1", False])
    def test_resolve_allows_none_only(self, seed):
        with pytest.raises(
            ValueError,
            match=r"`seed` must be a non-negative integer or None\. "
            rf"Received: seed={seed!r}$",
        ):
            resolve_seed(seed)

    def test_none_draws_a_seed_in_range(self):
        seed = resolve_seed(None)
        assert 0 <= seed < 2**31


@pytest.mark.parametrize("seed", TOO_LARGE, ids=TOO_LARGE_IDS)
class TestLayersAndTables:
    def test_layer(self, seed):
        with pytest.raises(ValueError, match=_too_large(seed)):
            HashedDense(3, table_size=2, seed=seed)

    def test_table(self, seed):
        with pytest.raises(ValueError, match=_too_large(seed)):
            HashTable(5, seed=seed)


def test_largest_seed_builds_a_layer():
    layer = HashedDense(4, table_size=5, seed=2**64 - 1, sign=True)
    layer.build((None, 6))
    other = HashedDense(4, table_size=5, seed=1, sign=True)
    other.build((None, 6))
    assert layer.seed == 2**64 - 1
    # Seed 2**64 - 1 is not reduced to a smaller one.
    assert not np.array_equal(
        layer.kernel_index().entries, other.kernel_index().entries
    )


@pytest.mark.parametrize("name", sorted(HASHES))
class TestHashFunctions:
    @pytest.mark.parametrize("seed", TOO_LARGE, ids=TOO_LARGE_IDS)
    def test_index_seed_too_large(self, name, seed):
        with pytest.raises(ValueError, match=_too_large(seed)):
            HASHES[name]().index(KERNEL_IDS, TABLE_SIZE, seed)

    @pytest.mark.parametrize("seed", [-1, 0.5])
    def test_index_seed_not_a_non_negative_integer(self, name, seed):
        with pytest.raises(
            ValueError,
            match=r"`seed` must be a non-negative integer\. "
            rf"Received: seed={seed!r}$",
        ):
            HASHES[name]().index(KERNEL_IDS, TABLE_SIZE, seed)

    @pytest.mark.parametrize("seed", [0, 2**64 - 1])
    def test_index_accepts_the_range(self, name, seed):
        entries = HASHES[name]().index(KERNEL_IDS, TABLE_SIZE, seed)
        assert entries.shape == KERNEL_IDS.shape
        assert entries.min() >= 0
        assert entries.max() < TABLE_SIZE

    def test_signs_seed_too_large(self, name):
        with pytest.raises(ValueError, match=_too_large(2**64)):
            HASHES[name]().signs(np.arange(4), 2**64)


@pytest.mark.parametrize(
    "name", ["uniform", "dirichlet", "neighborhood", "hashed_nets"]
)
def test_call_seed_too_large(name):
    # Seeds 1 and 1 + 2**64 once gave the same entries.
    with pytest.raises(ValueError, match=_too_large(1 + 2**64)):
        HASHES[name]()(np.arange(10), TABLE_SIZE, 1 + 2**64)


def test_dirichlet_probabilities_seed():
    dirichlet = hashing.Dirichlet(0.5)
    with pytest.raises(ValueError, match=_too_large(2**64)):
        dirichlet.probabilities(10, seed=2**64)
    with pytest.raises(ValueError, match=r"Received: seed=1\.5$"):
        dirichlet.probabilities(10, seed=1.5)
    # Seeds were taken modulo 2**63 here: 2**63 + 1 drew the `p` of 1.
    assert not np.array_equal(
        dirichlet.probabilities(10, seed=1),
        dirichlet.probabilities(10, seed=2**63 + 1),
    )


def test_counter_seed():
    with pytest.raises(ValueError, match=_too_large(2**64)):
        counter.random_bits([0, 1], 2**64, counter.STREAM_ENTRY)
    np.testing.assert_array_equal(
        counter.random_bits([0, 1], np.uint64(5), counter.STREAM_ENTRY),
        counter.random_bits([0, 1], 5, counter.STREAM_ENTRY),
    )
