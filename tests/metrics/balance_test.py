"""Balance metrics: Shannon entropy (eq. 7) and load statistics."""

import math

import numpy as np
import pytest

from arbnet_keras import hashing
from arbnet_keras import metrics


class TestEntropy:
    @pytest.mark.parametrize("table_size", [1, 2, 10, 1000])
    def test_uniform_usage_is_log_table_size(self, table_size):
        entries = np.tile(np.arange(table_size), 3)
        assert metrics.entropy(entries, table_size) == pytest.approx(
            math.log(table_size)
        )

    def test_one_entry_is_zero(self):
        assert metrics.entropy([4, 4, 4, 4], 10) == 0.0

    def test_hand_computed(self):
        # p = (1/2, 1/4, 1/4): H = ln 2 / 2 + 2 * ln 4 / 4 = 1.5 ln 2.
        assert metrics.entropy([0, 0, 1, 2], 5) == pytest.approx(
            1.5 * math.log(2)
        )

    def test_zeros_are_ignored(self):
        assert metrics.entropy([0, 1, -1, -1, -1], 2) == pytest.approx(
            math.log(2)
        )
        assert metrics.entropy([[0, -1], [1, -1]], 2) == pytest.approx(
            math.log(2)
        )

    def test_all_zeros(self):
        assert metrics.entropy([-1, -1], 3) == 0.0
        assert metrics.entropy(np.array([], "int64"), 3) == 0.0

    def test_unused_entries_do_not_count(self):
        assert metrics.entropy([0, 1], 1000) == pytest.approx(math.log(2))

    def test_returns_float(self):
        assert isinstance(metrics.entropy(np.array([0, 1]), 2), float)


class TestEntryCounts:
    def test_counts(self):
        np.testing.assert_array_equal(
            metrics.entry_counts([[0, 0, 1], [-1, 2, -1]], 4), [2, 1, 1, 0]
        )


class TestLoadStats:
    def test_hand_example(self):
        stats = metrics.load_stats(np.array([[0, 0, 1], [-1, 2, -1]]), 4)
        assert stats["table_size"] == 4
        assert stats["num_weights"] == 6
        assert stats["num_zeros"] == 2
        assert stats["zero_fraction"] == pytest.approx(1 / 3)
        # 4 non-zero weights on 4 entries.
        assert stats["load_factor"] == pytest.approx(1.0)
        assert stats["min_load"] == 0
        assert stats["max_load"] == 2
        assert stats["mean_load"] == pytest.approx(1.0)
        assert stats["unused_entries"] == 1
        assert stats["entropy"] == pytest.approx(1.5 * math.log(2))
        assert stats["max_entropy"] == pytest.approx(math.log(4))
        assert stats["normalized_entropy"] == pytest.approx(0.75)

    def test_balanced(self):
        stats = metrics.load_stats(np.arange(20) % 5, 5)
        assert stats["min_load"] == stats["max_load"] == 4
        assert stats["load_factor"] == 4.0
        assert stats["unused_entries"] == 0
        assert stats["normalized_entropy"] == pytest.approx(1.0)

    def test_table_of_one_entry(self):
        stats = metrics.load_stats([0, 0, -1], 1)
        assert stats["max_entropy"] == 0.0
        assert stats["entropy"] == 0.0
        assert stats["normalized_entropy"] == 1.0

    def test_keys(self):
        assert set(metrics.load_stats([0], 1)) == {
            "table_size",
            "num_weights",
            "num_zeros",
            "zero_fraction",
            "load_factor",
            "min_load",
            "max_load",
            "mean_load",
            "unused_entries",
            "entropy",
            "max_entropy",
            "normalized_entropy",
        }


class TestHashEntropy:
    def test_modulus_is_balanced(self):
        assert metrics.hash_entropy(
            hashing.Modulus(), 1000, 10
        ) == pytest.approx(math.log(10))

    def test_accepts_names(self):
        assert metrics.hash_entropy("modulus", 1000, 10) == pytest.approx(
            math.log(10)
        )

    @pytest.mark.parametrize("name", ["uniform", "hashed_nets", "dirichlet"])
    def test_equals_entropy_of_entries(self, name):
        hash_function = hashing.get(name)
        entries = hash_function(np.arange(5000), 50, 3)
        assert metrics.hash_entropy(name, 5000, 50, seed=3) == pytest.approx(
            metrics.entropy(entries, 50)
        )

    def test_dirichlet_alpha_orders_entropy(self):
        low = metrics.hash_entropy(hashing.Dirichlet(0.01), 20000, 1000, 0)
        high = metrics.hash_entropy(hashing.Dirichlet(10.0), 20000, 1000, 0)
        assert low < high < math.log(1000)
