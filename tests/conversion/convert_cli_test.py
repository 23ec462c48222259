"""Tests of `arbnet convert IN OUT` (`arbnet_keras.cli.convert`)."""

import re

import keras
import numpy as np
import pytest

from arbnet_keras import HashedDense
from arbnet_keras import cli


@pytest.fixture
def trained_path(tmp_path):
    """A small compiled MNIST-shaped model, saved as a `.keras` file."""
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(16, activation="relu", name="hidden"),
            keras.layers.Dense(10, name="logits"),
        ]
    )
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(
        np.zeros((8, 28, 28, 1), "float32"),
        np.zeros((8,), "int32"),
        verbose=0,
    )
    path = tmp_path / "trained.keras"
    model.save(path)
    return path


def _convert(*args):
    return cli.main(["convert", *map(str, args)])


def test_converts_fine_tunes_and_summarizes(trained_path, tmp_path, capsys):
    out = tmp_path / "hashed.keras"
    status = _convert(
        trained_path,
        out,
        "--hash",
        "dirichlet",
        "--compression",
        "1/16",
        "--table",
        "network",
        "--dataset",
        "mnist_5k",
        "--fine-tune-epochs",
        "1",
        "--batch-size",
        "500",
    )
    assert status == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    match = re.fullmatch(
        rf"{re.escape(str(trained_path))} -> {re.escape(str(out))}: "
        r"parameters ([\d,]+) -> ([\d,]+), file \S+ [k]?B -> \S+ [k]?B, "
        r"accuracy (\S+) -> (\S+) converted -> (\S+) after 1 epochs",
        lines[0],
    )
    assert match, lines[0]
    before, after = (int(g.replace(",", "")) for g in match.groups()[:2])
    # 784 * 16 + 16 * 10 weights in one table of 1/16 of them, biases.
    assert before == 784 * 16 + 16 + 16 * 10 + 10
    assert after == round((784 * 16 + 16 * 10) / 16) + 16 + 10
    loaded = keras.saving.load_model(out)
    assert all(
        isinstance(loaded.get_layer(n), HashedDense)
        for n in ("hidden", "logits")
    )
    assert loaded.get_layer("hidden").table is loaded.get_layer("logits").table


def test_kmeans_without_data(trained_path, tmp_path, capsys):
    out = tmp_path / "kmeans.keras"
    status = _convert(trained_path, out, "--hash", "kmeans", "--clusters", "4")
    assert status == 0
    summary = capsys.readouterr().out
    assert summary.count("\n") == 1 and "accuracy" not in summary
    kernel = keras.saving.load_model(out).get_layer("hidden").kernel
    assert len(np.unique(keras.ops.convert_to_numpy(kernel))) <= 4


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--compression", "2"],
            "`--compression` must be a number or fraction in (0, 1], such "
            "as 1/16. Received: --compression 2",
        ),
        (["--compression", "a/b"], "Received: --compression a/b"),
        (
            ["--compression", "1/2", "--layers", "nope"],
            "`layers` names layers that",
        ),
        (
            ["--compression", "1/2", "--fine-tune-epochs", "1"],
            "`--fine-tune-epochs` needs a `--dataset`",
        ),
        (["--hash", "md5", "--table-size", "8"], "argument `hash`"),
        ([], "Exactly one of `compression` and `table_size`"),
    ],
)
def test_bad_arguments_print_one_line_and_exit_2(
    args, message, trained_path, tmp_path, capsys
):
    out = tmp_path / "out.keras"
    assert _convert(trained_path, out, *args) == 2
    captured = capsys.readouterr()
    errors = captured.err.strip().splitlines()
    assert errors[-1].startswith("arbnet convert: error: ")
    assert message in errors[-1]
    assert not out.exists()


def test_missing_input_exits_2(tmp_path, capsys):
    missing = tmp_path / "missing.keras"
    status = _convert(missing, tmp_path / "out.keras", "--compression", "1")
    assert status == 2
    assert capsys.readouterr().err.strip() == (
        f"arbnet convert: error: `IN` must be a .keras file. "
        f"Received: {str(missing)!r}"
    )
