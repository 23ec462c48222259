"""The Toeplitz hash: a convolution written as a `HashedDense` layer."""

import itertools
import math

import keras
import numpy as np
import pytest

from arbnet_keras import HashedDense
from arbnet_keras import hashing


def conv_reference(x, kernel, strides, padding, dilation_rate):
    """Keras' convolution (a cross-correlation), channels last, by loops.

    Returns the output and the number of (output position, tap) pairs
    that read an input pixel rather than the padding.
    """
    rank = x.ndim - 2
    spatial, ksize = x.shape[1:-1], kernel.shape[:rank]
    out_sizes, pads = [], []
    for n, k, s, d in zip(spatial, ksize, strides, dilation_rate):
        extent = (k - 1) * d + 1
        if padding == "valid":
            out, pad = (n - extent) // s + 1, 0
        else:  # TensorFlow puts the odd padding pixel after.
            out = math.ceil(n / s)
            pad = max((out - 1) * s + extent - n, 0) // 2
        out_sizes.append(out)
        pads.append(pad)
    y = np.zeros((x.shape[0], *out_sizes, kernel.shape[-1]))
    hits = 0
    for o in itertools.product(*(range(n) for n in out_sizes)):
        for t in itertools.product(*(range(k) for k in ksize)):
            coord = [
                oi * s + ti * d - p
                for oi, ti, s, d, p in zip(o, t, strides, dilation_rate, pads)
            ]
            if all(0 <= c < n for c, n in zip(coord, spatial)):
                hits += 1
                y[(slice(None), *o)] += x[(slice(None), *coord)] @ kernel[t]
    return y, hits


def _layer(toeplitz, table):
    layer = HashedDense(
        toeplitz.kernel_shape[1], hash=toeplitz, use_bias=False, seed=0
    )
    layer.build((None, toeplitz.kernel_shape[0]))
    layer.table_variable.assign(table)
    return layer


CASES_2D = [
    (strides, padding, dilation)
    for strides in (1, 2)
    for padding in ("valid", "same")
    for dilation in (1, 2)
]


@pytest.mark.parametrize("strides, padding, dilation", CASES_2D)
def test_equals_conv2d(strides, padding, dilation):
    input_shape, kernel_size, filters = (7, 6, 2), (3, 2), 3
    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(*kernel_size, 2, filters))
    x = rng.normal(size=(4, *input_shape))
    toeplitz = hashing.Toeplitz(
        input_shape,
        kernel_size,
        filters,
        strides=strides,
        padding=padding,
        dilation_rate=dilation,
    )
    assert toeplitz.required_table_size(None, None) == kernel.size
    layer = _layer(toeplitz, kernel.ravel())
    assert layer.table_variable.shape == (kernel.size,)
    y = keras.ops.convert_to_numpy(layer(x.reshape(4, -1)))

    expected, hits = conv_reference(
        x, kernel, (strides,) * 2, padding, (dilation,) * 2
    )
    assert toeplitz.output_shape == expected.shape[1:]
    assert y.shape == (4, math.prod(expected.shape[1:]))
    np.testing.assert_allclose(y, expected.reshape(4, -1), atol=1e-4)

    # TensorFlow has no strided dilated convolution.
    if strides == 1 or dilation == 1:
        conv = keras.ops.conv(
            x.astype("float32"),
            kernel.astype("float32"),
            strides=strides,
            padding=padding,
            dilation_rate=dilation,
        )
        np.testing.assert_allclose(
            y, keras.ops.convert_to_numpy(conv).reshape(4, -1), atol=1e-4
        )

    # Each (output pixel, tap) inside the input holds in_channels *
    # filters weights; every other weight is a constant zero.
    entries = layer.kernel_index().entries
    assert np.sum(entries >= 0) == hits * 2 * filters
    kernel_values = keras.ops.convert_to_numpy(layer.kernel)
    assert np.sum(kernel_values != 0) == hits * 2 * filters


@pytest.mark.parametrize("strides, padding, dilation", CASES_2D)
def test_equals_conv1d(strides, padding, dilation):
    input_shape, kernel_size, filters = (11, 2), 3, 2
    rng = np.random.default_rng(1)
    kernel = rng.normal(size=(kernel_size, 2, filters))
    x = rng.normal(size=(3, *input_shape))
    toeplitz = hashing.Toeplitz(
        input_shape,
        kernel_size,
        filters,
        strides=strides,
        padding=padding,
        dilation_rate=dilation,
    )
    layer = _layer(toeplitz, kernel.ravel())
    y = keras.ops.convert_to_numpy(layer(x.reshape(3, -1)))
    expected, hits = conv_reference(x, kernel, (strides,), padding, (dilation,))
    np.testing.assert_allclose(y, expected.reshape(3, -1), atol=1e-4)
    if strides == 1 or dilation == 1:
        conv = keras.ops.conv(
            x.astype("float32"),
            kernel.astype("float32"),
            strides=strides,
            padding=padding,
            dilation_rate=dilation,
        )
        np.testing.assert_allclose(
            y, keras.ops.convert_to_numpy(conv).reshape(3, -1), atol=1e-4
        )
    entries = layer.kernel_index().entries
    assert np.sum(entries >= 0) == hits * 2 * filters


def test_hand_computed_1d():
    # Length 3, one channel, kernel 2, one filter: a 3x2 Toeplitz matrix.
    toeplitz = hashing.Toeplitz((3, 1), 2, 1)
    assert toeplitz.kernel_shape == (3, 2)
    entries = toeplitz.index(np.zeros((3, 2), "int64"), 2)
    np.testing.assert_array_equal(entries, [[0, -1], [1, 0], [-1, 1]])


def test_each_column_uses_each_weight_once():
    toeplitz = hashing.Toeplitz((5, 5, 3), 3, 4)
    entries = toeplitz.index(np.zeros(toeplitz.kernel_shape, "int64"), 108)
    # Valid padding: every output unit reads the whole filter of its
    # output channel, each weight once.
    for col in range(entries.shape[1]):
        used = entries[:, col][entries[:, col] >= 0]
        filt = col % 4
        np.testing.assert_array_equal(np.sort(used), np.arange(filt, 108, 4))


def test_zero_ids_stay_zero():
    toeplitz = hashing.Toeplitz((4, 2), 2, 1)
    ids = np.zeros(toeplitz.kernel_shape, "int64")
    ids[0, 0] = -1
    entries = toeplitz.index(ids, 4)
    assert entries[0, 0] == -1
    assert np.sum(entries >= 0) == np.sum(toeplitz.index(ids * 0, 4) >= 0) - 1


def test_shapes():
    toeplitz = hashing.Toeplitz((28, 28, 1), 3, 8)
    assert toeplitz.output_shape == (26, 26, 8)
    assert toeplitz.kernel_shape == (784, 26 * 26 * 8)
    toeplitz = hashing.Toeplitz((28, 28, 1), 3, 8, strides=2, padding="same")
    assert toeplitz.output_shape == (14, 14, 8)
    toeplitz = hashing.Toeplitz((10, 3), 3, 5, dilation_rate=2)
    assert toeplitz.output_shape == (6, 5)
    assert toeplitz.required_table_size(None, None) == 3 * 3 * 5


def test_layer_table_size_is_set_by_the_hash():
    toeplitz = hashing.Toeplitz((5, 2), 2, 3)
    layer = HashedDense(12, hash=toeplitz)
    layer.build((None, 10))
    assert layer.table_variable.shape == (12,)


def test_layer_rejects_other_table_size():
    toeplitz = hashing.Toeplitz((5, 2), 2, 3)
    layer = HashedDense(12, hash=toeplitz, table_size=10)
    with pytest.raises(
        ValueError, match=r"needs a table of 12 entries.*table_size=10"
    ):
        layer.build((None, 10))


def test_layer_with_wrong_units():
    toeplitz = hashing.Toeplitz((5, 2), 2, 3)
    layer = HashedDense(11, hash=toeplitz)
    with pytest.raises(ValueError, match=r"needs a kernel of shape \(10, 12\)"):
        layer.build((None, 10))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            dict(input_shape=(5,), kernel_size=2, filters=1),
            r"`input_shape` must be .*Received: input_shape=\(5,\)",
        ),
        (
            dict(input_shape=(5, 0), kernel_size=2, filters=1),
            r"`input_shape` must be a positive integer",
        ),
        (
            dict(input_shape=(5, 5, 1), kernel_size=(2, 2, 2), filters=1),
            r"`kernel_size` must be an integer or a tuple of 2 integers\. "
            r"Received: kernel_size=\(2, 2, 2\)",
        ),
        (
            dict(input_shape=(5, 1), kernel_size=2, filters=0),
            r"`filters` must be a positive integer\. Received: filters=0",
        ),
        (
            dict(input_shape=(5, 1), kernel_size=2, filters=1, strides=0),
            r"`strides` must be a positive integer\. Received: strides=0",
        ),
        (
            dict(input_shape=(5, 1), kernel_size=2, filters=1, padding="x"),
            r"Invalid value for argument `padding`.*Received: padding='x'",
        ),
        (
            dict(input_shape=(5, 1), kernel_size=6, filters=1),
            r"The convolution has no output",
        ),
        (
            dict(input_shape=(5, 1), kernel_size=3, filters=1, dilation_rate=3),
            r"The convolution has no output",
        ),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        hashing.Toeplitz(**kwargs)
