"""Command-line options and helpers shared by `arbnet` subcommands."""

import argparse

from arbnet_keras.datasets import NORMALIZATIONS
from arbnet_keras.experiments.plots import FORMATS


def add_data_arguments(group, normalization=True):
    """Adds `--dataset`, `--data-dir` and `--normalization` to `group`."""
    group.add_argument(
        "--dataset",
        default="mnist_5k",
        help="data set (default: %(default)s): mnist_5k, digits, "
        "fashion_mnist_debian, mnist, fashion_mnist, cifar10 or idx:DIR",
    )
    group.add_argument(
        "--data-dir", default=None, help="tensorflow-datasets directory"
    )
    if normalization:
        group.add_argument(
            "--normalization",
            choices=NORMALIZATIONS,
            default="unit",
            help="input normalization (default: %(default)s)",
        )


def add_format_argument(group):
    """Adds `--format` (figure file formats, into `args.formats`)."""
    group.add_argument(
        "--format",
        nargs="+",
        choices=FORMATS,
        default=["png"],
        dest="formats",
        help="figure file formats (default: %(default)s)",
    )


def parse_bool(text):
    """An `argparse` type for true/false values."""
    value = text.strip().lower()
    if value in ("true", "t", "yes", "y", "1"):
        return True
    if value in ("false", "f", "no", "n", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def print_paths(paths):
    """Prints one `wrote PATH` line per written file."""
    for path in paths:
        print(f"wrote {path}")
