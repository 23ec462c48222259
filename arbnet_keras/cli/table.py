"""`arbnet table OUT`: print a sweep's results as a Markdown table."""

from arbnet_keras import experiments
from arbnet_keras.experiments import plots


def add_parser(subparsers):
    """Adds `table`."""
    parser = subparsers.add_parser(
        "table",
        help="print a sweep's results as a Markdown table",
        description=(
            "Print the Markdown table of a sweep's results (mean +- std "
            "over seeds), also while it is running. Needs no matplotlib."
        ),
    )
    parser.add_argument(
        "out", metavar="OUT", help="sweep directory, or its results.jsonl"
    )
    return parser


def run(args):
    """Prints the table; returns the exit status."""
    spec, records = plots.read_sweep(args.out)
    print(experiments.results_table(records, spec))
    return 0
