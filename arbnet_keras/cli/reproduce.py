"""`arbnet reproduce`: the paper's two sweeps and their figures."""

from arbnet_keras import experiments
from arbnet_keras import training
from arbnet_keras.cli.backend import add_backend_argument
from arbnet_keras.cli.common import add_data_arguments
from arbnet_keras.cli.common import add_format_argument


def add_parser(subparsers):
    """Adds `reproduce`."""
    parser = subparsers.add_parser(
        "reproduce",
        help="run the paper's Dirichlet and Neighborhood sweeps and plot them",
        description=(
            "Run the paper's two sweeps (Dirichlet: alpha x sparsity; "
            "Neighborhood: radius x sparsity) and draw Figures 1-4. With "
            "--quick: 6 alphas and 5 radii, sparsities 0, 0.5, 0.9, 1 seed, "
            "10 epochs (33 runs, a few minutes on 2 CPU cores with "
            "mnist_5k). Without: 7 alphas (1e-3 to 1e3), 8 radii (0 to "
            "500), sparsities 0, 0.1, 0.5, 0.9, 3 seeds, "
            f"{training.DEFAULT_EPOCHS} epochs (180 runs, about an hour on "
            "2 CPU cores with mnist_5k). Resumable like `arbnet sweep`."
        ),
    )
    parser.add_argument(
        "--quick", action="store_true", help="run the reduced configuration"
    )
    parser.add_argument(
        "--out",
        default=None,
        help="output directory (default: runs/reproduce_quick with "
        "--quick, else runs/reproduce)",
    )
    add_data_arguments(parser, normalization=False)
    add_backend_argument(parser)
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="override the number of epochs of every run",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="override the number of seeds",
    )
    parser.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no progress bars, one line per run",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="run even if OUT holds sweeps of another configuration",
    )
    parser.add_argument(
        "--no-plot", action="store_true", help="do not draw the figures"
    )
    add_format_argument(parser)
    return parser


def run(args):
    """Runs both sweeps (resuming them) and plots them."""
    overrides = {}
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    if args.seeds is not None:
        overrides["seeds"] = args.seeds
    experiments.reproduce(
        args.out,
        quick=args.quick,
        dataset=args.dataset,
        data_dir=args.data_dir,
        quiet=args.quiet,
        force=args.force,
        formats=args.formats,
        plot=not args.no_plot,
        **overrides,
    )
    return 0
