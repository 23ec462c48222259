"""The `HashedDense` layer: a dense layer whose weights live in a table."""

import keras
from keras import activations
from keras import constraints
from keras import initializers
from keras import ops
from keras import regularizers

from arbnet_keras import ops as arb_ops
from arbnet_keras.hashing.hash_function import validate_positive_int
from arbnet_keras.layers.hashed_weights import HashedLayerMixin
from arbnet_keras.layers.hashed_weights import layer_hash_arguments
from arbnet_keras.layers.kernels import GraphHashKernel
from arbnet_keras.layers.kernels import KernelCache

# Kernels computed in the graph from this many virtual weights are made a
# chunk of `AUTO_CHUNK_SIZE` weights at a time (64 MiB of float32), unless
# `chunk_size` says otherwise: below it, one kernel is faster.
AUTO_CHUNK_FROM = 2**26
AUTO_CHUNK_SIZE = 2**24


@keras.saving.register_keras_serializable(package="arbnet_keras")
class HashedDense(HashedLayerMixin, keras.layers.Layer):
    """A densely-connected layer whose kernel is gathered from a hash table.

    The layer computes `activation(dot(input, kernel) + bias)` like `Dense`,
    but its `(input_dim, units)` kernel is virtual: each weight has an
    identifier, a hash function maps the identifier to an entry of a small
    trainable table, and `kernel = table[index]`. Weights whose identifiers
    collide share one entry. The index is a constant integer tensor built
    once in `build`; on TensorFlow, with `kernel_mode="gather"`, the
    table's gradient is a `tf.IndexedSlices`. The index is not saved: it
    is rebuilt from the config, so a saved model holds only the table and
    bias.

    Identifiers number the weights in the order given by `numbering`. A
    fraction `sparsity` of the weights, chosen by a hash of the seed, are
    constant zeros, which is our reading of the paper's "levels of
    sparsity" by analogy with the zeros of a convolution's Toeplitz matrix.

    Args:
        units: Positive integer, dimensionality of the output space.
        hash: Hash function or name (`"uniform"`, `"modulus"`,
            `"dirichlet"`, `"neighborhood"`, `"identity"`, `"hashed_nets"`),
            see `arbnet_keras.hashing`. Defaults to `"uniform"`, or the
            shared table's hash when `table` is given.
        table_size: Number of entries of the layer's own table.
        compression: Entries per virtual weight, in `(0, 1]`; the table
            gets `round(compression * input_dim * units)` entries. Give
            exactly one of `table_size` and `compression`, unless `table`
            is given or the hash sets the size (`Identity`, `Toeplitz`).
        sparsity: Fraction of the weights fixed at zero, in `[0, 1)`.
            Defaults to `0.0`.
        table: A `HashTable` shared with other layers, or `None` for a
            table of the layer's own. Defaults to `None`.
        seed: Non-negative integer seed of the hash, the zeros and the
            signs; `None` draws one, which `get_config` records. With a
            shared table the table's seed is used. Defaults to `None`.
        sign: Whether to multiply each weight by a fixed random sign, as
            HashedNets does. Defaults to `False`.
        numbering: Order in which weights get identifiers: `"out_in"`
            numbers row-major over `(units, input_dim)`, as PyTorch stores
            a linear layer and as the paper's authors likely did;
            `"in_out"` numbers row-major over Keras' `(input_dim, units)`
            kernel. It matters for structured hashes: with `"in_out"`, a
            modulus table of `k * units` entries makes every `k`-th row of
            the kernel equal. Defaults to `"out_in"`, or the shared table's.
        number_zeros: Whether weights fixed at zero consume identifiers
            (`True`) or only non-zero weights are numbered (`False`).
            Defaults to `True`, or the shared table's.
        activation: Activation function. Defaults to `None`.
        use_bias: Whether to add an (unshared) bias. Defaults to `True`.
        table_initializer: Initializer of the own table; a variance-scaling
            one is scaled to the virtual kernel's fans. Defaults to
            `"glorot_uniform"`.
        bias_initializer: Defaults to `"zeros"`.
        table_regularizer: Regularizer of the own table. Defaults to `None`.
        bias_regularizer: Defaults to `None`.
        activity_regularizer: Defaults to `None`.
        table_constraint: Constraint of the own table. Defaults to `None`.
        bias_constraint: Defaults to `None`.
        kernel_mode: How the kernel is computed from the table: `"gather"`
            is the reference `tf.gather` path, with `tf.IndexedSlices`
            table gradients; `"auto"` gives the same values and
            gradients faster, with a dense table gradient and, for the
            modulus and identity hashes, no stored index at all (see
            `arbnet_keras.layers.kernels`), and computes the entries in
            the graph for layers of over 2**25 weights whose hash can;
            `"hash"` always computes the entries inside the step from the
            identifiers, so no index is stored (version 2 `Uniform`,
            `Dirichlet` and `Neighborhood`, `HashedNets`, `Modulus`; see
            "Lookups, and which hashes store an index" in
            docs/concepts.md). On TensorFlow the hash is fused with the
            gather and with the table gradient's scatter-add by XLA, at
            close to the cost of reading a stored index. Defaults to
            `"auto"`.
        inference_cache: Whether calls with `training=False` (`predict`,
            `evaluate`) reuse the kernel computed by the previous such
            call while the table is unchanged. It is recomputed whenever
            the table differs from the snapshot taken with it, so it never
            goes stale, but it holds one kernel's worth of memory.
            TensorFlow only: a `ValueError` on other backends. Defaults
            to `False`.
        chunk_size: Virtual weights per chunk when the kernel's entries are
            computed in the graph (`kernel_mode="hash"`, or `"auto"` for
            layers of over 2**25 weights with a hash that can): the
            kernel is then made, used and dropped a block of units at a
            time and recomputed in the backward pass (`keras.remat`), so
            training memory holds the table and one chunk, not the virtual
            kernel. `None` chooses: chunks of 2**24 weights from 2**26
            weights on, none below. Defaults to `None`.
        id_offset: Where the layer's identifiers start in a shared table.
            Assigned at build and recorded in the config; leave `None`.
        position_offset: Likewise, for weight positions (zeros included).
        **kwargs: Base layer arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: Tensor of shape `(..., input_dim)`.

    Input shape:
        N-D tensor with shape `(batch_size, ..., input_dim)`.

    Output shape:
        N-D tensor with shape `(batch_size, ..., units)`.

    Example:

    >>> layer = HashedDense(200, hash="dirichlet", table_size=1000, seed=0)
    >>> layer(np.ones((2, 784), "float32")).shape
    (2, 200)
    >>> layer.table_variable.shape
    (1000,)

    Reference:
        - [Chen et al., 2015](https://arxiv.org/abs/1504.04788), HashedNets.
        - Chang and Lipson, "Balanced and Deterministic Weight-sharing
          Helps Network Performance" (ArbNets).
    """

    def __init__(
        self,
        units,
        hash=None,
        table_size=None,
        compression=None,
        sparsity=0.0,
        table=None,
        seed=None,
        sign=False,
        numbering=None,
        number_zeros=None,
        activation=None,
        use_bias=True,
        table_initializer="glorot_uniform",
        bias_initializer="zeros",
        table_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        table_constraint=None,
        bias_constraint=None,
        kernel_mode="auto",
        inference_cache=False,
        chunk_size=None,
        id_offset=None,
        position_offset=None,
        **kwargs,
    ):
        units = validate_positive_int("units", units)
        if inference_cache and keras.backend.backend() != "tensorflow":
            raise ValueError(
                "`inference_cache=True` needs the TensorFlow backend (it "
                "keeps the kernel in a `tf.Variable`); on JAX and PyTorch "
                "compile `predict` instead. Received: inference_cache=True "
                f"with backend {keras.backend.backend()!r}"
            )
        arguments = layer_hash_arguments(locals())
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self._set_hashing(arguments)
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.bias_constraint = constraints.get(bias_constraint)
        self.inference_cache = bool(inference_cache)
        if chunk_size is not None:
            chunk_size = validate_positive_int("chunk_size", chunk_size)
        self.chunk_size = chunk_size
        self.input_spec = keras.layers.InputSpec(min_ndim=2)
        self._kernel_cache = None

    def build(self, input_shape):
        input_dim = input_shape[-1]
        kernel_shape = (input_dim, self.units)
        self._build_hashed(kernel_shape)
        if self.inference_cache and keras.backend.backend() == "tensorflow":
            self._kernel_cache = KernelCache(
                kernel_shape,
                int(self.table_variable.shape[0]),
                self.variable_dtype,
            )
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(self.units,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        else:
            self.bias = None
        self.input_spec = keras.layers.InputSpec(
            min_ndim=2, axes={-1: input_dim}
        )

    @property
    def kernel(self):
        """The virtual kernel `table[index]`, of shape `(input_dim, units)`."""
        return self._hashed_weight()

    def call(self, inputs, training=None):
        if self._kernel_cache is not None and training is False:
            # Cached in Keras' layout, so `matmul` reads it like a
            # `Dense` kernel (a transposed operand is slower on oneDNN).
            kernel = self._kernel_cache(
                self.table_variable, self._hashed_weight
            )
            x = ops.matmul(inputs, kernel)
        else:
            block = self._block_units()
            if block < self.units:
                x = self._chunked_matmul(inputs, block)
            else:
                kernel = self._weight_fn(self.table_variable)
                x = self._matmul(inputs, kernel)
        if self.bias is not None:
            x = ops.add(x, self.bias)
        return self.activation(x)

    def _matmul(self, inputs, kernel):
        if self._weight_fn.axes is not None:
            return arb_ops.matmul_transposed(inputs, kernel)
        return ops.matmul(inputs, kernel)

    def _block_units(self):
        """Units per chunk of the kernel (`self.units`: no chunking)."""
        if not isinstance(self._weight_fn, GraphHashKernel):
            return self.units
        input_dim = self._weight_shape[0]
        chunk = self.chunk_size
        if chunk is None:
            if input_dim * self.units < AUTO_CHUNK_FROM:
                return self.units
            chunk = AUTO_CHUNK_SIZE
        return max(1, min(self.units, chunk // input_dim))

    def _chunked_matmul(self, inputs, block):
        """`inputs @ kernel`, the kernel made and used a block at a time.

        Each block of columns is computed from the identifiers, used and
        dropped, and recomputed in the backward pass
        (`arbnet_keras.ops.blockwise_matmul`), so memory holds the table
        and one block, never the whole kernel.
        """
        table = ops.convert_to_tensor(self.table_variable)
        transposed = self._weight_fn.axes is not None
        num_blocks = self.units // block
        outputs = []
        if num_blocks:

            def block_fn(t, j):
                return self._weight_fn.columns(t, j * block, block)

            outputs.append(
                arb_ops.blockwise_matmul(
                    inputs, table, block_fn, num_blocks, block, transposed
                )
            )
        rest = num_blocks * block
        if rest < self.units:  # A last, smaller block.
            outputs.append(
                arb_ops.blockwise_matmul(
                    inputs,
                    table,
                    lambda t, j: self._weight_fn.columns(
                        t, rest, self.units - rest
                    ),
                    1,
                    self.units - rest,
                    transposed,
                )
            )
        if len(outputs) == 1:
            return outputs[0]
        return ops.concatenate(outputs, axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(self._hashing_config())
        config.update(
            {
                "units": self.units,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "bias_initializer": initializers.serialize(
                    self.bias_initializer
                ),
                "bias_regularizer": regularizers.serialize(
                    self.bias_regularizer
                ),
                "bias_constraint": constraints.serialize(self.bias_constraint),
                "inference_cache": self.inference_cache,
                "chunk_size": self.chunk_size,
            }
        )
        return config
