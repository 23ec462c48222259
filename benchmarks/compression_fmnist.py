"""Compressing a trained network: convert, fine-tune, compare (Fashion-MNIST).

Trains the paper's MNIST network (`models.mnist_mlp(hash=None)`), or with
`--network cnn` the small CNN of `examples/hashed_cnn.py`
(`models.hashed_cnn(hash=None)`), dense on Fashion-MNIST (Debian's
`dataset-fashion-mnist`), converts it with `arbnet_keras.convert` at each
compression (one table a layer) with the seeded hashes and with
`hashing.KMeans` (so many clusters a layer), with and without
`from_weights`, fine-tunes each for a few epochs, and compares with
training the same ArbNet from scratch for the dense training's epochs
plus the fine-tuning's. Records the test accuracy before and after
fine-tuning, the parameters, and the `.keras` (`saving.save_model`),
SavedModel and TFLite bytes (`deploy.export`; TFLite also gzipped).

    cd benchmarks
    python compression_fmnist.py --out ../docs/results/fmnist_compression.json
    python compression_fmnist.py \\
        --plot-from ../docs/results/fmnist_compression.json \\
        --figure ../docs/figures/fmnist_compression.png

The first command prints one JSON line a run and rewrites `--out` after
each (with `--merge`, keeping the rows of an existing `--out` that it
does not redo; `--skip fresh scratch` redoes only the dense training and
the conversions from its weights). "dense_tuned" rows are the control:
the dense model trained as many more epochs as a conversion is
fine-tuned; the second only reads the results
(this script's, and `tfmot_clustering.py`'s), prints a Markdown table
(means and standard deviations over seeds) and draws accuracy against
compression (matplotlib).
"""

import argparse
import gzip
import importlib.util
import json
import math
import os
import pathlib
import sys
import tempfile
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

REPO = pathlib.Path(__file__).resolve().parent.parent
HASHES = ("uniform", "dirichlet", "hashed_nets")
COMPRESSIONS = (1 / 8, 1 / 32, 1 / 64)
CLUSTERS = (16, 64, 256)
NUM_WEIGHTS = 784 * 200 + 200 * 200 + 200 * 10

# The recipe, shared with `tfmot_clustering.py` (which runs tf-keras and
# must not import Keras 3, so nothing here may at import time).
EPOCHS = 5
FINE_TUNE_EPOCHS = 2
BATCH_SIZE = 128
LEARNING_RATE = 1e-3
# `datasets.DEBIAN_FASHION_MNIST_DIR`: where Debian's package puts it.
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"


def fashion_mnist(flatten=True):
    """Fashion-MNIST, pixels scaled to [0, 1], without importing Keras.

    Reads the IDX files with `arbnet_keras/datasets/idx.py` loaded by its
    path: importing `arbnet_keras` would import Keras 3, which the
    tf-keras process of `tfmot_clustering.py` must not.

    Args:
        flatten: Whether images are rows of 784 features, else
            `(28, 28, 1)` arrays. Defaults to `True`.

    Returns:
        `((x_train, y_train), (x_test, y_test))`, float32 images.
    """
    path = REPO / "arbnet_keras" / "datasets" / "idx.py"
    spec = importlib.util.spec_from_file_location("_fmnist_idx", path)
    idx = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(idx)
    splits = idx.load_idx_directory(FASHION_MNIST_DIR)
    shape = (-1, 784) if flatten else (-1, 28, 28, 1)
    return tuple(
        (x.reshape(shape).astype("float32") / 255.0, y) for x, y in splits
    )


def gzipped_bytes(path):
    """Bytes of a file gzipped at level 9 (as `deployment_sizes.py`)."""
    data = pathlib.Path(path).read_bytes()
    return len(gzip.compress(data, compresslevel=9))


def _compile(model, learning_rate):
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def _accuracy(model, test):
    return float(model.evaluate(*test, batch_size=1000, verbose=0)[1])


def _fit(model, train, epochs, args, seed):
    import keras

    keras.utils.set_random_seed(seed)
    model.fit(*train, batch_size=args.batch_size, epochs=epochs, verbose=0)


def _sizes(model, tmp):
    from arbnet_keras import deploy
    from arbnet_keras import saving

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "keras_bytes": saving.save_model(model, tmp / "m.keras"),
            "saved_model_bytes": deploy.export(model, tmp / "saved"),
            "tflite_bytes": deploy.export(
                model, tmp / "m.tflite", format="tflite"
            ),
            "tflite_gzip_bytes": gzipped_bytes(tmp / "m.tflite"),
        }


# What each network is converted to, unless the command line says.
NETWORKS = {
    "mlp": {
        "hashes": HASHES,
        "compressions": COMPRESSIONS,
        "clusters": CLUSTERS,
    },
    "cnn": {
        "hashes": ("uniform",),
        "compressions": (1 / 8, 1 / 32),
        "clusters": (16, 64),
    },
}
# The small CNN of `examples/hashed_cnn.py`: 3x3 convolutions of 16 and
# 32 filters (ReLU, batch norm, 2x2 max pooling), a dense classifier;
# 20,432 kernel weights.
CNN_FILTERS = (16, 32)


def network(name, **kwargs):
    """The network `name` (`"mlp"` or `"cnn"`); `hash=None` is dense."""
    from arbnet_keras import models

    if name == "mlp":
        return models.mnist_mlp(**kwargs)
    return models.hashed_cnn((28, 28, 1), list(CNN_FILTERS), 10, **kwargs)


def _row_key(row):
    return (
        row.get("network", "mlp"),
        row["kind"],
        row.get("hash"),
        row.get("compression"),
        row.get("from_weights"),
        row["seed"],
    )


def run(args):
    import keras

    from arbnet_keras import convert
    from arbnet_keras import hashing

    settings = NETWORKS[args.network]
    hashes = args.hashes or settings["hashes"]
    compressions = args.compressions or settings["compressions"]
    clusters = args.clusters or settings["clusters"]
    train, test = fashion_mnist(flatten=args.network == "mlp")
    kept = []
    if args.merge and args.out is not None and args.out.exists():
        kept = json.loads(args.out.read_text())
    rows = []

    def record(row):
        row = {"network": args.network, **row}
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.out is not None:
            # Rows this run redoes replace the kept ones (`--merge`).
            done = {_row_key(r) for r in rows}
            merged = [r for r in kept if _row_key(r) not in done] + rows
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(merged, indent=1) + "\n")

    tmp = pathlib.Path(tempfile.mkdtemp())
    for seed in args.seeds:
        keras.utils.set_random_seed(seed)
        dense = _compile(network(args.network, hash=None), args.learning_rate)
        kernels = [w for w in dense.trainable_weights if w.name == "kernel"]
        num_weights = sum(math.prod(w.shape) for w in kernels)
        start = time.time()
        _fit(dense, train, args.epochs, args, seed)
        record(
            {
                "kind": "dense",
                "seed": seed,
                "accuracy": _accuracy(dense, test),
                "params": dense.count_params(),
                "seconds": round(time.time() - start, 1),
                **_sizes(dense, tmp),
            }
        )
        recipes = [
            (hash, compression, {"hash": hash, "compression": compression})
            for compression in compressions
            for hash in hashes
        ] + [
            (
                f"kmeans{k}",
                len(kernels) * k / num_weights,
                {"hash": hashing.KMeans(k)},
            )
            for k in clusters
        ]
        if "converted" in args.skip:
            recipes = []
        fresh = "fresh" not in args.skip
        for name, compression, kwargs in recipes:
            for from_weights in (True, False) if fresh else (True,):
                start = time.time()
                model = convert(
                    dense, from_weights=from_weights, seed=seed, **kwargs
                )
                _compile(model, args.learning_rate)
                before = _accuracy(model, test)
                _fit(model, train, args.fine_tune_epochs, args, seed)
                row = {
                    "kind": "converted",
                    "hash": name,
                    "compression": compression,
                    "from_weights": from_weights,
                    "seed": seed,
                    "accuracy_before": before,
                    "accuracy": _accuracy(model, test),
                    "params": model.count_params(),
                    "seconds": round(time.time() - start, 1),
                }
                if from_weights:
                    row.update(_sizes(model, tmp))
                record(row)
        if "tuned" not in args.skip:
            # The control: the dense model trained as long as a conversion
            # is, with a fresh optimizer as a conversion gets (after the
            # conversions, which see the random state they always saw).
            start = time.time()
            tuned = keras.models.clone_model(dense)
            tuned.set_weights(dense.get_weights())
            _compile(tuned, args.learning_rate)
            _fit(tuned, train, args.fine_tune_epochs, args, seed)
            record(
                {
                    "kind": "dense_tuned",
                    "seed": seed,
                    "epochs": args.epochs + args.fine_tune_epochs,
                    "accuracy": _accuracy(tuned, test),
                    "params": tuned.count_params(),
                    "seconds": round(time.time() - start, 1),
                }
            )
        if "scratch" in args.skip:
            continue
        for compression in compressions:
            for hash in hashes:
                keras.utils.set_random_seed(seed)
                start = time.time()
                model = network(
                    args.network,
                    hash=hash,
                    table_size=None,
                    compression=compression,
                    table_scope="layer",
                    seed=seed,
                )
                _compile(model, args.learning_rate)
                epochs = args.epochs + args.fine_tune_epochs
                _fit(model, train, epochs, args, seed)
                record(
                    {
                        "kind": "scratch",
                        "hash": hash,
                        "compression": compression,
                        "seed": seed,
                        "epochs": epochs,
                        "accuracy": _accuracy(model, test),
                        "params": model.count_params(),
                        "seconds": round(time.time() - start, 1),
                    }
                )
    return rows


def _group_order(key):
    """Dense, converted, tfmot, scratch; by compression, hash, flag."""
    network, kind, hash, compression, from_weights = key
    kinds = ("dense", "dense_tuned", "converted", "tfmot", "scratch")
    clustered = hash.startswith(("kmeans", "tfmot"))
    compression = compression or 0.0
    return (
        network,
        kinds.index(kind) if kind in kinds else len(kinds),
        clustered,
        compression if clustered else -compression,
        HASHES.index(hash) if hash in HASHES else len(HASHES),
        from_weights is False,
    )


def table(rows):
    """Markdown table of the results: means (and spreads) over seeds.

    Args:
        rows: Result rows of `run`, and of `tfmot_clustering.py` (kind
            `"tfmot"`), which have no `.keras` or SavedModel bytes.

    Returns:
        The table as a string.
    """
    import numpy as np

    groups = {}
    for row in rows:
        key = (
            row.get("network", "mlp"),
            row["kind"],
            row.get("hash", "-"),
            row.get("compression"),
            row.get("from_weights"),
        )
        groups.setdefault(key, []).append(row)

    def stat(selected, key):
        values = [row[key] for row in selected if row.get(key) is not None]
        if not values:
            return "-"
        if len(values) == 1:
            return f"{100 * values[0]:.1f}"
        return f"{100 * np.mean(values):.1f} ± {100 * np.std(values):.1f}"

    def size(selected, key):
        values = [row[key] for row in selected if key in row]
        return f"{int(np.mean(values)):,}" if values else "-"

    lines = [
        "| run | hash | compression | from weights | seeds | accuracy "
        "before (%) | accuracy (%) | parameters | `.keras` | SavedModel "
        "| TFLite | TFLite gzipped |",
        "|" + " --- |" * 12,
    ]
    for key in sorted(groups, key=_group_order):
        _, kind, hash, compression, from_weights = key
        selected = groups[key]
        ratio = "-" if compression is None else f"1/{1 / compression:.0f}"
        flag = {True: "yes", False: "no", None: "-"}[from_weights]
        lines.append(
            f"| {kind} | {hash} | {ratio} | {flag} | {len(selected)} | "
            f"{stat(selected, 'accuracy_before')} | "
            f"{stat(selected, 'accuracy')} | {selected[0]['params']:,} | "
            f"{size(selected, 'keras_bytes')} | "
            f"{size(selected, 'saved_model_bytes')} | "
            f"{size(selected, 'tflite_bytes')} | "
            f"{size(selected, 'tflite_gzip_bytes')} |"
        )
    return "\n".join(lines)


def plot(rows, figure):
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError(
            'Plotting needs matplotlib: pip install "arbnet-keras[plots]"'
        ) from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    def mean(selected, key="accuracy"):
        return float(np.mean([row[key] for row in selected]))

    fig, ax = plt.subplots(figsize=(10, 4.5))
    dense = [row for row in rows if row["kind"] == "dense"]
    ax.axhline(mean(dense), color="black", lw=1, label="dense")
    tuned = [row for row in rows if row["kind"] == "dense_tuned"]
    if tuned:
        label = f"dense, {tuned[0]['epochs']} epochs"
        ax.axhline(mean(tuned), color="black", lw=1, ls=":", label=label)
    dense = [r for r in rows if r["kind"] == "tfmot" and r["hash"] == "dense"]
    if dense:
        label = "dense (tf-keras, for tfmot)"
        ax.axhline(mean(dense), color="C4", lw=1, ls="--", label=label)
    colors = dict(zip(HASHES, ("C0", "C1", "C2")))
    for hash in [h for h in HASHES if any(r.get("hash") == h for r in rows)]:
        for kind, from_weights, style, suffix in (
            ("converted", True, "-o", "converted, from weights"),
            ("converted", False, ":s", "converted, fresh table"),
            ("scratch", None, "--^", "from scratch"),
        ):
            points = []
            compressions = sorted(
                {r["compression"] for r in rows if r.get("hash") == hash}
            )
            for compression in compressions:
                selected = [
                    row
                    for row in rows
                    if row["kind"] == kind
                    and row.get("hash") == hash
                    and row["compression"] == compression
                    and row.get("from_weights", None) == from_weights
                ]
                if selected:
                    points.append((compression, mean(selected)))
            if points:
                x, y = zip(*points)
                ax.plot(
                    x, y, style, color=colors[hash], label=f"{hash}, {suffix}"
                )
    for from_weights, marker in ((True, "*"), (False, "x")):
        points = [
            (row["compression"], row["accuracy"])
            for row in rows
            if row["kind"] == "converted"
            and row["hash"].startswith("kmeans")
            and row["from_weights"] == from_weights
        ]
        if points:
            x, y = zip(*points)
            label = "KMeans, " + (
                "centroids" if from_weights else "fresh table"
            )
            ax.plot(x, y, marker, color="C3", ms=9, ls="none", label=label)
    points = [
        (row["compression"], row["accuracy"])
        for row in rows
        if row["kind"] == "tfmot" and row["hash"].startswith("tfmot")
    ]
    if points:
        x, y = zip(*points)
        label = "tfmot cluster_weights (tf-keras)"
        ax.plot(x, y, "P", color="C4", ms=8, ls="none", label=label)
    ax.set_xscale("log")
    ax.set_xlabel("compression (table entries / weights)")
    ax.set_ylabel("test accuracy")
    title = {
        "mlp": "784-200-200-10",
        "cnn": "CNN " + "-".join(map(str, CNN_FILTERS)),
    }[rows[0].get("network", "mlp")]
    ax.set_title(f"Fashion-MNIST, {title}: converted and fine-tuned")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(figure, dpi=130)


def _fraction(text):
    """`"1/8"` or `"0.125"` as a float."""
    numerator, _, denominator = text.partition("/")
    return float(numerator) / float(denominator or 1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", choices=sorted(NETWORKS), default="mlp")
    parser.add_argument("--out", type=pathlib.Path, default=None)
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the rows of an existing --out that this run does not redo",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--hashes", nargs="+", default=None)
    parser.add_argument("--compressions", type=_fraction, nargs="+")
    parser.add_argument("--clusters", type=int, nargs="+", default=None)
    parser.add_argument(
        "--skip",
        nargs="+",
        choices=("tuned", "converted", "fresh", "scratch"),
        default=[],
        help="leave out the dense model trained on (tuned), the "
        "conversions, those to a fresh table, or the scratch runs",
    )
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument(
        "--fine-tune-epochs", type=int, default=FINE_TUNE_EPOCHS
    )
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--learning-rate", type=float, default=LEARNING_RATE)
    parser.add_argument(
        "--plot-from",
        type=pathlib.Path,
        nargs="+",
        default=None,
        help="results files (this script's, tfmot_clustering.py's)",
    )
    parser.add_argument("--figure", type=pathlib.Path, default=None)
    args = parser.parse_args(argv)
    if args.plot_from is not None:
        rows = [
            row
            for path in args.plot_from
            for row in json.loads(path.read_text())
        ]
        print(table(rows))
    else:
        rows = run(args)
    if args.figure is not None:
        plot(rows, args.figure)


if __name__ == "__main__":
    main()
