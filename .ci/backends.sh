#!/usr/bin/env bash
# The JAX and PyTorch legs of the CI backend matrix (TensorFlow is .ci/run).
#
# For each backend: a virtualenv without TensorFlow (.venv-jax, .venv-torch,
# reused when present), the project installed with that backend's extra, a
# check that no TensorFlow came along, then the backend-portable suites
# under KERAS_BACKEND, leaving out the tests marked `tensorflow_only`.
#
# Usage: .ci/backends.sh [jax] [torch]    (both when none is given)
set -euo pipefail
cd "$(dirname "$0")/.."

SUITES=(
    tests/layers
    tests/hashing
    tests/metrics
    tests/models
    tests/saving
    tests/datasets
)
PYTHON="${PYTHON:-python3}"

if [ "$#" -eq 0 ]; then
    set -- jax torch
fi

status=0
for backend in "$@"; do
    case "$backend" in
        jax | torch) ;;
        *)
            echo "Invalid backend '$backend'. Expected one of: jax, torch." >&2
            exit 2
            ;;
    esac
    venv=".venv-$backend"
    if [ ! -x "$venv/bin/python" ]; then
        "$PYTHON" -m venv "$venv"
    fi
    # hypothesis: property tests of the hashing suite.
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        -e ".[$backend,data,plots,test]" hypothesis
    if "$venv/bin/python" -c \
        "import importlib.util as u, sys; sys.exit(not u.find_spec('tensorflow'))"
    then
        echo "$venv has TensorFlow installed; this leg must run without it." >&2
        exit 1
    fi
    echo "== KERAS_BACKEND=$backend: ${SUITES[*]}"
    start=$SECONDS
    # A module that cannot be imported without TensorFlow still fails the
    # leg, but the other modules run.
    KERAS_BACKEND="$backend" "$venv/bin/python" -m pytest -q \
        --continue-on-collection-errors -m "not tensorflow_only" \
        "${SUITES[@]}" || status=1
    echo "== KERAS_BACKEND=$backend: $((SECONDS - start)) s"
done
exit "$status"
