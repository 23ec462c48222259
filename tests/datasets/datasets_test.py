"""Tests of `arbnet_keras.datasets`."""

import gzip
import os

import numpy as np
import pytest

from arbnet_keras import datasets
from arbnet_keras.datasets import in_memory
from arbnet_keras.datasets import tfds_source


def _collect(ds):
    """All `(x, y)` batches of a dataset, concatenated, and batch sizes.

    Works on `tf.data` pipelines and on the `ArrayBatches` of the other
    backends.
    """
    xs, ys, sizes = [], [], []
    for x, y in ds:
        xs.append(np.asarray(x))
        ys.append(np.asarray(y))
        sizes.append(len(y))
    return np.concatenate(xs), np.concatenate(ys), sizes


def _labels(ds):
    return np.concatenate([np.asarray(y) for _, y in ds])


@pytest.fixture(scope="module")
def mnist_5k():
    return datasets.load("mnist_5k", batch_size=512)


@pytest.fixture(scope="module")
def mnist_5k_arrays():
    return datasets.load_arrays("mnist_5k")


class TestMnist5k:
    def test_metadata(self, mnist_5k):
        assert mnist_5k.name == "mnist_5k"
        assert (mnist_5k.num_train, mnist_5k.num_test) == (4000, 1000)
        assert mnist_5k.input_dim == 784
        assert mnist_5k.input_shape == (28, 28, 1)
        assert mnist_5k.num_classes == 10

    def test_batches(self, mnist_5k):
        x, y, sizes = _collect(mnist_5k.train)
        assert x.shape == (4000, 784) and x.dtype == np.float32
        assert y.shape == (4000,) and y.dtype == np.int32
        assert sizes == [512] * 7 + [4000 - 7 * 512]
        assert x.min() == 0.0 and x.max() == 1.0
        # Stratified split: 400 of each digit train, 100 test.
        np.testing.assert_array_equal(np.bincount(y), [400] * 10)
        _, y_test, test_sizes = _collect(mnist_5k.test)
        np.testing.assert_array_equal(np.bincount(y_test), [100] * 10)
        assert test_sizes == [512, 488]

    def test_arrays(self, mnist_5k, mnist_5k_arrays):
        (x_train, y_train), (x_test, y_test) = mnist_5k_arrays
        assert x_train.shape == (4000, 28, 28, 1) and x_train.dtype == np.uint8
        assert x_test.shape == (1000, 28, 28, 1) and y_test.dtype == np.int32
        np.testing.assert_array_equal(np.bincount(y_train), [400] * 10)
        # The 5,000 images are distinct, so no image is in both splits.
        images = np.concatenate([x_train, x_test]).reshape(5000, -1)
        assert len(np.unique(images, axis=0)) == 5000
        # The test split is not shuffled: it is the arrays, scaled.
        x, y, _ = _collect(mnist_5k.test)
        np.testing.assert_array_equal(y, y_test)
        np.testing.assert_allclose(x, x_test.reshape(1000, -1) / 255.0)

    def test_shuffle_is_seeded(self):
        first = _labels(datasets.load("mnist_5k", shuffle_seed=3).train)
        again = _labels(datasets.load("mnist_5k", shuffle_seed=3).train)
        other = _labels(datasets.load("mnist_5k", shuffle_seed=4).train)
        np.testing.assert_array_equal(first, again)
        assert not np.array_equal(first, other)
        np.testing.assert_array_equal(np.sort(first), np.sort(other))

    def test_reshuffles_each_epoch(self):
        train = datasets.load("mnist_5k", shuffle_seed=3).train
        epoch_1, epoch_2 = _labels(train), _labels(train)
        assert not np.array_equal(epoch_1, epoch_2)
        np.testing.assert_array_equal(np.sort(epoch_1), np.sort(epoch_2))

    def test_test_split_is_not_shuffled(self):
        test = datasets.load("mnist_5k", shuffle_seed=3).test
        np.testing.assert_array_equal(_labels(test), _labels(test))

    def test_standardize(self, mnist_5k_arrays):
        data = datasets.load(
            "mnist_5k", batch_size=1000, normalization="standardize"
        )
        x, _, _ = _collect(data.train)
        np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-4)
        std = x.std(axis=0)
        varying = std > 0
        assert varying.sum() > 600
        np.testing.assert_allclose(std[varying], 1.0, atol=1e-3)
        # Test data uses the training statistics, computed here by hand.
        (x_train, _), (x_test, _) = mnist_5k_arrays
        raw = x_train.reshape(4000, -1) / 255.0
        mean, scale = raw.mean(axis=0), raw.std(axis=0)
        scale[scale < 1e-6] = 1.0
        expected = (x_test.reshape(1000, -1) / 255.0 - mean) / scale
        x_test_std, _, _ = _collect(data.test)
        np.testing.assert_allclose(x_test_std, expected, rtol=1e-4, atol=1e-3)


def _idx_bytes(array):
    codes = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D}
    code = codes[array.dtype.str[1:]]
    header = bytes([0, 0, code, array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def _write(path, data, gz):
    path = str(path) + (".gz" if gz else "")
    with open(path, "wb") as f:
        f.write(gzip.compress(data) if gz else data)
    return path


def _write_idx_dir(directory, gz_train=True, gz_test=False):
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (12, 4, 5), np.uint8),
        "train-labels-idx1-ubyte": np.arange(12, dtype=np.uint8) % 3,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (5, 4, 5), np.uint8),
        "t10k-labels-idx1-ubyte": np.array([2, 0, 1, 1, 0], np.uint8),
    }
    for name, array in arrays.items():
        gz = gz_train if name.startswith("train") else gz_test
        _write(os.path.join(directory, name), _idx_bytes(array), gz)
    return arrays


class TestIdx:
    def test_hand_written_file(self, tmp_path):
        data = b"\x00\x00\x08\x02\x00\x00\x00\x02\x00\x00\x00\x03"
        data += bytes(range(6))
        path = _write(tmp_path / "a", data, gz=False)
        array = datasets.read_idx(path)
        assert array.dtype == np.uint8
        np.testing.assert_array_equal(array, [[0, 1, 2], [3, 4, 5]])
        # Big-endian int16: 0x0102 = 258, 0xFFFE = -2.
        data = b"\x00\x00\x0b\x01\x00\x00\x00\x02\x01\x02\xff\xfe"
        array = datasets.read_idx(_write(tmp_path / "b", data, gz=True))
        np.testing.assert_array_equal(array, [258, -2])

    @pytest.mark.parametrize("gz", [False, True])
    @pytest.mark.parametrize("dtype", ["u1", "i1", "i2", "i4", "f4"])
    def test_round_trip(self, tmp_path, gz, dtype):
        array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
        if dtype == "u1":
            array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
        path = _write(tmp_path / "x-idx3", _idx_bytes(array), gz)
        result = datasets.read_idx(path)
        assert result.dtype == array.dtype and result.dtype.isnative
        np.testing.assert_array_equal(result, array)

    def test_load_directory(self, tmp_path):
        arrays = _write_idx_dir(tmp_path, gz_train=True, gz_test=False)
        (x_train, y_train), (x_test, y_test) = datasets.load_arrays(
            f"idx:{tmp_path}"
        )
        assert x_train.shape == (12, 4, 5, 1) and y_train.dtype == np.int32
        np.testing.assert_array_equal(
            x_test[..., 0], arrays["t10k-images-idx3-ubyte"]
        )
        np.testing.assert_array_equal(y_test, [2, 0, 1, 1, 0])

        data = datasets.load(f"idx:{tmp_path}", batch_size=5)
        assert (data.num_train, data.num_test) == (12, 5)
        assert (data.input_dim, data.input_shape) == (20, (4, 5, 1))
        assert data.num_classes == 3
        x, y, sizes = _collect(data.test)
        assert sizes == [5]
        np.testing.assert_array_equal(y, [2, 0, 1, 1, 0])
        expected = arrays["t10k-images-idx3-ubyte"].reshape(5, 20) / 255.0
        np.testing.assert_allclose(x, expected, rtol=1e-6)
        _, y_train_ds, sizes = _collect(data.train)
        assert sizes == [5, 5, 2]
        np.testing.assert_array_equal(np.sort(y_train_ds), np.sort(y_train))

    def test_bad_magic(self, tmp_path):
        path = _write(tmp_path / "bad", b"\x12\x34\x56\x78" + bytes(8), True)
        with pytest.raises(ValueError, match="bad magic number 0x12345678"):
            datasets.read_idx(path)
        with pytest.raises(ValueError, match=f"'{path}' is not an IDX file"):
            datasets.read_idx(path)

    def test_truncated(self, tmp_path):
        array = np.zeros((3, 2, 2), np.uint8)
        path = _write(tmp_path / "short", _idx_bytes(array)[:-1], False)
        with pytest.raises(ValueError, match="truncated.*needs 12 bytes.*11"):
            datasets.read_idx(path)
        path = _write(tmp_path / "header", b"\x00\x00\x08\x03\x00", False)
        with pytest.raises(ValueError, match="header declares 3 dimensions"):
            datasets.read_idx(path)
        path = str(tmp_path / "cut.gz")
        with open(path, "wb") as f:
            f.write(gzip.compress(_idx_bytes(array))[:-6])
        with pytest.raises(ValueError, match="truncated or corrupt gzip"):
            datasets.read_idx(path)

    def test_trailing_bytes(self, tmp_path):
        data = _idx_bytes(np.zeros(4, np.uint8)) + b"\x00\x00"
        path = _write(tmp_path / "long", data, False)
        with pytest.raises(ValueError, match="2 unexpected trailing bytes"):
            datasets.read_idx(path)

    def test_missing_file(self, tmp_path):
        _write_idx_dir(tmp_path)
        os.remove(tmp_path / "t10k-labels-idx1-ubyte")
        with pytest.raises(
            ValueError, match="Missing IDX file 't10k-labels-idx1-ubyte'"
        ):
            datasets.load(f"idx:{tmp_path}")
        with pytest.raises(ValueError, match="IDX file not found"):
            datasets.read_idx(tmp_path / "nothing")

    def test_missing_directory(self, tmp_path):
        missing = tmp_path / "nowhere"
        with pytest.raises(
            ValueError, match=f"Received: directory='{missing}'"
        ):
            datasets.load(f"idx:{missing}")

    def test_count_mismatch(self, tmp_path):
        _write_idx_dir(tmp_path)
        labels = np.zeros(11, np.uint8)
        _write(tmp_path / "train-labels-idx1-ubyte", _idx_bytes(labels), True)
        with pytest.raises(ValueError, match="12 images but .* 11 labels"):
            datasets.load_arrays(f"idx:{tmp_path}")


@pytest.mark.skipif(
    not os.path.isdir(datasets.DEBIAN_FASHION_MNIST_DIR),
    reason="Debian package dataset-fashion-mnist is not installed.",
)
def test_fashion_mnist_debian():
    data = datasets.load("fashion_mnist_debian", batch_size=1000)
    assert (data.num_train, data.num_test) == (60000, 10000)
    assert (data.input_dim, data.num_classes) == (784, 10)
    x, y = next(iter(data.test))
    x, y = np.asarray(x), np.asarray(y)
    assert x.shape == (1000, 784) and 0.0 <= x.min() and x.max() <= 1.0
    # First labels of the official files (9 = ankle boot).
    np.testing.assert_array_equal(y[:5], [9, 2, 1, 1, 6])


def test_fashion_mnist_debian_missing(tmp_path):
    with pytest.raises(
        datasets.DatasetUnavailableError,
        match="apt-get install dataset-fashion-mnist",
    ):
        in_memory.load_fashion_mnist_debian(str(tmp_path / "none"))


def test_digits():
    pytest.importorskip("sklearn")
    data = datasets.load("digits", batch_size=2000)
    assert (data.num_train, data.num_test) == (1500, 297)
    assert (data.input_dim, data.input_shape) == (64, (8, 8, 1))
    x, y, _ = _collect(data.train)
    assert x.max() == 1.0 and x.min() == 0.0
    assert set(np.unique(y)) == set(range(10))


@pytest.fixture
def probed(monkeypatch):
    """Records network probes and reports the network as up.

    `tfds.testing.mock_data` makes tfds' download a no-op but does not know
    our own reachability probe; with it reporting success, `load` takes the
    same branch as on a fresh online machine: probe, download, read.
    """
    calls = []

    def probe(host, port):
        calls.append((host, port))

    monkeypatch.setattr(tfds_source, "_probe_network", probe)
    return calls


@pytest.mark.tensorflow_only
class TestTfds:
    @pytest.mark.parametrize(
        "name, input_shape",
        [("mnist", (28, 28, 1)), ("cifar10", (32, 32, 3))],
    )
    def test_mock_data(self, tmp_path, probed, name, input_shape):
        tfds = pytest.importorskip("tensorflow_datasets")
        with tfds.testing.mock_data(num_examples=10):
            data = datasets.load(name, batch_size=4, data_dir=tmp_path)
            x, y, sizes = _collect(data.train)
            x_test, _, test_sizes = _collect(data.test)
            arrays = datasets.load_arrays(name, data_dir=tmp_path)
        assert probed == [tfds_source.TFDS_DATASETS[name][1:]] * 2
        input_dim = int(np.prod(input_shape))
        assert data.input_shape == input_shape
        assert data.input_dim == input_dim
        assert (data.num_train, data.num_test, data.num_classes) == (10, 10, 10)
        assert sizes == test_sizes == [4, 4, 2]
        assert x.shape == (10, input_dim) and x.dtype == np.float32
        assert y.dtype == np.int32 and 0 <= y.min() and y.max() < 10
        assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.5
        (x_train_raw, _), (x_test_raw, _) = arrays
        assert x_train_raw.shape == (10, *input_shape)
        assert x_train_raw.dtype == np.uint8
        np.testing.assert_allclose(
            x_test, x_test_raw.reshape(10, -1) / 255.0, rtol=1e-6
        )

    def test_mock_data_standardize(self, tmp_path, probed):
        tfds = pytest.importorskip("tensorflow_datasets")
        with tfds.testing.mock_data(num_examples=10):
            data = datasets.load(
                "mnist",
                batch_size=10,
                data_dir=tmp_path,
                normalization="standardize",
            )
            x, _, _ = _collect(data.train)
        np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-4)
        assert np.abs(x.std(axis=0) - 1.0).max() < 1e-3

    def test_offline_error_without_retries(self, tmp_path, run_python):
        pytest.importorskip("tensorflow_datasets")
        # Fresh process, with name resolution failing as on a machine
        # without internet access (whatever the machine running the test
        # has), and a generous timeout should anything hang. That the error
        # is quick shows as a single look-up and no download started (no
        # retries); wall-clock time is not asserted, as it depends on the
        # machine's load.
        result = run_python(
            "import socket\n"
            "lookups = []\n"
            "def no_dns(*args, **kwargs):\n"
            "    lookups.append(args[0])\n"
            "    raise socket.gaierror(-2, 'Name or service not known')\n"
            "socket.getaddrinfo = no_dns\n"
            "from arbnet_keras import datasets\n"
            "try:\n"
            f"    datasets.load('mnist', data_dir={str(tmp_path)!r})\n"
            "    emit({'error': None})\n"
            "except Exception as e:\n"
            "    emit({'error': type(e).__name__, 'message': str(e),\n"
            "          'lookups': lookups})\n",
            timeout=300,
        )
        assert result["error"] == "DatasetUnavailableError"
        message = result["message"]
        assert "'mnist' is not prepared" in message
        assert "cannot connect to storage.googleapis.com" in message
        assert "data_dir=" in message and "'mnist_5k'" in message
        assert result["lookups"] == ["storage.googleapis.com"]
        assert not (tmp_path / "downloads").exists()

    def test_unavailable_is_runtime_error(self):
        assert issubclass(datasets.DatasetUnavailableError, RuntimeError)


class TestArguments:
    def test_available(self):
        names = datasets.available()
        assert names[0] == "mnist_5k"
        assert set(names) == {
            "mnist_5k",
            "digits",
            "fashion_mnist_debian",
            "mnist",
            "fashion_mnist",
            "cifar10",
        }

    @pytest.mark.parametrize("name", ["foo", "idx:", "MNIST", 3, None])
    def test_unknown_name(self, name):
        match = (
            r"Invalid value for argument `name`\. Expected one of "
            rf"\('mnist_5k', .*'cifar10'\) or 'idx:<directory>'\. "
            rf"Received: name={name!r}$"
        )
        with pytest.raises(ValueError, match=match):
            datasets.load(name)
        with pytest.raises(ValueError, match=match):
            datasets.load_arrays(name)

    def test_bad_normalization(self):
        with pytest.raises(
            ValueError,
            match=r"Invalid value for argument `normalization`\. Expected one "
            r"of \('unit', 'standardize'\)\. Received: normalization='z'$",
        ):
            datasets.load("mnist_5k", normalization="z")

    @pytest.mark.parametrize("batch_size", [0, -3, 2.5, True, "8"])
    def test_bad_batch_size(self, batch_size):
        with pytest.raises(
            ValueError,
            match=r"`batch_size` must be a positive integer\. "
            rf"Received: batch_size={batch_size!r}$",
        ):
            datasets.load("mnist_5k", batch_size=batch_size)

    def test_bad_shuffle_arguments(self):
        with pytest.raises(
            ValueError, match="`shuffle_buffer` .* Received: shuffle_buffer=0"
        ):
            datasets.load("mnist_5k", shuffle_buffer=0)
        with pytest.raises(
            ValueError, match="`shuffle_seed` .* Received: shuffle_seed='1'"
        ):
            datasets.load("mnist_5k", shuffle_seed="1")

    def test_data_splits_is_frozen(self, mnist_5k):
        with pytest.raises(AttributeError):
            mnist_5k.num_train = 1
