"""`arbnet claims OUT...`: the paper's claims, judged on sweeps."""

from arbnet_keras import experiments


def add_parser(subparsers):
    """Adds `claims`."""
    parser = subparsers.add_parser(
        "claims",
        help="test the paper's claims on sweep results",
        description=(
            "Spearman rank correlations of test accuracy with alpha "
            "(Dirichlet sweeps) and radius (Neighborhood sweeps) at each "
            "sparsity, and the paper's four claims judged from them (and, "
            "for convolution sweeps, its explanation: accuracy falls with "
            "noise p and rises with alpha), as "
            "Markdown; one section per dataset, numbering and "
            "number_zeros setting. Runs without a test accuracy (diverged "
            "training) are left out; a claim the runs cannot decide (one "
            "value of alpha or radius, or one seed where the spread over "
            "seeds is needed) is reported as undecided, with the reason."
        ),
    )
    parser.add_argument(
        "out", nargs="+", metavar="OUT", help="sweep directories"
    )
    parser.add_argument(
        "--min-radius",
        type=int,
        default=0,
        help="leave out Neighborhood runs of smaller radius, e.g. 1 to "
        "leave out the modulus hash (radius 0) (default: %(default)s)",
    )
    return parser


def run(args):
    """Prints one claims report per setting found in the sweeps."""
    from arbnet_keras.experiments import claims as claims_lib

    groups = {}
    for out in args.out:
        records = experiments.read_results(out, validate=True)
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
                record.get("dataset"),
                record.get("numbering"),
                record.get("number_zeros"),
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
            by_hash.get("dirichlet", ()),
            by_hash.get("neighborhood", ()),
            by_hash.get("toeplitz", ()),
        )
        print(claims_lib.claims_markdown(report))
    return 0
