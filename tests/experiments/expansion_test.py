"""Tests of the expansion sweep (`ExpansionSpec`, `arbnet sweep expansion`)."""

import math

import pytest

from arbnet_keras import cli
from arbnet_keras.cli import sweep as sweep_cli
from arbnet_keras.experiments import build_model
from arbnet_keras.experiments import read_results
from arbnet_keras.experiments import run_key
from arbnet_keras.experiments import run_sweep
from arbnet_keras.experiments.config import RUN_FIELDS
from arbnet_keras.experiments.expansion import ExpansionSpec
from arbnet_keras.experiments.expansion import matched_width
from arbnet_keras.experiments.expansion import results_table
from arbnet_keras.experiments.expansion import spec_from_dict
from arbnet_keras.experiments.results import read_spec

TINY = dict(widths=[8, 32], table_size=60, epochs=1, batch_size=256)


def trainable(model):
    return sum(math.prod(w.shape) for w in model.trainable_weights)


def test_runs_are_baselines_then_widths_seed_first():
    spec = ExpansionSpec(
        widths=[1000, 100], seeds=2, input_dim=784, num_classes=10
    )
    runs = spec.runs()
    assert [(r["seed"], r["hash"], r["hidden_units"]) for r in runs] == [
        (0, "identity", [13]),
        (0, "identity", [16]),
        (0, "uniform", [100]),
        (0, "uniform", [1000]),
        (1, "identity", [13]),
        (1, "identity", [16]),
        (1, "uniform", [100]),
        (1, "uniform", [1000]),
    ]
    for run in runs:
        assert set(run) == set(RUN_FIELDS)
        assert run["table_scope"] == "network"
    hashed = [r for r in runs if r["hash"] == "uniform"]
    assert {r["table_size"] for r in hashed} == {10000}
    assert len({run_key(r) for r in runs}) == len(runs)


def test_no_baseline():
    spec = ExpansionSpec(widths=[100], baseline=False)
    assert [r["hash"] for r in spec.runs()] == ["uniform"]


@pytest.mark.parametrize("width", [8, 100, 3000])
def test_baseline_has_the_nearest_parameter_count(width):
    """Counted on the built models, not on the formula."""
    table_size, input_dim, classes = 2000, 64, 10
    spec = ExpansionSpec(
        widths=[width],
        table_size=table_size,
        input_dim=input_dim,
        num_classes=classes,
    )
    baseline, hashed = spec.runs()
    hashed_count = trainable(build_model(hashed, input_dim, classes))
    dense = baseline["hidden_units"][0]
    assert dense == matched_width(table_size, width, input_dim, classes)
    distances = {
        h: abs(
            trainable(
                build_model(
                    dict(baseline, hidden_units=[h]), input_dim, classes
                )
            )
            - hashed_count
        )
        for h in (dense - 1, dense, dense + 1)
        if h > 0
    }
    assert min(distances, key=distances.get) == dense


def test_round_trip_and_kind():
    spec = ExpansionSpec(**TINY, input_dim=64, num_classes=10)
    config = spec.to_dict()
    assert config["kind"] == "expansion"
    assert spec_from_dict(config) == spec
    assert "expansion sweep" in spec.describe()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"widths": [0]}, "`widths` must be a positive integer"),
        ({"widths": []}, "`widths` must hold at least one value"),
        ({"table_size": -1}, "`table_size` must be a positive integer"),
        ({"hash": "identity"}, "Invalid value for argument `hash`"),
        ({"baseline": 1}, "`baseline` must be True or False"),
        ({"epochs": 0}, "`epochs` must be a positive integer"),
        ({"dataset": "nope"}, "Invalid value for argument `dataset`"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ExpansionSpec(**kwargs)


def test_unresolved_spec_has_no_baseline_widths():
    with pytest.raises(ValueError, match="`input_dim` and `num_classes`"):
        ExpansionSpec(widths=[100]).runs()


def test_tiny_sweep_resumes_and_tabulates(tmp_path):
    spec = ExpansionSpec(**TINY, dataset="digits")
    lines = []
    records = run_sweep(spec, tmp_path, quiet=True, print_fn=lines.append)
    assert [(r["hash"], r["hidden_units"]) for r in records] == [
        ("identity", [1]),
        ("identity", [2]),
        ("uniform", [8]),
        ("uniform", [32]),
    ]
    hashed = [r for r in records if r["hash"] == "uniform"]
    assert [r["table_entries"] for r in hashed] == [60, 60]
    # The table and the biases and batch normalization (3 per unit).
    assert [r["num_params"] for r in hashed] == [60 + 54, 60 + 126]
    saved = read_spec(tmp_path)
    assert saved["kind"] == "expansion"
    assert saved["input_dim"] == 64
    # Resuming runs nothing again.
    again = run_sweep(spec, tmp_path, quiet=True, print_fn=lines.append)
    assert [r["key"] for r in again] == [r["key"] for r in records]
    assert len(read_results(tmp_path)) == 4
    table = results_table(records, spec_from_dict(saved))
    row = [line for line in table.splitlines() if line.startswith("| 32 ")]
    assert row and "| 2 |" in row[0]


def test_command_line(tmp_path, capsys):
    out = tmp_path / "run"
    args = [
        "sweep",
        "expansion",
        "--widths",
        "8",
        "--table-size",
        "60",
        "--dataset",
        "digits",
        "--epochs",
        "1",
        "--batch-size",
        "256",
        "--no-baseline",
        "--out",
        str(out),
        "--quiet",
        "--plot",
    ]
    spec = sweep_cli.spec_from_args(cli.build_parser().parse_args(args))
    assert spec == ExpansionSpec(
        widths=[8],
        table_size=60,
        dataset="digits",
        epochs=1,
        batch_size=256,
        baseline=False,
    )
    assert cli.main(args) == 0
    assert "1 of 1 runs finished" in capsys.readouterr().out
    assert (out / "expansion_accuracy_vs_width.png").stat().st_size > 1000
    assert "| 8 |" in (out / "results.md").read_text()
    # With baselines, whose widths the data decides.
    with_baseline = [a for a in args if a != "--no-baseline"]
    with_baseline[with_baseline.index(str(out))] = str(tmp_path / "base")
    assert cli.main(with_baseline) == 0
    assert "2 of 2 runs finished" in capsys.readouterr().out
    # Another kind of sweep in the same directory is refused.
    assert cli.main(["sweep", "uniform", "--out", str(out), "--quiet"]) == 2
    assert "already holds a different sweep" in capsys.readouterr().err
