"""Tests of `run_sweep`: records, resuming, crashes and spec checks."""

import math
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time
import warnings

import pytest

from arbnet_keras import hashing
from arbnet_keras import metrics
from arbnet_keras.experiments import SweepLockedError
from arbnet_keras.experiments import SweepSpec
from arbnet_keras.experiments import build_model
from arbnet_keras.experiments import read_results
from arbnet_keras.experiments import run_key
from arbnet_keras.experiments import run_sweep
from arbnet_keras.experiments import runner
from arbnet_keras.experiments.config import RUN_FIELDS
from arbnet_keras.experiments.results import RESULTS_FILE
from arbnet_keras.experiments.results import SweepLock
from arbnet_keras.experiments.results import read_spec

RECORD_FIELDS = RUN_FIELDS + (
    "key",
    "train_accuracy",
    "train_loss",
    "test_accuracy",
    "test_loss",
    "entropy",
    "max_entropy",
    "table_entries",
    "num_params",
    "epochs_run",
    "final_learning_rate",
    "history",
    "fit_time",
    "wall_time",
    "versions",
    "timestamp",
)

TINY = {
    "model": "hashed_mlp",
    "hidden_units": [16],
    "table_size": 100,
    "epochs": 1,
    "batch_size": 256,
}


def tiny_spec(**kwargs):
    config = {"hash": "dirichlet", "alpha": [0.01, 10.0], **TINY}
    config["sparsity"] = [0.0, 0.5]
    config.update(kwargs)
    return SweepSpec(**config)


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory):
    """A real 4-run sweep (1 epoch each) and its records."""
    out = tmp_path_factory.mktemp("tiny") / "sweep"
    spec = tiny_spec()
    records = run_sweep(spec, out, quiet=True, print_fn=lambda line: None)
    return spec, out, records


@pytest.fixture
def fake_runs(monkeypatch):
    """Replaces training by a fast fake; returns the keys it ran."""
    calls = []

    def fake_run_one(config, data, *, key=None, verbose=0, callbacks=None):
        calls.append(key)
        record = {"key": key, **config}
        record.update(
            test_accuracy=0.5 + 0.01 * len(calls),
            train_accuracy=0.6,
            entropy=1.0,
            max_entropy=math.log(100),
        )
        return record

    monkeypatch.setattr(runner, "run_one", fake_run_one)
    return calls


def test_tiny_sweep_records_every_field(tiny_sweep):
    spec, out, records = tiny_sweep
    assert len(records) == 4
    for record, config in zip(records, spec.runs()):
        assert set(RECORD_FIELDS) <= set(record)
        assert record["key"] == run_key(config)
        for name in RUN_FIELDS:
            assert record[name] == config[name], name
        assert 0.0 <= record["test_accuracy"] <= 1.0
        assert 0.0 <= record["train_accuracy"] <= 1.0
        assert record["test_loss"] > 0 and record["train_loss"] > 0
        assert record["max_entropy"] == pytest.approx(math.log(100))
        assert 0.0 < record["entropy"] <= record["max_entropy"] + 1e-9
        assert record["epochs_run"] == 1
        assert len(record["history"]["accuracy"]) == 1
        assert record["history"]["accuracy"][-1] == record["train_accuracy"]
        assert record["final_learning_rate"] == pytest.approx(0.1)
        assert record["wall_time"] >= record["fit_time"] > 0
        assert {"arbnet_keras", "keras", "tensorflow"} <= set(
            record["versions"]
        )
        assert record["timestamp"].endswith("+00:00")
    # Balance: alpha=0.01 concentrates the table, alpha=10 spreads it.
    by_alpha = {r["hash_value"]: r["entropy"] for r in records}
    assert by_alpha[0.01] < by_alpha[10.0] - 1.0
    assert read_results(out) == records
    assert read_spec(out) == spec.to_dict()
    assert len({r["key"] for r in records}) == 4


def test_rerun_skips_finished_runs(tiny_sweep, tmp_path, fake_runs):
    spec, out, records = tiny_sweep
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    again = run_sweep(spec, copy, quiet=True, print_fn=lambda line: None)
    assert fake_runs == []
    assert again == records


def test_resume_after_a_torn_last_line(tiny_sweep, tmp_path, fake_runs):
    spec, out, records = tiny_sweep
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    path = copy / RESULTS_FILE
    lines = path.read_bytes().splitlines(keepends=True)
    # A power loss in the middle of writing the last record.
    torn = lines[-1][: len(lines[-1]) // 2]
    path.write_bytes(b"".join(lines[:-1]) + torn)
    printed = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resumed = run_sweep(spec, copy, quiet=True, print_fn=printed.append)
    assert fake_runs == [records[-1]["key"]]
    assert [r["key"] for r in resumed] == [r["key"] for r in records]
    assert resumed[:3] == records[:3]
    assert any("Moved 1 torn line" in line for line in printed)
    # The fragment is moved aside, the complete records are kept byte for
    # byte, and later reads no longer warn.
    assert (copy / (RESULTS_FILE + ".torn")).read_bytes() == torn + b"\n"
    raw = path.read_bytes().splitlines(keepends=True)
    assert raw[:3] == lines[:3]
    assert len(raw) == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(read_results(copy)) == 4


def test_crash_mid_sweep_loses_and_repeats_nothing(tmp_path, monkeypatch):
    spec = tiny_spec(seeds=2)
    out = tmp_path / "sweep"
    calls = []

    def crashing_run_one(config, data, *, key=None, **kwargs):
        if len(calls) == 3:
            raise KeyboardInterrupt
        calls.append(key)
        return {"key": key, **config, "test_accuracy": 0.5}

    monkeypatch.setattr(runner, "run_one", crashing_run_one)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, out, quiet=True, print_fn=lambda line: None)
    assert [r["key"] for r in read_results(out)] == calls

    first = list(calls)
    calls.clear()
    monkeypatch.setattr(
        runner,
        "run_one",
        lambda config, data, *, key=None, **kwargs: (
            calls.append(key) or {"key": key, **config, "test_accuracy": 0.5}
        ),
    )
    records = run_sweep(spec, out, quiet=True, print_fn=lambda line: None)
    keys = [run_key(config) for config in spec.runs()]
    assert first == keys[:3]
    assert calls == keys[3:]
    assert [r["key"] for r in records] == keys
    assert len(read_results(out, unique=False)) == 8


# Runs `arbnet` with its second run held forever once trained, before its
# record is written: the sweep is killed there, whatever the machine's
# speed, so no polling window decides what the file holds.
_HELD_SWEEP = """
import runpy
import sys
import threading

from arbnet_keras.experiments import runner

trained = runner.run_one
done = []


def run_one(*args, **kwargs):
    record = trained(*args, **kwargs)
    if done:
        threading.Event().wait()  # SIGKILL comes here.
    done.append(record)
    return record


runner.run_one = run_one
sys.argv = ["arbnet", *sys.argv[1:]]
runpy.run_module("arbnet_keras", run_name="__main__")
"""


def test_kill_9_then_resume(tmp_path):
    """A sweep killed by SIGKILL resumes: nothing lost, nothing repeated."""
    out = tmp_path / "killed"
    args = [
        "sweep",
        "uniform",
        "--model",
        "hashed_mlp",
        "--hidden-units",
        "8",
        "--table-size",
        "50",
        "--sparsity",
        "0",
        "0.3",
        "0.6",
        "--seeds",
        "2",
        "--epochs",
        "2",
        "--batch-size",
        "256",
        "--out",
        str(out),
        "--quiet",
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    with open(tmp_path / "stderr.txt", "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", _HELD_SWEEP, *args],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
            cwd=str(pathlib.Path(__file__).resolve().parents[2]),
        )
        path = out / RESULTS_FILE
        # A safety net: the first record takes seconds to come.
        deadline = time.monotonic() + 300
        try:
            while time.monotonic() < deadline:
                if path.exists() and path.read_bytes().count(b"\n") >= 1:
                    break
                if process.poll() is not None:
                    pytest.fail(
                        "The sweep ended before it could be killed: "
                        + (tmp_path / "stderr.txt").read_text()[-2000:]
                    )
                time.sleep(0.2)
            else:
                pytest.fail("No record appeared in time.")
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # A torn line is allowed here.
        before = read_results(out)
    # The first run's record; the second was trained but not written.
    assert len(before) == 1

    from arbnet_keras import cli

    assert cli.main(args) == 0
    records = read_results(out, unique=False)
    keys = [r["key"] for r in records]
    assert len(keys) == len(set(keys)) == 6
    assert records[: len(before)] == before


def test_different_spec_is_refused_unless_forced(tmp_path, fake_runs):
    spec = tiny_spec()
    out = tmp_path / "sweep"
    run_sweep(spec, out, quiet=True, print_fn=lambda line: None)
    assert len(fake_runs) == 4
    other = spec.replace(epochs=2)
    with pytest.raises(
        ValueError, match="already holds a different sweep"
    ) as e:
        run_sweep(other, out, quiet=True, print_fn=lambda line: None)
    assert "epochs: 1 -> 2" in str(e.value)
    assert "--force" in str(e.value)
    assert read_spec(out) == spec.to_dict()

    records = run_sweep(
        other, out, quiet=True, force=True, print_fn=lambda line: None
    )
    assert len(fake_runs) == 8
    assert [r["epochs"] for r in records] == [2] * 4
    assert read_spec(out) == other.to_dict()
    assert len(read_results(out)) == 8


def test_max_runs_and_quiet_output(tmp_path, fake_runs, capsys):
    spec = tiny_spec()
    out = tmp_path / "sweep"
    records = run_sweep(spec, out, quiet=True, max_runs=3)
    assert len(records) == 3
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].startswith("Sweep: dirichlet sweep")
    run_lines = [line for line in lines if line.startswith("[")]
    assert len(run_lines) == 3
    assert run_lines[0].startswith("[1/4] alpha=0.01 sparsity=0 seed=0:")
    assert "test accuracy 0.5100" in run_lines[0]
    assert "run/s" not in captured.err  # No progress bar.

    records = run_sweep(spec, out, quiet=True)
    assert len(records) == 4
    lines = capsys.readouterr().out.splitlines()
    assert "3 of 4 runs already recorded" in lines[1]
    assert [line[:5] for line in lines if line.startswith("[")] == ["[4/4]"]


def test_auto_model_is_resolved_from_the_data_set(tmp_path, fake_runs):
    spec = SweepSpec("uniform", epochs=1)
    records = run_sweep(
        spec, tmp_path / "s", quiet=True, print_fn=lambda line: None
    )
    assert read_spec(tmp_path / "s")["model"] == "mnist_mlp"
    assert records[0]["model"] == "mnist_mlp"


def test_locked_directory_is_refused(tmp_path, fake_runs):
    out = tmp_path / "sweep"
    out.mkdir()
    with SweepLock(out):
        with pytest.raises(SweepLockedError):
            run_sweep(tiny_spec(), out, quiet=True)
    assert fake_runs == []


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"spec": "dirichlet"}, "`spec` must be a `SweepSpec`"),
        ({"max_runs": 0}, "Received: max_runs=0"),
        ({"verbose": 3}, "Received: verbose=3"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, message):
    kwargs = {"spec": tiny_spec(), "out_dir": tmp_path / "s", **kwargs}
    with pytest.raises(ValueError, match=message):
        run_sweep(**kwargs)


def test_out_dir_that_is_a_file_is_refused(tmp_path):
    path = tmp_path / "file"
    path.write_text("")
    with pytest.raises(ValueError, match="`out_dir` must be a directory"):
        run_sweep(tiny_spec(), path)


@pytest.mark.parametrize(
    "hash_name, values, expected",
    [
        ("dirichlet", {"alpha": [0.5]}, hashing.Dirichlet(0.5)),
        ("neighborhood", {"radius": [7]}, hashing.Neighborhood(7)),
        ("hashed_nets", {}, hashing.HashedNets()),
    ],
)
def test_build_model_uses_the_configured_hash(hash_name, values, expected):
    spec = SweepSpec(hash_name, **values, **TINY, sparsity=[0.5])
    config = spec.runs()[0]
    model = build_model(config, input_dim=20, num_classes=3)
    assert model.output_shape == (None, 3)
    layers = metrics.hashed_layers(model)
    assert len(layers) == 2
    assert all(layer.hash == expected for layer in layers)
    assert all(layer.sparsity == 0.5 for layer in layers)
    # One table of `table_size` entries shared by the network.
    assert len({id(layer.table_variable) for layer in layers}) == 1
    assert layers[0].table_variable.shape == (100,)


def test_build_model_identity_is_the_dense_baseline():
    config = SweepSpec("identity", **{**TINY, "table_size": None}).runs()[0]
    model = build_model(config, input_dim=20, num_classes=3)
    assert metrics.hashed_layers(model) == []
    assert model.output_shape == (None, 3)
