"""A reader for IDX files, the format of MNIST and Fashion-MNIST.

An IDX file is a 4-byte magic number `0x0000TTNN` (`TT` the element type,
`NN` the number of dimensions), then `NN` big-endian uint32 sizes, then the
elements in C order, big-endian. Files may be gzipped; gzip is recognized by
its own magic bytes, not by the file name.

Reference:
    LeCun, Cortes and Burges, "The MNIST database of handwritten digits",
    http://yann.lecun.com/exdb/mnist/ (section "File formats").
"""

import gzip
import os
import zlib

import numpy as np

# Element type code of the magic number -> big-endian numpy dtype.
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

# The four files of an MNIST-format directory, by split and part. Each may be
# gzipped (`.gz`); the dotted spelling is how some archives unpack.
IDX_FILE_NAMES = {
    ("train", "images"): ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    ("train", "labels"): ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    ("test", "images"): ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    ("test", "labels"): ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}

_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path):
    """Reads one IDX file, gzipped or not, into a numpy array.

    Args:
        path: Path of the file.

    Returns:
        A numpy array with the file's shape and element type, in native
        byte order (`uint8` for MNIST images and labels).

    Raises:
        ValueError: If the file does not exist, is not an IDX file (bad
            magic number), or is truncated or has trailing bytes. The
            message names the file.

    Example:

    >>> images = read_idx("/usr/share/datasets/fashion-mnist/"
    ...                   "t10k-images-idx3-ubyte.gz")
    >>> images.shape, images.dtype
    ((10000, 28, 28), dtype('uint8'))
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"IDX file not found: '{path}'.")
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as e:
            raise ValueError(
                f"IDX file '{path}' is a truncated or corrupt gzip file: {e}"
            ) from e
    if len(data) < 4:
        raise ValueError(
            f"IDX file '{path}' is truncated: it has {len(data)} bytes, "
            "fewer than the 4 of the magic number."
        )
    magic = int.from_bytes(data[:4], "big")
    type_code, ndim = data[2], data[3]
    if data[:2] != b"\x00\x00" or type_code not in IDX_DTYPES or ndim == 0:
        raise ValueError(
            f"'{path}' is not an IDX file: bad magic number 0x{magic:08X}. "
            "Expected 0x0000TTNN with element type TT in "
            f"({', '.join(f'0x{c:02X}' for c in IDX_DTYPES)}) and NN >= 1 "
            "dimensions (0x00000803 for images, 0x00000801 for labels)."
        )
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise ValueError(
            f"IDX file '{path}' is truncated: its header declares {ndim} "
            f"dimensions ({header_size} bytes) but the file has "
            f"{len(data)} bytes."
        )
    shape = tuple(
        int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    dtype = IDX_DTYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header_size
    if found < expected:
        raise ValueError(
            f"IDX file '{path}' is truncated: shape {shape} of "
            f"{dtype.name} needs {expected} bytes of data, found {found}."
        )
    if found > expected:
        raise ValueError(
            f"IDX file '{path}' has {found - expected} unexpected trailing "
            f"bytes after the {expected} bytes of shape {shape}."
        )
    array = np.frombuffer(data, dtype=dtype, offset=header_size)
    return array.reshape(shape).astype(dtype.newbyteorder("="))


def find_idx_file(directory, split, part):
    """Path of one of the four MNIST-format files of `directory`.

    Args:
        directory: The directory to look in.
        split: `"train"` or `"test"`.
        part: `"images"` or `"labels"`.

    Returns:
        The path of the first existing candidate: the standard name, then
        the dotted spelling, each raw then gzipped.

    Raises:
        ValueError: If no candidate exists; the message names the file.
    """
    names = IDX_FILE_NAMES[(split, part)]
    for name in names:
        for candidate in (name, name + ".gz"):
            path = os.path.join(directory, candidate)
            if os.path.isfile(path):
                return path
    raise ValueError(
        f"Missing IDX file '{names[0]}' (or '{names[0]}.gz') in directory "
        f"'{directory}'. An IDX directory holds the four MNIST-format files "
        f"{[n[0] for n in IDX_FILE_NAMES.values()]}, gzipped or not."
    )


def load_idx_directory(directory):
    """Loads a directory of the four MNIST-format IDX files.

    Args:
        directory: A directory holding `train-images-idx3-ubyte`,
            `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte` and
            `t10k-labels-idx1-ubyte`, each possibly gzipped (`.gz`).

    Returns:
        `((x_train, y_train), (x_test, y_test))`: uint8 images of shape
        `(n, height, width, channels)` (a channel axis of 1 is added to
        3-d files) and int32 labels of shape `(n,)`.

    Raises:
        ValueError: If `directory` does not exist, a file is missing or
            malformed, images are not uint8, or the numbers of images and
            labels differ.

    Example:

    >>> (x_train, y_train), (x_test, y_test) = load_idx_directory(
    ...     "/usr/share/datasets/fashion-mnist")
    >>> x_train.shape, y_test.shape
    ((60000, 28, 28, 1), (10000,))
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ValueError(
            "`directory` must be an existing directory of IDX files. "
            f"Received: directory='{directory}'"
        )
    splits = []
    for split in ("train", "test"):
        images_path = find_idx_file(directory, split, "images")
        labels_path = find_idx_file(directory, split, "labels")
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.dtype != np.uint8 or images.ndim not in (3, 4):
            raise ValueError(
                f"IDX images '{images_path}' must be uint8 of shape (n, "
                "height, width) or (n, height, width, channels). Found "
                f"{images.dtype} of shape {images.shape}."
            )
        if labels.ndim != 1 or labels.dtype.kind not in "iu":
            raise ValueError(
                f"IDX labels '{labels_path}' must be 1-d integers. Found "
                f"{labels.dtype} of shape {labels.shape}."
            )
        if len(images) != len(labels):
            raise ValueError(
                f"'{images_path}' has {len(images)} images but "
                f"'{labels_path}' has {len(labels)} labels."
            )
        if images.ndim == 3:
            images = images[..., np.newaxis]
        splits.append((images, labels.astype(np.int32)))
    return tuple(splits)
