"""How the modulus hash aliases with layer widths: kernel rank vs table size.

With one modulus table of `n` entries for a whole network and `"in_out"`
numbering, `kernel[i, j] = table[(offset + i * units + j) mod n]`: rows `k`
apart are equal whenever `k * units` is a multiple of `n`, so a 200-unit
layer under a 1000-entry table has only 5 distinct rows and rank at most 5.
`"out_in"` numbering aliases columns instead, when `input_dim` shares
factors with `n`. These functions measure it, with no training: the
rank of each layer's kernel filled from a random table.
"""

import numpy as np

from arbnet_keras import hashing
from arbnet_keras.hashing.kernel_index import NUMBERINGS


def aliasing_stats(
    layer_shapes=((784, 200), (200, 200), (200, 10)),
    table_sizes=(100, 200, 400, 500, 800, 997, 1000, 1200, 1600, 2000),
    numberings=NUMBERINGS,
    hash="modulus",
    seed=0,
):
    """Rank and distinct rows/columns of each layer of a network table.

    The layers share one table, numbered one after the other as
    `HashTable` does, and the table holds standard normal entries.

    Args:
        layer_shapes: `(input_dim, units)` of each layer, in order.
            Defaults to the paper's MNIST network.
        table_sizes: Table sizes to measure.
        numberings: Numbering orders to compare.
        hash: Hash function or name. Defaults to `"modulus"`.
        seed: Seed of the hash and of the random table. Defaults to `0`.

    Returns:
        A list of dicts with `table_size`, `numbering`, `layer` (index),
        `shape`, `rank`, `distinct_rows`, `distinct_cols` and `full_rank`
        (the rank of an unshared kernel, `min(shape)`).
    """
    hash = hashing.get(hash)
    records = []
    for table_size in table_sizes:
        table = np.random.default_rng(seed).standard_normal(table_size)
        for numbering in numberings:
            offset = 0
            for layer, shape in enumerate(layer_shapes):
                index = hashing.kernel_index(
                    hash,
                    shape,
                    table_size,
                    seed,
                    numbering=numbering,
                    id_offset=offset,
                    position_offset=offset,
                )
                offset += index.num_ids
                kernel = table[index.entries]
                records.append(
                    {
                        "table_size": int(table_size),
                        "numbering": numbering,
                        "layer": layer,
                        "shape": tuple(shape),
                        "rank": int(np.linalg.matrix_rank(kernel)),
                        "distinct_rows": len(np.unique(kernel, axis=0)),
                        "distinct_cols": len(np.unique(kernel, axis=1).T),
                        "full_rank": int(min(shape)),
                    }
                )
    return records


def plot_aliasing(records, path=None):
    """Plots kernel rank vs table size, one panel per layer.

    Args:
        records: Output of `aliasing_stats`.
        path: File to save the figure to, or `None` to only return it.

    Returns:
        The matplotlib `Figure`.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            "Plotting needs matplotlib: pip install 'arbnet-keras[plots]'"
        ) from error
    layers = sorted({r["layer"] for r in records})
    fig, axes = plt.subplots(
        1, len(layers), figsize=(4.2 * len(layers), 3.6), squeeze=False
    )
    for ax, layer in zip(axes[0], layers):
        rows = [r for r in records if r["layer"] == layer]
        shape = rows[0]["shape"]
        for numbering, style in zip(NUMBERINGS, ("o-", "s--")):
            points = sorted(
                (r["table_size"], r["rank"])
                for r in rows
                if r["numbering"] == numbering
            )
            if points:
                sizes, ranks = zip(*points)
                ax.plot(sizes, ranks, style, label=f"numbering={numbering}")
        ax.axhline(
            rows[0]["full_rank"], color="gray", lw=0.8, ls=":", label="full"
        )
        ax.set_title(f"layer {layer + 1}: {shape[0]} x {shape[1]}")
        ax.set_xlabel("table size (entries)")
        ax.set_ylabel("rank of the kernel")
        ax.set_yscale("log")
        ax.legend(fontsize=8)
    fig.suptitle("Modulus hash, one network table: rank lost to aliasing")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
