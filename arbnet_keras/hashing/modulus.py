"""The modulus hash (eq. 1 of the ArbNets paper)."""

import keras
import numpy as np

from arbnet_keras.hashing.hash_function import HashFunction
from arbnet_keras.hashing.hash_function import validate_hash_arguments


@keras.saving.register_keras_serializable(package="arbnet_keras")
class Modulus(HashFunction):
    """Deterministic sharing: `entry = id mod table_size` (eq. 1).

    Perfectly balanced and noise-free. With identifiers numbered across
    layers and `table_size` equal to a layer's size, it is an RNN's sharing
    (section 2.3). Beware aliasing: when the number of units divides
    `table_size`, whole rows (or columns) of the kernel repeat; see the
    `numbering` argument of `HashedDense`.

    Example:

    >>> Modulus()(np.arange(6), table_size=4)
    array([0, 1, 2, 3, 0, 1])
    """

    computes_in_graph = True

    def graph_entries(self, ids, table_size, seed=0):
        from keras import ops

        return ops.mod(ids, table_size)

    def __call__(self, ids, table_size, seed=0):
        table_size, _ = validate_hash_arguments(table_size, seed)
        return np.asarray(ids, dtype=np.int64) % table_size
