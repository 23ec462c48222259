"""The identity hash: an ordinary, unshared layer."""

import keras
import numpy as np

from arbnet_keras.hashing.hash_function import HashFunction
from arbnet_keras.hashing.hash_function import validate_hash_arguments


@keras.saving.register_keras_serializable(package="arbnet_keras")
class Identity(HashFunction):
    """Every weight gets its own entry: `entry = id` (an ordinary MLP).

    Section 2.1 of the ArbNets paper: a fully connected layer is an ArbNet
    whose hash function is the identity. The table has one entry per
    identifier, so `table_size` need not be given.

    Example:

    >>> Identity()(np.arange(4), table_size=4)
    array([0, 1, 2, 3])
    """

    def __call__(self, ids, table_size, seed=0):
        table_size, _ = validate_hash_arguments(table_size, seed)
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size and ids.max() >= table_size:
            raise ValueError(
                "The identity hash needs one table entry per weight: "
                f"`table_size` must be at least {int(ids.max()) + 1}. "
                f"Received: table_size={table_size}"
            )
        return ids

    sets_table_size = True

    def required_table_size(self, kernel_shape, num_ids):
        return num_ids
