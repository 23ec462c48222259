"""The Neighborhood hash (eq. 10 of the ArbNets paper)."""

import keras
import numpy as np

from arbnet_keras.hashing import counter
from arbnet_keras.hashing import graph_hash
from arbnet_keras.hashing.hash_function import HashFunction
from arbnet_keras.hashing.hash_function import validate_hash_arguments
from arbnet_keras.hashing.hash_function import validate_non_negative_int
from arbnet_keras.hashing.hash_function import validate_version
from arbnet_keras.hashing.hash_function import versioned_config

# Offsets are drawn from 53 random bits: up to this radius every offset is
# drawn with the same probability to within 2**-12 of it. Beyond 2**52 some
# offsets are never drawn (at 2**62 the hash degenerates to a constant
# shift); and a radius of half the table size already spreads each weight
# over the whole table.
MAX_RADIUS = 2**40


@keras.saving.register_keras_serializable(package="arbnet_keras")
class Neighborhood(HashFunction):
    """Noisy modulus: `entry = (id + U{-radius..radius}) mod table_size`.

    Eq. 10 of the ArbNets paper. The radius tunes the noise while keeping
    every entry's expected load equal: radius 0 is the modulus hash, and a
    radius of at least half the table spreads each weight over (nearly) the
    whole table, like the uniform hash.

    Args:
        radius: Integer in `[0, 2**40]`, the largest offset from `id`.
            Defaults to `0`.
        version: `2` (the default) draws offsets with a 32-bit counter
            the model's graph computes too (radius below 2**31), so layers
            need no stored index; `1` is the 64-bit draw of models saved
            before version 2, which configs without a version load as.
            Defaults to `2`.

    Raises:
        ValueError: If `radius` is not an integer in `[0, 2**40]`.

    Example:

    >>> Neighborhood(radius=0)(np.arange(6), table_size=4)
    array([0, 1, 2, 3, 0, 1])
    """

    def __init__(self, radius=0, version=2):
        radius = validate_non_negative_int("radius", radius)
        self.version = validate_version(version)
        if radius > MAX_RADIUS:
            raise ValueError(
                "`radius` must be at most 2**40 (offsets are drawn from 53 "
                "random bits; a radius of half the table size already "
                f"spreads weights over the whole table). Received: "
                f"radius={radius}"
            )
        if self.version == 2 and radius >= 2**31:
            raise ValueError(
                "Version 2 hashes draw 32 bits: `radius` must be below 2**31 "
                f"(or use `version=1`). Received: radius={radius}"
            )
        self.radius = radius

    def __call__(self, ids, table_size, seed=0):
        table_size, seed = validate_hash_arguments(table_size, seed)
        ids = np.asarray(ids, dtype=np.int64)
        if self.radius == 0:
            return ids % table_size
        if self.version == 2:
            offsets = graph_hash.integers32(
                ids, seed, counter.STREAM_ENTRY, 2 * self.radius + 1
            )
        else:
            offsets = counter.random_integers(
                ids, seed, counter.STREAM_ENTRY, 2 * self.radius + 1
            )
        offsets -= self.radius
        return (ids + offsets) % table_size

    @property
    def computes_in_graph(self):
        width = 2 * self.radius + 1
        return self.version == 2 and width <= graph_hash.MAX_GRAPH_TABLE_SIZE

    def graph_entries(self, ids, table_size, seed=0):
        from keras import ops

        if self.radius == 0:
            return ops.mod(ids, table_size)
        offsets = graph_hash.graph_integers32(
            ids, seed, counter.STREAM_ENTRY, 2 * self.radius + 1
        )
        # Each term below `table_size`: no int32 overflow.
        offsets = ops.mod(offsets - self.radius, table_size)
        return ops.mod(ops.mod(ids, table_size) + offsets, table_size)

    def get_config(self):
        return {"radius": self.radius, "version": self.version}

    @classmethod
    def from_config(cls, config):
        return cls(**versioned_config(config))
