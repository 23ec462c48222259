"""`arbnet plot OUT...`: draw a sweep's figures and its results.md."""

from arbnet_keras import experiments
from arbnet_keras.cli.common import add_format_argument
from arbnet_keras.cli.common import print_paths
from arbnet_keras.experiments import plots


def add_parser(subparsers):
    """Adds `plot`."""
    parser = subparsers.add_parser(
        "plot",
        help="draw the figures and results.md of a sweep",
        description=(
            "Draw a sweep's figures from OUT/results.jsonl into its "
            "directory: Figure 1 (Dirichlet heatmaps), 2 (accuracy vs "
            "alpha) and 3 (accuracy vs entropy) for a Dirichlet sweep, "
            "Figure 4 (accuracy vs radius) for a Neighborhood sweep, "
            "accuracy vs sparsity otherwise; and results.md, a Markdown "
            "table of mean +- std over seeds."
        ),
    )
    parser.add_argument("out", nargs="+", metavar="OUT", help="sweep directory")
    add_format_argument(parser)
    parser.add_argument(
        "--error",
        choices=plots.ERRORS,
        default="std",
        help="error bars: standard deviation or min-max over seeds"
        " (default: %(default)s)",
    )
    return parser


def run(args):
    """Plots each sweep directory; returns the exit status."""
    for out in args.out:
        print_paths(
            experiments.plot_results(
                out, formats=args.formats, error=args.error
            )
        )
    return 0
