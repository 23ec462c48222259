"""Deployment sizes of the paper's MNIST network, dense and hashed.

For the 784-200-200-10 network of the paper (`models.mnist_mlp`), dense
and with one 1000-entry table hashed by each seeded hash, and with
k-means weight sharing (`convert(dense, hash=KMeans(16))`, one 16-entry
table a layer, whose index is stored): the bytes of the `.keras` file
(`model.save` and `arbnet_keras.saving.save_model`), of Keras' own
SavedModel (`model.export`), of `arbnet_keras.deploy.export`'s
SavedModel and TFLite file (raw and gzipped), and how far the exported
artifacts' outputs are from `model.predict`.

    python benchmarks/deployment_sizes.py --out docs/results/deployment.json

prints a Markdown table and writes the rows as JSON. The weights are
untrained: sizes do not depend on training, except the gzipped ones,
which compress trained weights slightly less.
"""

import argparse
import gzip
import json
import os
import pathlib
import sys
import tempfile
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from arbnet_keras import convert  # noqa: E402
from arbnet_keras import deploy  # noqa: E402
from arbnet_keras import hashing  # noqa: E402
from arbnet_keras import models  # noqa: E402
from arbnet_keras import saving  # noqa: E402

HASHES = ("uniform", "dirichlet", "hashed_nets", "modulus")


def build(name):
    if name == "dense":
        return models.mnist_mlp(hash=None)
    if name == "kmeans16":
        return convert(models.mnist_mlp(hash=None), hash=hashing.KMeans(16))
    return models.mnist_mlp(hash=name, table_size=1000, seed=0)


def _size(path):
    path = pathlib.Path(path)
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size


def measure(name, tmp):
    import tensorflow as tf

    model = build(name)
    inputs = np.random.default_rng(0).normal(size=(64, 784))
    inputs = inputs.astype("float32")
    expected = model.predict(inputs, verbose=0)
    row = {"model": name}
    model.save(tmp / f"{name}.keras")
    row["keras_save"] = _size(tmp / f"{name}.keras")
    row["keras_compact"] = saving.save_model(model, tmp / f"{name}_c.keras")
    model.export(tmp / f"{name}_keras_export", verbose=False)
    row["keras_export"] = _size(tmp / f"{name}_keras_export")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        row["saved_model"] = deploy.export(model, tmp / f"{name}_saved")
        row["tflite"] = deploy.export(
            model, tmp / f"{name}.tflite", format="tflite"
        )
    row["warnings"] = sorted({str(w.message) for w in caught})
    row["select_tf_ops"] = any("SELECT_TF_OPS" in w for w in row["warnings"])
    flatbuffer = (tmp / f"{name}.tflite").read_bytes()
    row["tflite_gzip"] = len(gzip.compress(flatbuffer, compresslevel=9))
    served = tf.saved_model.load(str(tmp / f"{name}_saved"))
    row["saved_model_error"] = float(
        np.abs(served.serve(inputs).numpy() - expected).max()
    )
    row["tflite_error"] = None
    if not row["select_tf_ops"]:
        outputs = deploy.run_tflite(tmp / f"{name}.tflite", inputs)
        row["tflite_error"] = float(np.abs(outputs - expected).max())
    return row


def markdown(rows):
    dense = next(row for row in rows if row["model"] == "dense")

    def cell(row, key):
        value = row[key]
        if row is dense:
            return f"{value:,}"
        return f"{value:,} ({100 * value / dense[key]:.1f}%)"

    keys = (
        "keras_save",
        "keras_compact",
        "keras_export",
        "saved_model",
        "tflite",
        "tflite_gzip",
    )
    lines = [
        "| model | `.keras` (`model.save`) | `.keras` (`save_model`) "
        "| `model.export` | `deploy.export` SavedModel | TFLite | "
        "TFLite gzipped | max error SavedModel / TFLite |",
        "|" + " --- |" * 8,
    ]
    for row in rows:
        error = row["tflite_error"]
        error = "Flex ops" if error is None else f"{error:.1e}"
        lines.append(
            f"| {row['model']} | "
            + " | ".join(cell(row, key) for key in keys)
            + f" | {row['saved_model_error']:.1e} / {error} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=None)
    parser.add_argument(
        "--models",
        nargs="+",
        default=["dense", *HASHES, "kmeans16"],
        help="Models to measure (dense first). Defaults to all.",
    )
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            rows.append(measure(name, pathlib.Path(tmp)))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(markdown(rows))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
