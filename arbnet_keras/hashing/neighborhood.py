"""The Neighborhood hash (eq. 10 of the ArbNets paper)."""

import keras
import numpy as np

from arbnet_keras.hashing import counter
from arbnet_keras.hashing.hash_function import HashFunction
from arbnet_keras.hashing.hash_function import validate_non_negative_int


@keras.saving.register_keras_serializable(package="arbnet_keras")
class Neighborhood(HashFunction):
    """Noisy modulus: `entry = (id + U{-radius..radius}) mod table_size`.

    Eq. 10 of the ArbNets paper. The radius tunes the noise while keeping
    every entry's expected load equal: radius 0 is the modulus hash, and a
    radius of at least half the table spreads each weight over (nearly) the
    whole table, like the uniform hash.

    Args:
        radius: Non-negative integer, the largest offset from `id`.
            Defaults to `0`.

    Example:

    >>> Neighborhood(radius=0)(np.arange(6), table_size=4)
    array([0, 1, 2, 3, 0, 1])
    """

    def __init__(self, radius=0):
        self.radius = validate_non_negative_int("radius", radius)

    def __call__(self, ids, table_size, seed=0):
        ids = np.asarray(ids, dtype=np.int64)
        if self.radius == 0:
            return ids % table_size
        offsets = counter.random_integers(
            ids, seed, counter.STREAM_ENTRY, 2 * self.radius + 1
        )
        return (ids + offsets - self.radius) % table_size

    def get_config(self):
        return {"radius": self.radius}
