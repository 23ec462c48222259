"""Real KerasTuner searches of `ArbNetHyperModel`, and `arbnet tune`."""

import importlib.util
import json
import os
import sys

import pytest

keras_tuner = pytest.importorskip("keras_tuner")

from arbnet_keras import datasets  # noqa: E402
from arbnet_keras import tuning  # noqa: E402
from arbnet_keras.tuning import cli  # noqa: E402

REPO_ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
)


@pytest.fixture(scope="module")
def small_data():
    data = datasets.load("mnist_5k", batch_size=256)
    # Three batches of training data and one of test data per epoch.
    return data, data.train.take(3), data.test.take(1)


def test_tiny_search_on_mnist_5k_from_the_command_line(tmp_path, capsys):
    # The real search path: `Tuner.search`, which imports TensorBoard.
    status = cli.main(
        [
            "tune",
            "--dataset",
            "mnist_5k",
            "--hash",
            "dirichlet",
            "--max-trials",
            "2",
            "--epochs",
            "1",
            "--directory",
            str(tmp_path),
            "--verbose",
            "0",
        ]
    )
    assert status == 0
    out = capsys.readouterr().out
    path = tmp_path / "mnist_5k-dirichlet-random" / "best_trial.json"
    assert f"Saved {path}" in out
    summary = json.loads(path.read_text())
    assert summary["objective"] == {"name": "val_accuracy", "direction": "max"}
    trials = summary["trials"]
    assert [t["status"] for t in trials] == ["COMPLETED", "COMPLETED"]
    alphas = [t["hyperparameters"]["alpha"] for t in trials]
    assert len(set(alphas)) == 2
    assert all(1e-3 <= a <= 1e3 for a in alphas)
    best = summary["best"]
    assert best["score"] == max(t["score"] for t in trials)
    assert best["metrics"]["val_accuracy"] == best["score"]
    assert 0.0 <= best["score"] <= 1.0
    assert set(best["hyperparameters"]) == {
        "hash",
        "alpha",
        "table_size",
        "sparsity",
        "learning_rate",
    }
    assert f"Best trial: {best['trial_id']} (val_accuracy = " in out
    assert f"  alpha = {best['hyperparameters']['alpha']:.6g}" in out
    assert summary["metadata"]["dataset"] == "mnist_5k"
    assert summary["metadata"]["arguments"]["max_trials"] == 2
    assert "alpha in [0.001, 1000.0] (log, default 1.0)" in out
    for trial in trials:
        alpha = trial["hyperparameters"]["alpha"]
        assert (
            f"{trial['trial_id']:>4} completed val_accuracy="
            f"{trial['score']:.6g} alpha={alpha:.6g}"
        ) in out


def test_example_tune_alpha(tmp_path, capsys):
    path = os.path.join(REPO_ROOT, "examples", "tune_alpha.py")
    spec = importlib.util.spec_from_file_location("tune_alpha", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    summary = example.main(trials=2, epochs=1, directory=str(tmp_path))
    assert [t["status"] for t in summary["trials"]] == ["COMPLETED"] * 2
    out = capsys.readouterr().out
    assert "     alpha  entropy  val_accuracy" in out
    # One row per trial, by increasing alpha, with the table's entropy
    # (at most ln(1000) = 6.908 nats).
    rows = out.split("val_accuracy\n", 1)[1].split("\n\n", 1)[0]
    rows = [row.split() for row in rows.splitlines()]
    alphas = [float(row[0]) for row in rows]
    assert len(rows) == 2 and alphas == sorted(alphas)
    assert all(0 < float(row[1]) <= 6.908 for row in rows)


@pytest.mark.parametrize("tuner", ["random", "bayesian", "hyperband"])
def test_every_tuner_runs_a_search(tmp_path, small_data, tuner):
    data, train, test = small_data
    hypermodel = tuning.ArbNetHyperModel.for_dataset(
        data,
        hidden_units=(16,),
        hash=["dirichlet", "neighborhood"],
        radius=(0, 50),
        table_size=(50, 400),
    )
    search = tuning.make_tuner(
        tuner,
        hypermodel,
        max_trials=2,
        max_epochs=2,
        directory=str(tmp_path),
        project_name=tuner,
    )
    search.search(train, validation_data=test, epochs=1, verbose=0)
    summary = tuning.summarize(search.oracle)
    assert summary["trials"]
    assert all(t["status"] == "COMPLETED" for t in summary["trials"])
    for trial in summary["trials"]:
        values = trial["hyperparameters"]
        assert 50 <= values["table_size"] <= 400
        if values["hash"] == "dirichlet":
            assert "radius" not in values
            assert 1e-3 <= values["alpha"] <= 1e3
        else:
            assert "alpha" not in values
            assert 0 <= values["radius"] <= 50
    best = search.get_best_hyperparameters()[0].values
    assert summary["best"]["hyperparameters"] == best
    model = search.get_best_models(1)[0]
    assert model.get_layer("hashed_1").table_variable.shape == (
        best["table_size"],
    )


def test_search_without_tensorboard_fails_clearly(monkeypatch):
    # TensorFlow 2.21 does not install TensorBoard, which `Tuner.search`
    # imports: the check names the extra that installs it.
    for name in list(sys.modules):
        if name == "tensorboard" or name.startswith("tensorboard."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    with pytest.raises(ImportError) as info:
        tuning.check_search_dependencies()
    message = str(info.value)
    assert "tensorboard" in message
    assert 'pip install "arbnet-keras[tuning]"' in message


def test_tensorboard_is_installed_with_the_tuning_extra():
    # The `tuning` extra must install what the real search path imports.
    tuning.check_search_dependencies()
    from tensorboard.plugins.hparams import api

    assert hasattr(api, "KerasCallback")


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--hash", "neighborhood", "--radius", "0:9:log"],
            "must have `min_value > 0`",
        ),
        (["--alpha", "0:1"], "`alpha` must be a positive number"),
        (["--hash", "sha1"], "Received: hash='sha1'"),
        (["--max-trials", "0"], "`--max-trials` must be a positive integer"),
        (["--hidden-units", "a,b"], "`--hidden-units` must be 'auto'"),
        (["--hash", "uniform", "--radius", "3"], "only used by the neigh"),
    ],
)
def test_bad_command_line_arguments(tmp_path, capsys, argv, message):
    status = cli.main(["tune", "--directory", str(tmp_path)] + argv)
    assert status == 2
    assert message in capsys.readouterr().err
