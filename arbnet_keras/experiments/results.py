"""The results of a sweep: one JSON record per line, appended durably."""

import json
import math
import numbers
import os
import pathlib
import shutil
import warnings

from arbnet_keras.experiments.config import HASH_PARAMETERS

RESULTS_FILE = "results.jsonl"
SPEC_FILE = "sweep.json"
LOCK_FILE = ".lock"
# Torn lines moved out of the results file by `repair_results` go to
# `results.jsonl.torn`.
TORN_SUFFIX = ".torn"

# Fields of a run record that tables, figures and claims read: their types
# and whether they may be null (`test_accuracy` is null when training
# diverged; `hash_value` for hashes without a parameter).
RECORD_FIELDS = {
    "hash": ((str,), False),
    "hash_value": ((numbers.Real,), True),
    "sparsity": ((numbers.Real,), False),
    "seed": ((numbers.Integral,), False),
    "test_accuracy": ((numbers.Real,), True),
}


class SweepLockedError(RuntimeError):
    """Another process is running a sweep in the same directory."""


def results_path(path):
    """The results file of a run directory (or the file itself)."""
    path = pathlib.Path(path)
    if path.is_dir() or path.suffix != ".jsonl":
        return path / RESULTS_FILE
    return path


def read_results(path, unique=True, validate=False):
    """Reads the records of a results file, tolerating torn lines.

    A sweep killed while writing (Ctrl-C, `kill -9`, power loss) can leave
    a half-written last line. Such torn lines (the start of a JSON record,
    or the zero bytes a file system can leave after a power loss) are
    skipped with a warning; the records before and after them are kept,
    and `run_sweep` moves them aside when it resumes (`repair_results`).
    Any other line that is not a JSON object means the file is not a
    results file, or is damaged, and raises an error.

    Args:
        path: A run directory, or its `results.jsonl` file.
        unique: Whether to keep only the first record of each run `key`.
            Defaults to `True`.
        validate: Whether to check that every record has the fields that
            tables, figures and claims read (`RECORD_FIELDS`) with values
            of the right type. Defaults to `False`.

    Returns:
        A list of dicts, in file order; empty if the file does not exist.

    Raises:
        ValueError: If a line is neither a JSON record nor a torn one, or,
            with `validate`, if a record lacks a field or has a value of
            the wrong type. The message names the file and the line.

    Example:

    >>> records = read_results("runs/dirichlet")
    >>> max(r["test_accuracy"] for r in records)
    """
    path = results_path(path)
    if not path.exists():
        return []
    lines, count = _parse_lines(path)
    records, seen = [], set()
    for number, line, record in lines:
        if record is None:
            where = "last line" if number >= count - 1 else "line"
            warnings.warn(
                f"Ignoring {where} {number} of {path}: it is not a complete "
                "JSON record (probably an interrupted write). That run will "
                "be run again.",
                stacklevel=2,
            )
            continue
        if validate:
            problems = _record_problems(record)
            if problems:
                raise ValueError(
                    f"Line {number} of {path} is not a record of a run: "
                    f"{'; '.join(problems)}. Received: {_preview(line)}"
                )
        key = record.get("key")
        if unique and key is not None:
            if key in seen:
                continue
            seen.add(key)
        records.append(record)
    return records


def repair_results(path):
    """Moves the torn lines of a results file aside, into a sidecar file.

    `run_sweep` calls it, under the sweep's lock, before it resumes, so
    that a record cut short by a crash does not stay in the file and
    every later read does not warn about it again. The torn lines are
    appended to `results.jsonl.torn` next to the file and synced; then the
    results file is replaced, atomically, by a copy that holds every
    complete record, byte for byte and in order. A crash at any moment
    leaves both files whole: at worst a torn line is in both, and is moved
    (again) by the next repair.

    Args:
        path: A run directory, or its `results.jsonl` file.

    Returns:
        The number of torn lines moved.

    Raises:
        ValueError: If a line is neither a JSON record nor a torn one (see
            `read_results`); the file is left unchanged.
    """
    path = results_path(path)
    if not path.exists():
        return 0
    lines, _ = _parse_lines(path)
    torn = [line for _, line, record in lines if record is None]
    if not torn:
        return 0
    sidecar = path.with_name(path.name + TORN_SUFFIX)
    created = not sidecar.exists()
    with open(sidecar, "ab") as f:
        f.write(b"".join(line + b"\n" for line in torn))
        f.flush()
        os.fsync(f.fileno())
    if created:
        _fsync_dir(sidecar.parent)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(
            b"".join(
                line + b"\n" for _, line, record in lines if record is not None
            )
        )
        f.flush()
        os.fsync(f.fileno())
    shutil.copymode(path, tmp)
    os.replace(tmp, path)
    _fsync_dir(path.parent)
    return len(torn)


def check_out_dir(out_dir, name="out_dir"):
    """Checks that `out_dir` is, or can be created as, a writable directory.

    Called before anything is written, so that a bad output path fails
    at once, not after the first run has trained.

    Args:
        out_dir: The directory.
        name: The argument or option named in the error. Defaults to
            `"out_dir"`.

    Raises:
        ValueError: If `out_dir` or one of its parents is a file, or if
            the directory (or its nearest existing parent, or a results
            file in it) cannot be written.
    """
    path = pathlib.Path(out_dir)
    received = f"Received: {name}={str(path)!r}"
    if path.exists() and not path.is_dir():
        raise ValueError(
            f"`{name}` must be a directory. {received}, which is a file"
        )
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise ValueError(
            f"`{name}` cannot be created: {str(existing)!r} is a file, not "
            f"a directory. {received}"
        )
    unwritable = None
    if not os.access(existing, os.W_OK | os.X_OK):
        unwritable = existing
    elif existing == path:
        results = path / RESULTS_FILE
        if results.exists() and not os.access(results, os.W_OK):
            unwritable = results
    if unwritable is not None:
        raise ValueError(
            f"`{name}` is not writable: permission denied on "
            f"{str(unwritable)!r}. {received}"
        )


def append_result(path, record):
    """Appends one record as a line, flushed and fsynced to disk.

    If the file does not end with a newline (a torn write), a newline is
    written first, so the new record never merges with the fragment.

    Args:
        path: A run directory, or its `results.jsonl` file.
        record: A JSON-serializable dict. Non-finite floats are written as
            `null`.
    """
    path = results_path(path)
    line = json.dumps(_finite(record), allow_nan=False) + "\n"
    created = not path.exists()
    with open(path, "ab+") as f:
        f.seek(0, os.SEEK_END)
        if f.tell() > 0:
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                line = "\n" + line
        f.write(line.encode("utf-8"))
        f.flush()
        os.fsync(f.fileno())
    if created:
        _fsync_dir(path.parent)


def read_spec(out_dir):
    """The `sweep.json` of a run directory as a dict, or None.

    Raises:
        ValueError: If the file is not a JSON object; the message names it.
    """
    path = pathlib.Path(out_dir) / SPEC_FILE
    if not path.exists():
        return None
    with open(path, "rb") as f:
        data = f.read()
    try:
        spec = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(
            f"{path} is not valid JSON ({error}). Received: {_preview(data)}"
        ) from None
    if not isinstance(spec, dict):
        raise ValueError(
            f"{path} does not hold a sweep spec (a JSON object). Received: "
            f"{_preview(data)}"
        )
    return spec


def write_spec(out_dir, spec_dict):
    """Writes `sweep.json` atomically (a temporary file, then a rename)."""
    out_dir = pathlib.Path(out_dir)
    tmp = out_dir / (SPEC_FILE + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(spec_dict, f, indent=2, sort_keys=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, out_dir / SPEC_FILE)
    _fsync_dir(out_dir)


class SweepLock:
    """An exclusive lock on a run directory, held while a sweep writes.

    Uses `fcntl.flock`, which the operating system releases when the
    process dies, even by `kill -9`, so a crashed sweep never leaves a
    stale lock. Where `fcntl` is missing (Windows) there is no lock, and
    only one sweep may write to a directory at a time.
    """

    def __init__(self, out_dir):
        self.path = pathlib.Path(out_dir) / LOCK_FILE
        self._file = None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows.
            return self
        self._file = open(self.path, "a")
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._file.close()
            self._file = None
            raise SweepLockedError(
                f"Another sweep is already writing to {self.path.parent} "
                "(its lock is held). Wait for it to finish, or use another "
                "output directory."
            ) from None
        return self

    def __exit__(self, *exc_info):
        if self._file is not None:
            self._file.close()
            self._file = None


def _parse_lines(path):
    """`(number, line, record or None if torn)` per non-blank line."""
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    parsed = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            record = None
        if isinstance(record, dict):
            key = record.get("key")
            if key is not None and not isinstance(key, str):
                raise ValueError(
                    f"Line {number} of {path} is not a record of a run: "
                    f"its `key` must be a string. Received: {_preview(line)}"
                )
        elif not _is_torn(line):
            raise ValueError(
                f"Line {number} of {path} is not a JSON record: the file is "
                "not a results file of `arbnet sweep`, or it is damaged. "
                f"Received: {_preview(line)}"
            )
        parsed.append((number, line, record))
    return parsed, len(lines)


def _is_torn(line):
    """Whether a line that is no JSON record can be one cut short."""
    if not line.strip(b"\x00 \t\r"):
        # Zero bytes: a power loss can leave a file extended with them.
        return True
    # Records are written as ASCII (`json.dumps` escapes the rest).
    return line.lstrip().startswith(b"{") and line.isascii()


def _record_problems(record):
    problems = []
    missing = [name for name in RECORD_FIELDS if name not in record]
    if missing:
        problems.append(
            "it lacks the field"
            + ("s " if len(missing) > 1 else " ")
            + ", ".join(f"`{name}`" for name in missing)
        )
    for name, (kinds, nullable) in RECORD_FIELDS.items():
        value = record.get(name)
        if name not in record or (value is None and nullable):
            continue
        if isinstance(value, bool) or not isinstance(value, kinds):
            problems.append(f"`{name}` is {value!r}")
    hash_name = record.get("hash")
    if (
        HASH_PARAMETERS.get(hash_name) is not None
        and "hash_value" in record
        and record["hash_value"] is None
    ):
        problems.append(
            f"`hash_value` is None, but the {hash_name} hash takes "
            f"`{HASH_PARAMETERS[hash_name]}`"
        )
    return problems


def _preview(data, size=40):
    text = repr(data[:size])
    return text + "..." if len(data) > size else text


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds.
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
