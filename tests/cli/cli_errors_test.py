"""User mistakes on the `arbnet` command line: one line, exit 2, no damage.

Every case prints exactly one line, `arbnet COMMAND: error: ...`, naming
the file or the option, returns 2, and leaves the results files as they
were. Training is replaced by a fast fake wherever a sweep could start.
"""

import errno
import json
import os
import random
import warnings

import pytest

from arbnet_keras import cli
from arbnet_keras import experiments
from arbnet_keras.experiments import runner
from arbnet_keras.experiments.results import RESULTS_FILE
from arbnet_keras.experiments.results import SPEC_FILE

TINY = [
    "--model",
    "hashed_mlp",
    "--hidden-units",
    "8",
    "--table-size",
    "50",
    "--epochs",
    "1",
    "--quiet",
]


@pytest.fixture
def fake_runs(monkeypatch):
    """Replaces training by a fast fake; returns the keys it ran."""
    calls = []

    def fake_run_one(config, data, *, key=None, verbose=0, callbacks=None):
        calls.append(key)
        return {"key": key, **config, "test_accuracy": 0.5}

    monkeypatch.setattr(runner, "run_one", fake_run_one)
    return calls


def record(**changes):
    """A run record with the fields tables, figures and claims read."""
    base = {
        "key": "k0",
        "hash": "dirichlet",
        "hash_param": "alpha",
        "hash_value": 1.0,
        "sparsity": 0.0,
        "seed": 0,
        "test_accuracy": 0.9,
        "dataset": "toy",
        "numbering": "out_in",
        "number_zeros": True,
    }
    base.update(changes)
    return base


def write_results(out, *lines):
    out.mkdir(parents=True, exist_ok=True)
    path = out / RESULTS_FILE
    path.write_bytes(
        b"".join(
            (json.dumps(line).encode() if isinstance(line, dict) else line)
            + b"\n"
            for line in lines
        )
    )
    return path


def snapshot(directory):
    """The bytes of every file under `directory`, but the sweep lock."""
    if not directory.exists():
        return None
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != ".lock"
    }


def user_error(capsys, code, command):
    """The one error line of a user mistake; checks its form."""
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"arbnet {command}: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    "command, args",
    [
        ("sweep uniform", ["sweep", "uniform", *TINY, "--out"]),
        ("reproduce", ["reproduce", "--quick", "--epochs", "1", "--out"]),
        ("aliasing", ["aliasing", "--table-size", "100", "--out"]),
    ],
)
def test_out_under_a_regular_file(tmp_path, capsys, fake_runs, command, args):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    before = snapshot(tmp_path)
    line = user_error(capsys, cli.main(args + [str(blocker / "sub")]), command)
    assert repr(str(blocker)) in line
    assert "is a file" in line
    assert snapshot(tmp_path) == before
    assert fake_runs == []


def test_plot_of_a_regular_file(tmp_path, capsys):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    line = user_error(capsys, cli.main(["plot", str(path)]), "plot")
    assert str(path) in line and "is a file" in line


READ_ONLY_COMMANDS = [
    ("sweep uniform", ["sweep", "uniform", *TINY, "--out"]),
    ("plot", ["plot"]),
    ("aliasing", ["aliasing", "--table-size", "100", "--out"]),
]


def chmod_blocks_writes(directory):
    """Whether a mode of 0o555 stops this process writing (not as root)."""
    probe = directory / "probe"
    probe.mkdir()
    os.chmod(probe, 0o555)
    try:
        (probe / "file").write_text("")
    except PermissionError:
        return True
    finally:
        os.chmod(probe, 0o755)
    return False


@pytest.mark.parametrize("command, args", READ_ONLY_COMMANDS)
def test_read_only_out(tmp_path, capsys, fake_runs, command, args):
    if not chmod_blocks_writes(tmp_path):
        pytest.skip(
            "this process writes through a read-only mode (root); "
            "test_read_only_out_simulated covers the case"
        )
    out = tmp_path / "sweep"
    write_results(out, record())
    before = snapshot(out)
    os.chmod(out, 0o555)
    try:
        line = user_error(capsys, cli.main(args + [str(out)]), command)
    finally:
        os.chmod(out, 0o755)
    assert "not writable" in line and repr(str(out)) in line
    assert snapshot(out) == before
    assert fake_runs == []


@pytest.mark.parametrize("command, args", READ_ONLY_COMMANDS)
def test_read_only_out_simulated(
    tmp_path, capsys, fake_runs, monkeypatch, command, args
):
    # As root a mode of 0o555 does not stop writes, so the permission
    # check is answered as it would be for another user.
    out = tmp_path / "sweep"
    write_results(out, record())
    before = snapshot(out)
    real_access = os.access

    def access(path, mode, **kwargs):
        if mode & os.W_OK and str(path).startswith(str(out)):
            return False
        return real_access(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", access)
    line = user_error(capsys, cli.main(args + [str(out)]), command)
    assert "not writable" in line and repr(str(out)) in line
    assert snapshot(out) == before
    assert fake_runs == []


@pytest.mark.parametrize(
    "error, expected",
    [
        (
            PermissionError(
                errno.EACCES, "Permission denied", "runs/x/results.jsonl"
            ),
            "Permission denied: 'runs/x/results.jsonl'",
        ),
        (
            IsADirectoryError(errno.EISDIR, "Is a directory", "runs/x"),
            "Is a directory: 'runs/x'",
        ),
        (ValueError("two\nlines"), "two lines"),
    ],
)
def test_errors_are_one_line(monkeypatch, capsys, error, expected):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(experiments, "plot_results", fail)
    line = user_error(capsys, cli.main(["plot", "runs/x"]), "plot")
    assert line == f"arbnet plot: error: {expected}"
    with pytest.raises(type(error)):
        cli.main(["--traceback", "plot", "runs/x"])


def test_real_bugs_keep_their_traceback(monkeypatch):
    def fail(*args, **kwargs):
        raise TypeError("a bug")

    monkeypatch.setattr(experiments, "plot_results", fail)
    with pytest.raises(TypeError, match="a bug"):
        cli.main(["plot", "runs/x"])


BAD_RECORDS = [
    ({"key": "a"}, "lacks the fields `hash`, `hash_value`, `sparsity`"),
    (record(key="a", sparsity="half"), "`sparsity` is 'half'"),
    (
        record(key="a", hash="neighborhood", hash_value=None),
        "`hash_value` is None, but the neighborhood hash takes `radius`",
    ),
    (record(key="a", test_accuracy="0.9"), "`test_accuracy` is '0.9'"),
    ({"key": ["a"]}, "`key` must be a string"),
]


@pytest.mark.parametrize("command", ["plot", "table", "claims"])
@pytest.mark.parametrize("bad, message", BAD_RECORDS)
def test_results_line_without_its_fields(
    tmp_path, capsys, command, bad, message
):
    out = tmp_path / "sweep"
    path = write_results(out, record(), bad)
    before = snapshot(out)
    line = user_error(capsys, cli.main([command, str(out)]), command)
    assert f"Line 2 of {path}" in line
    assert message in line
    assert snapshot(out) == before


@pytest.mark.parametrize(
    "command",
    [["plot"], ["table"], ["sweep", "uniform", *TINY, "--out"]],
)
@pytest.mark.parametrize(
    "content, message",
    [
        (b'{"hash": \n', "is not valid JSON"),
        (bytes(range(128, 256)), "is not valid JSON"),
        (b"[1, 2]\n", "does not hold a sweep spec"),
    ],
)
def test_corrupt_sweep_json(
    tmp_path, capsys, fake_runs, command, content, message
):
    out = tmp_path / "sweep"
    write_results(out, record())
    (out / SPEC_FILE).write_bytes(content)
    before = snapshot(out)
    line = user_error(
        capsys, cli.main(command + [str(out)]), " ".join(command[:2])
    )
    assert f"{out / SPEC_FILE} {message}" in line
    assert snapshot(out) == before
    assert fake_runs == []


@pytest.mark.parametrize(
    "command",
    [["plot"], ["table"], ["claims"], ["sweep", "uniform", *TINY, "--out"]],
)
def test_results_file_of_random_bytes(tmp_path, capsys, fake_runs, command):
    out = tmp_path / "sweep"
    out.mkdir()
    rng = random.Random(0)
    path = out / RESULTS_FILE
    path.write_bytes(bytes(rng.randrange(256) for _ in range(3000)))
    before = snapshot(out)
    line = user_error(
        capsys, cli.main(command + [str(out)]), " ".join(command[:2])
    )
    assert f"Line 1 of {path} is not a JSON record" in line
    assert snapshot(out) == before  # No results.md, nothing appended.
    assert fake_runs == []


def test_neighborhood_radius_too_large_writes_nothing(
    tmp_path, capsys, fake_runs
):
    out = tmp_path / "sweep"
    args = ["sweep", "neighborhood", *TINY, "--radius"]
    line = user_error(
        capsys,
        cli.main(args + ["100000000000000000000", "--out", str(out)]),
        "sweep neighborhood",
    )
    assert "`radius`" in line
    assert "Received: radius=100000000000000000000" in line
    assert not out.exists()

    # Nor is an existing sweep touched.
    assert cli.main(args + ["1", "--out", str(out)]) == 0
    capsys.readouterr()
    before = snapshot(out)
    code = cli.main(args + ["1", "2" + "0" * 20, "--out", str(out)])
    user_error(capsys, code, "sweep neighborhood")
    assert snapshot(out) == before
    assert len(fake_runs) == 1


def test_model_that_cannot_be_built_writes_no_results(
    tmp_path, capsys, fake_runs
):
    out = tmp_path / "sweep"
    args = ["sweep", "uniform", *TINY, "--out", str(out)]
    code = cli.main(args + ["--table-size", str(10**20)])
    user_error(capsys, code, "sweep uniform")
    assert not (out / SPEC_FILE).exists()
    assert not (out / RESULTS_FILE).exists()
    assert fake_runs == []


def test_resume_repairs_a_torn_line(tmp_path, capsys, fake_runs):
    out = tmp_path / "sweep"
    args = ["sweep", "uniform", *TINY, "--sparsity", "0", "0.5"]
    args += ["--out", str(out)]
    assert cli.main(args + ["--max-runs", "1"]) == 0
    path = out / RESULTS_FILE
    first = path.read_bytes()
    path.write_bytes(first + b'{"key": "cut short by a po')
    capsys.readouterr()

    # Before the resume, reads warn, in one line.
    assert cli.main(["table", str(out)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith("arbnet table: warning: Ignoring last line 2")

    assert cli.main(args) == 0
    captured = capsys.readouterr()
    assert "Moved 1 torn line" in captured.out
    assert captured.err == ""
    assert len(fake_runs) == 2
    assert path.read_bytes().startswith(first)
    assert (out / (RESULTS_FILE + ".torn")).read_bytes() == (
        b'{"key": "cut short by a po\n'
    )
    # After it, nothing warns any more.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(experiments.read_results(out)) == 2
    assert cli.main(["table", str(out)]) == 0
    assert capsys.readouterr().err == ""


def test_claims_on_a_single_run_is_undecided(tmp_path, capsys):
    write_results(tmp_path, record())
    assert cli.main(["claims", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| accuracy rises with alpha at every sparsity | undecided |" in out
    assert "fewer than 2 distinct alpha values (1 run)" in out
    assert "not supported" not in out


def test_runs_without_test_accuracy_are_not_counted(tmp_path, capsys):
    lines = [
        record(
            key=f"{alpha}-{seed}",
            hash_value=alpha,
            seed=seed,
            test_accuracy=0.5 + alpha / 10 + seed / 100,
        )
        for alpha in (0.1, 1.0)
        for seed in (0, 1)
    ]
    # A diverged run at the largest alpha: no test accuracy.
    lines.append(record(key="x", hash_value=10.0, test_accuracy=None))
    write_results(tmp_path, *lines)

    assert cli.main(["claims", str(tmp_path)]) == 0
    claims = capsys.readouterr().out
    (row,) = [line for line in claims.splitlines() if line[:8] == "| alpha "]
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[2] == "4 (1 without accuracy left out)"
    assert cells[8] == "1"  # The best value, not the diverged 10.

    assert cli.main(["table", str(tmp_path)]) == 0
    table = capsys.readouterr().out
    assert "1 run has no test accuracy" in table
    assert "| 10 | n/a |" in table
    assert "| dirichlet | 10 | 0 | 0 | n/a |" in table
