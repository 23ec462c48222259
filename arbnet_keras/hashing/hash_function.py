"""The base class of every hash function."""

import numbers

import keras
import numpy as np

from arbnet_keras.hashing import counter
from arbnet_keras.hashing import graph_hash
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

    # The version of the random draws: 1, SplitMix64 in 64-bit arithmetic
    # (every config saved before version 2 existed); 2, a 32-bit counter
    # that the graph computes bit for bit (`graph_hash`), so layers need
    # no stored index. Hashes with a `version` argument default to 2 and
    # read configs without one as 1.
    version = 1

    def signs(self, ids, seed=0):
        """Returns a fixed random sign (+1 or -1, int8) per identifier."""
        if self.version == 2:
            return graph_hash.signs32(ids, seed, counter.STREAM_SIGN)
        bits = counter.random_bits(ids, seed, counter.STREAM_SIGN)
        return (1 - 2 * (bits >> np.uint64(63)).astype(np.int8)).astype(np.int8)

    def zeros(self, positions, seed, sparsity):
        """Which weight positions (a bool array) are fixed at zero.

        Args:
            positions: Array of non-negative positions (zeros included).
            seed: Integer seed.
            sparsity: Fraction of zeros, in `[0, 1)`.
        """
        if self.version == 2:
            threshold = graph_hash.probability_threshold(sparsity)
            return graph_hash.below32(
                positions, seed, counter.STREAM_ZERO, threshold
            )
        return (
            counter.random_uniform(positions, seed, counter.STREAM_ZERO)
            < sparsity
        )

    @property
    def computes_signs_in_graph(self):
        """Whether `graph_signs` computes `signs` inside the graph."""
        return self.version == 2

    @property
    def computes_zeros_in_graph(self):
        """Whether `graph_zeros` computes `zeros` inside the graph."""
        return self.version == 2

    def graph_zeros(self, positions, seed, sparsity):
        """`zeros(positions, seed, sparsity)` computed in the graph."""
        if not self.computes_zeros_in_graph:
            raise NotImplementedError(
                f"{self!r} draws its zeros in 64 bits: its layers store them."
            )
        threshold = graph_hash.probability_threshold(sparsity)
        return graph_hash.graph_below32(
            positions, seed, counter.STREAM_ZERO, threshold
        )

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
        if not self.computes_signs_in_graph:
            raise NotImplementedError(
                f"The {self.__class__.__name__} hash computes no signs in "
                "the graph."
            )
        return graph_hash.graph_signs32(ids, seed, counter.STREAM_SIGN, dtype)

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


def validate_version(version):
    """Checks a hash's `version` argument (1 or 2)."""
    if isinstance(version, bool) or version not in (1, 2):
        raise ValueError(
            "Invalid value for argument `version`. Expected one of (1, 2). "
            f"Received: version={version!r}"
        )
    return int(version)


def versioned_config(config):
    """A config saved before `version` existed describes version 1."""
    config = dict(config)
    config.setdefault("version", 1)
    return config


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
