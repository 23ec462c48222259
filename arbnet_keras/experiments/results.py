"""The results of a sweep: one JSON record per line, appended durably."""

import json
import math
import os
import pathlib
import warnings

RESULTS_FILE = "results.jsonl"
SPEC_FILE = "sweep.json"
LOCK_FILE = ".lock"


class SweepLockedError(RuntimeError):
    """Another process is running a sweep in the same directory."""


def results_path(path):
    """The results file of a run directory (or the file itself)."""
    path = pathlib.Path(path)
    if path.is_dir() or path.suffix != ".jsonl":
        return path / RESULTS_FILE
    return path


def read_results(path, unique=True):
    """Reads the records of a results file, tolerating a torn last line.

    A sweep killed while writing (Ctrl-C, `kill -9`, power loss) can leave
    a half-written last line. Lines that are not a JSON object are skipped
    with a warning; the records before and after them are kept.

    Args:
        path: A run directory, or its `results.jsonl` file.
        unique: Whether to keep only the first record of each run `key`.
            Defaults to `True`.

    Returns:
        A list of dicts, in file order; empty if the file does not exist.

    Example:

    >>> records = read_results("runs/dirichlet")
    >>> max(r["test_accuracy"] for r in records)
    """
    path = results_path(path)
    if not path.exists():
        return []
    records, seen = [], set()
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            record = None
        if not isinstance(record, dict):
            where = "last line" if number >= len(lines) - 1 else "line"
            warnings.warn(
                f"Ignoring {where} {number} of {path}: it is not a complete "
                "JSON record (probably an interrupted write). That run will "
                "be run again.",
                stacklevel=2,
            )
            continue
        key = record.get("key")
        if unique and key is not None:
            if key in seen:
                continue
            seen.add(key)
        records.append(record)
    return records


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
    """The `sweep.json` of a run directory as a dict, or None."""
    path = pathlib.Path(out_dir) / SPEC_FILE
    if not path.exists():
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


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
