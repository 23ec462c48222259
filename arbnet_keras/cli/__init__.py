"""The `arbnet` command line: run sweeps, plot them, reproduce the paper.

Examples:

    arbnet sweep dirichlet --alpha 1e-3 1e-2 1e-1 1 10 --sparsity 0 0.5 0.9 \\
        --seeds 3 --epochs 20 --out runs/dirichlet
    arbnet sweep neighborhood --radius 0 1 10 100 500 --out runs/neighborhood
    arbnet sweep uniform --sparsity 0 0.9 --table-scope layer --out runs/u
    arbnet plot runs/dirichlet --format png pdf
    arbnet table runs/dirichlet
    arbnet reproduce --quick
    arbnet convert mlp.keras mlp_arbnet.keras --compression 1/16

`python -m arbnet_keras` is the same command.

Each subcommand is a module with `add_parser(subparsers)`, which adds its
parser and returns it, and `run(args)`, which returns the exit status;
`COMMANDS` lists them, and `main` only dispatches.
"""

import argparse
import importlib
import os
import sys
import warnings

from arbnet_keras.version import __version__

# One line per subcommand, in the order `arbnet --help` lists them.
COMMANDS = (
    "arbnet_keras.cli.sweep",
    "arbnet_keras.cli.shared_sweep",
    "arbnet_keras.cli.plot",
    "arbnet_keras.cli.table",
    "arbnet_keras.cli.reproduce",
    "arbnet_keras.cli.aliasing",
    "arbnet_keras.cli.claims",
    "arbnet_keras.cli.convert",
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

    A user mistake prints one line, `arbnet COMMAND: error: ...`, on
    standard error and returns 2: a bad argument (`ValueError`, including
    unreadable JSON in a sweep's files) or a path that cannot be read or
    written (`OSError`). A sweep directory locked by another process,
    unavailable data or a missing optional package returns 1; Ctrl-C, 130
    (finished runs are kept; rerun the command to resume). `--traceback`
    shows the traceback instead.
    """
    from arbnet_keras.cli.backend import check_backend
    from arbnet_keras.datasets import DatasetUnavailableError
    from arbnet_keras.experiments import SweepLockedError

    parser = build_parser()
    args = parser.parse_args(argv)
    prog = " ".join(
        ["arbnet", args.command] + ([args.hash] if "hash" in args else [])
    )
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _warning_printer(prog)
            check_backend(args)
            return args.func(args) or 0
    except (ValueError, OSError) as error:
        if args.traceback:
            raise
        _print_error(prog, error)
        return 2
    except (SweepLockedError, DatasetUnavailableError, ImportError) as error:
        if args.traceback:
            raise
        _print_error(prog, error)
        return 1
    except KeyboardInterrupt:
        print(
            "\nInterrupted. Finished runs are saved; run the same command "
            "again to resume.",
            file=sys.stderr,
        )
        return 130


def _print_error(prog, error):
    if isinstance(error, OSError) and error.strerror and error.filename:
        # "Permission denied: 'runs/x/.lock'", without "[Errno 13]".
        message = f"{error.strerror}: {_path(error.filename)!r}"
        if error.filename2:
            message += f" -> {_path(error.filename2)!r}"
    else:
        message = str(error) or type(error).__name__
    # One line, whatever the message holds.
    print(f"{prog}: error: {' '.join(message.split())}", file=sys.stderr)


def _path(name):
    if isinstance(name, (str, bytes, os.PathLike)):
        return os.fsdecode(name)
    return str(name)


def _warning_printer(prog):
    """Prints this package's warnings as one line, without a source line."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    default = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if not os.path.abspath(filename).startswith(package + os.sep):
            return default(message, category, filename, lineno, file, line)
        text = " ".join(str(message).split())
        print(f"{prog}: warning: {text}", file=file or sys.stderr)

    return show
