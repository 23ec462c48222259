"""Hash functions: how the weights of a layer map to entries of a table.

Every hash function is a serializable object; layers accept the object or a
string alias, in the manner of `keras.initializers`:

>>> from arbnet_keras import hashing
>>> hashing.get("dirichlet")
Dirichlet(alpha=1.0, version=2)
>>> hashing.get({"class_name": "Neighborhood", "config": {"radius": 3}})
Neighborhood(radius=3, version=1)

The random hashes (`Uniform`, `Dirichlet`, `Neighborhood`) have two
versions of their draws: 2, the default, is a 32-bit counter that the
model's graph computes bit for bit, so layers can compute their entries
inside the step and store no index; 1 is the 64-bit draw of every model
saved before version 2 existed, and a config without a `version` loads as
version 1, with the sharing it was saved with.
"""

import keras
import numpy as np

from arbnet_keras.hashing.custom import Custom
from arbnet_keras.hashing.dirichlet import Dirichlet
from arbnet_keras.hashing.hash_function import HashFunction
from arbnet_keras.hashing.hashed_nets import HashedNets
from arbnet_keras.hashing.identity import Identity
from arbnet_keras.hashing.kernel_index import NUMBERINGS
from arbnet_keras.hashing.kernel_index import KernelIndex
from arbnet_keras.hashing.kernel_index import kernel_index
from arbnet_keras.hashing.kmeans import KMeans
from arbnet_keras.hashing.modulus import Modulus
from arbnet_keras.hashing.neighborhood import Neighborhood
from arbnet_keras.hashing.perturbed import Perturbed
from arbnet_keras.hashing.toeplitz import Toeplitz
from arbnet_keras.hashing.uniform import Uniform

ALL_OBJECTS = (
    Custom,
    Dirichlet,
    HashedNets,
    Identity,
    KMeans,
    Modulus,
    Neighborhood,
    Perturbed,
    Toeplitz,
    Uniform,
)

ALIASES = {
    "identity": Identity,
    "modulus": Modulus,
    "uniform": Uniform,
    "dirichlet": Dirichlet,
    "neighborhood": Neighborhood,
    "hashed_nets": HashedNets,
    "hashednets": HashedNets,
    "xxhash": HashedNets,
    "kmeans": KMeans,
}
ALL_OBJECTS_DICT = {cls.__name__: cls for cls in ALL_OBJECTS}


def serialize(hash_function):
    """Returns the config dict of a hash function."""
    return keras.saving.serialize_keras_object(hash_function)


def deserialize(config, custom_objects=None):
    """Returns a hash function from its config dict."""
    return keras.saving.deserialize_keras_object(
        config,
        module_objects=ALL_OBJECTS_DICT,
        custom_objects=custom_objects,
    )


def get(identifier):
    """Returns a hash function from a name, a config, or an object.

    Args:
        identifier: A `HashFunction` (returned as is), one of the names
            `"identity"`, `"modulus"`, `"uniform"`, `"dirichlet"`,
            `"neighborhood"`, `"hashed_nets"`, `"kmeans"`, a config dict from
            `serialize`, a callable (wrapped in `Custom(fn=...)`), or an
            integer index array (wrapped in `Custom(index=...)`).

    Returns:
        A `HashFunction`.

    Raises:
        ValueError: If `identifier` is none of the above, or a config dict
            that does not describe a hash function.
    """
    if isinstance(identifier, HashFunction):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, HashFunction):
        return identifier()
    if isinstance(identifier, str):
        cls = ALIASES.get(identifier.lower())
        if cls is None:
            raise ValueError(
                "Invalid value for argument `hash`. Expected one of "
                f"{tuple(ALIASES)}. Received: hash={identifier!r}"
            )
        return cls()
    if isinstance(identifier, dict):
        return _from_config(identifier)
    if isinstance(identifier, (list, np.ndarray)):
        return Custom(index=identifier)
    if callable(identifier):
        return Custom(fn=identifier)
    raise ValueError(
        "Invalid value for argument `hash`: expected a HashFunction, a "
        "name, a config dict, a callable or an index array. "
        f"Received: hash={identifier!r}"
    )


def _from_config(config):
    if not isinstance(config.get("class_name"), str) or not isinstance(
        config.get("config", {}), dict
    ):
        raise ValueError(
            "Invalid value for argument `hash`: expected a config dict with "
            "a `class_name` string and a `config` dict, as "
            f"`hashing.serialize` writes it. Received: hash={config!r}"
        )
    try:
        hash_function = deserialize(config)
    except TypeError as error:
        # Keras' message (unexpected arguments) names no argument.
        raise ValueError(
            "Invalid value for argument `hash`: the config does not fit "
            f"the arguments of {config['class_name']}. "
            f"Received: hash={config!r}"
        ) from error
    if not isinstance(hash_function, HashFunction):
        # Keras returns an unknown `class_name` as is, a string.
        raise ValueError(
            "Invalid value for argument `hash`: unknown hash function "
            f"{config['class_name']!r}. Expected one of "
            f"{tuple(ALL_OBJECTS_DICT)} or a registered `HashFunction`. "
            f"Received: hash={config!r}"
        )
    return hash_function


__all__ = [
    "Custom",
    "Dirichlet",
    "HashFunction",
    "HashedNets",
    "Identity",
    "KMeans",
    "KernelIndex",
    "Modulus",
    "NUMBERINGS",
    "Neighborhood",
    "Perturbed",
    "Toeplitz",
    "Uniform",
    "deserialize",
    "get",
    "kernel_index",
    "serialize",
]
