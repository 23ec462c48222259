"""The inference kernel cache of `HashedDense` never goes stale.

The cache keeps the kernel in a `tf.Variable`, so it is TensorFlow-only;
the other backends refuse it with a `ValueError`.
"""

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


def _assert_matches_numpy(actual, model, x):
    # TensorFlow's matmul and NumPy's sum the 30 (then 20) products in
    # different orders; reordering a float32 sum of n terms moves it by up
    # to (n - 1) * eps * sum(|terms|), about 4e-6 of the output's scale
    # here. The values stay O(1), so rtol=1e-5 plus an atol of 1e-5 times
    # the largest output covers entries that cancel to near zero, while a
    # stale kernel is off by far more (see the checks below).
    expected = _expected(model, x)
    np.testing.assert_allclose(
        actual, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max()
    )


@pytest.mark.tensorflow_only
@pytest.mark.parametrize("hash", ["uniform", "modulus"])
def test_cache_follows_table_changes(hash):
    rng = np.random.default_rng(0)
    x = rng.random((64, 30), dtype=np.float32)
    y = rng.normal(size=(64, 5)).astype(np.float32)
    # A seeded, small initializer and a few small SGD steps keep every value
    # O(1): the test compares two computations, never a divergent run.
    table = HashTable(
        40,
        hash=hash,
        seed=0,
        initializer=keras.initializers.RandomNormal(stddev=0.1, seed=1),
    )
    model = keras.Sequential(
        [
            keras.Input((30,)),
            HashedDense(20, table=table, inference_cache=True),
            HashedDense(5, table=table, inference_cache=True),
        ]
    )
    model.compile(keras.optimizers.SGD(0.01), "mse")
    first = model.predict(x, verbose=0)
    _assert_matches_numpy(first, model, x)
    assert bool(model.layers[0]._kernel_cache.valid.numpy())

    table.variable.assign(table.variable * 2.0)
    second = model.predict(x, verbose=0)
    _assert_matches_numpy(second, model, x)
    # Without the bias, doubling the table multiplies the output by 4.
    np.testing.assert_allclose(second, 4.0 * first, rtol=1e-5, atol=1e-6)

    model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    third = model.predict(x, verbose=0)
    assert np.all(np.isfinite(third))
    assert np.abs(third).max() < 10.0
    _assert_matches_numpy(third, model, x)
    # A stale cache would return `second` unchanged; training moves the
    # outputs by far more than the tolerance above.
    assert np.abs(third - second).max() > 100 * 1e-5 * np.abs(third).max()


@pytest.mark.tensorflow_only
def test_cache_is_not_a_weight_and_not_saved(tmp_path):
    keras.utils.set_random_seed(0)  # The table's initializer.
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
    # The same weights through the same operations.
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), before, rtol=1e-6, atol=1e-6
    )


@pytest.mark.tensorflow_only
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


@pytest.mark.skipif(
    keras.backend.backend() == "tensorflow",
    reason="The cache works on TensorFlow.",
)
def test_other_backends_refuse_the_cache():
    backend = keras.backend.backend()
    with pytest.raises(
        ValueError,
        match=r"`inference_cache=True` needs the TensorFlow backend .*"
        rf"Received: inference_cache=True with backend '{backend}'",
    ):
        HashedDense(3, table_size=6, seed=0, inference_cache=True)
