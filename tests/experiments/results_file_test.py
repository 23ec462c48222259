"""Tests of the results file: durable appends and torn-line tolerance."""

import json

import pytest

from arbnet_keras.experiments import SweepLockedError
from arbnet_keras.experiments import append_result
from arbnet_keras.experiments import read_results
from arbnet_keras.experiments.results import RESULTS_FILE
from arbnet_keras.experiments.results import SweepLock
from arbnet_keras.experiments.results import read_spec
from arbnet_keras.experiments.results import write_spec


def test_append_then_read_round_trip(tmp_path):
    append_result(tmp_path, {"key": "a", "test_accuracy": 0.5})
    append_result(tmp_path, {"key": "b", "test_accuracy": 0.75})
    lines = (tmp_path / RESULTS_FILE).read_text().splitlines()
    assert [json.loads(line)["key"] for line in lines] == ["a", "b"]
    records = read_results(tmp_path)
    assert records == [
        {"key": "a", "test_accuracy": 0.5},
        {"key": "b", "test_accuracy": 0.75},
    ]
    # The file itself may be given too.
    assert read_results(tmp_path / RESULTS_FILE) == records


def test_missing_file_reads_as_empty(tmp_path):
    assert read_results(tmp_path / "nothing") == []


def test_non_finite_floats_are_written_as_null(tmp_path):
    append_result(tmp_path, {"key": "a", "loss": float("nan"), "h": [1.0]})
    text = (tmp_path / RESULTS_FILE).read_text()
    assert "NaN" not in text
    assert read_results(tmp_path) == [{"key": "a", "loss": None, "h": [1.0]}]


def test_truncated_last_line_is_ignored_with_a_warning(tmp_path):
    append_result(tmp_path, {"key": "a", "test_accuracy": 0.5})
    append_result(tmp_path, {"key": "b", "test_accuracy": 0.6})
    path = tmp_path / RESULTS_FILE
    with open(path, "ab") as f:
        f.write(b'{"key": "c", "test_accu')
    with pytest.warns(UserWarning, match="last line 3"):
        records = read_results(tmp_path)
    assert [r["key"] for r in records] == ["a", "b"]

    # The next record starts on a fresh line, never merged with the torn
    # fragment, and is readable.
    append_result(tmp_path, {"key": "c", "test_accuracy": 0.7})
    lines = path.read_bytes().split(b"\n")
    assert lines[2] == b'{"key": "c", "test_accu'
    assert json.loads(lines[3]) == {"key": "c", "test_accuracy": 0.7}
    with pytest.warns(UserWarning, match="Ignoring line 3 "):
        records = read_results(tmp_path)
    assert [r["key"] for r in records] == ["a", "b", "c"]
    assert records[-1]["test_accuracy"] == 0.7


def test_complete_last_record_without_newline_is_kept(tmp_path):
    path = tmp_path / RESULTS_FILE
    path.write_text('{"key": "a"}\n{"key": "b"}')
    assert [r["key"] for r in read_results(tmp_path)] == ["a", "b"]
    append_result(tmp_path, {"key": "c"})
    assert path.read_text() == '{"key": "a"}\n{"key": "b"}\n{"key": "c"}\n'


def test_duplicate_keys_keep_the_first_record(tmp_path):
    append_result(tmp_path, {"key": "a", "v": 1})
    append_result(tmp_path, {"key": "a", "v": 2})
    assert read_results(tmp_path) == [{"key": "a", "v": 1}]
    assert len(read_results(tmp_path, unique=False)) == 2


def test_spec_file_round_trip(tmp_path):
    assert read_spec(tmp_path) is None
    write_spec(tmp_path, {"hash": "uniform", "sparsity": [0.0]})
    assert read_spec(tmp_path) == {"hash": "uniform", "sparsity": [0.0]}
    assert not list(tmp_path.glob("*.tmp"))


def test_lock_excludes_a_second_writer(tmp_path):
    with SweepLock(tmp_path):
        with pytest.raises(SweepLockedError, match="Another sweep"):
            with SweepLock(tmp_path):
                pass
    # Released on exit.
    with SweepLock(tmp_path):
        pass
