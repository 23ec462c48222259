"""Tests of `arbnet_keras.to_dense`: hashed models as plain Keras models."""

import json
import zipfile

import keras
import numpy as np
import pytest

from arbnet_keras import HashedConv1D
from arbnet_keras import HashedConv2D
from arbnet_keras import HashedDense
from arbnet_keras import HashedEmbedding
from arbnet_keras import HashTable
from arbnet_keras import convert
from arbnet_keras import hashing
from arbnet_keras import to_dense

HASHED_TO_KERAS = {
    HashedDense: keras.layers.Dense,
    HashedConv1D: keras.layers.Conv1D,
    HashedConv2D: keras.layers.Conv2D,
    HashedEmbedding: keras.layers.Embedding,
}


def _trained(model):
    rng = np.random.default_rng(11)
    for variable in model.weights:
        value = rng.normal(scale=0.3, size=variable.shape)
        variable.assign(value.astype(variable.dtype))
    return model


def hashed_cnn():
    """Every hashed layer, with zeros, signs and a shared table."""
    table = HashTable(60, hash="dirichlet", seed=0)
    inputs = keras.Input((8, 8, 2))
    x = HashedConv2D(4, 3, table=table, sign=True, name="conv2d")(inputs)
    x = keras.layers.Reshape((36, 4))(x)
    x = HashedConv1D(
        3, 3, hash="modulus", table_size=20, seed=1, name="conv1d"
    )(x)
    x = keras.layers.Flatten()(x)
    x = HashedDense(
        5, table_size=50, sparsity=0.3, seed=2, activation="tanh", name="out"
    )(x)
    return _trained(keras.Model(inputs, x, name="hashed_cnn"))


def hashed_text():
    return _trained(
        keras.Sequential(
            [
                keras.Input((6,), dtype="int32"),
                HashedEmbedding(
                    30, 8, hash="uniform", table_size=40, seed=3, name="emb"
                ),
                keras.layers.Flatten(),
                HashedDense(3, table=HashTable(30, seed=4), name="out"),
            ],
            name="hashed_text",
        )
    )


MODELS = {"cnn": hashed_cnn, "text": hashed_text}


def _inputs(model, batch=16):
    rng = np.random.default_rng(5)
    shape = (batch,) + tuple(model.input_shape[1:])
    if "int" in str(model.inputs[0].dtype):
        return rng.integers(0, 30, size=shape).astype("int32")
    return rng.normal(size=shape).astype("float32")


def _predict(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


# Both models compute with the same float32 weights; only the order in
# which the backend sums a dot product's products may differ (a matmul
# against the kernel or its transpose). Each output here sums at most 108
# products of magnitude below 1, so a reordering moves it by far less
# than 1e-6.
ATOL = 1e-6


@pytest.mark.parametrize("name", sorted(MODELS))
def test_equal_predictions_and_plain_layers(name):
    model = MODELS[name]()
    dense = to_dense(model)
    for old, new in zip(model.layers, dense.layers):
        expected = HASHED_TO_KERAS.get(type(old), type(old))
        assert type(new) is expected
        if expected is not keras.layers.InputLayer:
            assert new.name == old.name
        if type(old) in HASHED_TO_KERAS:
            weight = (
                "embeddings"
                if expected is keras.layers.Embedding
                else ("kernel")
            )
            np.testing.assert_array_equal(
                keras.ops.convert_to_numpy(getattr(new, weight)),
                keras.ops.convert_to_numpy(getattr(old, weight)),
            )
    x = _inputs(model)
    np.testing.assert_allclose(
        _predict(dense, x), _predict(model, x), rtol=0, atol=ATOL
    )


def test_keeps_zeros_and_activation():
    dense = to_dense(hashed_cnn()).get_layer("out")
    assert dense.get_config()["activation"] == "tanh"
    assert np.mean(keras.ops.convert_to_numpy(dense.kernel) == 0) > 0.2


def test_inverts_identity_conversion():
    original = _trained(
        keras.Sequential(
            [
                keras.Input((5,)),
                keras.layers.Dense(4, activation="relu"),
                keras.layers.Dense(2),
            ]
        )
    )
    back = to_dense(convert(original, hash="identity", table="network"))
    for a, b in zip(original.get_weights(), back.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_loads_without_arbnet_keras(name, tmp_path, run_python):
    model = MODELS[name]()
    dense = to_dense(model)
    path = tmp_path / "dense.keras"
    dense.save(path)
    with zipfile.ZipFile(path) as archive:
        config = archive.read("config.json").decode()
    assert "arbnet" not in config.lower()
    x = _inputs(model, batch=4)
    result = run_python(
        "import sys\n"
        "sys.modules['arbnet_keras'] = None  # Importing it now fails.\n"
        "import keras, numpy as np\n"
        f"model = keras.saving.load_model({str(path)!r})\n"
        f"x = np.array({json.dumps(x.tolist())}, {str(x.dtype)!r})\n"
        "emit(keras.ops.convert_to_numpy(model(x)).tolist())\n"
    )
    np.testing.assert_allclose(
        np.array(result, "float32"), _predict(model, x), rtol=0, atol=ATOL
    )


def test_kmeans_model_becomes_plain():
    model = _trained(
        keras.Sequential([keras.Input((6,)), keras.layers.Dense(4)])
    )
    hashed = convert(model, hash=hashing.KMeans(3))
    dense = to_dense(hashed)
    kernel = keras.ops.convert_to_numpy(dense.layers[0].kernel)
    assert len(np.unique(kernel)) <= 3
    x = np.ones((2, 6), "float32")
    np.testing.assert_allclose(
        _predict(dense, x), _predict(hashed, x), rtol=0, atol=ATOL
    )


def test_subclassed_model():
    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = HashedDense(2, table_size=3, seed=0)

        def call(self, x):
            return self.dense(x)

    model = Subclassed()
    model(np.zeros((1, 3), "float32"))
    with pytest.raises(
        ValueError,
        match=r"`model` must be a Sequential or Functional Keras model",
    ):
        to_dense(model)
