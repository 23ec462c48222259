"""Smoke test of `benchmarks/step_breakdown.py` at a tiny size."""

import pathlib
import sys

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

pytestmark = pytest.mark.tensorflow_only

from benchmarks import step_breakdown  # noqa: E402


def test_breakdown_adds_up(tmp_path):
    out = tmp_path / "breakdown.json"
    results = step_breakdown.main(
        ["--n", "16", "--batch", "4", "--repeats", "2", "--out", str(out)]
    )
    assert results["table_size"] == 26  # 10% of 256 weights, rounded.
    assert out.exists()
    for timing in results["operations"].values():
        assert 0 < timing["min_s"] <= timing["median_s"]
    sums = results["sums"]["4 hidden layer"]
    products = sum(m["median_s"] for m in results["matmuls"]["4"].values())
    assert sums["matmuls_s"] == pytest.approx(products)
    first = results["sums"]["4 first layer"]
    input_gradient = results["matmuls"]["4"]["input_gradient_matmul"]
    assert first["matmuls_s"] == pytest.approx(
        products - input_gradient["median_s"]
    )
    assert sums["stored_index_ratio"] == pytest.approx(
        sums["stored_index_s"] / sums["dense_s"]
    )


@pytest.mark.parametrize(
    "argv", [["--n", "0"], ["--table-fraction", "2"], ["--batch", "0"]]
)
def test_bad_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        step_breakdown.main(argv)
    assert exit_info.value.code == 2
    assert "step_breakdown" in capsys.readouterr().err
