"""What the model factories share: argument checks and weight layers.

`hashed_mlp` and `hashed_cnn` describe their weight layers as `KernelLayer`s
and let `hashed_layers` give them one network table or a table each, or
`plain_layers` build the unshared baseline.
"""

import dataclasses
import numbers

from arbnet_keras import hashing
from arbnet_keras.hashing.hash_function import validate_positive_int
from arbnet_keras.layers import HashTable

TABLE_SCOPES = ("network", "layer")


@dataclasses.dataclass(frozen=True)
class KernelLayer:
    """One weight layer of a factory's model, hashed or plain.

    Attributes:
        hashed: The hashed class, such as `HashedDense`.
        plain: The Keras class of the baseline, such as `keras.layers.Dense`.
        arguments: Dict of the layer's own arguments (`units`, or `filters`,
            `kernel_size` and `padding`).
        name: Name of the hashed layer.
        plain_name: Name of the baseline's layer.
    """

    hashed: type
    plain: type
    arguments: dict
    name: str
    plain_name: str


def validate_positive_ints(name, values, allow_empty=True):
    """Returns `values` as a list of ints, all positive.

    Raises:
        ValueError: If `values` is not a sequence of positive integers, or
            is empty when `allow_empty` is false, naming `name`.
    """
    message = f"`{name}` must be a sequence of positive integers"
    if not allow_empty:
        message = f"`{name}` must be a non-empty sequence of positive integers"
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ValueError(f"{message}. Received: {name}={values!r}")
    values = list(values)
    if not values and not allow_empty:
        raise ValueError(f"{message}. Received: {name}={values!r}")
    for value in values:
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Integral)
            or value <= 0
        ):
            raise ValueError(f"{message}. Received: {name}={values!r}")
    return [int(value) for value in values]


def validate_sparsity(sparsity):
    if (
        isinstance(sparsity, bool)
        or not isinstance(sparsity, numbers.Real)
        or not 0 <= sparsity < 1
    ):
        raise ValueError(
            "`sparsity` must be a number in [0, 1). Received: "
            f"sparsity={sparsity!r}"
        )
    return float(sparsity)


def validate_table_scope(table_scope):
    if table_scope not in TABLE_SCOPES:
        raise ValueError(
            "Invalid value for argument `table_scope`. Expected one of "
            f"{TABLE_SCOPES}. Received: table_scope={table_scope!r}"
        )
    return table_scope


def validate_table_arguments(table_size, compression):
    if compression is None:
        validate_positive_int("table_size", table_size)
        return
    if (
        isinstance(compression, bool)
        or not isinstance(compression, numbers.Real)
        or not 0 < compression <= 1
    ):
        raise ValueError(
            "`compression` must be a number in (0, 1]. Received: "
            f"compression={compression!r}"
        )


def is_baseline(hash):
    """Whether `hash` (already resolved) asks for the unshared baseline."""
    return hash is None or isinstance(hash, hashing.Identity)


def hashed_layers(
    kernels,
    num_weights,
    *,
    table_scope,
    table_size,
    compression,
    seed,
    hash_kwargs,
    layer_kwargs,
):
    """Builds the hashed layers of `kernels`, sharing tables by scope.

    Args:
        kernels: List of `KernelLayer`s.
        num_weights: Function returning the number of virtual weights of
            all the kernels, to size a network table by `compression`.
        table_scope: `"network"` or `"layer"`.
        table_size: Entries of the network's table or of each layer's.
        compression: Entries per virtual weight, or `None`.
        seed: Seed of the network's table; layer `i` (from 0) of a
            per-layer scope hashes with `seed + i`.
        hash_kwargs: Dict of the table's arguments (`hash`, `numbering`,
            `number_zeros`).
        layer_kwargs: Dict of further arguments of every hashed layer.

    Returns:
        A list of layers.
    """
    hash_kwargs = dict(hash_kwargs)
    if table_scope == "layer":
        if compression is None:
            hash_kwargs["table_size"] = table_size
        else:
            hash_kwargs["compression"] = compression
        return [
            kernel.hashed(
                **kernel.arguments,
                seed=seed + i,
                name=kernel.name,
                **hash_kwargs,
                **layer_kwargs,
            )
            for i, kernel in enumerate(kernels)
        ]
    if compression is not None:
        table_size = max(1, int(round(compression * num_weights())))
    table = HashTable(table_size, seed=seed, name="table", **hash_kwargs)
    return [
        kernel.hashed(
            **kernel.arguments, table=table, name=kernel.name, **layer_kwargs
        )
        for kernel in kernels
    ]


def plain_layers(kernels, sparsity, seed):
    """Builds the unshared baseline layers of `kernels`.

    Without sparsity they are the plain Keras layers; with it, hashed
    layers with the identity hash (every weight its own entry, some fixed
    at zero), layer `i` (from 0) with seed `seed + i`.
    """
    if sparsity == 0:
        return [
            kernel.plain(**kernel.arguments, name=kernel.plain_name)
            for kernel in kernels
        ]
    return [
        kernel.hashed(
            **kernel.arguments,
            hash="identity",
            sparsity=sparsity,
            seed=seed + i,
            name=kernel.name,
        )
        for i, kernel in enumerate(kernels)
    ]
