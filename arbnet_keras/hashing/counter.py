"""Counter-based random numbers: a pure function of (seed, stream, counter).

Every random choice of arbnet_keras (which entry a weight maps to, which
weights are fixed at zero, the sign of a weight) is a hash of the weight's
identifier, so it never touches a global random state, does not depend on
`PYTHONHASHSEED`, and any subset of identifiers can be hashed on its own
(which is what lets several layers share one table consistently).

The mixer is SplitMix64's finalizer (Steele, Lea and Flood, 2014) applied to
the counter offset by a per-(seed, stream) key.
"""

import numpy as np

from arbnet_keras.seeds import validate_seed

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)

# Independent streams drawn from one seed.
STREAM_ENTRY = 1
STREAM_ZERO = 2
STREAM_SIGN = 3
STREAM_TABLE = 4
STREAM_COIN = 5
# `Perturbed`'s noise: which weights are re-drawn, and their new entries.
STREAM_NOISE = 6
STREAM_NOISE_ENTRY = 7
# `Perturbed`'s even merge: the permutation of the entries.
STREAM_MERGE = 8


def _mix(x):
    # In place where `x` is an array: index builds hash tens of millions
    # of identifiers, and temporaries would dominate their time.
    if np.ndim(x) == 0:
        x = x ^ (x >> np.uint64(30))
        x = x * _MUL1
        x = x ^ (x >> np.uint64(27))
        x = x * _MUL2
        return x ^ (x >> np.uint64(31))
    x ^= x >> np.uint64(30)
    x *= _MUL1
    x ^= x >> np.uint64(27)
    x *= _MUL2
    x ^= x >> np.uint64(31)
    return x


def _key(seed, stream):
    seed = np.uint64(validate_seed(seed))
    with np.errstate(over="ignore"):
        key = seed * _GOLDEN
        return _mix(key ^ np.uint64(stream) * _MUL2)


def random_bits(counters, seed, stream):
    """Returns 64 random bits (`uint64`) per counter.

    Raises:
        ValueError: If `seed` is not an integer in `[0, 2**64)`.
    """
    bits = np.array(counters, dtype=np.uint64, ndmin=1)
    with np.errstate(over="ignore"):
        bits += _key(seed, stream)
        bits *= _GOLDEN
        bits = _mix(bits)
    return bits.reshape(np.shape(counters))


def random_uniform(counters, seed, stream):
    """Returns one float64 in [0, 1) per counter, with 53 random bits."""
    bits = random_bits(counters, seed, stream)
    bits >>= np.uint64(11)
    # int64 converts to float64 with SIMD; uint64 does not.
    uniform = bits.view(np.int64).astype(np.float64)
    uniform *= 1.0 / 2**53
    return uniform


def random_integers(counters, seed, stream, high):
    """Returns one integer in [0, high) per counter (int64)."""
    draws = random_uniform(counters, seed, stream)
    draws *= high
    draws = draws.astype(np.int64)
    np.minimum(draws, high - 1, out=draws)
    return draws
