"""Kernels computed in the graph a block at a time equal the whole kernel.

`HashedDense` makes a large in-graph kernel a block of units at a time,
forward and backward (`arbnet_keras.ops.blockwise_matmul`), so training
memory holds the table and one block. Values and gradients must be those
of the stored-index reference path, for every numbering, with zeros and
signs, a last smaller block, N-D inputs, and on every backend.
"""

import keras
import numpy as np
import pytest
from keras import ops

from arbnet_keras import HashedDense
from arbnet_keras.layers import hashed_dense

RNG = np.random.default_rng(0)


def _np(x):
    return ops.convert_to_numpy(x)


CASES = {
    "out_in": dict(numbering="out_in"),
    "in_out": dict(numbering="in_out"),
    "zeros_signs": dict(sparsity=0.2, sign=True),
    "hashed_nets": dict(hash="hashed_nets", sign=True),
}


def _pair(case, chunk_size, units=23, input_dim=37):
    kwargs = dict(hash="uniform", table_size=50, seed=1)
    kwargs.update(CASES[case])
    chunked = HashedDense(
        units, kernel_mode="hash", chunk_size=chunk_size, **kwargs
    )
    reference = HashedDense(units, kernel_mode="gather", **kwargs)
    chunked.build((None, input_dim))
    reference.build((None, input_dim))
    reference.set_weights(chunked.get_weights())
    return chunked, reference


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("units_per_block", [1, 5, 23])
def test_blocks_equal_the_whole_kernel(case, units_per_block):
    chunked, reference = _pair(case, chunk_size=37 * units_per_block)
    assert chunked._block_units() == units_per_block
    x = RNG.normal(size=(4, 37)).astype("float32")
    # O(1) values summed over 37 terms in other orders: float32 rounding.
    np.testing.assert_allclose(
        _np(chunked(x)), _np(reference(x)), rtol=1e-5, atol=1e-5
    )
    images = RNG.normal(size=(2, 3, 37)).astype("float32")
    np.testing.assert_allclose(
        _np(chunked(images)), _np(reference(images)), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_training_equals_the_reference(case):
    chunked, reference = _pair(case, chunk_size=37 * 5)
    x = RNG.normal(size=(8, 37)).astype("float32")
    y = RNG.normal(size=(8, 23)).astype("float32")
    tables = []
    for layer in (chunked, reference):
        model = keras.Sequential([keras.Input((37,)), layer])
        model.compile(keras.optimizers.SGD(0.01, momentum=0.9), "mse")
        model.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0)
        tables.append(_np(layer.table_variable))
    # Six small steps of O(1) values: both paths move the same table by
    # the same gradients, up to float32 reordering.
    np.testing.assert_allclose(tables[0], tables[1], rtol=1e-5, atol=1e-6)


def test_chunk_size_is_chosen_from_the_kernel(monkeypatch):
    small = HashedDense(8, hash="uniform", table_size=10, kernel_mode="hash")
    small.build((None, 16))
    assert small._block_units() == 8  # No chunking for small layers.
    monkeypatch.setattr(hashed_dense, "AUTO_CHUNK_FROM", 100)
    monkeypatch.setattr(hashed_dense, "AUTO_CHUNK_SIZE", 32)
    assert small._block_units() == 2
    stored = HashedDense(8, hash="uniform", table_size=10, chunk_size=16)
    stored.build((None, 16))
    assert stored._block_units() == 8  # A stored index is never chunked.


@pytest.mark.parametrize("value", [0, -5, 2.5, True, "big"])
def test_bad_chunk_size(value):
    with pytest.raises(ValueError, match="`chunk_size` must be a positive"):
        HashedDense(3, table_size=4, chunk_size=value)


def test_chunk_size_in_config():
    layer = HashedDense(3, table_size=4, chunk_size=64, seed=0)
    assert HashedDense.from_config(layer.get_config()).chunk_size == 64
