"""Deploying hashed models small: a SavedModel or a TFLite file.

A hashed layer's weight is `table[index]`. Stored, the index is as large
as the weights it replaces (two bytes a weight for tables of up to 32,768
entries), and the TFLite converter goes further: it folds `table[index]`,
all constants, into the full float kernel. A hash computed from a seed
needs no index: `export` writes the model with every such layer computing
its entries inside the graph from the identifiers (`kernel_mode="hash"`,
bit for bit what NumPy computes), so the artifact holds the tables, the
biases and the graph, and little else.

The converter also folds any computation whose inputs are all constants,
identifiers included. In the exported graph the identifiers therefore
start from a zero computed from the input batch's size, which no
converter can know, so the hash stays a computation and never becomes a
stored kernel. A layer that keeps an index (`hashing.KMeans`, custom
hashes) reads it through the same zero, so the TFLite file stores the
index in its narrow integer type instead of the float kernel.

TFLite's built-in operators have no `BitwiseAnd`, `BitwiseOr` or
`LeftShift` on int32 (they have `BitwiseXor`, `RightShift`, `FloorMod`
and wrapping int32 `Mul`, `Add` and `Sub`). A graph that uses the missing
ones converts only with `SELECT_TF_OPS` (the Flex delegate, several
megabytes of TensorFlow kernels in the app, which neither LiteRT's nor
TensorFlow's Python interpreter includes); `export` tries the built-ins
first and falls back to it with a warning.
"""

import json
import os
import pathlib
import shutil
import tempfile
import warnings

import keras
from keras import ops

from arbnet_keras import hashing
from arbnet_keras.conversion.graph import check_graph_model
from arbnet_keras.conversion.graph import leaf_layers
from arbnet_keras.conversion.graph import rebuild
from arbnet_keras.hashing import graph_hash
from arbnet_keras.hashing.graph_hash import MAX_GRAPH_TABLE_SIZE
from arbnet_keras.layers.hashed_weights import HashedLayerMixin
from arbnet_keras.layers.kernels import GatherKernel
from arbnet_keras.layers.kernels import GraphHashKernel
from arbnet_keras.layers.kernels import computes_in_graph

__all__ = ["FORMATS", "export", "hash_in_graph", "run_tflite"]

FORMATS = ("saved_model", "tflite")


def export(model, filepath, format="saved_model", select_tf_ops="auto"):
    """Writes a hashed model as a SavedModel or a TFLite file, small.

    Hashed layers whose hash can be computed in the graph (see
    `hash_in_graph`) store no index: the artifact holds their table. The
    exported function takes the model's inputs and returns its outputs
    in inference mode; it is the SavedModel's `serve` endpoint and
    `serving_default` signature, and the TFLite file's one signature.

    Args:
        model: A built Sequential or Functional Keras model (TensorFlow
            backend).
        filepath: Directory of the SavedModel, or path of the `.tflite`
            file. Replaced if it exists.
        format: `"saved_model"` or `"tflite"`. Defaults to
            `"saved_model"`.
        select_tf_ops: For `"tflite"`: `"auto"` converts with TFLite's
            built-in operators and, where the graph needs TensorFlow
            operators that TFLite lacks, converts again with
            `SELECT_TF_OPS` and warns; `True` allows them from the start;
            `False` raises instead. Defaults to `"auto"`.

    Returns:
        The size of what was written, in bytes (a directory's files
        summed).

    Raises:
        ValueError: For an invalid argument, a model that is not a built
            Sequential or Functional model, or a backend other than
            TensorFlow.

    Example:

    >>> from arbnet_keras import deploy, models
    >>> model = models.mnist_mlp(hash="dirichlet")
    >>> size = deploy.export(model, "/tmp/mlp.tflite", format="tflite")

    Reference:
        - [Chen et al., 2015](https://arxiv.org/abs/1504.04788), HashedNets.
        - Chang and Lipson, "Balanced and Deterministic Weight-sharing
          Helps Network Performance" (ArbNets).
    """
    if format not in FORMATS:
        raise ValueError(
            "Invalid value for argument `format`. Expected one of "
            f"{FORMATS}. Received: format={format!r}"
        )
    if select_tf_ops not in ("auto", True, False):
        raise ValueError(
            "Invalid value for argument `select_tf_ops`. Expected one of "
            f"('auto', True, False). Received: select_tf_ops={select_tf_ops!r}"
        )
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            "`export` writes TensorFlow artifacts and needs the TensorFlow "
            "backend (`KERAS_BACKEND=tensorflow`). Received: backend "
            f"{keras.backend.backend()!r}"
        )
    check_graph_model(model)
    filepath = pathlib.Path(filepath)
    deployed = hash_in_graph(model)
    if format == "saved_model":
        # Hashes of TFLite's built-in operators only: the same bits, and
        # a SavedModel that converts to TFLite without TensorFlow ops.
        with graph_hash.tflite_builtins():
            _write_saved_model(deployed, filepath)
        return _size(filepath)
    with tempfile.TemporaryDirectory() as tmp:
        saved = pathlib.Path(tmp) / "saved_model"
        with graph_hash.tflite_builtins():
            _write_saved_model(deployed, saved)
        flatbuffer = _to_tflite(saved, select_tf_ops)
    partial = filepath.with_name(f".{filepath.name}.partial")
    partial.write_bytes(flatbuffer)
    os.replace(partial, filepath)
    return _size(filepath)


def run_tflite(filepath, inputs):
    """Runs a one-input, one-output TFLite file in LiteRT.

    Args:
        filepath: Path of the `.tflite` file, such as `export` writes.
        inputs: NumPy array of a whole batch, of the model's input dtype.

    Returns:
        The output for the batch, as a NumPy array.

    Raises:
        ImportError: If LiteRT (`ai-edge-litert`, the extra `deploy`) is
            not installed.

    Example:

    >>> export(model, "model.tflite", format="tflite")
    >>> outputs = run_tflite("model.tflite", x[:64])
    """
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(filepath))
    (detail,) = interpreter.get_input_details()
    interpreter.resize_tensor_input(detail["index"], inputs.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(detail["index"], inputs)
    interpreter.invoke()
    (output,) = interpreter.get_output_details()
    return interpreter.get_tensor(output["index"])


def hash_in_graph(model):
    """A copy of `model` whose hashed layers compute their entries inside.

    Every hashed layer whose hash, zeros and signs can be computed in the
    graph (`Uniform`, `Dirichlet`, `Neighborhood` of version 2,
    `HashedNets`, `Modulus`; see `kernel_mode="hash"`) is rebuilt with
    `kernel_mode="hash"` and without an inference cache; the others keep
    their stored index, with a warning naming them. Every weight is
    carried over, shared tables stay shared, and the copy predicts what
    `model` predicts.

    Args:
        model: A built Sequential or Functional Keras model.

    Returns:
        A new model of the same kind.

    Raises:
        ValueError: For a subclassed or unbuilt model.
    """
    check_graph_model(model)
    kept = [
        layer.name
        for layer in leaf_layers(model)
        if isinstance(layer, HashedLayerMixin) and not _hashes_in_graph(layer)
    ]
    if kept:
        warnings.warn(
            f"Layers {kept} keep their stored index: their hash cannot be "
            "computed in the graph (a hash fitted to data such as "
            "`KMeans`, a custom hash, a version 1 hash, or zeros or signs "
            "it cannot compute). The exported model stores it.",
            stacklevel=2,
        )

    def replace(layer):
        if not isinstance(layer, HashedLayerMixin):
            return None
        config = layer.get_config()
        if _hashes_in_graph(layer):
            config["kernel_mode"] = "hash"
        if config.get("inference_cache"):
            # Its variables are not weights, so no artifact holds them.
            config["inference_cache"] = False
        return type(layer).from_config(config)

    new_model, replaced = rebuild(model, replace)
    for layer, new in replaced:
        new.set_weights(layer.get_weights())
    return new_model


def _hashes_in_graph(layer):
    return (
        computes_in_graph(
            layer.hash, layer.sparsity, layer.sign, layer.number_zeros
        )
        and int(layer.table_variable.shape[0]) <= MAX_GRAPH_TABLE_SIZE
    )


class _AnchoredHashKernel(GraphHashKernel):
    """Positions counted from `zero`, a tensor the converter cannot fold.

    Counted from a constant, the positions (and all the hashing after
    them) would be folded into a stored array. The table gradient is not
    needed for serving: the kernel is a plain gather, without the XLA
    function and custom gradient of training.
    """

    def __init__(self, kernel, functions):
        self.__dict__.update(kernel.__dict__)
        self.hash = _SharedGraphHash(kernel.hash, functions)
        self.dense_gradient = False
        self.zero = None

    def __call__(self, table):
        if self.zero is None:
            return super().__call__(table)
        positions = _positions(self.zero, self.size, self.ids_dtype)
        return self._gather(table, ops.reshape(positions, self.shape))


class _SharedGraphHash:
    """A hash whose graph computations are functions shared by layers.

    Layers hashing with the same function, table size and seed (the
    layers of one shared table) call one `tf.function` instead of each
    holding a copy of the hash's operations, so the SavedModel's graph
    holds it once.
    """

    def __init__(self, hash_function, functions):
        self.hash = hash_function
        self.functions = functions

    def graph_entries(self, ids, table_size, seed=0):
        return self._call("graph_entries", ids, table_size, seed)

    def graph_signs(self, ids, seed, dtype):
        return self._call("graph_signs", ids, seed, dtype)

    def graph_zeros(self, positions, seed, sparsity):
        return self._call("graph_zeros", positions, seed, sparsity)

    def _call(self, method, ids, *args):
        import tensorflow as tf

        config = json.dumps(hashing.serialize(self.hash), sort_keys=True)
        key = (method, config, str(ids.dtype)) + args
        function = self.functions.get(key)
        if function is None:
            compute = getattr(self.hash, method)
            function = tf.function(
                lambda flat: compute(flat, *args),
                input_signature=[tf.TensorSpec([None], ids.dtype)],
            )
            self.functions[key] = function
        flat = function(ops.reshape(ids, (-1,)))
        return ops.reshape(flat, ops.shape(ids))


class _AnchoredGatherKernel(GatherKernel):
    """A stored index read through `zero`, so it is not folded away.

    Folded, `table[index]` becomes the float kernel; read as
    `index[positions]`, the index stays a constant of its own narrow
    integer type.
    """

    def __init__(self, kernel):
        self.__dict__.update(kernel.__dict__)
        self.dense_gradient = False
        self.zero = None
        index = self.index
        self.index = lambda table: self._read(index(table))

    def _read(self, index):
        if self.zero is None:
            return index
        flat = ops.reshape(index, (-1,))
        positions = _positions(self.zero, int(flat.shape[0]), "int32")
        return ops.reshape(ops.take(flat, positions), ops.shape(index))


def _positions(zero, size, dtype):
    """`arange(size)` computed from `zero`, never a stored constant."""
    zero = ops.cast(zero, dtype)
    return ops.arange(zero, zero + size, dtype=dtype)


def _anchor(model):
    """Swaps in the anchored kernels; returns them."""
    kernels, functions = [], {}
    for layer in leaf_layers(model):
        if not isinstance(layer, HashedLayerMixin):
            continue
        kernel = layer._weight_fn
        if type(kernel) is GraphHashKernel:
            layer._weight_fn = _AnchoredHashKernel(kernel, functions)
        elif type(kernel) is GatherKernel:
            layer._weight_fn = _AnchoredGatherKernel(kernel)
        else:
            continue
        kernels.append(layer._weight_fn)
    return kernels


def _write_saved_model(model, filepath):
    import tensorflow as tf

    kernels = _anchor(model)
    signature = [
        tf.TensorSpec(tensor.shape, tensor.dtype, name=tensor.name)
        for tensor in model.inputs
    ]

    def serve(*inputs):
        # The batch size is known only when the model runs: the minimum
        # with 0 is a zero that no converter folds.
        zero = tf.minimum(tf.shape(inputs[0])[0], 0)
        for kernel in kernels:
            kernel.zero = zero
        try:
            args = inputs[0] if len(inputs) == 1 else list(inputs)
            return model(args, training=False)
        finally:
            for kernel in kernels:
                kernel.zero = None

    # Not `archive.track(model)`: it would save every variable twice.
    archive = keras.export.ExportArchive()
    archive.add_endpoint("serve", serve, input_signature=signature)
    if filepath.exists():
        shutil.rmtree(filepath)
    archive.write_out(str(filepath), verbose=False)


def _to_tflite(saved_model, select_tf_ops):
    import tensorflow as tf

    def convert(ops_sets):
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
        converter.target_spec.supported_ops = ops_sets
        return converter.convert()

    builtins = [tf.lite.OpsSet.TFLITE_BUILTINS]
    with_tf_ops = builtins + [tf.lite.OpsSet.SELECT_TF_OPS]
    if select_tf_ops is True:
        return convert(with_tf_ops)
    try:
        return convert(builtins)
    except Exception as error:  # The converter raises its own error types.
        missing = _missing_ops(str(error))
        if select_tf_ops is False or missing is None:
            raise
    warnings.warn(
        f"TFLite's built-in operators lack {missing}: the TFLite file uses "
        "TensorFlow operators (SELECT_TF_OPS), which need the Flex "
        "delegate at run time.",
        stacklevel=3,
    )
    return convert(with_tf_ops)


def _missing_ops(message):
    """The TensorFlow ops a builtins-only conversion named, or `None`."""
    marker = "TF Select ops:"
    if marker not in message:
        return None
    return message.split(marker, 1)[1].splitlines()[0].strip()


def _size(path):
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size
