"""The figure of the benchmark results; it only reads the results dict."""

import math

from benchmarks import report

TARGET_RATIO = 1.2


def _ok(records):
    return [r for r in records if "error" not in r]


def _section(results, name):
    return _ok(results.get("sections", {}).get(name, {}).get("records", []))


def _train_ratio_panel(ax, records):
    if not records:
        ax.set_axis_off()
        ax.set_title("train step: not measured")
        return
    # The largest layer, and its most common table spec among the hashes.
    shape = max(
        (r["params"]["input_dim"], r["params"]["units"]) for r in records
    )
    rows = [
        r
        for r in records
        if (r["params"]["input_dim"], r["params"]["units"]) == shape
    ]
    tables = [
        r["params"]["table"] for r in rows if r["params"]["table"] != "full"
    ]
    table = max(set(tables), key=tables.count) if tables else "full"
    rows = [r for r in rows if r["params"]["table"] in (table, "full")]

    def hash_key(r):
        variant = r["params"]["variant"]
        return r["params"]["hash"] + (f"\n[{variant}]" if variant else "")

    hashes = list(dict.fromkeys(hash_key(r) for r in rows))
    settings = sorted(
        {(r["params"]["batch"], r["params"]["xla"]) for r in rows}
    )
    width = 0.8 / max(1, len(settings))
    for i, (batch, xla) in enumerate(settings):
        values = []
        for h in hashes:
            match = [
                r["ratio"]
                for r in rows
                if hash_key(r) == h
                and (r["params"]["batch"], r["params"]["xla"]) == (batch, xla)
            ]
            values.append(match[0] if match else math.nan)
        positions = [
            j + (i - (len(settings) - 1) / 2) * width
            for j in range(len(hashes))
        ]
        label = f"batch {batch}, {'XLA' if xla else 'no XLA'}"
        ax.bar(positions, values, width, label=label)
    ax.axhline(TARGET_RATIO, color="red", linestyle="--", label="1.2x target")
    ax.axhline(1.0, color="gray", linewidth=0.8)
    ax.set_xticks(range(len(hashes)))
    ax.set_xticklabels(hashes, fontsize=8)
    ax.set_ylabel("step time, hashed / dense")
    ax.set_title(f"fit step, {shape[0]}x{shape[1]} layer, table {table}")
    ax.legend(fontsize=7)


def _scaling_panel(ax, records):
    if not records:
        ax.set_axis_off()
        ax.set_title("scaling: not measured")
        return
    variants = list(dict.fromkeys(r["params"]["variant"] for r in records))
    for variant in variants:
        rows = sorted(
            (r for r in records if r["params"]["variant"] == variant),
            key=lambda r: r["params"]["virtual_weights"],
        )
        suffix = f" [{variant}]" if variant else ""
        weights = [r["params"]["virtual_weights"] for r in rows]
        ax.plot(
            weights,
            [r["hashed"]["median"] * 1e3 for r in rows],
            "o-",
            label=f"hashed{suffix}",
        )
        if variant == variants[0]:
            dense = [(w, r["dense"]) for w, r in zip(weights, rows)]
            dense = [(w, d["median"] * 1e3) for w, d in dense if d]
            if dense:
                ax.plot(*zip(*dense), "s-", label="dense")
    weights = sorted({r["params"]["virtual_weights"] for r in records})
    top = max(r["hashed"]["median"] * 1e3 for r in records)
    ax.plot(
        weights,
        [top * w / weights[-1] for w in weights],
        ":",
        color="gray",
        label="linear",
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("virtual weights (n x n layer)")
    ax.set_ylabel("ms per step")
    params = records[0]["params"]
    ax.set_title(
        f"fit step of n x n layers, batch {params['batch']}, "
        f"{params['hash']} hash, table {params['table']}"
    )
    ax.legend(fontsize=7)


def _other_ratios_panel(ax, results):
    rows = []
    for name in ("networks", "inference", "memory", "file_size"):
        for r in _section(results, name):
            if r["ratio"] is not None:
                rows.append((f"{name}: {r['label']}", r["ratio"]))
    if not rows:
        ax.set_axis_off()
        ax.set_title("other ratios: not measured")
        return
    labels, values = zip(*rows)
    ax.barh(range(len(rows)), values, color="tab:blue")
    for i, value in enumerate(values):
        ax.annotate(
            f"{value:.2f}x" if value >= 0.1 else f"{value:.2g}x",
            (value, i),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
        )
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels, fontsize=6)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="gray", linewidth=0.8)
    ax.axvline(TARGET_RATIO, color="red", linestyle="--")
    ax.set_xlabel("hashed / dense (log scale)")
    ax.set_title("networks, inference, memory, file size")


def _index_panel(ax, records):
    rows = [r for r in records if r["label"].endswith("kernel_index")]
    if not rows:
        ax.set_axis_off()
        ax.set_title("index build: not measured")
        return
    labels = [f"{r['params']['network']}\n{r['params']['hash']}" for r in rows]
    ax.bar(range(len(rows)), [r["hashed"]["median"] for r in rows])
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(labels, fontsize=6)
    ax.set_ylabel("seconds")
    weights = rows[0]["params"]["virtual_weights"]
    ax.set_title(f"kernel_index build ({weights:.3g} weights)")


def plot(results, path):
    """Draws the 4-panel summary figure of `results` into `path`."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            'Plotting needs matplotlib: `pip install "arbnet-keras[plots]"`'
        ) from exc
    fig, axes = plt.subplots(2, 2, figsize=(14, 10))
    _train_ratio_panel(axes[0, 0], _section(results, "train_step"))
    _scaling_panel(axes[0, 1], _section(results, "scaling"))
    _other_ratios_panel(axes[1, 0], results)
    _index_panel(axes[1, 1], _section(results, "index_build"))
    machine = results.get("machine", {})
    fig.suptitle(
        f"arbnet_keras benchmarks ({results.get('preset')}): "
        f"{machine.get('cpu_model')}, {machine.get('usable_cores')} cores, "
        f"{report.backend_name(machine)}, {machine.get('date')}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
