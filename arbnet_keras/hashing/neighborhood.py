"""The Neighborhood hash (eq. 10 of the ArbNets paper)."""

import keras
import numpy as np

from arbnet_keras.hashing import counter
from arbnet_keras.hashing.hash_function import HashFunction
from arbnet_keras.hashing.hash_function import validate_hash_arguments
from arbnet_keras.hashing.hash_function import validate_non_negative_int

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

    Raises:
        ValueError: If `radius` is not an integer in `[0, 2**40]`.

    Example:

    >>> Neighborhood(radius=0)(np.arange(6), table_size=4)
    array([0, 1, 2, 3, 0, 1])
    """

    def __init__(self, radius=0):
        radius = validate_non_negative_int("radius", radius)
        if radius > MAX_RADIUS:
            raise ValueError(
                "`radius` must be at most 2**40 (offsets are drawn from 53 "
                "random bits; a radius of half the table size already "
                f"spreads weights over the whole table). Received: "
                f"radius={radius}"
            )
        self.radius = radius

    def __call__(self, ids, table_size, seed=0):
        table_size, seed = validate_hash_arguments(table_size, seed)
        ids = np.asarray(ids, dtype=np.int64)
        if self.radius == 0:
            return ids % table_size
        offsets = counter.random_integers(
            ids, seed, counter.STREAM_ENTRY, 2 * self.radius + 1
        )
        offsets -= self.radius
        return (ids + offsets) % table_size

    def get_config(self):
        return {"radius": self.radius}
