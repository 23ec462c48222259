"""arbnet_keras: arbitrary weight sharing (ArbNets) for Keras 3.

Every weight of a network gets an identifier; a hash function maps
identifiers to entries of a small trainable table, so colliding weights are
shared. See `HashedDense`, `HashedConv1D`, `HashedConv2D`,
`HashedEmbedding`, `HashTable` and `arbnet_keras.hashing`; `convert`
turns a trained Keras model into an ArbNet and `to_dense` back.
"""

# `arbnet ... --backend NAME` sets KERAS_BACKEND, which Keras reads when the
# imports below first import it.
from arbnet_keras.cli import backend as _backend

_backend.select_from_command_line()

from arbnet_keras import conversion
from arbnet_keras import datasets
from arbnet_keras import deploy
from arbnet_keras import hashing
from arbnet_keras import metrics
from arbnet_keras import models
from arbnet_keras import saving
from arbnet_keras import training
from arbnet_keras.conversion import convert
from arbnet_keras.conversion import to_dense
from arbnet_keras.layers import HashedConv1D
from arbnet_keras.layers import HashedConv2D
from arbnet_keras.layers import HashedDense
from arbnet_keras.layers import HashedEmbedding
from arbnet_keras.layers import HashTable
from arbnet_keras.metrics import sharing_report
from arbnet_keras.version import __version__

__all__ = [
    "HashTable",
    "HashedConv1D",
    "HashedConv2D",
    "HashedDense",
    "HashedEmbedding",
    "__version__",
    "conversion",
    "convert",
    "datasets",
    "deploy",
    "hashing",
    "metrics",
    "models",
    "saving",
    "sharing_report",
    "to_dense",
    "training",
]
