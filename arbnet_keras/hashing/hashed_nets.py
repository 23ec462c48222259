"""The xxHash32 hash of HashedNets (Chen et al., 2015)."""

import keras
import numpy as np

from arbnet_keras.hashing.graph_hash import SIGN_SEED_XOR as _SIGN_SEED_XOR
from arbnet_keras.hashing.graph_hash import XXH_P2 as _P2
from arbnet_keras.hashing.graph_hash import XXH_P3 as _P3
from arbnet_keras.hashing.graph_hash import XXH_P4 as _P4
from arbnet_keras.hashing.graph_hash import XXH_P5 as _P5
from arbnet_keras.hashing.hash_function import HashFunction
from arbnet_keras.hashing.hash_function import validate_hash_arguments
from arbnet_keras.seeds import validate_seed


def _rotl(x, r):
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def xxh32_uint64(keys, seed):
    """XXH32 of each key's 8-byte little-endian encoding, vectorized.

    Equal to `xxhash.xxh32_intdigest(int(k).to_bytes(8, "little"), seed)`
    for every key `k` (the tests check this against the `xxhash` package),
    but runs as a handful of NumPy operations over the whole array.

    Args:
        keys: Array of non-negative integers below `2**64`.
        seed: Integer seed, taken modulo `2**32`.

    Returns:
        A uint32 array shaped like `keys`.
    """
    keys = np.asarray(keys).astype(np.uint64, copy=False)
    low = (keys & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    high = (keys >> np.uint64(32)).astype(np.uint32)
    with np.errstate(over="ignore"):
        acc = np.full(keys.shape, int(seed) % 2**32, dtype=np.uint32)
        acc = acc + _P5 + np.uint32(8)
        for lane in (low, high):
            acc = _rotl(acc + lane * _P3, 17) * _P4
        acc ^= acc >> np.uint32(15)
        acc *= _P2
        acc ^= acc >> np.uint32(13)
        acc *= _P3
        acc ^= acc >> np.uint32(16)
    return acc


@keras.saving.register_keras_serializable(package="arbnet_keras")
class HashedNets(HashFunction):
    """The hashing trick of HashedNets: `entry = xxHash32(id) mod n`.

    Chen et al. (2015) hash each weight's position in its layer with
    xxHash32, one table per layer, and multiply each weight by a second,
    independent sign hash `xi(id)` in {-1, +1} (use `sign=True` on the
    layer). The key is the identifier's 8-byte little-endian encoding and
    the seed is the layer's seed modulo 2**32; the sign hash uses the same
    key with a different seed.

    Reference:
        - [Chen et al., 2015](https://arxiv.org/abs/1504.04788)

    Example:

    >>> HashedNets()(np.arange(5), table_size=3, seed=0).shape
    (5,)
    """

    def __call__(self, ids, table_size, seed=0):
        table_size, seed = validate_hash_arguments(table_size, seed)
        if table_size > 2**32:
            raise ValueError(
                "The HashedNets hash draws 32-bit digests: `table_size` must "
                f"be at most 2**32. Received: table_size={table_size}"
            )
        digest = xxh32_uint64(ids, seed)
        return (digest % np.uint64(table_size)).astype(np.int64)

    computes_in_graph = True
    computes_signs_in_graph = True

    def graph_entries(self, ids, table_size, seed=0):
        from arbnet_keras.hashing import graph_hash

        return graph_hash.hashed_nets_entries(ids, table_size, seed)

    def graph_signs(self, ids, seed, dtype):
        from arbnet_keras.hashing import graph_hash

        return graph_hash.hashed_nets_signs(ids, seed, dtype)

    def signs(self, ids, seed=0):
        seed = validate_seed(seed)
        digest = xxh32_uint64(ids, (int(seed) ^ _SIGN_SEED_XOR) % 2**32)
        return (1 - 2 * (digest & np.uint32(1)).astype(np.int8)).astype(np.int8)
