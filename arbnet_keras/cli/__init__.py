"""The `arbnet` command line: run sweeps, plot them, reproduce the paper.

Examples:

    arbnet sweep dirichlet --alpha 1e-3 1e-2 1e-1 1 10 --sparsity 0 0.5 0.9 \\
        --seeds 3 --epochs 20 --out runs/dirichlet
    arbnet sweep neighborhood --radius 0 1 10 100 500 --out runs/neighborhood
    arbnet sweep uniform --sparsity 0 0.9 --table-scope layer --out runs/u
    arbnet plot runs/dirichlet --format png pdf
    arbnet table runs/dirichlet
    arbnet reproduce --quick

`python -m arbnet_keras` is the same command.

Each subcommand is a module with `add_parser(subparsers)`, which adds its
parser and returns it, and `run(args)`, which returns the exit status;
`COMMANDS` lists them, and `main` only dispatches.
"""

import argparse
import importlib
import sys

from arbnet_keras.version import __version__

# One line per subcommand, in the order `arbnet --help` lists them.
COMMANDS = (
    "arbnet_keras.cli.sweep",
    "arbnet_keras.cli.plot",
    "arbnet_keras.cli.table",
    "arbnet_keras.cli.reproduce",
    "arbnet_keras.cli.aliasing",
    "arbnet_keras.cli.claims",
    "arbnet_keras.tuning.cli",
)


def build_parser():
    """The `argparse` parser of the `arbnet` command."""
    parser = argparse.ArgumentParser(
        prog="arbnet",
        description=(
            "ArbNets experiments: sweeps of hash functions, their figures, "
            "and the paper's experiments."
        ),
        epilog=(
            "Run `arbnet COMMAND --help` for a command's options. Example: "
            "arbnet reproduce --quick"
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"arbnet_keras {__version__}"
    )
    parser.add_argument(
        "--traceback",
        action="store_true",
        help="show the full traceback of errors (for debugging)",
    )
    subparsers = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND"
    )
    for name in COMMANDS:
        module = importlib.import_module(name)
        module.add_parser(subparsers).set_defaults(func=module.run)
    return parser


def main(argv=None):
    """Runs the `arbnet` command; returns its exit status.

    Bad arguments print an error (no traceback) and return 2; a sweep
    directory locked by another process or unavailable data, 1; Ctrl-C,
    130 (finished runs are kept; rerun the command to resume).
    """
    from arbnet_keras.datasets import DatasetUnavailableError
    from arbnet_keras.experiments import SweepLockedError

    parser = build_parser()
    args = parser.parse_args(argv)
    prog = " ".join(
        ["arbnet", args.command] + ([args.hash] if "hash" in args else [])
    )
    try:
        return args.func(args) or 0
    except ValueError as error:
        if args.traceback:
            raise
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    except (SweepLockedError, DatasetUnavailableError, ImportError) as error:
        if args.traceback:
            raise
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "\nInterrupted. Finished runs are saved; run the same command "
            "again to resume.",
            file=sys.stderr,
        )
        return 130
