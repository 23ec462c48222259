"""`HashedConv1D` and `HashedConv2D`, checked as Keras checks its layers.

Written with `keras.ops` and NumPy only, so it runs under every
`KERAS_BACKEND`. The kernel is `table[index] * sign` with zeros where the
sparsity puts them, and the convolution is Keras' own on that kernel; so
the reference for every output is `keras.layers.Conv1D`/`Conv2D` with the
kernel computed in NumPy from the layer's `kernel_index()`.
"""

import keras
import numpy as np
import pytest
from layer_harness import run_layer_test

from arbnet_keras import HashedConv1D
from arbnet_keras import HashedConv2D
from arbnet_keras import HashedDense
from arbnet_keras import HashTable
from arbnet_keras import hashing
from arbnet_keras.layers import hashed_weights

KERNEL_MODES = ("auto", "gather")

# The property's own message; on PyTorch, `torch.nn.Module.__getattr__`
# replaces it (as for Keras' own `Conv2D.kernel`) with "no attribute".
BEFORE_BUILD = r"build the layer|has no attribute"

# One case per sharing mechanism; every kernel below has at least 24
# virtual weights, so a table of 7 entries shares.
HASHES = {
    "uniform": dict(hash="uniform", table_size=7),
    "modulus": dict(hash="modulus", table_size=7),
    "modulus_in_out_sign_sparse": dict(
        hash="modulus",
        table_size=7,
        numbering="in_out",
        sign=True,
        sparsity=0.3,
    ),
    "dirichlet": dict(hash=hashing.Dirichlet(0.5), table_size=7),
    "hashed_nets_sign": dict(hash="hashed_nets", table_size=7, sign=True),
    "identity": dict(hash="identity"),
    "sparse_unnumbered_zeros": dict(
        hash="uniform", table_size=5, sparsity=0.4, number_zeros=False
    ),
    "compression": dict(hash="uniform", compression=0.5),
}

# Keras' own convolution arguments, each exercised with every hash.
CONV2D_CONFIGS = {
    "valid": dict(),
    "same": dict(padding="same"),
    "strides_same": dict(strides=(2, 1), padding="same"),
    "dilation": dict(dilation_rate=2),
    "groups": dict(groups=2),
    "channels_first": dict(data_format="channels_first"),
}
CONV1D_CONFIGS = {
    "valid": dict(),
    "same": dict(padding="same"),
    "causal": dict(padding="causal"),
    "causal_dilated": dict(padding="causal", dilation_rate=2),
    "strides": dict(strides=2),
    "groups": dict(groups=2),
    "channels_first": dict(data_format="channels_first"),
}

LAYERS = {
    "conv1d": (HashedConv1D, keras.layers.Conv1D, CONV1D_CONFIGS),
    "conv2d": (HashedConv2D, keras.layers.Conv2D, CONV2D_CONFIGS),
}
FILTERS = 4
IN_CHANNELS = 4
SPATIAL = {"conv1d": (9,), "conv2d": (6, 7)}
KERNEL_SIZE = {"conv1d": 3, "conv2d": (3, 2)}


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def _input_shape(rank_name, config, batch=None):
    spatial = SPATIAL[rank_name]
    if config.get("data_format") == "channels_first":
        return (batch, IN_CHANNELS) + spatial
    return (batch,) + spatial + (IN_CHANNELS,)


def _keras_conv_or_skip(conv, x):
    """Keras' own output, or a skip where this machine cannot compute it.

    TensorFlow's CPU convolution supports channels-first inputs only
    through oneDNN: with `TF_ENABLE_ONEDNN_OPTS=0` (or a CPU it does not
    use oneDNN on) Keras' own `Conv2D` raises `UnimplementedError`, and so
    does the hashed layer, which runs Keras' code.
    """
    try:
        return _np(conv(x))
    except Exception as error:  # TensorFlow's own error type.
        if "NHWC" not in str(error):
            raise
        pytest.skip(f"Keras' own convolution fails here: {error}")


def _x(rank_name, config, batch=3, seed=0):
    shape = _input_shape(rank_name, config, batch)
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape).astype("float32")


def _conv_kwargs(rank_name, config):
    return dict(filters=FILTERS, kernel_size=KERNEL_SIZE[rank_name], **config)


def _built(rank_name, config, hash_case, kernel_mode="auto", seed=7):
    hashed_cls = LAYERS[rank_name][0]
    layer = hashed_cls(
        **_conv_kwargs(rank_name, config),
        **HASHES[hash_case],
        kernel_mode=kernel_mode,
        seed=seed,
    )
    layer.build(_input_shape(rank_name, config))
    size = layer.table_variable.shape[0]
    rng = np.random.default_rng(3)
    layer.table_variable.assign(rng.normal(size=size).astype("float32"))
    layer.bias.assign(np.arange(FILTERS, dtype="float32") / 10)
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
    return kernel.astype("float32")


def _keras_conv(rank_name, config, kernel, bias):
    conv = LAYERS[rank_name][1](**_conv_kwargs(rank_name, config))
    conv.build(_input_shape(rank_name, config))
    conv.set_weights([kernel, bias])
    return conv


def _table_for_identity(kernel, numbering):
    """The identity table holding `kernel` (Keras layout) in `numbering`."""
    if numbering == "in_out":
        return kernel.ravel()
    # "out_in": row-major over (filters, in_channels, *kernel_size).
    rank = kernel.ndim - 2
    return kernel.transpose((rank + 1, rank) + tuple(range(rank))).ravel()


def _sgd_step(layer_or_layers, input_shape, x, y, learning_rate=1.0):
    layers = layer_or_layers
    if not isinstance(layers, list):
        layers = [layers]
    model = keras.Sequential([keras.Input(input_shape[1:])] + layers)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse")
    model.fit(x, y, batch_size=len(x), epochs=1, verbose=0, shuffle=False)
    return model


HARNESS_CASES = [
    ("conv1d", "causal_dilated"),
    ("conv2d", "strides_same"),
]


@pytest.mark.parametrize("hash_case", sorted(HASHES))
@pytest.mark.parametrize("rank_name, config_name", HARNESS_CASES)
def test_keras_layer_harness(rank_name, config_name, hash_case):
    config = LAYERS[rank_name][2][config_name]
    input_shape = _input_shape(rank_name, config, batch=2)
    reference = LAYERS[rank_name][1](**_conv_kwargs(rank_name, config))
    expected_shape = reference.compute_output_shape(input_shape)
    run_layer_test(
        LAYERS[rank_name][0],
        dict(**_conv_kwargs(rank_name, config), **HASHES[hash_case], seed=5),
        input_shape=input_shape,
        expected_output_shape=expected_shape,
        # The table and the bias.
        expected_num_trainable_weights=2,
        expected_num_non_trainable_weights=0,
        expected_num_non_trainable_variables=0,
        expected_num_seed_generators=0,
    )


@pytest.mark.parametrize("kernel_mode", KERNEL_MODES)
@pytest.mark.parametrize("hash_case", sorted(HASHES))
@pytest.mark.parametrize("rank_name", sorted(LAYERS))
class TestEveryHash:
    config = {"conv1d": dict(padding="causal"), "conv2d": dict(strides=2)}

    def test_kernel_is_table_at_index(self, rank_name, hash_case, kernel_mode):
        layer = _built(
            rank_name, self.config[rank_name], hash_case, kernel_mode
        )
        kernel = _np(layer.kernel)
        expected = _expected_kernel(layer)
        assert kernel.shape == expected.shape == layer.virtual_shape
        np.testing.assert_array_equal(kernel, expected)

    def test_call_is_keras_conv_with_the_kernel(
        self, rank_name, hash_case, kernel_mode
    ):
        config = self.config[rank_name]
        layer = _built(rank_name, config, hash_case, kernel_mode)
        conv = _keras_conv(
            rank_name, config, _expected_kernel(layer), _np(layer.bias)
        )
        x = _x(rank_name, config)
        # The same convolution op on bitwise equal kernels: only XLA
        # fusion differences remain, a few float32 ulps of O(1) outputs.
        np.testing.assert_allclose(
            _np(layer(x)), _np(conv(x)), rtol=1e-5, atol=1e-6
        )

    def test_sgd_step_sums_kernel_gradients_into_the_table(
        self, rank_name, hash_case, kernel_mode
    ):
        # With SGD at learning rate 1, one step subtracts the gradient.
        # The table's gradient is the kernel's gradient (that of a Keras
        # convolution with the same kernel) summed per entry, times the
        # signs; weights fixed at zero stay zero.
        config = self.config[rank_name]
        layer = _built(rank_name, config, hash_case, kernel_mode)
        kernel = _expected_kernel(layer)
        conv = _keras_conv(rank_name, config, kernel, _np(layer.bias))
        x = _x(rank_name, config, batch=4)
        y = np.random.default_rng(9).normal(
            size=tuple(conv.compute_output_shape(x.shape))
        )
        table_before = _np(layer.table_variable).copy()
        index = layer.kernel_index()
        _sgd_step(layer, x.shape, x, y)
        _sgd_step(conv, x.shape, x, y)
        kernel_step = kernel - _np(conv.kernel)
        if index.signs is not None:
            kernel_step = kernel_step * index.signs
        live = index.entries >= 0
        expected = np.bincount(
            index.entries[live],
            weights=kernel_step[live],
            minlength=table_before.size,
        )
        table_step = table_before - _np(layer.table_variable)
        assert np.abs(table_step).max() > 1e-3
        # Gradients of O(0.1-1), each entry a sum of a few dozen kernel
        # gradients that both sides compute with the same convolution.
        np.testing.assert_allclose(table_step, expected, rtol=1e-4, atol=1e-5)
        np.testing.assert_array_equal(_np(layer.kernel)[~live], 0.0)

    def test_config_round_trip(self, rank_name, hash_case, kernel_mode):
        config = self.config[rank_name]
        layer = _built(rank_name, config, hash_case, kernel_mode)
        layer_config = layer.get_config()
        clone = type(layer).from_config(layer_config)
        assert clone.get_config() == layer_config
        clone.build(_input_shape(rank_name, config))
        assert clone.get_config() == layer_config
        np.testing.assert_array_equal(
            clone.kernel_index().entries, layer.kernel_index().entries
        )
        clone.set_weights(layer.get_weights())
        x = _x(rank_name, config)
        np.testing.assert_allclose(
            _np(clone(x)), _np(layer(x)), rtol=1e-6, atol=1e-6
        )


@pytest.mark.parametrize("kernel_mode", KERNEL_MODES)
@pytest.mark.parametrize("numbering", ["out_in", "in_out"])
@pytest.mark.parametrize(
    "rank_name, config_name",
    [(r, c) for r in sorted(LAYERS) for c in LAYERS[r][2]],
)
def test_identity_hash_is_keras_conv(
    rank_name, config_name, numbering, kernel_mode
):
    config = LAYERS[rank_name][2][config_name]
    rng = np.random.default_rng(4)
    conv = LAYERS[rank_name][1](
        **_conv_kwargs(rank_name, config), activation="tanh"
    )
    conv.build(_input_shape(rank_name, config))
    kernel = rng.normal(size=conv.kernel.shape).astype("float32")
    bias = rng.normal(size=(FILTERS,)).astype("float32")
    conv.set_weights([kernel, bias])
    layer = LAYERS[rank_name][0](
        **_conv_kwargs(rank_name, config),
        activation="tanh",
        hash="identity",
        numbering=numbering,
        kernel_mode=kernel_mode,
        seed=0,
    )
    layer.build(_input_shape(rank_name, config))
    assert layer.table_variable.shape == (kernel.size,)
    layer.table_variable.assign(_table_for_identity(kernel, numbering))
    layer.bias.assign(bias)
    np.testing.assert_array_equal(_np(layer.kernel), kernel)
    x = _x(rank_name, config)
    assert layer.compute_output_shape(x.shape) == conv.compute_output_shape(
        x.shape
    )
    expected = _keras_conv_or_skip(conv, x)
    # The same Keras convolution on the same kernel.
    np.testing.assert_allclose(_np(layer(x)), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kernel_mode", KERNEL_MODES)
def test_hand_computed_conv1d(kernel_mode):
    # "in_out" numbers Keras' layout (kernel, in_channels, filters)
    # row-major: kernel[k, 0, f] = table[(2k + f) mod 3].
    layer = HashedConv1D(
        2,
        2,
        hash="modulus",
        table_size=3,
        numbering="in_out",
        kernel_mode=kernel_mode,
        seed=0,
    )
    layer.build((None, 3, 1))
    layer.table_variable.assign([1.0, 2.0, 3.0])
    layer.bias.assign([0.5, -1.0])
    np.testing.assert_array_equal(
        _np(layer.kernel)[:, 0, :], [[1.0, 2.0], [3.0, 1.0]]
    )
    x = np.array([[[1.0], [2.0], [3.0]]], "float32")
    # y[t, f] = x[t] * kernel[0, f] + x[t + 1] * kernel[1, f] + bias[f].
    expected = [[[1 + 6 + 0.5, 2 + 2 - 1], [2 + 9 + 0.5, 4 + 3 - 1]]]
    np.testing.assert_allclose(_np(layer(x)), expected, rtol=1e-6)


@pytest.mark.parametrize("kernel_mode", KERNEL_MODES)
def test_hand_computed_conv2d(kernel_mode):
    # "out_in" numbers (filters, in_channels, rows, cols) row-major:
    # filter f, tap (i, j) has identifier 4f + 2i + j, entry id mod 3.
    layer = HashedConv2D(
        2,
        2,
        hash="modulus",
        table_size=3,
        use_bias=False,
        kernel_mode=kernel_mode,
        seed=0,
    )
    layer.build((None, 3, 3, 1))
    layer.table_variable.assign([1.0, 2.0, 3.0])
    kernel = _np(layer.kernel)[:, :, 0, :]
    np.testing.assert_array_equal(kernel[..., 0], [[1.0, 2.0], [3.0, 1.0]])
    np.testing.assert_array_equal(kernel[..., 1], [[2.0, 3.0], [1.0, 2.0]])
    x = np.arange(1.0, 10.0, dtype="float32").reshape(1, 3, 3, 1)
    # [[1, 2, 3], [4, 5, 6], [7, 8, 9]] against each 2x2 filter.
    expected = np.array(
        [
            [
                [1 + 4 + 12 + 5, 2 + 6 + 4 + 10],
                [2 + 6 + 15 + 6, 4 + 9 + 5 + 12],
            ],
            [
                [4 + 10 + 21 + 8, 8 + 15 + 7 + 16],
                [5 + 12 + 24 + 9, 10 + 18 + 8 + 18],
            ],
        ],
        "float32",
    )
    np.testing.assert_allclose(_np(layer(x))[0], expected, rtol=1e-6)


def test_identifiers_continue_into_a_dense_layer():
    # One modulus table of 10 entries numbered "in_out": the convolution's
    # 8 weights take identifiers 0-7, the dense kernel's 8-13.
    table = HashTable(10, hash="modulus", numbering="in_out", seed=0)
    conv = HashedConv2D(2, 2, table=table, use_bias=False)
    dense = HashedDense(3, table=table, use_bias=False)
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), conv, keras.layers.GlobalMaxPooling2D(), dense]
    )
    table.variable.assign(np.arange(10, dtype="float32"))
    assert conv.table_variable is dense.table_variable is table.variable
    assert len(model.trainable_weights) == 1
    assert (conv.id_offset, dense.id_offset) == (0, 8)
    np.testing.assert_array_equal(
        _np(conv.kernel), np.arange(8.0).reshape(2, 2, 1, 2)
    )
    np.testing.assert_array_equal(
        _np(dense.kernel), [[8.0, 9.0, 0.0], [1.0, 2.0, 3.0]]
    )


class TestKerasConventions:
    def test_output_shape_eager_and_symbolic(self):
        layer = HashedConv2D(5, 3, table_size=20, seed=0, strides=2)
        assert tuple(layer(np.ones((2, 9, 8, 3), "float32")).shape) == (
            2,
            4,
            3,
            5,
        )
        assert layer.compute_output_shape((None, 9, 8, 3)) == (None, 4, 3, 5)
        symbolic = HashedConv1D(5, 3, padding="causal", table_size=20, seed=0)(
            keras.Input((None, 2))
        )
        assert tuple(symbolic.shape) == (None, None, 5)

    def test_virtual_and_table_shapes(self):
        # Keras' grouped layout: (*kernel_size, in_channels // groups, f).
        layer = HashedConv2D(6, (3, 2), groups=2, table_size=20, seed=0)
        layer.build((None, 8, 8, 4))
        assert layer.virtual_shape == (3, 2, 2, 6)
        assert tuple(layer.kernel.shape) == (3, 2, 2, 6)
        assert layer.table_variable.shape == (20,)

    def test_trainable_weights(self):
        layer = HashedConv2D(5, 3, table_size=20, seed=0)
        layer.build((None, 6, 6, 2))
        shapes = sorted(tuple(w.shape) for w in layer.trainable_weights)
        assert shapes == [(5,), (20,)]
        assert len(layer.non_trainable_weights) == 0
        assert layer.count_params() == 25

    def test_trainable_weights_without_bias(self):
        layer = HashedConv1D(5, 3, table_size=20, use_bias=False, seed=0)
        layer.build((None, 6, 2))
        assert layer.bias is None
        assert len(layer.trainable_weights) == 1
        assert layer.trainable_weights[0] is layer.table_variable

    def test_shared_table_is_not_the_layers_weight_twice(self):
        table = HashTable(30, seed=0)
        first = HashedConv2D(4, 3, table=table, use_bias=False)
        second = HashedConv2D(2, 3, table=table)
        model = keras.Sequential([keras.Input((6, 6, 2)), first, second])
        assert len(model.trainable_weights) == 2  # Table and one bias.
        assert model.count_params() == 30 + 2

    def test_config_contents(self):
        layer = HashedConv2D(
            3,
            (2, 3),
            strides=(1, 2),
            padding="same",
            dilation_rate=1,
            hash=hashing.Neighborhood(1),
            table_size=6,
            sparsity=0.25,
            seed=11,
            sign=True,
            numbering="in_out",
            number_zeros=False,
            activation="relu",
            name="hashed",
        )
        config = layer.get_config()
        assert config["filters"] == 3
        assert tuple(config["kernel_size"]) == (2, 3)
        assert tuple(config["strides"]) == (1, 2)
        assert config["padding"] == "same"
        assert hashing.deserialize(config["hash"]) == hashing.Neighborhood(1)
        assert config["table_size"] == 6
        assert config["sparsity"] == 0.25
        assert config["seed"] == 11
        assert config["sign"] is True
        assert config["numbering"] == "in_out"
        assert config["number_zeros"] is False
        assert config["table"] is None
        assert config["name"] == "hashed"
        # The kernel is not a weight: no kernel initializer or regularizer.
        for key in ("kernel_initializer", "kernel_regularizer"):
            assert key not in config
        assert HashedConv2D.from_config(config).get_config() == config

    def test_layer_has_no_kernel_variable(self):
        layer = HashedConv2D(4, 3, table_size=10, seed=0)
        layer.build((None, 5, 5, 3))
        names = sorted(w.name for w in layer.weights)
        assert names == ["bias", "table"]

    def test_kernel_before_build(self):
        with pytest.raises(AttributeError, match=BEFORE_BUILD):
            _ = HashedConv2D(4, 3, table_size=10, seed=0).kernel

    def test_fit_step_changes_the_table(self):
        layer = HashedConv2D(3, 2, table_size=6, sparsity=0.3, seed=2)
        x = np.random.default_rng(0).normal(size=(8, 5, 5, 2))
        y = np.random.default_rng(1).normal(size=(8, 4, 4, 3))
        layer.build(x.shape)
        before = _np(layer.table_variable).copy()
        zeros = layer.kernel_index().entries < 0
        assert zeros.any()
        _sgd_step(layer, x.shape, x, y, learning_rate=0.1)
        after = _np(layer.table_variable)
        assert np.all(after != before)
        np.testing.assert_array_equal(_np(layer.kernel)[zeros], 0.0)


def test_save_and_load_in_a_fresh_process(tmp_path, run_python):
    table = HashTable(20, hash="dirichlet", seed=3, name="shared_table")
    conv2d = keras.Sequential(
        [
            keras.Input((6, 6, 2)),
            HashedConv2D(
                4,
                3,
                hash=hashing.Dirichlet(0.3),
                compression=0.5,
                sparsity=0.2,
                sign=True,
                activation="relu",
                seed=1,
                name="own",
            ),
            HashedConv2D(3, 2, padding="same", table=table, name="shared_a"),
            keras.layers.Flatten(),
            HashedDense(5, table=table, name="shared_b"),
        ]
    )
    conv1d = keras.Sequential(
        [
            keras.Input((7, 3)),
            HashedConv1D(
                4,
                3,
                padding="causal",
                dilation_rate=2,
                hash="modulus",
                table_size=5,
                numbering="in_out",
                seed=2,
                name="modulus",
            ),
        ]
    )
    rng = np.random.default_rng(0)
    x2 = rng.normal(size=(4, 6, 6, 2)).astype("float32")
    x1 = rng.normal(size=(4, 7, 3)).astype("float32")
    for model in (conv2d, conv1d):
        bias = [w for w in model.weights if w.name == "bias"]
        for i, w in enumerate(bias):  # Non-zero biases, to compare them.
            w.assign(np.full(w.shape, 0.1 * (i + 1), "float32"))
    expected2, expected1 = _np(conv2d(x2)), _np(conv1d(x1))
    conv2d.save(tmp_path / "conv2d.keras")
    conv1d.save(tmp_path / "conv1d.keras")
    np.save(tmp_path / "x2.npy", x2)
    np.save(tmp_path / "x1.npy", x1)
    code = f"""
import numpy as np
import keras
import arbnet_keras
root = {str(tmp_path)!r}
conv2d = keras.saving.load_model(root + "/conv2d.keras")
conv1d = keras.saving.load_model(root + "/conv1d.keras")
layers = {{layer.name: layer for layer in conv2d.layers + conv1d.layers}}
emit({{
    "y2": conv2d.predict(np.load(root + "/x2.npy"), verbose=0).tolist(),
    "y1": conv1d.predict(np.load(root + "/x1.npy"), verbose=0).tolist(),
    "types": {{n: type(l).__name__ for n, l in layers.items()}},
    "shared": layers["shared_a"].table is layers["shared_b"].table,
    "num_trainable": len(conv2d.trainable_weights),
    "entries": {{
        name: layer.kernel_index().entries.tolist()
        for name, layer in layers.items() if hasattr(layer, "kernel_index")
    }},
}})
"""
    result = run_python(code)
    # The same ops on the same weights in another process.
    np.testing.assert_allclose(result["y2"], expected2, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(result["y1"], expected1, rtol=1e-6, atol=1e-6)
    assert result["types"]["own"] == "HashedConv2D"
    assert result["types"]["modulus"] == "HashedConv1D"
    assert result["shared"] is True
    # The own table, the shared table, three biases.
    assert result["num_trainable"] == len(conv2d.trainable_weights) == 5
    for model in (conv2d, conv1d):
        for layer in model.layers:
            if hasattr(layer, "kernel_index"):
                np.testing.assert_array_equal(
                    result["entries"][layer.name], layer.kernel_index().entries
                )


def test_kernel_above_the_materialization_limit(monkeypatch):
    monkeypatch.setattr(hashed_weights, "MAX_MATERIALIZED", 10)
    layer = HashedConv2D(2, 2, table_size=5, seed=0, name="big")
    layer.build((None, 4, 4, 3))
    with pytest.raises(
        ValueError,
        match=r"Layer 'big' has a virtual weight of shape \(2, 2, 3, 2\) "
        r"\(24 weights\), too large to materialize \(the limit is 10\)",
    ):
        _ = layer.kernel
    monkeypatch.setattr(hashed_weights, "MAX_MATERIALIZED", 24)
    assert tuple(layer.kernel.shape) == (2, 2, 3, 2)


@pytest.mark.parametrize(
    "cls, kwargs, match",
    [
        (
            HashedConv2D,
            dict(filters=0),
            r"Invalid value for argument `filters`\. Expected a strictly "
            r"positive value\. Received filters=0",
        ),
        (HashedConv2D, dict(filters=2.5), r"filters=2\.5"),
        (
            HashedConv2D,
            dict(kernel_size=0),
            r"The `kernel_size` argument must be a tuple of 2 integers\. "
            r"Received kernel_size=0",
        ),
        (
            HashedConv2D,
            dict(kernel_size=(2, 2, 2)),
            r"`kernel_size`.*Received kernel_size=\(2, 2, 2\)",
        ),
        (HashedConv1D, dict(kernel_size=(2, 2)), r"`kernel_size`.*1 integer"),
        (HashedConv2D, dict(strides=0), r"`strides`.*Received strides=0"),
        (
            HashedConv2D,
            dict(dilation_rate=0),
            r"`dilation_rate`.*Received dilation_rate=0",
        ),
        (
            HashedConv2D,
            dict(strides=2, dilation_rate=2),
            r"`strides > 1` not supported in conjunction with "
            r"`dilation_rate > 1`",
        ),
        (HashedConv2D, dict(padding="foo"), r"`padding`.*Received: foo"),
        (HashedConv2D, dict(padding="causal"), r"`padding`.*causal"),
        (HashedConv1D, dict(padding="foo"), r"`padding`.*Received: foo"),
        (
            HashedConv2D,
            dict(data_format="foo"),
            r"`data_format`.*Received: data_format=foo",
        ),
        (
            HashedConv2D,
            dict(groups=0),
            r"number of groups must be a positive integer\. Received: groups=0",
        ),
        (
            HashedConv2D,
            dict(filters=3, groups=2),
            r"number of filters must be evenly divisible by the number of "
            r"groups\. Received: groups=2, filters=3",
        ),
        (
            HashedConv2D,
            dict(activation="nope"),
            r"Could not interpret activation function identifier: nope",
        ),
        (
            HashedConv2D,
            dict(table_size=0),
            r"`table_size` must be a positive integer\. Received: table_size=0",
        ),
        (HashedConv1D, dict(table_size=-1), r"Received: table_size=-1"),
        (
            HashedConv2D,
            dict(table_size=None, compression=0),
            r"`compression` must be a number in \(0, 1\]\. "
            r"Received: compression=0$",
        ),
        (
            HashedConv2D,
            dict(table_size=None, compression=1.5),
            r"Received: compression=1\.5",
        ),
        (
            HashedConv2D,
            dict(compression=0.5),
            r"Give only one of `table_size` or `compression`\. Received: "
            r"table_size=4, compression=0\.5",
        ),
        (
            HashedConv1D,
            dict(table_size=None),
            r"Exactly one of `table_size` or `compression` must be given",
        ),
        (
            HashedConv2D,
            dict(sparsity=1.0),
            r"`sparsity` must be a number in \[0, 1\)\. "
            r"Received: sparsity=1\.0",
        ),
        (HashedConv2D, dict(sparsity=-0.1), r"Received: sparsity=-0\.1"),
        (
            HashedConv2D,
            dict(hash="foo"),
            r"Invalid value for argument `hash`.*Received: hash='foo'",
        ),
        (
            HashedConv2D,
            dict(seed=-1),
            r"`seed` must be a non-negative integer or None\. "
            r"Received: seed=-1",
        ),
        (
            HashedConv1D,
            dict(numbering="rows"),
            r"Invalid value for argument `numbering`.*"
            r"Received: numbering='rows'",
        ),
        (
            HashedConv2D,
            dict(table=3, table_size=None),
            r"`table` must be a `HashTable` or None\. Received: table=3",
        ),
        (
            HashedConv2D,
            dict(kernel_mode="fast"),
            r"Invalid value for argument `kernel_mode`\. Expected one of "
            r"\('auto', 'gather', 'hash'\)\. Received: kernel_mode='fast'",
        ),
        (
            HashedConv2D,
            dict(table_initializer="nope"),
            r"Could not interpret initializer identifier: nope",
        ),
    ],
)
def test_invalid_arguments(cls, kwargs, match):
    arguments = dict(filters=2, kernel_size=2, table_size=4)
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=match):
        cls(**arguments)


@pytest.mark.parametrize(
    "kwargs, input_shape, match",
    [
        (
            dict(table_size=100),
            (None, 5, 5, 3),
            r"`table_size` must be at most the number of virtual weights "
            r"\(24 for a kernel of shape \(2, 2, 3, 2\)\)\. "
            r"Received: table_size=100",
        ),
        (
            dict(hash="identity", table_size=3),
            (None, 5, 5, 3),
            r"The Identity hash needs a table of 24 entries.*"
            r"Received: table_size=3",
        ),
        (
            dict(table_size=4),
            (None, 5, 5, None),
            r"channel dimension of the inputs of a hashed convolution must "
            r"be known\. Received: input_shape=\(None, 5, 5, None\)",
        ),
        (
            dict(table_size=4, filters=4, groups=2),
            (None, 5, 5, 3),
            r"number of input channels must be evenly divisible by the "
            r"number of groups\. Received: groups=2",
        ),
        (
            dict(table_size=4, kernel_size=6),
            (None, 5, 5, 3),
            r"Computed output size would be zero or negative",
        ),
    ],
)
def test_invalid_at_build(kwargs, input_shape, match):
    arguments = dict(filters=2, kernel_size=2, seed=0)
    arguments.update(kwargs)
    layer = HashedConv2D(**arguments)
    with pytest.raises(ValueError, match=match):
        layer.build(input_shape)
