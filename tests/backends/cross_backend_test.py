"""The hashed layers agree across TensorFlow, JAX and PyTorch.

`cross_backend_cases.py` builds the same models (every named hash, with
signs and sparsity, in each kernel mode, a `HashedConv2D`, a
`HashedEmbedding` and one `HashTable` shared by all three layer types)
on each backend, in a fresh process with that backend's interpreter. The
reference backend (TensorFlow where its interpreter is found) saves
random weights with `save_weights` and as a `.keras` file; every other
backend loads both and predicts the same inputs.

Interpreters: the running one for the current backend; otherwise
`$ARBNET_PYTHON_<BACKEND>` (for instance `ARBNET_PYTHON_JAX`) or the
repository's `.venv`, `.venv-jax` and `.venv-torch` (`.ci/backends.sh`
creates the last two). A backend whose interpreter cannot find `keras`,
`arbnet_keras` and the backend's framework is skipped, with the reason.

Tolerance of predictions: the weights arrive bit for bit (float32 in the
HDF5 file) and the kernel is a gather, times signs of +-1 and zeros, so
it is exact (checked). What differs is only the order in which each
backend's matmul and convolution kernels sum the `K` products of a dot
product (and the `exp` of ELU, within an ulp). Rounding errors of
float32 (unit roundoff `u = 2**-24`, about 6e-8) accumulate like
`sqrt(K) * u` relative to the output's scale for independent roundings:
at most 14 u (8e-7) for the longest dot product here (`K = 183`, the
shared dense layer), measured at most 4 u (2.4e-7). Hence 1e-6, relative
to the largest output of each model (weights and inputs are O(1)).
"""

import functools
import importlib.util
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

from arbnet_keras import hashing

HERE = pathlib.Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import cross_backend_cases  # noqa: E402

BACKENDS = ("tensorflow", "jax", "torch")
VENVS = {"tensorflow": ".venv", "jax": ".venv-jax", "torch": ".venv-torch"}
RTOL = 1e-6
TIMEOUT = 300


@functools.cache
def interpreter(backend):
    """`(python, None)` for a usable backend, else `(None, reason)`."""
    variable = f"ARBNET_PYTHON_{backend.upper()}"
    if os.environ.get(variable):
        python = os.environ[variable]
    elif backend == keras.backend.backend():
        python = sys.executable
    else:
        python = str(REPO_ROOT / VENVS[backend] / "bin" / "python")
    if not os.path.exists(python):
        return None, (
            f"no interpreter for the {backend} backend at {python}: set "
            f"${variable} or create {VENVS[backend]}/"
            + (" (.ci/backends.sh does)" if backend != "tensorflow" else "")
        )
    if python == sys.executable:
        missing = [
            m
            for m in (backend, "arbnet_keras")
            if importlib.util.find_spec(m) is None
        ]
    else:
        check = (
            "import importlib.util as u, sys; "
            f"sys.exit(u.find_spec({backend!r}) is None "
            "or u.find_spec('keras') is None "
            "or u.find_spec('arbnet_keras') is None)"
        )
        found = subprocess.run([python, "-c", check], timeout=60).returncode
        missing = [] if found == 0 else [backend, "keras or arbnet_keras"]
    if missing:
        return None, f"{python} cannot import {' / '.join(missing)}"
    return python, None


def reference_backend():
    """TensorFlow if usable, else the first usable backend."""
    for backend in BACKENDS:
        if interpreter(backend)[0]:
            return backend
    return None


def _start(backend, mode, directory):
    python, _ = interpreter(backend)
    env = dict(os.environ)
    env.update(KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT)] + [p for p in [env.get("PYTHONPATH")] if p]
    )
    return subprocess.Popen(
        [python, str(HERE / "cross_backend_cases.py"), mode, str(directory)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=str(REPO_ROOT),
    )


def _finish(backend, process, directory):
    try:
        _, stderr = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
    if process.returncode != 0:
        pytest.fail(
            f"{backend} ({interpreter(backend)[0]}) failed with exit code "
            f"{process.returncode}:\n{stderr[-4000:]}"
        )
    return dict(np.load(directory / f"{backend}.npz"))


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """`backend -> results` of every usable backend, run once."""
    results = {}

    def get(backend):
        if not results:
            directory = tmp_path_factory.mktemp("cross_backend")
            reference = reference_backend()
            results[reference] = _finish(
                reference, _start(reference, "save", directory), directory
            )
            # The other backends only read the reference's files: run them
            # side by side.
            running = {
                other: _start(other, "load", directory)
                for other in BACKENDS
                if other != reference and interpreter(other)[0]
            }
            for other, process in running.items():
                results[other] = _finish(other, process, directory)
        return results[backend]

    return get


def _target(backend):
    """Skips unless `backend` and another backend to compare with run."""
    python, reason = interpreter(backend)
    if python is None:
        pytest.skip(reason)
    reference = reference_backend()
    if reference == backend:
        others = [b for b in BACKENDS if b != backend]
        reasons = "; ".join(interpreter(b)[1] or "" for b in others)
        if not any(interpreter(b)[0] for b in others):
            pytest.skip(
                f"no other backend to compare {backend} with: {reasons}"
            )
        pytest.skip(f"{backend} is the reference that the others match")
    return reference


def _relative_difference(actual, expected):
    return float(np.abs(actual - expected).max() / np.abs(expected).max())


def test_cases_cover_every_named_hash():
    named = {cls.__name__ for cls in hashing.ALIASES.values()}
    covered = {
        type(hashing.get(name)).__name__
        for name in cross_backend_cases.HASHES
        if name != "kmeans"
    } | {"KMeans"}
    assert named == covered


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_index_on_every_backend(outputs, backend):
    reference = _target(backend)
    expected, actual = outputs(reference), outputs(backend)
    keys = sorted(k for k in expected if "/index/" in k)
    assert len(keys) >= len(cross_backend_cases.cases())
    # The cases hold signs and fixed zeros, so they are compared too.
    everything = np.concatenate([expected[k].ravel() for k in keys])
    assert (everything < 0).any() and (everything == 0).any()
    differ = [k for k in keys if not np.array_equal(actual[k], expected[k])]
    assert not differ, f"{backend} and {reference} index differently: {differ}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_loaded_weights_give_the_same_kernels(outputs, backend):
    reference = _target(backend)
    expected, actual = outputs(reference), outputs(backend)
    keys = sorted(k for k in expected if "/kernel/" in k)
    differ = [k for k in keys if not np.array_equal(actual[k], expected[k])]
    assert not differ, f"{backend} kernels differ from {reference}: {differ}"


@pytest.mark.parametrize("kind", ["weights", "keras"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_same_predictions_from_saved_weights(outputs, backend, kind):
    # `weights`: save_weights on the reference, load_weights here;
    # `keras`: the reference's .keras file loaded here.
    reference = _target(backend)
    expected, actual = outputs(reference), outputs(backend)
    keys = sorted(k for k in expected if k.endswith(f"/{kind}"))
    assert len(keys) == len(cross_backend_cases.cases())
    differences = {
        k: _relative_difference(actual[k], expected[k]) for k in keys
    }
    worst = max(differences, key=differences.get)
    assert differences[worst] < RTOL, (
        f"{backend} vs {reference}: {worst} differs by "
        f"{differences[worst]:.2e} relative"
    )
