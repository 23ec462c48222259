"""`arbnet aliasing`: how a network-wide modulus table aliases."""

import pathlib

from arbnet_keras.experiments.results import check_out_dir


def add_parser(subparsers):
    """Adds `aliasing`."""
    parser = subparsers.add_parser(
        "aliasing",
        help="measure how a modulus network table aliases with layer widths",
        description=(
            "Rank of each layer's kernel in the paper's MNIST network "
            "when one modulus table serves the whole network, for several "
            "table sizes and both numberings (no training). Writes "
            "OUT/aliasing.png and OUT/aliasing.md."
        ),
    )
    parser.add_argument(
        "--out", default="runs/aliasing", help="output directory"
    )
    parser.add_argument(
        "--table-size",
        type=int,
        nargs="+",
        default=[100, 200, 400, 500, 800, 997, 1000, 1200, 1600, 2000],
        metavar="N",
        help="table sizes (default: %(default)s)",
    )
    return parser


def run(args):
    """Measures, then writes the table and the figure."""
    from arbnet_keras.experiments import aliasing

    for size in args.table_size:
        if size <= 0:
            raise ValueError(
                f"`table_size` must be positive. Received: table_size={size}"
            )
    check_out_dir(args.out, "--out")
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
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "aliasing.md").write_text("\n".join(lines) + "\n")
    aliasing.plot_aliasing(records, out / "aliasing.png")
    print("\n".join(lines))
    print(f"Wrote {out / 'aliasing.png'} and {out / 'aliasing.md'}")
    return 0
