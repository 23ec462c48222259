"""Hashes computed inside the model's graph, bit for bit as in NumPy.

A hash that can be computed from identifiers with 32-bit integer
operations needs no stored index: the layer computes the entries of the
weights it needs inside the step, from their identifiers. This is what
lets an embedding look up a vocabulary of tens of millions of tokens with
its table's memory alone, and a deployed model hold its table and little
else.

Every backend computes in int32 with two's complement wrap-around (as
XLA, TensorFlow's CPU kernels and PyTorch do), so an unsigned 32-bit value
is carried as the int32 of the same bits. Logical right shifts mask the
sign bits an arithmetic shift brings in. The tests check every function
here against its NumPy counterpart on every backend.
"""

from keras import ops

from arbnet_keras.hashing.hashed_nets import _P2
from arbnet_keras.hashing.hashed_nets import _P3
from arbnet_keras.hashing.hashed_nets import _P4
from arbnet_keras.hashing.hashed_nets import _P5
from arbnet_keras.hashing.hashed_nets import _SIGN_SEED_XOR

# Tables of at most this many entries: the unsigned remainder is computed
# in int32 as `((digest >> 1) mod n) * 2 + lowest bit`, below 2**31.
MAX_GRAPH_TABLE_SIZE = 2**30


def _signed(value):
    """The int32 with the bits of the unsigned 32-bit `value`."""
    value = int(value) % 2**32
    return value - 2**32 if value >= 2**31 else value


def _const(value):
    return ops.convert_to_tensor(_signed(value), dtype="int32")


def _shr(x, bits):
    """Logical right shift of the int32 bit patterns `x`."""
    return ops.bitwise_and(ops.right_shift(x, bits), (1 << (32 - bits)) - 1)


def _rotl(x, bits):
    return ops.bitwise_or(ops.left_shift(x, bits), _shr(x, 32 - bits))


def split_words(ids):
    """The low and high 32-bit words (int32 bit patterns) of `ids`.

    Args:
        ids: Non-negative integer tensor: int32, or int64 where the
            backend computes in 64 bits.
    """
    if ops.dtype(ids) == "int32":
        return ids, ops.zeros_like(ids)
    low = ops.bitwise_and(ids, 0xFFFFFFFF)
    low = ops.where(low >= 2**31, low - 2**32, low)
    high = ops.right_shift(ids, 32)
    return ops.cast(low, "int32"), ops.cast(high, "int32")


def xxh32_words(low, high, seed):
    """XXH32 of the 8-byte keys `(low, high)`, as int32 bit patterns.

    Equal, bit for bit, to `hashed_nets.xxh32_uint64(high * 2**32 + low,
    seed)` viewed as int32.
    """
    acc = ops.full(ops.shape(low), _signed(int(seed) + int(_P5) + 8), "int32")
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
    half = ops.mod(_shr(digest, 1), modulus)
    low_bit = ops.bitwise_and(digest, 1)
    return ops.mod(ops.add(ops.multiply(half, 2), low_bit), modulus)


def hashed_nets_entries(ids, table_size, seed):
    """`HashedNets()(ids, table_size, seed)` computed in the graph."""
    low, high = split_words(ids)
    return unsigned_mod(xxh32_words(low, high, int(seed) % 2**32), table_size)


def hashed_nets_signs(ids, seed, dtype):
    """`HashedNets().signs(ids, seed)` computed in the graph, as `dtype`."""
    low, high = split_words(ids)
    digest = xxh32_words(low, high, (int(seed) ^ _SIGN_SEED_XOR) % 2**32)
    bit = ops.cast(ops.bitwise_and(digest, 1), dtype)
    return 1 - 2 * bit
