"""`hashed_cnn`: a small convolutional ArbNet and its dense baseline."""

import math
import numbers

import keras

from arbnet_keras import hashing
from arbnet_keras.hashing.hash_function import validate_positive_int
from arbnet_keras.layers import HashedConv2D
from arbnet_keras.layers import HashedDense
from arbnet_keras.models.factory import KernelLayer
from arbnet_keras.models.factory import hashed_layers
from arbnet_keras.models.factory import is_baseline
from arbnet_keras.models.factory import plain_layers
from arbnet_keras.models.factory import validate_positive_ints
from arbnet_keras.models.factory import validate_sparsity
from arbnet_keras.models.factory import validate_table_arguments
from arbnet_keras.models.factory import validate_table_scope
from arbnet_keras.models.hashed_mlp import BN_EPSILON
from arbnet_keras.models.hashed_mlp import BN_MOMENTUM
from arbnet_keras.seeds import resolve_seed


def hashed_cnn(
    input_shape,
    filters,
    num_classes,
    *,
    kernel_size=3,
    pool_size=2,
    hidden_units=(),
    hash="uniform",
    table_size=1000,
    compression=None,
    sparsity=0.0,
    table_scope="network",
    seed=0,
    numbering="out_in",
    number_zeros=True,
    sign=False,
    activation="relu",
    batch_norm=True,
    flat_input=False,
    name=None,
    layer_kwargs=None,
):
    """Builds a CNN ArbNet: hashed convolution blocks, a hashed classifier.

    Convolution block `i` (from 1) is `HashedConv2D(filters[i - 1],
    kernel_size, padding="same")` (named `hashed_conv_i`), an `Activation`
    (`act_conv_i`), a `BatchNormalization` (`bn_conv_i`) and a
    `MaxPooling2D(pool_size)` (`pool_i`). The feature maps are then
    flattened and fed to `HashedDense` layers (`hashed_j`, `j` from 1)
    with `hidden_units` units, each followed by `act_j` and `bn_j`, and to
    an output `HashedDense(num_classes)` that returns logits, to be fed to
    a softmax cross-entropy from logits. Biases and batch-norm parameters
    are ordinary, unshared weights; only the kernels are hashed. Images
    are channels-last.

    With `table_scope="network"`, all the convolutions and dense layers
    share one `HashTable` (named `table`) of `table_size` entries:
    identifiers run on from one layer to the next, so weights collide
    across layers and layer types, as the paper numbers a whole network.
    With `table_scope="layer"`, each layer has its own table of
    `table_size` entries (or `compression` times its weights); the `k`-th
    weight layer (from 1, convolutions first) then hashes with seed
    `seed + k - 1`.

    `hash=None` or the identity hash builds the unshared baseline of the
    same layout with `keras.layers.Conv2D` (`conv_i`) and
    `keras.layers.Dense` (`dense_j`), ignoring the table arguments. With
    `sparsity > 0` its layers are instead hashed layers with the identity
    hash: sparse but unshared.

    Args:
        input_shape: Tuple of 3 positive integers, the shape of one image
            `(rows, cols, channels)`.
        filters: Non-empty sequence of positive integers, the filters of
            each convolution block.
        num_classes: Positive integer, the number of logits.
        kernel_size: Positive integer or tuple of 2, the size of every
            convolution's filters. Defaults to `3`.
        pool_size: Positive integer, the window and stride of every max
            pooling. Defaults to `2`.
        hidden_units: Sequence of positive integers, the units of each
            hidden dense layer after the convolutions (possibly empty).
            Defaults to `()`.
        hash: Hash function, name or config, see `arbnet_keras.hashing`;
            `None` or `"identity"` for the baseline. Defaults to
            `"uniform"`.
        table_size: Number of entries of the network's table, or of each
            layer's table. Defaults to `1000`.
        compression: Table entries per virtual weight, in `(0, 1]`; when
            given it replaces `table_size`. With `table_scope="network"`
            the table gets `round(compression * N)` entries, `N` the total
            number of virtual weights of all the kernels (zeros included).
            Defaults to `None`.
        sparsity: Fraction of each kernel's weights fixed at zero, in
            `[0, 1)`. Defaults to `0.0`.
        table_scope: `"network"` (one table for all the layers) or
            `"layer"` (one table per layer). Defaults to `"network"`.
        seed: Non-negative integer seed of the hash and of the zeros;
            `None` draws one. Defaults to `0`.
        numbering: `"out_in"` or `"in_out"`, see `HashedConv2D`. Defaults
            to `"out_in"`.
        number_zeros: Whether weights fixed at zero consume identifiers.
            Defaults to `True`.
        sign: Whether each weight gets a fixed random sign, as in
            HashedNets. Defaults to `False`.
        activation: Activation of the convolutions and hidden dense layers,
            or `None`. Defaults to `"relu"`.
        batch_norm: Whether each convolution and hidden dense layer is
            followed by batch normalization (momentum `BN_MOMENTUM`,
            epsilon `BN_EPSILON`). Defaults to `True`.
        flat_input: Whether the model takes flattened images of
            `rows * cols * channels` features, as `arbnet_keras.datasets`
            pipelines give them, and reshapes them (layer `reshape`).
            Defaults to `False`.
        name: Name of the model. Defaults to `"hashed_cnn"`, or
            `"dense_cnn"` for the baseline.
        layer_kwargs: Dict of further arguments of every hashed layer,
            such as `{"kernel_mode": "gather"}`. Defaults to `None`.

    Returns:
        A built `keras.Sequential` model mapping `(batch, *input_shape)`
        (or `(batch, rows * cols * channels)` with `flat_input`) to
        `(batch, num_classes)` logits.

    Raises:
        ValueError: On an invalid argument, or an image too small for the
            pooling layers.

    Example:

    >>> model = hashed_cnn((28, 28, 1), [8, 16], 10, table_size=500)
    >>> model.output_shape
    (None, 10)
    >>> [w.name for w in model.trainable_weights if w.name == "table"]
    ['table']

    Reference:
        - [Chen et al., 2015](https://arxiv.org/abs/1504.04788), HashedNets.
        - Chang and Lipson, "Balanced and Deterministic Weight-sharing
          Helps Network Performance" (ArbNets), section 2.
    """
    input_shape = _validate_input_shape(input_shape)
    filters = validate_positive_ints("filters", filters, allow_empty=False)
    num_classes = validate_positive_int("num_classes", num_classes)
    kernel_size = _validate_kernel_size(kernel_size)
    pool_size = validate_positive_int("pool_size", pool_size)
    hidden_units = validate_positive_ints("hidden_units", hidden_units)
    validate_table_scope(table_scope)
    sparsity = validate_sparsity(sparsity)
    rows, cols = _pooled_size(input_shape, len(filters), pool_size)
    seed = resolve_seed(seed)
    hash = None if hash is None else hashing.get(hash)
    units = hidden_units + [num_classes]
    kernels = _kernels(filters, units, kernel_size)
    if is_baseline(hash):
        weight_layers = plain_layers(kernels, sparsity, seed)
        name = name or "dense_cnn"
    else:
        validate_table_arguments(table_size, compression)
        channels = [input_shape[-1]] + filters
        fan_ins = [rows * cols * filters[-1]] + units[:-1]

        def num_weights():
            convs = sum(
                math.prod(kernel_size) * c * f
                for c, f in zip(channels, filters)
            )
            return convs + sum(n * u for n, u in zip(fan_ins, units))

        weight_layers = hashed_layers(
            kernels,
            num_weights,
            table_scope=table_scope,
            table_size=table_size,
            compression=compression,
            seed=seed,
            hash_kwargs={
                "hash": hash,
                "numbering": numbering,
                "number_zeros": number_zeros,
            },
            layer_kwargs={
                "sparsity": sparsity,
                "sign": sign,
                **(layer_kwargs or {}),
            },
        )
        name = name or "hashed_cnn"
    return keras.Sequential(
        _stack(
            input_shape,
            weight_layers,
            len(filters),
            pool_size,
            activation,
            batch_norm,
            flat_input,
        ),
        name=name,
    )


def _kernels(filters, units, kernel_size):
    convs = [
        KernelLayer(
            HashedConv2D,
            keras.layers.Conv2D,
            {"filters": f, "kernel_size": kernel_size, "padding": "same"},
            name=f"hashed_conv_{i}",
            plain_name=f"conv_{i}",
        )
        for i, f in enumerate(filters, start=1)
    ]
    dense = [
        KernelLayer(
            HashedDense,
            keras.layers.Dense,
            {"units": u},
            name=f"hashed_{j}",
            plain_name=f"dense_{j}",
        )
        for j, u in enumerate(units, start=1)
    ]
    return convs + dense


def _stack(
    input_shape,
    weight_layers,
    num_convs,
    pool_size,
    activation,
    batch_norm,
    flat_input,
):
    if flat_input:
        layers = [
            keras.Input((math.prod(input_shape),), name="features"),
            keras.layers.Reshape(input_shape, name="reshape"),
        ]
    else:
        layers = [keras.Input(input_shape, name="images")]
    for k, layer in enumerate(weight_layers):
        is_conv = k < num_convs
        is_output = k == len(weight_layers) - 1
        if k == num_convs:
            layers.append(keras.layers.Flatten(name="flatten"))
        layers.append(layer)
        if is_output:
            break
        suffix = f"conv_{k + 1}" if is_conv else str(k - num_convs + 1)
        if activation is not None:
            layers.append(
                keras.layers.Activation(activation, name=f"act_{suffix}")
            )
        if batch_norm:
            layers.append(
                keras.layers.BatchNormalization(
                    momentum=BN_MOMENTUM,
                    epsilon=BN_EPSILON,
                    name=f"bn_{suffix}",
                )
            )
        if is_conv:
            layers.append(
                keras.layers.MaxPooling2D(pool_size, name=f"pool_{k + 1}")
            )
    return layers


def _validate_input_shape(input_shape):
    if (
        isinstance(input_shape, (str, bytes))
        or not hasattr(input_shape, "__len__")
        or len(input_shape) != 3
        or any(
            isinstance(d, bool) or not isinstance(d, numbers.Integral) or d <= 0
            for d in input_shape
        )
    ):
        raise ValueError(
            "`input_shape` must be a tuple of 3 positive integers "
            f"`(rows, cols, channels)`. Received: input_shape={input_shape!r}"
        )
    return tuple(int(d) for d in input_shape)


def _validate_kernel_size(kernel_size):
    sizes = kernel_size
    if isinstance(kernel_size, numbers.Integral):
        sizes = (kernel_size, kernel_size)
    if (
        isinstance(sizes, (str, bytes))
        or not hasattr(sizes, "__len__")
        or len(sizes) != 2
        or any(
            isinstance(d, bool) or not isinstance(d, numbers.Integral) or d <= 0
            for d in sizes
        )
    ):
        raise ValueError(
            "`kernel_size` must be a positive integer or a tuple of 2 "
            f"positive integers. Received: kernel_size={kernel_size!r}"
        )
    return tuple(int(d) for d in sizes)


def _pooled_size(input_shape, num_pools, pool_size):
    rows, cols, _ = input_shape
    for _ in range(num_pools):
        rows, cols = rows // pool_size, cols // pool_size
    if rows == 0 or cols == 0:
        raise ValueError(
            f"`input_shape` is too small for {num_pools} max poolings of "
            f"`pool_size` {pool_size}: they need at least "
            f"{pool_size**num_pools} rows and columns. Received: "
            f"input_shape={input_shape}"
        )
    return rows, cols
