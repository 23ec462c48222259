"""`arbnet convert IN OUT`: compress a trained `.keras` model into an
ArbNet."""

import fractions
import math
import os
import sys

from arbnet_keras.cli.backend import add_backend_argument
from arbnet_keras.cli.common import add_data_arguments

_EXAMPLES = """\
examples:
  arbnet convert mlp.keras mlp_arbnet.keras --hash dirichlet \\
      --compression 1/16 --table network
  arbnet convert cnn.keras cnn_kmeans.keras --hash kmeans --clusters 16
  arbnet convert mlp.keras small.keras --compression 1/32 \\
      --fine-tune-epochs 3 --dataset fashion_mnist_debian
"""


def add_parser(subparsers):
    """Adds `convert`."""
    import argparse

    parser = subparsers.add_parser(
        "convert",
        help="compress a trained .keras model into an ArbNet",
        description=(
            "Replace the Dense, Conv1D, Conv2D and Embedding layers of a "
            "trained .keras model by hashed layers whose tables start from "
            "the trained weights (arbnet_keras.convert), optionally "
            "fine-tune on a data set, and save the result (DEFLATE-"
            "compressed .keras). Prints one summary line: parameters and "
            "file size before and after, and accuracy with --dataset."
        ),
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", metavar="IN", help="trained .keras model")
    parser.add_argument("output", metavar="OUT", help=".keras file to write")
    group = parser.add_argument_group("hashing")
    group.add_argument(
        "--hash",
        dest="hash_name",
        default="uniform",
        help="hash function (default: %(default)s): uniform, dirichlet, "
        "hashed_nets, modulus, neighborhood, identity or kmeans",
    )
    group.add_argument(
        "--clusters",
        type=int,
        default=16,
        help="clusters of --hash kmeans (default: %(default)s)",
    )
    group.add_argument(
        "--compression",
        default=None,
        help="table entries per weight, a number or fraction in (0, 1], "
        "such as 1/16",
    )
    group.add_argument(
        "--table-size", type=int, default=None, help="entries per table"
    )
    group.add_argument(
        "--table",
        choices=("layer", "network"),
        default="layer",
        help="one table per layer, or one for the network "
        "(default: %(default)s)",
    )
    group.add_argument(
        "--layers",
        nargs="+",
        default=None,
        metavar="NAME",
        help="convert only these layers (default: all that can be)",
    )
    group.add_argument(
        "--no-from-weights",
        dest="from_weights",
        action="store_false",
        help="keep the tables' initializer instead of projecting the "
        "trained weights",
    )
    group.add_argument("--seed", type=int, default=0, help="hash seed")
    data = parser.add_argument_group("fine-tuning and accuracy")
    add_data_arguments(data)
    data.add_argument(
        "--fine-tune-epochs",
        type=int,
        default=0,
        help="epochs of training after conversion, with IN's compile "
        "settings (needs --dataset; default: %(default)s)",
    )
    data.add_argument(
        "--batch-size", type=int, default=128, help="default: %(default)s"
    )
    add_backend_argument(data)
    # Accuracy is measured only when a data set is named.
    parser.set_defaults(dataset=None)
    return parser


def run(args):
    """Converts, fine-tunes and saves; returns the exit status."""
    options = _options(args)
    from tqdm.auto import tqdm

    import arbnet_keras

    tuning = args.fine_tune_epochs > 0
    steps = 3 + (args.dataset is not None) * (
        3 + tuning + args.fine_tune_epochs
    )
    with tqdm(total=steps, desc="loading", unit="step", file=sys.stderr) as bar:
        model = _load(args.input)
        bar.update()
        data = None
        if args.dataset is not None:
            bar.set_description("loading data")
            data = _arrays(args, model)
            bar.update()
            bar.set_description("accuracy before")
            accuracies = [_accuracy(model, data[1], args.batch_size)]
            bar.update()
        bar.set_description("converting")
        converted = arbnet_keras.convert(model, **options)
        bar.update()
        if tuning:
            bar.set_description("accuracy converted")
            accuracies.append(_accuracy(converted, data[1], args.batch_size))
            bar.update()
            _fine_tune(converted, data, args, bar)
        if data is not None:
            bar.set_description("accuracy after")
            accuracies.append(_accuracy(converted, data[1], args.batch_size))
            bar.update()
        bar.set_description("saving")
        size = arbnet_keras.saving.save_model(converted, args.output)
        bar.update()
    summary = (
        f"{args.input} -> {args.output}: parameters "
        f"{model.count_params():,} -> {converted.count_params():,}, file "
        f"{_bytes(os.path.getsize(args.input))} -> {_bytes(size)}"
    )
    if data is not None:
        summary += f", accuracy {accuracies[0]:.4f} -> {accuracies[1]:.4f}"
        if tuning:
            summary += (
                f" converted -> {accuracies[2]:.4f} after "
                f"{args.fine_tune_epochs} epochs"
            )
    print(summary)
    return 0


def _options(args):
    """`convert`'s arguments; a `ValueError` (exit 2) for bad ones."""
    from arbnet_keras import hashing

    if args.fine_tune_epochs < 0:
        raise ValueError(
            "`--fine-tune-epochs` must be a non-negative integer. "
            f"Received: --fine-tune-epochs {args.fine_tune_epochs}"
        )
    if args.fine_tune_epochs and args.dataset is None:
        raise ValueError(
            "`--fine-tune-epochs` needs a `--dataset` to train on. "
            f"Received: --fine-tune-epochs {args.fine_tune_epochs}"
        )
    if args.batch_size <= 0:
        raise ValueError(
            "`--batch-size` must be a positive integer. "
            f"Received: --batch-size {args.batch_size}"
        )
    if not os.path.isfile(args.input):
        raise ValueError(
            f"`IN` must be a .keras file. Received: {args.input!r}"
        )
    if not args.output.endswith(".keras"):
        raise ValueError(
            f"`OUT` must end in `.keras`. Received: {args.output!r}"
        )
    hash = args.hash_name
    if hash.lower() == "kmeans":
        hash = hashing.KMeans(args.clusters)
    return {
        "hash": hash,
        "compression": _fraction(args.compression),
        "table_size": args.table_size,
        "table": args.table,
        "layers": args.layers,
        "from_weights": args.from_weights,
        "seed": args.seed,
    }


def _fraction(text):
    if text is None:
        return None
    try:
        value = float(fractions.Fraction(text.strip()))
    except (ValueError, ZeroDivisionError):
        value = math.nan
    if not 0 < value <= 1:
        raise ValueError(
            "`--compression` must be a number or fraction in (0, 1], such "
            f"as 1/16. Received: --compression {text}"
        )
    return value


def _load(path):
    import keras

    return keras.saving.load_model(path)


def _arrays(args, model):
    """Train and test `(x, y)` arrays shaped for `model`'s input."""
    import keras
    import numpy as np

    from arbnet_keras import datasets

    data = datasets.load(
        args.dataset,
        batch_size=args.batch_size,
        data_dir=args.data_dir,
        normalization=args.normalization,
    )
    shape = tuple(model.input_shape[1:])
    if None in shape or math.prod(shape) != data.input_dim:
        raise ValueError(
            f"The model's input shape {shape} does not hold the "
            f"{data.input_dim} features of data set {args.dataset!r}. "
            f"Received: --dataset {args.dataset}"
        )
    splits = []
    for batches in (data.train, data.test):
        xs, ys = zip(
            *(
                (keras.ops.convert_to_numpy(x), keras.ops.convert_to_numpy(y))
                for x, y in batches
            )
        )
        x = np.concatenate(xs).reshape((-1,) + shape)
        splits.append((x, np.concatenate(ys)))
    return splits


def _accuracy(model, split, batch_size):
    import numpy as np

    x, y = split
    scores = model.predict(x, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(scores, axis=-1) == y))


def _fine_tune(model, data, args, bar):
    import keras

    if not model.compiled:
        raise ValueError(
            "Fine-tuning uses the compile settings saved in `IN`, and it "
            "has none: compile the model before saving it. Received: "
            f"{args.input!r}"
        )

    class Progress(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            bar.set_description(f"fine-tuning {epoch + 1}")

        def on_epoch_end(self, epoch, logs=None):
            bar.update()

    x, y = data[0]
    model.fit(
        x,
        y,
        batch_size=args.batch_size,
        epochs=args.fine_tune_epochs,
        callbacks=[Progress()],
        verbose=0,
    )


def _bytes(size):
    for unit in ("B", "kB", "MB"):
        if size < 1000 or unit == "MB":
            return (
                f"{size:,.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
            )
        size /= 1000
