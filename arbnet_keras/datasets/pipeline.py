"""Normalization and batching shared by every data source."""

import numpy as np

NORMALIZATIONS = ("unit", "standardize")

# Features whose training std is below this (in unit-scaled pixels) are only
# centered. Dividing by a clipped tiny std would blow up test pixels that are
# constant in training (mnist_5k has 8 such pixels, reaching ~1e6).
STD_FLOOR = 1e-6

# Rows per chunk when computing statistics, to bound memory.
_CHUNK = 8192


def moments(batches, input_dim):
    """Per-feature mean and std of unit-scaled examples.

    Args:
        batches: Iterable of arrays of shape `(n, ...)` holding unit-scaled
            examples (any float or integer dtype).
        input_dim: Number of features of one flattened example.

    Returns:
        `(mean, std)`, float32 arrays of shape `(input_dim,)`; a std below
        `STD_FLOOR` is replaced by 1.
    """
    total = np.zeros(input_dim, np.float64)
    total_sq = np.zeros(input_dim, np.float64)
    count = 0
    for batch in batches:
        batch = np.asarray(batch, np.float64).reshape(-1, input_dim)
        total += batch.sum(axis=0)
        total_sq += np.square(batch).sum(axis=0)
        count += len(batch)
    if count == 0:
        raise ValueError("Cannot standardize: the training split is empty.")
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - np.square(mean), 0.0))
    std = np.where(std < STD_FLOOR, 1.0, std)
    return mean.astype(np.float32), std.astype(np.float32)


def array_moments(x, max_value):
    """`moments` of a uint8 array of images scaled by `1 / max_value`."""
    input_dim = int(np.prod(x.shape[1:]))
    chunks = (
        x[i : i + _CHUNK].reshape(-1, input_dim) / max_value
        for i in range(0, len(x), _CHUNK)
    )
    return moments(chunks, input_dim)


def make_normalizer(input_dim, max_value, mean=None, std=None):
    """A `(x, y)` batch map of `tf.data`: flatten, scale, standardize.

    Args:
        input_dim: Number of features of one flattened example.
        max_value: Largest raw pixel value; pixels are divided by it.
        mean: Optional per-feature mean of unit-scaled training examples.
        std: Per-feature std, given together with `mean`.

    Returns:
        A function mapping a batch `(x, y)` to float32 `x` of shape
        `(batch, input_dim)` and int32 `y`.
    """
    import tensorflow as tf

    scale = 1.0 / float(max_value)
    if mean is not None:
        mean = tf.constant(mean, tf.float32)
        inv_std = tf.constant(1.0 / std, tf.float32)

    def normalize(x, y):
        x = tf.reshape(tf.cast(x, tf.float32), (-1, input_dim)) * scale
        if mean is not None:
            x = (x - mean) * inv_std
        return x, tf.cast(y, tf.int32)

    return normalize


def make_array_normalizer(input_dim, max_value, mean=None, std=None):
    """`make_normalizer` on numpy arrays, with the same float32 arithmetic.

    Args:
        input_dim: Number of features of one flattened example.
        max_value: Largest raw pixel value; pixels are divided by it.
        mean: Optional per-feature mean of unit-scaled training examples.
        std: Per-feature std, given together with `mean`.

    Returns:
        A function mapping a batch `(x, y)` of numpy arrays to float32 `x`
        of shape `(batch, input_dim)` and int32 `y`.
    """
    scale = np.float32(1.0 / float(max_value))
    if mean is not None:
        mean = np.asarray(mean, np.float32)
        inv_std = np.asarray(1.0 / std, np.float32)

    def normalize(x, y):
        x = np.reshape(x.astype(np.float32), (-1, input_dim)) * scale
        if mean is not None:
            x = (x - mean) * inv_std
        return x, np.asarray(y, np.int32)

    return normalize


def batched(ds, normalize, *, training, batch_size, shuffle_seed, buffer):
    """Shuffles (for training), batches, normalizes and prefetches.

    Args:
        ds: `tf.data.Dataset` of single `(image, label)` examples.
        normalize: The batch map of `make_normalizer`.
        training: Whether to shuffle, reshuffling every epoch.
        batch_size: Examples per batch; the last batch may be smaller.
        shuffle_seed: Seed of the shuffle.
        buffer: Shuffle buffer size.

    Returns:
        The batched `tf.data.Dataset`.
    """
    import tensorflow as tf

    if training:
        ds = ds.shuffle(
            buffer, seed=shuffle_seed, reshuffle_each_iteration=True
        )
    ds = ds.batch(batch_size)
    ds = ds.map(normalize, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)
