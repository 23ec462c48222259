"""Tests of `benchmarks/memory_scaling.py` at tiny sizes (no timings)."""

import json
import math
import pathlib
import sys

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import memory_scaling  # noqa: E402


def test_grid_points_tables_and_dense_limit():
    args = memory_scaling.parse(
        ["--sizes", "316", "100000", "--dense-limit-gb", "8"]
    )
    specs = memory_scaling.points(args)
    by_key = {(s["model"], s["n"]): s for s in specs}
    assert by_key["hashed", 316]["table_size"] == 9986  # 10% of 99,856.
    assert by_key["hashed", 100000]["table_size"] == 10**7  # The cap.
    assert "skipped" not in by_key["dense", 316]
    assert "111.8 GiB" in by_key["dense", 100000]["skipped"]
    assert by_key["hashed", 100000]["steps"] == 3


def test_slope_of_a_power_law():
    records = [
        {
            "spec": {
                "model": "hashed",
                "n": n,
                "virtual_weights": n * n,
                "table_size": memory_scaling.table_entries(n),
            },
            "step_s": 2e-9 * (n * n) ** 1.5,
        }
        for n in (100, 1000, 10000)
    ]
    assert math.isclose(memory_scaling.slope(records, "hashed"), 1.5)
    assert memory_scaling.slope(records, "dense") is None


def test_points_run_in_fresh_processes_and_resume(tmp_path, capsys):
    out = tmp_path / "memory.json"
    argv = ["--sizes", "16", "--steps", "3", "--out", str(out)]
    assert memory_scaling.main(argv) == 0
    records = json.loads(out.read_text())["records"]
    assert [r["spec"]["model"] for r in records] == ["dense", "hashed"]
    for record in records:
        assert record["returncode"] == 0
        assert record["peak_mb"] >= record["baseline_mb"] > 0
        assert record["ru_maxrss_mb"] > 0
        assert len(record["step_intervals_s"]) == 2
        assert record["step_cpu_s"] > 0
    hashed = records[1]
    assert hashed["trainable_params"] == 26 + 16  # Table and bias.
    assert hashed["kernel_strategy"] == "GatherKernel"
    capsys.readouterr()
    # A rerun keeps the points it has.
    assert memory_scaling.main(argv) == 0
    assert "kept: hashed n=16" in capsys.readouterr().out
    assert len(json.loads(out.read_text())["records"]) == 2
