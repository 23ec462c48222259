"""Compressing a trained network: convert, fine-tune, compare (Fashion-MNIST).

Trains the paper's MNIST network (`models.mnist_mlp(hash=None)`) dense on
Fashion-MNIST (Debian's `dataset-fashion-mnist`), converts it with
`arbnet_keras.convert` at each compression (one table a layer) with the
uniform, Dirichlet and HashedNets hashes, and with `hashing.KMeans`
(16, 64 and 256 clusters a layer), with and without `from_weights`,
fine-tunes each for a few epochs, and compares with training the same
ArbNet from scratch for the dense training's epochs plus the fine-tuning's.
Records the test accuracy before and after fine-tuning, the parameters,
and the `.keras` (`saving.save_model`), SavedModel and TFLite bytes
(`deploy.export`).

    cd benchmarks
    python compression_fmnist.py --out ../docs/results/fmnist_compression.json
    python compression_fmnist.py \\
        --plot-from ../docs/results/fmnist_compression.json \\
        --figure ../docs/figures/fmnist_compression.png

The first command prints one JSON line a run and rewrites `--out` after
each; the second only reads the results, prints a Markdown table (means
and standard deviations over seeds) and draws accuracy against
compression (matplotlib).
"""

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

HASHES = ("uniform", "dirichlet", "hashed_nets")
COMPRESSIONS = (1 / 8, 1 / 32, 1 / 64)
CLUSTERS = (16, 64, 256)
NUM_WEIGHTS = 784 * 200 + 200 * 200 + 200 * 10


def _data():
    from arbnet_keras import datasets

    (x_train, y_train), (x_test, y_test) = datasets.load_arrays(
        "fashion_mnist_debian"
    )
    scale = lambda x: x.reshape(len(x), -1).astype("float32") / 255.0  # noqa: E731
    return (scale(x_train), y_train), (scale(x_test), y_test)


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
        }


def run(args):
    import keras

    from arbnet_keras import convert
    from arbnet_keras import hashing
    from arbnet_keras import models

    train, test = _data()
    rows = []

    def record(row):
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.out is not None:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(rows, indent=1) + "\n")

    tmp = pathlib.Path(tempfile.mkdtemp())
    for seed in args.seeds:
        keras.utils.set_random_seed(seed)
        dense = _compile(models.mnist_mlp(hash=None), args.learning_rate)
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
            for compression in COMPRESSIONS
            for hash in HASHES
        ] + [
            (f"kmeans{k}", 3 * k / NUM_WEIGHTS, {"hash": hashing.KMeans(k)})
            for k in CLUSTERS
        ]
        for name, compression, kwargs in recipes:
            for from_weights in (True, False):
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
        for compression in COMPRESSIONS:
            for hash in HASHES:
                keras.utils.set_random_seed(seed)
                start = time.time()
                model = models.mnist_mlp(
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


def table(rows):
    """Markdown table of the results: means (and spreads) over seeds."""
    import numpy as np

    groups = {}
    for row in rows:
        key = (
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
        "| TFLite |",
        "|" + " --- |" * 11,
    ]
    for (kind, hash, compression, from_weights), selected in groups.items():
        ratio = "-" if compression is None else f"1/{1 / compression:.0f}"
        flag = {True: "yes", False: "no", None: "-"}[from_weights]
        lines.append(
            f"| {kind} | {hash} | {ratio} | {flag} | {len(selected)} | "
            f"{stat(selected, 'accuracy_before')} | "
            f"{stat(selected, 'accuracy')} | {selected[0]['params']:,} | "
            f"{size(selected, 'keras_bytes')} | "
            f"{size(selected, 'saved_model_bytes')} | "
            f"{size(selected, 'tflite_bytes')} |"
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
    colors = dict(zip(HASHES, ("C0", "C1", "C2")))
    for hash in HASHES:
        for kind, from_weights, style, suffix in (
            ("converted", True, "-o", "converted, from weights"),
            ("converted", False, ":s", "converted, fresh table"),
            ("scratch", None, "--^", "from scratch"),
        ):
            points = []
            for compression in COMPRESSIONS:
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
            label = "KMeans 16/64/256, " + (
                "centroids" if from_weights else "fresh table"
            )
            ax.plot(x, y, marker, color="C3", ms=9, ls="none", label=label)
    ax.set_xscale("log")
    ax.set_xlabel("compression (table entries / weights)")
    ax.set_ylabel("test accuracy")
    ax.set_title("Fashion-MNIST, 784-200-200-10: converted and fine-tuned")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(figure, dpi=130)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--fine-tune-epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--plot-from", type=pathlib.Path, default=None)
    parser.add_argument("--figure", type=pathlib.Path, default=None)
    args = parser.parse_args(argv)
    if args.plot_from is not None:
        rows = json.loads(args.plot_from.read_text())
    else:
        rows = run(args)
    if args.plot_from is not None:
        print(table(rows))
    if args.figure is not None:
        plot(rows, args.figure)


if __name__ == "__main__":
    main()
