"""Testing the paper's claims on sweep records."""

import pytest

from arbnet_keras import cli
from arbnet_keras.experiments import append_result
from arbnet_keras.experiments.claims import claim_report
from arbnet_keras.experiments.claims import claims_markdown
from arbnet_keras.experiments.claims import trends


def _records(hash, values, accuracy, sparsities=(0.0, 0.9), seeds=3):
    return [
        {
            "hash": hash,
            "hash_value": v,
            "sparsity": s,
            "seed": seed,
            "test_accuracy": accuracy(v, s) + 0.001 * seed,
            "dataset": "toy",
            "numbering": "out_in",
            "number_zeros": True,
        }
        for v in values
        for s in sparsities
        for seed in range(seeds)
    ]


def test_trends_measure_rank_correlation_and_change():
    records = _records("dirichlet", [0.01, 0.1, 1.0], lambda v, s: v)
    (dense, sparse) = trends(records, "alpha")
    assert dense["sparsity"] == 0.0 and sparse["sparsity"] == 0.9
    assert dense["rho"] > 0.9 and dense["p_value"] < 0.05
    assert dense["runs"] == 9
    assert dense["change"] == pytest.approx(0.99)
    assert dense["best"] == 1.0


def test_claims_supported_when_the_data_follow_the_paper():
    dirichlet = _records(
        "dirichlet", [0.01, 0.1, 1.0], lambda v, s: 0.5 + v * (1 - s / 2)
    )
    neighborhood = _records(
        "neighborhood", [0, 10, 100], lambda v, s: 0.9 - v / 200 * (1 - s)
    )
    claims = claim_report(dirichlet, neighborhood)
    assert [c["supported"] for c in claims] == [True, True, True, True]


def test_claims_not_supported_when_the_data_go_the_other_way():
    dirichlet = _records("dirichlet", [0.01, 0.1, 1.0], lambda v, s: 1 - v)
    neighborhood = _records(
        "neighborhood", [0, 10, 100], lambda v, s: 0.5 + v / 200 * (1 - s)
    )
    claims = claim_report(dirichlet, neighborhood)
    assert [c["supported"] for c in claims] == [False, False, False, False]
    table = claims_markdown(claims)
    assert "| accuracy rises with alpha at every sparsity | not supported" in (
        table
    )


def test_cli_claims_reads_sweep_directories(tmp_path, capsys):
    records = _records("dirichlet", [0.01, 1.0], lambda v, s: v)
    for record in records:
        append_result(tmp_path, record)
    assert cli.main(["claims", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "## toy, numbering=out_in, number_zeros=True" in out
    assert "accuracy rises with alpha at every sparsity | supported" in out


def test_a_single_value_is_undecided_not_refuted():
    records = _records("dirichlet", [1.0], lambda v, s: 0.9, seeds=1)
    claims = claim_report(records[:1])
    assert [c["supported"] for c in claims] == [None, None]
    assert claims[0]["evidence"] == (
        "undecided: sparsity 0: fewer than 2 distinct alpha values (1 run)"
    )
    row = claims[0]["trends"][0]
    assert row["undecided"] and row["runs"] == 1
    table = claims_markdown(claims)
    assert "| undecided | undecided: sparsity 0: fewer than 2" in table
    assert "| alpha | 0 | 1 | n/a | n/a | 0.9000 |" in table


def test_equal_accuracies_are_undecided():
    records = _records("neighborhood", [0, 10], lambda v, s: 0.5, seeds=1)
    (rows,) = [c["trends"] for c in claim_report((), records)[:1]]
    assert [r["undecided"] for r in rows] == [
        "the same test accuracy in every run"
    ] * 2
    assert claim_report((), records)[0]["supported"] is None


def test_one_refuting_sparsity_outweighs_an_undecided_one():
    rising = _records("dirichlet", [0.01, 0.1, 1.0], lambda v, s: 1 - v)
    records = [r for r in rising if r["sparsity"] == 0.0]
    records += _records("dirichlet", [1.0], lambda v, s: 0.5, [0.9])
    claim = claim_report(records)[0]
    assert claim["supported"] is False
    assert (
        "sparsity 0.9: undecided (fewer than 2 distinct" in (claim["evidence"])
    )


def test_runs_without_test_accuracy_are_left_out():
    records = _records("dirichlet", [0.01, 0.1, 1.0], lambda v, s: v)
    # Diverged runs at the largest alpha: null (or NaN) test accuracy.
    for record in records:
        if record["hash_value"] == 1.0:
            record["test_accuracy"] = None
    records[-1]["test_accuracy"] = float("nan")
    dense, sparse = trends(records, "alpha")
    assert dense["runs"] == 6 and dense["left_out"] == 3
    assert dense["best"] == 0.1
    assert dense["last"] == pytest.approx(0.101)
    assert dense["rho"] > 0.8
    claims = claim_report(records)
    assert claims[0]["supported"] is True
    assert "6 (3 without accuracy left out)" in claims_markdown(claims)


def test_no_spread_over_seeds_leaves_the_comparison_undecided():
    records = _records(
        "dirichlet", [0.01, 0.1, 1.0], lambda v, s: v * (1 - s / 2), seeds=1
    )
    compare = claim_report(records)[1]
    assert compare["supported"] is None
    assert compare["evidence"].startswith(
        "undecided: one seed per value, so no spread over seeds"
    )
