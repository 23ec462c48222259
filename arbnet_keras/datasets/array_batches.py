"""Batches of in-memory arrays for the Keras backends other than TensorFlow."""

import math

import keras
import numpy as np


def buffered_permutation(rng, size, buffer):
    """The order of `tf.data.Dataset.shuffle(buffer)` over `size` examples.

    The same algorithm as tf.data (not the same random numbers): a buffer
    holds the next `buffer` examples, a uniformly chosen one is emitted and
    its slot refilled with the next example. With `buffer >= size` this is
    a uniform permutation.

    Args:
        rng: The `numpy.random.Generator` to draw from.
        size: Number of examples.
        buffer: Buffer size, a positive integer.

    Returns:
        An int64 array holding a permutation of `range(size)`.
    """
    if buffer >= size:
        return rng.permutation(size)
    order = np.empty(size, np.int64)
    pool = list(range(buffer))
    draws = rng.random(size)
    following = buffer
    for i, draw in enumerate(draws):
        slot = int(draw * len(pool))
        order[i] = pool[slot]
        if following < size:
            pool[slot] = following
            following += 1
        else:
            pool[slot] = pool[-1]
            pool.pop()
    return order


class ArrayBatches(keras.utils.PyDataset):
    """`(x, y)` batches of in-memory arrays, as a `keras.utils.PyDataset`.

    What `arbnet_keras.datasets.load` returns on the JAX and PyTorch
    backends, in place of a `tf.data` pipeline, so that no TensorFlow is
    needed. Batches hold the same values as the `tf.data` pipeline of the
    same arguments: the unshuffled (test) split gives identical batches; a
    shuffled (training) split is drawn with the same shuffle-buffer
    algorithm from NumPy's random numbers, so its order differs from
    TensorFlow's.

    Args:
        x: Array of examples, of shape `(n, ...)`.
        y: Array of labels, of shape `(n,)`.
        normalize: Function mapping a batch `(x, y)` of numpy arrays to the
            batch to yield (see `pipeline.make_array_normalizer`).
        batch_size: Examples per batch; the last batch may be smaller.
        shuffle: Whether to shuffle, with a new order every epoch (after
            each `fit` epoch and each full iteration). Defaults to False.
        shuffle_seed: Seed of the shuffle: the same seed gives the same
            sequence of epoch orders. None leaves it unseeded. Defaults to
            None.
        shuffle_buffer: Shuffle buffer size, as in `tf.data`; the shuffle
            is uniform only if it is at least `n`. Defaults to 10,000.

    Example:

    >>> batches = ArrayBatches(x, y, normalize, batch_size=128, shuffle=True)
    >>> model.fit(batches, epochs=5)
    """

    def __init__(
        self,
        x,
        y,
        normalize,
        *,
        batch_size,
        shuffle=False,
        shuffle_seed=None,
        shuffle_buffer=10_000,
    ):
        if len(x) != len(y):
            raise ValueError(
                "`x` and `y` must have the same length. Received: "
                f"len(x)={len(x)}, len(y)={len(y)}"
            )
        super().__init__()
        self.x = x
        self.y = y
        self.normalize = normalize
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.shuffle_seed = shuffle_seed
        self.shuffle_buffer = int(shuffle_buffer)
        self._rng = np.random.default_rng(shuffle_seed)
        self._order = self._next_order()

    def _next_order(self):
        if not self.shuffle:
            return None
        return buffered_permutation(self._rng, len(self.x), self.shuffle_buffer)

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(
                f"Batch index {index} is out of range for {len(self)} batches."
            )
        rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
        if self._order is not None:
            rows = self._order[rows]
        return self.normalize(self.x[rows], self.y[rows])

    def __iter__(self):
        # Like a `tf.data` pipeline, each full pass is an epoch.
        for index in range(len(self)):
            yield self[index]
        self.on_epoch_end()

    def on_epoch_end(self):
        self._order = self._next_order()
