"""Walking and rebuilding the layers of Sequential and Functional models."""

import keras


def check_graph_model(model, name="model"):
    """Checks that `model` is a built Sequential or Functional model.

    Raises:
        ValueError: For a subclassed model (its layers are known only by
            running its `call`) or a model that is not built.
    """
    # Keras keeps the Functional class private; it is pinned here.
    from keras.src.models.functional import Functional

    if not isinstance(model, (keras.Sequential, Functional)):
        raise ValueError(
            f"`{name}` must be a Sequential or Functional Keras model: the "
            "layers of a subclassed model are only known by running its "
            "`call`. Build it with the Functional API, or replace its "
            "layers by hand. Received: "
            f"{name} of type {type(model).__name__}"
        )
    if not model.built:
        raise ValueError(
            f"`{name}` must be built (call it on data, or give it an "
            f"`Input`) so that its weights exist. Received: {name}="
            f"{model.name!r}, not built"
        )


def leaf_layers(model):
    """The layers of a model, nested Sequential/Functional ones opened.

    Each layer appears once, in the model's order; input layers are left
    out.
    """
    from keras.src.models.functional import Functional

    found = {}
    for layer in model.layers:
        if isinstance(layer, (keras.Sequential, Functional)):
            for inner in leaf_layers(layer):
                found.setdefault(id(inner), inner)
        elif not isinstance(layer, keras.layers.InputLayer):
            found.setdefault(id(layer), layer)
    return list(found.values())


def rebuild(model, replace):
    """Clones `model` with `replace(layer)` for some of its layers.

    Nested Sequential and Functional models are cloned too. Every layer
    that `replace` returns `None` for is cloned from its config and gets
    the original's weights.

    Args:
        model: A built Sequential or Functional model.
        replace: Function of an original layer returning its replacement
            (unbuilt), or `None` to keep a copy of it.

    Returns:
        `(new_model, replaced)`: the clone, built, and a list of
        `(original, replacement)` pairs for the replaced layers.
    """
    copied, replaced = [], []

    def clone_layer(layer):
        new = replace(layer)
        if new is None:
            new = layer.__class__.from_config(layer.get_config())
            copied.append((layer, new))
        else:
            replaced.append((layer, new))
        return new

    new_model = keras.models.clone_model(
        model, clone_function=clone_layer, recursive=True
    )
    if not new_model.built:  # pragma: no cover - clones of built models are.
        new_model.build(model.input_shape)
    for layer, new in copied:
        new.set_weights(layer.get_weights())
    return new_model, replaced
