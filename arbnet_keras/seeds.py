"""Seed handling shared by layers and tables."""

import numbers

import numpy as np


def resolve_seed(seed):
    """Returns `seed` as an int, drawing a fresh one from OS entropy if None.

    The drawn seed is stored in the owner's config, so a saved model
    rebuilds the same sharing pattern. The global NumPy random state is
    never touched.
    """
    if seed is None:
        return int(np.random.SeedSequence().entropy % 2**31)
    if (
        isinstance(seed, bool)
        or not isinstance(seed, numbers.Integral)
        or seed < 0
    ):
        raise ValueError(
            f"`seed` must be a non-negative integer or None. Received: "
            f"seed={seed!r}"
        )
    return int(seed)
