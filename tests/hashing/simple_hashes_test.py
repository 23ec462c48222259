"""Identity, Modulus and Uniform hashes."""

import numpy as np
import pytest

from arbnet_keras import hashing
from arbnet_keras import metrics


class TestIdentity:
    def test_entry_is_id(self):
        ids = np.array([4, 0, 9, 3, 3])
        np.testing.assert_array_equal(hashing.Identity()(ids, 10), ids)

    def test_seed_is_ignored(self):
        ids = np.arange(50)
        np.testing.assert_array_equal(
            hashing.Identity()(ids, 50, seed=1),
            hashing.Identity()(ids, 50, seed=2),
        )

    def test_sets_table_size(self):
        assert hashing.Identity().sets_table_size
        assert hashing.Identity().required_table_size((3, 4), 12) == 12

    def test_table_too_small(self):
        with pytest.raises(
            ValueError,
            match=r"`table_size` must be at least 10\. "
            r"Received: table_size=9",
        ):
            hashing.Identity()(np.arange(10), 9)


class TestModulus:
    @pytest.mark.parametrize("table_size", [1, 7, 100, 1000])
    def test_is_id_mod_table_size(self, table_size):
        ids = np.concatenate([np.arange(5000), [2**40 + 3, 2**62 + 11]])
        np.testing.assert_array_equal(
            hashing.Modulus()(ids, table_size, seed=3), ids % table_size
        )

    def test_hand_computed(self):
        np.testing.assert_array_equal(
            hashing.Modulus()(np.arange(7), 3), [0, 1, 2, 0, 1, 2, 0]
        )

    def test_perfectly_balanced(self):
        entries = hashing.Modulus()(np.arange(1000), 10)
        np.testing.assert_array_equal(np.bincount(entries), [100] * 10)

    def test_does_not_set_table_size(self):
        assert not hashing.Modulus().sets_table_size
        assert hashing.Modulus().required_table_size((3, 4), 12) is None


class TestUniform:
    def test_roughly_balanced(self):
        table_size, num_ids = 100, 100_000
        entries = hashing.Uniform()(np.arange(num_ids), table_size, seed=5)
        counts = np.bincount(entries, minlength=table_size)
        expected = num_ids / table_size
        # Binomial standard deviation is about 31; allow 6 of them.
        assert np.abs(counts - expected).max() < 6 * np.sqrt(expected)
        h = metrics.entropy(entries, table_size)
        assert h > 0.999 * np.log(table_size)
        assert h < np.log(table_size)

    def test_not_the_modulus(self):
        ids = np.arange(1000)
        entries = hashing.Uniform()(ids, 10, seed=0)
        assert np.mean(entries == ids % 10) < 0.2

    def test_consecutive_ids_are_uncorrelated(self):
        entries = hashing.Uniform()(np.arange(100_000), 2, seed=9)
        # Neighbours agree half of the time.
        assert abs(np.mean(entries[1:] == entries[:-1]) - 0.5) < 0.01

    def test_table_size_one(self):
        np.testing.assert_array_equal(
            hashing.Uniform()(np.arange(20), 1, seed=0), 0
        )
