"""The `HashedDense` layer, checked the way Keras checks its own layers."""

import inspect

import keras
import numpy as np
import pytest
from layer_harness import gradient

from arbnet_keras import HashedDense
from arbnet_keras import HashTable
from arbnet_keras import hashing

INPUT_DIM, UNITS = 4, 3

# Layers made before and after `kernel_mode` existed are both tested.
if "kernel_mode" in inspect.signature(HashedDense.__init__).parameters:
    KERNEL_MODES = ("auto", "gather")
else:  # pragma: no cover
    KERNEL_MODES = (None,)

# One case per sharing mechanism, on a (4, 3) kernel.
CASES = {
    "uniform": dict(hash="uniform", table_size=5),
    "modulus": dict(hash="modulus", table_size=5),
    "modulus_in_out": dict(hash="modulus", table_size=5, numbering="in_out"),
    "dirichlet": dict(hash=hashing.Dirichlet(0.5), table_size=5),
    "neighborhood": dict(hash=hashing.Neighborhood(1), table_size=5),
    "hashed_nets_sign": dict(hash="hashed_nets", table_size=5, sign=True),
    "identity": dict(hash="identity"),
    "sparse": dict(hash="uniform", table_size=4, sparsity=0.4),
    "sparse_modulus": dict(hash="modulus", table_size=4, sparsity=0.4),
    "sparse_unnumbered_zeros": dict(
        hash="modulus", table_size=4, sparsity=0.4, number_zeros=False
    ),
    "compression_sign": dict(hash="uniform", compression=0.5, sign=True),
}


def _np(x):
    if isinstance(x, keras.Variable):
        return x.numpy()
    return keras.ops.convert_to_numpy(x)


def _mode_kwargs(kernel_mode):
    return {} if kernel_mode is None else {"kernel_mode": kernel_mode}


def _layer(case, kernel_mode=None, **kwargs):
    config = dict(CASES[case], seed=7, **_mode_kwargs(kernel_mode))
    config.update(kwargs)
    return HashedDense(UNITS, **config)


def _built(case, kernel_mode=None, table=None, **kwargs):
    layer = _layer(case, kernel_mode, **kwargs)
    layer.build((None, INPUT_DIM))
    size = layer.table_variable.shape[0]
    if table is None:
        table = np.random.default_rng(3).normal(size=size)
    layer.table_variable.assign(np.asarray(table, "float32"))
    if layer.bias is not None:
        layer.bias.assign(np.arange(UNITS, dtype="float32") / 10)
    return layer


def _expected_kernel(layer):
    """`sign * table[index]` in NumPy, zeros where the index is -1."""
    index = layer.kernel_index()
    table = _np(layer.table_variable)
    kernel = np.where(
        index.entries >= 0, table[np.maximum(index.entries, 0)], 0.0
    )
    if index.signs is not None:
        kernel = kernel * index.signs
    return kernel


def _x(batch=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(batch, INPUT_DIM)).astype("float32")


@pytest.mark.parametrize("kernel_mode", KERNEL_MODES)
@pytest.mark.parametrize("case", sorted(CASES))
class TestEveryCase:
    def test_kernel_is_table_at_index(self, case, kernel_mode):
        layer = _built(case, kernel_mode)
        kernel = _np(layer.kernel)
        assert kernel.shape == (INPUT_DIM, UNITS)
        np.testing.assert_allclose(kernel, _expected_kernel(layer), atol=0)

    def test_call_is_dense_with_the_kernel(self, case, kernel_mode):
        layer = _built(case, kernel_mode)
        x = _x()
        expected = x @ _expected_kernel(layer) + _np(layer.bias)
        np.testing.assert_allclose(_np(layer(x)), expected, atol=1e-5)

    def test_table_gradient(self, case, kernel_mode):
        # The gradient of an entry sums the gradients of the live weights
        # that use it; zeros contribute nothing.
        layer = _built(case, kernel_mode)
        x = _x()
        g = np.random.default_rng(1).normal(size=(5, UNITS)).astype("float32")
        grad = gradient(
            lambda: keras.ops.sum(keras.ops.multiply(layer(x), g)),
            layer.table_variable,
        )
        index = layer.kernel_index()
        weight_grad = x.T @ g
        if index.signs is not None:
            weight_grad = weight_grad * index.signs
        live = index.entries >= 0
        expected = np.bincount(
            index.entries[live],
            weights=weight_grad[live],
            minlength=layer.table_variable.shape[0],
        )
        assert grad.shape == expected.shape
        np.testing.assert_allclose(grad, expected, atol=1e-4)

    def test_config_round_trip(self, case, kernel_mode):
        layer = _built(case, kernel_mode)
        config = layer.get_config()
        clone = HashedDense.from_config(config)
        assert clone.get_config() == config
        clone.build((None, INPUT_DIM))
        assert clone.get_config() == config
        np.testing.assert_array_equal(
            clone.kernel_index().entries, layer.kernel_index().entries
        )
        clone.set_weights(layer.get_weights())
        x = _x()
        np.testing.assert_allclose(_np(clone(x)), _np(layer(x)), atol=1e-6)


@pytest.mark.parametrize("kernel_mode", KERNEL_MODES)
def test_hand_computed_output(kernel_mode):
    layer = HashedDense(
        2,
        hash=hashing.Custom(index=[[0, 1], [2, -1], [1, 0]]),
        table_size=4,
        seed=0,
        **_mode_kwargs(kernel_mode),
    )
    layer.build((None, 3))
    layer.table_variable.assign([1.0, 2.0, 3.0, 4.0])
    layer.bias.assign([0.5, -1.0])
    np.testing.assert_array_equal(
        _np(layer.kernel), [[1.0, 2.0], [3.0, 0.0], [2.0, 1.0]]
    )
    x = np.array([[1.0, 2.0, 3.0], [0.0, 1.0, -1.0]], "float32")
    # [1 + 6 + 6 + 0.5, 2 + 0 + 3 - 1], [3 - 2 + 0.5, 0 - 1 - 1]
    np.testing.assert_allclose(_np(layer(x)), [[13.5, 4.0], [1.5, -2.0]])


@pytest.mark.parametrize("kernel_mode", KERNEL_MODES)
def test_hand_computed_gradient(kernel_mode):
    layer = HashedDense(
        2,
        hash=hashing.Custom(index=[[0, 1], [2, -1], [1, 0]]),
        table_size=4,
        use_bias=False,
        seed=0,
        **_mode_kwargs(kernel_mode),
    )
    layer.build((None, 3))
    x = np.array([[1.0, 2.0, 3.0]], "float32")
    upstream = np.array([[1.0, 10.0]], "float32")
    grad = gradient(
        lambda: keras.ops.sum(keras.ops.multiply(layer(x), upstream)),
        layer.table_variable,
    )
    # dL/dW = x^T [1, 10] = [[1, 10], [2, 20], [3, 30]]; W[1, 1] is a
    # constant zero, so its 20 goes nowhere; entry 3 is unused.
    np.testing.assert_allclose(grad, [1 + 30, 10 + 3, 2, 0])


def test_hand_computed_sign():
    index = [[0, 1], [2, 2], [1, 0]]
    layer = HashedDense(
        2,
        hash=hashing.Custom(index=index),
        table_size=3,
        sign=True,
        use_bias=False,
        seed=5,
    )
    layer.build((None, 3))
    layer.table_variable.assign([1.0, 2.0, 3.0])
    signs = layer.kernel_index().signs
    # Weights are numbered "out_in": id = unit * input_dim + input.
    ids = np.arange(6).reshape(2, 3).T
    np.testing.assert_array_equal(
        signs, hashing.Custom(index=index).signs(ids, 5)
    )
    expected = signs * np.array([[1.0, 2.0], [3.0, 3.0], [2.0, 1.0]])
    np.testing.assert_array_equal(_np(layer.kernel), expected)


def test_sign_flips_weights():
    layer = HashedDense(
        40,
        hash="uniform",
        table_size=50,
        sign=True,
        seed=1,
        table_initializer="ones",
    )
    layer.build((None, 30))
    kernel = _np(layer.kernel)
    assert set(np.unique(kernel)) == {-1.0, 1.0}
    assert 0.45 < np.mean(kernel > 0) < 0.55
    np.testing.assert_array_equal(kernel, layer.kernel_index().signs)


def _table_gradient(kernel_mode):
    layer = _built("sparse", kernel_mode)
    x = _x()
    return gradient(lambda: keras.ops.sum(layer(x)), layer.table_variable)


@pytest.mark.tensorflow_only
def test_gradient_is_indexed_slices():
    import tensorflow as tf

    kernel_mode = "gather" if "gather" in KERNEL_MODES else None
    layer = _built("sparse", kernel_mode)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(_x()))
    grad = tape.gradient(loss, layer.table_variable)
    assert isinstance(grad, tf.IndexedSlices)
    assert tuple(grad.dense_shape) == (4,)
    assert np.any(_np(tf.convert_to_tensor(grad)) != 0)


def test_kernel_modes_agree():
    grads = [_table_gradient(mode) for mode in KERNEL_MODES]
    # Each table gradient sums at most n = batch * input_dim * units
    # products x * sign; the kernel modes sum them in different orders
    # (segment sum, bincount, matmul). Reordering a float32 sum of n terms
    # moves it by at most (n - 1) * eps * sum(|terms|) (Higham, 2002), so
    # that bound is the tolerance: about 3e-4 here, while a wrong index or
    # sign moves an entry by O(1).
    x = _x()
    n = x.size * UNITS
    bound = (n - 1) * np.finfo("float32").eps * UNITS * np.abs(x).sum()
    for grad in grads[1:]:
        np.testing.assert_allclose(
            grad,
            grads[0],
            rtol=0,
            atol=bound,
        )


@pytest.mark.parametrize("sparsity", [0.0, 0.3])
@pytest.mark.parametrize("kernel_mode", KERNEL_MODES)
def test_fit_step_updates_table_and_keeps_zeros(sparsity, kernel_mode):
    layer = HashedDense(
        3,
        hash="uniform",
        table_size=10,
        sparsity=sparsity,
        seed=2,
        **_mode_kwargs(kernel_mode),
    )
    model = keras.Sequential([keras.Input((8,)), layer])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 8)).astype("float32")
    y = rng.normal(size=(16, 3)).astype("float32")
    before = _np(layer.table_variable).copy()
    zeros = layer.kernel_index().entries < 0
    assert np.mean(zeros) == pytest.approx(sparsity, abs=0.15)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    after = _np(layer.table_variable)
    assert np.any(after != before)
    kernel = _np(layer.kernel)
    np.testing.assert_array_equal(kernel[zeros], 0.0)
    assert np.all(kernel[~zeros] != 0)


def test_unused_entries_get_no_gradient():
    layer = HashedDense(
        2,
        hash=hashing.Custom(index=[[0, 0], [1, 0]]),
        table_size=3,
        seed=0,
    )
    model = keras.Sequential([keras.Input((2,)), layer])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = _np(layer.table_variable).copy()
    model.fit(np.ones((4, 2)), np.ones((4, 2)), epochs=1, verbose=0)
    after = _np(layer.table_variable)
    assert after[2] == before[2]
    assert after[0] != before[0] and after[1] != before[1]


class TestKerasConventions:
    def test_output_shape(self):
        layer = HashedDense(7, table_size=10, seed=0)
        assert layer(np.ones((2, 5), "float32")).shape == (2, 7)
        assert layer.compute_output_shape((None, 5)) == (None, 7)
        out = layer(np.ones((2, 3, 5), "float32"))
        assert out.shape == (2, 3, 7)
        assert layer.compute_output_shape((2, 3, 5)) == (2, 3, 7)

    def test_symbolic_output_shape(self):
        inputs = keras.Input((5,))
        outputs = HashedDense(7, table_size=10, seed=0)(inputs)
        assert tuple(outputs.shape) == (None, 7)

    def test_wrong_input_dim_after_build(self):
        layer = HashedDense(7, table_size=10, seed=0)
        layer(np.ones((2, 5), "float32"))
        with pytest.raises(ValueError):
            layer(np.ones((2, 6), "float32"))

    def test_trainable_weights(self):
        layer = HashedDense(7, table_size=10, seed=0)
        layer.build((None, 5))
        assert len(layer.trainable_weights) == 2
        assert len(layer.non_trainable_weights) == 0
        shapes = sorted(tuple(w.shape) for w in layer.trainable_weights)
        assert shapes == [(7,), (10,)]
        assert layer.count_params() == 17

    def test_trainable_weights_without_bias(self):
        layer = HashedDense(7, table_size=10, use_bias=False, seed=0)
        layer.build((None, 5))
        assert len(layer.trainable_weights) == 1
        assert layer.bias is None
        assert layer.trainable_weights[0] is layer.table_variable

    def test_frozen(self):
        layer = HashedDense(7, table_size=10, seed=0)
        layer.build((None, 5))
        layer.trainable = False
        assert len(layer.trainable_weights) == 0
        assert len(layer.non_trainable_weights) == 2

    def test_activation(self):
        layer = HashedDense(
            3,
            hash="identity",
            activation="relu",
            seed=0,
            table_initializer="ones",
            bias_initializer="zeros",
        )
        x = np.array([[1.0, -3.0], [1.0, 1.0]], "float32")
        np.testing.assert_array_equal(_np(layer(x)), [[0, 0, 0], [2, 2, 2]])

    def test_config_contents(self):
        layer = HashedDense(
            3,
            hash=hashing.Neighborhood(2),
            table_size=6,
            sparsity=0.25,
            seed=11,
            sign=True,
            numbering="in_out",
            number_zeros=False,
            activation="tanh",
            name="hashed",
        )
        config = layer.get_config()
        assert config["units"] == 3
        assert hashing.deserialize(config["hash"]) == hashing.Neighborhood(2)
        assert config["table_size"] == 6
        assert config["compression"] is None
        assert config["sparsity"] == 0.25
        assert config["seed"] == 11
        assert config["sign"] is True
        assert config["numbering"] == "in_out"
        assert config["number_zeros"] is False
        assert config["table"] is None
        assert config["name"] == "hashed"

    def test_drawn_seed_is_recorded(self):
        first = HashedDense(3, table_size=4)
        second = HashedDense(3, table_size=4)
        assert isinstance(first.get_config()["seed"], int)
        assert first.seed >= 0
        # Two draws colliding has probability 2**-31.
        assert first.seed != second.seed
        clone = HashedDense.from_config(first.get_config())
        first.build((None, 10))
        clone.build((None, 10))
        np.testing.assert_array_equal(
            clone.kernel_index().entries, first.kernel_index().entries
        )

    def test_same_seed_same_sharing_different_seed_differs(self):
        def entries(seed):
            layer = HashedDense(20, table_size=30, seed=seed)
            layer.build((None, 10))
            return layer.kernel_index().entries

        np.testing.assert_array_equal(entries(1), entries(1))
        assert np.mean(entries(1) != entries(2)) > 0.5

    def test_global_rng_untouched(self):
        np.random.seed(3)
        expected = np.random.uniform(size=3)
        np.random.seed(3)
        layer = HashedDense(4, hash="dirichlet", table_size=8, sparsity=0.5)
        layer.build((None, 6))
        np.testing.assert_array_equal(np.random.uniform(size=3), expected)

    def test_kernel_index_before_build(self):
        with pytest.raises(ValueError, match=r"is not built yet"):
            HashedDense(3, table_size=4, seed=0).kernel_index()


@pytest.mark.parametrize(
    "compression, expected",
    [(0.1, 6), (0.25, 16), (0.5, 32), (1.0, 63), (0.001, 1)],
)
def test_compression_sizes_the_table(compression, expected):
    # round(compression * 7 * 9), at least one entry.
    assert max(1, round(compression * 63)) == expected
    layer = HashedDense(9, compression=compression, seed=0)
    layer.build((None, 7))
    assert layer.table_variable.shape == (expected,)
    index = layer.kernel_index()
    assert index.entries.max() < expected


@pytest.mark.parametrize("numbering", ["out_in", "in_out"])
@pytest.mark.parametrize("kernel_mode", KERNEL_MODES)
def test_identity_hash_is_dense(numbering, kernel_mode):
    rng = np.random.default_rng(4)
    kernel = rng.normal(size=(5, 6)).astype("float32")
    bias = rng.normal(size=(6,)).astype("float32")
    dense = keras.layers.Dense(6, activation="sigmoid")
    dense.build((None, 5))
    dense.set_weights([kernel, bias])
    layer = HashedDense(
        6,
        hash="identity",
        activation="sigmoid",
        numbering=numbering,
        seed=0,
        **_mode_kwargs(kernel_mode),
    )
    layer.build((None, 5))
    assert layer.table_variable.shape == (30,)
    # Identifiers run row-major over (units, input_dim) for "out_in".
    table = kernel.T.ravel() if numbering == "out_in" else kernel.ravel()
    layer.table_variable.assign(table)
    layer.bias.assign(bias)
    np.testing.assert_array_equal(_np(layer.kernel), kernel)
    x = rng.normal(size=(4, 5)).astype("float32")
    np.testing.assert_allclose(_np(layer(x)), _np(dense(x)), atol=1e-6)


def test_identity_hash_rejects_small_table():
    layer = HashedDense(3, hash="identity", table_size=5)
    with pytest.raises(
        ValueError, match=r"needs a table of 12 entries.*table_size=5"
    ):
        layer.build((None, 4))


def test_initializer_is_scaled_to_virtual_kernel():
    # Glorot uniform of a (400, 100) kernel: limit sqrt(6 / 500).
    layer = HashedDense(100, table_size=5000, seed=0)
    layer.build((None, 400))
    table = _np(layer.table_variable)
    limit = np.sqrt(6 / 500)
    assert np.abs(table).max() <= limit
    assert np.abs(table).max() > 0.9 * limit
    assert np.std(table) == pytest.approx(limit / np.sqrt(3), rel=0.1)


def test_save_and_load_in_a_fresh_process(tmp_path, run_python):
    table = HashTable(20, hash="dirichlet", seed=3, name="shared_table")
    model = keras.Sequential(
        [
            keras.Input((6,)),
            HashedDense(
                8,
                hash=hashing.Dirichlet(0.3),
                compression=0.5,
                sparsity=0.2,
                sign=True,
                activation="relu",
                seed=1,
                name="own",
            ),
            HashedDense(5, table=table, activation="tanh", name="shared_a"),
            HashedDense(4, table=table, name="shared_b"),
            HashedDense(
                3,
                hash="modulus",
                table_size=5,
                numbering="in_out",
                seed=2,
                name="modulus",
            ),
        ]
    )
    x = np.random.default_rng(0).normal(size=(7, 6)).astype("float32")
    expected = _np(model(x))
    path = tmp_path / "model.keras"
    model.save(path)
    np.save(tmp_path / "x.npy", x)
    code = f"""
import numpy as np
import keras
import arbnet_keras
model = keras.saving.load_model({str(path)!r})
x = np.load({str(tmp_path / "x.npy")!r})
layers = {{layer.name: layer for layer in model.layers}}
emit({{
    "y": keras.ops.convert_to_numpy(model(x)).tolist(),
    "shared": layers["shared_a"].table is layers["shared_b"].table,
    "num_trainable": len(model.trainable_weights),
    "entries": {{
        name: layer.kernel_index().entries.tolist()
        for name, layer in layers.items()
    }},
}})
"""
    result = run_python(code, env={"PYTHONHASHSEED": "11"})
    np.testing.assert_allclose(result["y"], expected, rtol=1e-6, atol=1e-6)
    assert result["shared"] is True
    # Two own tables, one shared table, four biases.
    assert result["num_trainable"] == len(model.trainable_weights) == 7
    for layer in model.layers:
        np.testing.assert_array_equal(
            result["entries"][layer.name], layer.kernel_index().entries
        )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            dict(units=0, table_size=2),
            r"`units` must be a positive integer\. Received: units=0",
        ),
        (dict(units=-3, table_size=2), r"Received: units=-3"),
        (dict(units=2.5, table_size=2), r"Received: units=2\.5"),
        (
            dict(units=3, table_size=0),
            r"`table_size` must be a positive integer\. Received: table_size=0",
        ),
        (dict(units=3, table_size=-1), r"Received: table_size=-1"),
        (
            dict(units=3, compression=0),
            r"`compression` must be a number in \(0, 1\]\. "
            r"Received: compression=0$",
        ),
        (dict(units=3, compression=1.5), r"Received: compression=1\.5"),
        (dict(units=3, compression=-1), r"Received: compression=-1"),
        (
            dict(units=3, table_size=4, compression=0.5),
            r"Give only one of `table_size` or `compression`\. Received: "
            r"table_size=4, compression=0\.5",
        ),
        (
            dict(units=3),
            r"Exactly one of `table_size` or `compression` must be given",
        ),
        (
            dict(units=3, hash="modulus"),
            r"Exactly one of `table_size` or `compression` must be given",
        ),
        (
            dict(units=3, table_size=2, sparsity=1.0),
            r"`sparsity` must be a number in \[0, 1\)\. "
            r"Received: sparsity=1\.0",
        ),
        (
            dict(units=3, table_size=2, sparsity=-0.1),
            r"Received: sparsity=-0\.1",
        ),
        (
            dict(units=3, table_size=2, hash="foo"),
            r"Invalid value for argument `hash`.*Received: hash='foo'",
        ),
        (
            dict(
                units=3,
                table_size=2,
                hash={"class_name": "Dirichlet", "config": {"alpha": -1}},
            ),
            r"`alpha` must be a positive, finite number\. Received: alpha=-1",
        ),
        (
            dict(
                units=3,
                table_size=2,
                hash={"class_name": "Neighborhood", "config": {"radius": -2}},
            ),
            r"`radius` must be a non-negative integer\. Received: radius=-2",
        ),
        (
            dict(units=3, table_size=2, seed=-1),
            r"`seed` must be a non-negative integer or None\. "
            r"Received: seed=-1",
        ),
        (dict(units=3, table_size=2, seed=1.5), r"Received: seed=1\.5"),
        (
            dict(units=3, table_size=2, numbering="rows"),
            r"Invalid value for argument `numbering`.*"
            r"Received: numbering='rows'",
        ),
        (
            dict(units=3, table=3),
            r"`table` must be a `HashTable` or None\. Received: table=3",
        ),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HashedDense(**kwargs)


@pytest.mark.parametrize("alpha", [0, -1, float("nan"), float("inf")])
def test_invalid_alpha(alpha):
    with pytest.raises(ValueError, match=r"`alpha` must be a positive"):
        HashedDense(3, hash=hashing.Dirichlet(alpha), table_size=2)


@pytest.mark.parametrize("table_size, compression", [(13, None), (100, None)])
def test_table_larger_than_kernel(table_size, compression):
    layer = HashedDense(3, table_size=table_size, seed=0)
    with pytest.raises(
        ValueError,
        match=r"`table_size` must be at most the number of virtual weights "
        r"\(12 for a kernel of shape \(4, 3\)\)\. "
        rf"Received: table_size={table_size}",
    ):
        layer.build((None, 4))


def test_table_as_large_as_kernel():
    layer = HashedDense(3, table_size=12, seed=0)
    layer.build((None, 4))
    assert layer.table_variable.shape == (12,)
