"""Identifiers and table entries of one layer's kernel."""

import dataclasses
import math

import numpy as np

from arbnet_keras.hashing.hash_function import chunked

NUMBERINGS = ("out_in", "in_out")


@dataclasses.dataclass(frozen=True)
class KernelIndex:
    """The sharing pattern of one kernel.

    Attributes:
        entries: int64 array shaped like the kernel: each weight's table
            entry, or `-1` for a constant zero.
        signs: int8 array of +1/-1 of the same shape, or `None` when the
            layer uses no sign hash.
        num_ids: Number of identifiers the kernel consumed.
        num_positions: Number of weights of the kernel, zeros included.
    """

    entries: np.ndarray
    signs: np.ndarray | None
    num_ids: int
    num_positions: int


def validate_numbering(numbering):
    if numbering not in NUMBERINGS:
        raise ValueError(
            "Invalid value for argument `numbering`. Expected one of "
            f"{NUMBERINGS}. Received: numbering={numbering!r}"
        )
    return numbering


def numbering_axes(numbering, ndim):
    """The axes of a Keras weight in the order its identifiers run.

    `"in_out"` numbers row-major over the Keras layout itself. `"out_in"`
    numbers row-major over PyTorch's layout: output axis (the last Keras
    axis) first, then the input axis, then the spatial axes of a
    convolution filter; `(units, input_dim)` for a dense kernel,
    `(filters, in_channels, *kernel_size)` for a convolution's.
    """
    validate_numbering(numbering)
    if numbering == "in_out" or ndim < 2:
        return tuple(range(ndim))
    return (ndim - 1, ndim - 2) + tuple(range(ndim - 2))


def kernel_ids(
    kernel_shape,
    seed,
    sparsity=0.0,
    numbering="out_in",
    number_zeros=True,
    id_offset=0,
    position_offset=0,
    hash_function=None,
):
    """Numbers the weights of a kernel.

    A weight's position is its flat index in numbering order: row-major
    over the Keras layout (`(input_dim, units)` for a dense kernel) for
    `"in_out"`, or row-major over PyTorch's layout (`(units, input_dim)`,
    `(filters, in_channels, *kernel_size)`) for `"out_in"`; see
    `numbering_axes`. Kernels of any rank are numbered. A fraction
    `sparsity` of positions, chosen independently by a hash of
    `(seed, position_offset + position)` (`hash_function.zeros`, whose
    version sets the draw; version 1 when `None`), are fixed at zero. The
    other weights get identifiers from `id_offset` on: their position when
    `number_zeros` is true (zeros consume identifiers), otherwise their
    rank among the non-zero weights.

    Returns:
        `(ids, num_ids)`: an int64 array of shape `kernel_shape` with `-1`
        for zeros, and the number of identifiers consumed.
    """
    kernel_shape = tuple(int(d) for d in kernel_shape)
    axes = numbering_axes(numbering, len(kernel_shape))
    size = math.prod(kernel_shape)
    # `order` lists positions in numbering order, laid out as the kernel.
    order = np.arange(size, dtype=np.int64).reshape(
        [kernel_shape[a] for a in axes]
    )
    order = np.ascontiguousarray(order.transpose(np.argsort(axes)))
    zero = None
    if sparsity > 0:
        if hash_function is None:
            from arbnet_keras.hashing.uniform import Uniform

            hash_function = Uniform(version=1)
        zero = chunked(
            lambda positions: hash_function.zeros(
                position_offset + positions, seed, sparsity
            ),
            order,
            dtype=bool,
        )
    if zero is None or number_zeros:
        ids = order + id_offset
        num_ids = size
    else:
        # Rank of each non-zero weight, counted in numbering order.
        live_in_order = np.zeros(size, dtype=bool)
        live_in_order[order[~zero]] = True
        rank = np.cumsum(live_in_order) - 1
        ids = rank[order] + id_offset
        num_ids = int(live_in_order.sum())
    if zero is not None:
        ids[zero] = -1
    return ids, num_ids


def kernel_index(
    hash_function,
    kernel_shape,
    table_size,
    seed,
    sparsity=0.0,
    numbering="out_in",
    number_zeros=True,
    sign=False,
    id_offset=0,
    position_offset=0,
):
    """Builds the `KernelIndex` of a kernel (see `kernel_ids`)."""
    ids, num_ids = kernel_ids(
        kernel_shape,
        seed,
        sparsity=sparsity,
        numbering=numbering,
        number_zeros=number_zeros,
        id_offset=id_offset,
        position_offset=position_offset,
        hash_function=hash_function,
    )
    entries = hash_function.index(ids, table_size, seed)
    signs = None
    if sign:
        signs = chunked(
            lambda c: hash_function.signs(c, seed),
            np.maximum(ids, 0),
            dtype=np.int8,
        )
    return KernelIndex(
        entries=entries,
        signs=signs,
        num_ids=num_ids,
        num_positions=math.prod(kernel_shape),
    )
