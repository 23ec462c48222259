"""Tests of `arbnet_keras.deploy`: small SavedModel and TFLite artifacts."""

import warnings

import keras
import numpy as np
import pytest

from arbnet_keras import HashedConv2D
from arbnet_keras import HashedEmbedding
from arbnet_keras import HashTable
from arbnet_keras import convert
from arbnet_keras import deploy
from arbnet_keras import hashing
from arbnet_keras import models
from arbnet_keras.layers.kernels import GraphHashKernel

pytestmark = pytest.mark.tensorflow_only

# The hashes computed from a seed, which the artifacts must not index.
SEEDED = ("uniform", "dirichlet", "hashed_nets", "modulus")

# The paper's MNIST network: one 1000-entry table for the three layers.
TABLE_SIZE = 1000
INPUTS = np.random.default_rng(0).normal(size=(8, 784)).astype("float32")


def _mnist(hash):
    return models.mnist_mlp(hash=hash, table_size=TABLE_SIZE, seed=0)


@pytest.fixture(scope="module")
def dense_sizes(tmp_path_factory):
    """Bytes of the dense network's SavedModel (`model.export`) and TFLite."""
    tmp = tmp_path_factory.mktemp("dense")
    model = _mnist(None)
    model.export(tmp / "saved", verbose=False)
    saved = sum(f.stat().st_size for f in (tmp / "saved").rglob("*"))
    return {
        "keras_export": saved,
        "saved_model": deploy.export(model, tmp / "same_writer"),
        "tflite": deploy.export(model, tmp / "m.tflite", format="tflite"),
    }


def _export_tflite(model, path):
    """Exports with TFLite's built-in operators only: LiteRT runs it."""
    pytest.importorskip("ai_edge_litert")
    return deploy.export(model, path, format="tflite", select_tf_ops=False)


@pytest.mark.parametrize("hash", SEEDED)
def test_saved_model_predicts_and_is_small(hash, tmp_path, dense_sizes):
    import tensorflow as tf

    model = _mnist(hash)
    expected = model.predict(INPUTS, verbose=0)
    size = deploy.export(model, tmp_path / "saved")
    served = tf.saved_model.load(str(tmp_path / "saved"))
    np.testing.assert_allclose(
        served.serve(INPUTS).numpy(), expected, atol=1e-5
    )
    # Another batch size: the graph hashes for any batch.
    np.testing.assert_allclose(
        served.serve(INPUTS[:1]).numpy(), expected[:1], atol=1e-5
    )
    assert size <= 0.1 * dense_sizes["keras_export"]
    # Written the same way, the dense network's variables hold its
    # 198,800 weights; the hashed one's graph and 1000 entries are a
    # small fraction of that.
    assert size <= 0.13 * dense_sizes["saved_model"]


@pytest.mark.parametrize("hash", SEEDED)
def test_tflite_predicts_and_is_small(hash, tmp_path, dense_sizes):
    model = _mnist(hash)
    expected = model.predict(INPUTS, verbose=0)
    size = _export_tflite(model, tmp_path / "m.tflite")
    outputs = deploy.run_tflite(tmp_path / "m.tflite", INPUTS)
    np.testing.assert_allclose(outputs, expected, atol=1e-5)
    assert size <= 0.1 * dense_sizes["tflite"]


def test_dense_tflite_holds_the_kernels(dense_sizes):
    # 198,800 float32 weights: the reference the 10% is taken of.
    assert dense_sizes["tflite"] > 4 * 198_800


def test_kmeans_stores_its_narrow_index(tmp_path, dense_sizes):
    import tensorflow as tf

    dense = _mnist(None)
    model = convert(dense, hash=hashing.KMeans(16))
    expected = model.predict(INPUTS, verbose=0)
    with pytest.warns(UserWarning, match="dense_1.*keep their stored index"):
        size = deploy.export(model, tmp_path / "saved")
    served = tf.saved_model.load(str(tmp_path / "saved"))
    np.testing.assert_allclose(
        served.serve(INPUTS).numpy(), expected, atol=1e-5
    )
    # The uint8 index (a byte a weight), neither the float kernel nor an
    # int16 index (over half the dense files).
    assert 198_800 < size < 0.35 * dense_sizes["saved_model"]
    with pytest.warns(UserWarning, match="keep their stored index"):
        size = _export_tflite(model, tmp_path / "m.tflite")
    outputs = deploy.run_tflite(tmp_path / "m.tflite", INPUTS)
    np.testing.assert_allclose(outputs, expected, atol=1e-5)
    assert 198_800 < size < 0.3 * dense_sizes["tflite"]


def test_hash_in_graph_keeps_weights_and_sharing():
    model = _mnist("dirichlet")
    model.get_layer("hashed_1").table_variable.assign(
        np.linspace(-0.05, 0.05, TABLE_SIZE).astype("float32")
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        copy = deploy.hash_in_graph(model)
    hashed = [copy.get_layer(f"hashed_{i}") for i in (1, 2, 3)]
    assert all(layer.kernel_mode == "hash" for layer in hashed)
    assert all(
        isinstance(layer._weight_fn, GraphHashKernel) for layer in hashed
    )
    assert len({id(layer.table_variable) for layer in hashed}) == 1
    assert (
        hashed[0].table_variable
        is not model.get_layer("hashed_1").table_variable
    )
    np.testing.assert_allclose(
        copy.predict(INPUTS, verbose=0),
        model.predict(INPUTS, verbose=0),
        atol=1e-5,
    )
    assert model.get_layer("hashed_1").kernel_mode == "auto"


def test_exports_convolutions_and_embeddings(tmp_path):
    import tensorflow as tf

    table = HashTable(64, seed=3, name="shared")
    tokens = keras.Input((5,), dtype="int32")
    embedded = HashedEmbedding(50, 6, table=table)(tokens)
    image = keras.layers.Reshape((5, 6, 1))(embedded)
    x = HashedConv2D(4, 3, table=table, sign=True, padding="same")(image)
    outputs = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(tokens, outputs)
    data = np.random.default_rng(1).integers(0, 50, (3, 5)).astype("int32")
    expected = model.predict(data, verbose=0)
    deploy.export(model, tmp_path / "saved")
    served = tf.saved_model.load(str(tmp_path / "saved"))
    np.testing.assert_allclose(served.serve(data).numpy(), expected, atol=1e-5)


def test_replaces_an_existing_export(tmp_path):
    model = _mnist("uniform")
    first = deploy.export(model, tmp_path / "saved")
    (tmp_path / "saved" / "stale.bin").write_bytes(bytes(10_000))
    size = deploy.export(model, tmp_path / "saved")
    assert not (tmp_path / "saved" / "stale.bin").exists()
    # Function names carry a trace counter: sizes agree within bytes.
    assert abs(size - first) < 100


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"format": "onnx"},
            "Invalid value for argument `format`.*Received: format='onnx'",
        ),
        (
            {"select_tf_ops": "yes"},
            "`select_tf_ops`.*Received: select_tf_ops='yes'",
        ),
    ],
)
def test_bad_arguments(kwargs, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        deploy.export(_mnist("uniform"), tmp_path / "out", **kwargs)


def test_subclassed_model_is_refused(tmp_path):
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    net = Net()
    net(np.zeros((1, 3), "float32"))
    with pytest.raises(ValueError, match="Sequential or Functional"):
        deploy.export(net, tmp_path / "out")


class _Mask(keras.layers.Layer):
    def call(self, x):
        return keras.ops.cast(keras.ops.bitwise_and(x, 6), "float32")


def _bitwise_model():
    """A model whose graph needs `BitwiseAnd`, which TFLite lacks."""
    inputs = keras.Input((4,), dtype="int32")
    return keras.Model(inputs, keras.layers.Dense(2)(_Mask()(inputs)))


def test_tflite_falls_back_to_tf_ops_with_a_warning(tmp_path):
    model = _bitwise_model()
    with pytest.warns(UserWarning, match="lack BitwiseAnd.*SELECT_TF_OPS"):
        size = deploy.export(model, tmp_path / "m.tflite", format="tflite")
    assert size == (tmp_path / "m.tflite").stat().st_size > 0
    with pytest.raises(Exception, match="BitwiseAnd"):
        deploy.export(
            model, tmp_path / "n.tflite", format="tflite", select_tf_ops=False
        )
    assert not (tmp_path / "n.tflite").exists()
