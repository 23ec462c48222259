"""Setting a table from trained weights: the least-squares projection."""

import keras
import numpy as np


def project_weights(layers_and_weights):
    """Sets tables so that hashed layers best approximate given weights.

    A hashed weight is `w_i = s_i * table[e_i]` (entry `e_i`, sign `s_i`),
    so the table minimizing `sum_i (w_i - s_i * table[e_i])**2` holds at
    each entry the mean of `s_i * w_i` over the weights hashed to it. The
    weights fixed at zero by sparsity (entry `-1`) take no part; entries
    that no weight maps to keep their value. Layers sharing a table are
    projected together.

    Args:
        layers_and_weights: Pairs `(hashed_layer, weights)`: a built
            hashed layer and a NumPy array of its virtual weight's shape
            (Keras' layout).

    Raises:
        ValueError: If a weight's shape is not its layer's virtual shape.
    """
    tables = {}
    for layer, weights in layers_and_weights:
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != tuple(layer.virtual_shape):
            raise ValueError(
                f"The weights for layer {layer.name!r} must have its "
                f"virtual shape {tuple(layer.virtual_shape)}. Received: "
                f"weights of shape {weights.shape}"
            )
        variable = layer.table_variable
        size = int(variable.shape[0])
        if id(variable) not in tables:
            tables[id(variable)] = (variable, np.zeros(size), np.zeros(size))
        _, sums, counts = tables[id(variable)]
        index = layer.kernel_index()
        live = index.entries >= 0
        if index.signs is not None:
            weights = weights * index.signs
        entries = index.entries[live]
        sums += np.bincount(entries, weights=weights[live], minlength=size)
        counts += np.bincount(entries, minlength=size)
    for variable, sums, counts in tables.values():
        table = keras.ops.convert_to_numpy(variable).astype(np.float64)
        hit = counts > 0
        table[hit] = sums[hit] / counts[hit]
        variable.assign(table.astype(variable.dtype))
