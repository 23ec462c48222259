"""The uniform hash (eq. 2 of the ArbNets paper)."""

import keras
import numpy as np

from arbnet_keras.hashing import counter
from arbnet_keras.hashing import graph_hash
from arbnet_keras.hashing.hash_function import HashFunction
from arbnet_keras.hashing.hash_function import validate_hash_arguments
from arbnet_keras.hashing.hash_function import validate_version
from arbnet_keras.hashing.hash_function import versioned_config


@keras.saving.register_keras_serializable(package="arbnet_keras")
class Uniform(HashFunction):
    """Random sharing: each weight picks an entry uniformly at random (eq. 2).

    The draw is a counter-based hash of `(seed, id)`, so it is fixed for a
    given seed and independent of any global random state.

    Args:
        version: `2` (the default) draws 32 bits per identifier with a
            counter the model's graph computes too, so layers need no
            stored index (`kernel_mode="hash"`, large layers, embeddings,
            small exported models); `1` is the 64-bit draw of models
            saved before version 2, which configs without a version load
            as. Defaults to `2`.

    Example:

    >>> entries = Uniform()(np.arange(1000), table_size=10, seed=1)
    >>> int(entries.min()), int(entries.max())
    (0, 9)
    """

    def __init__(self, version=2):
        self.version = validate_version(version)

    @property
    def computes_in_graph(self):
        return self.version == 2

    def __call__(self, ids, table_size, seed=0):
        table_size, seed = validate_hash_arguments(table_size, seed)
        ids = np.asarray(ids, dtype=np.int64)
        if self.version == 2:
            _check_32_bit_table(table_size)
            return graph_hash.integers32(
                ids, seed, counter.STREAM_ENTRY, table_size
            )
        return counter.random_integers(
            ids, seed, counter.STREAM_ENTRY, table_size
        )

    def graph_entries(self, ids, table_size, seed=0):
        return graph_hash.graph_integers32(
            ids, seed, counter.STREAM_ENTRY, table_size
        )

    def get_config(self):
        return {"version": self.version}

    @classmethod
    def from_config(cls, config):
        return cls(**versioned_config(config))


def _check_32_bit_table(table_size):
    if table_size > 2**32:
        raise ValueError(
            "Version 2 hashes draw 32 bits: `table_size` must be at most "
            f"2**32 (use `version=1`). Received: table_size={table_size}"
        )
