"""Tests of the `arbnet` command line (`arbnet_keras.cli`)."""

import pytest

from arbnet_keras import cli
from arbnet_keras.cli import sweep as sweep_cli
from arbnet_keras.experiments import append_result
from arbnet_keras.experiments import paper
from arbnet_keras.experiments import read_results
from arbnet_keras.experiments import reproduce_specs
from arbnet_keras.experiments.results import read_spec

TINY_ARGS = [
    "--model",
    "hashed_mlp",
    "--hidden-units",
    "8",
    "--table-size",
    "50",
    "--epochs",
    "1",
    "--batch-size",
    "256",
]


def parse_spec(*args):
    return sweep_cli.spec_from_args(
        cli.build_parser().parse_args(["sweep", *args])
    )


def test_sweep_arguments_make_the_spec():
    spec = parse_spec(
        "dirichlet",
        "--alpha",
        "1e-3",
        "1",
        "--sparsity",
        "0",
        "0.5",
        "0.9",
        "--seeds",
        "3",
        "--epochs",
        "4",
        "--numbering",
        "out_in",
        "in_out",
        "--number-zeros",
        "true",
        "false",
        "--table-scope",
        "layer",
        "--table-size",
        "500",
    )
    assert spec.hash == "dirichlet"
    assert spec.alpha == (1e-3, 1.0)
    assert spec.sparsity == (0.0, 0.5, 0.9)
    assert spec.seeds == 3
    assert spec.epochs == 4
    assert spec.numbering == ("out_in", "in_out")
    assert spec.number_zeros == (True, False)
    assert spec.table_scope == "layer"
    assert spec.table_size == 500
    assert spec.model == "auto"
    assert len(spec.runs()) == 2 * 3 * 3 * 2 * 2


def test_sweep_defaults():
    spec = parse_spec("neighborhood")
    assert spec.radius == paper.FULL["neighborhood"]["radius"]
    assert spec.sparsity == (0.0,)
    assert spec.number_zeros == (True,)
    assert spec.table_size == 1000
    assert spec.seeds == 1
    assert parse_spec("uniform", "--no-number-zeros").number_zeros == (False,)
    hashed = parse_spec("hashed_nets", "--hidden-units", "32", "--sign")
    assert hashed.model == "hashed_mlp"
    assert hashed.hidden_units == (32,)
    assert hashed.sign is True


def test_help_exits_zero(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["sweep", "dirichlet", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--alpha" in out
    assert "--number-zeros" in out
    assert "Example: arbnet sweep dirichlet" in out


def test_alpha_is_only_an_option_of_the_dirichlet_sweep(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["sweep", "uniform", "--alpha", "1"])
    assert info.value.code == 2
    assert "unrecognized arguments: --alpha" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, message",
    [
        (["sweep", "dirichlet", "--alpha", "-1"], "Received: alpha=-1.0"),
        (["sweep", "uniform", "--sparsity", "1.5"], "Received: sparsity=1.5"),
        (["sweep", "uniform", "--seeds", "0"], "Received: seeds=0"),
        (["sweep", "uniform", "--epochs", "0"], "Received: epochs=0"),
        (["sweep", "modulus", "--dataset", "nope"], "argument `dataset`"),
        (
            ["sweep", "modulus", "--number-zeros", "true", "--no-number-zeros"],
            "not both",
        ),
        (["plot", "/nonexistent/run"], "`out_dir` holds no sweep"),
    ],
)
def test_bad_input_prints_an_error_and_exits_2(args, message, capsys):
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert err.startswith(f"arbnet {args[0]}")


def test_different_spec_in_out_dir_exits_2(tmp_path, capsys):
    out = str(tmp_path / "run")
    args = ["sweep", "uniform", *TINY_ARGS, "--out", out, "--quiet"]
    assert cli.main(args + ["--max-runs", "1"]) == 0
    capsys.readouterr()
    assert cli.main(args[:-3] + ["--epochs", "2", "--out", out]) == 2
    err = capsys.readouterr().err
    assert "already holds a different sweep" in err
    assert "--force" in err


def test_sweep_runs_and_plots(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["sweep", "uniform", *TINY_ARGS, "--sparsity", "0", "0.5"]
    code = cli.main(args + ["--out", str(out), "--quiet", "--plot"])
    assert code == 0
    records = read_results(out)
    assert [r["sparsity"] for r in records] == [0.0, 0.5]
    assert all(r["hash"] == "uniform" for r in records)
    assert read_spec(out)["hidden_units"] == [8]
    captured = capsys.readouterr()
    assert "2 of 2 runs finished" in captured.out
    assert (out / "accuracy_vs_sparsity.png").stat().st_size > 1000
    assert (out / "results.md").exists()

    assert cli.main(["table", str(out)]) == 0
    table = capsys.readouterr().out
    assert "| hash | sparsity 0 | sparsity 0.5 |" in table


def test_plot_command(tmp_path, capsys):
    for radius, accuracy in ((0, 0.9), (10, 0.8)):
        append_result(
            tmp_path,
            {
                "key": str(radius),
                "hash": "neighborhood",
                "hash_param": "radius",
                "hash_value": radius,
                "sparsity": 0.0,
                "seed": 0,
                "test_accuracy": accuracy,
            },
        )
    assert cli.main(["plot", str(tmp_path), "--format", "png", "svg"]) == 0
    out = capsys.readouterr().out
    assert "fig4_accuracy_vs_radius.png" in out
    assert (tmp_path / "fig4_accuracy_vs_radius.svg").exists()


def test_reproduce_specs_sizes():
    quick = reproduce_specs(quick=True)
    assert len(quick["dirichlet"].runs()) == 18
    assert len(quick["neighborhood"].runs()) == 15
    full = reproduce_specs(quick=False)
    assert full["dirichlet"].seeds == 3
    assert len(full["dirichlet"].runs()) + len(full["neighborhood"].runs()) == (
        180
    )


def test_reproduce_command_with_a_tiny_configuration(
    tmp_path, capsys, monkeypatch
):
    tiny = {
        "dirichlet": {"alpha": (1.0,), "sparsity": (0.0,), "seeds": 1},
        "neighborhood": {"radius": (0,), "sparsity": (0.0,), "seeds": 1},
    }
    monkeypatch.setattr(paper, "QUICK", tiny)
    out = tmp_path / "repro"
    args = ["reproduce", "--quick", "--out", str(out), "--epochs", "1", "-q"]
    assert cli.main(args) == 0
    for name in (
        "dirichlet/fig1_dirichlet_heatmaps.png",
        "dirichlet/fig2_accuracy_vs_alpha.png",
        "dirichlet/fig3_accuracy_vs_entropy.png",
        "dirichlet/results.md",
        "neighborhood/fig4_accuracy_vs_radius.png",
        "neighborhood/results.md",
    ):
        assert (out / name).stat().st_size > 0, name
    printed = capsys.readouterr().out
    assert "dirichlet sweep: test accuracy" in printed
    assert "alpha=1 sparsity=0:" in printed
    assert "radius=0 sparsity=0:" in printed
    assert read_results(out / "dirichlet")[0]["model"] == "mnist_mlp"
