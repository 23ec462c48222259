"""TensorFlow Model Optimization's weight clustering, side by side with ours.

Trains the network of `compression_fmnist.py` (the paper's MNIST network,
784-200-200-10, ELU and batch norm) dense on Fashion-MNIST with the same
recipe and epochs, in tf-keras, clusters each `Dense` kernel with
`tfmot.clustering.keras.cluster_weights` (16 and 64 clusters a layer,
k-means++ init), fine-tunes as many epochs as `compression_fmnist.py`
fine-tunes its conversions, strips the clustering (`strip_clustering`)
and converts the model to TFLite. Records the test accuracy before and
after fine-tuning, the TFLite file's bytes raw and gzipped (level 9, as
for ours), and the accuracy of the TFLite file run in LiteRT; also the
same for TFLite's dynamic-range quantization (`Optimize.DEFAULT`), which
tfmot's guide pairs with clustering. The control (`"dense_tuned"`) is
the dense model trained as many more epochs, with a fresh optimizer.

tfmot 0.8.1 works on tf-keras (Keras 2) only, so this runs in a
virtualenv of its own, never in the library's (which has Keras 3):

    python -m venv .venv-tfmot
    .venv-tfmot/bin/pip install -r benchmarks/requirements-tfmot.txt
    .venv-tfmot/bin/python benchmarks/tfmot_clustering.py --seeds 0 1 2 \\
        --out docs/results/tfmot_clustering.json

It prints one JSON line a run and rewrites `--out` after each.
`compression_fmnist.py --plot-from` with both results files prints
them in one table.
"""

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

# Before TensorFlow is imported: `tf.keras` is then tf-keras.
os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import compression_fmnist as recipe  # noqa: E402  (imports no Keras)

CLUSTERS = (16, 64)
HIDDEN_UNITS = (200, 200)
NUM_CLASSES = 10
# `arbnet_keras.models.hashed_mlp`'s batch norm (PyTorch's defaults).
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


def mlp(keras):
    """The paper's MNIST network, dense, as `models.mnist_mlp(hash=None)`."""
    layers = [keras.Input((784,), name="features")]
    units = list(HIDDEN_UNITS) + [NUM_CLASSES]
    for i, width in enumerate(units, start=1):
        layers += [
            keras.layers.Dense(width, name=f"dense_{i}"),
            keras.layers.Activation("elu", name=f"act_{i}"),
            keras.layers.BatchNormalization(
                momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"bn_{i}"
            ),
        ]
    return keras.Sequential(layers, name="mnist_mlp")


def _compile(keras, model, learning_rate):
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def _tflite(tf, model, path, quantize):
    """Converts `model` to TFLite at `path`; returns its raw, gzip bytes."""
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if quantize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    path.write_bytes(converter.convert())
    return path.stat().st_size, recipe.gzipped_bytes(path)


def _tflite_accuracy(path, test):
    """Test accuracy of a TFLite file run by LiteRT's interpreter."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    x, y = test
    interpreter = Interpreter(model_path=str(path))
    (detail,) = interpreter.get_input_details()
    interpreter.resize_tensor_input(detail["index"], x.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(detail["index"], x)
    interpreter.invoke()
    (output,) = interpreter.get_output_details()
    logits = interpreter.get_tensor(output["index"])
    return float(np.mean(np.argmax(logits, axis=-1) == y))


def _artifacts(tf, model, tmp, test):
    row = {}
    for quantize, suffix in ((False, ""), (True, "_quantized")):
        path = tmp / f"m{suffix}.tflite"
        raw, gz = _tflite(tf, model, path, quantize)
        row[f"tflite{suffix}_bytes"] = raw
        row[f"tflite{suffix}_gzip_bytes"] = gz
        row[f"tflite{suffix}_accuracy"] = _tflite_accuracy(path, test)
    return row


def run(args):
    import numpy as np
    import tensorflow as tf
    import tensorflow_model_optimization as tfmot
    import tf_keras as keras

    clustering = tfmot.clustering.keras
    train, test = recipe.fashion_mnist()
    rows = []

    def record(row):
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.out is not None:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(rows, indent=1) + "\n")

    def fit(model, epochs, seed):
        keras.utils.set_random_seed(seed)
        model.fit(*train, batch_size=args.batch_size, epochs=epochs, verbose=0)

    def accuracy(model):
        return float(model.evaluate(*test, batch_size=1000, verbose=0)[1])

    versions = {
        "tensorflow": tf.__version__,
        "tf_keras": keras.__version__,
        "tfmot": tfmot.__version__,
    }
    tmp = pathlib.Path(tempfile.mkdtemp())
    for seed in args.seeds:
        keras.utils.set_random_seed(seed)
        dense = _compile(keras, mlp(keras), args.learning_rate)
        start = time.time()
        fit(dense, args.epochs, seed)
        record(
            {
                "kind": "tfmot",
                "hash": "dense",
                "seed": seed,
                "accuracy": accuracy(dense),
                "params": dense.count_params(),
                "seconds": round(time.time() - start, 1),
                **_artifacts(tf, dense, tmp, test),
                "versions": versions,
            }
        )
        for clusters in CLUSTERS:
            start = time.time()
            # `cluster_weights` wraps the layers it is given: cluster a
            # copy, so that each clustering starts from the dense model.
            copy = _copy(keras, dense)
            keras.utils.set_random_seed(seed)
            clustered = clustering.cluster_weights(
                copy,
                number_of_clusters=clusters,
                cluster_centroids_init=(
                    clustering.CentroidInitialization.KMEANS_PLUS_PLUS
                ),
            )
            _compile(keras, clustered, args.learning_rate)
            before = accuracy(clustered)
            fit(clustered, args.fine_tune_epochs, seed)
            stripped = clustering.strip_clustering(clustered)
            _compile(keras, stripped, args.learning_rate)
            kernels = [
                layer.kernel.numpy()
                for layer in stripped.layers
                if isinstance(layer, keras.layers.Dense)
            ]
            record(
                {
                    "kind": "tfmot",
                    "hash": f"tfmot{clusters}",
                    "compression": len(kernels)
                    * clusters
                    / sum(k.size for k in kernels),
                    # The centroids come from the trained weights.
                    "from_weights": True,
                    "seed": seed,
                    "accuracy_before": before,
                    "accuracy": accuracy(stripped),
                    "params": stripped.count_params(),
                    "distinct_kernel_values": [
                        int(np.unique(k).size) for k in kernels
                    ],
                    "seconds": round(time.time() - start, 1),
                    **_artifacts(tf, stripped, tmp, test),
                }
            )
        if not args.skip_tuned:
            # The control: the dense model trained as long as a clustered
            # one is fine-tuned, with a fresh optimizer as it gets.
            start = time.time()
            tuned = _compile(keras, _copy(keras, dense), args.learning_rate)
            fit(tuned, args.fine_tune_epochs, seed)
            record(
                {
                    "kind": "tfmot",
                    "hash": "dense_tuned",
                    "seed": seed,
                    "epochs": args.epochs + args.fine_tune_epochs,
                    "accuracy": accuracy(tuned),
                    "params": tuned.count_params(),
                    "seconds": round(time.time() - start, 1),
                }
            )
    return rows


def _copy(keras, model):
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=recipe.EPOCHS)
    parser.add_argument(
        "--fine-tune-epochs", type=int, default=recipe.FINE_TUNE_EPOCHS
    )
    parser.add_argument("--batch-size", type=int, default=recipe.BATCH_SIZE)
    parser.add_argument(
        "--learning-rate", type=float, default=recipe.LEARNING_RATE
    )
    parser.add_argument(
        "--skip-tuned",
        action="store_true",
        help="leave out the control: the dense model trained on",
    )
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
