"""`--backend`: the Keras backend of an `arbnet` command.

Keras reads `KERAS_BACKEND` once, when it is first imported, and
`import arbnet_keras` imports Keras. So `arbnet ... --backend NAME` is read
from the command line by `select_from_command_line`, which
`arbnet_keras/__init__.py` calls before anything imports Keras; the parsers
only declare and check the option. This module must not import Keras.
"""

import os
import sys

BACKENDS = ("tensorflow", "jax", "torch")

# Names the `arbnet` console script runs under (pip's Windows launcher
# keeps `arbnet-script.py`).
_SCRIPT_NAMES = ("arbnet", "arbnet.exe", "arbnet-script.py")
# Modules that `python -m` runs as the command line.
_MODULES = ("arbnet_keras", "arbnet_keras.tuning.cli")


def requested_backend(args):
    """The value of `--backend NAME` or `--backend=NAME` in `args`, or None.

    Never raises and never exits: a missing or bad value is left for the
    command's parser to report.
    """
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--backend":
            return args[i + 1] if i + 1 < len(args) else None
        if arg.startswith("--backend="):
            return arg.split("=", 1)[1]
    return None


def _command_line_args():
    """The arguments of the `arbnet` command (script or `-m`), else None."""
    if not sys.argv:
        return None
    if os.path.basename(sys.argv[0]) in _SCRIPT_NAMES:
        return sys.argv[1:]
    # While `python -m arbnet_keras` imports the package, argv[0] is "-m".
    original = list(getattr(sys, "orig_argv", ()))
    if sys.argv[0] == "-m" and "-m" in original:
        module = original[original.index("-m") + 1 :][:1]
        if module and module[0] in _MODULES:
            return sys.argv[1:]
    return None


def select_from_command_line():
    """Sets `KERAS_BACKEND` from `--backend` when run as the `arbnet` command.

    Does nothing when the package is imported by other programs, or when
    `--backend` is absent or not one of `BACKENDS`.
    """
    args = _command_line_args()
    backend = requested_backend(args) if args is not None else None
    if backend in BACKENDS:
        os.environ["KERAS_BACKEND"] = backend


def add_backend_argument(parser):
    """Adds `--backend {tensorflow,jax,torch}` to a parser or group."""
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=None,
        help="Keras backend, which must be installed (default: "
        "$KERAS_BACKEND, else the one in ~/.keras/keras.json)",
    )


def check_backend(args):
    """Raises ValueError if Keras does not run on `args.backend`.

    That happens when `main` is called inside a process that had imported
    Keras before, with another backend.
    """
    requested = getattr(args, "backend", None)
    if requested is None:
        return
    import keras

    current = keras.backend.backend()
    if current != requested:
        raise ValueError(
            f"`--backend` must be chosen before Keras is imported, and this "
            f"process already runs Keras on '{current}'. Run `arbnet` as a "
            f"command of its own, or set KERAS_BACKEND={requested}. "
            f"Received: backend={requested!r}"
        )
