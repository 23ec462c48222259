"""Hashes computed inside the model's graph, bit for bit as in NumPy.

A hash that can be computed from identifiers with 32-bit integer
operations needs no stored index: the layer computes the entries of the
weights it needs inside the step, from their identifiers. This is what
lets an embedding look up a vocabulary of tens of millions of tokens with
its table's memory alone, and a deployed model hold its table and little
else.

Every backend computes in int32 with two's complement wrap-around (as
XLA, TensorFlow's CPU kernels and PyTorch do), so an unsigned 32-bit value
is carried as the int32 of the same bits. Inside `tflite_builtins()` only
operations that TFLite has as built-ins are used (multiply, add,
`bitwise_xor`, arithmetic right shift, floor modulo, comparisons,
select), so an exported model computes its hash without TensorFlow
kernels. The tests check every function here, in both forms, against its
NumPy counterpart on every backend.
"""

import contextlib

import numpy as np
from keras import ops

# xxHash32's primes, shared with the NumPy implementation in `hashed_nets`.
XXH_P1 = np.uint32(2654435761)
XXH_P2 = np.uint32(2246822519)
XXH_P3 = np.uint32(3266489917)
XXH_P4 = np.uint32(668265263)
XXH_P5 = np.uint32(374761393)
SIGN_SEED_XOR = 0x9E3779B1
_P2, _P3, _P4, _P5 = XXH_P2, XXH_P3, XXH_P4, XXH_P5
_SIGN_SEED_XOR = SIGN_SEED_XOR

# Tables of at most this many entries: the unsigned remainder is computed
# in int32 as `((digest >> 1) mod n) * 2 + lowest bit`, below 2**31.
MAX_GRAPH_TABLE_SIZE = 2**30


def _signed(value):
    """The int32 with the bits of the unsigned 32-bit `value`."""
    value = int(value) % 2**32
    return value - 2**32 if value >= 2**31 else value


def _const(value):
    return ops.convert_to_tensor(_signed(value), dtype="int32")


# Whether to write the hash with TFLite's built-in operators only (see
# `tflite_builtins`); the bits are the same either way.
_BUILTINS_ONLY = False


@contextlib.contextmanager
def tflite_builtins():
    """Within it, graph hashes use only TFLite's built-in operators.

    TFLite has no `BitwiseAnd`, `BitwiseOr` or `LeftShift`: inside this
    context logical shifts, rotations, low bits and unsigned remainders
    are written with floor modulo, multiplication and addition instead,
    which gives the same bits about half as fast. `deploy.export` traces
    the serving graph inside it; training uses the faster form.
    """
    global _BUILTINS_ONLY
    previous, _BUILTINS_ONLY = _BUILTINS_ONLY, True
    try:
        yield
    finally:
        _BUILTINS_ONLY = previous


def _shr(x, bits):
    """Logical right shift of the int32 bit patterns `x`, `bits` >= 1.

    The arithmetic shift brings in copies of the sign bit; a mask (or,
    with built-ins only, the remainder modulo `2**(32 - bits)`, for
    `bits` >= 2) drops them.
    """
    if _BUILTINS_ONLY and bits >= 2:
        return ops.mod(ops.right_shift(x, bits), 2 ** (32 - bits))
    return ops.bitwise_and(ops.right_shift(x, bits), (1 << (32 - bits)) - 1)


def _rotl(x, bits):
    if _BUILTINS_ONLY:
        # The two parts share no bit, so `+` is `|`; int32 multiplication
        # by `2**bits` wraps like a left shift.
        return ops.add(ops.multiply(x, 2**bits), _shr(x, 32 - bits))
    return ops.bitwise_or(ops.left_shift(x, bits), _shr(x, 32 - bits))


def _low_bit(x):
    if _BUILTINS_ONLY:
        return ops.mod(x, 2)
    return ops.bitwise_and(x, 1)


def split_words(ids):
    """The low and high 32-bit words (int32 bit patterns) of `ids`.

    Args:
        ids: Non-negative integer tensor: int32, or int64 where the
            backend computes in 64 bits.
    """
    if ops.dtype(ids) == "int32":
        return ids, ops.zeros_like(ids)
    low = ops.mod(ids, 2**32)
    low = ops.where(low >= 2**31, low - 2**32, low)
    high = ops.right_shift(ids, 32)
    return ops.cast(low, "int32"), ops.cast(high, "int32")


def xxh32_words(low, high, seed):
    """XXH32 of the 8-byte keys `(low, high)`, as int32 bit patterns.

    Equal, bit for bit, to `hashed_nets.xxh32_uint64(high * 2**32 + low,
    seed)` viewed as int32.
    """
    # A scalar start broadcasts: a `full` of the keys' shape would be
    # stored at that size by a converter that folds constants.
    acc = _const(int(seed) + int(_P5) + 8)
    for lane in (low, high):
        acc = ops.multiply(
            _rotl(ops.add(acc, ops.multiply(lane, _const(_P3))), 17),
            _const(_P4),
        )
    acc = ops.bitwise_xor(acc, _shr(acc, 15))
    acc = ops.multiply(acc, _const(_P2))
    acc = ops.bitwise_xor(acc, _shr(acc, 13))
    acc = ops.multiply(acc, _const(_P3))
    return ops.bitwise_xor(acc, _shr(acc, 16))


def unsigned_mod(digest, modulus):
    """`digest mod modulus` for unsigned 32-bit digests held as int32.

    Args:
        digest: int32 tensor of bit patterns.
        modulus: Python int in `[1, MAX_GRAPH_TABLE_SIZE]`.
    """
    if _BUILTINS_ONLY:
        # A negative int32 stands for itself plus 2**32: its remainder is
        # corrected by `2**32 mod modulus`; no sum reaches 2**31.
        correction = ops.where(digest < 0, 2**32 % modulus, 0)
        return ops.mod(ops.add(ops.mod(digest, modulus), correction), modulus)
    half = ops.mod(_shr(digest, 1), modulus)
    return ops.mod(ops.add(ops.multiply(half, 2), _low_bit(digest)), modulus)


def hashed_nets_entries(ids, table_size, seed):
    """`HashedNets()(ids, table_size, seed)` computed in the graph."""
    low, high = split_words(ids)
    return unsigned_mod(xxh32_words(low, high, int(seed) % 2**32), table_size)


def hashed_nets_signs(ids, seed, dtype):
    """`HashedNets().signs(ids, seed)` computed in the graph, as `dtype`."""
    low, high = split_words(ids)
    digest = xxh32_words(low, high, (int(seed) ^ _SIGN_SEED_XOR) % 2**32)
    bit = ops.cast(_low_bit(digest), dtype)
    return 1 - 2 * bit


# The 32-bit counter of hash version 2 (`Uniform`, `Dirichlet`,
# `Neighborhood`, and the zeros and signs of their layers). Version 1 draws
# from SplitMix64 in 64-bit arithmetic, which not every backend has in its
# graph (JAX disables 64-bit integers by default); version 2 draws 32 bits
# per identifier from two rounds of a 32-bit mixer (Wellons' "lowbias32")
# keyed by the seed and stream, the same in NumPy (uint32) and in the graph
# (int32), so a layer can compute its entries inside the step.

_M1 = 0x7FEB352D
_M2 = 0x846CA68B


def stream_keys(seed, stream):
    """Two 32-bit keys of `(seed, stream)`, from the SplitMix64 key."""
    from arbnet_keras.hashing import counter

    key = int(counter._key(seed, stream))
    return key & 0xFFFFFFFF, key >> 32


def _mix_np(x):
    x ^= x >> np.uint32(16)
    x *= np.uint32(_M1)
    x ^= x >> np.uint32(15)
    x *= np.uint32(_M2)
    x ^= x >> np.uint32(16)
    return x


def bits32(ids, seed, stream):
    """32 random bits (uint32) per identifier, in NumPy."""
    ids = np.asarray(ids, dtype=np.int64)
    k1, k2 = stream_keys(seed, stream)
    low = (ids & 0xFFFFFFFF).astype(np.uint32)
    high = (ids >> 32).astype(np.uint32)
    with np.errstate(over="ignore"):
        low ^= np.uint32(k1)
        h = _mix_np(low)
        h ^= high
        h ^= np.uint32(k2)
        return _mix_np(h)


def _mix(x):
    x = ops.bitwise_xor(x, _shr(x, 16))
    x = ops.multiply(x, _const(_M1))
    x = ops.bitwise_xor(x, _shr(x, 15))
    x = ops.multiply(x, _const(_M2))
    return ops.bitwise_xor(x, _shr(x, 16))


def graph_bits32(ids, seed, stream):
    """`bits32` computed in the graph, as int32 bit patterns."""
    k1, k2 = stream_keys(seed, stream)
    low, high = split_words(ids)
    h = _mix(ops.bitwise_xor(low, _const(k1)))
    return _mix(ops.bitwise_xor(ops.bitwise_xor(h, high), _const(k2)))


def integers32(ids, seed, stream, high):
    """Integers in `[0, high)` (int64), `bits32 mod high`, in NumPy."""
    return (bits32(ids, seed, stream) % np.uint32(high)).astype(np.int64)


def graph_integers32(ids, seed, stream, high):
    """`integers32` in the graph (`high` at most `MAX_GRAPH_TABLE_SIZE`)."""
    return unsigned_mod(graph_bits32(ids, seed, stream), high)


# Bernoulli draws compare the top 24 bits with `round(p * 2**24)`.
_PROBABILITY_BITS = 24


def probability_threshold(probability):
    """The integer threshold of a Bernoulli(`probability`) draw."""
    return int(round(float(probability) * 2**_PROBABILITY_BITS))


def below32(ids, seed, stream, threshold):
    """Whether the top 24 of `bits32` are below `threshold`, in NumPy."""
    top = bits32(ids, seed, stream) >> np.uint32(32 - _PROBABILITY_BITS)
    return top < np.asarray(threshold, dtype=np.uint32)


def graph_below32(ids, seed, stream, threshold):
    """`below32` in the graph; `threshold` a scalar or an int32 tensor."""
    top = _shr(graph_bits32(ids, seed, stream), 32 - _PROBABILITY_BITS)
    return ops.less(top, threshold)


def signs32(ids, seed, stream):
    """+1/-1 (int8) from the lowest bit of `bits32`, in NumPy."""
    bit = (bits32(ids, seed, stream) & np.uint32(1)).astype(np.int8)
    return (1 - 2 * bit).astype(np.int8)


def graph_signs32(ids, seed, stream, dtype):
    """`signs32` in the graph, as `dtype`."""
    bit = _low_bit(graph_bits32(ids, seed, stream))
    return 1 - 2 * ops.cast(bit, dtype)
