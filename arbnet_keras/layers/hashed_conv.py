"""What `HashedConv1D` and `HashedConv2D` share: a Keras convolution whose
filters come from a hash table."""

import keras

from arbnet_keras.layers.hashed_weights import HashedLayerMixin
from arbnet_keras.layers.hashed_weights import layer_hash_arguments

# The hash arguments of every hashed convolution, documented once and
# inserted into each layer's docstring.
HASH_ARGS_DOC = """\
        hash: Hash function or name, see `arbnet_keras.hashing`. Defaults
            to `"uniform"`, or the shared table's hash when `table` is given.
        table_size: Number of entries of the layer's own table.
        compression: Entries per virtual weight, in `(0, 1]`. Give exactly
            one of `table_size` and `compression`, unless `table` is given
            or the hash sets the size (`Identity`).
        sparsity: Fraction of the filter weights fixed at zero, in
            `[0, 1)`. Defaults to `0.0`.
        table: A `HashTable` shared with other hashed layers, or `None` for
            a table of the layer's own. Defaults to `None`.
        seed: Non-negative integer seed of the hash, the zeros and the
            signs; `None` draws one, which `get_config` records.
            Defaults to `None`.
        sign: Whether to multiply each weight by a fixed random sign, as
            HashedNets does. Defaults to `False`.
        numbering: Order in which filter weights get identifiers:
            `"out_in"` numbers row-major over PyTorch's layout
            `(filters, in_channels, *kernel_size)`, so a filter's weights
            are consecutive and its spatial positions run fastest;
            `"in_out"` numbers row-major over Keras' layout
            `(*kernel_size, in_channels, filters)`, where the filter index
            runs fastest. Defaults to `"out_in"`, or the shared table's.
        number_zeros: Whether weights fixed at zero consume identifiers.
            Defaults to `True`, or the shared table's.
        table_initializer: Initializer of the own table; a variance-scaling
            one is scaled to the fans of the virtual filters. Defaults to
            `"glorot_uniform"`.
        table_regularizer: Regularizer of the own table. Defaults to `None`.
        table_constraint: Constraint of the own table. Defaults to `None`.
        kernel_mode: `"auto"`, `"gather"` or `"hash"`, see `HashedDense`.
            Defaults to `"auto"`.
        id_offset: Where the layer's identifiers start in a shared table.
            Assigned at build and recorded in the config; leave `None`.
        position_offset: Likewise, for weight positions (zeros included).
"""


class HashedConvMixin(HashedLayerMixin):
    """Turns a Keras convolution class into its hashed counterpart.

    Keras' own `Conv1D`/`Conv2D` code does the convolution (padding,
    strides, dilation, groups, data formats, causal padding): it reads the
    filters through the `kernel` property, which here gathers them from
    the table.
    """

    _size_argument = "filters"

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        groups=1,
        activation=None,
        use_bias=True,
        hash=None,
        table_size=None,
        compression=None,
        sparsity=0.0,
        table=None,
        seed=None,
        sign=False,
        numbering=None,
        number_zeros=None,
        table_initializer="glorot_uniform",
        bias_initializer="zeros",
        table_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        table_constraint=None,
        bias_constraint=None,
        kernel_mode="auto",
        id_offset=None,
        position_offset=None,
        **kwargs,
    ):
        arguments = layer_hash_arguments(locals())
        super().__init__(
            filters=filters,
            kernel_size=kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            groups=groups,
            activation=activation,
            use_bias=use_bias,
            bias_initializer=bias_initializer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            bias_constraint=bias_constraint,
            **kwargs,
        )
        self._set_hashing(arguments)

    def build(self, input_shape):
        if self.data_format == "channels_last":
            channel_axis = -1
        else:
            channel_axis = 1
        input_channel = input_shape[channel_axis]
        if input_channel is None:
            raise ValueError(
                "The channel dimension of the inputs of a hashed convolution "
                f"must be known. Received: input_shape={input_shape}"
            )
        self.input_spec = keras.layers.InputSpec(
            min_ndim=self.rank + 2, axes={channel_axis: input_channel}
        )
        if input_channel % self.groups != 0:
            raise ValueError(
                "The number of input channels must be evenly divisible by "
                f"the number of groups. Received: groups={self.groups}, "
                f"input_shape={input_shape}"
            )
        # Checks the input shape, as Keras' own `build` does.
        self.compute_output_shape(input_shape)
        kernel_shape = self.kernel_size + (
            input_channel // self.groups,
            self.filters,
        )
        self._build_hashed(kernel_shape)
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(self.filters,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        else:
            self.bias = None
        self.built = True

    @property
    def kernel(self):
        """The virtual filters `table[index]`, in Keras' layout
        `(*kernel_size, in_channels // groups, filters)`."""
        if not self.built:
            raise AttributeError(
                "You must build the layer before accessing `kernel`."
            )
        return self._hashed_weight()

    def get_config(self):
        config = super().get_config()
        for name in ("kernel_initializer", "kernel_regularizer"):
            config.pop(name, None)
        config.pop("kernel_constraint", None)
        config.pop("lora_rank", None)
        config.pop("lora_alpha", None)
        config.update(self._hashing_config())
        return config
