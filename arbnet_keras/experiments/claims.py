"""The paper's four claims, tested on sweep results with rank correlations.

The ArbNets paper claims (section 5) that test accuracy

1. rises with the Dirichlet `alpha` at every sparsity,
2. rises more when the weights are not sparse,
3. falls as the Neighborhood `radius` grows,
4. falls less when the weights are sparse.

`claim_report` measures each from the records of `arbnet sweep`: the
Spearman rank correlation between the parameter and test accuracy over all
runs (every seed a point) at each sparsity, the change of the mean accuracy
from the smallest to the largest parameter value, and the spread over
seeds. A claim counts as supported only where every correlation it needs
has the claimed sign at p < 0.05.
"""

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
        `p_value`, `runs`, `first` and `last` (mean test accuracy at the
        smallest and largest parameter value), `change` (`last - first`),
        `best` (the parameter value of the best mean accuracy) and
        `seed_std` (the mean over parameter values of the standard
        deviation over seeds).
    """
    from scipy import stats

    out = []
    for sparsity in sorted({r["sparsity"] for r in records}):
        rows = [r for r in records if r["sparsity"] == sparsity]
        x = np.array([r["hash_value"] for r in rows], dtype=float)
        y = np.array([r["test_accuracy"] for r in rows], dtype=float)
        values = np.unique(x)
        means = np.array([y[x == v].mean() for v in values])
        stds = [y[x == v].std(ddof=1) for v in values if (x == v).sum() > 1]
        if len(values) > 1:
            rho, p_value = stats.spearmanr(x, y)
        else:
            rho, p_value = float("nan"), float("nan")
        out.append(
            {
                "param": param,
                "sparsity": float(sparsity),
                "rho": float(rho),
                "p_value": float(p_value),
                "runs": len(rows),
                "first": float(means[0]),
                "last": float(means[-1]),
                "change": float(means[-1] - means[0]),
                "best": float(values[int(np.argmax(means))]),
                "seed_std": float(np.mean(stds)) if stds else float("nan"),
            }
        )
    return out


def _all_signed(rows, sign):
    return all(
        np.sign(r["rho"]) == sign and r["p_value"] < SIGNIFICANCE for r in rows
    )


def claim_report(dirichlet_records=(), neighborhood_records=()):
    """Tests the paper's four claims on sweep records.

    Args:
        dirichlet_records: Records of one Dirichlet sweep setting (one
            dataset, numbering, ...), several sparsities.
        neighborhood_records: Likewise for a Neighborhood sweep.

    Returns:
        A list of dicts with `claim`, `supported` (True, False, or None
        when the records cannot tell) and `evidence` (a sentence of
        numbers), plus the per-sparsity `trends`.
    """
    claims = []
    if dirichlet_records:
        rows = trends(dirichlet_records, "alpha")
        claims.append(
            {
                "claim": "accuracy rises with alpha at every sparsity",
                "supported": _all_signed(rows, 1),
                "evidence": "; ".join(
                    f"sparsity {r['sparsity']:g}: rho={r['rho']:+.2f} "
                    f"(p={r['p_value']:.2g})"
                    for r in rows
                ),
                "trends": rows,
            }
        )
        claims.append(_compare(rows, "rise", "alpha"))
    if neighborhood_records:
        rows = trends(neighborhood_records, "radius")
        claims.append(
            {
                "claim": "accuracy falls with radius at every sparsity",
                "supported": _all_signed(rows, -1),
                "evidence": "; ".join(
                    f"sparsity {r['sparsity']:g}: rho={r['rho']:+.2f} "
                    f"(p={r['p_value']:.2g})"
                    for r in rows
                ),
                "trends": rows,
            }
        )
        claims.append(_compare(rows, "fall", "radius"))
    return claims


def _compare(rows, kind, param):
    dense, sparse = rows[0], rows[-1]
    if dense["sparsity"] == sparse["sparsity"]:
        return {
            "claim": f"the {kind} is larger when the weights are not sparse",
            "supported": None,
            "evidence": "only one sparsity was swept",
            "trends": rows,
        }
    # A rise is a positive change, a fall a negative one.
    size = {
        r["sparsity"]: r["change"] * (1 if kind == "rise" else -1) for r in rows
    }
    noise = max(dense["seed_std"], sparse["seed_std"])
    margin = size[dense["sparsity"]] - size[sparse["sparsity"]]
    return {
        "claim": f"the {kind} with {param} is larger when the weights are "
        "not sparse",
        "supported": bool(margin > noise) if np.isfinite(noise) else None,
        "evidence": (
            f"{kind} from smallest to largest {param}: "
            + ", ".join(
                f"{size[s]:+.3f} at sparsity {s:g}" for s in sorted(size)
            )
            + f"; difference {margin:+.3f} against a seed spread of "
            f"{noise:.3f}"
        ),
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
            lines.append(
                f"| {r['param']} | {r['sparsity']:g} | {r['runs']} "
                f"| {r['rho']:+.3f} | {r['p_value']:.2g} | {r['first']:.4f} "
                f"| {r['last']:.4f} | {r['change']:+.4f} | {r['best']:g} "
                f"| {r['seed_std']:.4f} |"
            )
    return "\n".join(lines) + "\n"
