"""Tests of the `KMeans` hash: 1-D k-means weight sharing."""

import json

import keras
import numpy as np
import pytest

from arbnet_keras import HashedConv2D
from arbnet_keras import HashedDense
from arbnet_keras import hashing
from arbnet_keras.hashing.kmeans import index_dtype
from arbnet_keras.hashing.kmeans import kmeans_1d


def _weights(shape=(64, 32), seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _brute_force_labels(values, centroids):
    return np.abs(values[..., None] - centroids).argmin(axis=-1)


class TestKMeans1D:
    def test_hand_computed_two_groups(self):
        values = np.array([0.0, 0.1, 0.2, 5.0, 5.2])
        centroids, labels = kmeans_1d(values, 2)
        np.testing.assert_allclose(centroids, [0.1, 5.1])
        np.testing.assert_array_equal(labels, [0, 0, 0, 1, 1])

    @pytest.mark.parametrize("init", ["linear", "quantile"])
    def test_fixed_point_of_lloyd(self, init):
        # At convergence each value is at its nearest centroid and each
        # non-empty centroid is its cluster's mean.
        values = _weights((50, 40))
        centroids, labels = kmeans_1d(values, 16, init)
        np.testing.assert_array_equal(
            labels, _brute_force_labels(values, centroids)
        )
        for k in np.unique(labels):
            np.testing.assert_allclose(
                centroids[k],
                values[labels == k].mean(dtype=np.float64),
                rtol=1e-9,
            )
        assert np.all(np.diff(centroids) > 0)

    def test_lower_error_than_the_initial_centroids(self):
        values = _weights((100, 30))
        start = np.linspace(values.min(), values.max(), 8)
        start_error = np.mean(
            (start[_brute_force_labels(values, start)] - values) ** 2
        )
        centroids, labels = kmeans_1d(values, 8)
        assert np.mean((centroids[labels] - values) ** 2) < start_error

    def test_quantile_init_fills_every_cluster(self):
        values = _weights((100, 30))
        _, labels = kmeans_1d(values, 32, "quantile")
        assert len(np.unique(labels)) == 32

    def test_deterministic(self):
        values = _weights()
        a = kmeans_1d(values, 16)
        b = kmeans_1d(values.copy(), 16)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


class TestKMeans:
    def test_fit_holds_at_most_num_clusters(self):
        hash = hashing.KMeans(16).fit(_weights())
        entries = hash.index(np.zeros((64, 32), "int64"), table_size=16)
        assert entries.shape == (64, 32)
        assert 0 <= entries.min() and entries.max() < 16
        assert hash.required_table_size((64, 32), 64 * 32) == 16

    def test_fit_with_fewer_weights_than_clusters(self):
        hash = hashing.KMeans(16).fit(np.array([[1.0, 2.0], [3.0, 4.0]]))
        assert hash.num_clusters == 4
        np.testing.assert_array_equal(
            np.sort(hash.index_array.ravel()), [0, 1, 2, 3]
        )

    @pytest.mark.parametrize(
        "num_clusters, dtype",
        [(16, "uint8"), (256, "uint8"), (257, "uint16"), (70000, "uint32")],
    )
    def test_index_in_narrowest_type(self, num_clusters, dtype):
        assert index_dtype(num_clusters) == np.dtype(dtype)
        index = np.zeros((3, 2), "int64")
        index[0, 0] = num_clusters - 1
        hash = hashing.KMeans(num_clusters, index=index)
        assert hash.index_array.dtype == np.dtype(dtype)

    def test_config_round_trip(self):
        hash = hashing.KMeans(16, init="quantile").fit(_weights((5, 4, 3)))
        config = hashing.serialize(hash)
        json.dumps(config)  # Plain JSON: saved in the model's config.
        restored = hashing.get(config)
        assert restored == hash
        np.testing.assert_array_equal(restored.index_array, hash.index_array)
        assert restored.init == "quantile"

    def test_alias_is_unfitted(self):
        hash = hashing.get("kmeans")
        assert isinstance(hash, hashing.KMeans)
        assert not hash.fitted
        assert hashing.get(hashing.serialize(hash)) == hash

    def test_fit_shared_clusters_all_weights_together(self):
        a, b = _weights((6, 5), 0), _weights((3, 3, 2), 1) + 10
        first, second = hashing.KMeans(2).fit_shared([a, b])
        assert first.index_array.shape == (6, 5)
        assert second.index_array.shape == (3, 3, 2)
        # The shifted weights form their own cluster.
        assert (first.index_array == 0).all()
        assert (second.index_array == 1).all()

    def test_hashed_layers_hold_the_centroids(self):
        weights = _weights((8, 6))
        centroids, labels = kmeans_1d(weights, 4)
        layer = HashedDense(6, hash=hashing.KMeans(4).fit(weights))
        layer.build((None, 8))
        layer.table_variable.assign(centroids.astype("float32"))
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(layer.kernel),
            centroids[labels],
            rtol=1e-6,
        )

    def test_conv_layer_save_and_load(self, tmp_path):
        weights = _weights((3, 3, 2, 4))
        model = keras.Sequential(
            [
                keras.Input((6, 6, 2)),
                HashedConv2D(4, 3, hash=hashing.KMeans(8).fit(weights)),
            ]
        )
        x = _weights((2, 6, 6, 2), 3)
        path = tmp_path / "kmeans.keras"
        model.save(path)
        loaded = keras.saving.load_model(path)
        np.testing.assert_array_equal(model.predict(x), loaded.predict(x))
        kernel = keras.ops.convert_to_numpy(loaded.layers[0].kernel)
        assert len(np.unique(kernel)) <= 8

    def test_unfitted_layer_is_an_error(self):
        layer = HashedDense(4, hash="kmeans")
        with pytest.raises(ValueError, match="not fitted"):
            layer.build((None, 8))

    def test_call_on_ids_is_an_error(self):
        with pytest.raises(ValueError, match="whole weights"):
            hashing.KMeans(4)(np.arange(3), table_size=4)

    def test_index_of_another_shape_is_an_error(self):
        hash = hashing.KMeans(4).fit(_weights((4, 3)))
        with pytest.raises(ValueError, match=r"`index` must give one entry"):
            hash.index(np.zeros((3, 4), "int64"), table_size=4)


class TestKMeansArguments:
    @pytest.mark.parametrize("value", [0, -2, 1.5, True, "16"])
    def test_num_clusters(self, value):
        with pytest.raises(
            ValueError,
            match=r"`num_clusters` must be a positive integer. "
            rf"Received: num_clusters={value!r}",
        ):
            hashing.KMeans(value)

    def test_init(self):
        with pytest.raises(
            ValueError,
            match=r"Invalid value for argument `init`. Expected one of "
            r"\('linear', 'quantile'\). Received: init='random'",
        ):
            hashing.KMeans(4, init="random")

    @pytest.mark.parametrize(
        "index",
        [
            [[0, 4]],
            [[-1, 0]],
            [[0.5, 1.0]],
            [[0, 1], [2]],
            {"shape": [2], "dtype": "uint8"},
            {"shape": [3], "dtype": "uint8", "data": "AAE="},
        ],
    )
    def test_index(self, index):
        with pytest.raises(ValueError, match=r"`index` must be an integer"):
            hashing.KMeans(4, index=index)

    @pytest.mark.parametrize(
        "weights", [np.zeros((0, 3)), np.array([1.0, np.nan])]
    )
    def test_fit_weights(self, weights):
        with pytest.raises(
            ValueError, match=r"`weights` must be a non-empty array"
        ):
            hashing.KMeans(4).fit(weights)

    def test_fit_shared_without_weights(self):
        with pytest.raises(
            ValueError, match=r"`weights` must be a non-empty array"
        ):
            hashing.KMeans(4).fit_shared([])
