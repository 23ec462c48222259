"""Hashed layers in every Keras model style, and shared tables rebuilt.

Keras may build a layer inside a scratch trace (a subclassed model's first
`fit`, a `Sequential` model without an `Input`, a first call inside a
compiled function), and a hashed layer must work there as in eager code.
Every layer is given seeded initializers, so each style starts from the
same weights as a reference (`Sequential` with an `Input`, trained
eagerly) and must end one SGD step with the same weights and predictions.

Rebuilding a model whose layers share a `HashTable` (`model_from_json`,
`Model.from_config`, `clone_model`) must give the rebuilt layers one new
table, shared among them as in the original, and never the original's
variable.

Written with `keras.ops` and NumPy, so it runs under every
`KERAS_BACKEND`.
"""

import keras
import numpy as np
import pytest

from arbnet_keras import HashedConv2D
from arbnet_keras import HashedDense
from arbnet_keras import HashedEmbedding
from arbnet_keras import HashTable

BACKEND = keras.backend.backend()

# Hashes that store an index (the case that broke when built in a trace).
HASHES = {
    "uniform": dict(hash="uniform", table_size=8),
    "dirichlet": dict(hash="dirichlet", table_size=8),
    "modulus_sparse_sign": dict(
        hash="modulus", table_size=8, sparsity=0.3, sign=True
    ),
}
KINDS = ("dense", "conv2d", "embedding")
BATCH = 8


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def _init(seed):
    return keras.initializers.RandomUniform(-0.5, 0.5, seed=seed)


def _layers(kind, hash_case):
    """Fresh, named, seeded layers: the same weights in every model."""
    hashed = dict(HASHES[hash_case])
    head = HashedDense(
        3,
        **hashed,
        seed=2,
        table_initializer=_init(12),
        bias_initializer=keras.initializers.Constant(0.1),
        name="head",
    )
    if kind == "dense":
        first = HashedDense(
            5,
            **hashed,
            seed=1,
            activation="tanh",
            table_initializer=_init(11),
            bias_initializer=keras.initializers.Constant(-0.1),
            name="first",
        )
        return [first, head]
    if kind == "conv2d":
        first = HashedConv2D(
            3,
            2,
            **hashed,
            seed=1,
            activation="tanh",
            table_initializer=_init(11),
            bias_initializer=keras.initializers.Constant(-0.1),
            name="first",
        )
    else:
        first = HashedEmbedding(
            10, 3, **hashed, seed=1, table_initializer=_init(11), name="first"
        )
    return [first, keras.layers.Flatten(name="flatten"), head]


def _data(kind):
    rng = np.random.default_rng(0)
    if kind == "dense":
        x = rng.normal(size=(BATCH, 6)).astype("float32")
    elif kind == "conv2d":
        x = rng.normal(size=(BATCH, 5, 5, 2)).astype("float32")
    else:
        x = rng.integers(0, 10, size=(BATCH, 4)).astype("int32")
    y = rng.normal(size=(BATCH, 3)).astype("float32")
    return x, y


def _input(kind):
    x, _ = _data(kind)
    return keras.Input(x.shape[1:], dtype=str(x.dtype))


class Stack(keras.Model):
    """A subclassed model, as the issue's example writes one."""

    def __init__(self, blocks, **kwargs):
        super().__init__(**kwargs)
        self.blocks = blocks

    def call(self, x):
        for block in self.blocks:
            x = block(x)
        return x


def _sequential_input(kind, hash_case):
    return keras.Sequential([_input(kind)] + _layers(kind, hash_case))


def _sequential_no_input(kind, hash_case):
    return keras.Sequential(_layers(kind, hash_case))


def _functional(kind, hash_case):
    inputs = _input(kind)
    x = inputs
    for layer in _layers(kind, hash_case):
        x = layer(x)
    return keras.Model(inputs, x)


def _subclassed(kind, hash_case):
    return Stack(_layers(kind, hash_case))


def _nested_functional(kind, hash_case):
    # A Sequential (with its Input) inside a Functional model.
    layers = _layers(kind, hash_case)
    inner = keras.Sequential([_input(kind)] + layers[:-1], name="inner")
    inputs = _input(kind)
    return keras.Model(inputs, layers[-1](inner(inputs)))


def _nested_subclassed(kind, hash_case):
    # A Sequential without an Input inside a subclassed model: both are
    # built during the first `fit`.
    layers = _layers(kind, hash_case)
    return Stack([keras.Sequential(layers[:-1], name="inner"), layers[-1]])


STYLES = {
    "sequential_input": _sequential_input,
    "sequential_no_input": _sequential_no_input,
    "functional": _functional,
    "subclassed": _subclassed,
    "nested_functional": _nested_functional,
    "nested_subclassed": _nested_subclassed,
}


def _compile(model, learning_rate=0.1):
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse")


def _fit_one_step(model, x, y):
    _compile(model)
    model.fit(x, y, batch_size=len(x), epochs=1, verbose=0, shuffle=False)


def _weights_by_layer(model):
    """`{layer name: [weights]}` over the layers of nested models too."""
    weights = {}
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            weights.update(_weights_by_layer(layer))
        elif layer.weights:
            weights[layer.name] = [_np(w) for w in layer.weights]
    return weights


_REFERENCES = {}


def _reference(kind, hash_case):
    """Initial weights and predictions, and the same after one step."""
    key = (kind, hash_case)
    if key not in _REFERENCES:
        x, y = _data(kind)
        model = _sequential_input(kind, hash_case)
        initial = (_weights_by_layer(model), _np(model(x)))
        _fit_one_step(model, x, y)
        trained = (_weights_by_layer(model), model.predict(x, verbose=0))
        # The step moves every table and bias.
        for name, before in initial[0].items():
            for w0, w1 in zip(before, trained[0][name]):
                assert np.abs(w1 - w0).max() > 1e-4, name
        _REFERENCES[key] = initial, trained
    return _REFERENCES[key]


def _assert_same_weights(got, expected):
    assert sorted(got) == sorted(expected)
    for name, weights in expected.items():
        assert len(got[name]) == len(weights), name
        # One SGD step from the same weights; only the summation order of
        # the compiled and the reference step differ (O(1) values).
        for g, w in zip(
            sorted(got[name], key=np.size), sorted(weights, key=np.size)
        ):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("hash_case", sorted(HASHES))
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("style", sorted(STYLES))
def test_fit_and_predict_in_every_style(style, kind, hash_case):
    initial, trained = _reference(kind, hash_case)
    x, y = _data(kind)
    model = STYLES[style](kind, hash_case)
    _fit_one_step(model, x, y)
    _assert_same_weights(_weights_by_layer(model), trained[0])
    predictions = model.predict(x, verbose=0)
    assert predictions.shape == (BATCH, 3)
    np.testing.assert_allclose(predictions, trained[1], rtol=1e-5, atol=1e-6)


def _first_call_compiled(model, x):
    """The model's first call, inside a compiled function."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        # The model is built inside the `tf.function`'s trace.
        return tf.function(model)(x)
    if BACKEND == "jax":
        import jax

        # Keras cannot create JAX variables inside `jax.jit`: the model is
        # built symbolically, then first run inside `jax.jit`.
        model.build(x.shape)

        @jax.jit
        def call(trainable, non_trainable, x):
            return model.stateless_call(trainable, non_trainable, x)[0]

        return call(
            [v.value for v in model.trainable_variables],
            [v.value for v in model.non_trainable_variables],
            x,
        )
    pytest.skip(f"No compiled first call is tested on {BACKEND!r}.")


@pytest.mark.parametrize("hash_case", sorted(HASHES))
@pytest.mark.parametrize("kind", KINDS)
def test_first_call_inside_a_compiled_function(kind, hash_case):
    initial, trained = _reference(kind, hash_case)
    x, y = _data(kind)
    model = _sequential_no_input(kind, hash_case)
    outputs = _np(_first_call_compiled(model, x))
    np.testing.assert_allclose(outputs, initial[1], rtol=1e-5, atol=1e-6)
    # And the model still runs eagerly and trains afterwards.
    np.testing.assert_allclose(_np(model(x)), initial[1], rtol=1e-5, atol=1e-6)
    _fit_one_step(model, x, y)
    _assert_same_weights(_weights_by_layer(model), trained[0])
    np.testing.assert_allclose(
        model.predict(x, verbose=0), trained[1], rtol=1e-5, atol=1e-6
    )


def test_the_issue_example():
    class M(keras.Model):
        def __init__(self):
            super().__init__()
            self.a = HashedDense(16, table_size=50, seed=0)
            self.b = HashedDense(3, table_size=20, seed=1)

        def call(self, x):
            return self.b(self.a(x))

    m = M()
    m.compile("sgd", "mse")
    x = np.ones((8, 32), "float32")
    m.fit(x, np.zeros((8, 3)), verbose=0)
    assert len(m.trainable_weights) == 4
    np.testing.assert_allclose(
        m.predict(x, verbose=0), _np(m(x)), rtol=1e-5, atol=1e-6
    )


# A network whose convolution and dense layers share one table.


def _shared_network(sequential=False):
    table = HashTable(
        30, hash="uniform", seed=0, initializer=_init(21), name="table"
    )
    layers = [
        HashedConv2D(3, 3, table=table, activation="relu", name="conv"),
        keras.layers.Flatten(name="flatten"),
        HashedDense(4, table=table, activation="tanh", name="dense1"),
        HashedDense(2, table=table, name="dense2"),
    ]
    if sequential:
        return keras.Sequential([keras.Input((6, 6, 2))] + layers)
    inputs = keras.Input((6, 6, 2))
    x = inputs
    for layer in layers:
        x = layer(x)
    return keras.Model(inputs, x)


HASHED_NAMES = ("conv", "dense1", "dense2")


def _shared_data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(BATCH, 6, 6, 2)).astype("float32")
    y = rng.normal(size=(BATCH, 2)).astype("float32")
    return x, y


def _tables(model):
    return [model.get_layer(name).table for name in HASHED_NAMES]


def _assert_shares_one_table(model):
    tables = _tables(model)
    assert tables[0] is not None
    assert all(t is tables[0] for t in tables)
    variables = [model.get_layer(n).table_variable for n in HASHED_NAMES]
    assert all(v is tables[0].variable for v in variables)
    # One table and three biases.
    assert len(model.trainable_weights) == 4
    table_weights = [w for w in model.weights if w.name == "table"]
    assert len(table_weights) == 1


def _trained_shared_network(sequential=False):
    model = _shared_network(sequential)
    x, y = _shared_data()
    before = _np(model.get_layer("conv").table_variable).copy()
    _fit_one_step(model, x, y)
    assert np.abs(_np(model.get_layer("conv").table_variable) - before).max()
    return model


def test_shared_table_trains_saves_and_reloads(tmp_path, run_python):
    model = _trained_shared_network()
    _assert_shares_one_table(model)
    x, _ = _shared_data()
    expected = model.predict(x, verbose=0)
    model.save(tmp_path / "model.keras")
    np.save(tmp_path / "x.npy", x)
    code = f"""
import numpy as np
import keras
import arbnet_keras
model = keras.saving.load_model({str(tmp_path / "model.keras")!r})
layers = [model.get_layer(n) for n in {HASHED_NAMES!r}]
x = np.load({str(tmp_path / "x.npy")!r})
emit({{
    "y": model.predict(x, verbose=0).tolist(),
    "one_table": all(l.table is layers[0].table for l in layers),
    "one_variable": all(
        l.table_variable is layers[0].table.variable for l in layers
    ),
    "num_tables": len([w for w in model.weights if w.name == "table"]),
    "num_trainable": len(model.trainable_weights),
    "offsets": [l.id_offset for l in layers],
}})
"""
    result = run_python(code)
    np.testing.assert_allclose(result["y"], expected, rtol=1e-6, atol=1e-6)
    assert result["one_table"] is True
    assert result["one_variable"] is True
    assert result["num_tables"] == 1
    assert result["num_trainable"] == 4
    assert result["offsets"] == [
        model.get_layer(n).id_offset for n in HASHED_NAMES
    ]


def _from_json(model):
    rebuilt = keras.models.model_from_json(model.to_json())
    rebuilt.set_weights(model.get_weights())
    return rebuilt


def _from_config(model):
    rebuilt = type(model).from_config(model.get_config())
    rebuilt.set_weights(model.get_weights())
    return rebuilt


def _clone(model):
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


REBUILDS = {
    "model_from_json": _from_json,
    "from_config": _from_config,
    "clone_model": _clone,
}


@pytest.mark.parametrize("sequential", [False, True])
@pytest.mark.parametrize("rebuild", sorted(REBUILDS))
def test_rebuilt_model_shares_its_own_table(rebuild, sequential):
    model = _trained_shared_network(sequential)
    rebuilt = REBUILDS[rebuild](model)
    _assert_shares_one_table(rebuilt)
    assert _tables(rebuilt)[0] is not _tables(model)[0]
    assert (
        rebuilt.get_layer("conv").table_variable
        is not model.get_layer("conv").table_variable
    )
    for name in HASHED_NAMES:
        original, copy = model.get_layer(name), rebuilt.get_layer(name)
        assert copy.id_offset == original.id_offset
        np.testing.assert_array_equal(
            copy.kernel_index().entries, original.kernel_index().entries
        )
    x, y = _shared_data()
    np.testing.assert_allclose(
        rebuilt.predict(x, verbose=0),
        model.predict(x, verbose=0),
        rtol=1e-6,
        atol=1e-6,
    )
    # Training the rebuilt model leaves the original's table alone.
    original_table = _np(model.get_layer("conv").table_variable).copy()
    _fit_one_step(rebuilt, x, y)
    np.testing.assert_array_equal(
        _np(model.get_layer("conv").table_variable), original_table
    )
    assert np.any(
        _np(rebuilt.get_layer("conv").table_variable) != original_table
    )


@pytest.mark.parametrize("rebuild", sorted(REBUILDS))
def test_rebuilding_twice_gives_two_independent_tables(rebuild):
    model = _trained_shared_network()
    first = REBUILDS[rebuild](model)
    second = REBUILDS[rebuild](model)
    for copy in (first, second):
        _assert_shares_one_table(copy)
    assert _tables(first)[0] is not _tables(second)[0]
    second_table = _np(second.get_layer("conv").table_variable).copy()
    x, y = _shared_data()
    _fit_one_step(first, x, y)
    np.testing.assert_array_equal(
        _np(second.get_layer("conv").table_variable), second_table
    )
    assert np.any(_np(first.get_layer("conv").table_variable) != second_table)


def test_clone_without_weights_gets_a_fresh_table():
    model = _trained_shared_network()
    clone = keras.models.clone_model(model)
    _assert_shares_one_table(clone)
    # Freshly initialized from the same seeded initializer, not copied:
    # the original has trained one step away from it.
    assert np.any(
        _np(clone.get_layer("conv").table_variable)
        != _np(model.get_layer("conv").table_variable)
    )
