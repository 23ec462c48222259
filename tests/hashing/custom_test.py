"""User-defined sharing: `Custom(fn=...)` and `Custom(index=...)`."""

import json
import re

import keras
import numpy as np
import pytest

from arbnet_keras import HashedDense
from arbnet_keras import hashing


@keras.saving.register_keras_serializable(package="arbnet_tests")
def pairs_hash(ids, table_size, seed):
    """Consecutive identifiers share an entry; odd seeds shift by one."""
    return (ids // 2 + seed % 2) % table_size


@keras.saving.register_keras_serializable(package="arbnet_tests")
def drop_multiples_of_three(ids, table_size, seed):
    return np.where(ids % 3 == 0, -1, ids % table_size)


class TestFn:
    def test_calls_fn(self):
        custom = hashing.Custom(fn=pairs_hash)
        np.testing.assert_array_equal(
            custom(np.arange(6), 10, seed=0), [0, 0, 1, 1, 2, 2]
        )
        np.testing.assert_array_equal(
            custom(np.arange(6), 10, seed=1), [1, 1, 2, 2, 3, 3]
        )
        assert custom(np.arange(6), 10).dtype == np.int64

    def test_index_over_a_kernel(self):
        custom = hashing.Custom(fn=pairs_hash)
        ids = np.array([[0, 1, 2], [3, -1, 5]])
        np.testing.assert_array_equal(
            custom.index(ids, 10), [[0, 0, 1], [1, -1, 2]]
        )

    def test_fn_may_return_zeros(self):
        custom = hashing.Custom(fn=drop_multiples_of_three)
        np.testing.assert_array_equal(
            custom(np.arange(7), 4), [-1, 1, 2, -1, 0, 1, -1]
        )

    def test_serialize_round_trip(self):
        custom = hashing.Custom(fn=pairs_hash)
        config = json.loads(json.dumps(hashing.serialize(custom)))
        restored = hashing.deserialize(config)
        assert isinstance(restored, hashing.Custom)
        assert restored.fn is pairs_hash
        assert restored.get_config() == custom.get_config()
        np.testing.assert_array_equal(
            restored(np.arange(50), 7, 1), custom(np.arange(50), 7, 1)
        )

    def test_layer_uses_fn(self):
        layer = HashedDense(
            3, hash=hashing.Custom(fn=pairs_hash), table_size=4, seed=0
        )
        layer.build((None, 2))
        # "out_in" numbering: id = unit * input_dim + input.
        ids = np.arange(6).reshape(3, 2).T
        np.testing.assert_array_equal(
            layer.kernel_index().entries, (ids // 2) % 4
        )

    def test_wrong_shape(self):
        custom = hashing.Custom(fn=lambda ids, n, seed: ids[:1])
        with pytest.raises(
            ValueError,
            match=r"`fn` must give one entry per weight, shape \(5,\)\. "
            r"Received: fn of shape \(1,\)",
        ):
            custom(np.arange(5), 10)

    def test_not_integer(self):
        custom = hashing.Custom(fn=lambda ids, n, seed: ids / 2)
        with pytest.raises(ValueError, match=r"`fn` must give integer entries"):
            custom(np.arange(5), 10)

    @pytest.mark.parametrize("shift", [10, -2])
    def test_out_of_range(self, shift):
        custom = hashing.Custom(fn=lambda ids, n, seed: ids + shift)
        with pytest.raises(
            ValueError, match=r"Entries of `fn` must lie in \[-1, 10\)"
        ):
            custom(np.arange(5), 10)

    def test_not_callable(self):
        with pytest.raises(
            ValueError, match=r"`fn` must be callable\. Received: fn=3"
        ):
            hashing.Custom(fn=3)


class TestIndex:
    INDEX = [[0, 1], [2, -1], [1, 0]]

    def test_index_is_returned(self):
        custom = hashing.Custom(index=self.INDEX)
        entries = custom.index(np.zeros((3, 2), "int64"), 3)
        np.testing.assert_array_equal(entries, self.INDEX)
        assert entries.dtype == np.int64

    def test_zeros_of_sparsity_win(self):
        custom = hashing.Custom(index=self.INDEX)
        ids = np.array([[0, -1], [0, 0], [-1, 0]])
        np.testing.assert_array_equal(
            custom.index(ids, 3), [[0, -1], [2, -1], [-1, 0]]
        )

    def test_serialize_round_trip(self):
        custom = hashing.Custom(index=np.array(self.INDEX))
        config = json.loads(json.dumps(hashing.serialize(custom)))
        restored = hashing.deserialize(config)
        assert restored == custom
        np.testing.assert_array_equal(restored.index_array, self.INDEX)

    def test_call_needs_a_kernel(self):
        with pytest.raises(ValueError, match=r"maps whole kernels only"):
            hashing.Custom(index=self.INDEX)(np.arange(6), 3)

    def test_wrong_shape(self):
        custom = hashing.Custom(index=self.INDEX)
        with pytest.raises(
            ValueError,
            match=r"`index` must give one entry per weight, shape \(2, 3\)\. "
            r"Received: index of shape \(3, 2\)",
        ):
            custom.index(np.zeros((2, 3), "int64"), 3)

    def test_wrong_shape_in_layer(self):
        layer = HashedDense(
            3, hash=hashing.Custom(index=self.INDEX), table_size=3
        )
        with pytest.raises(
            ValueError, match=r"`index` must give one entry per weight"
        ):
            layer.build((None, 2))

    @pytest.mark.parametrize("bad", [3, 100])
    def test_out_of_range(self, bad):
        index = np.array(self.INDEX)
        index[1, 0] = bad
        custom = hashing.Custom(index=index)
        with pytest.raises(
            ValueError,
            match=r"Entries of `index` must lie in \[-1, 3\) \(-1 is a "
            r"constant zero\)\. Received: entries in",
        ):
            custom.index(np.zeros((3, 2), "int64"), 3)

    def test_out_of_range_in_layer(self):
        layer = HashedDense(
            2, hash=hashing.Custom(index=[[0, 1], [2, 5]]), table_size=3
        )
        with pytest.raises(ValueError, match=r"Entries of `index`"):
            layer.build((None, 2))

    @pytest.mark.parametrize(
        "index",
        [[0, 1, 2], [[[0]]], [[0.0, 1.0]], [["a", "b"]], [[True, False]]],
        ids=["1d", "3d", "float", "str", "bool"],
    )
    def test_not_a_2d_integer_array(self, index):
        with pytest.raises(
            ValueError,
            match=r"`index` must be a 2D integer array of shape "
            r"\(input_dim, units\)\. Received: index=array of shape",
        ):
            hashing.Custom(index=index)

    def test_ragged_rows(self):
        # NumPy's own message ("inhomogeneous shape") names no argument.
        with pytest.raises(
            ValueError,
            match=r"`index` must be a 2D integer array of shape "
            r"\(input_dim, units\), with rows of equal length\. "
            r"Received: index=\[\[0, 1\], \[2\]\]$",
        ):
            hashing.Custom(index=[[0, 1], [2]])

    @pytest.mark.parametrize(
        "index, received",
        [
            # A uint64 entry of 2**64 - 1 once wrapped to -1, a zero.
            (
                np.array([[0, 2**64 - 1]], np.uint64),
                "[0, 18446744073709551615]",
            ),
            # 2**63 once wrapped to -2**63, a range never passed.
            (np.array([[2**63, 1]], np.uint64), "[1, 9223372036854775808]"),
            # Python integers beyond int64 make NumPy choose float64.
            ([[2**63, -1]], "[-1, 9223372036854775808]"),
            ([[2**64, 0]], "[0, 18446744073709551616]"),
            ([[0, -2]], "[-2, 0]"),
            (np.array([[-3, 0]], np.int8), "[-3, 0]"),
        ],
        ids=[
            "uint64_max",
            "uint64_2**63",
            "list_2**63",
            "list_2**64",
            "minus_two",
            "int8",
        ],
    )
    def test_entries_outside_int64_or_below_minus_one(self, index, received):
        with pytest.raises(
            ValueError,
            match=r"Entries of `index` must be -1 \(a constant zero\) or "
            r"table entries, non-negative integers below 2\*\*63\. "
            rf"Received: index with entries in {re.escape(received)}$",
        ):
            hashing.Custom(index=index)

    @pytest.mark.parametrize("dtype", [np.uint8, np.uint64, np.int32])
    def test_any_integer_dtype_in_range(self, dtype):
        custom = hashing.Custom(
            index=np.array(self.INDEX).clip(0).astype(dtype)
        )
        entries = custom.index(np.zeros((3, 2), "int64"), 3)
        np.testing.assert_array_equal(entries, np.clip(self.INDEX, 0, None))
        assert entries.dtype == np.int64

    def test_python_integers_from_a_list(self):
        custom = hashing.Custom(index=[[2**62, -1]])
        assert custom.index_array.dtype == np.int64
        np.testing.assert_array_equal(custom.index_array, [[2**62, -1]])


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"fn": pairs_hash, "index": [[0]]}],
    ids=["neither", "both"],
)
def test_exactly_one_of_fn_and_index(kwargs):
    with pytest.raises(
        ValueError,
        match=r"Exactly one of `fn` or `index` must be given\. Received: fn=",
    ):
        hashing.Custom(**kwargs)
