"""Smoke test of the benchmark suite (`benchmarks/`) at tiny sizes.

It runs every section of the `smoke` preset once and checks the results'
schema and ratios; it makes no assertion about timings.
"""

import json
import math
import pathlib
import sys

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import builders  # noqa: E402
from benchmarks import config  # noqa: E402
from benchmarks import run  # noqa: E402
from benchmarks import timing  # noqa: E402

RECORD_KEYS = {
    "section",
    "label",
    "params",
    "metric",
    "hashed",
    "dense",
    "ratio",
    "ratio_raw",
}
MACHINE_KEYS = {
    "cpu_model",
    "usable_cores",
    "tensorflow",
    "keras",
    "git_commit",
    "date",
}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """Runs the smoke preset once: `(results, json_path, png_path, text)`."""
    tmp = tmp_path_factory.mktemp("benchmarks")
    out, png = tmp / "benchmarks.json", tmp / "performance.png"
    lines = []
    results = run.main(
        [
            "--preset",
            "smoke",
            "--out",
            str(out),
            "--plot",
            "--plot-out",
            str(png),
        ],
        print_fn=lines.append,
    )
    return results, out, png, "\n".join(lines)


def _is_positive_float(value):
    return isinstance(value, float) and math.isfinite(value) and value > 0


def test_benchmark_json_schema(smoke):
    results, out, _, _ = smoke
    written = json.loads(out.read_text())
    assert written["schema_version"] == 1
    assert written["preset"] == "smoke"
    assert "--preset smoke" in written["command"]
    assert MACHINE_KEYS <= set(written["machine"])
    assert written["machine"]["usable_cores"] >= 1
    assert list(written["sections"]) == list(config.SECTIONS)
    assert written["sections"].keys() == results["sections"].keys()
    for name, section in written["sections"].items():
        assert section["records"], name
        assert section["duration_s"] >= 0
        for record in section["records"]:
            assert "error" not in record, record.get("error")
            assert RECORD_KEYS <= set(record)
            assert record["section"] == name
            assert len(record["hashed"]["raw"]) >= 1
            assert record["hashed"]["median"] >= 0


def test_ratios_are_positive_floats(smoke):
    results = smoke[0]
    compared = 0
    for name, section in results["sections"].items():
        for record in section["records"]:
            if record["dense"] is None:
                assert record["ratio"] is None
                continue
            compared += 1
            assert _is_positive_float(record["ratio"]), (name, record)
            assert all(_is_positive_float(r) for r in record["ratio_raw"])
            assert len(record["ratio_raw"]) == len(record["dense"]["raw"])
    # Every section but index_build's kernel_index rows compares.
    assert compared >= len(config.SECTIONS)


def test_train_step_covers_preset_cases(smoke):
    section = smoke[0]["sections"]["train_step"]
    cases = config.PRESETS["smoke"]["train_step"]["cases"]
    inputs = config.PRESETS["smoke"]["train_step"]["inputs"]
    records = section["records"]
    assert len(records) == len(cases) * len(inputs)
    repeats = config.PRESETS["smoke"]["train_step"]["repeats"]
    for kind in inputs:
        of_kind = [r for r in records if r["params"]["inputs"] == kind]
        assert len(of_kind) == len(cases)
        key = lambda c: (c["hash"], c["table"], c["batch"], c["xla"])  # noqa: E731
        assert sorted(map(key, cases)) == sorted(
            key(r["params"]) for r in of_kind
        )
        for record in of_kind:
            assert len(record["hashed"]["raw"]) == repeats
            assert record["label"].endswith(" numpy") == (kind == "numpy")
    identity = [r for r in records if r["params"]["hash"] == "identity"]
    assert identity[0]["params"]["table_entries"] == 32 * 16
    assert any("toeplitz" in note for note in section["notes"])


def test_memory_and_file_size_fields(smoke):
    sections = smoke[0]["sections"]
    (memory,) = sections["memory"]["records"]
    for side in ("hashed", "dense"):
        assert memory[side]["peak_mb"] >= memory[side]["baseline_mb"] > 0
        assert memory[side]["median"] == pytest.approx(
            memory[side]["peak_mb"] - memory[side]["baseline_mb"]
        )
    assert memory["hashed"]["num_params"] < memory["dense"]["num_params"]
    size, packed = sections["file_size"]["records"]
    assert size["params"]["hashed_params"] < size["params"]["dense_params"]
    assert isinstance(size["hashed"]["raw"][0], float)
    # The same two models through `arbnet_keras.saving.save_model`.
    assert packed["params"]["saver"] == "arbnet_keras.saving.save_model"
    assert packed["label"].endswith("[saving.save_model]")
    for side in ("hashed", "dense"):
        assert 0 < packed[side]["raw"][0] < size[side]["raw"][0]


def test_index_build_rows_per_hash(smoke):
    records = smoke[0]["sections"]["index_build"]["records"]
    index_rows = [r for r in records if r["label"].endswith("kernel_index")]
    assert [r["params"]["hash"] for r in index_rows] == list(config.HASHES)
    model_rows = [r for r in records if " model" in r["label"]]
    # The identity hash builds the dense baseline: no model row.
    assert len(model_rows) == len(config.HASHES) - 1


def test_printed_tables_and_plot(smoke):
    _, _, png, text = smoke
    for name in config.SECTIONS:
        assert f"== {name} (" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_from_existing_results(smoke, tmp_path):
    _, out, _, _ = smoke
    png = tmp_path / "again.png"
    lines = []
    run.main(
        ["--plot-from", str(out), "--plot-out", str(png)],
        print_fn=lines.append,
    )
    assert png.exists()
    assert any(line.startswith("== scaling") for line in lines)


def test_fit_runner_on_arrays_fits_their_batches_with_shuffling():
    import keras

    data = builders.train_data("numpy", 6, 3, batch_size=4, steps=5)
    assert data.x.shape == (20, 6) and data.y.shape == (20,)
    model = builders.layer_model(6, 3, "uniform", "1/10")
    builders.compile_sgd(model, False)
    seen = []

    class Count(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)

    fit = model.fit

    def counted_fit(*args, **kwargs):
        assert "shuffle" not in kwargs  # Keras' default, True.
        kwargs["callbacks"] = kwargs["callbacks"] + [Count()]
        return fit(*args, **kwargs)

    model.fit = counted_fit
    seconds = timing.fit_runner(model, data)()
    assert seen == [0, 1, 2, 3, 4]
    assert seconds > 0


def test_train_data_refuses_unknown_inputs():
    with pytest.raises(ValueError, match="inputs='csv'"):
        builders.train_data("csv", 6, 3, batch_size=4, steps=5)


def test_compare_takes_median_of_paired_ratios():
    fields = timing.compare([2.0, 9.0, 3.0], [1.0, 3.0, 1.0])
    assert fields["ratio_raw"] == [2.0, 3.0, 3.0]
    assert fields["ratio"] == 3.0
    assert fields["hashed"]["median"] == 3.0
    assert fields["dense"]["median"] == 1.0
    assert fields["hashed"]["min"] == 2.0
    assert fields["ratio_of_mins"] == 2.0


def test_interleave_rotates_and_reverses_order():
    calls = []

    def runner(name):
        def run_once():
            calls.append(name)
            return 1.0

        return run_once

    times = timing.interleave(
        {name: runner(name) for name in "abc"}, repeats=3, warmup=1
    )
    assert times == {name: [1.0] * 3 for name in "abc"}
    # Warm-up in order, then repeat 0 "abc", 1 reversed "bca", 2 "cab".
    assert "".join(calls) == "abc" + "abc" + "acb" + "cab"


def test_train_cases_identity_once_with_full_table():
    cases = config.train_cases(
        [(4, 3)], ["identity", "uniform"], ["1000", "1/64"], [8], [False]
    )
    assert [(c["hash"], c["table"]) for c in cases] == [
        ("identity", "full"),
        ("uniform", "1000"),
        ("uniform", "1/64"),
    ]


@pytest.mark.parametrize(
    "hash_name, table, expected",
    [
        ("uniform", "1000", {"table_size": 1000}),
        ("modulus", "1/64", {"compression": 1 / 64}),
        ("identity", "1/10", {}),
    ],
)
def test_table_kwargs(hash_name, table, expected):
    assert builders.table_kwargs(hash_name, table) == expected


def test_layer_variants():
    warnings = []
    variants = run.layer_variants(None, {"sign": True}, warnings)
    assert variants == [{"name": "", "kwargs": {"sign": True}}]
    with pytest.raises(ValueError, match="no_such_argument"):
        run.layer_variants(None, {"no_such_argument": 1}, warnings)
    variants = run.layer_variants(["gather", "auto"], {}, warnings)
    if "kernel_mode" in builders.hashed_dense_arguments():
        assert [v["kwargs"] for v in variants] == [
            {"kernel_mode": "gather"},
            {"kernel_mode": "auto"},
        ]
        assert not warnings
    else:
        assert variants == [{"name": "", "kwargs": {}}]
        assert "kernel_mode" in warnings[0]


def test_network_layer_kwargs_keep_one_shared_table():
    from arbnet_keras.layers import HashedDense

    plain = builders.network_model("tiny_mlp", "uniform", 100)
    signed = builders.network_model("tiny_mlp", "uniform", 100, sign=True)
    layers = [x for x in signed.layers if isinstance(x, HashedDense)]
    assert [x.sign for x in layers] == [True] * 3
    assert len({id(x.table_variable) for x in layers}) == 1
    assert signed.count_params() == plain.count_params()
    plain_layers = [x for x in plain.layers if isinstance(x, HashedDense)]
    assert [x.id_offset for x in layers] == [x.id_offset for x in plain_layers]


def test_bad_hashed_kwargs_json_exits():
    with pytest.raises(SystemExit):
        run.parse_args(["--hashed-kwargs", "{not json"])
