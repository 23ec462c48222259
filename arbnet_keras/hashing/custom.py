"""User-defined sharing: a callable or an explicit index array."""

import numbers
import reprlib

import keras
import numpy as np

from arbnet_keras.hashing.hash_function import HashFunction
from arbnet_keras.hashing.hash_function import validate_hash_arguments

_INT64_MAX = int(np.iinfo(np.int64).max)


@keras.saving.register_keras_serializable(package="arbnet_keras")
class Custom(HashFunction):
    """Any sharing pattern: a function of the identifiers, or a fixed index.

    Give exactly one of `fn` or `index`.

    Args:
        fn: Callable `fn(ids, table_size, seed)` returning an integer array
            shaped like `ids` with entries in `[-1, table_size)` (`-1` for a
            constant zero). To save models that use it, register it with
            `keras.saving.register_keras_serializable`.
        index: Integer array of the kernel's shape `(input_dim, units)` with
            entries in `[-1, table_size)`. It is stored in the layer's
            config, so keep it small or prefer `fn`.

    Raises:
        ValueError: If not exactly one of `fn` and `index` is given, `fn`
            is not callable, or `index` is not a 2D integer array with
            entries of at least `-1` that fit in int64.

    Example:

    >>> Custom(index=[[0, 1], [1, -1]]).index(
    ...     np.zeros((2, 2), "int64"), table_size=2)
    array([[ 0,  1],
           [ 1, -1]])
    """

    def __init__(self, fn=None, index=None):
        if (fn is None) == (index is None):
            raise ValueError(
                "Exactly one of `fn` or `index` must be given. "
                f"Received: fn={fn!r}, index={_short(index)}"
            )
        if fn is not None and not callable(fn):
            if isinstance(fn, dict):
                fn = keras.saving.deserialize_keras_object(fn)
            else:
                raise ValueError(f"`fn` must be callable. Received: fn={fn!r}")
        self.fn = fn
        self.index_array = None if index is None else _index_array(index)

    def __call__(self, ids, table_size, seed=0):
        if self.fn is None:
            raise ValueError(
                "A `Custom` hash with an explicit `index` maps whole "
                "kernels only; use it through `HashedDense`."
            )
        table_size, seed = validate_hash_arguments(table_size, seed)
        ids = np.asarray(ids, dtype=np.int64)
        entries = np.asarray(self.fn(ids, table_size, seed))
        _check_entries("fn", entries, ids.shape, table_size)
        return entries.astype(np.int64)

    def index(self, ids, table_size, seed=0):
        ids = np.asarray(ids, dtype=np.int64)
        if self.index_array is None:
            return super().index(ids, table_size, seed)
        table_size, seed = validate_hash_arguments(table_size, seed)
        entries = self.index_array
        _check_entries("index", entries, ids.shape, table_size)
        return np.where(ids < 0, -1, entries)

    def get_config(self):
        if self.fn is not None:
            return {"fn": keras.saving.serialize_keras_object(self.fn)}
        return {"index": self.index_array.tolist()}


def _index_array(index):
    """`index` as an int64 array, checked before a conversion can wrap."""
    expected = "`index` must be a 2D integer array of shape (input_dim, units)"
    try:
        array = np.asarray(index)
    except ValueError:
        # Rows of different lengths: NumPy's message names no argument.
        raise ValueError(
            f"{expected}, with rows of equal length. "
            f"Received: index={reprlib.repr(index)}"
        ) from None
    if array.ndim != 2:
        raise ValueError(f"{expected}. Received: index={_short(array)}")
    if np.issubdtype(array.dtype, np.integer):
        values = array
    elif not isinstance(index, np.ndarray) and _all_integers(index):
        # Python integers beyond int64 make NumPy pick float64 or object.
        values = np.asarray(index, dtype=object)
    else:
        raise ValueError(f"{expected}. Received: index={_short(array)}")
    if values.size:
        low, high = int(values.min()), int(values.max())
        if low < -1 or high > _INT64_MAX:
            raise ValueError(
                "Entries of `index` must be -1 (a constant zero) or table "
                "entries, non-negative integers below 2**63. Received: "
                f"index with entries in [{low}, {high}]"
            )
    return values.astype(np.int64)


def _all_integers(rows):
    return all(
        isinstance(value, numbers.Integral) and not isinstance(value, bool)
        for row in rows
        for value in row
    )


def _check_entries(name, entries, shape, table_size):
    if entries.shape != tuple(shape):
        raise ValueError(
            f"`{name}` must give one entry per weight, shape "
            f"{tuple(shape)}. Received: {name} of shape {entries.shape}"
        )
    if not np.issubdtype(entries.dtype, np.integer):
        raise ValueError(
            f"`{name}` must give integer entries. "
            f"Received: dtype={entries.dtype}"
        )
    if entries.size and (entries.min() < -1 or entries.max() >= table_size):
        raise ValueError(
            f"Entries of `{name}` must lie in [-1, {table_size}) (-1 is a "
            f"constant zero). Received: entries in [{int(entries.min())}, "
            f"{int(entries.max())}]"
        )


def _short(array):
    if array is None:
        return None
    array = np.asarray(array)
    return f"array of shape {array.shape} and dtype {array.dtype}"
