"""Backend-specific kernels where `keras.ops` would cost extra work."""

import keras
from keras import ops


def matmul_transposed(inputs, kernel_t):
    """`inputs @ transpose(kernel_t)`, without materializing the transpose.

    Args:
        inputs: Tensor of shape `(..., input_dim)`.
        kernel_t: Tensor of shape `(units, input_dim)`.

    Returns:
        Tensor of shape `(..., units)`.
    """
    if keras.backend.backend() != "tensorflow":
        return ops.matmul(inputs, ops.transpose(kernel_t))
    import tensorflow as tf

    if len(inputs.shape) == 2:
        return tf.matmul(inputs, kernel_t, transpose_b=True)
    return tf.tensordot(inputs, kernel_t, axes=[[-1], [1]])
