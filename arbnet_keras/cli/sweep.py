"""`arbnet sweep HASH`: train one model per combination of swept values.

`arbnet sweep expansion` trains, at a fixed table, hashed networks of
growing hidden width and dense networks of the same parameter counts;
`arbnet sweep convolution` perturbs a convolution written as an ArbNet.
"""

import os

from arbnet_keras import experiments
from arbnet_keras import training
from arbnet_keras.cli import shared_sweep as shared_sweep_cli
from arbnet_keras.cli.backend import add_backend_argument
from arbnet_keras.cli.common import add_data_arguments
from arbnet_keras.cli.common import add_format_argument
from arbnet_keras.cli.common import parse_bool
from arbnet_keras.cli.common import print_paths
from arbnet_keras.experiments import config as config_lib
from arbnet_keras.experiments import convolution
from arbnet_keras.experiments import expansion
from arbnet_keras.experiments import paper
from arbnet_keras.experiments import spec_kind
from arbnet_keras.experiments.results import read_spec

_HASH_HELP = {
    "dirichlet": "Dirichlet hash, sweeping its concentration --alpha "
    "(balance; Figures 1-3 of the paper)",
    "neighborhood": "Neighborhood hash, sweeping its --radius (noise; "
    "Figure 4 of the paper)",
    "uniform": "uniform hash (each weight picks a random entry)",
    "modulus": "modulus hash (entry = id mod table size)",
    "identity": "identity hash: the unshared baseline (no table)",
    "hashed_nets": "the xxHash32 hash of HashedNets (use --sign and "
    "--table-scope layer for the original)",
}

_EXAMPLES = {
    "dirichlet": "arbnet sweep dirichlet --alpha 1e-3 1e-2 1e-1 1 10 "
    "--sparsity 0 0.5 0.9 --seeds 3 --epochs 20 --out runs/dirichlet",
    "neighborhood": "arbnet sweep neighborhood --radius 0 1 10 100 500 "
    "--sparsity 0 0.5 0.9 --out runs/neighborhood",
    "uniform": "arbnet sweep uniform --sparsity 0 0.5 0.9 --numbering "
    "out_in in_out --out runs/uniform",
    "modulus": "arbnet sweep modulus --sparsity 0 0.5 --number-zeros true "
    "false --out runs/modulus",
    "identity": "arbnet sweep identity --sparsity 0 0.9 --out runs/dense",
    "hashed_nets": "arbnet sweep hashed_nets --sign --table-scope layer "
    "--out runs/hashed_nets",
}


def add_parser(subparsers):
    """Adds `sweep` and its one subcommand per hash function."""
    parser = subparsers.add_parser(
        "sweep",
        help="run a sweep of one hash function",
        description=(
            "Train one model per combination of the given values "
            "(cartesian product, times --seeds seeds) and append one JSON "
            "record per finished run to OUT/results.jsonl. Rerun the same "
            "command to resume an interrupted sweep: finished runs are "
            "skipped."
        ),
    )
    hashes = parser.add_subparsers(dest="hash", required=True, metavar="HASH")
    for name in config_lib.SWEEPS:
        sub = hashes.add_parser(
            name,
            help=_HASH_HELP[name],
            description=(
                f"Sweep of the {_HASH_HELP[name]}: one run per combination "
                "of the swept values and seed. Results are appended to "
                "OUT/results.jsonl; rerun the same command to resume."
            ),
            epilog=f"Example: {_EXAMPLES[name]}",
        )
        _add_options(sub, name)
    sub = hashes.add_parser(
        expansion.KIND,
        help="HashedNets' expansion: hidden widths at a fixed table, "
        "against dense networks of the same parameter count",
        description=(
            "784-H-10 networks sharing one table of --table-size entries, "
            "for each hidden width H of --widths, and for each H the dense "
            "network whose trainable parameters (with biases and batch "
            "normalization) are closest. Results are appended to "
            "OUT/results.jsonl; rerun the same command to resume."
        ),
        epilog="Example: arbnet sweep expansion --widths 100 300 1000 3000 "
        "--table-size 10000 --seeds 2 --epochs 10 --out runs/expansion",
    )
    _add_expansion_options(sub)
    sub = hashes.add_parser(
        convolution.KIND,
        help="why convolutions work: noise and imbalance on a convolution "
        "written as an ArbNet (Toeplitz hash), with baselines",
        description=(
            "A one-convolution network whose convolution is a HashedDense "
            "with the Toeplitz hash (eq. 6 of the paper), trained with a "
            "fraction --noise of its weights re-drawn at random "
            "(determinism falls) and with its entries re-mapped through a "
            "Dirichlet(--alpha) draw (balance falls), plus the baselines: "
            "Keras' Conv2D, a uniform hash over the whole dense kernel with "
            "the same table, and the dense MLP of the same parameter count. "
            "Results are appended to OUT/results.jsonl; rerun the same "
            "command to resume."
        ),
        epilog="Example: arbnet sweep convolution --noise 0 0.1 1 --alpha "
        "0.01 1 100 --seeds 3 --epochs 30 --out runs/convolution",
    )
    _add_convolution_options(sub)
    return parser


def run(args):
    """Runs the sweep of parsed arguments; returns the exit status."""
    # The whole spec is checked (hash parameters included) before any
    # file is written.
    spec = spec_from_args(args)
    out = args.out or os.path.join("runs", args.hash)
    if shared_sweep_cli.wants_serve(args):
        # A chief: the runs are handed out to `arbnet sweep-worker`s.
        return shared_sweep_cli.run_serve(args, spec, out)
    records = experiments.run_sweep(
        spec,
        out,
        quiet=args.quiet,
        verbose=args.verbose,
        force=args.force,
        max_runs=args.max_runs,
        data_dir=args.data_dir,
    )
    if isinstance(spec, (expansion.ExpansionSpec, convolution.ConvolutionSpec)):
        # As `run_sweep` resolved it from the data (the baselines' widths).
        spec = expansion.spec_from_dict(read_spec(out))
    total = len(spec.runs())
    print(f"{len(records)} of {total} runs finished; results in {out}")
    if len(records) < total:
        print("Run the same command again to do the remaining runs.")
    if args.plot and records:
        print_paths(experiments.plot_results(out, formats=args.formats))
    return 0


def spec_from_args(args):
    """The `SweepSpec` of parsed `arbnet sweep` arguments.

    Raises:
        ValueError: If the arguments make no valid sweep.
    """
    if args.hash == expansion.KIND:
        return expansion.ExpansionSpec(
            widths=args.widths,
            table_size=args.table_size,
            hash=args.hashed_by,
            baseline=not args.no_baseline,
            **_training(args),
        )
    if args.hash == convolution.KIND:
        return convolution.ConvolutionSpec(
            noise=args.noise,
            alpha=args.alpha,
            merge=args.merge,
            baseline=not args.no_baseline,
            filters=args.filters,
            kernel_size=args.kernel_size,
            strides=args.strides,
            **_training(args),
        )
    if args.no_number_zeros and args.number_zeros is not None:
        raise ValueError(
            "Give either `--number-zeros` or `--no-number-zeros`, not both. "
            f"Received: number_zeros={args.number_zeros}, "
            "no_number_zeros=True"
        )
    if args.no_number_zeros:
        number_zeros = [False]
    else:
        number_zeros = args.number_zeros or [True]
    model = args.model
    if model is None:
        model = "hashed_mlp" if args.hidden_units else "auto"
    return experiments.SweepSpec(
        hash=args.hash,
        alpha=getattr(args, "alpha", None),
        radius=getattr(args, "radius", None),
        sparsity=args.sparsity,
        model=model,
        hidden_units=args.hidden_units,
        table_size=args.table_size,
        table_scope=args.table_scope,
        numbering=args.numbering,
        number_zeros=number_zeros,
        sign=args.sign,
        **_training(args),
    )


def _training(args):
    """The data set and training settings every kind of sweep takes."""
    return {
        name: getattr(args, name)
        for name in ("dataset", *spec_kind.TRAINING_FIELDS)
    }


def _add_options(parser, name):
    values = parser.add_argument_group("swept values")
    if name == "dirichlet":
        values.add_argument(
            "--alpha",
            type=float,
            nargs="+",
            default=list(paper.FULL["dirichlet"]["alpha"]),
            metavar="A",
            help="concentrations of the Dirichlet hash, each > 0 "
            "(default: %(default)s)",
        )
    elif name == "neighborhood":
        values.add_argument(
            "--radius",
            type=int,
            nargs="+",
            default=list(paper.FULL["neighborhood"]["radius"]),
            metavar="R",
            help="radii of the Neighborhood hash, integers >= 0 "
            "(default: %(default)s)",
        )
    values.add_argument(
        "--sparsity",
        type=float,
        nargs="+",
        default=[0.0],
        metavar="S",
        help="fractions of weights fixed at zero, each in [0, 1)"
        " (default: %(default)s)",
    )
    values.add_argument(
        "--numbering",
        nargs="+",
        choices=config_lib.NUMBERINGS,
        default=["out_in"],
        help="orders in which weights are numbered (default: %(default)s)",
    )
    values.add_argument(
        "--number-zeros",
        type=parse_bool,
        nargs="+",
        default=None,
        metavar="BOOL",
        help="whether zeros consume identifiers: true, false, or both "
        "(default: true)",
    )
    values.add_argument(
        "--no-number-zeros",
        action="store_true",
        help="same as --number-zeros false",
    )
    _add_seeds(values)

    model = parser.add_argument_group("model")
    add_data_arguments(model)
    model.add_argument(
        "--model",
        choices=config_lib.MODELS,
        default=None,
        help="network: auto is cifar10_mlp (3072-2000x5-10) for 3072 "
        "inputs, else mnist_mlp (784-200-200-10); hashed_mlp takes "
        "--hidden-units (default: auto, or hashed_mlp with --hidden-units)",
    )
    model.add_argument(
        "--hidden-units",
        type=int,
        nargs="+",
        default=None,
        metavar="UNITS",
        help="hidden layer sizes of a hashed_mlp model",
    )
    model.add_argument(
        "--table-size",
        type=int,
        default=1000,
        help="entries of each hash table, ignored by identity"
        " (default: %(default)s)",
    )
    model.add_argument(
        "--table-scope",
        choices=config_lib.TABLE_SCOPES,
        default="network",
        help="one table for the network, or one per layer "
        "(default: %(default)s)",
    )
    model.add_argument(
        "--sign",
        action="store_true",
        help="give each weight a fixed random sign, as HashedNets",
    )

    _add_training_and_output(parser)


def _add_expansion_options(parser):
    values = parser.add_argument_group("swept values")
    values.add_argument(
        "--widths",
        type=int,
        nargs="+",
        default=list(expansion.DEFAULT_WIDTHS),
        metavar="H",
        help="hidden widths of the hashed networks (default: %(default)s)",
    )
    _add_seeds(values)
    model = parser.add_argument_group("model")
    add_data_arguments(model)
    model.add_argument(
        "--table-size",
        type=int,
        default=10000,
        help="entries of the network's one table (default: %(default)s)",
    )
    model.add_argument(
        "--hash",
        dest="hashed_by",
        choices=expansion.HASHES,
        default="uniform",
        help="hash of the hashed networks (default: %(default)s)",
    )
    model.add_argument(
        "--no-baseline",
        action="store_true",
        help="no dense networks of the same parameter counts",
    )
    _add_training_and_output(parser)


def _add_convolution_options(parser):
    values = parser.add_argument_group("swept values")
    values.add_argument(
        "--noise",
        type=float,
        nargs="*",
        default=list(convolution.DEFAULT_NOISE),
        metavar="P",
        help="fractions of the convolution's weights re-drawn at random, "
        "each in [0, 1]; none for no noise series (default: %(default)s)",
    )
    values.add_argument(
        "--alpha",
        type=float,
        nargs="*",
        default=list(convolution.DEFAULT_ALPHA),
        metavar="A",
        help="concentrations of the Dirichlet remap of the entries, each "
        "> 0; none for no imbalance series (default: %(default)s)",
    )
    values.add_argument(
        "--merge",
        type=int,
        nargs="*",
        default=[],
        metavar="K",
        help="numbers of entries of even merges of the convolution's "
        "entries (a control of the imbalance series: fewer entries, still "
        "balanced) (default: none)",
    )
    _add_seeds(values)
    model = parser.add_argument_group("model")
    add_data_arguments(model)
    for name, default, text in (
        ("filters", 8, "filters of the convolution"),
        ("kernel-size", 5, "height and width of its filters"),
        ("strides", 2, "its strides"),
    ):
        model.add_argument(
            f"--{name}",
            type=int,
            default=default,
            help=f"{text} (default: %(default)s)",
        )
    model.add_argument(
        "--no-baseline",
        action="store_true",
        help="no Conv2D, uniform-hash and dense-MLP baselines",
    )
    _add_training_and_output(parser)


def _add_seeds(group):
    group.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="number of seeds (0 .. SEEDS-1) of every configuration"
        " (default: %(default)s)",
    )


def _add_training_and_output(parser):
    train = parser.add_argument_group("training (the paper's recipe)")
    add_backend_argument(train)
    train.add_argument(
        "--epochs",
        type=int,
        default=training.DEFAULT_EPOCHS,
        help="epochs of every run (default: %(default)s)",
    )
    train.add_argument(
        "--batch-size",
        type=int,
        default=training.DEFAULT_BATCH_SIZE,
        help="examples per batch (default: %(default)s)",
    )
    train.add_argument(
        "--learning-rate",
        type=float,
        default=training.LEARNING_RATE,
        help="initial SGD learning rate (default: %(default)s)",
    )
    train.add_argument(
        "--momentum",
        type=float,
        default=training.MOMENTUM,
        help="SGD momentum (default: %(default)s)",
    )
    train.add_argument(
        "--patience",
        type=int,
        default=training.PATIENCE,
        help="epochs without training-accuracy gain before the learning "
        "rate is cut (default: %(default)s)",
    )
    train.add_argument(
        "--factor",
        type=float,
        default=training.FACTOR,
        help="factor of each learning rate cut (default: %(default)s)",
    )

    output = parser.add_argument_group("output")
    output.add_argument(
        "--out",
        default=None,
        help="output directory (default: runs/HASH)",
    )
    output.add_argument(
        "--force",
        action="store_true",
        help="run even if OUT holds a sweep with another spec (its records "
        "are kept)",
    )
    output.add_argument(
        "--max-runs",
        type=int,
        default=None,
        help="stop after this many new runs (the rest on a later call)",
    )
    output.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no progress bar and no per-epoch lines: one line per run",
    )
    output.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=None,
        help="per-epoch output: 0 none, 1 Keras progress bar, 2 one line "
        "per epoch (default: 2, or 0 with --quiet)",
    )
    output.add_argument(
        "--plot",
        action="store_true",
        help="draw the figures when the sweep is done (see `arbnet plot`)",
    )
    add_format_argument(output)
    shared_sweep_cli.add_serve_arguments(parser)
