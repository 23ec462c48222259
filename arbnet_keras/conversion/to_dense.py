"""`to_dense`: a hashed model as the plain Keras model it computes."""

import keras

from arbnet_keras.conversion.counterparts import BY_HASHED_CLASS
from arbnet_keras.conversion.graph import check_graph_model
from arbnet_keras.conversion.graph import leaf_layers
from arbnet_keras.conversion.graph import rebuild


def to_dense(model):
    """Returns the plain Keras model that a hashed model computes.

    Every `HashedDense`, `HashedConv1D`, `HashedConv2D` and
    `HashedEmbedding` becomes a `Dense`, `Conv1D`, `Conv2D` or `Embedding`
    with the same arguments, holding the materialized weight
    (`table[index] * sign`, its zeros included) and the bias; every other
    layer is copied with its weights. The result refers to no
    `arbnet_keras` object, so its `.keras` file loads where `arbnet_keras`
    is not installed. It is as large as an unshared model: use it to
    deploy where only Keras runs, or to compare.

    Args:
        model: A built Sequential or Functional Keras model.

    Returns:
        A new Keras model of the same kind, compiled like `model` when
        `model` is compiled.

    Raises:
        ValueError: For a subclassed or unbuilt model, a hashed layer too
            large to materialize, or a layer of `arbnet_keras` that has no
            Keras counterpart.

    Example:

    >>> hashed = keras.Sequential([
    ...     keras.Input((784,)),
    ...     arbnet_keras.HashedDense(10, table_size=1000, seed=0),
    ... ])
    >>> [type(layer).__name__ for layer in to_dense(hashed).layers]
    ['Dense']
    """
    check_graph_model(model)
    unknown = [
        layer.name
        for layer in leaf_layers(model)
        if type(layer).__module__.startswith("arbnet_keras")
        and type(layer) not in BY_HASHED_CLASS
    ]
    if unknown:
        raise ValueError(
            "`to_dense` replaces only "
            + ", ".join(cls.__name__ for cls in BY_HASHED_CLASS)
            + f" layers. Received: a model with layers {unknown} of "
            "other arbnet_keras classes"
        )

    def replace(layer):
        counterpart = BY_HASHED_CLASS.get(type(layer))
        if counterpart is None:
            return None
        config = counterpart.keras_config(layer)
        config["dtype"] = layer.dtype_policy
        return counterpart.keras_class(**config)

    new_model, replaced = rebuild(model, replace)
    for layer, new in replaced:
        counterpart = BY_HASHED_CLASS[type(layer)]
        weights = [getattr(layer, counterpart.weight)]
        if getattr(layer, "bias", None) is not None:
            weights.append(layer.bias)
        new.set_weights([keras.ops.convert_to_numpy(w) for w in weights])
    return new_model
