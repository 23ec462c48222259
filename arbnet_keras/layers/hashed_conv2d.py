"""The `HashedConv2D` layer: a 2D convolution whose filters live in a
table."""

import keras

from arbnet_keras.layers.hashed_conv import HASH_ARGS_DOC
from arbnet_keras.layers.hashed_conv import HashedConvMixin


@keras.saving.register_keras_serializable(package="arbnet_keras")
class HashedConv2D(HashedConvMixin, keras.layers.Conv2D):
    """A 2D convolution whose filters are gathered from a hash table.

    `keras.layers.Conv2D` with a virtual kernel: each filter weight has an
    identifier, a hash function maps it to an entry of a small trainable
    table, and `kernel = table[index]` (HashedNets' `HashConvMM`). Keras'
    own convolution code runs on that kernel, so padding, strides,
    dilation, groups and data formats behave exactly as in `Conv2D`; with
    the identity hash the layer is a `Conv2D` whose kernel is stored
    flat. The table can be shared with any other hashed layers through
    `table=`, identifiers continuing from layer to layer.

    Args:
        filters: Positive integer, the number of output channels.
        kernel_size: Integer or tuple of 2 integers, the filter size.
        strides: Integer or tuple of 2 integers. Defaults to `1`.
        padding: `"valid"` or `"same"`. Defaults to `"valid"`.
        data_format: `"channels_last"` or `"channels_first"`. Defaults to
            Keras' image data format.
        dilation_rate: Integer or tuple of 2 integers. Defaults to `1`.
        groups: Number of groups of input channels. Defaults to `1`.
        activation: Activation function. Defaults to `None`.
        use_bias: Whether to add an (unshared) bias. Defaults to `True`.
        {hash_args}
        bias_initializer: Defaults to `"zeros"`.
        bias_regularizer: Defaults to `None`.
        activity_regularizer: Defaults to `None`.
        bias_constraint: Defaults to `None`.
        **kwargs: Base layer arguments, such as `name` and `dtype`.

    Input shape:
        4D tensor `(batch, rows, cols, channels)` (channels last) or
        `(batch, channels, rows, cols)`.

    Output shape:
        4D tensor `(batch, new_rows, new_cols, filters)` (channels last)
        or `(batch, filters, new_rows, new_cols)`.

    Example:

    >>> layer = HashedConv2D(8, 3, table_size=50, seed=0)
    >>> layer(np.ones((2, 28, 28, 1), "float32")).shape
    (2, 26, 26, 8)
    >>> layer.kernel.shape
    (3, 3, 1, 8)

    Reference:
        - [Chen et al., 2015](https://arxiv.org/abs/1504.04788), HashedNets.
        - Chang and Lipson, "Balanced and Deterministic Weight-sharing
          Helps Network Performance" (ArbNets).
    """


HashedConv2D.__doc__ = HashedConv2D.__doc__.replace(
    "        {hash_args}\n", HASH_ARGS_DOC
)
