"""Backend-specific kernels where `keras.ops` would cost extra work."""

import keras
from keras import ops


def gather(table, index):
    """`table[index]` along axis 0; `index` holds no negative entries.

    On TensorFlow this is `tf.gather`, whose gradient with respect to
    `table` is a `tf.IndexedSlices`. `keras.ops.take` would add a pass
    over `index` on every call to wrap negative indices, which ours never
    are.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.gather(table, index)
    return ops.take(table, index, axis=0)
