#!/usr/bin/env bash
# The JAX and PyTorch legs of the CI backend matrix (TensorFlow is .ci/run).
#
# For each backend: a virtualenv without TensorFlow (.venv-jax, .venv-torch,
# created with $PYTHON, default python3, and reused when present), the
# project installed with that backend's extra, a check that no TensorFlow
# came along, then the backend-portable suites under KERAS_BACKEND, leaving
# out the tests marked `tensorflow_only`. Each leg reports the seconds of
# its install and of its tests; the last line, the total.
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
total_start=$SECONDS
for backend in "$@"; do
    case "$backend" in
        jax | torch) ;;
        *)
            echo "Invalid backend '$backend'. Expected one of: jax, torch." >&2
            exit 2
            ;;
    esac
    venv=".venv-$backend"
    start=$SECONDS
    if [ ! -x "$venv/bin/python" ]; then
        "$PYTHON" -m venv "$venv"
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        -e ".[$backend,data,plots,test]"
    if "$venv/bin/python" -c \
        "import importlib.util as u, sys; sys.exit(not u.find_spec('tensorflow'))"
    then
        echo "$venv has TensorFlow installed; this leg must run without it." >&2
        exit 1
    fi
    install_s=$((SECONDS - start))
    echo "== KERAS_BACKEND=$backend: ${SUITES[*]}"
    start=$SECONDS
    # A module that cannot be imported without TensorFlow still fails the
    # leg, but the other modules run.
    KERAS_BACKEND="$backend" "$venv/bin/python" -m pytest -q \
        --continue-on-collection-errors -m "not tensorflow_only" \
        "${SUITES[@]}" || status=1
    echo "== KERAS_BACKEND=$backend: install ${install_s} s," \
        "tests $((SECONDS - start)) s"
done
echo "== .ci/backends.sh $*: $((SECONDS - total_start)) s in all"
exit "$status"
