"""Keras layers of arbnet_keras."""

from arbnet_keras.layers.hash_table import HashTable
from arbnet_keras.layers.hashed_dense import HashedDense

__all__ = ["HashTable", "HashedDense"]
