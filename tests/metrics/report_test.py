"""Per-layer, per-table and per-model statistics, and `sharing_report`."""

import math

import keras
import numpy as np
import pytest

from arbnet_keras import HashedDense
from arbnet_keras import HashTable
from arbnet_keras import hashing
from arbnet_keras import metrics
from arbnet_keras import sharing_report


def _model():
    """An own-table layer, then two layers that share one table."""
    table = HashTable(30, hash="uniform", seed=1, name="common_table")
    model = keras.Sequential(
        [
            keras.Input((6,)),
            HashedDense(
                5, hash="modulus", table_size=10, seed=0, name="own_layer"
            ),
            HashedDense(4, table=table, name="shared_one"),
            HashedDense(3, table=table, sparsity=0.5, name="shared_two"),
        ],
        name="test_model",
    )
    return model, table


def test_hashed_layers_finds_nested_layers():
    model, _ = _model()
    outer = keras.Sequential(
        [keras.Input((6,)), model, keras.layers.Dense(2)], name="outer"
    )
    names = [layer.name for layer in metrics.hashed_layers(outer)]
    assert names == ["own_layer", "shared_one", "shared_two"]


def test_layer_stats():
    model, _ = _model()
    stats = metrics.layer_stats(model.get_layer("own_layer"))
    assert stats["name"] == "own_layer"
    assert stats["table_size"] == 10
    assert stats["num_weights"] == 30
    assert stats["num_zeros"] == 0
    # Modulus: 30 weights on 10 entries, 3 each.
    assert stats["min_load"] == stats["max_load"] == 3
    assert stats["entropy"] == pytest.approx(math.log(10))


def test_table_stats_pools_the_layers():
    model, _ = _model()
    layers = [model.get_layer("shared_one"), model.get_layer("shared_two")]
    stats = metrics.table_stats(layers)
    entries = np.concatenate(
        [layer.kernel_index().entries.ravel() for layer in layers]
    )
    assert stats == metrics.load_stats(entries, 30)
    assert stats["num_weights"] == 5 * 4 + 4 * 3


def test_table_stats_needs_one_table():
    model, _ = _model()
    with pytest.raises(ValueError, match=r"`layers` must all use one table"):
        metrics.table_stats(
            [model.get_layer("own_layer"), model.get_layer("shared_one")]
        )


def test_model_stats_combines_tables():
    model, _ = _model()
    stats = metrics.model_stats(model)
    # The shared table's entries come after the own table's 10.
    own = model.get_layer("own_layer").kernel_index().entries.ravel()
    shared = [
        model.get_layer(name).kernel_index().entries.ravel()
        for name in ("shared_one", "shared_two")
    ]
    shifted = [np.where(e >= 0, e + 10, -1) for e in shared]
    expected = metrics.load_stats(np.concatenate([own, *shifted]), 40)
    assert stats == expected
    assert stats["table_size"] == 40
    assert stats["num_weights"] == 30 + 20 + 12
    assert stats["max_entropy"] == pytest.approx(math.log(40))


def test_model_stats_two_own_tables_hand_computed():
    model = keras.Sequential(
        [
            keras.Input((2,)),
            HashedDense(2, hash="modulus", table_size=2, seed=0),
            HashedDense(1, hash="modulus", table_size=1, seed=0),
        ]
    )
    stats = metrics.model_stats(model)
    # Loads: 2, 2 on the first table, 2 on the second: p = 1/3 each.
    assert stats["table_size"] == 3
    assert stats["num_weights"] == 6
    assert stats["min_load"] == stats["max_load"] == 2
    assert stats["entropy"] == pytest.approx(math.log(3))


def test_model_stats_without_hashed_layers():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match=r"no hashed layer"):
        metrics.model_stats(model)


def test_sharing_report_rows():
    model, table = _model()
    lines = []
    rows = sharing_report(model, print_fn=lines.append)
    scopes = [(row["scope"], row["name"]) for row in rows]
    assert scopes == [
        ("layer", "own_layer"),
        ("layer", "shared_one"),
        ("layer", "shared_two"),
        ("table", "common_table"),
        ("model", "test_model"),
    ]
    layer_rows = {row["name"]: row for row in rows if row["scope"] == "layer"}
    for name, row in layer_rows.items():
        expected = metrics.layer_stats(model.get_layer(name))
        assert {k: row[k] for k in expected} == expected
    shared_two = layer_rows["shared_two"]
    # 12 weights at sparsity 0.5: the fraction is the layer's own, and
    # neither none nor all (each has probability 2**-12).
    entries = model.get_layer("shared_two").kernel_index().entries
    assert shared_two["zero_fraction"] == pytest.approx((entries < 0).mean())
    assert 0 < shared_two["zero_fraction"] < 1
    table_row = rows[3]
    assert table_row["table_size"] == 30
    assert table_row["num_weights"] == 32
    model_row = rows[4]
    assert {k: model_row[k] for k in metrics.model_stats(model)} == (
        metrics.model_stats(model)
    )


def test_sharing_report_prints_a_table():
    model, _ = _model()
    lines = []
    sharing_report(model, print_fn=lines.append)
    # A header and one line per row.
    assert len(lines) == 6
    assert "entropy" in lines[0]
    text = "\n".join(lines)
    for name in ("own_layer", "shared_one", "shared_two", "common_table"):
        assert name in text
    assert "test_model" in lines[-1]
    # The modulus layer is perfectly balanced: entropy ln 10.
    assert f"{math.log(10):.3f}" in lines[1]


def test_sharing_report_prints_with_print(capsys):
    model, _ = _model()
    sharing_report(model)
    out = capsys.readouterr().out
    assert "shared_one" in out
    assert "own_layer" in out


def test_sharing_report_silent():
    model, _ = _model()
    lines = []
    rows = sharing_report(model, print_fn=None)
    assert lines == []
    assert len(rows) == 5


def test_no_table_row_without_sharing():
    model = keras.Sequential(
        [
            keras.Input((3,)),
            HashedDense(2, hash=hashing.Uniform(), table_size=4, seed=0),
        ]
    )
    rows = sharing_report(model, print_fn=None)
    assert [row["scope"] for row in rows] == ["layer", "model"]
