"""The uniform hash (eq. 2 of the ArbNets paper)."""

import keras
import numpy as np

from arbnet_keras.hashing import counter
from arbnet_keras.hashing.hash_function import HashFunction
from arbnet_keras.hashing.hash_function import validate_hash_arguments


@keras.saving.register_keras_serializable(package="arbnet_keras")
class Uniform(HashFunction):
    """Random sharing: each weight picks an entry uniformly at random (eq. 2).

    The draw is a counter-based hash of `(seed, id)`, so it is fixed for a
    given seed and independent of any global random state.

    Example:

    >>> entries = Uniform()(np.arange(1000), table_size=10, seed=1)
    >>> int(entries.min()), int(entries.max())
    (0, 9)
    """

    def __call__(self, ids, table_size, seed=0):
        table_size, seed = validate_hash_arguments(table_size, seed)
        return counter.random_integers(
            np.asarray(ids, dtype=np.int64),
            seed,
            counter.STREAM_ENTRY,
            table_size,
        )
