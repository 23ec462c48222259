"""Model factories: the paper's MLP ArbNets, CNN ArbNets, their baselines."""

from arbnet_keras.models.hashed_cnn import hashed_cnn
from arbnet_keras.models.hashed_mlp import BN_EPSILON
from arbnet_keras.models.hashed_mlp import BN_MOMENTUM
from arbnet_keras.models.hashed_mlp import TABLE_SCOPES
from arbnet_keras.models.hashed_mlp import hashed_mlp
from arbnet_keras.models.hashed_mlp import table_entropy
from arbnet_keras.models.paper import CIFAR10_HIDDEN_UNITS
from arbnet_keras.models.paper import MNIST_HIDDEN_UNITS
from arbnet_keras.models.paper import cifar10_mlp
from arbnet_keras.models.paper import mnist_mlp
from arbnet_keras.models.toeplitz_cnn import toeplitz_cnn

__all__ = [
    "BN_EPSILON",
    "BN_MOMENTUM",
    "CIFAR10_HIDDEN_UNITS",
    "MNIST_HIDDEN_UNITS",
    "TABLE_SCOPES",
    "cifar10_mlp",
    "hashed_cnn",
    "hashed_mlp",
    "mnist_mlp",
    "table_entropy",
    "toeplitz_cnn",
]
