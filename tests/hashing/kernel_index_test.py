"""Identifiers and entries of a kernel: `kernel_ids` and `kernel_index`."""

import keras
import numpy as np
import pytest

from arbnet_keras import HashedDense
from arbnet_keras import hashing
from arbnet_keras.hashing.kernel_index import kernel_ids


class TestKernelIds:
    def test_in_out_hand_computed(self):
        ids, num_ids = kernel_ids((2, 3), seed=0, numbering="in_out")
        np.testing.assert_array_equal(ids, [[0, 1, 2], [3, 4, 5]])
        assert num_ids == 6

    def test_out_in_hand_computed(self):
        # Row-major over (units, input_dim): weight (i, j) gets j * 2 + i.
        ids, num_ids = kernel_ids((2, 3), seed=0, numbering="out_in")
        np.testing.assert_array_equal(ids, [[0, 2, 4], [1, 3, 5]])
        assert num_ids == 6

    def test_default_is_out_in(self):
        ids, _ = kernel_ids((3, 4), seed=0)
        np.testing.assert_array_equal(ids, np.arange(12).reshape(4, 3).T)

    def test_id_offset(self):
        ids, num_ids = kernel_ids((2, 3), seed=0, id_offset=10)
        np.testing.assert_array_equal(ids, [[10, 12, 14], [11, 13, 15]])
        assert num_ids == 6

    def test_ids_do_not_depend_on_seed_without_sparsity(self):
        np.testing.assert_array_equal(
            kernel_ids((5, 4), seed=1)[0], kernel_ids((5, 4), seed=2)[0]
        )

    @pytest.mark.parametrize("sparsity", [0.1, 0.5, 0.9])
    @pytest.mark.parametrize("numbering", ["in_out", "out_in"])
    def test_sparsity_fraction(self, sparsity, numbering):
        ids, num_ids = kernel_ids(
            (200, 100), seed=3, sparsity=sparsity, numbering=numbering
        )
        zero_fraction = np.mean(ids == -1)
        assert abs(zero_fraction - sparsity) < 0.01
        # Zeros consume identifiers by default: live ids are positions.
        assert num_ids == 200 * 100
        dense, _ = kernel_ids((200, 100), seed=3, numbering=numbering)
        live = ids >= 0
        np.testing.assert_array_equal(ids[live], dense[live])

    def test_sparsity_depends_on_seed(self):
        a, _ = kernel_ids((50, 40), seed=1, sparsity=0.5)
        b, _ = kernel_ids((50, 40), seed=2, sparsity=0.5)
        assert 0.4 < np.mean((a == -1) != (b == -1)) < 0.6

    @pytest.mark.parametrize("numbering", ["in_out", "out_in"])
    def test_number_zeros_false_numbers_live_weights(self, numbering):
        shape = (30, 20)
        ids, num_ids = kernel_ids(
            shape,
            seed=5,
            sparsity=0.4,
            numbering=numbering,
            number_zeros=False,
            id_offset=7,
        )
        dense, _ = kernel_ids(shape, seed=5, sparsity=0.4, numbering=numbering)
        # Same zeros as when zeros are numbered.
        np.testing.assert_array_equal(ids == -1, dense == -1)
        live = ids >= 0
        assert num_ids == live.sum()
        # Live weights, read in numbering order, are 7, 8, 9, ...
        in_order = ids if numbering == "in_out" else ids.T
        read = in_order[in_order >= 0]
        np.testing.assert_array_equal(read, 7 + np.arange(num_ids))

    def test_number_zeros_false_hand_computed(self):
        # Find a seed whose first row (in_out) has a zero, then check the
        # ranks by hand.
        ids, _ = kernel_ids((2, 3), seed=0, sparsity=0.5, numbering="in_out")
        ranked, num_ids = kernel_ids(
            (2, 3),
            seed=0,
            sparsity=0.5,
            numbering="in_out",
            number_zeros=False,
        )
        flat = ids.ravel()
        expected = np.full(6, -1)
        expected[flat >= 0] = np.arange(np.sum(flat >= 0))
        np.testing.assert_array_equal(ranked.ravel(), expected)
        assert num_ids == np.sum(flat >= 0)

    def test_position_offset_continues_the_zero_pattern(self):
        # A kernel numbered from position 20 has the zeros of rows 4-7 of
        # a kernel twice as large numbered from 0 ("in_out", 5 units).
        big, _ = kernel_ids((8, 5), seed=9, sparsity=0.5, numbering="in_out")
        part, _ = kernel_ids(
            (4, 5),
            seed=9,
            sparsity=0.5,
            numbering="in_out",
            position_offset=20,
            id_offset=20,
        )
        np.testing.assert_array_equal(part, big[4:])

    def test_invalid_numbering(self):
        with pytest.raises(
            ValueError,
            match=r"Invalid value for argument `numbering`\. Expected one "
            r"of \('out_in', 'in_out'\)\. Received: numbering='rows'",
        ):
            kernel_ids((2, 2), seed=0, numbering="rows")


class TestKernelIndex:
    def test_fields(self):
        index = hashing.kernel_index(
            hashing.Modulus(), (3, 4), 5, seed=0, numbering="in_out"
        )
        np.testing.assert_array_equal(
            index.entries, np.arange(12).reshape(3, 4) % 5
        )
        assert index.signs is None
        assert index.num_ids == 12
        assert index.num_positions == 12

    def test_sparse_with_signs(self):
        index = hashing.kernel_index(
            hashing.Uniform(),
            (40, 30),
            50,
            seed=1,
            sparsity=0.3,
            number_zeros=False,
            sign=True,
        )
        ids, num_ids = kernel_ids(
            (40, 30),
            1,
            sparsity=0.3,
            number_zeros=False,
            hash_function=hashing.Uniform(),
        )
        np.testing.assert_array_equal(index.entries == -1, ids == -1)
        live = ids >= 0
        np.testing.assert_array_equal(
            index.entries[live], hashing.Uniform()(ids[live], 50, 1)
        )
        assert index.num_ids == num_ids < 1200
        assert index.num_positions == 1200
        assert index.signs.dtype == np.int8
        assert index.signs.shape == (40, 30)
        np.testing.assert_array_equal(
            index.signs[live], hashing.Uniform().signs(ids[live], 1)
        )
        assert set(np.unique(index.signs)) == {-1, 1}

    def test_offsets(self):
        index = hashing.kernel_index(
            hashing.Modulus(),
            (2, 3),
            100,
            seed=0,
            id_offset=50,
            numbering="in_out",
        )
        np.testing.assert_array_equal(
            index.entries, [[50, 51, 52], [53, 54, 55]]
        )


class TestAliasing:
    """With `in_out` numbering, a modulus table of k * units entries
    repeats every k-th row of the kernel; `out_in` does not."""

    @staticmethod
    def _entries(numbering):
        layer = HashedDense(
            200,
            hash="modulus",
            table_size=1000,
            numbering=numbering,
            seed=0,
        )
        layer.build((None, 30))
        return layer, layer.kernel_index().entries

    def test_in_out_aliases(self):
        layer, entries = self._entries("in_out")
        np.testing.assert_array_equal(entries[5:], entries[:-5])
        assert len(np.unique(entries, axis=0)) == 5
        kernel = keras.ops.convert_to_numpy(layer.kernel)
        np.testing.assert_array_equal(kernel[5:], kernel[:-5])
        assert len(np.unique(entries)) == 1000

    def test_out_in_does_not_alias(self):
        layer, entries = self._entries("out_in")
        assert len(np.unique(entries, axis=0)) == 30
        kernel = keras.ops.convert_to_numpy(layer.kernel)
        assert len(np.unique(kernel, axis=0)) == 30
        # Still perfectly balanced: 6000 weights on 1000 entries.
        np.testing.assert_array_equal(np.bincount(entries.ravel()), 6)
