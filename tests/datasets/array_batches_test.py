"""Tests of `ArrayBatches`, the pipelines of the backends without tf.data."""

import keras
import numpy as np
import pytest

from arbnet_keras import datasets
from arbnet_keras.datasets import array_batches
from arbnet_keras.datasets import loaders
from arbnet_keras.datasets import pipeline


def _epoch(ds):
    """One pass over a pipeline: concatenated x, y and the batch sizes."""
    xs, ys = zip(*((np.asarray(x), np.asarray(y)) for x, y in ds))
    return np.concatenate(xs), np.concatenate(ys), [len(y) for y in ys]


def _sorted_rows(x, y):
    """Rows of `[x, y]` in a canonical order, to compare epochs as sets."""
    rows = np.concatenate([x, y[:, None].astype(x.dtype)], axis=1)
    return rows[np.lexsort(rows.T[::-1])]


@pytest.fixture
def numpy_pipelines(monkeypatch):
    """Makes `load` build `ArrayBatches`, as on JAX and PyTorch."""
    monkeypatch.setattr(loaders, "_uses_tf_data", lambda: False)


def _small(size=10, batch_size=4, **kwargs):
    x = np.arange(size * 6, dtype=np.uint8).reshape(size, 2, 3, 1)
    y = np.arange(size, dtype=np.int32) % 3
    normalize = pipeline.make_array_normalizer(6, 255)
    return (
        x,
        y,
        array_batches.ArrayBatches(
            x, y, normalize, batch_size=batch_size, **kwargs
        ),
    )


class TestArrayBatches:
    def test_hand_computed_batches(self):
        x = np.array([[0, 2], [4, 8], [1, 3]], np.uint8)
        y = np.array([2, 0, 1], np.int64)
        normalize = pipeline.make_array_normalizer(
            2, 4, np.array([0.5, 1.0]), np.array([0.5, 2.0], np.float32)
        )
        batches = array_batches.ArrayBatches(x, y, normalize, batch_size=2)
        assert len(batches) == 2
        (x0, y0), (x1, y1) = batches[0], batches[1]
        # (x / 4 - mean) / std.
        np.testing.assert_allclose(x0, [[-1.0, -0.25], [1.0, 0.5]])
        np.testing.assert_allclose(x1, [[-0.5, -0.125]])
        assert x0.dtype == np.float32 and y0.dtype == np.int32
        np.testing.assert_array_equal(np.concatenate([y0, y1]), [2, 0, 1])
        with pytest.raises(IndexError, match="Batch index 2 is out of range"):
            batches[2]

    def test_unshuffled_is_in_order(self):
        x, y, batches = _small()
        got_x, got_y, sizes = _epoch(batches)
        assert sizes == [4, 4, 2]
        np.testing.assert_array_equal(got_y, y)
        np.testing.assert_allclose(got_x, x.reshape(10, 6) / 255.0)
        np.testing.assert_array_equal(_epoch(batches)[1], y)

    def test_shuffle_is_seeded_and_reshuffles(self):
        def orders(seed):
            _, _, batches = _small(size=50, shuffle=True, shuffle_seed=seed)
            return [_epoch(batches)[0][:, 0] for _ in range(3)]

        first, again, other = orders(3), orders(3), orders(4)
        np.testing.assert_array_equal(first, again)
        assert not np.array_equal(first[0], other[0])
        assert not np.array_equal(first[0], first[1])
        for epoch in first + other:
            np.testing.assert_array_equal(np.sort(epoch), np.sort(first[0]))

    def test_fit_epochs_reshuffle(self):
        x, y, batches = _small(size=50, shuffle=True, shuffle_seed=0)
        seen = []

        class Record(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                if batch == 0:
                    seen.append(batches[0][1].copy())

        model = keras.Sequential(
            [keras.Input((6,)), keras.layers.Dense(3, activation="softmax")]
        )
        model.compile("sgd", "sparse_categorical_crossentropy")
        model.fit(batches, epochs=3, verbose=0, callbacks=[Record()])
        assert len(seen) == 3
        assert not np.array_equal(seen[0], seen[1])
        assert not np.array_equal(seen[1], seen[2])

    @pytest.mark.parametrize("buffer", [1, 3, 7, 10, 64])
    def test_buffered_permutation(self, buffer):
        size = 10
        rng = np.random.default_rng(0)
        orders = [
            array_batches.buffered_permutation(rng, size, buffer)
            for _ in range(20)
        ]
        for order in orders:
            np.testing.assert_array_equal(np.sort(order), np.arange(size))
            # An example can leave the buffer only after it has entered.
            assert (order <= np.arange(size) + buffer - 1).all()
        if buffer == 1:
            np.testing.assert_array_equal(orders[0], np.arange(size))
        else:
            assert len({tuple(order) for order in orders}) > 1

    def test_mismatched_lengths(self):
        with pytest.raises(
            ValueError,
            match=r"`x` and `y` must have the same length\. "
            r"Received: len\(x\)=3, len\(y\)=2$",
        ):
            array_batches.ArrayBatches(
                np.zeros((3, 2)), np.zeros(2), None, batch_size=2
            )


class TestLoadWithoutTfData:
    def test_load_gives_array_batches(self, numpy_pipelines):
        data = datasets.load("mnist_5k", batch_size=512)
        assert isinstance(data.train, datasets.ArrayBatches)
        assert isinstance(data.test, keras.utils.PyDataset)
        x, y, sizes = _epoch(data.train)
        assert x.shape == (4000, 784) and x.dtype == np.float32
        assert y.dtype == np.int32
        assert sizes == [512] * 7 + [4000 - 7 * 512]
        np.testing.assert_array_equal(np.bincount(y), [400] * 10)

    def test_evaluate_matches_predictions(self, numpy_pipelines):
        data = datasets.load("mnist_5k", batch_size=300)
        (_, _), (x_test, y_test) = datasets.load_arrays("mnist_5k")
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((784,)),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )
        model.compile(
            keras.optimizers.SGD(0.5),
            "sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        model.fit(data.train, epochs=2, verbose=0, shuffle=False)
        _, accuracy = model.evaluate(data.test, verbose=0)
        # The batches of `data.test`, so that both sides compute the same
        # products: another batching may round differently and flip the
        # argmax of a near tie.
        probs = model.predict(
            x_test.reshape(1000, -1) / 255.0, batch_size=300, verbose=0
        )
        expected = np.mean(np.argmax(probs, axis=1) == y_test)
        # Softmax regression is convex: rounding cannot send these steps
        # elsewhere, and they reach about 0.85, far above chance (0.1).
        assert 0.5 < expected
        np.testing.assert_allclose(accuracy, expected, atol=1e-6)

    @pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar10"])
    def test_tfds_names_need_tensorflow(self, monkeypatch, name):
        monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
        match = (
            rf"The data set '{name}' is read through tensorflow-datasets, "
            r"which needs the TensorFlow backend, but the Keras backend is "
            r"'jax'\. Use an offline data set \(mnist_5k, .*idx:<directory>\)"
            rf" or run with KERAS_BACKEND=tensorflow\. Received: "
            rf"name='{name}'$"
        )
        with pytest.raises(ValueError, match=match):
            datasets.load(name)
        with pytest.raises(ValueError, match=match):
            datasets.load_arrays(name)


@pytest.mark.tensorflow_only
class TestSameBatchesAsTfData:
    """The NumPy pipeline against the `tf.data` one, on TensorFlow."""

    @pytest.fixture(params=["unit", "standardize"])
    def both(self, request, monkeypatch):
        kwargs = {
            "batch_size": 384,
            "normalization": request.param,
            "shuffle_seed": 5,
        }
        tf_data = datasets.load("mnist_5k", **kwargs)
        monkeypatch.setattr(loaders, "_uses_tf_data", lambda: False)
        return tf_data, datasets.load("mnist_5k", **kwargs)

    def test_test_batches_are_identical(self, both):
        tf_data, np_data = both
        assert not isinstance(tf_data.test, keras.utils.PyDataset)
        tf_batches, np_batches = list(tf_data.test), list(np_data.test)
        assert len(tf_batches) == len(np_batches) == len(np_data.test) == 3
        for (tf_x, tf_y), (np_x, np_y) in zip(tf_batches, np_batches):
            assert np_x.dtype == tf_x.dtype.as_numpy_dtype
            assert np_y.dtype == tf_y.dtype.as_numpy_dtype
            np.testing.assert_array_equal(np_y, tf_y.numpy())
            np.testing.assert_array_equal(np_x, tf_x.numpy())

    def test_train_epochs_hold_the_same_examples(self, both):
        tf_data, np_data = both
        for _ in range(2):
            tf_x, tf_y, tf_sizes = _epoch(tf_data.train)
            np_x, np_y, np_sizes = _epoch(np_data.train)
            assert np_sizes == tf_sizes == [384] * 10 + [160]
            np.testing.assert_array_equal(
                _sorted_rows(np_x, np_y), _sorted_rows(tf_x, tf_y)
            )
            # The shuffle is uniform (buffer >= 4,000), in another order.
            assert not np.array_equal(np_y, tf_y)

    def test_metadata_is_the_same(self, both):
        tf_data, np_data = both
        for field in (
            "input_dim",
            "input_shape",
            "num_classes",
            "num_train",
            "num_test",
            "name",
        ):
            assert getattr(np_data, field) == getattr(tf_data, field)
