"""Which Keras layer each hashed layer stands in for, and their arguments.

One entry per pair, as tfmot's clustering registry lists the clusterable
weights of each layer type: `convert` looks a layer's class up here, and
`to_dense` looks the hashed class up the other way. A layer's arguments
carry over by name; only the weight's own initializer, regularizer and
constraint are renamed (`kernel_initializer` is the table's
`table_initializer`).
"""

import dataclasses
import inspect
import warnings

import keras

from arbnet_keras.layers import HashedConv1D
from arbnet_keras.layers import HashedConv2D
from arbnet_keras.layers import HashedDense
from arbnet_keras.layers import HashedEmbedding

# Arguments every layer takes through `**kwargs`.
_BASE_ARGUMENTS = ("name", "trainable", "dtype", "activity_regularizer")


@dataclasses.dataclass(frozen=True)
class Counterpart:
    """A Keras layer class and the hashed class that replaces it.

    Attributes:
        keras_class: The Keras layer class, matched exactly (a subclass
            may compute something else).
        hashed_class: Its hashed counterpart.
        weight: The attribute holding the (materialized) weight that the
            table replaces: `"kernel"` or `"embeddings"`.
    """

    keras_class: type
    hashed_class: type
    weight: str

    def hashed_config(self, layer):
        """The hashed layer's arguments from a Keras layer's config.

        The hash arguments (`hash`, `table_size`, ...) are the caller's to
        add. A kernel constraint is dropped with a warning: it acts on the
        kernel's axes, which the table does not have.
        """
        config = layer.get_config()
        if config.get("quantization_config") is not None or getattr(
            layer.dtype_policy, "quantization_mode", None
        ):
            raise ValueError(
                f"Layer {layer.name!r} is quantized; convert the float "
                "model. Received: a quantized "
                f"{type(layer).__name__} layer"
            )
        constraint = config.get(f"{self.weight}_constraint")
        if constraint is not None:
            warnings.warn(
                f"Layer {layer.name!r}: its {self.weight} constraint is not "
                "carried over to the table.",
                stacklevel=3,
            )
        hashed = _arguments_of(self.hashed_class, config)
        hashed["table_initializer"] = config[f"{self.weight}_initializer"]
        hashed["table_regularizer"] = config[f"{self.weight}_regularizer"]
        return hashed

    def keras_config(self, layer):
        """The Keras layer's arguments from a hashed layer's config.

        The weight's initializer is left at Keras' default (the weight is
        set afterwards) and the table's constraint is dropped, so the
        config names only Keras objects.
        """
        config = layer.get_config()
        plain = _arguments_of(self.keras_class, config)
        plain[f"{self.weight}_regularizer"] = config["table_regularizer"]
        return plain


def _arguments_of(cls, config):
    names = set(inspect.signature(cls.__init__).parameters)
    names.update(_BASE_ARGUMENTS)
    return {k: v for k, v in config.items() if k in names}


COUNTERPARTS = (
    Counterpart(keras.layers.Dense, HashedDense, "kernel"),
    Counterpart(keras.layers.Conv1D, HashedConv1D, "kernel"),
    Counterpart(keras.layers.Conv2D, HashedConv2D, "kernel"),
    Counterpart(keras.layers.Embedding, HashedEmbedding, "embeddings"),
)

BY_KERAS_CLASS = {c.keras_class: c for c in COUNTERPARTS}
BY_HASHED_CLASS = {c.hashed_class: c for c in COUNTERPARTS}
