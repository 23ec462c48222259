"""Shared pytest configuration and fixtures of the arbnet_keras tests."""

import json
import os
import pathlib
import subprocess
import sys

# Set before TensorFlow is imported by any test module.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent

# A line that precedes a subprocess's JSON result on its stdout, so that
# anything else printed (warnings, logs) is ignored.
RESULT_MARKER = "@@ARBNET_TEST_RESULT@@"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: slow or paper-scale runs, left out by default"
    )
    config.addinivalue_line(
        "markers",
        "tensorflow_only: needs the TensorFlow backend; skipped on the others",
    )


def pytest_collection_modifyitems(config, items):
    # As keras-hub does: backend-specific tests are skipped, not failed,
    # under another KERAS_BACKEND (CI also deselects them with -m).
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        return
    skip = pytest.mark.skip(
        reason=f"TensorFlow only; the Keras backend is {backend!r}."
    )
    for item in items:
        if "tensorflow_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def run_python():
    """Runs Python code in a fresh process and returns its JSON result.

    The code must call `emit(obj)` (predefined) once with a
    JSON-serializable object, which is returned. `env` entries are added
    to the environment of the subprocess.
    """

    def run(code, env=None, timeout=180):
        prelude = (
            "import json as _json\n"
            "def emit(obj):\n"
            f"    print({RESULT_MARKER!r})\n"
            "    print(_json.dumps(obj))\n"
        )
        full_env = dict(os.environ)
        full_env["TF_CPP_MIN_LOG_LEVEL"] = "3"
        full_env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO_ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]
        )
        full_env.update(env or {})
        result = subprocess.run(
            [sys.executable, "-c", prelude + code],
            capture_output=True,
            text=True,
            env=full_env,
            cwd=str(REPO_ROOT),
            timeout=timeout,
        )
        if result.returncode != 0 or RESULT_MARKER not in result.stdout:
            pytest.fail(
                f"Subprocess failed (exit code {result.returncode}).\n"
                f"stdout:\n{result.stdout[-3000:]}\n"
                f"stderr:\n{result.stderr[-3000:]}"
            )
        payload = result.stdout.split(RESULT_MARKER, 1)[1]
        return json.loads(payload.strip().splitlines()[0])

    return run
