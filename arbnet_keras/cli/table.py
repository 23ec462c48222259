"""`arbnet table OUT`: print a sweep's results as a Markdown table."""

from arbnet_keras import experiments
from arbnet_keras.experiments import results as results_lib


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
    parser.add_argument("out", metavar="OUT", help="sweep directory")
    return parser


def run(args):
    """Prints the table; returns the exit status."""
    out = args.out
    spec_dict = results_lib.read_spec(out)
    if spec_dict is None and not results_lib.results_path(out).exists():
        raise ValueError(
            "`out` holds no sweep (no results.jsonl and no sweep.json). "
            f"Received: out={out!r}"
        )
    spec = None
    if spec_dict is not None:
        spec = experiments.SweepSpec.from_dict(spec_dict)
    print(experiments.results_table(experiments.read_results(out), spec))
    return 0
