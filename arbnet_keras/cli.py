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
"""

import argparse
import os
import sys

from arbnet_keras import experiments
from arbnet_keras import training
from arbnet_keras.cli_common import add_data_arguments
from arbnet_keras.experiments import config as config_lib
from arbnet_keras.experiments import paper
from arbnet_keras.experiments import plots
from arbnet_keras.experiments import results as results_lib
from arbnet_keras.tuning.cli import add_tune_parser
from arbnet_keras.version import __version__

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
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND"
    )

    sweep = commands.add_parser(
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
    hashes = sweep.add_subparsers(dest="hash", required=True, metavar="HASH")
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
        _add_sweep_options(sub, name)
        sub.set_defaults(func=_sweep)

    plot = commands.add_parser(
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
    plot.add_argument("out", nargs="+", metavar="OUT", help="sweep directory")
    _format_options(plot)
    plot.add_argument(
        "--error",
        choices=plots.ERRORS,
        default="std",
        help="error bars: standard deviation or min-max over seeds"
        " (default: %(default)s)",
    )
    plot.set_defaults(func=_plot)

    table = commands.add_parser(
        "table",
        help="print a sweep's results as a Markdown table",
        description=(
            "Print the Markdown table of a sweep's results (mean +- std "
            "over seeds), also while it is running. Needs no matplotlib."
        ),
    )
    table.add_argument("out", metavar="OUT", help="sweep directory")
    table.set_defaults(func=_table)

    reproduce = commands.add_parser(
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
    reproduce.add_argument(
        "--quick", action="store_true", help="run the reduced configuration"
    )
    reproduce.add_argument(
        "--out",
        default=None,
        help="output directory (default: runs/reproduce_quick with "
        "--quick, else runs/reproduce)",
    )
    add_data_arguments(reproduce, normalization=False)
    reproduce.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="override the number of epochs of every run",
    )
    reproduce.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="override the number of seeds",
    )
    reproduce.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no progress bars, one line per run",
    )
    reproduce.add_argument(
        "--force",
        action="store_true",
        help="run even if OUT holds sweeps of another configuration",
    )
    reproduce.add_argument(
        "--no-plot", action="store_true", help="do not draw the figures"
    )
    _format_options(reproduce)
    reproduce.set_defaults(func=_reproduce)

    aliasing = commands.add_parser(
        "aliasing",
        help="measure how a modulus network table aliases with layer widths",
        description=(
            "Rank of each layer's kernel in the paper's MNIST network "
            "when one modulus table serves the whole network, for several "
            "table sizes and both numberings (no training). Writes "
            "OUT/aliasing.png and OUT/aliasing.md."
        ),
    )
    aliasing.add_argument(
        "--out", default="runs/aliasing", help="output directory"
    )
    aliasing.add_argument(
        "--table-size",
        type=int,
        nargs="+",
        default=[100, 200, 400, 500, 800, 997, 1000, 1200, 1600, 2000],
        metavar="N",
        help="table sizes (default: %(default)s)",
    )
    aliasing.set_defaults(func=_aliasing)

    claims = commands.add_parser(
        "claims",
        help="test the paper's four claims on sweep results",
        description=(
            "Spearman rank correlations of test accuracy with alpha "
            "(Dirichlet sweeps) and radius (Neighborhood sweeps) at each "
            "sparsity, and the paper's four claims judged from them, as "
            "Markdown; one section per dataset, numbering and "
            "number_zeros setting."
        ),
    )
    claims.add_argument(
        "out", nargs="+", metavar="OUT", help="sweep directories"
    )
    claims.add_argument(
        "--min-radius",
        type=int,
        default=0,
        help="leave out Neighborhood runs of smaller radius, e.g. 1 to "
        "leave out the modulus hash (radius 0) (default: %(default)s)",
    )
    claims.set_defaults(func=_claims)

    add_tune_parser(commands)
    return parser


def main(argv=None):
    """Runs the `arbnet` command; returns its exit status.

    Bad arguments print an error (no traceback) and return 2; a sweep
    directory locked by another process or unavailable data, 1; Ctrl-C,
    130 (finished runs are kept; rerun the command to resume).
    """
    from arbnet_keras.datasets import DatasetUnavailableError

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
    except (
        experiments.SweepLockedError,
        DatasetUnavailableError,
        ImportError,
    ) as error:
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


def _add_sweep_options(common, name):
    values = common.add_argument_group("swept values")
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
        type=_parse_bool,
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
    values.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="number of seeds (0 .. SEEDS-1) of every configuration"
        " (default: %(default)s)",
    )

    model = common.add_argument_group("model")
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

    train = common.add_argument_group("training (the paper's recipe)")
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

    output = common.add_argument_group("output")
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
    _format_options(output)


def _format_options(parser):
    parser.add_argument(
        "--format",
        nargs="+",
        choices=plots.FORMATS,
        default=["png"],
        dest="formats",
        help="figure file formats (default: %(default)s)",
    )


def _parse_bool(text):
    value = text.strip().lower()
    if value in ("true", "t", "yes", "y", "1"):
        return True
    if value in ("false", "f", "no", "n", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def spec_from_args(args):
    """The `SweepSpec` of parsed `arbnet sweep` arguments."""
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
        seeds=args.seeds,
        epochs=args.epochs,
        dataset=args.dataset,
        normalization=args.normalization,
        model=model,
        hidden_units=args.hidden_units,
        table_size=args.table_size,
        table_scope=args.table_scope,
        numbering=args.numbering,
        number_zeros=number_zeros,
        sign=args.sign,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        momentum=args.momentum,
        patience=args.patience,
        factor=args.factor,
    )


def _sweep(args):
    spec = spec_from_args(args)
    out = args.out or os.path.join("runs", spec.hash)
    records = experiments.run_sweep(
        spec,
        out,
        quiet=args.quiet,
        verbose=args.verbose,
        force=args.force,
        max_runs=args.max_runs,
        data_dir=args.data_dir,
    )
    total = len(spec.runs())
    print(f"{len(records)} of {total} runs finished; results in {out}")
    if len(records) < total:
        print("Run the same command again to do the remaining runs.")
    if args.plot and records:
        _print_paths(experiments.plot_results(out, formats=args.formats))
    return 0


def _plot(args):
    for out in args.out:
        _print_paths(
            experiments.plot_results(
                out, formats=args.formats, error=args.error
            )
        )
    return 0


def _table(args):
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


def _aliasing(args):
    import pathlib

    from arbnet_keras.experiments import aliasing

    for size in args.table_size:
        if size <= 0:
            raise ValueError(
                f"`table_size` must be positive. Received: table_size={size}"
            )
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    records = aliasing.aliasing_stats(table_sizes=args.table_size)
    lines = [
        "| table size | numbering | layer | shape | rank | full rank "
        "| distinct rows | distinct columns |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        lines.append(
            f"| {r['table_size']} | {r['numbering']} | {r['layer'] + 1} "
            f"| {r['shape'][0]}x{r['shape'][1]} | {r['rank']} "
            f"| {r['full_rank']} | {r['distinct_rows']} "
            f"| {r['distinct_cols']} |"
        )
    (out / "aliasing.md").write_text("\n".join(lines) + "\n")
    aliasing.plot_aliasing(records, out / "aliasing.png")
    print("\n".join(lines))
    print(f"Wrote {out / 'aliasing.png'} and {out / 'aliasing.md'}")
    return 0


def _claims(args):
    from arbnet_keras.experiments import claims as claims_lib

    groups = {}
    for out in args.out:
        records = experiments.read_results(out)
        if not records:
            raise ValueError(
                f"`out` holds no finished runs. Received: out={out!r}"
            )
        for record in records:
            if (
                record["hash"] == "neighborhood"
                and record["hash_value"] < args.min_radius
            ):
                continue
            key = (
                record["dataset"],
                record["numbering"],
                record["number_zeros"],
            )
            groups.setdefault(key, {}).setdefault(record["hash"], [])
            groups[key][record["hash"]].append(record)
    for (dataset, numbering, number_zeros), by_hash in sorted(
        groups.items(), key=str
    ):
        print(
            f"## {dataset}, numbering={numbering}, "
            f"number_zeros={number_zeros}\n"
        )
        report = claims_lib.claim_report(
            by_hash.get("dirichlet", ()), by_hash.get("neighborhood", ())
        )
        print(claims_lib.claims_markdown(report))
    return 0


def _reproduce(args):
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


def _print_paths(paths):
    for path in paths:
        print(f"wrote {path}")
