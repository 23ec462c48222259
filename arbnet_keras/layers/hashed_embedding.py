"""The `HashedEmbedding` layer: an embedding whose vectors live in a
table."""

import keras
from keras import ops

from arbnet_keras.hashing.hash_function import validate_positive_int
from arbnet_keras.layers.hashed_weights import HashedLayerMixin
from arbnet_keras.layers.hashed_weights import layer_hash_arguments


@keras.saving.register_keras_serializable(package="arbnet_keras")
class HashedEmbedding(HashedLayerMixin, keras.layers.Embedding):
    """An embedding whose `(input_dim, output_dim)` matrix is hashed.

    `keras.layers.Embedding` with a virtual matrix: the weight of token
    `t`, dimension `d` has an identifier, a hash function maps it to an
    entry of a small trainable table, and `embeddings = table[index]`.
    A lookup gathers only the entries of the tokens in the batch, so the
    virtual matrix is never materialized. With the default HashedNets
    hash (xxHash32, the hashing trick) or the modulus hash, not even an
    index is stored: the looked-up weights' entries are computed inside
    the step, bit for bit as `kernel_index()` computes them in NumPy, so
    `HashedEmbedding(10**7, 32, table_size=10**5)` costs its table's
    memory alone (the hashing trick for vocabularies that do not fit).
    Other hashes store a uint8/int16/int32 index of the virtual size. With the
    identity hash it equals `keras.layers.Embedding`. On TensorFlow with
    `kernel_mode="gather"` the table's gradient is a `tf.IndexedSlices` of
    the looked-up entries.

    An embedding is a dense layer applied to one-hot tokens, and its
    identifiers follow `HashedDense`'s: `"in_out"` numbers row-major over
    `(input_dim, output_dim)`, so a token's vector is consecutive (as both
    Keras and PyTorch store an embedding), `"out_in"` over
    `(output_dim, input_dim)`. A `HashedEmbedding` and a
    `HashedDense(output_dim, use_bias=False)` on one-hot inputs with the
    same hash arguments compute the same thing.

    Args:
        input_dim: Positive integer, the vocabulary size.
        output_dim: Positive integer, the embedding size.
        hash: Hash function or name, see `arbnet_keras.hashing`. Defaults
            to `"hashed_nets"`, or the shared table's hash.
        table_size: Number of entries of the layer's own table.
        compression: Entries per virtual weight, in `(0, 1]`. Give exactly
            one of `table_size` and `compression`, unless `table` is given
            or the hash sets the size.
        sparsity: Fraction of the weights fixed at zero, in `[0, 1)`.
            Defaults to `0.0`.
        table: A `HashTable` shared with other hashed layers, or `None`.
            Defaults to `None`.
        seed: Non-negative integer seed; `None` draws one, which
            `get_config` records. Defaults to `None`.
        sign: Whether to multiply each weight by a fixed random sign.
            Defaults to `False`.
        numbering: `"in_out"` or `"out_in"`, see above. With `"out_in"`
            and a modulus table whose size divides `input_dim`, every
            dimension of a token's vector is one entry. Defaults to
            `"in_out"`, or the shared table's numbering.
        number_zeros: Whether weights fixed at zero consume identifiers.
            Defaults to `True`, or the shared table's.
        table_initializer: Initializer of the own table. Defaults to
            `"uniform"`, `Embedding`'s default.
        table_regularizer: Regularizer of the own table. Defaults to `None`.
        table_constraint: Constraint of the own table. Defaults to `None`.
        mask_zero: Whether token 0 is padding to be masked, as in
            `Embedding`. Defaults to `False`.
        kernel_mode: `"auto"`, `"gather"` or `"hash"`, see `HashedDense`.
            Defaults to `"auto"`.
        id_offset: Where the layer's identifiers start in a shared table.
            Assigned at build and recorded in the config; leave `None`.
        position_offset: Likewise, for weight positions (zeros included).
        **kwargs: Base layer arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: Integer tensor of token ids in `[0, input_dim)`.

    Input shape:
        Tensor of any shape `(batch_size, ...)`.

    Output shape:
        `(batch_size, ..., output_dim)`.

    Example:

    >>> layer = HashedEmbedding(10**7, 32, table_size=10**5, seed=0)
    >>> layer(np.array([[1, 5, 9999999]])).shape
    (1, 3, 32)
    >>> layer.table_variable.shape
    (100000,)

    Reference:
        - [Chen et al., 2015](https://arxiv.org/abs/1504.04788), HashedNets.
        - Chang and Lipson, "Balanced and Deterministic Weight-sharing
          Helps Network Performance" (ArbNets).
    """

    _size_argument = "input_dim"
    _looks_up_rows = True

    def __init__(
        self,
        input_dim,
        output_dim,
        hash=None,
        table_size=None,
        compression=None,
        sparsity=0.0,
        table=None,
        seed=None,
        sign=False,
        numbering=None,
        number_zeros=None,
        table_initializer="uniform",
        table_regularizer=None,
        table_constraint=None,
        mask_zero=False,
        kernel_mode="auto",
        id_offset=None,
        position_offset=None,
        **kwargs,
    ):
        validate_positive_int("input_dim", input_dim)
        validate_positive_int("output_dim", output_dim)
        if numbering is None and table is None:
            numbering = "in_out"
        arguments = layer_hash_arguments(locals(), default_hash="hashed_nets")
        super().__init__(
            int(input_dim), int(output_dim), mask_zero=mask_zero, **kwargs
        )
        self._set_hashing(arguments)

    def build(self, input_shape=None):
        if self.built:
            return
        self._build_hashed((self.input_dim, self.output_dim))
        self.built = True

    @property
    def embeddings(self):
        """The virtual matrix `table[index]`, `(input_dim, output_dim)`.

        For inspection: lookups never materialize it.
        """
        if not self.built:
            raise AttributeError(
                "You must build the layer before accessing `embeddings`."
            )
        return self._hashed_weight()

    def call(self, inputs):
        if inputs.dtype != "int32" and inputs.dtype != "int64":
            inputs = ops.cast(inputs, "int32")
        outputs = self._weight_fn.lookup(self.table_variable, inputs)
        return ops.cast(outputs, dtype=self.compute_dtype)

    def get_config(self):
        config = keras.layers.Layer.get_config(self)
        config.update(
            {
                "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                "mask_zero": self.mask_zero,
            }
        )
        config.update(self._hashing_config())
        return config
