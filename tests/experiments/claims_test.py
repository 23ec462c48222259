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
