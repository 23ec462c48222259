"""A `HashTable` shared by several `HashedDense` layers."""

import keras
import numpy as np
import pytest
from layer_harness import gradient

from arbnet_keras import HashedDense
from arbnet_keras import HashTable
from arbnet_keras import hashing
from arbnet_keras.hashing.kernel_index import kernel_ids


def _np(x):
    if isinstance(x, keras.Variable):
        return x.numpy()
    return keras.ops.convert_to_numpy(x)


def _sequential(table, units=(5, 4), input_dim=6, **kwargs):
    layers = [
        HashedDense(n, table=table, name=f"layer_{i}", **kwargs)
        for i, n in enumerate(units)
    ]
    model = keras.Sequential([keras.Input((input_dim,)), *layers])
    return model, layers


def _parallel(table, units=(5, 4), input_dim=6):
    """Two layers that read the same input, so gradients stay apart."""
    inputs = keras.Input((input_dim,))
    first = HashedDense(units[0], table=table, name="first")
    second = HashedDense(units[1], table=table, name="second")
    model = keras.Model(inputs, [first(inputs), second(inputs)])
    return model, first, second


class TestSharing:
    def test_one_table_variable(self):
        table = HashTable(20, seed=0)
        model, layers = _sequential(table)
        # One table and two biases.
        assert len(model.trainable_weights) == 3
        tables = [w for w in model.trainable_weights if w.shape == (20,)]
        assert len(tables) == 1
        assert tables[0] is table.variable
        for layer in layers:
            assert layer.table_variable is table.variable
            assert len(layer.trainable_weights) == 2

    def test_layers_take_the_table_conventions(self):
        table = HashTable(
            20,
            hash=hashing.Neighborhood(2),
            seed=9,
            numbering="in_out",
            number_zeros=False,
        )
        _, layers = _sequential(table)
        for layer in layers:
            assert layer.hash == hashing.Neighborhood(2)
            assert layer.seed == 9
            assert layer.numbering == "in_out"
            assert layer.number_zeros is False

    def test_layer_may_override_hash_and_numbering(self):
        table = HashTable(20, hash="uniform", seed=9)
        layer = HashedDense(3, table=table, hash="modulus", numbering="in_out")
        layer.build((None, 4))
        np.testing.assert_array_equal(
            layer.kernel_index().entries, np.arange(12).reshape(4, 3) % 20
        )

    def test_identifiers_continue_across_layers(self):
        table = HashTable(20, hash="uniform", seed=4)
        _, (first, second) = _sequential(table)
        assert first.id_offset == 0
        assert second.id_offset == 6 * 5
        assert second.position_offset == 30
        assert table.num_ids == 30 + 5 * 4
        assert table.num_positions == 50
        ids, _ = kernel_ids((5, 4), 4, id_offset=30)
        np.testing.assert_array_equal(ids.min(), 30)
        np.testing.assert_array_equal(
            second.kernel_index().entries,
            hashing.Uniform().index(ids, 20, 4),
        )

    def test_modulus_table_continues_where_first_layer_ends(self):
        # An RNN-like sharing: the second layer starts at entry 30 % 20.
        table = HashTable(20, hash="modulus", seed=0, numbering="in_out")
        _, (first, second) = _sequential(table)
        np.testing.assert_array_equal(
            first.kernel_index().entries, np.arange(30).reshape(6, 5) % 20
        )
        np.testing.assert_array_equal(
            second.kernel_index().entries,
            (30 + np.arange(20).reshape(5, 4)) % 20,
        )

    def test_unnumbered_zeros_offset(self):
        table = HashTable(10, seed=2, number_zeros=False)
        _, (first, second) = _sequential(table, sparsity=0.5)
        num_live = int(np.sum(first.kernel_index().entries >= 0))
        assert first.kernel_index().num_ids == num_live < 30
        assert second.id_offset == num_live
        # Positions (which decide the zeros) still count every weight.
        assert second.position_offset == 30

    def test_gradients_of_both_layers_reach_the_table(self):
        keras.utils.set_random_seed(0)  # The table's initializer.
        table = HashTable(50, hash="modulus", seed=0, numbering="in_out")
        model, first, second = _parallel(table)
        x = np.random.default_rng(0).normal(size=(3, 6)).astype("float32")

        def grad(which):
            def loss():
                y1, y2 = model(x)
                return sum(keras.ops.sum(y**2) for y in which(y1, y2))

            return gradient(loss, table.variable)

        only_first = grad(lambda y1, y2: [y1])
        only_second = grad(lambda y1, y2: [y2])
        both = grad(lambda y1, y2: [y1, y2])
        # The first layer's ids are 0..29, the second's 30..49 then 0..3.
        first_entries = set(range(30))
        second_entries = set(range(30, 50)) | set(range(4))
        assert set(np.flatnonzero(only_first)) == first_entries
        assert set(np.flatnonzero(only_second)) == second_entries
        # Summed in another order than the backend's: float32 rounding of
        # O(1) gradients, far below a missing layer's share.
        np.testing.assert_allclose(
            both,
            only_first + only_second,
            rtol=1e-5,
            atol=1e-5 * np.abs(both).max(),
        )

    def test_gradient_matches_entries_of_each_layer(self):
        table = HashTable(40, hash="uniform", seed=1)
        model, first, second = _parallel(table)
        x = np.random.default_rng(1).normal(size=(3, 6)).astype("float32")
        grad = gradient(lambda: keras.ops.sum(model(x)[1]), table.variable)
        used = set(np.unique(second.kernel_index().entries))
        assert set(np.flatnonzero(grad)) == used
        assert used != set(np.unique(first.kernel_index().entries))

    def test_fit_trains_the_shared_table(self):
        table = HashTable(12, seed=3)
        model, _ = _sequential(table)
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        before = _np(table.variable).copy()
        rng = np.random.default_rng(0)
        model.fit(rng.normal(size=(8, 6)), rng.normal(size=(8, 4)), verbose=0)
        assert np.any(_np(table.variable) != before)

    def test_dirichlet_layers_share_p(self):
        table = HashTable(100, hash=hashing.Dirichlet(0.05), seed=6)
        _, (first, second) = _sequential(table, units=(50, 40), input_dim=40)
        p = hashing.Dirichlet(0.05).probabilities(100, seed=6)
        # The two heaviest entries (p = 0.26, 0.17; the third is 0.12)
        # lead in both layers: gaps of over 5 standard deviations of a
        # frequency over 1,600 draws (0.008), whatever the draw.
        top = set(np.argsort(p)[-2:])
        for layer in (first, second):
            counts = np.bincount(
                layer.kernel_index().entries.ravel(), minlength=100
            )
            assert set(np.argsort(counts)[-2:]) == top
            freq = counts / counts.sum()
            assert np.abs(freq - p).max() < 0.03

    def test_table_initializer_scaled_to_first_layer(self):
        table = HashTable(1000, seed=0)
        _sequential(table, units=(100, 10), input_dim=400)
        limit = np.sqrt(6 / (400 + 100))
        values = _np(table.variable)
        assert np.abs(values).max() <= limit
        assert np.abs(values).max() > 0.9 * limit


class TestSerialization:
    def test_config(self):
        table = HashTable(
            30,
            hash=hashing.Dirichlet(0.2),
            seed=5,
            numbering="in_out",
            number_zeros=False,
            name="tab",
        )
        config = table.get_config()
        assert config["size"] == 30
        assert hashing.deserialize(config["hash"]) == hashing.Dirichlet(0.2)
        assert config["seed"] == 5
        assert config["numbering"] == "in_out"
        assert config["number_zeros"] is False
        clone = HashTable.from_config(config)
        assert clone.get_config() == config

    def test_drawn_seed_is_recorded(self):
        table = HashTable(30)
        assert isinstance(table.get_config()["seed"], int)
        assert HashTable.from_config(table.get_config()).seed == table.seed

    def test_layer_config_refers_to_the_table(self):
        table = HashTable(20, seed=0)
        _, (first, second) = _sequential(table)
        config = second.get_config()
        assert config["table"] is table
        assert config["seed"] is None
        assert config["id_offset"] == 30
        clone = HashedDense.from_config(config)
        # A layer rebuilt from a config gets a new table like the original,
        # never the original's variable (`clone_model` goes this way).
        assert clone.table is not table
        assert clone.table.get_config() == table.get_config()

    def test_save_and_load_keeps_sharing(self, tmp_path):
        table = HashTable(25, hash="dirichlet", seed=2, name="shared")
        model, _ = _sequential(table, units=(5, 4, 3), activation="tanh")
        x = np.random.default_rng(0).normal(size=(4, 6)).astype("float32")
        expected = _np(model(x))
        path = tmp_path / "shared.keras"
        model.save(path)
        loaded = keras.saving.load_model(path)
        layers = [
            layer for layer in loaded.layers if isinstance(layer, HashedDense)
        ]
        assert len(layers) == 3
        assert layers[0].table is not table
        assert all(layer.table is layers[0].table for layer in layers)
        variables = {id(layer.table_variable) for layer in layers}
        assert len(variables) == 1
        # One table and three biases.
        assert len(loaded.trainable_weights) == 4
        assert [layer.id_offset for layer in layers] == [0, 30, 50]
        np.testing.assert_allclose(_np(loaded(x)), expected, atol=1e-6)
        for old, new in zip(model.layers, layers):
            np.testing.assert_array_equal(
                old.kernel_index().entries, new.kernel_index().entries
            )


class TestErrors:
    @pytest.mark.parametrize(
        "kwargs, match",
        [
            (
                dict(size=0),
                r"`size` must be a positive integer\. Received: size=0",
            ),
            (dict(size=-5), r"Received: size=-5"),
            (dict(size=2.0), r"Received: size=2\.0"),
            (
                dict(size=5, hash="bogus"),
                r"Invalid value for argument `hash`.*Received: hash='bogus'",
            ),
            (
                dict(size=5, seed=-1),
                r"`seed` must be a non-negative integer or None\. "
                r"Received: seed=-1",
            ),
            (
                dict(size=5, numbering="cols"),
                r"Invalid value for argument `numbering`.*"
                r"Received: numbering='cols'",
            ),
        ],
    )
    def test_invalid_arguments(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            HashTable(**kwargs)

    @pytest.mark.parametrize(
        "name, value", [("table_size", 10), ("compression", 0.5), ("seed", 3)]
    )
    def test_layer_argument_set_by_table(self, name, value):
        with pytest.raises(
            ValueError,
            match=rf"`{name}` cannot be set on a layer that uses a shared "
            rf"`table`: the table sets it\. Received: {name}={value}",
        ):
            HashedDense(3, table=HashTable(10, seed=0), **{name: value})

    def test_layers_of_different_dtypes(self):
        table = HashTable(10, seed=0)
        first = HashedDense(3, table=table)
        first.build((None, 4))
        second = HashedDense(3, table=table, dtype="float64", name="f64")
        with pytest.raises(
            ValueError,
            match=r"A `HashTable` can only be shared by layers of its "
            r"dtype\. Received: layer 'f64' with dtype float64",
        ):
            second.build((None, 4))

    def test_table_dtype_follows_its_own_policy(self):
        table = HashTable(10, seed=0, dtype="float64")
        layer = HashedDense(3, table=table, dtype="float64")
        layer.build((None, 4))
        assert table.variable.dtype == "float64"
        with pytest.raises(ValueError, match=r"only be shared by layers"):
            HashedDense(3, table=table).build((None, 4))
