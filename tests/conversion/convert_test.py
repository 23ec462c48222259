"""Tests of `arbnet_keras.convert`: trained Keras models into ArbNets."""

import keras
import numpy as np
import pytest

import arbnet_keras
from arbnet_keras import HashedConv1D
from arbnet_keras import HashedConv2D
from arbnet_keras import HashedDense
from arbnet_keras import HashedEmbedding
from arbnet_keras import HashTable
from arbnet_keras import convert
from arbnet_keras import hashing
from arbnet_keras.conversion import project_weights
from arbnet_keras.hashing.kmeans import kmeans_1d

KERAS_TO_HASHED = {
    keras.layers.Dense: HashedDense,
    keras.layers.Conv1D: HashedConv1D,
    keras.layers.Conv2D: HashedConv2D,
    keras.layers.Embedding: HashedEmbedding,
}


def _trained(model):
    """Sets every weight to a fixed draw: a stand-in for training."""
    rng = np.random.default_rng(7)
    for variable in model.weights:
        value = rng.normal(scale=0.3, size=variable.shape)
        if "variance" in variable.path:
            value = 1 + np.abs(value)
        variable.assign(value.astype(variable.dtype))
    return model


def mlp():
    return _trained(
        keras.Sequential(
            [
                keras.Input((12,)),
                keras.layers.Dense(16, activation="relu", name="hidden"),
                keras.layers.Dropout(0.5, name="dropout"),
                keras.layers.Dense(4, name="logits"),
            ],
            name="mlp",
        )
    )


def cnn():
    inputs = keras.Input((8, 8, 2))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv2d")(inputs)
    x = keras.layers.BatchNormalization(name="norm")(x)
    x = keras.layers.Reshape((36, 4))(x)
    x = keras.layers.Conv1D(3, 3, padding="same", name="conv1d")(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(5, name="logits")(x)
    return _trained(keras.Model(inputs, outputs, name="cnn"))


def text():
    return _trained(
        keras.Sequential(
            [
                keras.Input((6,), dtype="int32"),
                keras.layers.Embedding(30, 8, name="embedding"),
                keras.layers.Flatten(),
                keras.layers.Dense(3, name="logits"),
            ],
            name="text",
        )
    )


def nested():
    block = keras.Sequential(
        [keras.Input((12,)), keras.layers.Dense(8, name="inner")],
        name="block",
    )
    inputs = keras.Input((12,))
    outputs = keras.layers.Dense(3, name="outer")(block(inputs))
    return _trained(keras.Model(inputs, outputs, name="nested"))


MODELS = {"mlp": mlp, "cnn": cnn, "text": text, "nested": nested}


def _inputs(model, batch=16):
    rng = np.random.default_rng(3)
    shape = (batch,) + tuple(model.input_shape[1:])
    if "int" in str(model.inputs[0].dtype):
        return rng.integers(0, 30, size=shape).astype("int32")
    return rng.normal(size=shape).astype("float32")


def _leaves(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaves(layer)
        elif not isinstance(layer, keras.layers.InputLayer):
            yield layer


def _predict(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def _weight(layer):
    name = "embeddings" if "Embedding" in type(layer).__name__ else "kernel"
    return keras.ops.convert_to_numpy(getattr(layer, name))


def _mse(a, b):
    return float(np.mean((a - b) ** 2))


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("table", ["layer", "network"])
def test_replaces_each_layer_by_its_counterpart(name, table):
    model = MODELS[name]()
    converted = convert(model, compression=0.5, table=table, seed=0)
    originals, news = list(_leaves(model)), list(_leaves(converted))
    assert len(originals) == len(news)
    for old, new in zip(originals, news):
        expected = KERAS_TO_HASHED.get(type(old), type(old))
        assert type(new) is expected
        assert new.name == old.name
        if expected is type(old):  # Carried over with its weights.
            for a, b in zip(old.get_weights(), new.get_weights()):
                np.testing.assert_array_equal(a, b)
        else:
            assert new.get_config().get("activation") == (
                old.get_config().get("activation")
            )
            if getattr(old, "bias", None) is not None:
                np.testing.assert_array_equal(old.bias, new.bias)
    if table == "network":
        tables = {id(layer.table) for layer in news if hasattr(layer, "table")}
        assert len(tables) == 1


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("table", ["layer", "network"])
def test_identity_conversion_is_exact(name, table):
    model = MODELS[name]()
    converted = convert(model, hash="identity", table=table)
    for old, new in zip(_leaves(model), _leaves(converted)):
        if type(old) in KERAS_TO_HASHED:
            np.testing.assert_array_equal(_weight(new), _weight(old))
    # The weights are equal bit for bit; only the order in which a
    # backend sums the same float32 products may differ (a relative
    # error of a few float32 epsilons, 1.2e-7 each).
    x = _inputs(model)
    np.testing.assert_allclose(
        _predict(converted, x), _predict(model, x), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("hash", ["uniform", "dirichlet", "hashed_nets"])
@pytest.mark.parametrize("table", ["layer", "network"])
def test_from_weights_brings_the_model_closer(name, hash, table):
    model = MODELS[name]()
    x = _inputs(model, batch=64)
    reference = _predict(model, x)
    output_errors, kernel_errors = {}, {}
    for from_weights in (True, False):
        # The initial tables (kept without `from_weights`) come from
        # Keras' global generator: fixed here, the test is deterministic.
        keras.utils.set_random_seed(0)
        converted = convert(
            model,
            hash=hash,
            compression=0.5,
            table=table,
            from_weights=from_weights,
            seed=1,
        )
        output_errors[from_weights] = _mse(_predict(converted, x), reference)
        kernel_errors[from_weights] = [
            _mse(_weight(new), _weight(old))
            for old, new in zip(_leaves(model), _leaves(converted))
            if type(old) in KERAS_TO_HASHED
        ]
    # The projection minimizes each kernel's squared error exactly, for
    # every initial table; the outputs follow on these models.
    assert np.all(np.less(kernel_errors[True], kernel_errors[False]))
    assert output_errors[True] < output_errors[False]


def test_from_weights_is_the_least_squares_table():
    model = mlp()
    converted = convert(model, compression=0.25, seed=2)
    old, new = model.get_layer("hidden"), converted.get_layer("hidden")
    weights = keras.ops.convert_to_numpy(old.kernel).astype(np.float64)
    table = keras.ops.convert_to_numpy(new.table_variable)
    entries = new.kernel_index().entries
    for entry in np.unique(entries)[:20]:
        np.testing.assert_allclose(
            table[entry], weights[entries == entry].mean(), rtol=1e-6
        )
    # Any other table fits the trained weights worse.
    error = np.sum((table[entries] - weights) ** 2)
    rng = np.random.default_rng(0)
    for _ in range(3):
        other = table + rng.normal(scale=1e-3, size=table.shape)
        assert np.sum((other[entries] - weights) ** 2) > error


def test_project_weights_undoes_signs_and_skips_zeros():
    layer = HashedDense(
        2,
        hash=hashing.Custom(index=[[0, 1], [1, 0], [2, 1]]),
        table_size=4,
        sparsity=0.3,
        sign=True,
        seed=5,
        use_bias=False,
    )
    layer.build((None, 3))
    before = keras.ops.convert_to_numpy(layer.table_variable).copy()
    index = layer.kernel_index()
    weights = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    project_weights([(layer, weights)])
    table = keras.ops.convert_to_numpy(layer.table_variable)
    signed = weights * index.signs
    for entry in range(4):
        hit = index.entries == entry
        if hit.any():
            np.testing.assert_allclose(table[entry], signed[hit].mean())
        else:  # Entry 3, and entries whose weights are all zeros.
            assert table[entry] == before[entry]


def test_project_weights_checks_shapes():
    layer = HashedDense(2, table_size=3, seed=0)
    layer.build((None, 3))
    with pytest.raises(ValueError, match=r"virtual shape \(3, 2\)"):
        project_weights([(layer, np.zeros((2, 3)))])


@pytest.mark.parametrize("table", ["layer", "network"])
def test_kmeans_kernels_hold_at_most_num_clusters_values(table):
    model = cnn()
    converted = convert(model, hash=hashing.KMeans(8), table=table)
    values = []
    for old, new in zip(_leaves(model), _leaves(converted)):
        if type(old) not in KERAS_TO_HASHED:
            continue
        kernel = keras.ops.convert_to_numpy(new.kernel)
        assert len(np.unique(kernel)) <= 8
        values.append(kernel.ravel())
        if table == "layer":  # The table holds the layer's centroids.
            trained = keras.ops.convert_to_numpy(old.kernel)
            centroids, labels = kmeans_1d(trained, 8)
            np.testing.assert_allclose(
                kernel, centroids[labels].astype("float32"), rtol=1e-6
            )
    if table == "network":
        assert len(np.unique(np.concatenate(values))) <= 8
        assert converted.get_layer("logits").table.size == 8


def test_kmeans_alias_needs_no_size():
    converted = convert(mlp(), hash="kmeans")
    layer = converted.get_layer("hidden")
    assert int(layer.table_variable.shape[0]) == 16


@pytest.mark.parametrize(
    "hash, table",
    [
        ("uniform", "layer"),
        ("dirichlet", "network"),
        (hashing.KMeans(8), "layer"),
        (hashing.KMeans(8), "network"),
    ],
)
def test_trains_and_saves(hash, table, tmp_path):
    model = cnn()
    sizing = {} if isinstance(hash, hashing.KMeans) else {"compression": 0.5}
    converted = convert(model, hash=hash, table=table, seed=3, **sizing)
    x = _inputs(model, batch=8)
    y = np.zeros((8, 5), "float32")
    converted.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = [w.copy() for w in converted.get_weights()]
    converted.fit(x, y, batch_size=8, epochs=1, verbose=0)
    after = converted.get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))
    path = tmp_path / "converted.keras"
    converted.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(_predict(loaded, x), _predict(converted, x))


def test_select_layers_by_name_and_predicate():
    model = cnn()
    by_name = convert(model, compression=0.5, layers=["conv1d", "logits"])
    assert type(by_name.get_layer("conv2d")) is keras.layers.Conv2D
    assert type(by_name.get_layer("conv1d")) is HashedConv1D
    assert type(by_name.get_layer("logits")) is HashedDense
    by_predicate = convert(
        model,
        compression=0.5,
        layers=lambda layer: isinstance(layer, keras.layers.Conv2D),
    )
    assert type(by_predicate.get_layer("conv2d")) is HashedConv2D
    assert type(by_predicate.get_layer("logits")) is keras.layers.Dense
    np.testing.assert_array_equal(
        by_predicate.get_layer("logits").kernel,
        model.get_layer("logits").kernel,
    )


def test_the_original_is_untouched():
    model = mlp()
    weights = [w.copy() for w in model.get_weights()]
    convert(model, compression=0.25, table="network", seed=0)
    for a, b in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_seeded_conversion_is_deterministic():
    model = cnn()
    x = _inputs(model)
    a = convert(model, hash="dirichlet", compression=0.25, seed=4)
    b = convert(model, hash="dirichlet", compression=0.25, seed=4)
    np.testing.assert_array_equal(_predict(a, x), _predict(b, x))
    seeds = {a.get_layer(n).seed for n in ("conv2d", "conv1d", "logits")}
    assert len(seeds) == 3  # Each layer its own hash.


def test_network_table_size():
    model = mlp()  # 12 * 16 + 16 * 4 = 256 weights.
    by_compression = convert(model, compression=0.25, table="network")
    assert by_compression.get_layer("hidden").table.size == 64
    by_size = convert(model, table_size=10, table="network")
    assert by_size.get_layer("logits").table.size == 10


def test_given_table_is_shared():
    table = HashTable(40, hash="modulus", seed=0)
    converted = convert(mlp(), table=table)
    hidden, logits = (
        converted.get_layer("hidden"),
        converted.get_layer("logits"),
    )
    assert hidden.table is table and logits.table is table
    assert hidden.hash == hashing.Modulus()
    assert logits.id_offset == 12 * 16


def test_compiled_like_the_original():
    model = mlp()
    model.compile(optimizer="adam", loss="mse")
    converted = convert(model, compression=0.5)
    assert converted.compiled
    assert converted.loss == "mse"


def test_top_level_names():
    assert arbnet_keras.convert is convert
    assert "convert" in arbnet_keras.__all__
    assert "to_dense" in arbnet_keras.__all__


class TestBadArguments:
    def test_unknown_layer_names(self):
        with pytest.raises(
            ValueError,
            match=r"`layers` names layers that 'mlp' does not have: "
            r"\['nope'\]\..*Received: layers=\['hidden', 'nope'\]",
        ):
            convert(mlp(), compression=0.5, layers=["hidden", "nope"])

    def test_layer_that_cannot_be_converted(self):
        with pytest.raises(
            ValueError,
            match=r"`layers` names layers that cannot be converted: "
            r"\['dropout'\]",
        ):
            convert(mlp(), compression=0.5, layers=["dropout"])

    def test_layers_as_a_string(self):
        with pytest.raises(
            ValueError,
            match=r"`layers` must be None, a list of layer names, or a "
            r"function of a layer. Received: layers='hidden'",
        ):
            convert(mlp(), compression=0.5, layers="hidden")

    def test_nothing_selected(self):
        with pytest.raises(ValueError, match=r"No layer to convert"):
            convert(mlp(), compression=0.5, layers=lambda layer: False)

    @pytest.mark.parametrize("compression", [0, -0.5, 1.5, "1/16", True])
    def test_compression_outside_0_1(self, compression):
        with pytest.raises(
            ValueError,
            match=r"`compression` must be a number in \(0, 1\]. "
            rf"Received: compression={compression!r}",
        ):
            convert(mlp(), compression=compression)

    def test_both_sizes(self):
        with pytest.raises(
            ValueError,
            match=r"Give only one of `table_size` or `compression`. "
            r"Received: table_size=10, compression=0.5",
        ):
            convert(mlp(), compression=0.5, table_size=10)

    def test_neither_size(self):
        with pytest.raises(
            ValueError,
            match=r"Exactly one of `compression` and `table_size` must be "
            r"given for the Uniform hash. "
            r"Received: compression=None, table_size=None",
        ):
            convert(mlp())

    @pytest.mark.parametrize("hash", ["identity", hashing.KMeans(4)])
    def test_size_with_a_hash_that_sets_it(self, hash):
        with pytest.raises(
            ValueError,
            match=r"The table size is set by the (Identity|KMeans) hash: "
            r"leave `compression` and `table_size` unset. "
            r"Received: compression=0.5, table_size=None",
        ):
            convert(mlp(), hash=hash, compression=0.5)

    def test_size_with_a_given_table(self):
        with pytest.raises(
            ValueError, match=r"The table size is set by the given `table`"
        ):
            convert(mlp(), table=HashTable(10), table_size=10)

    def test_table_size_larger_than_a_layer(self):
        with pytest.raises(
            ValueError,
            match=r"layer 'logits' has 64\..*Received: table_size=100",
        ):
            convert(mlp(), table_size=100)

    def test_network_table_size_larger_than_the_weights(self):
        with pytest.raises(
            ValueError,
            match=r"the converted layers \(256\). Received: table_size=300",
        ):
            convert(mlp(), table_size=300, table="network")

    def test_table(self):
        with pytest.raises(
            ValueError,
            match=r"Invalid value for argument `table`. Expected one of "
            r"\('layer', 'network'\) or a `HashTable`. Received: "
            r"table='model'",
        ):
            convert(mlp(), compression=0.5, table="model")

    def test_hash(self):
        with pytest.raises(
            ValueError, match=r"Invalid value for argument `hash`"
        ):
            convert(mlp(), hash="md5", compression=0.5)

    def test_seed(self):
        with pytest.raises(ValueError, match=r"Received: seed=-1"):
            convert(mlp(), compression=0.5, seed=-1)

    def test_subclassed_model(self):
        class Subclassed(keras.Model):
            def __init__(self):
                super().__init__()
                self.dense = keras.layers.Dense(2)

            def call(self, x):
                return self.dense(x)

        model = Subclassed()
        model(np.zeros((1, 3), "float32"))
        with pytest.raises(
            ValueError,
            match=r"`model` must be a Sequential or Functional Keras model"
            r".*Received: model of type Subclassed",
        ):
            convert(model, compression=0.5)

    def test_unbuilt_model(self):
        model = keras.Sequential([keras.layers.Dense(2)])
        with pytest.raises(ValueError, match=r"`model` must be built"):
            convert(model, compression=0.5)
