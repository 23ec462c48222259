"""Keras layers of arbnet_keras."""

from arbnet_keras.layers.hash_table import HashTable
from arbnet_keras.layers.hashed_conv1d import HashedConv1D
from arbnet_keras.layers.hashed_conv2d import HashedConv2D
from arbnet_keras.layers.hashed_dense import HashedDense
from arbnet_keras.layers.hashed_embedding import HashedEmbedding

__all__ = [
    "HashTable",
    "HashedConv1D",
    "HashedConv2D",
    "HashedDense",
    "HashedEmbedding",
]
