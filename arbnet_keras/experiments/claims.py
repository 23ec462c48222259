"""The paper's claims, tested on sweep results with rank correlations.

The ArbNets paper claims (section 5) that test accuracy

1. rises with the Dirichlet `alpha` at every sparsity,
2. rises more when the weights are not sparse,
3. falls as the Neighborhood `radius` grows,
4. falls less when the weights are sparse;

and it explains (sections 5.2 and 6) that convolutions work because their
hash is deterministic and balanced, which a convolution sweep tests as two
more claims: accuracy falls with the noise `p` and rises with `alpha`.

`claim_report` measures each from the records of `arbnet sweep`: the
Spearman rank correlation between the parameter and test accuracy over all
runs (every seed a point) at each sparsity, the change of the mean accuracy
from the smallest to the largest parameter value, and the spread over
seeds. A claim counts as supported only where every correlation it needs
has the claimed sign at p < 0.05. Runs without a test accuracy (training
diverged) are left out. Where the runs cannot tell (fewer than two values
of the parameter, accuracies all equal, a single seed where the spread
over seeds is needed), the claim is undecided and the evidence says why.
"""

import math

import numpy as np

SIGNIFICANCE = 0.05


def trends(records, param):
    """Rank correlation of test accuracy with `param`, per sparsity.

    Args:
        records: Run records (dicts with `hash_value`, `sparsity`, `seed`
            and `test_accuracy`), all of one sweep setting.
        param: Name of the swept parameter, for the output.

    Returns:
        A list of dicts, one per sparsity (ascending): `sparsity`, `rho`,
        `p_value`, `runs` (runs with a test accuracy; the others are left
        out of every number), `left_out` (runs without one), `values`
        (distinct parameter values among the runs), `first` and `last`
        (mean test accuracy at the smallest and largest parameter value),
        `change` (`last - first`), `best` (the parameter value of the best
        mean accuracy), `seed_std` (the mean over parameter values of the
        standard deviation over seeds) and `undecided` (why `rho` cannot
        be judged, or `None`). Numbers that cannot be measured are NaN.
    """
    from scipy import stats

    nan = float("nan")
    out = []
    for sparsity in sorted({r["sparsity"] for r in records}):
        rows = [r for r in records if r["sparsity"] == sparsity]
        kept = [r for r in rows if _finite(r.get("test_accuracy"))]
        x = np.array([r["hash_value"] for r in kept], dtype=float)
        y = np.array([r["test_accuracy"] for r in kept], dtype=float)
        values = np.unique(x)
        means = np.array([y[x == v].mean() for v in values])
        stds = [y[x == v].std(ddof=1) for v in values if (x == v).sum() > 1]
        rho, p_value = nan, nan
        if not kept:
            undecided = "no run with a test accuracy"
        elif len(values) < 2:
            undecided = (
                f"fewer than 2 distinct {param} values ({len(kept)} "
                f"run{'s' if len(kept) > 1 else ''})"
            )
        elif np.all(y == y[0]):
            undecided = "the same test accuracy in every run"
        else:
            undecided = None
            rho, p_value = stats.spearmanr(x, y)
        out.append(
            {
                "param": param,
                "sparsity": float(sparsity),
                "rho": float(rho),
                "p_value": float(p_value),
                "runs": len(kept),
                "left_out": len(rows) - len(kept),
                "values": len(values),
                "first": float(means[0]) if kept else nan,
                "last": float(means[-1]) if kept else nan,
                "change": float(means[-1] - means[0]) if kept else nan,
                "best": float(values[int(np.argmax(means))]) if kept else nan,
                "seed_std": float(np.mean(stds)) if stds else nan,
                "undecided": undecided,
            }
        )
    return out


def _finite(value):
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _trend_claim(claim, rows, sign):
    """A claim that the trend has `sign` at every sparsity."""
    decided = [r for r in rows if not r["undecided"]]
    if not all(
        np.sign(r["rho"]) == sign and r["p_value"] < SIGNIFICANCE
        for r in decided
    ):
        # One sparsity against the claim is enough to refute "every".
        supported = False
    else:
        supported = True if len(decided) == len(rows) else None
    parts = []
    for r in rows:
        if not r["undecided"]:
            text = f"rho={r['rho']:+.2f} (p={r['p_value']:.2g})"
        elif supported is None:
            text = r["undecided"]
        else:
            text = f"undecided ({r['undecided']})"
        parts.append(f"sparsity {r['sparsity']:g}: {text}")
    evidence = "; ".join(parts)
    if supported is None:
        evidence = f"undecided: {evidence}"
    return {
        "claim": claim,
        "supported": supported,
        "evidence": evidence,
        "trends": rows,
    }


def claim_report(
    dirichlet_records=(), neighborhood_records=(), convolution_records=()
):
    """Tests the paper's four claims, and its explanation, on sweep records.

    Args:
        dirichlet_records: Records of one Dirichlet sweep setting (one
            dataset, numbering, ...), several sparsities.
        neighborhood_records: Likewise for a Neighborhood sweep.
        convolution_records: Records of a convolution sweep
            (`ConvolutionSpec`): its Toeplitz runs test the explanation
            of section 6, that accuracy falls with the noise `p`
            (determinism) and rises with `alpha` (balance); its baselines
            are left out.

    Returns:
        A list of dicts with `claim`, `supported` (True, False, or None
        when the records cannot tell) and `evidence` (a sentence of
        numbers), plus the per-sparsity `trends`.
    """
    claims = []
    if dirichlet_records:
        rows = trends(dirichlet_records, "alpha")
        claims.append(
            _trend_claim("accuracy rises with alpha at every sparsity", rows, 1)
        )
        claims.append(_compare(rows, "rise", "alpha"))
    if neighborhood_records:
        rows = trends(neighborhood_records, "radius")
        claims.append(
            _trend_claim(
                "accuracy falls with radius at every sparsity", rows, -1
            )
        )
        claims.append(_compare(rows, "fall", "radius"))
    for param, sign, claim in CONVOLUTION_CLAIMS:
        records = [
            r
            for r in convolution_records
            if r.get("hash") == "toeplitz" and r.get("hash_param") == param
        ]
        if records:
            claims.append(_trend_claim(claim, trends(records, param), sign))
    return claims


# The explanation of sections 5.2 and 6, as trends of a convolution sweep:
# (swept parameter, claimed sign of the trend, claim).
CONVOLUTION_CLAIMS = (
    ("noise", -1, "convolution: accuracy falls with noise p (determinism)"),
    (
        "alpha",
        1,
        "convolution: accuracy rises with alpha (balance, entries used)",
    ),
)


def _compare(rows, kind, param):
    dense, sparse = rows[0], rows[-1]
    claim = f"the {kind} with {param} is larger when the weights are not sparse"
    reason = None
    if dense["sparsity"] == sparse["sparsity"]:
        reason = "only one sparsity was swept"
    else:
        for r in (dense, sparse):
            if r["runs"] == 0 or r["values"] < 2:
                reason = f"sparsity {r['sparsity']:g} has " + (
                    "no run with a test accuracy"
                    if r["runs"] == 0
                    else f"fewer than 2 distinct {param} values"
                )
                break
    if reason is not None:
        return {
            "claim": claim,
            "supported": None,
            "evidence": f"undecided: {reason}",
            "trends": rows,
        }
    # A rise is a positive change, a fall a negative one.
    size = {
        r["sparsity"]: r["change"] * (1 if kind == "rise" else -1) for r in rows
    }
    noise = max(dense["seed_std"], sparse["seed_std"])
    margin = size[dense["sparsity"]] - size[sparse["sparsity"]]
    evidence = (
        f"{kind} from smallest to largest {param}: "
        + ", ".join(f"{size[s]:+.3f} at sparsity {s:g}" for s in sorted(size))
        + f"; difference {margin:+.3f}"
    )
    if np.isfinite(noise):
        supported = bool(margin > noise)
        evidence += f" against a seed spread of {noise:.3f}"
    else:
        supported = None
        evidence = (
            "undecided: one seed per value, so no spread over seeds to "
            f"weigh the difference against; {evidence}"
        )
    return {
        "claim": claim,
        "supported": supported,
        "evidence": evidence,
        "trends": rows,
    }


def claims_markdown(claims):
    """Renders `claim_report` as Markdown: a verdict table and trends."""
    verdict = {True: "supported", False: "not supported", None: "undecided"}
    lines = ["| claim | verdict | evidence |", "|---|---|---|"]
    for c in claims:
        lines.append(
            f"| {c['claim']} | {verdict[c['supported']]} | {c['evidence']} |"
        )
    lines += [
        "",
        "| parameter | sparsity | runs | Spearman rho | p | mean acc. "
        "(smallest) | mean acc. (largest) | change | best value "
        "| seed std |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    seen = set()
    for c in claims:
        for r in c["trends"]:
            key = (r["param"], r["sparsity"])
            if key in seen:
                continue
            seen.add(key)
            runs = str(r["runs"])
            if r.get("left_out"):
                runs += f" ({r['left_out']} without accuracy left out)"
            cells = [r["param"], f"{r['sparsity']:g}", runs]
            cells += [
                _number(r[name], spec)
                for name, spec in (
                    ("rho", "+.3f"),
                    ("p_value", ".2g"),
                    ("first", ".4f"),
                    ("last", ".4f"),
                    ("change", "+.4f"),
                    ("best", "g"),
                    ("seed_std", ".4f"),
                )
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _number(value, spec):
    return format(value, spec) if _finite(value) else "n/a"
