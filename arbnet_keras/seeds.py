"""Seed handling shared by layers, tables and hash functions."""

import numbers

import numpy as np

# Seeds key 64-bit counter-based hashes: a larger seed would be reduced
# modulo 2**64 and silently give the sharing of a smaller one.
SEED_LIMIT = 2**64


def validate_seed(seed, allow_none=False):
    """Returns `seed` as an int after checking it lies in `[0, 2**64)`.

    Args:
        seed: The seed to check.
        allow_none: Whether `None` is accepted (and returned as is).
            Defaults to `False`.

    Raises:
        ValueError: If `seed` is not an integer in `[0, 2**64)`.
    """
    if seed is None and allow_none:
        return None
    if (
        isinstance(seed, bool)
        or not isinstance(seed, numbers.Integral)
        or seed < 0
    ):
        expected = "a non-negative integer"
        if allow_none:
            expected += " or None"
        raise ValueError(f"`seed` must be {expected}. Received: seed={seed!r}")
    if seed >= SEED_LIMIT:
        raise ValueError(
            "`seed` must be less than 2**64: seeds key 64-bit hashes, so "
            f"a larger seed would repeat a smaller one. Received: seed={seed}"
        )
    return int(seed)


def resolve_seed(seed):
    """Returns `seed` as an int, drawing a fresh one from OS entropy if None.

    The drawn seed is stored in the owner's config, so a saved model
    rebuilds the same sharing pattern. The global NumPy random state is
    never touched.

    Raises:
        ValueError: If `seed` is neither None nor an integer in
            `[0, 2**64)`.
    """
    if seed is None:
        return int(np.random.SeedSequence().entropy % 2**31)
    return validate_seed(seed, allow_none=True)
