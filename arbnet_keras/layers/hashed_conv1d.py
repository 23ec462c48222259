"""The `HashedConv1D` layer: a 1D convolution whose filters live in a
table."""

import keras

from arbnet_keras.layers.hashed_conv import HASH_ARGS_DOC
from arbnet_keras.layers.hashed_conv import HashedConvMixin


@keras.saving.register_keras_serializable(package="arbnet_keras")
class HashedConv1D(HashedConvMixin, keras.layers.Conv1D):
    """A 1D convolution whose filters are gathered from a hash table.

    `keras.layers.Conv1D` with a virtual kernel: each filter weight has an
    identifier, a hash function maps it to an entry of a small trainable
    table, and `kernel = table[index]` (HashedNets' `HashConvMM`). Keras'
    own convolution code runs on that kernel, so padding, strides,
    dilation, groups and data formats behave exactly as in `Conv1D`; with
    the identity hash the layer is a `Conv1D` whose kernel is stored
    flat. The table can be shared with any other hashed layers through
    `table=`, identifiers continuing from layer to layer.

    Args:
        filters: Positive integer, the number of output channels.
        kernel_size: Integer or tuple of 1 integer, the filter size.
        strides: Integer or tuple of 1 integer. Defaults to `1`.
        padding: `"valid"`, `"same"` or `"causal"`. Defaults to `"valid"`.
        data_format: `"channels_last"` or `"channels_first"`. Defaults to
            Keras' image data format.
        dilation_rate: Integer or tuple of 1 integer. Defaults to `1`.
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
        3D tensor `(batch, steps, channels)` (channels last) or
        `(batch, channels, steps)`.

    Output shape:
        3D tensor `(batch, new_steps, filters)` (channels last) or
        `(batch, filters, new_steps)`.

    Example:

    >>> layer = HashedConv1D(8, 3, table_size=50, seed=0)
    >>> layer(np.ones((2, 28, 1), "float32")).shape
    (2, 26, 8)
    >>> layer.kernel.shape
    (3, 1, 8)

    Reference:
        - [Chen et al., 2015](https://arxiv.org/abs/1504.04788), HashedNets.
        - Chang and Lipson, "Balanced and Deterministic Weight-sharing
          Helps Network Performance" (ArbNets).
    """


HashedConv1D.__doc__ = HashedConv1D.__doc__.replace(
    "        {hash_args}\n", HASH_ARGS_DOC
)
