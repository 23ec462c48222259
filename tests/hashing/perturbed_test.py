"""Tests of `hashing.Perturbed`: noise and a remap over a base hash."""

import numpy as np
import pytest

from arbnet_keras import hashing

CONV = hashing.Toeplitz(
    input_shape=(12, 12, 1), kernel_size=3, filters=4, strides=2, padding="same"
)
TABLE = 3 * 3 * 1 * 4


def kernel_ids():
    rows, cols = CONV.kernel_shape
    return np.arange(rows * cols, dtype=np.int64).reshape(rows, cols)


def test_no_perturbation_is_the_base():
    ids = kernel_ids()
    np.testing.assert_array_equal(
        hashing.Perturbed(CONV).index(ids, TABLE), CONV.index(ids, TABLE)
    )


@pytest.mark.parametrize("noise", [0.1, 0.5, 1.0])
def test_noise_redraws_about_p_of_the_live_weights_only(noise):
    ids = kernel_ids()
    base = CONV.index(ids, TABLE)
    noisy = hashing.Perturbed(CONV, noise=noise).index(ids, TABLE, seed=3)
    live = base >= 0
    # The receptive fields are kept: zeros stay zeros, and only they.
    np.testing.assert_array_equal(noisy >= 0, live)
    # A weight re-drawn keeps its entry with probability 1/TABLE, so the
    # fraction that changes is p * (1 - 1/TABLE); live weights: 1,296.
    changed = np.mean(noisy[live] != base[live])
    expected = noise * (1 - 1 / TABLE)
    sigma = np.sqrt(noise * (1 - noise) / live.sum()) + 1e-9
    assert abs(changed - expected) < 5 * sigma + 1 / TABLE
    assert noisy.max() < TABLE


def test_noise_one_keeps_the_expected_load():
    """p = 1 is a uniform hash over the same weights: loads stay ~even."""
    ids = kernel_ids()
    live = CONV.index(ids, TABLE) >= 0
    noisy = hashing.Perturbed(CONV, noise=1.0).index(ids, TABLE)
    loads = np.bincount(noisy[live], minlength=TABLE)
    mean = live.sum() / TABLE
    # Multinomial counts: each within 6 standard deviations of the mean.
    assert np.all(np.abs(loads - mean) < 6 * np.sqrt(mean))


def test_remap_keeps_the_structure():
    """Weights that share under the base still share after a remap."""
    ids = kernel_ids()
    base = CONV.index(ids, TABLE)
    remapped = hashing.Perturbed(CONV, remap=hashing.Dirichlet(0.01)).index(
        ids, TABLE, seed=1
    )
    live = base >= 0
    np.testing.assert_array_equal(remapped >= 0, live)
    for entry in range(TABLE):
        assert len(np.unique(remapped[base == entry])) == 1


def test_small_alpha_unbalances_the_table():
    ids = kernel_ids()

    def entropy(alpha):
        hash = hashing.Perturbed(CONV, remap=hashing.Dirichlet(alpha))
        entries = hash.index(ids, TABLE, seed=0)
        counts = np.bincount(entries[entries >= 0], minlength=TABLE)
        p = counts[counts > 0] / counts.sum()
        return -(p * np.log(p)).sum()

    assert entropy(0.01) < entropy(100.0) < np.log(TABLE) + 1e-9


def test_deterministic_and_seeded():
    ids = kernel_ids()
    hash = hashing.Perturbed(CONV, noise=0.3, remap="dirichlet")
    a = hash.index(ids, TABLE, seed=5)
    np.testing.assert_array_equal(a, hash.index(ids, TABLE, seed=5))
    assert np.any(a != hash.index(ids, TABLE, seed=6))


def test_identifier_hash_base_and_call():
    ids = np.arange(1000)
    hash = hashing.Perturbed("modulus", noise=0.5)
    entries = hash(ids, 10, seed=0)
    assert entries.shape == (1000,) and entries.min() >= 0
    assert entries.max() < 10
    assert 0.3 < np.mean(entries != ids % 10) < 0.6


def test_table_size_comes_from_the_base():
    hash = hashing.Perturbed(CONV, noise=0.1)
    assert hash.sets_table_size
    assert hash.required_table_size(CONV.kernel_shape, None) == TABLE


def test_config_round_trip():
    hash = hashing.Perturbed(CONV, noise=0.25, remap=hashing.Dirichlet(0.5))
    restored = hashing.get(hashing.serialize(hash))
    assert restored == hash
    ids = kernel_ids()
    np.testing.assert_array_equal(
        restored.index(ids, TABLE, seed=2), hash.index(ids, TABLE, seed=2)
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"base": CONV, "noise": 1.5}, "`noise` must be a number in"),
        ({"base": CONV, "noise": True}, "`noise` must be a number in"),
        ({"base": "nope"}, "`base` must be a hash function"),
        ({"base": CONV, "remap": "nope"}, "`remap` must be a hash function"),
        (
            {"base": hashing.Perturbed(CONV)},
            "`base` must not itself be `Perturbed`",
        ),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        hashing.Perturbed(**kwargs)


def test_merge_is_even_and_keeps_the_structure():
    """Each merged entry holds TABLE / k of the base's entries."""
    ids = kernel_ids()
    base = CONV.index(ids, TABLE)
    live = base >= 0
    merged = hashing.Perturbed(CONV, merge=6).index(ids, TABLE, seed=4)
    np.testing.assert_array_equal(merged >= 0, live)
    sources = [np.unique(base[live][merged[live] == j]) for j in range(6)]
    # 36 entries into 6: exactly 6 each, every base entry in one place.
    assert [len(s) for s in sources] == [6] * 6
    assert sorted(np.concatenate(sources)) == list(range(TABLE))
    # At random: not the entries' numbers modulo 6, and seeded.
    assert np.any(merged[live] != base[live] % 6)
    again = hashing.Perturbed(CONV, merge=6).index(ids, TABLE, seed=4)
    np.testing.assert_array_equal(merged, again)


def test_noise_after_a_merge_stays_in_the_merged_entries():
    ids = kernel_ids()
    merged = hashing.Perturbed(CONV, merge=4, noise=1.0).index(ids, TABLE)
    assert set(np.unique(merged[merged >= 0])) == set(range(4))


def test_signs_and_zeros_are_the_bases():
    ids = np.arange(500)
    for version in (1, 2):
        base = hashing.Uniform(version=version)
        hash = hashing.Perturbed(base, noise=0.5)
        assert hash.version == version
        np.testing.assert_array_equal(hash.signs(ids, 3), base.signs(ids, 3))
        np.testing.assert_array_equal(
            hash.zeros(ids, 3, 0.5), base.zeros(ids, 3, 0.5)
        )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"merge": 0}, "`merge` must be a positive integer"),
        ({"merge": 4, "remap": "dirichlet"}, "not both"),
        ({"remap": CONV}, "`remap` must hash identifiers"),
    ],
)
def test_bad_merge_and_remap(kwargs, message):
    with pytest.raises(ValueError, match=message):
        hashing.Perturbed(CONV, **kwargs)


def test_merge_larger_than_the_table():
    hash = hashing.Perturbed(CONV, merge=TABLE + 1)
    with pytest.raises(ValueError, match="`merge` must be at most"):
        hash.index(kernel_ids(), TABLE)
