"""The modulus aliasing measurements."""

import pytest

from arbnet_keras.experiments.aliasing import aliasing_stats
from arbnet_keras.experiments.aliasing import plot_aliasing


def _by(records, numbering, layer):
    (record,) = [
        r
        for r in records
        if r["numbering"] == numbering and r["layer"] == layer
    ]
    return record


def test_in_out_collapses_rows_and_out_in_columns():
    # 40 units under a 200-entry table: rows (in_out) or, for the second
    # layer's 40 inputs, columns (out_in) repeat every 5.
    records = aliasing_stats(
        layer_shapes=((49, 40), (40, 40)), table_sizes=(200,)
    )
    first_in_out = _by(records, "in_out", 0)
    assert first_in_out["distinct_rows"] == 5
    assert first_in_out["rank"] == 5
    first_out_in = _by(records, "out_in", 0)
    # 49 and 200 are coprime: no aliasing at all in the first layer.
    assert first_out_in["rank"] == 40
    second_out_in = _by(records, "out_in", 1)
    assert second_out_in["distinct_cols"] == 5
    assert second_out_in["rank"] == 5


def test_coprime_table_size_keeps_full_rank():
    records = aliasing_stats(layer_shapes=((49, 40),), table_sizes=(199,))
    assert all(r["rank"] == r["full_rank"] for r in records)


def test_plot_aliasing_writes_labelled_figure(tmp_path):
    pytest.importorskip("matplotlib")
    records = aliasing_stats(
        layer_shapes=((12, 8), (8, 4)), table_sizes=(16, 24)
    )
    path = tmp_path / "aliasing.png"
    fig = plot_aliasing(records, path)
    assert path.stat().st_size > 0
    assert [ax.get_xlabel() for ax in fig.axes] == ["table size (entries)"] * 2
    assert fig.axes[0].get_ylabel() == "rank of the kernel"


def test_cli_aliasing_writes_table_and_figure(tmp_path):
    pytest.importorskip("matplotlib")
    from arbnet_keras import cli

    assert (
        cli.main(["aliasing", "--out", str(tmp_path), "--table-size", "1000"])
        == 0
    )
    table = (tmp_path / "aliasing.md").read_text()
    # The paper's network under one 1000-entry modulus table, in_out:
    # the first layer keeps 5 distinct rows, so its rank is 5.
    assert "| 1000 | in_out | 1 | 784x200 | 5 | 200 | 5 | 200 |" in table
    assert (tmp_path / "aliasing.png").stat().st_size > 0
    assert cli.main(["aliasing", "--table-size", "0"]) == 2
