"""The inference kernel cache of `HashedDense` never goes stale."""

import keras
import numpy as np
import pytest

from arbnet_keras import HashedDense
from arbnet_keras import HashTable


def _expected(model, x):
    y = x
    for layer in model.layers:
        y = y @ keras.ops.convert_to_numpy(layer.kernel) + layer.bias.numpy()
    return y


@pytest.mark.parametrize("hash", ["uniform", "modulus"])
def test_cache_follows_table_changes(hash):
    rng = np.random.default_rng(0)
    x = rng.random((64, 30), dtype=np.float32)
    table = HashTable(40, hash=hash, seed=0)
    model = keras.Sequential(
        [
            keras.Input((30,)),
            HashedDense(20, table=table, inference_cache=True),
            HashedDense(5, table=table, inference_cache=True),
        ]
    )
    model.compile(keras.optimizers.SGD(0.1), "mse")
    first = model.predict(x, verbose=0)
    np.testing.assert_allclose(first, _expected(model, x), atol=1e-5)
    assert bool(model.layers[0]._kernel_cache.valid.numpy())

    table.variable.assign(table.variable * 2.0)
    second = model.predict(x, verbose=0)
    np.testing.assert_allclose(second, _expected(model, x), atol=1e-5)
    assert np.abs(second - first).max() > 1e-3

    model.fit(x, np.zeros((64, 5)), epochs=1, verbose=0)
    third = model.predict(x, verbose=0)
    np.testing.assert_allclose(third, _expected(model, x), atol=1e-5)
    assert np.abs(third - second).max() > 1e-6


def test_cache_is_not_a_weight_and_not_saved(tmp_path):
    x = np.ones((4, 30), np.float32)
    model = keras.Sequential(
        [
            keras.Input((30,)),
            HashedDense(5, table_size=40, seed=0, inference_cache=True),
        ]
    )
    before = model.predict(x, verbose=0)
    assert len(model.weights) == 2
    assert model.count_params() == 45
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.layers[0].inference_cache
    np.testing.assert_allclose(loaded.predict(x, verbose=0), before)


def test_training_calls_do_not_use_the_cache():
    import tensorflow as tf

    layer = HashedDense(3, table_size=6, seed=0, inference_cache=True)
    x = np.ones((2, 4), np.float32)
    layer(x, training=False)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x, training=True))
    grad = tape.gradient(loss, layer.table_variable)
    assert grad is not None
    assert float(tf.reduce_sum(tf.abs(tf.convert_to_tensor(grad)))) > 0
