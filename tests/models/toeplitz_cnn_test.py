"""Tests of `models.toeplitz_cnn`: a convolution written as an ArbNet."""

import math

import keras
import numpy as np
import pytest

from arbnet_keras import models
from arbnet_keras.models.toeplitz_cnn import trainable_params

SHAPE = (12, 12, 1)


def features(n=4, seed=0):
    return np.random.default_rng(seed).random((n, math.prod(SHAPE)), "float32")


def conv_output(model, x):
    """The convolution's feature maps (before the activation)."""
    layer = model.get_layer("conv")
    probe = keras.Model(model.inputs, layer.output)
    out = keras.ops.convert_to_numpy(probe(x))
    return out.reshape(len(x), -1)


def test_unperturbed_toeplitz_equals_conv2d():
    """Eq. 6: the Toeplitz-hashed dense layer is the convolution."""
    kwargs = dict(filters=4, kernel_size=3, strides=2, seed=0)
    arbnet = models.toeplitz_cnn(SHAPE, 10, layer="toeplitz", **kwargs)
    conv = models.toeplitz_cnn(SHAPE, 10, layer="conv2d", **kwargs)
    table = keras.ops.convert_to_numpy(arbnet.get_layer("conv").table_variable)
    conv.get_layer("conv").kernel.assign(table.reshape(3, 3, 1, 4))
    x = features()
    # Sums of 9 products of numbers below 1 in float32.
    np.testing.assert_allclose(
        conv_output(arbnet, x), conv_output(conv, x), rtol=1e-5, atol=1e-6
    )


def test_every_layer_has_the_same_trainable_parameters():
    counts = {
        layer: sum(
            math.prod(w.shape)
            for w in models.toeplitz_cnn(
                SHAPE, 10, layer=layer
            ).trainable_weights
        )
        for layer in ("toeplitz", "conv2d", "uniform")
    }
    assert set(counts.values()) == {trainable_params(SHAPE, 10, 8, 5, 2)}


def test_noise_changes_the_sharing_not_the_receptive_fields():
    clean = models.toeplitz_cnn(SHAPE, 10, seed=1)
    noisy = models.toeplitz_cnn(SHAPE, 10, noise=1.0, seed=1)
    a = clean.get_layer("conv").kernel_index().entries
    b = noisy.get_layer("conv").kernel_index().entries
    np.testing.assert_array_equal(a >= 0, b >= 0)
    assert np.mean(a[a >= 0] != b[b >= 0]) > 0.9


def test_merge_uses_k_entries_evenly():
    model = models.toeplitz_cnn(SHAPE, 10, merge=8, seed=0)
    merged = model.get_layer("conv").kernel_index().entries
    base = models.toeplitz_cnn(SHAPE, 10, seed=0)
    entries = base.get_layer("conv").kernel_index().entries
    live = entries >= 0
    # 200 entries of the 5x5x1x8 convolution, 25 in each merged entry.
    sources = [
        len(np.unique(entries[live][merged[live] == j])) for j in range(8)
    ]
    assert sources == [25] * 8


def test_table_starts_at_the_convolutions_scale():
    model = models.toeplitz_cnn(SHAPE, 10, filters=8, kernel_size=5, seed=0)
    table = keras.ops.convert_to_numpy(model.get_layer("conv").table_variable)
    limit = math.sqrt(6 / (25 * (1 + 8)))
    assert np.abs(table).max() <= limit
    assert np.abs(table).max() > 0.8 * limit


def test_save_and_load_keep_the_perturbed_sharing(tmp_path):
    model = models.toeplitz_cnn(SHAPE, 10, noise=0.3, alpha=0.1, seed=2)
    x = features()
    expected = keras.ops.convert_to_numpy(model(x))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(loaded(x)), expected
    )


def test_trains_one_step():
    model = models.toeplitz_cnn(SHAPE, 3, noise=0.5, seed=0)
    model.compile(
        optimizer="sgd",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    table = model.get_layer("conv").table_variable
    before = keras.ops.convert_to_numpy(table).copy()
    model.fit(features(8), np.arange(8) % 3, epochs=1, verbose=0)
    assert np.any(keras.ops.convert_to_numpy(table) != before)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"layer": "dense"}, "Invalid value for argument `layer`"),
        ({"layer": "conv2d", "noise": 0.1}, "need layer='toeplitz'"),
        ({"layer": "uniform", "alpha": 1.0}, "need layer='toeplitz'"),
        ({"filters": 0}, "`filters` must be a positive integer"),
        ({"noise": 2.0}, "`noise` must be a number in"),
        ({"layer": "conv2d", "merge": 4}, "need layer='toeplitz'"),
        ({"alpha": 1.0, "merge": 4}, "not both"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.toeplitz_cnn(SHAPE, 10, **kwargs)


def test_bad_input_shape():
    with pytest.raises(ValueError, match="`input_shape` must be"):
        models.toeplitz_cnn((12, 12), 10)
