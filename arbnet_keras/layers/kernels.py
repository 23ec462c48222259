"""How a hashed layer turns its table into a weight tensor.

Three strategies produce the same kernel and the same table gradient:

- `GatherKernel`: `kernel = table[index]` with a stored constant index. In
  `"gather"` mode the table gradient is a `tf.IndexedSlices` with one
  slice per entry the kernel uses, summed the way `"auto"` sums it (a
  `tf.gather` gradient would hold one slice per virtual weight, which the
  optimizer then sums with a segment sum five times slower than the whole
  step). In `"auto"` mode the table gradient is computed densely:
  `bincount` with weights outside XLA (faster than a scatter-add there),
  a scatter-add inside XLA.
- `TiledKernel`: for identifiers that run contiguously through the kernel
  and a hash of the form `entry = id mod n` (modulus, identity,
  neighborhood of radius 0), the kernel laid out in numbering order is the
  table rotated and tiled, so no index is stored and no gather runs; the
  gradient folds the tiles back and sums them.
- `GraphHashKernel`: no index; the entries are hashed from the weights'
  identifiers inside the step, bit for bit as the NumPy index builder
  would. On TensorFlow the hash, the gather and the scale run as one
  XLA-compiled function, and so do the hash and the scatter-add of the
  table gradient (`EntryTake`), about as fast as reading a stored index.

The index is stored in the narrowest integer type that holds the table's
entries (uint8, int16 or int32): a byte a weight for tables of at most 256
entries (`hashing.KMeans` of 16 to 256 clusters), two bytes up to 32,768.
It is cast to int32 where it is gathered from, which every backend's
gather accepts.
"""

import math

import keras
import numpy as np
from keras import ops

from arbnet_keras.hashing import Identity
from arbnet_keras.hashing import Modulus
from arbnet_keras.hashing import Neighborhood
from arbnet_keras.hashing.graph_hash import MAX_GRAPH_TABLE_SIZE
from arbnet_keras.layers.constants import lazy

KERNEL_MODES = ("auto", "gather", "hash")

# Virtual weights from which `"auto"` computes a dense or convolution
# kernel's entries in the graph (when the hash can) rather than storing an
# index of 4 bytes a weight: above this, memory matters more than the
# hashing's time.
GRAPH_HASH_MIN_WEIGHTS = 2**25


def validate_kernel_mode(kernel_mode):
    if kernel_mode not in KERNEL_MODES:
        raise ValueError(
            "Invalid value for argument `kernel_mode`. Expected one of "
            f"{KERNEL_MODES}. Received: kernel_mode={kernel_mode!r}"
        )
    return kernel_mode


def is_tileable(hash_function, sparsity, number_zeros):
    """Whether `entry = (id_offset + position) mod n` holds for the kernel."""
    contiguous = sparsity == 0 or number_zeros
    if isinstance(hash_function, Neighborhood):
        return contiguous and hash_function.radius == 0
    return contiguous and isinstance(hash_function, (Modulus, Identity))


def computes_in_graph(hash_function, sparsity, sign, number_zeros):
    """Whether the entries, zeros and signs can be computed in the graph."""
    if not hash_function.computes_in_graph:
        return False
    if sparsity > 0 and not (
        number_zeros and hash_function.computes_zeros_in_graph
    ):
        return False
    return hash_function.computes_signs_in_graph or not sign


def make_kernel(
    build_index, table_size, hash_function, layout, kernel_mode, dtype
):
    """Returns the kernel strategy of a hashed weight being built.

    Args:
        build_index: Function returning its `hashing.KernelIndex`; not
            called when the strategy needs no index (a tiled kernel
            without zeros or signs, entries computed in the graph), so
            huge virtual weights cost nothing to build.
        table_size: Number of entries of the table.
        hash_function: Its hash function.
        layout: Its `Layout` (shape, numbering, offsets, sparsity, signs,
            and whether the layer only looks rows up).
        kernel_mode: `"auto"`, `"gather"` or `"hash"`.
        dtype: Compute dtype of the weight.
    """
    in_graph = computes_in_graph(
        hash_function, layout.sparsity, layout.sign, layout.number_zeros
    )
    if kernel_mode == "hash" and not in_graph:
        raise ValueError(
            '`kernel_mode="hash"` computes entries inside the graph, which '
            "needs a hash that can: `Uniform`, `Dirichlet`, `Neighborhood` "
            "(version 2, the default), `HashedNets` or `Modulus`; with "
            "sparsity, a version 2 hash and `number_zeros=True`; with "
            "signs, a version 2 hash or `HashedNets`. Received: "
            f"hash={hash_function!r}, sparsity={layout.sparsity}, "
            f"sign={layout.sign}, number_zeros={layout.number_zeros}"
        )
    tiled = kernel_mode == "auto" and is_tileable(
        hash_function, layout.sparsity, layout.number_zeros
    )
    if not tiled and in_graph and table_size <= MAX_GRAPH_TABLE_SIZE:
        large = math.prod(layout.shape) >= GRAPH_HASH_MIN_WEIGHTS
        if kernel_mode == "hash" or (
            kernel_mode == "auto" and (layout.lookup or large)
        ):
            return GraphHashKernel(
                hash_function,
                layout,
                table_size=table_size,
                seed=layout.seed,
                dtype=dtype,
            )
    scale = None
    if not tiled or layout.sparsity > 0 or layout.sign:
        index = build_index()
        live = index.entries >= 0
        if index.signs is not None or not live.all():
            scale = live if index.signs is None else index.signs * live
    if tiled:
        return TiledKernel(
            kernel_shape=layout.shape,
            offset=layout.id_offset,
            table_size=table_size,
            axes=layout.axes,
            scale=scale,
            dtype=dtype,
        )
    return GatherKernel(
        np.where(live, index.entries, 0),
        table_size=table_size,
        dense_gradient=kernel_mode == "auto",
        scale=scale,
        dtype=dtype,
    )


class GatherKernel:
    """`kernel = table[index] * scale`; see the module docstring.

    Attributes:
        axes: `None`: the kernel comes out in Keras' layout.
    """

    axes = None

    def __init__(self, entries, table_size, dense_gradient, scale, dtype):
        self.index = lazy(entries, index_dtype(table_size))
        self.table_size = table_size
        self.dense_gradient = dense_gradient
        self.scale = lazy(scale, dtype)
        # The entries the kernel uses: the rows of its sparse gradient.
        self.used = None
        if not dense_gradient:
            self.used = lazy(np.unique(entries), "int32")

    def __call__(self, table):
        index = self.index(table)
        scale = None if self.scale is None else self.scale(table)
        if self.used is not None and keras.backend.backend() == "tensorflow":
            return _gather_dense_grad(
                table, index, scale, self.table_size, self.used(table)
            )
        return _take(table, index, scale, self.table_size, self.dense_gradient)

    def lookup(self, table, rows):
        """`kernel[rows]` without the kernel: gathers the rows' entries."""
        index = ops.take(self.index(table), rows, axis=0)
        scale = None
        if self.scale is not None:
            scale = ops.take(self.scale(table), rows, axis=0)
        return _take(table, index, scale, self.table_size, self.dense_gradient)


class TiledKernel:
    """The kernel of `entry = (offset + position) mod n`, without an index.

    The kernel is built in numbering order, as the table rotated by
    `offset` and tiled: its axes are the Keras weight's axes permuted by
    `axes` (`(1, 0)` for a dense kernel numbered `"out_in"`), and
    `ops.transpose(kernel, numpy.argsort(axes))` is the Keras layout.

    Attributes:
        axes: The permutation, or `None` when it is the identity.
    """

    def __init__(
        self,
        kernel_shape,
        offset,
        table_size,
        axes,
        scale,
        dtype,
    ):
        axes = tuple(axes)
        self.kernel_shape = tuple(kernel_shape)
        self.shape = tuple(kernel_shape[a] for a in axes)
        self.size = math.prod(kernel_shape)
        self.table_size = table_size
        self.dense_gradient = True
        self.start = offset % table_size
        self.reps = math.ceil((self.start + self.size) / table_size)
        self.axes = None if axes == tuple(range(len(axes))) else axes
        # For `lookup`, which works in Keras' layout.
        self.row_scale = lazy(scale, dtype)
        if scale is not None and self.axes is not None:
            scale = np.transpose(scale, axes)
        self.scale = lazy(scale, dtype)

    def __call__(self, table):
        flat = table
        if self.reps > 1:
            flat = ops.tile(flat, [self.reps])
        if self.start > 0 or self.size < self.reps * table.shape[0]:
            flat = flat[self.start : self.start + self.size]
        kernel = ops.reshape(flat, self.shape)
        if self.scale is not None:
            kernel = kernel * self.scale(table)
        return kernel

    def lookup(self, table, rows):
        """`kernel[rows]` of a 2D kernel, computing the rows' entries."""
        dtype = position_dtype(self.start + self.size)
        positions = row_positions(rows, self.kernel_shape, self.axes, dtype)
        entries = (positions + self.start) % self.table_size
        scale = None
        if self.row_scale is not None:
            scale = ops.take(self.row_scale(table), rows, axis=0)
        return _take(
            table, entries, scale, self.table_size, self.dense_gradient
        )


class GraphHashKernel:
    """Entries computed from identifiers inside the step: no index stored.

    The hash's `graph_entries` computes, bit for bit, what its NumPy
    `__call__` computes, so the sharing is the one `kernel_index()`
    reports; only the memory differs. Like `TiledKernel`, the kernel comes
    out in numbering order (`axes`); `lookup` computes the rows it needs.
    """

    def __init__(self, hash_function, layout, table_size, seed, dtype):
        axes = tuple(layout.axes)
        self.hash = hash_function
        self.kernel_shape = tuple(layout.shape)
        self.shape = tuple(self.kernel_shape[a] for a in axes)
        self.size = math.prod(self.kernel_shape)
        self.axes = None if axes == tuple(range(len(axes))) else axes
        self.table_size = table_size
        self.seed = seed
        self.offset = layout.id_offset
        self.position_offset = layout.position_offset
        self.sparsity = layout.sparsity
        self.sign = layout.sign
        self.dtype = dtype
        self.dense_gradient = layout.kernel_mode != "gather"
        self.ids_dtype = position_dtype(
            max(self.offset, self.position_offset) + self.size
        )
        self._takes = {}

    def entries(self, positions):
        """`(entries, scale)` of the weights at `positions`.

        `scale` holds the signs and zeros, or is `None` when there are
        none.
        """
        # Zeros consume identifiers here (`computes_in_graph`), so a
        # weight's identifier is its position plus the layer's offset.
        ids = positions + self.offset
        entries = self.hash.graph_entries(ids, self.table_size, self.seed)
        scale = None
        if self.sign:
            scale = self.hash.graph_signs(ids, self.seed, self.dtype)
        if self.sparsity > 0:
            zero = self.hash.graph_zeros(
                positions + self.position_offset, self.seed, self.sparsity
            )
            live = ops.cast(ops.logical_not(zero), self.dtype)
            scale = live if scale is None else scale * live
        return entries, scale

    def _gather(self, table, positions):
        entries, scale = self._flat_entries(positions)
        return _take(
            table, entries, scale, self.table_size, self.dense_gradient
        )

    def _take(self, table, key, positions_fn, *args):
        """`_gather(table, positions_fn(*args))`, fused on TensorFlow.

        For training on TensorFlow, the positions, the hash and the gather
        run as one XLA function, and so do they and the scatter-add of the
        table gradient (`EntryTake`, one per `key`): about as fast as
        gathering a stored index, where TensorFlow's own kernels, one pass
        over the weights per operation, are several times slower.
        """
        if not self.dense_gradient or keras.backend.backend() != "tensorflow":
            return self._gather(table, positions_fn(*args))
        take = self._takes.get(key)
        if take is None:
            take = EntryTake(
                lambda *a: self._flat_entries(positions_fn(*a)),
                self.table_size,
            )
            self._takes[key] = take
        return take(table, *args)

    def _flat_entries(self, positions):
        """`entries(positions)` hashed flat: XLA fuses a 1-D hash into
        the gather and the scatter-add, and not a 2-D one (twice as slow).
        """
        shape = ops.shape(positions)
        entries, scale = self.entries(ops.reshape(positions, (-1,)))
        entries = ops.reshape(entries, shape)
        if scale is not None:
            scale = ops.reshape(scale, shape)
        return entries, scale

    def _kernel_positions(self):
        positions = ops.arange(self.size, dtype=self.ids_dtype)
        return ops.reshape(positions, self.shape)

    def _row_positions(self, rows):
        return row_positions(rows, self.kernel_shape, self.axes, self.ids_dtype)

    def _column_positions(self, start, size):
        input_dim, units = self.kernel_shape
        dtype = self.ids_dtype
        start = ops.cast(start, dtype)
        if self.axes is not None:  # Unit u's weights are u * input_dim + i.
            positions = start * input_dim + ops.arange(
                size * input_dim, dtype=dtype
            )
            return ops.reshape(positions, (size, input_dim))
        # Weight (i, u) is i * units + u.
        rows = ops.arange(input_dim, dtype=dtype)[:, None] * units
        return rows + (start + ops.arange(size, dtype=dtype))

    def __call__(self, table):
        return self._take(table, "kernel", self._kernel_positions)

    def lookup(self, table, rows):
        """`kernel[rows]` of a 2D kernel, hashing the rows' identifiers."""
        return self._take(table, "lookup", self._row_positions, rows)

    def columns(self, table, start, size):
        """Columns `[start, start + size)` of a 2D kernel, numbering layout.

        `(size, input_dim)` when the kernel is numbered `"out_in"` (`axes`
        is `(1, 0)`), else `(input_dim, size)`. `start` may be a scalar
        integer tensor; `size` is a Python int.
        """
        return self._take(
            table,
            ("columns", size),
            lambda first: self._column_positions(first, size),
            start,
        )


def position_dtype(end):
    """int32 for identifiers below `end` < 2**31, else int64.

    Raises:
        ValueError: On JAX without 64-bit integers, for `end >= 2**31`.
    """
    if end < 2**31:
        return "int32"
    if keras.backend.backend() == "jax":
        import jax

        if not jax.config.jax_enable_x64:
            raise ValueError(
                f"Identifiers up to {end} need 64-bit integers, which JAX "
                "disables by default: set `JAX_ENABLE_X64=1`, or use a "
                "smaller layer or table offset."
            )
    return "int64"


def row_positions(rows, kernel_shape, axes, dtype):
    """Numbering positions of the weights of `rows` of a 2D kernel.

    Args:
        rows: Integer tensor of row numbers (tokens).
        kernel_shape: `(num_rows, row_size)`.
        axes: `None` for numbering row-major over the kernel, `(1, 0)`
            for row-major over its transpose.
        dtype: Integer dtype of the result.

    Returns:
        Tensor of shape `rows.shape + (row_size,)`.
    """
    num_rows, row_size = kernel_shape
    rows = ops.cast(rows, dtype)
    columns = ops.arange(row_size, dtype=dtype)
    if axes is None:
        return rows[..., None] * row_size + columns
    return columns * num_rows + rows[..., None]


def _take(table, index, scale, table_size, dense_gradient):
    if dense_gradient and keras.backend.backend() == "tensorflow":
        return _gather_dense_grad(table, index, scale, table_size)
    return _gather_scaled(table, index, scale)


def index_dtype(table_size):
    """The narrowest integer type that holds entries below `table_size`.

    uint8 up to 256 entries, then the signed types: TFLite's `GATHER`
    and PyTorch's indexing have no uint16 or uint32.
    """
    if table_size <= 2**8:
        return "uint8"
    return "int16" if table_size <= 2**15 else "int32"


def _gather_scaled(table, index, scale):
    index = ops.cast(index, "int32")
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        kernel = tf.gather(table, index)
    else:
        kernel = ops.take(table, index, axis=0)
    return kernel if scale is None else kernel * scale


def _in_xla_context():
    try:
        from tensorflow.python.framework import ops as tf_ops
        from tensorflow.python.ops import control_flow_util
    except ImportError:  # pragma: no cover - private TF API moved.
        return True
    graph = tf_ops.get_default_graph()
    return control_flow_util.GraphOrParentsInXlaContext(graph)


def _gather_dense_grad(table, index, scale, table_size, used=None):
    """`table[index] * scale` with a summed table gradient (TensorFlow)."""
    return _stored_take(table_size)(table, index, scale, used=used)


def _summed(upstream, entries, scale, table_size, bincount):
    """The table gradient: `upstream * scale` summed per entry.

    `bincount` with weights (TensorFlow's kernel, which XLA cannot
    compile) is faster than a scatter-add of a stored index outside XLA.
    Half-precision gradients are summed in float32.
    """
    import tensorflow as tf

    if scale is not None:
        upstream = upstream * scale
    values = tf.reshape(upstream, [-1])
    dtype = values.dtype
    if dtype not in (tf.float32, tf.float64):
        values = tf.cast(values, tf.float32)
    ids = tf.reshape(tf.cast(entries, tf.int32), [-1])
    if bincount:
        summed = tf.math.bincount(
            ids,
            weights=values,
            minlength=table_size,
            maxlength=table_size,
            dtype=values.dtype,
        )
    else:
        summed = tf.math.unsorted_segment_sum(values, ids, table_size)
    return tf.cast(summed, dtype)


class EntryTake:
    """`table[entries] * scale` with a summed table gradient (TensorFlow).

    `(entries, scale) = entries_fn(*args)`: a stored index read from
    `args`, or entries hashed from identifiers that `args` describe (a
    block's first column, a batch's tokens). The forward pass and the
    table gradient each run as one XLA-compiled function, so the hashing,
    the gather (or the scatter-add of the gradient) and the scale fuse
    into one pass over the weights, with no index of the weights' size in
    memory: TensorFlow's own element-wise and gather kernels, one pass
    each, are several times slower. Inside an XLA-compiled step the
    functions are inlined; under a `tf.distribute` strategy they run
    uncompiled (XLA under `MirroredStrategy` on CPU devices fails in TF
    2.21).

    With `used` (the sorted entries the index holds), the gradient is a
    `tf.IndexedSlices` with one slice per used entry, already summed: the
    `kernel_mode="gather"` contract (a sparse table gradient) at the cost
    of the dense one, instead of one slice per virtual weight, which the
    optimizer would have to sum with a slow segment sum.
    """

    def __init__(self, entries_fn, table_size, stored=False):
        self.entries_fn = entries_fn
        self.table_size = table_size
        self.stored = stored
        self._compiled = None

    def forward(self, table, *args):
        entries, scale = self.entries_fn(*args)
        return _gather_scaled(table, entries, scale)

    def table_gradient(self, upstream, *args):
        entries, scale = self.entries_fn(*args)
        return _summed(upstream, entries, scale, self.table_size, False)

    def __call__(self, table, *args, used=None):
        import tensorflow as tf

        forward, table_gradient = self.forward, self.table_gradient
        in_xla = _in_xla_context()
        compiled = not in_xla and not tf.distribute.has_strategy()
        if compiled:
            if self._compiled is None:
                self._compiled = (
                    tf.function(self.forward, jit_compile=True),
                    tf.function(self.table_gradient, jit_compile=True),
                )
            forward, table_gradient = self._compiled
        if not in_xla and (self.stored or not compiled):
            # Outside XLA, `bincount` sums a stored index faster than a
            # scatter-add, and entries hashed by TensorFlow's own kernels
            # (under a `tf.distribute` strategy) too.
            def table_gradient(upstream, *args):
                entries, scale = self.entries_fn(*args)
                return _summed(upstream, entries, scale, self.table_size, True)

        @tf.custom_gradient
        def take(table):
            def grad(upstream):
                summed = table_gradient(upstream, *args)
                if used is None:
                    return summed
                shape = tf.constant([self.table_size])
                return tf.IndexedSlices(tf.gather(summed, used), used, shape)

            return forward(table, *args), grad

        return take(tf.convert_to_tensor(table))


# The `EntryTake` of stored indexes, one per table size.
_STORED_TAKES = {}


def _stored_take(table_size):
    if table_size not in _STORED_TAKES:
        _STORED_TAKES[table_size] = EntryTake(
            lambda index, scale: (index, scale), table_size, stored=True
        )
    return _STORED_TAKES[table_size]


class KernelCache:
    """Keeps a layer's kernel between inference calls (TensorFlow only).

    The cached kernel is reused while the table is bitwise equal to the
    snapshot taken when the kernel was computed, and recomputed otherwise,
    so training, `assign` and `load_weights` can never leave it stale. The
    comparison reads only the table, which is small; the cache costs one
    kernel's memory. The variables are deliberately not tracked by Keras:
    they are not weights, are not saved, and do not count as parameters.
    """

    def __init__(self, kernel_shape, table_size, dtype):
        import tensorflow as tf

        # Keras may build the layer inside a scratch graph: the variables
        # must outlive it.
        with tf.init_scope():
            self._create(tf, kernel_shape, table_size, dtype)

    def _create(self, tf, kernel_shape, table_size, dtype):
        # Replicas of a `tf.distribute` strategy compute the same kernel.
        options = dict(
            trainable=False,
            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
        )
        self.kernel = tf.Variable(
            tf.zeros(kernel_shape, dtype), name="kernel", **options
        )
        self.snapshot = tf.Variable(
            tf.zeros((table_size,), dtype), name="snapshot", **options
        )
        self.valid = tf.Variable(False, name="valid", **options)

    def __call__(self, table, compute):
        import tensorflow as tf

        table = tf.convert_to_tensor(table)
        snapshot = tf.cast(self.snapshot, table.dtype)

        def refresh():
            kernel = compute(table)
            updates = [
                self.kernel.assign(tf.cast(kernel, self.kernel.dtype)),
                self.snapshot.assign(tf.cast(table, self.snapshot.dtype)),
                self.valid.assign(True),
            ]
            with tf.control_dependencies(updates):
                return tf.identity(kernel)

        def cached():
            return tf.cast(self.kernel.read_value(), table.dtype)

        fresh = tf.logical_and(
            self.valid, tf.reduce_all(tf.equal(table, snapshot))
        )
        return tf.cond(fresh, cached, refresh)
