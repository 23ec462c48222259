"""Data sets read through tensorflow-datasets (tfds).

tfds downloads with 10 retries and exponential backoff, so on a machine
without internet access `download_and_prepare` spends minutes (about 200 s
for MNIST) before failing. Before downloading, the host that serves the
files is therefore probed with one short TCP connection; when it cannot be
reached, `DatasetUnavailableError` is raised at once.
"""

import os
import socket
import urllib.parse
import urllib.request

import numpy as np

from arbnet_keras.datasets.errors import DatasetUnavailableError

# Name -> (tfds name, host, port) of the server its files are downloaded from.
TFDS_DATASETS = {
    "mnist": ("mnist", "storage.googleapis.com", 443),
    "fashion_mnist": (
        "fashion_mnist",
        "fashion-mnist.s3-website.eu-central-1.amazonaws.com",
        80,
    ),
    "cifar10": ("cifar10", "www.cs.toronto.edu", 443),
}

PROBE_TIMEOUT = 5.0


def import_tfds():
    """Imports tensorflow_datasets, with an install hint on failure."""
    try:
        import tensorflow_datasets as tfds
    except ImportError as e:
        raise ImportError(
            "Loading this data set needs tensorflow-datasets. Run "
            '`pip install "arbnet-keras[data]"`.'
        ) from e
    return tfds


def _probe_network(host, port, timeout=PROBE_TIMEOUT):
    """Returns None if `host:port` (or its proxy) answers, else why not."""
    scheme = "https" if port == 443 else "http"
    proxy = urllib.request.getproxies().get(scheme)
    if proxy and not urllib.request.proxy_bypass(host):
        parsed = urllib.parse.urlsplit(proxy)
        if parsed.hostname:
            host, port = parsed.hostname, parsed.port or 80
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as e:
        return f"cannot connect to {host}:{port} ({e})"


def _unavailable(name, builder, reason):
    return DatasetUnavailableError(
        f"The tensorflow-datasets data set '{name}' is not prepared in "
        f"'{os.fspath(builder.data_dir)}' and cannot be downloaded: "
        f"{reason}. Either run `load('{name}')` once on a machine with "
        "internet access (tfds keeps the prepared data in `data_dir`, by "
        "default ~/tensorflow_datasets), or pass `data_dir=` pointing to a "
        "directory where it is already prepared, or use an offline data "
        "set: 'mnist_5k', 'idx:<directory>' (MNIST-format IDX files) or "
        "'fashion_mnist_debian' (`apt-get install dataset-fashion-mnist`)."
    )


def prepared_builder(name, data_dir=None):
    """A tfds builder whose data is prepared, downloading it if needed.

    Args:
        name: One of `TFDS_DATASETS`.
        data_dir: tfds data directory, or None for tfds' default.

    Returns:
        The `tfds.core.DatasetBuilder`.

    Raises:
        DatasetUnavailableError: If the data is not prepared in `data_dir`
            and cannot be downloaded.
    """
    tfds = import_tfds()
    tfds_name, host, port = TFDS_DATASETS[name]
    if data_dir is not None:
        data_dir = os.fspath(data_dir)
    builder = tfds.builder(tfds_name, data_dir=data_dir)
    if builder.is_prepared():
        return builder
    reason = _probe_network(host, port)
    if reason is not None:
        raise _unavailable(name, builder, reason)
    try:
        builder.download_and_prepare()
    except Exception as e:
        raise _unavailable(name, builder, f"{type(e).__name__}: {e}") from e
    return builder


def split_size(builder, split, ds):
    """Number of examples of a split, from tfds metadata or the dataset.

    The metadata lacks split sizes when it was not recorded at preparation
    (and under `tfds.testing.mock_data`); the dataset's cardinality is used
    then.
    """
    try:
        size = builder.info.splits[split].num_examples
    except KeyError:
        size = 0
    if size <= 0:
        size = int(ds.cardinality())
    if size < 0:
        raise DatasetUnavailableError(
            f"Cannot tell the size of split '{split}' of '{builder.name}'."
        )
    return size


def image_spec(builder):
    """`(input_shape, num_classes)` of an image classification builder."""
    features = builder.info.features
    shape = tuple(int(d) for d in features["image"].shape)
    return shape, int(features["label"].num_classes)


def load_split(builder, split):
    """The split as a `tf.data.Dataset` of `(uint8 image, label)`."""
    return builder.as_dataset(
        split=split, as_supervised=True, shuffle_files=False
    )


def load_arrays(name, data_dir=None):
    """The whole train and test splits as numpy arrays.

    Returns:
        `((x_train, y_train), (x_test, y_test))`: uint8 images of the
        data set's shape and int32 labels.
    """
    tfds = import_tfds()
    builder = prepared_builder(name, data_dir)
    splits = []
    for split in ("train", "test"):
        # Batches rather than `batch_size=-1`, which needs split sizes in
        # the metadata.
        batches = list(tfds.as_numpy(load_split(builder, split).batch(4096)))
        x = np.concatenate([x for x, _ in batches])
        y = np.concatenate([y for _, y in batches]).astype(np.int32)
        splits.append((x, y))
    return tuple(splits)
