"""What every hashed layer shares: one mechanism for a hashed weight.

A hashed layer has one virtual weight tensor (a dense kernel, a
convolution's filters, an embedding matrix) whose values are looked up in
a table: `weight = table[index] * sign`, with constant zeros where the
sparsity puts them. `HashedLayerMixin` turns (a table, the identifiers of
a weight of any shape, a hash function, sparsity, signs) into that tensor,
and holds everything the layers have in common: argument checking, the
own or shared table, identifiers continuing from layer to layer in a
shared table, the kernel strategy, the sharing pattern, the config keys,
and rebuilding shared tables from configs and clones. A layer is then a
thin skin: it says what its weight's shape is and how it uses it.
"""

import json
import math
import numbers
import weakref

import keras
import numpy as np
from keras import constraints
from keras import initializers
from keras import regularizers

from arbnet_keras import hashing
from arbnet_keras.hashing.hash_function import validate_table_holds
from arbnet_keras.hashing.kernel_index import kernel_ids
from arbnet_keras.hashing.kernel_index import numbering_axes
from arbnet_keras.hashing.kernel_index import validate_numbering
from arbnet_keras.initializers import table_initializer
from arbnet_keras.layers.hash_table import HashTable
from arbnet_keras.layers.kernels import make_kernel
from arbnet_keras.layers.kernels import validate_kernel_mode
from arbnet_keras.layers.table_sizing import own_table_size
from arbnet_keras.layers.table_sizing import validate_table_arguments
from arbnet_keras.seeds import resolve_seed

# Virtual weights beyond which the `kernel`/`embeddings` properties refuse
# to materialize the tensor (4 GiB of float32).
MAX_MATERIALIZED = 2**30

# Virtual weights beyond which an index cannot be built in memory (and
# identifiers would overflow int64 arithmetic long before).
MAX_VIRTUAL_WEIGHTS = 2**48

_TABLE_DEFAULTS = {
    "hash": "uniform",
    "numbering": "out_in",
    "number_zeros": True,
}


# The constructor arguments every hashed layer takes from this module.
HASH_ARGUMENTS = (
    "hash",
    "table_size",
    "compression",
    "sparsity",
    "table",
    "seed",
    "sign",
    "numbering",
    "number_zeros",
    "table_initializer",
    "table_regularizer",
    "table_constraint",
    "kernel_mode",
    "id_offset",
    "position_offset",
)


def layer_hash_arguments(constructor_locals, **overrides):
    """`hash_arguments` of a layer constructor's own arguments.

    Args:
        constructor_locals: `locals()` of the layer's `__init__`, which
            names every argument of `HASH_ARGUMENTS`.
        **overrides: Further arguments of `hash_arguments`, such as
            `default_hash`.
    """
    values = {name: constructor_locals[name] for name in HASH_ARGUMENTS}
    return hash_arguments(**values, **overrides)


def hash_arguments(
    hash=None,
    table_size=None,
    compression=None,
    sparsity=0.0,
    table=None,
    seed=None,
    sign=False,
    numbering=None,
    number_zeros=None,
    table_initializer="glorot_uniform",
    table_regularizer=None,
    table_constraint=None,
    kernel_mode="auto",
    id_offset=None,
    position_offset=None,
    default_hash="uniform",
):
    """Checks and resolves the hash arguments of a hashed layer.

    Called before `Layer.__init__`, so a bad argument raises before any
    state exists. See `HashedDense` for the meaning of each argument.

    Returns:
        A dict of resolved attributes, for `HashedLayerMixin._set_hashing`.

    Raises:
        ValueError: For any invalid argument, naming it.
    """
    validate_kernel_mode(kernel_mode)
    if isinstance(table, dict):
        table = keras.saving.deserialize_keras_object(table)
    if table is not None and not isinstance(table, HashTable):
        raise ValueError(
            f"`table` must be a `HashTable` or None. Received: table={table!r}"
        )
    validate_table_arguments(table, table_size, compression, seed)
    if hash is None:
        hash = default_hash if table is None else table.hash
    hash = hashing.get(hash)
    if not (table or table_size or compression or hash.sets_table_size):
        raise ValueError(
            "Exactly one of `table_size` or `compression` must be given "
            "(or a shared `table`). Received: table_size=None, "
            "compression=None"
        )
    if (
        isinstance(sparsity, bool)
        or not isinstance(sparsity, numbers.Real)
        or not 0 <= sparsity < 1
    ):
        raise ValueError(
            f"`sparsity` must be a number in [0, 1). Received: "
            f"sparsity={sparsity!r}"
        )
    if numbering is None:
        numbering = _default(table, "numbering")
    numbering = validate_numbering(numbering)
    if number_zeros is None:
        number_zeros = _default(table, "number_zeros")
    _validate_flag("sign", sign)
    _validate_flag("number_zeros", number_zeros)
    return {
        "hash": hash,
        "table_size": table_size,
        "compression": compression,
        "sparsity": float(sparsity),
        "table": table,
        "seed": table.seed if table is not None else resolve_seed(seed),
        "sign": bool(sign),
        "numbering": numbering,
        "number_zeros": bool(number_zeros),
        "table_initializer": initializers.get(table_initializer),
        "table_regularizer": regularizers.get(table_regularizer),
        "table_constraint": constraints.get(table_constraint),
        "kernel_mode": kernel_mode,
        "id_offset": id_offset,
        "position_offset": position_offset,
    }


def _validate_flag(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(
            f"`{name}` must be `True` or `False`. Received: {name}={value!r}"
        )


def _default(table, name):
    return _TABLE_DEFAULTS[name] if table is None else getattr(table, name)


def weight_fans(shape):
    """`(fan_in, fan_out)` of a weight, as Keras computes them."""
    if len(shape) < 2:
        return (shape[0], shape[0]) if shape else (1, 1)
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class Layout:
    """Where a weight's identifiers start and how they run (read only)."""

    def __init__(self, layer):
        self.shape = layer._weight_shape
        self.sign = layer.sign
        self.seed = layer.seed
        self.kernel_mode = layer.kernel_mode
        # Whether the layer only ever looks rows up (an embedding).
        self.lookup = layer._looks_up_rows
        self.sparsity = layer.sparsity
        self.number_zeros = layer.number_zeros
        self.id_offset = layer.id_offset
        self.position_offset = layer.position_offset
        self.axes = numbering_axes(layer.numbering, len(layer._weight_shape))


class HashedLayerMixin:
    """The hashed-weight mechanism of every hashed layer.

    A layer calls `hash_arguments(...)` before `Layer.__init__`,
    `self._set_hashing(arguments)` after it, `self._build_hashed(shape,
    argument)` in `build` with its weight's Keras shape, and reads the
    weight with `self._hashed_weight()` (or the strategy `self._weight_fn`
    directly for layer-specific fast paths). `get_config` adds
    `self._hashing_config()`.
    """

    # The name of the layer argument that sets the weight's size, for
    # error messages (`units`, `filters`, `input_dim`).
    _size_argument = "units"

    # Whether the layer reads its weight by rows only (`lookup`), so that
    # computing the rows' entries costs less than a stored index.
    _looks_up_rows = False

    def _set_hashing(self, arguments):
        for name, value in arguments.items():
            setattr(self, name, value)
        self._weight_fn = None
        self._weight_shape = None

    def _build_hashed(self, shape):
        shape = tuple(int(d) for d in shape)
        num_weights = math.prod(shape)
        if num_weights > MAX_VIRTUAL_WEIGHTS:
            size = getattr(self, self._size_argument, None)
            raise ValueError(
                f"The layer's virtual weight of shape {shape} has "
                f"{num_weights} weights, more than the {MAX_VIRTUAL_WEIGHTS} "
                "this library can number. Reduce "
                f"`{self._size_argument}` or the input size. Received: "
                f"{self._size_argument}={size!r}"
            )
        if self.table is None:
            size = own_table_size(
                self.hash, shape, self.table_size, self.compression
            )
            self._table = self.add_weight(
                name="table",
                shape=(size,),
                initializer=table_initializer(
                    self.table_initializer, weight_fans(shape)
                ),
                regularizer=self.table_regularizer,
                constraint=self.table_constraint,
            )
            self.id_offset, self.position_offset = 0, 0
        else:
            self._attach_table(shape)
        self._weight_shape = shape
        self._weight_fn = make_kernel(
            self.kernel_index,
            int(self.table_variable.shape[0]),
            self.hash,
            Layout(self),
            self.kernel_mode,
            self.compute_dtype,
        )

    def _attach_table(self, shape):
        if self.table.variable_dtype != self.variable_dtype:
            raise ValueError(
                "A `HashTable` can only be shared by layers of its dtype. "
                f"Received: layer {self.name!r} with dtype "
                f"{self.variable_dtype} and table {self.table.name!r} "
                f"with dtype {self.table.variable_dtype}"
            )
        self.table.build(weight_fans(shape))
        num_positions = math.prod(shape)
        position_offset = self.position_offset
        if position_offset is None:
            position_offset = self.table.num_positions
        num_ids = num_positions
        if self.sparsity > 0 and not self.number_zeros:
            _, num_ids = kernel_ids(
                shape,
                self.seed,
                sparsity=self.sparsity,
                numbering=self.numbering,
                number_zeros=False,
                position_offset=position_offset,
                hash_function=self.hash,
            )
        start = self.table.num_ids if self.id_offset is None else self.id_offset
        validate_table_holds(
            self.hash, self.table.size, shape, start + num_ids, "size"
        )
        self.id_offset, self.position_offset = self.table.claim(
            num_ids,
            num_positions,
            id_offset=self.id_offset,
            position_offset=position_offset,
        )

    def kernel_index(self):
        """Rebuilds the layer's `hashing.KernelIndex` (entries and signs).

        Only valid once the layer is built. The result is computed anew
        from the config, in NumPy, and not kept by the layer.
        """
        if self._weight_shape is None:
            raise ValueError(
                f"Layer {self.name!r} is not built yet: call it on an input "
                "first."
            )
        return hashing.kernel_index(
            self.hash,
            self._weight_shape,
            int(self.table_variable.shape[0]),
            self.seed,
            sparsity=self.sparsity,
            numbering=self.numbering,
            number_zeros=self.number_zeros,
            sign=self.sign,
            id_offset=self.id_offset,
            position_offset=self.position_offset,
        )

    def enable_lora(self, *args, **kwargs):
        raise NotImplementedError(
            "LoRA is not supported on hashed layers: train the table."
        )

    def quantize(self, *args, **kwargs):
        raise NotImplementedError(
            "Quantization is not supported on hashed layers."
        )

    # The table and bias are ordinary tracked variables: Keras' default
    # saving, not that of the Keras layer a hashed layer extends (which
    # saves its materialized kernel).
    def save_own_variables(self, store):
        keras.layers.Layer.save_own_variables(self, store)

    def load_own_variables(self, store):
        keras.layers.Layer.load_own_variables(self, store)

    @property
    def table_variable(self):
        """The table variable: the layer's own, or the shared table's."""
        return self._table if self.table is None else self.table.variable

    @property
    def virtual_shape(self):
        """The Keras shape of the virtual weight (`None` before `build`)."""
        return self._weight_shape

    def _hashed_weight(self, table=None):
        """The virtual weight `table[index] * sign`, in Keras' layout."""
        if table is None:
            table = self.table_variable
        num_weights = math.prod(self._weight_shape)
        if num_weights > MAX_MATERIALIZED:
            raise ValueError(
                f"Layer {self.name!r} has a virtual weight of shape "
                f"{self._weight_shape} ({num_weights} weights), too large "
                f"to materialize (the limit is {MAX_MATERIALIZED}). The "
                "layer computes with it without materializing it."
            )
        weight = self._weight_fn(table)
        axes = self._weight_fn.axes
        if axes is not None:
            weight = keras.ops.transpose(weight, _inverse(axes))
        return weight

    def _hashing_config(self):
        config = {
            "hash": hashing.serialize(self.hash),
            "table_size": self.table_size,
            "compression": self.compression,
            "sparsity": self.sparsity,
            # The object itself, not its config: Keras then serializes
            # it once per model and records that the layers share it.
            "table": self.table,
            "seed": None if self.table is not None else self.seed,
            "sign": self.sign,
            "numbering": self.numbering,
            "number_zeros": self.number_zeros,
            "table_initializer": initializers.serialize(self.table_initializer),
            "table_regularizer": regularizers.serialize(self.table_regularizer),
            "table_constraint": constraints.serialize(self.table_constraint),
            "kernel_mode": self.kernel_mode,
            "id_offset": self.id_offset,
            "position_offset": self.position_offset,
        }
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["table"] = restore_table(
            config.get("table"), config.get("position_offset")
        )
        return super().from_config(config)


def _inverse(axes):
    inverse = [0] * len(axes)
    for i, a in enumerate(axes):
        inverse[a] = i
    return tuple(inverse)


# Tables rebuilt from a config or cloned, by the original's config: the
# layers of one rebuilt model find their table here.
_RESTORED = weakref.WeakValueDictionary()


def restore_table(table, position_offset):
    """The table a layer rebuilt from a config (or cloned) should use.

    `model.get_config()` and `model.to_json()` write a shared table's
    config into every layer that uses it, and `clone_model` hands each
    cloned layer the original table object. Either way the rebuilt layers
    must share one new table, as the original layers share theirs, and
    never the original's variable. Layers of one rebuilt model take the
    table restored last from the same original, unless a layer at the
    same position already claimed it: then a new model is being rebuilt
    and gets a new table. Inside Keras' own loading (`saving.load_model`),
    Keras already shares the object and it is used as is.
    """
    if table is None:
        return None
    if isinstance(table, dict) and "shared_object_id" in table:
        return keras.saving.deserialize_keras_object(table)
    if isinstance(table, HashTable):
        config = table.get_config()
    elif isinstance(table, dict):
        config = table.get("config", table)
    else:
        return table  # `hash_arguments` raises the error.
    key = json.dumps(config, sort_keys=True, default=repr)
    restored = _RESTORED.get(key)
    if restored is not None and not restored.is_claimed(position_offset):
        return restored
    if isinstance(table, HashTable):
        restored = HashTable.from_config(config)
    else:
        restored = keras.saving.deserialize_keras_object(table)
    _RESTORED[key] = restored
    return restored
