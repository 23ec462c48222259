"""`benchmarks/run.py --backend`, the `backends` preset and the
per-backend Markdown table (`--markdown-from`)."""

import json
import pathlib
import sys

import keras
import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import run  # noqa: E402


def test_another_backend_than_the_running_one_is_an_error(capsys):
    other = next(b for b in run.BACKENDS if b != keras.backend.backend())
    with pytest.raises(SystemExit) as info:
        run.main(["--backend", other, "--list"])
    assert info.value.code == 2
    assert (
        f"--backend {other}: Keras is already running on "
        f"{keras.backend.backend()!r}"
    ) in capsys.readouterr().err


def test_the_running_backend_is_accepted():
    lines = []
    run.main(
        [
            "--backend",
            keras.backend.backend(),
            "--preset",
            "backends",
            "--list",
        ],
        print_fn=lines.append,
    )
    # The preset holds only the sections of the per-backend table.
    assert [line.split(":")[0] for line in lines] == ["train_step", "networks"]
    assert '"xla": "auto"' in lines[0]


def test_a_section_outside_the_preset_is_an_error(capsys):
    with pytest.raises(SystemExit):
        run.main(["--preset", "backends", "--only", "memory", "--list"])
    assert "the backends preset has no section memory" in (
        capsys.readouterr().err
    )


def _results(backend, version):
    record = {
        "section": "train_step",
        "label": "2000x2000 uniform 1/10 b64 jit-auto",
        "params": {
            "input_dim": 2000,
            "units": 2000,
            "hash": "uniform",
            "table": "1/10",
            "batch": 64,
            "xla": "auto",
            "jit_compile": backend == "jax",
        },
        "metric": "seconds_per_step",
        "hashed": {"raw": [0.015, 0.013], "median": 0.014},
        "dense": {"raw": [0.010, 0.012], "median": 0.011},
        # The median of 1.5 and 1.0833.
        "ratio": 1.2916666,
        "ratio_raw": [1.5, 1.0833333],
    }
    return {
        "command": f"python benchmarks/run.py --backend {backend}",
        "machine": {
            "keras_backend": backend,
            "backend_version": version,
            "tensorflow": None,
            "keras": "3.15.1",
            "usable_cores": 2,
            "load_average_start": [3.0, 3.5, 4.0],
        },
        "load_average_end": [3.1, 3.4, 3.9],
        "duration_s": 50.0,
        "sections": {"train_step": {"records": [record]}},
    }


def test_markdown_table(tmp_path):
    paths = []
    for backend, version in (("jax", "0.10.2"), ("torch", "2.13.0")):
        path = tmp_path / f"{backend}.json"
        path.write_text(json.dumps(_results(backend, version)))
        paths.append(str(path))
    lines = []
    run.main(["--markdown-from", *paths], print_fn=lines.append)
    # A file without `inputs` (written before the setting) was tf.data.
    assert lines[2] == (
        "| jax 0.10.2 | on | tf.data | 2000x2000 uniform 1/10 | - | 64 "
        "| 10.0 / 11.0 | 13.0 / 14.0 | 1.30 | 1.29 |"
    )
    assert lines[3].startswith("| torch 2.13.0 | off |")
    assert "load average [3.0, 3.5, 4.0] at the start" in lines[-2]
    assert lines[-1].endswith("`python benchmarks/run.py --backend torch`")


def test_paths_matrix_has_a_column_per_path(tmp_path):
    """`--matrix-from`: a row per case and kernel mode, a path a column."""
    results = _results("tensorflow", "2.21.0")
    (record,) = results["sections"]["train_step"]["records"]
    numpy_record = json.loads(json.dumps(record))
    numpy_record["params"].update(inputs="numpy", variant="auto")
    numpy_record["ratio"] = 1.75
    record["params"]["variant"] = "auto"
    failed = {
        "section": "train_step",
        "label": "failed",
        "params": {**record["params"], "batch": 256},
        "error": "ValueError: no",
    }
    results["sections"]["train_step"]["records"] += [numpy_record, failed]
    path = tmp_path / "paths.json"
    path.write_text(json.dumps(results))
    lines = []
    run.main(["--matrix-from", str(path)], print_fn=lines.append)
    assert lines[0] == "ratio:"
    assert lines[1] == (
        "| case | kernel_mode | b64 no-XLA tf.data | b64 no-XLA numpy "
        "| b256 no-XLA tf.data | largest |"
    )
    # The median ratio per path, "-" where the case failed, and the
    # largest measured.
    assert lines[3] == (
        "| 2000x2000 uniform 1/10 | auto | 1.29 | 1.75 | - | 1.75 |"
    )
    minima = lines.index("ratio_of_mins:")
    # min(hashed) / min(dense) = 0.013 / 0.010.
    assert lines[minima + 3].startswith(
        "| 2000x2000 uniform 1/10 | auto | 1.30 | 1.30 | - |"
    )
