import math
import time

import keras
import numpy as np
import pytest

from arbnet_keras import hashing
from arbnet_keras import metrics
from arbnet_keras.layers import HashedDense
from arbnet_keras.layers import HashTable
from arbnet_keras.models import BN_EPSILON
from arbnet_keras.models import BN_MOMENTUM
from arbnet_keras.models import cifar10_mlp
from arbnet_keras.models import hashed_mlp
from arbnet_keras.models import mnist_mlp
from arbnet_keras.models import table_entropy

MNIST_KERNELS = 784 * 200 + 200 * 200 + 200 * 10
MNIST_UNITS = 200 + 200 + 10


def _kernels(model):
    return [
        layer
        for layer in model.layers
        if isinstance(layer, (HashedDense, keras.layers.Dense))
    ]


def _tables(model):
    return [w for w in model.trainable_weights if w.name == "table"]


def _count(weights):
    return sum(int(np.prod(w.shape)) for w in weights)


class TestPaperModels:
    def test_mnist_mlp_layout(self):
        model = mnist_mlp()
        assert model.name == "mnist_mlp"
        assert [layer.name for layer in model.layers] == [
            f"{kind}_{i}" for i in (1, 2, 3) for kind in ("hashed", "act", "bn")
        ]
        assert [layer.units for layer in _kernels(model)] == [200, 200, 10]
        assert model.input_shape == (None, 784)
        assert model.output_shape == (None, 10)
        for i in (1, 2, 3):
            act = model.get_layer(f"act_{i}")
            assert act.activation is keras.activations.elu
            bn = model.get_layer(f"bn_{i}")
            assert bn.momentum == BN_MOMENTUM
            assert bn.epsilon == BN_EPSILON

    def test_mnist_mlp_parameter_counts(self):
        hashed = mnist_mlp()
        dense = mnist_mlp(hash=None)
        bn_trainable = bn_moving = 2 * MNIST_UNITS
        # One 1000-entry table, the (unshared) biases and BN's gamma, beta.
        assert _count(hashed.trainable_weights) == (
            1000 + MNIST_UNITS + bn_trainable
        )
        assert _count(hashed.non_trainable_weights) == bn_moving
        assert hashed.count_params() == 1000 + MNIST_UNITS + 4 * MNIST_UNITS
        assert _count(dense.trainable_weights) == (
            MNIST_KERNELS + MNIST_UNITS + bn_trainable
        )
        assert dense.count_params() == 200850

    def test_mnist_mlp_forwards_kwargs(self):
        model = mnist_mlp(hash="dirichlet", sparsity=0.5, name="m")
        assert model.name == "m"
        for layer in _kernels(model):
            assert layer.sparsity == 0.5
            assert layer.hash == hashing.Dirichlet()

    def test_cifar10_mlp(self):
        # Built once here: 22.1 million virtual weights.
        start = time.perf_counter()
        model = cifar10_mlp()
        print(f"cifar10_mlp built in {time.perf_counter() - start:.2f} s")
        units = [2000] * 5 + [10]
        assert model.name == "cifar10_mlp"
        assert [layer.units for layer in _kernels(model)] == units
        assert model.input_shape == (None, 3072)
        assert model.output_shape == (None, 10)
        assert len(model.layers) == 18
        assert len(_tables(model)) == 1
        assert model.count_params() == 1000 + 5 * sum(units)
        kernels = _kernels(model)
        assert kernels[1].id_offset == 3072 * 2000
        assert kernels[-1].kernel.shape == (2000, 10)
        out = model(np.ones((2, 3072), "float32"), training=False)
        assert out.shape == (2, 10)
        # 22.1M weights spread uniformly over 1000 entries.
        assert table_entropy(model) == pytest.approx(math.log(1000), abs=1e-3)


class TestTableScope:
    def test_network_scope_shares_one_table(self):
        model = mnist_mlp()
        kernels = _kernels(model)
        tables = _tables(model)
        assert len(tables) == 1
        assert tables[0].shape == (1000,)
        for layer in kernels:
            assert isinstance(layer.table, HashTable)
            assert layer.table_variable is tables[0]
            assert layer.table.seed == 0
        # Identifiers run on from one layer to the next.
        assert [layer.id_offset for layer in kernels] == [
            0,
            784 * 200,
            784 * 200 + 200 * 200,
        ]
        assert kernels[0].table.num_ids == MNIST_KERNELS

    def test_network_scope_hand_computed(self):
        # 3 -> 2 -> 2 with a modulus table of 4 entries, no activation or
        # BN. With "out_in" numbering the weight (i, u) of a layer whose
        # identifiers start at `offset` is `offset + u * input_dim + i`.
        model = hashed_mlp(
            3,
            [2],
            2,
            hash="modulus",
            table_size=4,
            activation=None,
            output_activation=None,
            batch_norm=False,
        )
        table = np.array([1.0, -2.0, 3.0, 0.5], "float32")
        _tables(model)[0].assign(table)
        bias1, bias2 = np.array([0.1, -0.1]), np.array([0.2, 0.3])
        model.get_layer("hashed_1").bias.assign(bias1)
        model.get_layer("hashed_2").bias.assign(bias2)
        k1 = np.array(
            [[table[(u * 3 + i) % 4] for u in range(2)] for i in range(3)]
        )
        k2 = np.array(
            [[table[(6 + u * 2 + i) % 4] for u in range(2)] for i in range(2)]
        )
        x = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]], "float32")
        expected = (x @ k1 + bias1) @ k2 + bias2
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(model(x)), expected, rtol=1e-5
        )

    def test_layer_scope_has_one_table_per_layer(self):
        model = mnist_mlp(table_scope="layer", table_size=500)
        kernels = _kernels(model)
        tables = _tables(model)
        assert len(tables) == 3
        assert [tuple(t.shape) for t in tables] == [(500,)] * 3
        assert len({id(layer.table_variable) for layer in kernels}) == 3
        for i, layer in enumerate(kernels):
            assert layer.table is None
            assert layer.seed == i
        assert model.count_params() == 1500 + 5 * MNIST_UNITS

    def test_layer_scope_layers_hash_differently(self):
        model = hashed_mlp(16, [16], 16, table_scope="layer", table_size=50)
        first, second = _kernels(model)
        assert first.kernel_index().entries.shape == (16, 16)
        assert not np.array_equal(
            first.kernel_index().entries, second.kernel_index().entries
        )

    def test_compression_network_scope(self):
        model = mnist_mlp(compression=0.01)
        assert _tables(model)[0].shape == (round(0.01 * MNIST_KERNELS),)

    def test_compression_layer_scope(self):
        model = mnist_mlp(table_scope="layer", compression=0.1)
        sizes = [int(t.shape[0]) for t in _tables(model)]
        assert sizes == [15680, 4000, 200]

    @pytest.mark.parametrize("table_scope", ["network", "layer"])
    @pytest.mark.parametrize(
        "hash",
        [
            "uniform",
            "modulus",
            hashing.Dirichlet(alpha=0.5),
            {"class_name": "Neighborhood", "config": {"radius": 3}},
            "hashed_nets",
        ],
    )
    def test_hash_argument(self, hash, table_scope):
        model = hashed_mlp(
            20, [10], 5, hash=hash, table_size=40, table_scope=table_scope
        )
        for layer in _kernels(model):
            assert layer.hash == hashing.get(hash)
        assert model(np.ones((3, 20), "float32")).shape == (3, 5)

    def test_seed_makes_the_index_deterministic(self):
        def entries(seed):
            model = hashed_mlp(30, [20], 5, table_size=50, seed=seed)
            return [layer.kernel_index().entries for layer in _kernels(model)]

        same, other = entries(3), entries(4)
        for a, b in zip(entries(3), same):
            np.testing.assert_array_equal(a, b)
        assert not np.array_equal(same[0], other[0])

    def test_numbering_zeros_and_sign_reach_the_layers(self):
        model = hashed_mlp(
            30,
            [20],
            5,
            table_size=50,
            numbering="in_out",
            number_zeros=False,
            sign=True,
            sparsity=0.25,
        )
        for layer in _kernels(model):
            assert layer.numbering == "in_out"
            assert layer.number_zeros is False
            assert layer.sign is True
            assert layer.kernel_index().signs is not None

    @pytest.mark.parametrize("table_scope", ["network", "layer"])
    def test_sparsity_applies_to_every_layer(self, table_scope):
        model = mnist_mlp(sparsity=0.5, table_scope=table_scope)
        for layer in _kernels(model):
            assert layer.sparsity == 0.5
            zeros = (layer.kernel_index().entries < 0).mean()
            assert zeros == pytest.approx(0.5, abs=0.05)
            kernel = keras.ops.convert_to_numpy(layer.kernel)
            assert (kernel == 0).mean() >= zeros


class TestBaseline:
    @pytest.mark.parametrize(
        "hash",
        [
            None,
            "identity",
            hashing.Identity(),
            {"class_name": "Identity", "config": {}},
        ],
    )
    def test_identity_is_plain_dense(self, hash):
        model = mnist_mlp(hash=hash, table_size=7, table_scope="layer")
        kernels = _kernels(model)
        assert model.name == "mnist_mlp"
        assert all(type(layer) is keras.layers.Dense for layer in kernels)
        assert [layer.name for layer in kernels] == [
            "dense_1",
            "dense_2",
            "dense_3",
        ]
        assert [layer.units for layer in kernels] == [200, 200, 10]
        assert metrics.hashed_layers(model) == []
        assert model.get_layer("act_3").activation is keras.activations.elu
        assert isinstance(
            model.get_layer("bn_3"), keras.layers.BatchNormalization
        )
        assert math.isnan(table_entropy(model))

    def test_default_name(self):
        assert hashed_mlp(4, [3], 2, hash=None).name == "dense_mlp"
        assert hashed_mlp(4, [3], 2, table_size=5).name == "hashed_mlp"

    def test_sparse_baseline_is_unshared(self):
        model = hashed_mlp(50, [40], 10, hash=None, sparsity=0.3)
        for layer in _kernels(model):
            assert isinstance(layer.hash, hashing.Identity)
            entries = layer.kernel_index().entries
            live = entries[entries >= 0]
            assert len(np.unique(live)) == live.size
            assert (entries < 0).mean() == pytest.approx(0.3, abs=0.06)


class TestLayout:
    def test_no_batch_norm_no_activations(self):
        model = hashed_mlp(
            8,
            [6, 4],
            3,
            table_size=10,
            activation=None,
            output_activation=None,
            batch_norm=False,
        )
        assert [layer.name for layer in model.layers] == [
            "hashed_1",
            "hashed_2",
            "hashed_3",
        ]

    def test_relu_hidden_linear_output(self):
        model = hashed_mlp(
            8, [6], 3, table_size=10, activation="relu", output_activation=None
        )
        assert [layer.name for layer in model.layers] == [
            "hashed_1",
            "act_1",
            "bn_1",
            "hashed_2",
            "bn_2",
        ]
        assert model.get_layer("act_1").activation is keras.activations.relu

    def test_no_hidden_layer(self):
        model = hashed_mlp(8, [], 3, table_size=10)
        assert [layer.units for layer in _kernels(model)] == [3]

    def test_save_and_load(self, tmp_path):
        model = hashed_mlp(20, [16, 16], 4, hash="dirichlet", table_size=60)
        x = np.random.default_rng(0).normal(size=(5, 20)).astype("float32")
        path = str(tmp_path / "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
        np.testing.assert_allclose(
            loaded.predict(x, verbose=0), model.predict(x, verbose=0)
        )
        assert len(_tables(loaded)) == 1


class TestTableEntropy:
    def test_hand_computed(self):
        # 3 -> 2 -> 2: 10 weights on 4 modulus entries: loads 3, 3, 2, 2.
        model = hashed_mlp(3, [2], 2, hash="modulus", table_size=4)
        p = np.array([3, 3, 2, 2]) / 10
        assert table_entropy(model) == pytest.approx(-(p * np.log(p)).sum())

    def test_layer_scope_takes_tables_together(self):
        model = hashed_mlp(
            3, [2], 2, hash="modulus", table_size=2, table_scope="layer"
        )
        # Layer 1: 6 weights on 2 entries; layer 2: 4 on 2 others.
        p = np.array([3, 3, 2, 2]) / 10
        assert table_entropy(model) == pytest.approx(-(p * np.log(p)).sum())

    def test_balance_orders_hashes(self):
        def entropy(hash):
            return table_entropy(mnist_mlp(hash=hash))

        low = entropy(hashing.Dirichlet(alpha=0.01))
        high = entropy(hashing.Dirichlet(alpha=100.0))
        assert low < high < math.log(1000)
        assert entropy("modulus") == pytest.approx(math.log(1000), abs=1e-4)

    def test_matches_model_stats(self):
        model = mnist_mlp(hash="dirichlet", sparsity=0.3)
        assert table_entropy(model) == metrics.model_stats(model)["entropy"]


class TestBadArguments:
    @pytest.mark.parametrize(
        "kwargs, message",
        [
            ({"table_scope": "global"}, "table_scope='global'"),
            ({"hidden_units": "200"}, "hidden_units='200'"),
            ({"hidden_units": 200}, "hidden_units=200"),
            ({"hidden_units": [200, 0]}, "hidden_units=[200, 0]"),
            ({"hidden_units": [2.5]}, "hidden_units=[2.5]"),
            ({"input_dim": 0}, "input_dim=0"),
            ({"num_classes": -1}, "num_classes=-1"),
            ({"sparsity": 1.0}, "sparsity=1.0"),
            ({"sparsity": True}, "sparsity=True"),
            ({"compression": 0}, "compression=0"),
            ({"compression": 1.5}, "compression=1.5"),
            ({"table_size": 0}, "table_size=0"),
            ({"table_size": None}, "table_size=None"),
            ({"hash": "foo"}, "hash='foo'"),
            ({"seed": -1}, "seed=-1"),
            ({"numbering": "rows"}, "numbering='rows'"),
        ],
    )
    def test_invalid(self, kwargs, message):
        args = {"input_dim": 8, "hidden_units": [4], "num_classes": 2}
        args["table_size"] = 10
        args.update(kwargs)
        with pytest.raises(ValueError, match="Received: " + _escape(message)):
            hashed_mlp(
                args.pop("input_dim"),
                args.pop("hidden_units"),
                args.pop("num_classes"),
                **args,
            )

    def test_layer_table_larger_than_layer(self):
        with pytest.raises(ValueError, match="table_size=1000"):
            hashed_mlp(8, [4], 2, table_scope="layer")


def _escape(text):
    import re

    return re.escape(text)
