"""Per-layer, per-table and per-model sharing statistics."""

import numpy as np

from arbnet_keras.metrics.balance import load_stats


def hashed_layers(model):
    """All hashed layers of a model or layer, nested ones included."""
    from arbnet_keras.layers.hashed_weights import HashedLayerMixin

    found, seen = [], set()

    def visit(layer):
        if id(layer) in seen:
            return
        seen.add(id(layer))
        if isinstance(layer, HashedLayerMixin):
            found.append(layer)
        # Keras' tracking finds the sublayers of subclassed layers too.
        flatten = getattr(layer, "_flatten_layers", None)
        subs = flatten(include_self=False, recursive=False) if flatten else ()
        for sub in subs:
            visit(sub)

    visit(model)
    return found


def layer_stats(layer):
    """`load_stats` of one built hashed layer's own usage."""
    entries = layer.kernel_index().entries
    stats = load_stats(entries, int(layer.table_variable.shape[0]))
    stats["name"] = layer.name
    return stats


def table_stats(layers):
    """`load_stats` of a table over all the given layers that use it."""
    sizes = {int(layer.table_variable.shape[0]) for layer in layers}
    if len({id(layer.table_variable) for layer in layers}) != 1:
        raise ValueError(
            "`layers` must all use one table. Received layers "
            f"{[layer.name for layer in layers]}"
        )
    entries = np.concatenate(
        [layer.kernel_index().entries.ravel() for layer in layers]
    )
    return load_stats(entries, sizes.pop())


def model_stats(model):
    """`load_stats` of all the tables of a model taken together.

    Entries of different tables are different buckets, so the maximum
    entropy is the log of the total number of table entries.
    """
    layers = hashed_layers(model)
    if not layers:
        raise ValueError(
            "The model has no hashed layer (`HashedDense`, `HashedConv1D`, "
            "`HashedConv2D`, `HashedEmbedding`)."
        )
    offsets, total = {}, 0
    for layer in layers:
        key = id(layer.table_variable)
        if key not in offsets:
            offsets[key] = total
            total += int(layer.table_variable.shape[0])
    entries = []
    for layer in layers:
        index = layer.kernel_index().entries.ravel()
        offset = offsets[id(layer.table_variable)]
        entries.append(np.where(index >= 0, index + offset, -1))
    return load_stats(np.concatenate(entries), total)


_COLUMNS = (
    ("scope", "{}"),
    ("name", "{}"),
    ("table_size", "{:d}"),
    ("num_weights", "{:d}"),
    ("zero_fraction", "{:.3f}"),
    ("load_factor", "{:.1f}"),
    ("min_load", "{:d}"),
    ("max_load", "{:d}"),
    ("entropy", "{:.3f}"),
    ("max_entropy", "{:.3f}"),
)


def sharing_report(model, print_fn=print):
    """Reports how a model's weights share their tables.

    One row per hashed layer, one per table shared by several
    layers, and one for the whole model, each with the statistics of
    `load_stats` (entropy in nats, eq. 7 of the ArbNets paper).

    Args:
        model: A built Keras model or layer.
        print_fn: Function that prints each line of the report, or `None`
            to print nothing. Defaults to `print`.

    Returns:
        A list of dicts, one per row, with a `scope` key (`"layer"`,
        `"table"` or `"model"`) and a `name`.
    """
    layers = hashed_layers(model)
    rows = []
    for layer in layers:
        rows.append({"scope": "layer", **layer_stats(layer)})
    groups = {}
    for layer in layers:
        groups.setdefault(id(layer.table_variable), []).append(layer)
    for group in groups.values():
        if len(group) > 1:
            stats = table_stats(group)
            rows.append(
                {"scope": "table", "name": group[0].table.name, **stats}
            )
    if layers:
        rows.append(
            {"scope": "model", "name": model.name, **model_stats(model)}
        )
    if print_fn is not None:
        lines = [[name for name, _ in _COLUMNS]]
        for row in rows:
            lines.append([fmt.format(row[name]) for name, fmt in _COLUMNS])
        widths = [
            max(len(line[i]) for line in lines) for i in range(len(lines[0]))
        ]
        for line in lines:
            print_fn("  ".join(c.rjust(w) for c, w in zip(line, widths)))
    return rows
