"""One sweep, many workers: a KerasTuner chief hands out the runs.

`run_sweep` runs a sweep in one process, which holds the directory's lock
from start to end. To share a sweep between processes or machines,
`serve_sweep` runs KerasTuner's distributed chief (its gRPC servicer,
through `arbnet_keras.tuning.serve_chief`) over an oracle whose one
hyperparameter, `run`, is a `Choice` of the run keys not yet recorded,
and `run_sweep_worker` runs a KerasTuner worker that asks the chief for
runs, trains each with `run_one` and appends its record to the shared
`results.jsonl`, until the chief has none left.

`results.jsonl` stays the one source of truth:

- the chief hands out only the runs that are not recorded when it starts
  (a restarted chief, or one started on a directory that earlier
  single-process sweeps filled, never hands out a recorded run);
- a worker that is handed a run already recorded (by another worker, or
  by a process of an earlier chief) reports the recorded test accuracy
  without training;
- a worker appends a record under a short-held lock, `.append.lock`, and
  only if no record of that run is there yet, so every run is recorded
  once even if two workers trained it (see the lease below).

Locks (`fcntl.flock`, released by the operating system when a process
dies; none on Windows, as `SweepLock`): the chief holds `.serve.lock`
exclusively (one chief per directory) and the sweep lock `.lock`
shared, and each worker holds `.lock` shared while it runs a run. A
single-process `run_sweep` takes `.lock` exclusively, so it is refused
while a chief serves the directory or a worker is in the middle of a
run, and while it runs a chief is refused and a worker stops.

Workers that die: each worker sends, while it runs a run, a heartbeat
naming its trial every `heartbeat_interval` seconds. A running trial that
the chief has not heard of for `lease` seconds is handed to the next
worker that asks for one (the dead worker's id is forgotten, so the chief
does not wait for it at the end). A worker restarted with the same
`worker_id` before then gets its trial back (KerasTuner's chief gives a
worker its unfinished trial). A worker that was only slow and reports
after its lease ran out costs a second training, not a second record.
If every worker dies, the chief gives up after `timeout` seconds without
news (`ChiefTimeoutError`); the runs recorded stay recorded, and serving
the same sweep again hands out the others.

Why not KerasTuner's `GridSearch` oracle, whose search is a sweep: over
one `Choice`, its next trial is made from the trial that holds the last
value handed out, and only once that trial has ended, so after the first
two trials the workers take turns (a third worker is told to wait at the
start, and a worker that finishes waits for the one holding the last
value). `serve_sweep`'s oracle hands the values out in the spec's order,
one per request, and lets the others wait only at the end.

Example (a chief and two workers, each its own process, on one machine;
on several, give the chief an address the workers reach, and the
workers the shared directory):

>>> # Process 1, the chief (`port=0` would pick a free port, printed and
>>> # passed to `on_listen`):
>>> spec = SweepSpec("dirichlet", alpha=[0.01, 1], seeds=2, epochs=2)
>>> report = serve_sweep(spec, "runs/shared", port=8000, min_workers=2)
>>> # Processes 2 and 3, the workers:
>>> run_sweep_worker("runs/shared", "127.0.0.1:8000", worker_id="w1")
>>> run_sweep_worker("runs/shared", "127.0.0.1:8000", worker_id="w2")

The command line: `arbnet sweep dirichlet ... --out runs/shared --serve
--workers 2` and `arbnet sweep-worker runs/shared --chief 127.0.0.1:8000`
(see docs/distributed.md).
"""

import contextlib
import functools
import math
import numbers
import os
import pathlib
import re
import shutil
import tempfile
import threading
import time
import traceback
import warnings

from arbnet_keras.experiments import runner
from arbnet_keras.experiments.config import run_key
from arbnet_keras.experiments.expansion import spec_from_dict
from arbnet_keras.experiments.results import LOCK_FILE
from arbnet_keras.experiments.results import SPEC_FILE
from arbnet_keras.experiments.results import TORN_SUFFIX
from arbnet_keras.experiments.results import SweepLockedError
from arbnet_keras.experiments.results import append_result
from arbnet_keras.experiments.results import check_out_dir
from arbnet_keras.experiments.results import read_results
from arbnet_keras.experiments.results import read_spec
from arbnet_keras.experiments.results import repair_results
from arbnet_keras.experiments.results import results_path
from arbnet_keras.experiments.results import write_spec
from arbnet_keras.tuning import distributed
from arbnet_keras.tuning.dependencies import import_keras_tuner

# The oracle's one hyperparameter: the key of the run to do.
RUN_HP = "run"
# The trial's score: the run's test accuracy (0 for a diverged run,
# whose record holds null).
OBJECTIVE = "test_accuracy"
# A second metric of each trial: 1 if its worker trained the run, 0 if it
# found the run recorded.
TRAINED_METRIC = "trained"
APPEND_LOCK_FILE = ".append.lock"
SERVE_LOCK_FILE = ".serve.lock"
DEFAULT_LEASE = 60.0
# Seconds a worker waits before asking again when every run is taken.
_IDLE_POLL = 1.0
_ENV_NAMES = (
    "KERASTUNER_TUNER_ID",
    "KERASTUNER_ORACLE_IP",
    "KERASTUNER_ORACLE_PORT",
)


def serve_sweep(
    spec,
    out_dir,
    *,
    ip=distributed.DEFAULT_IP,
    port=distributed.DEFAULT_PORT,
    min_workers=1,
    timeout=distributed.DEFAULT_TIMEOUT,
    lease=DEFAULT_LEASE,
    force=False,
    data_dir=None,
    poll_interval=0.5,
    print_fn=print,
    on_listen=None,
):
    """Serves the runs of a sweep not yet recorded to workers, until done.

    Writes the spec to `<out_dir>/sweep.json` (a directory that holds
    another sweep is refused unless `force`, as `run_sweep` does), then
    runs a KerasTuner chief whose trials are the runs not in
    `results.jsonl`, and returns when every one has ended. Workers
    (`run_sweep_worker`, `arbnet sweep-worker`) do the runs and write the
    records; the chief trains nothing and loads no data (but for an
    `ExpansionSpec` not yet resolved, whose baselines' widths need the
    data's shape).

    Args:
        spec: A sweep spec (`SweepSpec`, `ExpansionSpec`, or any kind
            `spec_from_dict` reads), or `None` to serve the spec already
            in `<out_dir>/sweep.json`.
        out_dir: Directory of the results, shared with the workers;
            created if needed.
        ip: Address to listen on (`"0.0.0.0"`: every interface).
            Defaults to `"127.0.0.1"`.
        port: Port to listen on; `0` picks a free one, which the first
            line printed and `on_listen` report. Defaults to `8000`.
        min_workers: Workers that must ask for a run before the first is
            handed out. Defaults to `1`.
        timeout: Seconds without news of any worker after which the chief
            gives up; also the longest wait for `min_workers` workers.
            Defaults to `600`.
        lease: Seconds a running trial may go without a heartbeat of its
            worker before it is handed to another worker. Keep it well
            above the workers' `heartbeat_interval`. Defaults to `60`.
        force: Whether to serve in a directory whose `sweep.json` holds a
            different spec (replaced; the records there are kept, and the
            runs the two specs share are not run again). Defaults to
            `False`.
        data_dir: Data directory of tensorflow-datasets data sets.
            Defaults to `None`.
        poll_interval: Seconds between the chief's checks of the search's
            state. Defaults to `0.5`.
        print_fn: Function that prints progress lines, or `None`.
            Defaults to `print`.
        on_listen: Function called with the port once the chief answers
            requests (for instance to start workers), before it starts
            counting `timeout`. Defaults to `None`.

    Returns:
        A dict: `out_dir`; `total` (runs of the spec); `recorded_before`
        (runs recorded when the chief started); `served` (the others,
        handed out); `runs` (for each served run key: `trial_id`,
        `worker` (the worker that last took it), `status` (KerasTuner's:
        `"COMPLETED"`, or `"FAILED"` when its worker raised), `trained`
        (whether that worker trained it, or found it recorded) and
        `test_accuracy`); `workers` (the ids of the workers that asked for
        runs); `ends` (run key to the number of reports received: 1 each
        in a clean sweep); `reassigned` (keys of the runs handed to
        another worker after their lease ran out).

    Raises:
        ValueError: On an invalid argument, if `out_dir` cannot be
            written, if its results file is damaged, or if it holds a
            different sweep and `force` is false.
        SweepLockedError: If another chief serves `out_dir`, or a
            single-process sweep is writing there.
        ChiefTimeoutError: If fewer than `min_workers` workers came, or
            no worker gave news, within `timeout` seconds. Every finished
            run is recorded; serve again to hand out the others.
        RuntimeError: If the chief cannot listen on `ip:port`, or if
            three runs in a row failed on their workers.
        ImportError: If keras-tuner is missing.

    Example:

    >>> spec = SweepSpec("dirichlet", alpha=[0.01, 1], epochs=2)
    >>> report = serve_sweep(spec, "runs/shared", port=0, min_workers=2)
    >>> sorted(run["worker"] for run in report["runs"].values())
    ['w1', 'w1', 'w2', 'w2']
    """
    _check_seconds("lease", lease)
    _check_seconds("timeout", timeout)
    _check_seconds("poll_interval", poll_interval)
    if (
        isinstance(min_workers, bool)
        or not isinstance(min_workers, int)
        or min_workers < 1
    ):
        raise ValueError(
            "`min_workers` must be a positive integer. Received: "
            f"min_workers={min_workers!r}"
        )
    distributed.distributed_env("chief", ip, port)  # Checks `ip`, `port`.
    import_keras_tuner()
    out_dir = pathlib.Path(out_dir)
    check_out_dir(out_dir)
    if spec is None:
        spec = _read_sweep(out_dir)
    echo = print_fn or _ignore
    data_cache = {}
    spec = runner._resolve_model(spec, data_cache, data_dir)
    runner._check_existing_spec(spec, out_dir, force)
    out_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as locks:
        locks.enter_context(
            _FileLock(
                out_dir / SERVE_LOCK_FILE,
                message=f"Another chief is already serving the sweep in "
                f"{out_dir} (it holds {SERVE_LOCK_FILE}). Stop it first, or "
                "use another output directory.",
            )
        )
        locks.enter_context(
            _FileLock(
                out_dir / LOCK_FILE,
                shared=True,
                message=f"A single-process sweep (`arbnet sweep` without "
                f"--serve) is writing to {out_dir} (it holds its lock). Wait "
                "for it to finish, or stop it, before serving the sweep.",
            )
        )
        with _append_lock(out_dir):
            moved = repair_results(out_dir)
            done = {record.get("key") for record in read_results(out_dir)}
            write_spec(out_dir, spec.to_dict())
        runs = [(run_key(config), config) for config in spec.runs()]
        pending = [(key, config) for key, config in runs if key not in done]
        echo(f"Sweep: {spec.describe()}")
        if moved:
            echo(
                f"Moved {moved} torn line(s) (interrupted writes) of "
                f"{results_path(out_dir)} to {results_path(out_dir)}"
                f"{TORN_SUFFIX}."
            )
        report = {
            "out_dir": str(out_dir),
            "total": len(runs),
            "recorded_before": len(runs) - len(pending),
            "served": len(pending),
            "runs": {},
            "workers": [],
            "ends": {},
            "reassigned": [],
        }
        if not pending:
            echo(
                f"All {len(runs)} runs are recorded in "
                f"{results_path(out_dir)}; nothing to serve."
            )
            return report
        echo(
            f"Serving {len(pending)} of {len(runs)} runs to workers "
            f"({len(runs) - len(pending)} already recorded)."
        )
        labels = {
            key: runner.run_label(config, spec) for key, config in pending
        }
        classes = _classes()
        oracle = classes.oracle(
            keys=[key for key, _ in pending],
            lease=lease,
            labels=labels,
            print_fn=echo,
        )
        project = tempfile.mkdtemp(prefix="arbnet-sweep-chief-")
        try:
            with _kerastuner_env(None):
                tuner = classes.tuner(
                    oracle, directory=project, project_name="c"
                )
            served = distributed.serve_chief(
                tuner,
                ip=ip,
                port=port,
                timeout=timeout,
                min_workers=min_workers,
                poll_interval=poll_interval,
                print_fn=_labelled(echo, oracle, labels),
                on_listen=on_listen,
            )
        except distributed.ChiefTimeoutError:
            if not oracle.start_order:
                raise  # Too few workers came: its message says so.
            raise distributed.ChiefTimeoutError(
                _timeout_message(oracle, out_dir, timeout)
            ) from None
        finally:
            shutil.rmtree(project, ignore_errors=True)
    return _report(report, oracle, served, out_dir, echo)


def run_sweep_worker(
    out_dir,
    chief,
    *,
    worker_id=None,
    timeout=distributed.DEFAULT_TIMEOUT,
    heartbeat_interval=distributed.DEFAULT_HEARTBEAT,
    data_dir=None,
    verbose=0,
    print_fn=print,
):
    """Does the runs a sweep's chief hands out, until it has none left.

    Reads the sweep from `<out_dir>/sweep.json` (written by the chief,
    `serve_sweep`), then asks the chief at `chief` for runs. For each, if
    `results.jsonl` already holds its record the worker reports it;
    otherwise it trains the run (`run_one`) and appends the record
    (under `.append.lock`, unless a record of the run appeared
    meanwhile). Runs one worker per process: it sets KerasTuner's
    environment variables while it runs.

    Args:
        out_dir: The sweep's directory, the one the chief serves (shared
            between machines, for instance over NFS).
        chief: The chief's address, `"HOST:PORT"` (`"[::1]:PORT"` for an
            IPv6 address).
        worker_id: The worker's name, unique among the chief's workers,
            without "chief". Defaults to `None`: from the host name and
            process id.
        timeout: Seconds the worker waits for each answer of the chief,
            including for the chief to start. Defaults to `600`.
        heartbeat_interval: Seconds between heartbeats to the chief.
            Defaults to `10`.
        data_dir: Data directory of tensorflow-datasets data sets.
            Defaults to `None`.
        verbose: Verbosity of `fit`: `0` silent, `1` progress bar, `2` one
            line per epoch. Defaults to `0`.
        print_fn: Function that prints one line per run, or `None`.
            Defaults to `print`.

    Returns:
        A dict: `worker` (its id), `trained` (keys of the runs it trained
        and recorded), `found` (keys of runs it was handed that were
        already recorded), `duplicates` (keys it trained whose record
        another worker wrote first) and `failed` (keys whose training
        raised).

    Raises:
        ValueError: On an invalid argument, if `out_dir` has no readable
            `sweep.json`, or if the chief hands out runs of another sweep.
        ChiefUnreachableError: If the chief did not answer in time.
        SweepLockedError: If a single-process sweep writes to `out_dir`.
        ImportError: If keras-tuner or TensorBoard is missing.

    Example:

    >>> done = run_sweep_worker("runs/shared", "127.0.0.1:8000", worker_id="w1")
    >>> len(done["trained"])
    3
    """
    ip, port = parse_chief_address(chief)
    if worker_id is not None and (
        not isinstance(worker_id, str) or not worker_id or "chief" in worker_id
    ):
        # KerasTuner takes any id containing "chief" for the chief.
        raise ValueError(
            "`worker_id` must be a non-empty string without 'chief'. "
            f"Received: worker_id={worker_id!r}"
        )
    env = distributed.distributed_env("worker", ip, port, worker_id)
    _check_seconds("timeout", timeout)
    _check_seconds("heartbeat_interval", heartbeat_interval)
    if verbose not in (0, 1, 2):
        raise ValueError(
            "Invalid value for argument `verbose`. Expected one of "
            f"(0, 1, 2). Received: verbose={verbose!r}"
        )
    out_dir = pathlib.Path(out_dir)
    if not out_dir.is_dir():
        raise ValueError(
            "`out_dir` must be the directory of a served sweep. Received: "
            f"out_dir={str(out_dir)!r}, which is not a directory"
        )
    check_out_dir(out_dir)
    taker = _RunTaker(out_dir, data_dir, verbose, print_fn or _ignore)
    taker.load_spec()
    classes = _classes()
    project = tempfile.mkdtemp(prefix="arbnet-sweep-worker-")
    try:
        with _kerastuner_env(env):
            tuner = classes.tuner(
                classes.oracle(),
                taker=taker,
                heartbeat_interval=heartbeat_interval,
                directory=project,
                project_name="w",
            )
            distributed.run_worker(
                tuner, timeout=timeout, heartbeat_interval=heartbeat_interval
            )
    finally:
        shutil.rmtree(project, ignore_errors=True)
    return {
        "worker": env["KERASTUNER_TUNER_ID"],
        "trained": list(taker.trained),
        "found": list(taker.found),
        "duplicates": list(taker.duplicates),
        "failed": list(taker.failed),
    }


def parse_chief_address(text):
    """`(ip, port)` of a chief's address `"HOST:PORT"`.

    Raises:
        ValueError: If `text` is not `HOST:PORT` with a port in
            [1, 65535].
    """
    error = ValueError(
        "`chief` must be the chief's address, HOST:PORT (for instance "
        f"127.0.0.1:8000). Received: chief={text!r}"
    )
    if not isinstance(text, str):
        raise error
    host, _, port = text.strip().rpartition(":")
    if not host or not re.fullmatch(r"[0-9]+", port):
        raise error
    if not 1 <= int(port) <= 65535:
        raise error
    return host, int(port)


class _RunTaker:
    """A worker's side of one run: found recorded, or trained and recorded."""

    def __init__(self, out_dir, data_dir, verbose, print_fn):
        self.out_dir = out_dir
        self.data_dir = data_dir
        self.verbose = verbose
        self.print_fn = print_fn
        self.spec = None
        self.configs = {}
        self.trained = []
        self.found = []
        self.duplicates = []
        self.failed = []
        self._data_cache = {}

    def load_spec(self):
        spec = _read_sweep(self.out_dir)
        self.spec = runner._resolve_model(spec, self._data_cache, self.data_dir)
        self.configs = {run_key(config): config for config in spec.runs()}

    def check_keys(self, keys):
        """Raises if the chief serves runs that are not in `sweep.json`."""
        if set(keys) - set(self.configs):
            self.load_spec()  # The chief may have replaced it (`force`).
        unknown = sorted(set(keys) - set(self.configs))
        if unknown:
            from keras_tuner.errors import FatalValueError

            # Fatal: the worker stops instead of failing run after run.
            raise FatalValueError(
                f"The chief hands out runs that are not runs of "
                f"{self.out_dir / SPEC_FILE} ({len(unknown)} of {len(keys)}, "
                f"such as {unknown[0]}): give the worker the directory the "
                f"chief serves. Received: out_dir={str(self.out_dir)!r}"
            )

    def label(self, key):
        config = self.configs.get(key)
        if config is None:
            return key
        return f"{runner.run_label(config, self.spec)} [{key}]"

    def take(self, key):
        """`(test accuracy, trained)` of run `key`, training it if needed."""
        with _FileLock(
            self.out_dir / LOCK_FILE,
            shared=True,
            message=f"A single-process sweep (`arbnet sweep` without "
            f"--serve) is writing to {self.out_dir}, so no worker may "
            "write there until it ends.",
        ):
            with _append_lock(self.out_dir):
                record = self._recorded(key)
            if record is not None:
                self.found.append(key)
                self.print_fn(
                    f"{self.label(key)}: already recorded "
                    f"({runner.summary(record)}); not run again."
                )
                return _score(record), False
            if key not in self.configs:
                self.check_keys([key])
            config = self.configs[key]
            import keras

            try:
                data = runner._data_for(
                    config["seed"], self.spec, self._data_cache, self.data_dir
                )
                record = runner.run_one(
                    config, data, key=key, verbose=self.verbose
                )
            except Exception as error:
                self.failed.append(key)
                self.print_fn(
                    f"{self.label(key)}: failed, "
                    f"{type(error).__name__}: {error}"
                )
                raise
            finally:
                keras.backend.clear_session()
            with _append_lock(self.out_dir):
                first = self._recorded(key)
                if first is None:
                    append_result(self.out_dir, record)
            if first is not None:
                self.duplicates.append(key)
                self.print_fn(
                    f"{self.label(key)}: trained, but another worker "
                    "recorded it first; its record is kept."
                )
                return _score(first), True
            self.trained.append(key)
            self.print_fn(f"{self.label(key)}: {runner.summary(record)}")
            return _score(record), True

    def _recorded(self, key):
        with warnings.catch_warnings():
            # Torn lines are skipped; the next chief moves them aside.
            warnings.simplefilter("ignore")
            records = read_results(self.out_dir)
        for record in records:
            if record.get("key") == key:
                return record
        return None


class _FileLock:
    """`flock` on a file: exclusive or shared, waiting or refused at once.

    Where `fcntl` is missing (Windows) there is no lock, as `SweepLock`.
    """

    def __init__(self, path, *, shared=False, blocking=False, message=None):
        self.path = pathlib.Path(path)
        self.shared = shared
        self.blocking = blocking
        self.message = message
        self._file = None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows.
            return self
        # Readable and writable, as POSIX locks (NFS) want for both kinds.
        self._file = open(self.path, "a+")
        flags = fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX
        if not self.blocking:
            flags |= fcntl.LOCK_NB
        try:
            fcntl.flock(self._file.fileno(), flags)
        except OSError:
            self._file.close()
            self._file = None
            raise SweepLockedError(self.message) from None
        return self

    def __exit__(self, *exc_info):
        if self._file is not None:
            self._file.close()
            self._file = None


def _append_lock(out_dir):
    """Held for a read of the records and an append: milliseconds."""
    return _FileLock(out_dir / APPEND_LOCK_FILE, blocking=True)


@functools.cache
def _classes():
    """The oracle and tuner classes (keras-tuner is imported when needed)."""
    keras_tuner = import_keras_tuner()
    from keras_tuner.engine.base_tuner import BaseTuner
    from keras_tuner.engine.trial import Trial
    from keras_tuner.engine.trial import TrialStatus

    class SweepOracle(keras_tuner.Oracle):
        """Hands out the runs in order; takes runs back from silent workers.

        Scores come with the end of a trial, from the worker that ran its
        key (`update_trial` records nothing), so that a report of a worker
        of an earlier chief never scores another run.
        """

        def __init__(
            self, keys=(), lease=DEFAULT_LEASE, labels=None, print_fn=None
        ):
            space = keras_tuner.HyperParameters()
            if keys:
                space.Choice(RUN_HP, list(keys))
            super().__init__(
                objective=keras_tuner.Objective(OBJECTIVE, "max"),
                hyperparameters=space,
                max_retries_per_trial=0,
                max_consecutive_failed_trials=3,
            )
            self.verbose = 0  # The chief prints its own lines.
            self.lease = lease
            self.labels = dict(labels or {})
            self.print_fn = print_fn or _ignore
            self.reassigned = []
            self._queue = list(keys)
            self._heard = {}

        def populate_space(self, trial_id):
            if self._queue:
                return {
                    "status": TrialStatus.RUNNING,
                    "values": {RUN_HP: self._queue.pop(0)},
                }
            if self.ongoing_trials or self._retry_queue:
                return {"status": TrialStatus.IDLE, "values": None}
            return {"status": TrialStatus.STOPPED, "values": None}

        @keras_tuner.synchronized
        def create_trial(self, tuner_id):
            self._take_back_silent(tuner_id)
            trial = super().create_trial(tuner_id)
            if trial.status == TrialStatus.RUNNING:
                self._heard[trial.trial_id] = time.monotonic()
            return trial

        def get_trial(self, trial_id):
            # The workers' heartbeats.
            trial = self.trials.get(trial_id)
            if trial is None:
                return Trial(
                    self.get_space(),
                    trial_id=trial_id,
                    status=TrialStatus.INVALID,
                )
            if trial_id in self._heard:
                self._heard[trial_id] = time.monotonic()
            return trial

        @keras_tuner.synchronized
        def update_trial(self, trial_id, metrics, step=0):
            return self.get_trial(trial_id)

        @keras_tuner.synchronized
        def end_trial(self, trial):
            stored = self.trials.get(trial.trial_id)
            key = trial.hyperparameters.values.get(RUN_HP)
            if (
                stored is None
                or stored.hyperparameters.values.get(RUN_HP) != key
            ):
                self.print_fn(
                    f"Ignored a report of trial {trial.trial_id} (run {key}): "
                    "not a trial of this chief (from a worker of an earlier "
                    "chief?). Its record, if any, is kept."
                )
                return
            if stored.status != TrialStatus.RUNNING:
                return  # Ended already, by a worker presumed dead.
            if trial.trial_id in self._retry_queue:
                self._retry_queue.remove(trial.trial_id)
            stored.metrics = trial.metrics
            if trial.status == TrialStatus.COMPLETED and not (
                trial.metrics.exists(OBJECTIVE)
            ):
                trial.status = TrialStatus.INVALID
                trial.message = f"The worker reported no `{OBJECTIVE}`."
            self._heard.pop(trial.trial_id, None)
            super().end_trial(trial)

        def _take_back_silent(self, requester):
            now = time.monotonic()
            for tuner_id, trial in list(self.ongoing_trials.items()):
                silence = now - self._heard.get(trial.trial_id, now)
                if tuner_id == requester or silence <= self.lease:
                    continue
                del self.ongoing_trials[tuner_id]
                self.tuner_ids.discard(tuner_id)
                self._retry_queue.append(trial.trial_id)
                self._heard.pop(trial.trial_id, None)
                key = trial.hyperparameters.values.get(RUN_HP)
                self.reassigned.append(key)
                self.print_fn(
                    f"Trial {trial.trial_id} ({self.labels.get(key, key)}): "
                    f"no news of worker {tuner_id} for {silence:.0f} s (lease "
                    f"{self.lease:g} s); handing it to another worker."
                )

    class SweepTuner(BaseTuner):
        """Runs the runs a chief hands out (`_RunTaker`), with heartbeats."""

        def __init__(
            self,
            oracle,
            *,
            taker=None,
            heartbeat_interval=distributed.DEFAULT_HEARTBEAT,
            directory=None,
            project_name=None,
        ):
            super().__init__(
                oracle, directory=directory, project_name=project_name
            )
            self.taker = taker
            self.heartbeat_interval = heartbeat_interval

        def search(self, *fit_args, **fit_kwargs):
            for hp in self.oracle.get_space().space:
                if hp.name == RUN_HP:
                    self.taker.check_keys(hp.values)
            while True:
                trial = self.oracle.create_trial(self.tuner_id)
                if trial.status == TrialStatus.STOPPED:
                    return
                if trial.status == TrialStatus.IDLE:
                    time.sleep(_IDLE_POLL)
                    continue
                try:
                    # The score goes to the chief with `end_trial`.
                    self.run_trial(trial)
                    trial.status = TrialStatus.COMPLETED
                except (keras_tuner.errors.FatalError, SweepLockedError):
                    raise  # The worker stops; its run goes to another.
                except Exception:
                    # `_RunTaker` printed the error in one line; the chief
                    # keeps the traceback as the trial's message.
                    trial.status = TrialStatus.INVALID
                    trial.message = traceback.format_exc()
                self.on_trial_end(trial)

        def run_trial(self, trial, *fit_args, **fit_kwargs):
            key = trial.hyperparameters.values.get(RUN_HP)
            stop = threading.Event()
            beat = threading.Thread(
                target=self._heartbeat,
                args=(trial.trial_id, stop),
                name="arbnet-sweep-trial-heartbeat",
                daemon=True,
            )
            beat.start()
            try:
                score, trained = self.taker.take(key)
            finally:
                stop.set()
            metrics = {OBJECTIVE: score, TRAINED_METRIC: float(trained)}
            for name, value in metrics.items():
                # Sent with `end_trial`, which scores the trial.
                if not trial.metrics.exists(name):
                    trial.metrics.register(name, direction="max")
                trial.metrics.update(name, value)
            return metrics

        def on_trial_end(self, trial):
            key = trial.hyperparameters.values.get(RUN_HP)
            current = self.oracle.get_trial(trial.trial_id)
            if current.hyperparameters.values.get(RUN_HP) != key:
                # The chief was restarted while the run trained: this
                # trial is not its own. The record (if any) is kept.
                self.taker.print_fn(
                    f"{self.taker.label(key)}: not reported, the chief "
                    "was restarted meanwhile."
                )
                return
            super().on_trial_end(trial)

        def _heartbeat(self, trial_id, stop):
            while not stop.wait(self.heartbeat_interval):
                try:
                    self.oracle.get_trial(trial_id)
                except Exception:  # noqa: BLE001, S110
                    pass  # The trial's reports say if the chief is gone.

    return _Classes(SweepOracle, SweepTuner)


class _Classes:
    def __init__(self, oracle, tuner):
        self.oracle = oracle
        self.tuner = tuner


@contextlib.contextmanager
def _kerastuner_env(env):
    """Sets KerasTuner's variables (`None`: removes them), then restores."""
    saved = {name: os.environ.get(name) for name in _ENV_NAMES}
    try:
        for name in _ENV_NAMES:
            os.environ.pop(name, None)
        os.environ.update(env or {})
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _read_sweep(out_dir):
    try:
        data = read_spec(out_dir)
    except OSError as error:
        raise ValueError(
            f"Cannot read {out_dir / SPEC_FILE}: {error}. Received: "
            f"out_dir={str(out_dir)!r}"
        ) from None
    if data is None:
        raise ValueError(
            f"{out_dir / SPEC_FILE} does not exist: start the chief first "
            "(`arbnet sweep ... --serve`, which writes it), and give the "
            f"workers its --out directory. Received: out_dir={str(out_dir)!r}"
        )
    try:
        return spec_from_dict(data)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{out_dir / SPEC_FILE} holds a sweep spec this version cannot "
            f"read: {error}"
        ) from None


def _labelled(print_fn, oracle, labels):
    """`serve_chief`'s lines, with each trial's run named."""

    def show(line):
        match = re.match(r"Trial (\S+) (.*)", line)
        if match:
            trial = oracle.trials.get(match.group(1))
            key = trial.hyperparameters.values.get(RUN_HP) if trial else None
            if key is not None:
                line = (
                    f"Trial {match.group(1)} ({labels.get(key, key)}) "
                    f"{match.group(2)}"
                )
        print_fn(line)

    return show


def _report(report, oracle, served, out_dir, echo):
    by_worker, ends = {}, {}
    for trial_id, trial in oracle.trials.items():
        key = trial.hyperparameters.values.get(RUN_HP)
        worker = served["assignments"].get(trial_id)
        trained = None
        if trial.metrics.exists(TRAINED_METRIC):
            trained = bool(trial.metrics.get_last_value(TRAINED_METRIC))
        report["runs"][key] = {
            "trial_id": trial_id,
            "worker": worker,
            "status": trial.status,
            "trained": trained,
            "test_accuracy": trial.score,
        }
        ends[key] = served["ends"].get(trial_id, 0)
        counts = by_worker.setdefault(worker, [0, 0])
        counts[0 if trained else 1] += trial.status == "COMPLETED"
    report["workers"] = served["workers"]
    report["ends"] = ends
    report["reassigned"] = list(oracle.reassigned)
    failed = sorted(
        key
        for key, run in report["runs"].items()
        if run["status"] != "COMPLETED"
    )
    parts = [
        f"{worker}: {counts[0]} trained"
        + (f", {counts[1]} found recorded" if counts[1] else "")
        for worker, counts in sorted(by_worker.items(), key=str)
    ]
    echo(f"Runs per worker: {'; '.join(parts)}.")
    if failed:
        echo(
            f"{len(failed)} run(s) failed on their workers and are not "
            f"recorded ({', '.join(failed)}); serve the sweep again to "
            "retry them."
        )
    echo(f"Results in {results_path(out_dir)}")
    return report


def _timeout_message(oracle, out_dir, timeout):
    unfinished = sorted(
        trial.hyperparameters.values.get(RUN_HP)
        for trial in oracle.ongoing_trials.values()
    )
    return (
        f"No worker gave news for {timeout:g} s: the workers have probably "
        f"stopped. Runs still running: {', '.join(unfinished) or 'none'}; "
        f"not yet handed out: {len(oracle._queue)}. Every finished run is "
        f"recorded in {results_path(out_dir)}: serve the same sweep again "
        "(and start workers) to hand out the runs not recorded."
    )


def _score(record):
    value = record.get(OBJECTIVE)
    if isinstance(value, numbers.Real) and math.isfinite(value):
        return float(value)
    return 0.0  # A diverged run: its record holds null.


def _check_seconds(name, value):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not value > 0
        or not math.isfinite(value)
    ):
        raise ValueError(
            f"`{name}` must be a positive number of seconds. Received: "
            f"{name}={value!r}"
        )


def _ignore(*args, **kwargs):
    pass
