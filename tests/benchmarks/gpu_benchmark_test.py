"""Smoke test of the GPU benchmark (`benchmarks/gpu.py --smoke`) on a CPU.

The benchmark is meant for machines with CUDA builds of JAX or PyTorch
and no TensorFlow; here it runs at tiny sizes on the current backend,
when that is JAX or PyTorch, and checks its records, that TensorFlow was
never imported, and the Markdown report. It asserts nothing on timings.
"""

import json
import os
import pathlib
import subprocess
import sys

import keras
import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import gpu  # noqa: E402

BACKEND = keras.backend.backend()


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    if BACKEND not in gpu.BACKENDS:
        pytest.skip(
            "benchmarks/gpu.py runs on JAX and PyTorch, for machines "
            f"without TensorFlow; the Keras backend is {BACKEND!r}."
        )
    out = tmp_path_factory.mktemp("gpu")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "benchmarks" / "gpu.py"),
            "--smoke",
            "--backends",
            BACKEND,
            "--out",
            str(out),
            "--budget",
            "300",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(REPO_ROOT),
        timeout=360,
    )
    assert process.returncode == 0, process.stderr[-4000:]
    combined = json.loads((out / "gpu.json").read_text())
    return combined, (out / "gpu.md").read_text(), process.stdout


def test_every_case_measured(smoke):
    combined, _, _ = smoke
    assert combined["smoke"] is True
    result = combined["backends"][BACKEND]
    assert result["status"] == "done"
    assert result["skipped"] == []
    layers = [r for r in result["records"] if r["section"] == "layers"]
    errors = [r["error"] for r in layers if "error" in r]
    assert not errors
    cases = {(r["n"], r["dtype"], r["hash"]) for r in layers}
    assert cases == {
        (n, dtype, hash_name)
        for n in gpu.SIZES["smoke"]["layers"]
        for dtype in gpu.DTYPES
        for hash_name in gpu.HASHES
    }
    for record in layers:
        assert len(record["hashed"]["raw"]) == gpu.SIZES["smoke"]["repeats"]
        assert record["ratio"] > 0


def test_network_epochs_with_the_paper_schedule(smoke):
    combined, _, _ = smoke
    (network,) = [
        r
        for r in combined["backends"][BACKEND]["records"]
        if r["section"] == "network"
    ]
    assert "error" not in network, network.get("error")
    epochs = gpu.SIZES["smoke"]["epochs"]
    for side in ("hashed", "dense"):
        assert len(network[side]["epoch_seconds"]) == epochs
        # ReduceLROnPlateau logged the rate: it ran.
        assert network[side]["learning_rate"] == pytest.approx([0.1] * epochs)
    assert network["hashed"]["params"] < network["dense"]["params"]


def test_tensorflow_never_imported(smoke):
    combined, _, _ = smoke
    assert combined["backends"][BACKEND]["tensorflow_imported"] is False


def test_markdown_report(smoke):
    combined, text, stdout = smoke
    rows = [
        line for line in text.splitlines() if line.startswith(f"| {BACKEND} |")
    ]
    layers = (
        len(gpu.SIZES["smoke"]["layers"]) * len(gpu.DTYPES) * len(gpu.HASHES)
    )
    assert len(rows) == layers + 1  # And the network's row.
    assert "error" not in text
    assert text.strip() in stdout


def test_out_of_time_skips_and_still_reports(tmp_path):
    # No backend process is started: the budget is spent before.
    combined = gpu.main(["--smoke", "--budget", "1", "--out", str(tmp_path)])
    assert {b: r["status"] for b, r in combined["backends"].items()} == {
        backend: "skipped: out of time" for backend in gpu.BACKENDS
    }
    assert (tmp_path / "gpu.md").read_text().startswith("# GPU benchmark")
