"""`arbnet tune`: a KerasTuner search over a hash function's parameters.

Examples:

    arbnet tune --dataset mnist_5k --hash dirichlet --max-trials 20
    arbnet tune --hash neighborhood --radius 0:500 --tuner bayesian
    arbnet tune --hash dirichlet,neighborhood --sparsity 0,0.5,0.9

    # A chief and two workers (on other machines, use the chief's address):
    arbnet tune --hash dirichlet --max-trials 20 --chief --workers 2 &
    arbnet tune --hash dirichlet --max-trials 20 --worker --tuner-id w1 &
    arbnet tune --hash dirichlet --max-trials 20 --worker --tuner-id w2

`add_tune_parser` adds the `tune` command to the `arbnet` command line;
`python -m arbnet_keras.tuning.cli tune ...` runs it alone.
"""

import argparse
import os
import sys

from arbnet_keras.cli.backend import add_backend_argument
from arbnet_keras.cli.backend import check_backend
from arbnet_keras.cli.common import add_data_arguments

_DESCRIPTION = """\
Searches the hyperparameters of an ArbNet (the paper's MLP for the data set,
trained with the paper's recipe) with KerasTuner, then prints the best
trial's hyperparameters and accuracy and saves a summary of every trial as
JSON. Hyperparameters take a value (fixed), comma-separated choices, or a
range MIN:MAX[:SAMPLING] (SAMPLING: linear, log, reverse_log).

The objective is measured on the data set's test split, as the paper's
figures report test accuracy (the paper uses no validation set); use
--objective accuracy to select on training accuracy instead.
"""

_EPILOG = """\
examples:
  arbnet tune --dataset mnist_5k --hash dirichlet --max-trials 20
  arbnet tune --hash neighborhood --radius 0:500 --tuner bayesian
  arbnet tune --hash dirichlet --alpha 0.001,0.1,10,1000 --sparsity 0:0.9

distributed (a chief and N workers sharing one search):
  arbnet tune --hash dirichlet --max-trials 20 --chief --workers 2
  arbnet tune --hash dirichlet --max-trials 20 --worker --tuner-id w1
  arbnet tune --hash dirichlet --max-trials 20 --worker --tuner-id w2
Give every process the same search options and --directory; see
docs/distributed.md.
"""


def add_tune_parser(subparsers):
    """Adds the `tune` command to an `argparse` subparsers object.

    Args:
        subparsers: The object returned by `add_subparsers`.

    Returns:
        The `tune` parser; its default `func` is `run_tune`.
    """
    parser = subparsers.add_parser(
        "tune",
        help="search hash parameters with KerasTuner (alpha, radius...)",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = parser.add_argument_group("data and model")
    add_data_arguments(data)
    data.add_argument(
        "--batch-size", type=int, default=128, help="(default: 128)"
    )
    data.add_argument(
        "--hidden-units",
        default="auto",
        help="comma-separated hidden layer sizes, or 'auto' for the "
        "paper's network of the input size (default: auto)",
    )
    data.add_argument(
        "--table-scope",
        choices=("network", "layer"),
        default="network",
        help="one table for the network or one per layer (default: network)",
    )
    data.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the hash, the initial weights and the data order "
        "(default: 0)",
    )
    space = parser.add_argument_group("search space")
    space.add_argument(
        "--hash",
        dest="hashes",
        metavar="HASH",
        default="dirichlet",
        help="hash function, or comma-separated choices among dirichlet, "
        "neighborhood, uniform, modulus, hashed_nets, identity "
        "(default: dirichlet)",
    )
    space.add_argument(
        "--alpha",
        default=None,
        help="Dirichlet concentration (default: 0.001:1000, log scale)",
    )
    space.add_argument(
        "--radius",
        default=None,
        help="Neighborhood radius (default: 0:500, linear)",
    )
    space.add_argument(
        "--table-size", default="1000", help="table entries (default: 1000)"
    )
    space.add_argument(
        "--sparsity",
        default="0",
        help="fraction of the weights fixed at zero (default: 0)",
    )
    space.add_argument(
        "--learning-rate",
        default="0.1",
        help="initial SGD learning rate (default: 0.1, the paper's)",
    )
    search = parser.add_argument_group("search")
    add_backend_argument(search)
    search.add_argument(
        "--tuner",
        choices=("random", "bayesian", "hyperband"),
        default="random",
        help="KerasTuner algorithm (default: random)",
    )
    search.add_argument(
        "--max-trials",
        type=int,
        default=10,
        help="trials of a random or Bayesian search (default: 10)",
    )
    search.add_argument(
        "--epochs",
        type=int,
        default=10,
        help="epochs per trial; Hyperband's most epochs (default: 10)",
    )
    search.add_argument(
        "--objective",
        default="val_accuracy",
        help="metric to optimize: val_accuracy (test split), val_loss, "
        "accuracy or loss (default: val_accuracy)",
    )
    search.add_argument(
        "--tuner-seed",
        type=int,
        default=1,
        help="positive seed of the tuner's sampling (default: 1)",
    )
    search.add_argument(
        "--directory",
        default="tuning",
        help="directory of the searches (default: tuning)",
    )
    search.add_argument(
        "--project-name",
        default=None,
        help="subdirectory of this search (default: from the data set, "
        "hashes and tuner)",
    )
    search.add_argument(
        "--overwrite",
        action="store_true",
        help="start afresh instead of resuming the project's search",
    )
    search.add_argument(
        "--output",
        default=None,
        help="JSON summary of the search (default: "
        "DIRECTORY/PROJECT/best_trial.json)",
    )
    search.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=2,
        help="KerasTuner and fit verbosity (default: 2)",
    )
    dist = parser.add_argument_group("distributed search")
    role = dist.add_mutually_exclusive_group()
    role.add_argument(
        "--chief",
        action="store_true",
        help="run the chief: serve the search to workers, then report",
    )
    role.add_argument(
        "--worker",
        action="store_true",
        help="run a worker: take trials from the chief until it stops",
    )
    dist.add_argument(
        "--oracle-ip",
        default="127.0.0.1",
        help="the chief's address (default: 127.0.0.1)",
    )
    dist.add_argument(
        "--oracle-port",
        type=int,
        default=8000,
        help="the chief's port (default: 8000)",
    )
    dist.add_argument(
        "--tuner-id",
        default=None,
        help="a worker's unique name (default: from host and process id)",
    )
    dist.add_argument(
        "--workers",
        type=int,
        default=1,
        help="chief: workers that must ask for trials before the first is "
        "handed out (default: 1)",
    )
    dist.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="chief: seconds without news of any worker before it gives "
        "up; worker: seconds to wait for each answer of the chief "
        "(default: 600)",
    )
    dist.add_argument(
        "--heartbeat",
        type=float,
        default=10.0,
        help="worker: seconds between heartbeats to the chief (default: 10)",
    )
    parser.set_defaults(func=run_tune)
    return parser


def run_tune(args):
    """Runs `arbnet tune` from parsed arguments; returns the exit status.

    Bad arguments raise `ValueError`; a missing package, `ImportError`. A
    chief that times out or a worker that cannot reach its chief prints
    the error and returns 1.
    """
    role = "chief" if args.chief else "worker" if args.worker else None
    if role is not None:
        from arbnet_keras.tuning.distributed import distributed_env

        os.environ.update(
            distributed_env(
                role, args.oracle_ip, args.oracle_port, args.tuner_id
            )
        )
    import keras

    from arbnet_keras import datasets
    from arbnet_keras import tuning

    tuning.check_search_dependencies()
    keras.utils.set_random_seed(args.seed)
    for name in ("max_trials", "epochs", "batch_size", "workers"):
        if getattr(args, name) < 1:
            raise ValueError(
                f"`--{name.replace('_', '-')}` must be a positive integer. "
                f"Received: {name}={getattr(args, name)!r}"
            )
    specs = {
        name: tuning.space.parse_text(name, text)
        for name, text in (
            ("hash", args.hashes),
            ("alpha", args.alpha),
            ("radius", args.radius),
            ("table_size", args.table_size),
            ("sparsity", args.sparsity),
            ("learning_rate", args.learning_rate),
        )
        if text is not None
    }
    data = datasets.load(
        args.dataset,
        batch_size=args.batch_size,
        data_dir=args.data_dir,
        normalization=args.normalization,
        shuffle_seed=args.seed,
    )
    hypermodel = tuning.ArbNetHyperModel.for_dataset(
        data,
        hidden_units=_hidden_units(args.hidden_units),
        model_kwargs={"table_scope": args.table_scope, "seed": args.seed},
        **specs,
    )
    project_name = args.project_name or _project_name(args)
    tuner = tuning.make_tuner(
        args.tuner,
        hypermodel,
        objective=args.objective,
        max_trials=args.max_trials,
        max_epochs=args.epochs,
        seed=args.tuner_seed,
        directory=args.directory,
        project_name=project_name,
        overwrite=args.overwrite and role != "worker",
    )
    prefix = f"[{os.environ['KERASTUNER_TUNER_ID']}] " if role else ""
    print(f"{prefix}Search space ({args.tuner}, {args.dataset}):")
    for line in hypermodel.describe():
        print(f"{prefix}  {line}")
    fit_kwargs = {
        "validation_data": data.test,
        "epochs": args.epochs,
        "verbose": args.verbose,
    }
    report = None
    try:
        if role == "worker":
            tuning.run_worker(
                tuner,
                data.train,
                timeout=args.timeout,
                heartbeat_interval=args.heartbeat,
                **fit_kwargs,
            )
            print(f"{prefix}Worker finished: the chief has no trial left.")
            return 0
        if role == "chief":
            tuner.oracle.verbose = args.verbose
            report = tuning.serve_chief(
                tuner,
                timeout=args.timeout,
                min_workers=args.workers,
                print_fn=lambda line: print(f"{prefix}{line}", flush=True),
            )
        else:
            tuner.search(data.train, **fit_kwargs)
    except (tuning.ChiefTimeoutError, tuning.ChiefUnreachableError) as error:
        if getattr(args, "traceback", False):
            raise
        print(f"{prefix}arbnet tune: error: {error}", file=sys.stderr)
        return 1
    metadata = {
        "dataset": args.dataset,
        "tuner": args.tuner,
        "epochs": args.epochs,
        "search_space": hypermodel.describe(),
        "arguments": {
            key: value
            for key, value in sorted(vars(args).items())
            if key not in ("func", "command", "traceback")
        },
    }
    if report is not None:
        metadata["distributed"] = report
    summary = tuning.summarize(tuner.oracle, **metadata)
    for line in tuning.format_summary(summary):
        print(f"{prefix}{line}")
    output = args.output or os.path.join(
        args.directory, project_name, "best_trial.json"
    )
    tuning.write_summary(summary, output)
    print(f"{prefix}Saved {output}")
    return 0


def build_parser():
    """A parser with the `tune` command alone (for `python -m`)."""
    parser = argparse.ArgumentParser(
        prog="arbnet", description="ArbNets hyperparameter search."
    )
    parser.add_argument(
        "--traceback",
        action="store_true",
        help="show the full traceback of errors (for debugging)",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND"
    )
    add_tune_parser(commands)
    return parser


def main(argv=None):
    """Runs `arbnet tune`; returns the exit status (2 for bad arguments)."""
    args = build_parser().parse_args(argv)
    try:
        check_backend(args)
        return args.func(args) or 0
    except (ValueError, ImportError) as error:
        if args.traceback:
            raise
        print(f"arbnet tune: error: {error}", file=sys.stderr)
        return 2 if isinstance(error, ValueError) else 1


def _hidden_units(text):
    if text.strip().lower() == "auto":
        return None
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(
            "`--hidden-units` must be 'auto' or comma-separated positive "
            f"integers. Received: hidden_units={text!r}"
        ) from None


def _project_name(args):
    dataset = args.dataset.replace(":", "_").replace(os.sep, "_")
    hashes = args.hashes.replace(",", "+").replace(" ", "")
    return f"{dataset}-{hashes}-{args.tuner}"


# The names by which `arbnet_keras.cli` registers every subcommand.
add_parser = add_tune_parser
run = run_tune

if __name__ == "__main__":
    sys.exit(main())
