"""A hash table that several hashed layers share."""

import keras
from keras import constraints
from keras import initializers
from keras import regularizers

from arbnet_keras import hashing
from arbnet_keras.hashing.hash_function import validate_positive_int
from arbnet_keras.hashing.kernel_index import validate_numbering
from arbnet_keras.initializers import table_initializer
from arbnet_keras.seeds import resolve_seed


@keras.saving.register_keras_serializable(package="arbnet_keras")
class HashTable(keras.layers.Layer):
    """One trainable table shared by several hashed layers.

    Pass the same `HashTable` as `table=` to several hashed layers
    (`HashedDense`, `HashedConv1D`, `HashedConv2D`, `HashedEmbedding`, in
    any mix) to make them one
    ArbNet: every weight of every layer gets an identifier unique across
    the table (each layer's identifiers start where the previous layer's
    end, in build order) and the table's hash function maps identifiers to
    its entries, so weights collide across layers as well as within them.
    With the modulus hash and `size` equal to a layer's size, this is an
    RNN's sharing (section 2.3 of the ArbNets paper).

    The hash function, seed and numbering conventions set here are the
    defaults of the layers that use the table; the seed is the table's
    alone, so a Dirichlet table draws one `p` for all its layers. A saved
    model keeps the sharing: the table is saved once and each layer records
    where its identifiers start.

    Args:
        size: Positive integer, the number of entries.
        hash: Hash function or name, see `arbnet_keras.hashing.get`.
            Defaults to `"uniform"`.
        seed: Non-negative integer seed of the hash; `None` draws one,
            which `get_config` records. Defaults to `None`.
        numbering: `"out_in"` or `"in_out"`, see `HashedDense`.
            Defaults to `"out_in"`.
        number_zeros: Whether weights fixed at zero consume identifiers,
            see `HashedDense`. Defaults to `True`.
        initializer: Initializer of the entries. A variance-scaling one
            (the default Glorot uniform) is scaled to the fans of the
            first layer that uses the table. Defaults to
            `"glorot_uniform"`.
        regularizer: Regularizer of the entries. Defaults to `None`.
        constraint: Constraint of the entries. Defaults to `None`.
        **kwargs: Base layer arguments, such as `name` and `dtype`.

    Example:

    >>> import keras
    >>> from arbnet_keras import HashedDense
    >>> table = HashTable(1000, hash="dirichlet", seed=0)
    >>> model = keras.Sequential([
    ...     keras.Input((784,)),
    ...     HashedDense(200, table=table, activation="elu"),
    ...     HashedDense(10, table=table),
    ... ])
    >>> len(model.trainable_weights)  # One table and two biases.
    3
    """

    def __init__(
        self,
        size,
        hash="uniform",
        seed=None,
        numbering="out_in",
        number_zeros=True,
        initializer="glorot_uniform",
        regularizer=None,
        constraint=None,
        **kwargs,
    ):
        size = validate_positive_int("size", size)
        hash = hashing.get(hash)
        validate_numbering(numbering)
        seed = resolve_seed(seed)
        super().__init__(**kwargs)
        self.size = size
        self.hash = hash
        self.seed = seed
        self.numbering = numbering
        self.number_zeros = bool(number_zeros)
        self.initializer = initializers.get(initializer)
        self.regularizer = regularizers.get(regularizer)
        self.constraint = constraints.get(constraint)
        self.variable = None
        self._next_id = 0
        self._next_position = 0
        self._claimed_starts = ()

    def build(self, fans=(1, 1)):
        """Creates the table variable; called by the first layer using it.

        Keras may build a layer inside a scratch trace; the variable is
        created like every Keras variable, outside it.

        Args:
            fans: `(fan_in, fan_out)` of that layer's virtual kernel, which
                scale a variance-scaling initializer.
        """
        if self.built:
            return
        self.variable = self.add_weight(
            name="table",
            shape=(self.size,),
            initializer=table_initializer(self.initializer, fans),
            regularizer=self.regularizer,
            constraint=self.constraint,
        )
        self.built = True

    def claim(
        self, num_ids, num_positions, id_offset=None, position_offset=None
    ):
        """Reserves identifiers for a layer and returns where they start.

        Args:
            num_ids: Number of identifiers the layer needs.
            num_positions: Number of weights of the layer, zeros included.
            id_offset: Start recorded by a saved layer, or `None` to take
                the next free identifiers.
            position_offset: Likewise for positions.

        Returns:
            `(id_offset, position_offset)`.
        """
        if id_offset is None:
            id_offset = self._next_id
        if position_offset is None:
            position_offset = self._next_position
        self._claimed_starts = self._claimed_starts + (position_offset,)
        self._next_id = max(self._next_id, id_offset + num_ids)
        self._next_position = max(
            self._next_position, position_offset + num_positions
        )
        return id_offset, position_offset

    def is_claimed(self, position_offset):
        """Whether a layer already claimed positions from `position_offset`.

        With `None` (a layer not yet built), whether the table is built.
        """
        if position_offset is None:
            return self.built
        return position_offset in self._claimed_starts

    @property
    def num_ids(self):
        """Number of identifiers claimed so far by the layers."""
        return self._next_id

    @property
    def num_positions(self):
        """Number of weight positions claimed so far, zeros included."""
        return self._next_position

    def call(self, inputs=None):
        return self.variable

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "size": self.size,
                "hash": hashing.serialize(self.hash),
                "seed": self.seed,
                "numbering": self.numbering,
                "number_zeros": self.number_zeros,
                "initializer": initializers.serialize(self.initializer),
                "regularizer": regularizers.serialize(self.regularizer),
                "constraint": constraints.serialize(self.constraint),
            }
        )
        return config
