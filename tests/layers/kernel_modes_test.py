"""The fast kernel paths equal the reference gather path in every mode.

On TensorFlow, eager calls, `tf.function` graphs and XLA-compiled steps
take different code paths in `kernels.py` (a nested XLA gather,
`bincount`, XLA's scatter-add), so each is compared with the reference
`tf.gather`; the graph and XLA steps are TensorFlow-only. The eager
comparison runs on every backend.
"""

import keras
import numpy as np
import pytest
from layer_harness import gradient

from arbnet_keras import HashedDense
from arbnet_keras import HashedEmbedding
from arbnet_keras import hashing
from arbnet_keras.layers import kernels

CASES = {
    "uniform": dict(hash="uniform", table_size=37),
    "dirichlet": dict(hash=hashing.Dirichlet(0.3), table_size=37),
    "neighborhood": dict(hash=hashing.Neighborhood(3), table_size=37),
    "hashed_nets_sign": dict(hash="hashed_nets", table_size=37, sign=True),
    "modulus": dict(hash="modulus", table_size=37),
    "modulus_in_out": dict(hash="modulus", table_size=37, numbering="in_out"),
    "identity": dict(hash="identity"),
    "sparse_sign": dict(hash="modulus", table_size=37, sparsity=0.3, sign=True),
    "sparse_unnumbered": dict(
        hash="uniform", table_size=37, sparsity=0.3, number_zeros=False
    ),
}


def _run(case, kernel_mode, how):
    layer = HashedDense(7, seed=3, kernel_mode=kernel_mode, **CASES[case])
    layer.build((None, 30))
    size = layer.table_variable.shape[0]
    layer.table_variable.assign(
        np.random.default_rng(1).normal(size=size).astype("float32")
    )
    x = np.random.default_rng(0).random((5, 30), dtype=np.float32)

    if how == "eager":
        y = keras.ops.convert_to_numpy(layer(x))
        grad = gradient(
            lambda: keras.ops.sum(layer(x) ** 2), layer.table_variable
        )
        return y, grad

    import tensorflow as tf

    def step():
        with tf.GradientTape() as tape:
            y = layer(x)
            loss = tf.reduce_sum(y * y)
        grad = tape.gradient(loss, layer.table_variable)
        return y, tf.convert_to_tensor(grad)

    if how == "xla":
        step = tf.function(step, jit_compile=True)
    else:
        step = tf.function(step)
    y, grad = step()
    return y.numpy(), grad.numpy()


TENSORFLOW_ONLY = dict(marks=pytest.mark.tensorflow_only)


@pytest.mark.parametrize(
    "how",
    [
        "eager",
        pytest.param("graph", **TENSORFLOW_ONLY),
        pytest.param("xla", **TENSORFLOW_ONLY),
    ],
)
@pytest.mark.parametrize("case", sorted(CASES))
def test_auto_equals_gather(case, how):
    y_ref, grad_ref = _run(case, "gather", "eager")
    y, grad = _run(case, "auto", how)
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-4, atol=1e-4)
    assert np.abs(grad_ref).sum() > 0


@pytest.mark.tensorflow_only
@pytest.mark.parametrize("case", ["uniform", "sparse_sign", "hashed_nets_sign"])
def test_gather_gradient_is_one_slice_per_used_entry(case):
    import tensorflow as tf

    layer = HashedDense(7, seed=3, kernel_mode="gather", **CASES[case])
    layer.build((None, 30))
    size = layer.table_variable.shape[0]
    # The table and input of `_run`, whose "auto" gradient is the reference.
    layer.table_variable.assign(
        np.random.default_rng(1).normal(size=size).astype("float32")
    )
    x = np.random.default_rng(0).random((5, 30), dtype=np.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) ** 2)
    grad = tape.gradient(loss, layer.table_variable)
    assert isinstance(grad, tf.IndexedSlices)
    index = layer.kernel_index()
    used = np.unique(index.entries[index.entries >= 0])
    np.testing.assert_array_equal(grad.indices.numpy(), used)
    # The same sums as the dense gradient of "auto" mode, in another order.
    _, dense = _run(case, "auto", "eager")
    np.testing.assert_allclose(
        grad.values.numpy(), dense[used], rtol=1e-4, atol=1e-4
    )


@pytest.mark.parametrize(
    "table_size, dtype",
    [(37, "uint8"), (256, "uint8"), (257, "int16"), (2**15, "int16")]
    + [(2**15 + 1, "int32")],
)
def test_index_is_stored_in_the_narrowest_type(table_size, dtype):
    assert kernels.index_dtype(table_size) == dtype


@pytest.mark.parametrize("layer_class", ["dense", "embedding"])
def test_uint8_index_reaches_every_entry(layer_class):
    # Entries up to 255: read as signed bytes they would wrap negative.
    options = dict(hash="uniform", table_size=256, seed=1)
    options["kernel_mode"] = "gather"
    if layer_class == "dense":
        layer = HashedDense(32, **options)
        layer.build((None, 40))
    else:
        layer = HashedEmbedding(40, 32, **options)
        layer.build((None,))
    assert layer._weight_fn.index.array.dtype == np.uint8
    table = np.random.default_rng(1).normal(size=256).astype("float32")
    layer.table_variable.assign(table)
    entries = layer.kernel_index().entries
    assert entries.max() > 127
    expected = table[entries]
    if layer_class == "dense":
        actual = layer.kernel
    else:
        actual = layer(np.arange(40))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(actual), expected)
