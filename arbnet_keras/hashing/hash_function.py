"""The base class of every hash function."""

import numbers

import keras
import numpy as np

from arbnet_keras.hashing import counter
from arbnet_keras.seeds import validate_seed


@keras.saving.register_keras_serializable(package="arbnet_keras")
class HashFunction:
    """Maps weight identifiers to entries of a hash table.

    A hash function is a deterministic function of `(identifier, table_size,
    seed)`: it never reads a global random state, so the same arguments give
    the same entries in every process. Subclasses implement `__call__` for
    identifier-based hashes; structured hashes (`Toeplitz`, an explicit
    `Custom` index) override `index`, which sees the whole kernel.

    An entry of `-1` means "a constant zero": the weight is not in the table
    and is never trained.
    """

    # Whether the hash decides the table's size (`required_table_size`).
    sets_table_size = False

    def __call__(self, ids, table_size, seed=0):
        """Returns the table entry (int64) of each identifier in `ids`.

        Args:
            ids: Array of non-negative integer identifiers.
            table_size: Number of entries of the table.
            seed: Integer seed.

        Returns:
            An int64 array shaped like `ids`, with values in
            `[0, table_size)`.
        """
        raise NotImplementedError(
            f"{self.__class__.__name__} must implement `__call__`."
        )

    def index(self, ids, table_size, seed=0):
        """Returns the entries of a whole kernel.

        Args:
            ids: Integer array shaped like the kernel: each weight's
                identifier, or `-1` for weights fixed at zero.
            table_size: Number of entries of the table.
            seed: Integer seed.

        Returns:
            An int64 array shaped like `ids` with values in
            `[-1, table_size)`, `-1` for a constant zero.

        Raises:
            ValueError: If `table_size` is not a positive integer or `seed`
                is not an integer in `[0, 2**64)`.
        """
        table_size, seed = validate_hash_arguments(table_size, seed)
        ids = np.asarray(ids, dtype=np.int64)
        live = ids >= 0
        if live.all():
            return chunked(lambda c: self(c, table_size, seed), ids)
        entries = np.full(ids.shape, -1, dtype=np.int64)
        entries[live] = chunked(lambda c: self(c, table_size, seed), ids[live])
        return entries

    def signs(self, ids, seed=0):
        """Returns a fixed random sign (+1 or -1, int8) per identifier."""
        bits = counter.random_bits(ids, seed, counter.STREAM_SIGN)
        return (1 - 2 * (bits >> np.uint64(63)).astype(np.int8)).astype(np.int8)

    # Whether `graph_entries` (and `graph_signs`) compute this hash inside
    # the model's graph, bit for bit as `__call__` does in NumPy.
    computes_in_graph = False

    def graph_entries(self, ids, table_size, seed=0):
        """Entries of `ids` computed with `keras.ops` in the model's graph.

        Only for hashes with `computes_in_graph`: equal to `__call__` for
        the same identifiers, so a layer can compute the entries it needs
        inside its step instead of storing an index.

        Args:
            ids: Integer tensor (int32, or int64 where the backend
                computes in 64 bits) of non-negative identifiers.
            table_size: Number of entries, at most
                `graph_hash.MAX_GRAPH_TABLE_SIZE`.
            seed: Integer seed.

        Returns:
            An integer tensor shaped like `ids`.
        """
        raise NotImplementedError(
            f"The {self.__class__.__name__} hash is not computed in the "
            "graph: its layers store an index."
        )

    def graph_signs(self, ids, seed, dtype):
        """`signs(ids, seed)` computed in the graph, as `dtype` (+1/-1)."""
        raise NotImplementedError(
            f"The {self.__class__.__name__} hash computes no signs in the "
            "graph."
        )

    def required_table_size(self, kernel_shape, num_ids):
        """The table size this hash needs, or `None` if any size works."""
        return None

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{self.__class__.__name__}({args})"

    def __eq__(self, other):
        return type(self) is type(other) and _config_equal(
            self.get_config(), other.get_config()
        )

    def __hash__(self):
        return hash(type(self))


# Elements per chunk of `chunked`: its temporaries (a few arrays of 8 MB)
# stay in cache, which makes hashing tens of millions of identifiers
# several times faster than one pass over whole arrays.
CHUNK = 1 << 20


def chunked(fn, values, dtype=np.int64):
    """Applies an elementwise `fn` to `values` one cache-sized chunk at a time.

    Args:
        fn: Function of a 1D array returning an array of the same length.
        values: Array of any shape.
        dtype: dtype of the result. Defaults to int64.

    Returns:
        An array shaped like `values`.
    """
    values = np.asarray(values)
    flat = values.reshape(-1)
    if flat.size <= CHUNK:
        return np.asarray(fn(flat), dtype=dtype).reshape(values.shape)
    out = np.empty(flat.size, dtype=dtype)
    for start in range(0, flat.size, CHUNK):
        out[start : start + CHUNK] = fn(flat[start : start + CHUNK])
    return out.reshape(values.shape)


def _config_equal(a, b):
    if a.keys() != b.keys():
        return False
    return all(np.array_equal(a[k], b[k]) for k in a)


def validate_hash_arguments(table_size, seed):
    """Checks the `table_size` and `seed` given to a hash function.

    Returns:
        `(table_size, seed)` as Python ints.

    Raises:
        ValueError: If `table_size` is not a positive integer or `seed` is
            not an integer in `[0, 2**64)`.
    """
    return validate_positive_int("table_size", table_size), validate_seed(seed)


def validate_table_holds(hash_function, size, shape, id_end, name):
    """Checks that a table of `size` entries holds what a hash needs.

    A hash that sets the table's size (`Identity`: one entry per
    identifier; `Toeplitz`: the convolution's weights) cannot index a
    smaller table. Layers that share a `HashTable` call this before
    claiming identifiers, so that the error names the argument that set
    the size, `size`, rather than failing inside the hash.

    Args:
        hash_function: The `HashFunction` that will index the table.
        size: Number of entries of the table.
        shape: Shape of the weight being indexed.
        id_end: One past the largest identifier the table will see (the
            layer's `id_offset` plus its number of identifiers).
        name: The argument that set `size`: `"size"` for a `HashTable`,
            `"table_size"` for a layer's own table.

    Raises:
        ValueError: If the hash needs more than `size` entries.
    """
    if not hash_function.sets_table_size:
        return
    required = hash_function.required_table_size(tuple(shape), id_end)
    if required is not None and size < required:
        raise ValueError(
            f"The {hash_function.__class__.__name__} hash needs a table of "
            f"at least {required} entries here (a weight of shape "
            f"{tuple(shape)}, identifiers below {id_end}): `{name}` must "
            f"be at least {required}. Received: {name}={size}"
        )


def validate_positive_number(name, value):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not np.isfinite(value)
        or value <= 0
    ):
        raise ValueError(
            f"`{name}` must be a positive, finite number. "
            f"Received: {name}={value!r}"
        )
    return float(value)


def validate_non_negative_int(name, value):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < 0
    ):
        raise ValueError(
            f"`{name}` must be a non-negative integer. "
            f"Received: {name}={value!r}"
        )
    return int(value)


def validate_positive_int(name, value):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value <= 0
    ):
        raise ValueError(
            f"`{name}` must be a positive integer. Received: {name}={value!r}"
        )
    return int(value)
