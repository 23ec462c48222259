"""`toeplitz_cnn`: a convolution written as an ArbNet, and its controls.

The ArbNets paper (eq. 6) writes a convolution as a dense layer whose
kernel shares weights through the Toeplitz hash. `toeplitz_cnn` builds a
one-convolution network that way, so the sharing can be perturbed
(`hashing.Perturbed`: noise takes determinism away, a Dirichlet remap
takes balance away) while everything else stays the same, and, for
comparison, the same network with Keras' own `Conv2D`, or with a uniform
hash over the whole dense kernel (sharing with neither locality nor
structure).
"""

import math

import keras

from arbnet_keras import hashing
from arbnet_keras.hashing.hash_function import validate_positive_int
from arbnet_keras.layers import HashedDense
from arbnet_keras.models.hashed_mlp import BN_EPSILON
from arbnet_keras.models.hashed_mlp import BN_MOMENTUM
from arbnet_keras.seeds import resolve_seed

LAYERS = ("toeplitz", "conv2d", "uniform")


def toeplitz_cnn(
    input_shape,
    num_classes,
    *,
    filters=8,
    kernel_size=5,
    strides=2,
    layer="toeplitz",
    noise=0.0,
    alpha=None,
    merge=None,
    seed=0,
    activation="elu",
    name=None,
):
    """Builds a one-convolution network whose convolution is an ArbNet.

    The model takes flattened images (`prod(input_shape)` features, as
    `arbnet_keras.datasets` gives them). Its first layer is a convolution
    (`filters` filters of `kernel_size`, `strides`, `"same"` padding, no
    bias), then an `Activation` and a per-channel `BatchNormalization`
    (whose offset plays the convolution's bias), a `Flatten`, and the
    paper's head: `Dense(num_classes)`, the activation and batch
    normalization, giving logits. The convolution is, by `layer`:

    - `"toeplitz"`: a `HashedDense` over the flattened image whose hash is
      `Perturbed(Toeplitz(...), noise, remap=Dirichlet(alpha))` (with
      `merge=k` instead, `Perturbed(..., merge=k)`: the entries merged
      evenly at random into `k`; neither when both are `None`), with its
      own table of `prod(kernel_size) * channels * filters` entries:
      exactly a convolution when `noise=0` and neither is given;
    - `"conv2d"`: Keras' `Conv2D`, the reference;
    - `"uniform"`: a `HashedDense` with the uniform hash over the whole
      dense kernel and a table of the same size: as many parameters, but
      shared with neither locality nor structure.

    The table (or the `Conv2D` kernel) starts from the uniform
    distribution of Glorot's initialization for the convolution's fans
    (not the dense kernel's, which would make it 30 times smaller),
    seeded with `seed`; the head's kernel with `seed + 1`.

    Args:
        input_shape: `(rows, cols, channels)` of one image.
        num_classes: Positive integer, the number of logits.
        filters: Positive integer. Defaults to `8`.
        kernel_size: Positive integer, the filters' height and width.
            Defaults to `5`.
        strides: Positive integer. Defaults to `2`.
        layer: `"toeplitz"`, `"conv2d"` or `"uniform"`. Defaults to
            `"toeplitz"`.
        noise: Fraction of the convolution's weights whose entries are
            re-drawn at random, in `[0, 1]`; `"toeplitz"` only. Defaults
            to `0.0`.
        alpha: Concentration of the Dirichlet remap of the entries, or
            `None` for none; `"toeplitz"` only. Defaults to `None`.
        merge: Number of entries the convolution's entries are merged
            into, evenly at random (see `hashing.Perturbed`), or `None`;
            `"toeplitz"` only, not with `alpha`. Defaults to `None`.
        seed: Non-negative integer seed of the hashes and initializers.
            Defaults to `0`.
        activation: Activation after the convolution and the head.
            Defaults to `"elu"`.
        name: Name of the model. Defaults to `"<layer>_cnn"`.

    Returns:
        A built `keras.Sequential` model mapping `(batch, prod(input_shape))`
        to `(batch, num_classes)` logits.

    Raises:
        ValueError: On an invalid argument.

    Example:

    >>> model = toeplitz_cnn((28, 28, 1), 10, noise=0.1)
    >>> model.get_layer("conv").table_variable.shape
    (200,)
    """
    input_shape = tuple(
        validate_positive_int("input_shape", d) for d in _shape(input_shape)
    )
    num_classes = validate_positive_int("num_classes", num_classes)
    filters = validate_positive_int("filters", filters)
    kernel_size = validate_positive_int("kernel_size", kernel_size)
    strides = validate_positive_int("strides", strides)
    if layer not in LAYERS:
        raise ValueError(
            f"Invalid value for argument `layer`. Expected one of {LAYERS}. "
            f"Received: layer={layer!r}"
        )
    if layer != "toeplitz" and (
        noise != 0 or alpha is not None or merge is not None
    ):
        raise ValueError(
            "`noise`, `alpha` and `merge` perturb the Toeplitz hash: they "
            f"need layer='toeplitz'. Received: layer={layer!r}, "
            f"noise={noise!r}, alpha={alpha!r}, merge={merge!r}"
        )
    if alpha is not None and merge is not None:
        raise ValueError(
            "Give `alpha` (an uneven remap) or `merge` (an even one), not "
            f"both. Received: alpha={alpha!r}, merge={merge!r}"
        )
    seed = resolve_seed(seed)
    toeplitz = conv_hash(input_shape, filters, kernel_size, strides)
    table_size = toeplitz.required_table_size(None, None)
    fans = kernel_size * kernel_size * (input_shape[-1] + filters)
    limit = math.sqrt(6.0 / fans)
    initializer = keras.initializers.RandomUniform(-limit, limit, seed=seed)
    layers = [keras.Input((math.prod(input_shape),), name="features")]
    if layer == "conv2d":
        layers += [
            keras.layers.Reshape(input_shape, name="image"),
            keras.layers.Conv2D(
                filters,
                kernel_size,
                strides=strides,
                padding="same",
                use_bias=False,
                kernel_initializer=initializer,
                name="conv",
            ),
        ]
    else:
        if layer == "toeplitz":
            remap = None if alpha is None else hashing.Dirichlet(alpha)
            hash = hashing.Perturbed(
                toeplitz, noise=noise, remap=remap, merge=merge
            )
        else:
            hash = hashing.Uniform()
        layers += [
            HashedDense(
                toeplitz.kernel_shape[1],
                hash=hash,
                table_size=table_size,
                seed=seed,
                use_bias=False,
                table_initializer=initializer,
                name="conv",
            ),
            keras.layers.Reshape(toeplitz.output_shape, name="feature_maps"),
        ]
    layers += [
        keras.layers.Activation(activation, name="act_conv"),
        _batch_norm("bn_conv"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(
            num_classes,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 1),
            name="head",
        ),
        keras.layers.Activation(activation, name="act_head"),
        _batch_norm("bn_head"),
    ]
    return keras.Sequential(layers, name=name or f"{layer}_cnn")


def trainable_params(input_shape, num_classes, filters, kernel_size, strides):
    """Trainable parameters of `toeplitz_cnn` (every `layer` alike)."""
    toeplitz = conv_hash(input_shape, filters, kernel_size, strides)
    features = toeplitz.kernel_shape[1]
    table = toeplitz.required_table_size(None, None)
    return table + 2 * filters + features * num_classes + 3 * num_classes


def conv_hash(input_shape, filters, kernel_size, strides):
    """The Toeplitz hash of `toeplitz_cnn`'s convolution ("same" padding)."""
    return hashing.Toeplitz(
        input_shape=input_shape,
        kernel_size=kernel_size,
        filters=filters,
        strides=strides,
        padding="same",
    )


def _batch_norm(name):
    return keras.layers.BatchNormalization(
        momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name
    )


def _shape(value):
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        value = [value]
    if len(value) != 3:
        raise ValueError(
            "`input_shape` must be `(rows, cols, channels)`. "
            f"Received: input_shape={value!r}"
        )
    return value
