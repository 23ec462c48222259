"""The Dirichlet hash (eqs. 8-9 of the ArbNets paper)."""

import math

import numpy as np
import pytest

from arbnet_keras import hashing
from arbnet_keras import metrics

ALPHAS = (1e-3, 1e-2, 1e-1, 1.0, 10.0)


def test_entropy_rises_with_alpha():
    table_size, ids = 1000, np.arange(20_000)
    means = [
        np.mean(
            [
                metrics.entropy(
                    hashing.Dirichlet(alpha)(ids, table_size, seed),
                    table_size,
                )
                for seed in range(5)
            ]
        )
        for alpha in ALPHAS
    ]
    assert all(np.diff(means) > 0), means
    # The extremes: nearly one entry, and nearly balanced.
    assert means[0] < 2.0
    assert means[-1] > 0.98 * math.log(table_size)


@pytest.mark.parametrize("alpha", [0.01, 1.0, 10.0])
def test_frequencies_match_probabilities(alpha):
    table_size, num_ids, seed = 50, 200_000, 3
    hash_function = hashing.Dirichlet(alpha)
    p = hash_function.probabilities(table_size, seed)
    entries = hash_function(np.arange(num_ids), table_size, seed)
    freq = np.bincount(entries, minlength=table_size) / num_ids
    # The largest binomial standard deviation is below 1.2e-3.
    assert np.abs(freq - p).max() < 5e-3
    used = p * num_ids > 5
    chi2 = num_ids * np.sum((freq[used] - p[used]) ** 2 / p[used])
    # Chi-square with at most 49 degrees of freedom: mean 49, sd 10.
    assert chi2 < 120
    # Entries of negligible probability are (almost) never drawn.
    assert freq[p < 1e-9].sum() == 0


def test_probabilities():
    p = hashing.Dirichlet(0.3).probabilities(200, seed=4)
    assert p.shape == (200,)
    assert p.dtype == np.float64
    assert np.all(p >= 0)
    assert math.isclose(p.sum(), 1.0, rel_tol=1e-9)
    np.testing.assert_array_equal(
        p, hashing.Dirichlet(0.3).probabilities(200, seed=4)
    )
    assert not np.allclose(p, hashing.Dirichlet(0.3).probabilities(200, 5))
    assert not np.allclose(p, hashing.Dirichlet(0.4).probabilities(200, 4))


def test_probabilities_is_a_copy():
    hash_function = hashing.Dirichlet(1.0)
    p = hash_function.probabilities(20, seed=0)
    p[:] = 0
    assert hash_function.probabilities(20, seed=0).sum() > 0.99


def test_small_alpha_concentrates():
    p = np.sort(hashing.Dirichlet(1e-3).probabilities(1000, seed=0))
    assert p[-10:].sum() > 0.9
    p = hashing.Dirichlet(100.0).probabilities(1000, seed=0)
    assert p.max() < 3 / 1000


def test_p_is_shared_by_all_ids():
    # Two disjoint ranges of ids (two layers of one table) follow one `p`.
    hash_function = hashing.Dirichlet(0.05)
    first = hash_function(np.arange(20_000), 100, seed=8)
    second = hash_function(np.arange(20_000, 40_000), 100, seed=8)
    p = hash_function.probabilities(100, seed=8)
    top = np.argsort(p)[-3:]
    for entries in (first, second):
        counts = np.bincount(entries, minlength=100)
        assert set(np.argsort(counts)[-3:]) == set(top)


@pytest.mark.parametrize(
    "alpha", [0, 0.0, -1, -1e-9, float("nan"), float("inf"), True, "1"]
)
def test_invalid_alpha(alpha):
    with pytest.raises(
        ValueError,
        match=r"`alpha` must be a positive, finite number\. "
        r"Received: alpha=",
    ):
        hashing.Dirichlet(alpha=alpha)


def test_alpha_config():
    assert hashing.Dirichlet(alpha=2).get_config() == {
        "alpha": 2.0,
        "version": 2,
    }
    assert (
        repr(hashing.Dirichlet(alpha=0.5)) == "Dirichlet(alpha=0.5, version=2)"
    )
