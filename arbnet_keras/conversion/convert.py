"""`convert`: a trained Keras model turned into an ArbNet."""

import keras
import numpy as np

from arbnet_keras import hashing
from arbnet_keras.conversion.counterparts import BY_KERAS_CLASS
from arbnet_keras.conversion.graph import check_graph_model
from arbnet_keras.conversion.graph import leaf_layers
from arbnet_keras.conversion.graph import rebuild
from arbnet_keras.conversion.projection import project_weights
from arbnet_keras.layers import HashTable
from arbnet_keras.layers.table_sizing import validate_table_arguments
from arbnet_keras.seeds import validate_seed

TABLE_SCOPES = ("layer", "network")

_CONVERTIBLE = ", ".join(cls.__name__ for cls in BY_KERAS_CLASS)


def convert(
    model,
    *,
    hash="uniform",
    compression=None,
    table_size=None,
    table="layer",
    layers=None,
    from_weights=True,
    seed=None,
):
    """Returns a copy of a Keras model whose layers are hashed.

    Every `Dense`, `Conv1D`, `Conv2D` and `Embedding` layer (or those that
    `layers` selects) becomes its hashed counterpart (`HashedDense`,
    `HashedConv1D`, `HashedConv2D`, `HashedEmbedding`) with the same
    arguments; every other layer is copied with its weights, and the
    converted layers keep their biases. With `from_weights=True` each
    table entry starts as the mean of the trained weights hashed to it
    (signs undone), the least-squares projection of the trained weights
    onto the hashed ones, so the converted model starts close to the
    original and is fine-tuned from there. A hash that learns its index
    from data (`hashing.KMeans`) is fitted to each layer's trained weight
    (to all of them at once with one table), and the projection sets the
    table to the centroids: Deep Compression's weight sharing.

    Nested Sequential and Functional models are converted too. The copy
    is compiled like the original when the original is compiled (with a
    new optimizer), as `keras.models.clone_model` does.

    Args:
        model: A built Sequential or Functional Keras model.
        hash: Hash function or name, see `arbnet_keras.hashing.get`.
            Defaults to `"uniform"`, or the given table's hash when
            `table` is a `HashTable`.
        compression: Table entries per virtual weight, in `(0, 1]`: per
            layer with `table="layer"`, of all converted layers' weights
            with `table="network"`. Give exactly one of `compression` and
            `table_size`, unless the hash sets the size (`"identity"`,
            `KMeans`) or `table` is a `HashTable`.
        table_size: Number of table entries: of each layer's table with
            `table="layer"`, of the one table with `table="network"`.
        table: `"layer"` gives each converted layer a table of its own;
            `"network"` one `HashTable` for all of them (the paper's
            ArbNet); a `HashTable` is used as that one table. Defaults to
            `"layer"`.
        layers: Which layers to convert: `None` for all that can be, a
            list of layer names, or a function of a layer returning
            whether to convert it (called for the layers that can be).
            Defaults to `None`.
        from_weights: Whether the tables start from the trained weights
            (the projection above); `False` keeps their initializer.
            Defaults to `True`.
        seed: Non-negative integer seed of the hashes: each layer's table
            gets a seed derived from it and its position, the network's
            table this one. `None` draws seeds, which the configs record.
            Defaults to `None`.

    Returns:
        A new Keras model of the same kind.

    Raises:
        ValueError: For a subclassed or unbuilt model; unknown layer
            names, or names of layers that cannot be converted; an invalid
            `hash`, `table`, `compression`, `table_size` or `seed`; both or
            neither of `compression` and `table_size` when they are needed,
            or either when the hash or the table sets the size; a table
            larger than the weights it replaces; a quantized layer.

    Example:

    >>> model = keras.Sequential([
    ...     keras.Input((784,)),
    ...     keras.layers.Dense(200, activation="relu"),
    ...     keras.layers.Dense(10),
    ... ])
    >>> hashed = convert(model, hash="dirichlet", compression=1 / 16,
    ...                  table="network", seed=0)
    >>> [type(layer).__name__ for layer in hashed.layers]
    ['HashedDense', 'HashedDense']

    Reference:
        - [Chen et al., 2015](https://arxiv.org/abs/1504.04788), HashedNets.
        - [Han et al., 2016](https://arxiv.org/abs/1510.00149), Deep
          Compression.
        - Chang and Lipson, "Balanced and Deterministic Weight-sharing
          Helps Network Performance" (ArbNets).
    """
    check_graph_model(model)
    seed = validate_seed(seed, allow_none=True)
    selected = _select(model, layers)
    hash_function = _resolve_hash(hash, table)
    _check_sizing(hash_function, table, compression, table_size)
    weights = [_weight(layer) for layer in selected]
    arguments = _table_arguments(
        selected,
        weights,
        hash_function,
        table,
        compression,
        table_size,
        seed,
    )

    def replace(layer):
        if id(layer) not in arguments:
            return None
        counterpart = BY_KERAS_CLASS[type(layer)]
        config = counterpart.hashed_config(layer)
        config["dtype"] = layer.dtype_policy
        config.update(arguments[id(layer)])
        return counterpart.hashed_class(**config)

    new_model, replaced = rebuild(model, replace)
    originals = {id(layer): w for layer, w in zip(selected, weights)}
    for layer, new in replaced:
        bias = getattr(layer, "bias", None)
        if bias is not None:
            new.bias.assign(bias)
    if from_weights:
        project_weights(
            [(new, originals[id(layer)]) for layer, new in replaced]
        )
    return new_model


def _select(model, layers):
    candidates = leaf_layers(model)
    convertible = [
        layer for layer in candidates if type(layer) in BY_KERAS_CLASS
    ]
    if layers is None:
        selected = convertible
    elif callable(layers):
        selected = [layer for layer in convertible if layers(layer)]
    elif isinstance(layers, (list, tuple, set)) and all(
        isinstance(name, str) for name in layers
    ):
        by_name = {layer.name: layer for layer in candidates}
        unknown = [name for name in layers if name not in by_name]
        if unknown:
            raise ValueError(
                f"`layers` names layers that {model.name!r} does not have: "
                f"{unknown}. Its layers: {sorted(by_name)}. "
                f"Received: layers={list(layers)!r}"
            )
        other = [
            name for name in layers if type(by_name[name]) not in BY_KERAS_CLASS
        ]
        if other:
            raise ValueError(
                f"`layers` names layers that cannot be converted: {other} "
                f"(only {_CONVERTIBLE} layers can). "
                f"Received: layers={list(layers)!r}"
            )
        names = set(layers)
        selected = [layer for layer in convertible if layer.name in names]
    else:
        raise ValueError(
            "`layers` must be None, a list of layer names, or a function "
            f"of a layer. Received: layers={layers!r}"
        )
    if not selected:
        raise ValueError(
            f"No layer to convert: `model` has no {_CONVERTIBLE} layer"
            + ("" if layers is None else " that `layers` selects")
            + f". Received: layers={layers!r}"
        )
    return selected


def _resolve_hash(hash, table):
    if isinstance(table, HashTable):
        return table.hash if hash == "uniform" else hashing.get(hash)
    if not isinstance(table, str) or table not in TABLE_SCOPES:
        raise ValueError(
            "Invalid value for argument `table`. Expected one of "
            f"{TABLE_SCOPES} or a `HashTable`. Received: table={table!r}"
        )
    return hashing.get(hash)


def _check_sizing(hash_function, table, compression, table_size):
    given = {"compression": compression, "table_size": table_size}
    received = ", ".join(f"{k}={v!r}" for k, v in given.items())
    if isinstance(table, HashTable) or hash_function.sets_table_size:
        setter = (
            "the given `table`"
            if isinstance(table, HashTable)
            else f"the {type(hash_function).__name__} hash"
        )
        if compression is not None or table_size is not None:
            raise ValueError(
                f"The table size is set by {setter}: leave `compression` "
                f"and `table_size` unset. Received: {received}"
            )
        return
    if compression is None and table_size is None:
        raise ValueError(
            "Exactly one of `compression` and `table_size` must be given "
            f"for the {type(hash_function).__name__} hash. "
            f"Received: {received}"
        )
    validate_table_arguments(None, table_size, compression, None)


def _weight(layer):
    counterpart = BY_KERAS_CLASS[type(layer)]
    return keras.ops.convert_to_numpy(getattr(layer, counterpart.weight))


def _table_arguments(
    layers, weights, hash_function, table, compression, table_size, seed
):
    """The hash arguments of each converted layer, by `id` of the layer."""
    fit = getattr(hash_function, "fit", None)
    shared = table if isinstance(table, HashTable) else None
    if table == "layer":
        hashes = [fit(w) if fit else hash_function for w in weights]
        arguments = {}
        for i, (layer, w, layer_hash) in enumerate(
            zip(layers, weights, hashes)
        ):
            if table_size is not None and table_size > w.size:
                raise ValueError(
                    f"`table_size` must be at most the number of weights of "
                    f"each converted layer; layer {layer.name!r} has "
                    f"{w.size}. Use `compression` or table='network'. "
                    f"Received: table_size={table_size}"
                )
            arguments[id(layer)] = {
                "hash": layer_hash,
                "table_size": table_size,
                "compression": compression,
                "seed": _layer_seed(seed, i),
            }
        return arguments
    hashes = [None] * len(layers)
    if fit:
        hashes = hash_function.fit_shared(weights)
    if shared is None:
        shared = HashTable(
            _network_size(weights, hashes, compression, table_size),
            hash=hash_function,
            seed=seed,
        )
    elif hash_function != shared.hash and not fit:
        hashes = [hash_function] * len(layers)
    return {
        id(layer): {"hash": layer_hash, "table": shared}
        for layer, layer_hash in zip(layers, hashes)
    }


def _network_size(weights, hashes, compression, table_size):
    total = sum(w.size for w in weights)
    if hashes[0] is not None:
        return hashes[0].num_clusters
    if table_size is None and compression is None:
        return total  # A hash that numbers every weight (`Identity`).
    if table_size is None:
        return max(1, int(round(compression * total)))
    if table_size > total:
        raise ValueError(
            "`table_size` must be at most the number of weights of the "
            f"converted layers ({total}). Received: table_size={table_size}"
        )
    return table_size


def _layer_seed(seed, position):
    if seed is None:
        return None
    state = np.random.SeedSequence([seed, position]).generate_state(1)
    return int(state[0])
