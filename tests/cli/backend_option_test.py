"""`--backend`: chosen from the command line before Keras is imported."""

import importlib.util
import os
import subprocess
import sys

import keras
import pytest

from arbnet_keras import cli
from arbnet_keras.cli import backend

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))

TRAINING_COMMANDS = [
    ["sweep", "uniform"],
    ["reproduce"],
    ["tune"],
    ["convert", "in.keras", "out.keras"],
]


@pytest.mark.parametrize(
    "args, expected",
    [
        (["reproduce", "--quick", "--backend", "jax"], "jax"),
        (["sweep", "uniform", "--backend=torch", "--epochs", "1"], "torch"),
        (["reproduce", "--quick"], None),
        (["reproduce", "--backend"], None),
        (["tune", "--", "--backend", "jax"], None),
    ],
)
def test_requested_backend(args, expected):
    assert backend.requested_backend(args) == expected


@pytest.mark.parametrize("command", TRAINING_COMMANDS)
@pytest.mark.parametrize("name", backend.BACKENDS)
def test_training_commands_take_backend(command, name):
    args = cli.build_parser().parse_args(command + ["--backend", name])
    assert args.backend == name
    assert cli.build_parser().parse_args(command).backend is None


def test_invalid_backend(capsys):
    with pytest.raises(SystemExit) as raised:
        cli.build_parser().parse_args(["reproduce", "--backend", "mxnet"])
    assert raised.value.code == 2
    assert "argument --backend: invalid choice: 'mxnet'" in (
        capsys.readouterr().err
    )


def test_other_backend_than_the_imported_one(capsys):
    other = "jax" if keras.backend.backend() != "jax" else "torch"
    status = cli.main(["reproduce", "--quick", "--backend", other])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("arbnet reproduce: error: `--backend` must be ")
    assert f"already runs Keras on '{keras.backend.backend()}'" in err
    assert err.rstrip().endswith(f"Received: backend='{other}'")


def _missing_backend():
    """A backend whose package is not installed here, or None."""
    for name in backend.BACKENDS:
        if importlib.util.find_spec(name) is None:
            return name
    return None


@pytest.mark.parametrize("form", ["module", "script", "tuning module"])
def test_backend_is_set_before_keras_is_imported(form):
    # KERAS_BACKEND names a backend that is not installed, so importing
    # Keras fails unless `--backend` replaced it first.
    missing = _missing_backend()
    if missing is None:
        pytest.skip("Every Keras backend is installed here.")
    current = keras.backend.backend()
    if form == "module":
        command = [sys.executable, "-m", "arbnet_keras", "reproduce"]
    elif form == "tuning module":
        command = [sys.executable, "-m", "arbnet_keras.tuning.cli", "tune"]
    else:
        script = os.path.join(os.path.dirname(sys.executable), "arbnet")
        if not os.path.isfile(script):
            pytest.skip("The `arbnet` script is not installed here.")
        command = [script, "reproduce"]
    env = dict(os.environ, KERAS_BACKEND=missing, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        command + ["--backend", current, "--help"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "--backend {tensorflow,jax,torch}" in result.stdout


def test_other_programs_are_left_alone(run_python):
    # A program that imports arbnet_keras with `--backend` among its own
    # arguments keeps its KERAS_BACKEND.
    result = run_python(
        "import sys\n"
        "sys.argv[1:] = ['--backend', 'torch']\n"
        "import arbnet_keras, keras, os\n"
        "emit([keras.backend.backend(), os.environ['KERAS_BACKEND']])\n",
        env={"KERAS_BACKEND": keras.backend.backend()},
    )
    assert result == [keras.backend.backend()] * 2
