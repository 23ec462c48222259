"""Command-line options shared by `arbnet` subcommands."""

from arbnet_keras.datasets import NORMALIZATIONS


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
