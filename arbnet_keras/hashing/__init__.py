"""Hash functions: how the weights of a layer map to entries of a table.

Every hash function is a serializable object; layers accept the object or a
string alias, in the manner of `keras.initializers`:

>>> from arbnet_keras import hashing
>>> hashing.get("dirichlet")
Dirichlet(alpha=1.0)
>>> hashing.get({"class_name": "Neighborhood", "config": {"radius": 3}})
Neighborhood(radius=3)
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
from arbnet_keras.hashing.modulus import Modulus
from arbnet_keras.hashing.neighborhood import Neighborhood
from arbnet_keras.hashing.toeplitz import Toeplitz
from arbnet_keras.hashing.uniform import Uniform

ALL_OBJECTS = (
    Custom,
    Dirichlet,
    HashedNets,
    Identity,
    Modulus,
    Neighborhood,
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
            `"neighborhood"`, `"hashed_nets"`, a config dict from
            `serialize`, a callable (wrapped in `Custom(fn=...)`), or an
            integer index array (wrapped in `Custom(index=...)`).

    Returns:
        A `HashFunction`.

    Raises:
        ValueError: If `identifier` is none of the above.
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
        return deserialize(identifier)
    if isinstance(identifier, (list, np.ndarray)):
        return Custom(index=identifier)
    if callable(identifier):
        return Custom(fn=identifier)
    raise ValueError(
        "Invalid value for argument `hash`: expected a HashFunction, a "
        "name, a config dict, a callable or an index array. "
        f"Received: hash={identifier!r}"
    )


__all__ = [
    "Custom",
    "Dirichlet",
    "HashFunction",
    "HashedNets",
    "Identity",
    "KernelIndex",
    "Modulus",
    "NUMBERINGS",
    "Neighborhood",
    "Toeplitz",
    "Uniform",
    "deserialize",
    "get",
    "kernel_index",
    "serialize",
]
