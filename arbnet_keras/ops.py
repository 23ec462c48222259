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
        # `transpose(kernel_t @ transpose(inputs))`: on oneDNN a product
        # with a transposed right operand is up to 30% slower at small
        # batches (2000x2000, batch 64); this form has none forward, and
        # its kernel gradient `dy^T @ x` none either. The transposes are
        # of batch-sized tensors.
        return tf.transpose(tf.matmul(kernel_t, inputs, transpose_b=True))
    return tf.tensordot(inputs, kernel_t, axes=[[-1], [1]])


def blockwise_matmul(inputs, table, block_fn, num_blocks, block, transposed):
    """`inputs @ kernel` where the kernel is made one block at a time.

    The kernel's columns come in `num_blocks` blocks of `block` units,
    `block_fn(table, j)` making block `j` from the table (shape
    `(block, input_dim)` when `transposed`, else `(input_dim, block)`).
    Only one block is alive at a time, in the forward pass and in the
    backward pass, which recomputes each block: memory holds the table and
    one block, never the kernel.

    On TensorFlow the blocks run in a sequential `tf.while_loop` under a
    custom gradient (an unrolled graph would let the executor make many
    blocks at once); elsewhere each block is a `keras.remat` function of
    a Python loop, which JAX's and PyTorch's eager order keeps sequential.

    Args:
        inputs: Tensor `(..., input_dim)`.
        table: The table, as a tensor.
        block_fn: `(table, j) -> block`; `j` is a Python int, or a scalar
            int32 tensor on TensorFlow.
        num_blocks: Number of blocks.
        block: Units per block.
        transposed: Whether blocks come as `(block, input_dim)`.

    Returns:
        Tensor `(..., num_blocks * block)`.
    """
    if keras.backend.backend() == "tensorflow":
        return _blockwise_matmul_tf(
            inputs, table, block_fn, num_blocks, block, transposed
        )

    def part(x, t, j):
        kernel = block_fn(t, j)
        if transposed:
            return matmul_transposed(x, kernel)
        return ops.matmul(x, kernel)

    outputs = [
        keras.remat(lambda x, t, j=j: part(x, t, j))(inputs, table)
        for j in range(num_blocks)
    ]
    return ops.concatenate(outputs, axis=-1)


def _blockwise_matmul_tf(inputs, table, block_fn, num_blocks, block, t_b):
    import tensorflow as tf

    lead = tf.shape(inputs)[:-1]
    input_dim = inputs.shape[-1]
    x2 = tf.reshape(inputs, [-1, input_dim])
    loop = dict(parallel_iterations=1, maximum_iterations=num_blocks)

    def matmul(x, kernel):
        return matmul_transposed(x, kernel) if t_b else tf.matmul(x, kernel)

    @tf.custom_gradient
    def run(x, t):
        def body(j, parts):
            return j + 1, parts.write(j, matmul(x, block_fn(t, j)))

        parts = tf.TensorArray(x.dtype, size=num_blocks)
        _, parts = tf.while_loop(
            lambda j, _: j < num_blocks, body, (tf.constant(0), parts), **loop
        )
        y = tf.transpose(parts.stack(), [1, 0, 2])
        y = tf.reshape(y, [-1, num_blocks * block])

        def grad(dy):
            dy = tf.transpose(
                tf.reshape(dy, [-1, num_blocks, block]), [1, 0, 2]
            )

            def grad_body(j, dx, dt):
                with tf.GradientTape() as tape:
                    tape.watch(t)
                    kernel = block_fn(t, j)
                dy_j = dy[j]
                if t_b:  # kernel (block, input_dim): y_j = x @ kernel^T.
                    dx_j = tf.matmul(dy_j, kernel)
                    d_kernel = tf.matmul(dy_j, x, transpose_a=True)
                else:
                    dx_j = tf.matmul(dy_j, kernel, transpose_b=True)
                    d_kernel = tf.matmul(x, dy_j, transpose_a=True)
                dt_j = tape.gradient(kernel, t, output_gradients=d_kernel)
                return j + 1, dx + dx_j, dt + tf.convert_to_tensor(dt_j)

            _, dx, dt = tf.while_loop(
                lambda j, *_: j < num_blocks,
                grad_body,
                (tf.constant(0), tf.zeros_like(x), tf.zeros_like(t)),
                **loop,
            )
            return dx, dt

        return y, grad

    y = run(x2, tf.convert_to_tensor(table))
    return tf.reshape(y, tf.concat([lead, [num_blocks * block]], 0))
