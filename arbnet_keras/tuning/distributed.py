"""Distributed tuning: KerasTuner's chief oracle and workers, bounded.

KerasTuner distributes a search with a chief, which runs the oracle and
answers workers over gRPC, and workers, which ask the chief for trials,
train them and report back. The role is chosen by environment variables
read when a tuner is created: `KERASTUNER_TUNER_ID` (`"chief"` for the
chief, a unique name for each worker), `KERASTUNER_ORACLE_IP` and
`KERASTUNER_ORACLE_PORT` (the chief's address).

KerasTuner's chief waits for its workers without a limit, and its workers
wait up to an hour for each answer. `serve_chief` and `run_worker` bound
both: the chief gives up with a `ChiefTimeoutError` once no worker has
contacted it for `timeout` seconds (workers of `run_worker` send a
heartbeat while they train), and a worker gives up with a
`ChiefUnreachableError` when the chief does not answer within `timeout`
seconds.
"""

import collections
import os
import threading
import time

from arbnet_keras.tuning.dependencies import check_search_dependencies
from arbnet_keras.tuning.dependencies import import_keras_tuner

ROLES = ("chief", "worker")
CHIEF_ID = "chief"
DEFAULT_IP = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_TIMEOUT = 600.0
DEFAULT_HEARTBEAT = 10.0
# How long the chief holds a worker that asks for a trial before
# `min_workers` workers have asked (so that waiting workers do not spin).
_IDLE_WAIT = 0.25


class ChiefTimeoutError(TimeoutError):
    """The chief of a distributed search stopped waiting for its workers."""


class ChiefUnreachableError(ConnectionError):
    """A worker of a distributed search could not reach its chief."""


def distributed_env(role, ip=DEFAULT_IP, port=DEFAULT_PORT, tuner_id=None):
    """The KerasTuner environment variables of a chief or a worker.

    Args:
        role: `"chief"` or `"worker"`.
        ip: The chief's address. Defaults to `"127.0.0.1"`.
        port: The chief's port. A chief may take `0`, meaning any free
            port: `serve_chief` then reports the port it listens on.
            Defaults to `8000`.
        tuner_id: A worker's name, unique among the workers; ignored for
            the chief (whose name is `"chief"`). Defaults to `None`, which
            names a worker after its host and process id.

    Returns:
        A dict of `KERASTUNER_TUNER_ID`, `KERASTUNER_ORACLE_IP` and
        `KERASTUNER_ORACLE_PORT`, to set (`os.environ.update`) before the
        tuner is created.

    Example:

    >>> distributed_env("worker", port=8001, tuner_id="tuner1")
    {'KERASTUNER_TUNER_ID': 'tuner1', 'KERASTUNER_ORACLE_IP': '127.0.0.1',
    'KERASTUNER_ORACLE_PORT': '8001'}
    """
    if role not in ROLES:
        raise ValueError(
            f"Invalid value for argument `role`. Expected one of {ROLES}. "
            f"Received: role={role!r}"
        )
    if not isinstance(ip, str) or not ip:
        raise ValueError(f"`ip` must be a host address. Received: ip={ip!r}")
    lowest = 0 if role == "chief" else 1
    if isinstance(port, bool) or not isinstance(port, int):
        valid_port = False
    else:
        valid_port = lowest <= port < 65536
    if not valid_port:
        raise ValueError(
            f"`port` must be an integer in [{lowest}, 65535] for a {role}. "
            f"Received: port={port!r}"
        )
    if role == "chief":
        tuner_id = CHIEF_ID
    elif tuner_id is None:
        tuner_id = f"tuner-{os.uname().nodename}-{os.getpid()}"
    elif not isinstance(tuner_id, str) or not tuner_id or "chief" in tuner_id:
        # KerasTuner takes any id containing "chief" for the chief.
        raise ValueError(
            "`tuner_id` must be a non-empty string without 'chief'. "
            f"Received: tuner_id={tuner_id!r}"
        )
    return {
        "KERASTUNER_TUNER_ID": tuner_id,
        "KERASTUNER_ORACLE_IP": ip,
        "KERASTUNER_ORACLE_PORT": str(port),
    }


def serve_chief(
    tuner,
    *,
    ip=None,
    port=None,
    timeout=DEFAULT_TIMEOUT,
    min_workers=1,
    poll_interval=0.5,
    print_fn=print,
    on_listen=None,
):
    """Runs the chief of a distributed search until its trials are done.

    This replaces `tuner.search` on the chief. It serves `tuner.oracle` to
    the workers (KerasTuner's own gRPC servicer), hands out no trial
    before `min_workers` workers have asked for one, and returns once the
    oracle has no trial left and every worker that took a trial has been
    told to stop.

    Args:
        tuner: The chief's tuner (created with `KERASTUNER_TUNER_ID` set to
            `"chief"`, see `distributed_env`).
        ip: Address to listen on. Defaults to `None`, meaning
            `KERASTUNER_ORACLE_IP`.
        port: Port to listen on; `0` picks a free port, which the first
            line printed and `on_listen` report. Defaults to `None`,
            meaning `KERASTUNER_ORACLE_PORT`.
        timeout: Seconds without any request of a worker (heartbeats
            included) after which the chief gives up; also the longest
            wait for `min_workers` workers. Counted from the return of
            `on_listen`. Defaults to `600`.
        min_workers: Number of workers that must ask for a trial before
            the first trial is handed out. Defaults to `1`.
        poll_interval: Seconds between checks of the search's state.
            Defaults to `0.5`.
        print_fn: Function that prints progress lines, or `None`.
            Defaults to `print`.
        on_listen: Function called with the port the chief listens on
            (the one it picked for `port=0`) once it answers requests, and
            before it starts counting `timeout`: for instance to start the
            workers. Defaults to `None`.

    Returns:
        A dict with `assignments` (trial id to the id of the worker that
        last took it), `ends` (trial id to the number of reports the
        chief received for it: 1 for each trial of a clean search) and
        `workers` (the ids of the workers that asked for trials).

    Raises:
        ChiefTimeoutError: If no worker contacted the chief for `timeout`
            seconds while trials were running or left, or fewer than
            `min_workers` workers came within `timeout` seconds. The
            oracle's state is saved in the project directory.
        RuntimeError: If the oracle failed, for instance after too many
            consecutive failed trials.
    """
    import grpc

    servicer_module = _chief_module()
    ip = ip or os.environ.get("KERASTUNER_ORACLE_IP", DEFAULT_IP)
    if port is None:
        port = os.environ.get("KERASTUNER_ORACLE_PORT", DEFAULT_PORT)
    port = int(port)
    if isinstance(timeout, bool) or not _positive(timeout):
        raise ValueError(
            "`timeout` must be a positive number of seconds. Received: "
            f"timeout={timeout!r}"
        )
    if (
        isinstance(min_workers, bool)
        or not isinstance(min_workers, int)
        or min_workers < 1
    ):
        raise ValueError(
            "`min_workers` must be a positive integer. Received: "
            f"min_workers={min_workers!r}"
        )
    print_fn = print_fn or (lambda *args: None)
    oracle = tuner.oracle
    tuner.save()
    servicer = _servicer_class(servicer_module)(oracle, min_workers, print_fn)
    server = grpc.server(
        _thread_pool(),
        interceptors=[_contact_interceptor(servicer)],
        # Without it, a second chief could share the port unnoticed.
        options=[("grpc.so_reuseport", 0)],
    )
    servicer_module.protos.get_service_grpc().add_OracleServicer_to_server(
        servicer, server
    )
    try:
        bound = server.add_insecure_port(f"{ip}:{port}")
    except RuntimeError:
        bound = 0
    if not bound:
        raise RuntimeError(
            f"The chief could not listen on {ip}:{port}: is the port in use? "
            f"Received: ip={ip!r}, port={port!r}"
        )
    address = f"{ip}:{bound}"
    server.start()
    print_fn(
        f"Chief listening on {address}; waiting for {min_workers} "
        f"worker(s) (timeout {timeout:g} s)."
    )
    try:
        if on_listen is not None:
            on_listen(bound)
        start = time.monotonic()
        # A worker that came during `on_listen` counts from now.
        servicer.last_contact = max(servicer.last_contact, start)
        while True:
            time.sleep(poll_interval)
            if servicer.error is not None:
                raise RuntimeError(
                    f"The search failed on the chief: {servicer.error}"
                ) from servicer.error
            if servicer.stop_triggered and servicer_module.exit_chief(oracle):
                break
            now = time.monotonic()
            if len(servicer.workers) < min_workers:
                if now - start > timeout:
                    raise ChiefTimeoutError(
                        f"Only {len(servicer.workers)} of {min_workers} "
                        f"worker(s) asked the chief at {address} for trials "
                        f"within {timeout:g} s (workers: "
                        f"{sorted(servicer.workers) or 'none'}). Check that "
                        "the workers started, reach this address and have "
                        "keras-tuner and TensorBoard installed."
                    )
                continue
            silence = now - servicer.last_contact
            if silence <= timeout:
                continue
            if servicer.stop_triggered and not oracle.ongoing_trials:
                # Every trial is done; only the stop answers are missing.
                missing = sorted(oracle.tuner_ids)
                print_fn(
                    f"Warning: worker(s) {missing} did not come back for "
                    "their last answer (crashed?); the search is complete."
                )
                break
            raise ChiefTimeoutError(_timeout_message(tuner, address, timeout))
    finally:
        server.stop(grace=1.0)
    return {
        "assignments": dict(servicer.assignments),
        "ends": dict(servicer.ends),
        "workers": sorted(servicer.workers),
    }


def run_worker(
    tuner,
    *fit_args,
    timeout=DEFAULT_TIMEOUT,
    heartbeat_interval=DEFAULT_HEARTBEAT,
    **fit_kwargs,
):
    """Runs a worker of a distributed search until the chief stops it.

    It runs `tuner.search(*fit_args, **fit_kwargs)` with every request to
    the chief bounded by `timeout` seconds and a fast reconnection to a
    chief that is not up yet, while a background thread sends a heartbeat
    to the chief every `heartbeat_interval` seconds.

    Args:
        tuner: The worker's tuner, created with the worker's environment
            variables set (see `distributed_env`).
        *fit_args: Positional arguments of `tuner.search` (training data).
        timeout: Seconds the worker waits for each answer of the chief,
            including for the chief to start. Defaults to `600`.
        heartbeat_interval: Seconds between heartbeats; keep it well below
            the chief's `timeout`. Defaults to `10`.
        **fit_kwargs: Keyword arguments of `tuner.search`.

    Raises:
        ValueError: If `tuner` is not a worker's tuner.
        ChiefUnreachableError: If the chief did not answer in time.
        ImportError: If keras-tuner or TensorBoard is missing.
    """
    import grpc

    check_search_dependencies()
    from keras_tuner.src import protos
    from keras_tuner.src.distribute import oracle_client

    client = tuner.oracle
    if not isinstance(client, oracle_client.OracleClient):
        raise ValueError(
            "`tuner` is not a worker's tuner: set the environment variables "
            "of `distributed_env('worker', ...)` before creating it. "
            f"Received: tuner with oracle {type(client).__name__}"
        )
    for name, value in (
        ("timeout", timeout),
        ("heartbeat_interval", heartbeat_interval),
    ):
        if isinstance(value, bool) or not _positive(value):
            raise ValueError(
                f"`{name}` must be a positive number of seconds. Received: "
                f"{name}={value!r}"
            )
    address = (
        f"{os.environ['KERASTUNER_ORACLE_IP']}:"
        f"{os.environ['KERASTUNER_ORACLE_PORT']}"
    )
    channel = grpc.insecure_channel(
        address,
        options=[
            ("grpc.initial_reconnect_backoff_ms", 200),
            ("grpc.min_reconnect_backoff_ms", 200),
            ("grpc.max_reconnect_backoff_ms", 1000),
        ],
    )
    stub = protos.get_service_grpc().OracleStub(channel)
    client.stub = _BoundedStub(stub, timeout)
    stop = threading.Event()
    heartbeat = threading.Thread(
        target=_heartbeat,
        args=(stub, protos, heartbeat_interval, stop),
        name="arbnet-tuning-heartbeat",
        daemon=True,
    )
    heartbeat.start()
    try:
        tuner.search(*fit_args, **fit_kwargs)
    except grpc.RpcError as error:
        code = error.code() if hasattr(error, "code") else None
        if code in (
            grpc.StatusCode.DEADLINE_EXCEEDED,
            grpc.StatusCode.UNAVAILABLE,
        ):
            raise ChiefUnreachableError(
                f"Worker {tuner.tuner_id!r} got no answer from the chief at "
                f"{address} within {timeout:g} s ({code.name}). Is the chief "
                "running? A chief that finished its search stops answering."
            ) from None
        details = error.details() if hasattr(error, "details") else error
        raise RuntimeError(
            f"The chief at {address} failed to answer worker "
            f"{tuner.tuner_id!r}: {details}"
        ) from None
    finally:
        stop.set()
        heartbeat.join(timeout=heartbeat_interval + 1)
        channel.close()


def _chief_module():
    import_keras_tuner()
    from keras_tuner.src.distribute import oracle_chief

    return oracle_chief


def _servicer_class(oracle_chief):
    """KerasTuner's servicer, recording who took which trial."""
    protos = oracle_chief.protos
    trial_module = oracle_chief.trial_module

    class ChiefServicer(oracle_chief.OracleServicer):
        def __init__(self, oracle, min_workers, print_fn):
            super().__init__(oracle)
            self.min_workers = min_workers
            self.print_fn = print_fn
            self.workers = set()
            self.assignments = {}
            self.ends = collections.Counter()
            self.error = None
            self.last_contact = time.monotonic()

        def CreateTrial(self, request, context):
            self.workers.add(request.tuner_id)
            if len(self.workers) < self.min_workers:
                time.sleep(_IDLE_WAIT)
                trial = trial_module.Trial(
                    self.oracle.hyperparameters.copy(),
                    status=trial_module.TrialStatus.IDLE,
                )
                return protos.get_service().CreateTrialResponse(
                    trial=trial.to_proto()
                )
            try:
                response = super().CreateTrial(request, context)
            except Exception as error:
                self.error = error
                raise
            running = protos.get_proto().TrialStatus.RUNNING
            if response.trial.status == running:
                trial_id = response.trial.trial_id
                self.assignments[trial_id] = request.tuner_id
                self.print_fn(
                    f"Trial {trial_id} started on worker {request.tuner_id}."
                )
            return response

        def EndTrial(self, request, context):
            trial_id = request.trial.trial_id
            self.ends[trial_id] += 1
            try:
                response = super().EndTrial(request, context)
            except Exception as error:
                self.error = error
                raise
            trial = self.oracle.trials[trial_id]
            score = "none" if trial.score is None else f"{trial.score:.4g}"
            self.print_fn(
                f"Trial {trial_id} ended on worker "
                f"{self.assignments.get(trial_id, '?')}: "
                f"{trial.status.lower()}, {self.oracle.objective.name} = "
                f"{score}."
            )
            return response

    return ChiefServicer


def _thread_pool():
    from concurrent import futures

    # One thread, as KerasTuner's own chief: the oracle is not thread-safe
    # everywhere (`get_space` is not synchronized).
    return futures.ThreadPoolExecutor(max_workers=1)


def _contact_interceptor(servicer):
    """A gRPC interceptor recording when the chief last got a request."""
    import grpc

    class ContactInterceptor(grpc.ServerInterceptor):
        def intercept_service(self, continuation, details):
            servicer.last_contact = time.monotonic()
            return continuation(details)

    return ContactInterceptor()


class _BoundedStub:
    """An `OracleStub` whose calls wait at most `timeout` seconds."""

    def __init__(self, stub, timeout):
        self._stub = stub
        self._timeout = float(timeout)

    def __getattr__(self, name):
        method = getattr(self._stub, name)

        def call(request, **kwargs):
            kwargs["timeout"] = min(
                kwargs.get("timeout", self._timeout), self._timeout
            )
            return method(request, **kwargs)

        return call


def _heartbeat(stub, protos, interval, stop):
    import grpc

    while not stop.wait(interval):
        try:
            stub.GetSpace(
                protos.get_service().GetSpaceRequest(), timeout=interval
            )
        except grpc.RpcError:
            pass  # The search reports errors; a heartbeat only signals life.


def _timeout_message(tuner, address, timeout):
    oracle = tuner.oracle
    running = sorted(
        f"{trial.trial_id} (worker {tuner_id})"
        for tuner_id, trial in oracle.ongoing_trials.items()
    )
    done = sum(trial.status == "COMPLETED" for trial in oracle.trials.values())
    return (
        f"No worker contacted the chief at {address} for {timeout:g} s, so "
        "the workers have probably crashed. Trials still running: "
        f"{', '.join(running) or 'none'}; completed: {done}. The oracle's "
        f"state is saved in {tuner.project_dir}: start the chief again "
        "with the same directory and project name, without --overwrite, "
        "to resume (unfinished trials are run again)."
    )


def _positive(value):
    return isinstance(value, (int, float)) and value > 0
