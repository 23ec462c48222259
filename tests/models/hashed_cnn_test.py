import math
import re

import keras
import numpy as np
import pytest

from arbnet_keras import hashing
from arbnet_keras.layers import HashedConv2D
from arbnet_keras.layers import HashedDense
from arbnet_keras.layers import HashTable
from arbnet_keras.models import BN_EPSILON
from arbnet_keras.models import BN_MOMENTUM
from arbnet_keras.models import hashed_cnn

# (12, 12, 2) images, filters [4, 8], 3x3, pooling 2: 12 -> 6 -> 3.
SHAPE = (12, 12, 2)
FILTERS = [4, 8]
CONV_WEIGHTS = [3 * 3 * 2 * 4, 3 * 3 * 4 * 8]
DENSE_WEIGHTS = [3 * 3 * 8 * 3]
KERNEL_WEIGHTS = sum(CONV_WEIGHTS) + sum(DENSE_WEIGHTS)  # 576
BIASES = 4 + 8 + 3
BN_CHANNELS = 4 + 8


def _model(**kwargs):
    kwargs.setdefault("table_size", 50)
    return hashed_cnn(SHAPE, FILTERS, 3, **kwargs)


def _weight_layers(model):
    kinds = (HashedConv2D, HashedDense, keras.layers.Conv2D, keras.layers.Dense)
    return [layer for layer in model.layers if isinstance(layer, kinds)]


def _tables(model):
    return [w for w in model.trainable_weights if w.name == "table"]


def _count(weights):
    return sum(math.prod(w.shape) for w in weights)


def _images(n=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n,) + SHAPE).astype("float32")


class TestLayout:
    def test_layer_names_and_shapes(self):
        model = _model()
        assert model.name == "hashed_cnn"
        assert [layer.name for layer in model.layers] == [
            "hashed_conv_1",
            "act_conv_1",
            "bn_conv_1",
            "pool_1",
            "hashed_conv_2",
            "act_conv_2",
            "bn_conv_2",
            "pool_2",
            "flatten",
            "hashed_1",
        ]
        assert model.input_shape == (None,) + SHAPE
        assert model.output_shape == (None, 3)
        assert model.get_layer("pool_2").output.shape == (None, 3, 3, 8)
        assert model(_images()).shape == (4, 3)
        for i in (1, 2):
            conv = model.get_layer(f"hashed_conv_{i}")
            assert conv.filters == FILTERS[i - 1]
            assert conv.kernel_size == (3, 3)
            assert conv.padding == "same"
            bn = model.get_layer(f"bn_conv_{i}")
            assert (bn.momentum, bn.epsilon) == (BN_MOMENTUM, BN_EPSILON)
            act = model.get_layer(f"act_conv_{i}")
            assert act.activation is keras.activations.relu
        assert model.get_layer("hashed_1").activation is (
            keras.activations.linear
        )

    def test_hidden_units_kernel_and_pool_sizes(self):
        model = hashed_cnn(
            (16, 16, 1),
            [2],
            5,
            kernel_size=(5, 3),
            pool_size=4,
            hidden_units=[7],
            table_size=40,
            activation="elu",
            batch_norm=False,
        )
        assert [layer.name for layer in model.layers] == [
            "hashed_conv_1",
            "act_conv_1",
            "pool_1",
            "flatten",
            "hashed_1",
            "act_1",
            "hashed_2",
        ]
        assert model.get_layer("hashed_conv_1").kernel.shape == (5, 3, 1, 2)
        assert model.get_layer("hashed_1").kernel.shape == (4 * 4 * 2, 7)
        assert model.output_shape == (None, 5)

    def test_flat_input_is_reshaped(self):
        model = _model(flat_input=True)
        assert model.input_shape == (None, math.prod(SHAPE))
        assert model.layers[0].name == "reshape"
        x = _images()
        flat = model.predict(x.reshape(4, -1), verbose=0)
        reference = _model()
        reference.set_weights(model.get_weights())
        np.testing.assert_array_equal(flat, reference.predict(x, verbose=0))


class TestTables:
    def test_one_table_shared_by_every_layer(self):
        model = _model()
        tables = _tables(model)
        assert len(tables) == 1
        assert tables[0].shape == (50,)
        layers = _weight_layers(model)
        assert [type(layer) for layer in layers] == [
            HashedConv2D,
            HashedConv2D,
            HashedDense,
        ]
        for layer in layers:
            assert isinstance(layer.table, HashTable)
            assert layer.table_variable is tables[0]
        # Identifiers run on from the convolutions to the classifier.
        assert [layer.id_offset for layer in layers] == [
            0,
            CONV_WEIGHTS[0],
            sum(CONV_WEIGHTS),
        ]
        assert layers[0].table.num_ids == KERNEL_WEIGHTS

    def test_parameter_counts(self):
        hashed = _model()
        assert _count(hashed.trainable_weights) == 50 + BIASES + (
            2 * BN_CHANNELS
        )
        assert _count(hashed.non_trainable_weights) == 2 * BN_CHANNELS
        dense = _model(hash=None)
        assert _count(dense.trainable_weights) == (
            KERNEL_WEIGHTS + BIASES + 2 * BN_CHANNELS
        )
        assert dense.count_params() == KERNEL_WEIGHTS + BIASES + 4 * (
            BN_CHANNELS
        )

    def test_layer_scope(self):
        model = _model(table_scope="layer", table_size=30, seed=5)
        layers = _weight_layers(model)
        assert len(_tables(model)) == 3
        assert [layer.seed for layer in layers] == [5, 6, 7]
        for layer in layers:
            assert layer.table is None
            assert layer.table_variable.shape == (30,)

    def test_compression_network_scope(self):
        model = _model(compression=0.1)
        assert _tables(model)[0].shape == (round(0.1 * KERNEL_WEIGHTS),)

    def test_compression_layer_scope(self):
        model = _model(compression=0.5, table_scope="layer")
        sizes = [t.shape[0] for t in _tables(model)]
        assert sizes == [round(0.5 * n) for n in CONV_WEIGHTS + DENSE_WEIGHTS]

    def test_hash_arguments_reach_the_table_and_layers(self):
        model = _model(
            hash="modulus",
            numbering="in_out",
            number_zeros=False,
            sparsity=0.25,
            sign=True,
            seed=3,
            layer_kwargs={"kernel_mode": "gather"},
        )
        table = _tables(model)[0]
        for layer in _weight_layers(model):
            assert layer.table_variable is table
            assert layer.hash == hashing.Modulus()
            assert layer.numbering == "in_out"
            assert layer.number_zeros is False
            assert layer.sparsity == 0.25
            assert layer.sign is True
            assert layer.seed == 3
            assert layer.kernel_mode == "gather"

    def test_computes_the_plain_cnn_of_its_kernels(self):
        # The hashed model is the baseline with kernels from the table.
        model = _model(hash="dirichlet", seed=1)
        dense = _model(hash=None)
        # Copies: on JAX, `predict` donates the buffers of the variables.
        numpy = keras.ops.convert_to_numpy
        for hashed, plain in zip(_weight_layers(model), _weight_layers(dense)):
            plain.kernel.assign(numpy(hashed.kernel))
            plain.bias.assign(numpy(hashed.bias))
        for i in (1, 2):
            dense.get_layer(f"bn_conv_{i}").set_weights(
                model.get_layer(f"bn_conv_{i}").get_weights()
            )
        x = _images()
        np.testing.assert_allclose(
            model.predict(x, verbose=0),
            dense.predict(x, verbose=0),
            rtol=1e-5,
            atol=1e-5,
        )

    def test_fit_trains_the_shared_table(self):
        keras.utils.set_random_seed(0)
        model = _model()
        model.compile(
            optimizer=keras.optimizers.SGD(0.1),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        before = keras.ops.convert_to_numpy(_tables(model)[0])
        model.fit(_images(8), np.arange(8) % 3, epochs=1, verbose=0)
        after = keras.ops.convert_to_numpy(_tables(model)[0])
        assert not np.allclose(before, after)

    def test_save_and_load_keep_one_table(self, tmp_path):
        model = _model(hash="dirichlet")
        path = str(tmp_path / "cnn.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
        x = _images()
        np.testing.assert_allclose(
            loaded.predict(x, verbose=0), model.predict(x, verbose=0)
        )
        tables = _tables(loaded)
        assert len(tables) == 1
        for layer in _weight_layers(loaded):
            assert layer.table_variable is tables[0]


class TestBaseline:
    @pytest.mark.parametrize("hash", [None, "identity", hashing.Identity()])
    def test_plain_conv_and_dense(self, hash):
        model = _model(hash=hash)
        assert model.name == "dense_cnn"
        layers = _weight_layers(model)
        assert [type(layer) for layer in layers] == [
            keras.layers.Conv2D,
            keras.layers.Conv2D,
            keras.layers.Dense,
        ]
        assert [layer.name for layer in layers] == [
            "conv_1",
            "conv_2",
            "dense_1",
        ]
        assert _tables(model) == []

    def test_sparse_baseline_is_unshared(self):
        model = _model(hash=None, sparsity=0.5, seed=2)
        layers = _weight_layers(model)
        assert [type(layer) for layer in layers] == [
            HashedConv2D,
            HashedConv2D,
            HashedDense,
        ]
        assert [layer.seed for layer in layers] == [2, 3, 4]
        for layer, size in zip(layers, CONV_WEIGHTS + DENSE_WEIGHTS):
            assert layer.table is None
            assert layer.hash == hashing.Identity()
            assert layer.table_variable.shape == (size,)
            assert layer.sparsity == 0.5


class TestBadArguments:
    @pytest.mark.parametrize(
        "kwargs, message",
        [
            ({"input_shape": (12, 12)}, "input_shape=(12, 12)"),
            ({"input_shape": (12, 0, 1)}, "input_shape=(12, 0, 1)"),
            ({"input_shape": "12x12"}, "input_shape='12x12'"),
            ({"input_shape": (2, 2, 1)}, "input_shape=(2, 2, 1)"),
            ({"filters": []}, "filters=[]"),
            ({"filters": 8}, "filters=8"),
            ({"filters": [4, -1]}, "filters=[4, -1]"),
            ({"num_classes": 0}, "num_classes=0"),
            ({"kernel_size": 0}, "kernel_size=0"),
            ({"kernel_size": (3, 3, 3)}, "kernel_size=(3, 3, 3)"),
            ({"kernel_size": True}, "kernel_size=True"),
            ({"pool_size": 0}, "pool_size=0"),
            ({"hidden_units": [0]}, "hidden_units=[0]"),
            ({"table_scope": "global"}, "table_scope='global'"),
            ({"sparsity": 1.0}, "sparsity=1.0"),
            ({"compression": 1.5}, "compression=1.5"),
            ({"table_size": 0}, "table_size=0"),
            ({"table_size": None}, "table_size=None"),
            ({"hash": "foo"}, "hash='foo'"),
            ({"seed": -1}, "seed=-1"),
            ({"numbering": "rows"}, "numbering='rows'"),
        ],
    )
    def test_invalid(self, kwargs, message):
        args = {"input_shape": SHAPE, "filters": FILTERS, "num_classes": 3}
        args["table_size"] = 50
        args.update(kwargs)
        with pytest.raises(ValueError, match="Received: " + re.escape(message)):
            hashed_cnn(
                args.pop("input_shape"),
                args.pop("filters"),
                args.pop("num_classes"),
                **args,
            )

    def test_pooling_names_its_arguments(self):
        with pytest.raises(ValueError, match="2 max poolings of `pool_size` 4"):
            hashed_cnn((8, 8, 1), [2, 2], 2, pool_size=4)
