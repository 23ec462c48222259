"""Tests of the results file: durable appends and torn-line tolerance."""

import json
import os
import re
import warnings

import pytest

from arbnet_keras.experiments import SweepLockedError
from arbnet_keras.experiments import append_result
from arbnet_keras.experiments import read_results
from arbnet_keras.experiments.results import RESULTS_FILE
from arbnet_keras.experiments.results import SweepLock
from arbnet_keras.experiments.results import check_out_dir
from arbnet_keras.experiments.results import read_spec
from arbnet_keras.experiments.results import repair_results
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


RECORD = {
    "hash": "uniform",
    "hash_value": None,
    "sparsity": 0.0,
    "seed": 0,
    "test_accuracy": 0.5,
}


def test_repair_moves_torn_lines_aside(tmp_path):
    path = tmp_path / RESULTS_FILE
    a = json.dumps({"key": "a", **RECORD}).encode()
    b = json.dumps({"key": "b", **RECORD}).encode()
    # A fragment left mid-file by an older resume, zero bytes left by a
    # power loss, and a torn last line.
    path.write_bytes(
        a + b'\n{"key": "x", "te\n' + b + b"\n\0\0\0\n" + b'{"key": "c"'
    )
    os.chmod(path, 0o640)
    with pytest.warns(UserWarning):
        assert [r["key"] for r in read_results(tmp_path)] == ["a", "b"]

    assert repair_results(tmp_path) == 3
    assert path.read_bytes() == a + b"\n" + b + b"\n"
    assert (tmp_path / (RESULTS_FILE + ".torn")).read_bytes() == (
        b'{"key": "x", "te\n\0\0\0\n{"key": "c"\n'
    )
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert not list(tmp_path.glob("*.tmp"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [r["key"] for r in read_results(tmp_path)] == ["a", "b"]
    # Nothing left to repair; a missing file needs none.
    assert repair_results(tmp_path) == 0
    assert repair_results(tmp_path / "nothing") == 0


def test_repair_keeps_a_complete_last_record_without_newline(tmp_path):
    path = tmp_path / RESULTS_FILE
    path.write_bytes(b'{"key": "a"}\n{"key": "x", "t\n{"key": "b"}')
    assert repair_results(tmp_path) == 1
    assert path.read_bytes() == b'{"key": "a"}\n{"key": "b"}\n'


@pytest.mark.parametrize(
    "line",
    [
        bytes(range(128, 160)),
        b"[1, 2, 3]",
        b"hello",
        b'"a string"',
        b'{"key": ["not", "a", "string"]}',
    ],
)
def test_lines_that_are_no_records_are_errors(tmp_path, line):
    path = tmp_path / RESULTS_FILE
    content = b'{"key": "a"}\n' + line + b"\n"
    path.write_bytes(content)
    expected = re.escape(f"Line 2 of {path}")
    with pytest.raises(ValueError, match=expected):
        read_results(tmp_path)
    # The repair of a resume refuses too, and changes nothing.
    with pytest.raises(ValueError, match=expected):
        repair_results(tmp_path)
    assert path.read_bytes() == content
    assert not (tmp_path / (RESULTS_FILE + ".torn")).exists()


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"hash": None}, "`hash` is None"),
        ({"sparsity": None}, "`sparsity` is None"),
        ({"seed": 0.5}, "`seed` is 0.5"),
        ({"seed": True}, "`seed` is True"),
        ({"test_accuracy": "high"}, "`test_accuracy` is 'high'"),
        ({"hash": "dirichlet"}, "the dirichlet hash takes `alpha`"),
    ],
)
def test_validate_checks_the_fields_that_are_read(tmp_path, changes, message):
    append_result(tmp_path, {"key": "a", **RECORD})
    append_result(tmp_path, {"key": "b", **RECORD, **changes})
    assert len(read_results(tmp_path)) == 2
    with pytest.raises(ValueError, match="Line 2 of .*" + message):
        read_results(tmp_path, validate=True)


def test_validate_names_missing_fields(tmp_path):
    append_result(tmp_path, {"key": "a", "hash": "uniform"})
    with pytest.raises(ValueError) as info:
        read_results(tmp_path, validate=True)
    assert str(tmp_path / RESULTS_FILE) in str(info.value)
    assert "lacks the fields `hash_value`, `sparsity`, `seed`, " in str(
        info.value
    )
    # A null test accuracy (diverged training) is a valid record.
    (tmp_path / RESULTS_FILE).unlink()
    append_result(tmp_path, {**RECORD, "test_accuracy": float("nan")})
    assert read_results(tmp_path, validate=True)[0]["test_accuracy"] is None


@pytest.mark.parametrize(
    "content, message",
    [
        (b'{"hash": ', "is not valid JSON"),
        (b"\xff\xfe", "is not valid JSON"),
        (b"[1]", "does not hold a sweep spec"),
    ],
)
def test_unreadable_spec_file_is_named(tmp_path, content, message):
    (tmp_path / "sweep.json").write_bytes(content)
    expected = re.escape(f"{tmp_path / 'sweep.json'} {message}")
    with pytest.raises(ValueError, match=expected):
        read_spec(tmp_path)


def test_check_out_dir(tmp_path, monkeypatch):
    check_out_dir(tmp_path)
    check_out_dir(tmp_path / "new" / "deeper")
    assert not (tmp_path / "new").exists()  # Checking creates nothing.
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="`out_dir` must be a directory"):
        check_out_dir(tmp_path / "file")
    with pytest.raises(ValueError, match="`--out` cannot be created: .*file"):
        check_out_dir(tmp_path / "file" / "sub" / "dir", "--out")

    results = tmp_path / RESULTS_FILE
    results.write_text("")
    real_access = os.access

    def access(path, mode, **kwargs):
        if mode & os.W_OK and str(path) == str(results):
            return False
        return real_access(path, mode, **kwargs)

    # Simulated, since root writes through a read-only mode.
    monkeypatch.setattr(os, "access", access)
    with pytest.raises(ValueError, match="not writable: .*results.jsonl"):
        check_out_dir(tmp_path)
