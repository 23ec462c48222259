"""Distributed tuning on loopback: a chief oracle and its workers.

Every process and thread started here has a time limit and is killed at
the end (processes by process group), so a broken search fails the test
instead of hanging it.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

keras_tuner = pytest.importorskip("keras_tuner")

from arbnet_keras import tuning  # noqa: E402
from arbnet_keras.tuning.arbnet_hyper_model import ArbNetHyperModel  # noqa: E402

LOOPBACK = "127.0.0.1"
REPO_ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
)
# Safety nets, not speed checks: three TensorFlow processes may share two
# slow, loaded cores.
SEARCH_LIMIT = 300
THREAD_LIMIT = 60


def _bounded(fn, limit=THREAD_LIMIT):
    """Runs `fn` in a daemon thread; returns or raises what it did."""
    outcome = {}

    def target():
        try:
            outcome["value"] = fn()
        except BaseException as error:  # Re-raised in the test's thread.
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(limit)
    if thread.is_alive():
        pytest.fail(f"Still running after {limit} s: the wait is unbounded.")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _serve_chief(tuner, worker=None, **kwargs):
    """Runs `serve_chief` on a free port; returns the port and the outcome.

    The chief binds port 0 itself and reports its port to `on_listen`,
    which runs `worker(port)`: what the test's worker does is done before
    the chief starts counting its `timeout`, so no timeout of these tests
    races the machine's load. The outcome is `{"report": ...}` or
    `{"error": ...}`.
    """
    ports = []

    def on_listen(port):
        ports.append(port)
        if worker is not None:
            worker(port)

    kwargs.setdefault("print_fn", None)
    try:
        outcome = {
            "report": _bounded(
                lambda: tuning.serve_chief(
                    tuner,
                    ip=LOOPBACK,
                    port=0,
                    poll_interval=0.1,
                    on_listen=on_listen,
                    **kwargs,
                )
            )
        }
    except Exception as error:
        outcome = {"error": error}
    assert len(ports) == 1 and ports[0] > 0
    return ports[0], outcome


def _tiny_tuner(directory, **kwargs):
    hypermodel = ArbNetHyperModel(4, 2, hidden_units=(), table_size=4)
    return tuning.make_tuner(
        "random",
        hypermodel,
        max_trials=2,
        directory=str(directory),
        project_name="p",
        **kwargs,
    )


def _stub(port):
    import grpc
    from keras_tuner.src import protos

    channel = grpc.insecure_channel(f"{LOOPBACK}:{port}")
    return protos, protos.get_service_grpc().OracleStub(channel), channel


def _take_trial(port, tuner_id):
    protos, stub, channel = _stub(port)
    response = stub.CreateTrial(
        protos.get_service().CreateTrialRequest(tuner_id=tuner_id),
        wait_for_ready=True,
        timeout=THREAD_LIMIT,
    )
    return protos, stub, channel, response.trial


def _listening_port(log_path, process, deadline):
    """The port a chief printed that it listens on."""
    pattern = re.compile(
        rf"\[chief\] Chief listening on {re.escape(LOOPBACK)}:(\d+);"
    )
    while time.monotonic() < deadline:
        match = pattern.search(log_path.read_text())
        if match:
            return int(match.group(1))
        if process.poll() is not None:
            break
        time.sleep(0.2)
    pytest.fail(
        f"The chief printed no port ({process.poll()}):\n"
        f"{log_path.read_text()[-3000:]}"
    )


class TestLoopbackSearch:
    def test_chief_and_two_workers_share_a_search(self, tmp_path):
        common = [
            sys.executable,
            "-m",
            "arbnet_keras.tuning.cli",
            "tune",
            "--dataset",
            "mnist_5k",
            "--hash",
            "dirichlet",
            "--hidden-units",
            "16",
            "--table-size",
            "100",
            "--batch-size",
            "256",
            "--max-trials",
            "4",
            "--epochs",
            "1",
            "--verbose",
            "0",
            "--directory",
            str(tmp_path),
            "--oracle-ip",
            LOOPBACK,
            # Safety nets: a clean search never waits that long.
            "--timeout",
            "240",
        ]
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("KERASTUNER_")
        }
        env.update(
            TF_CPP_MIN_LOG_LEVEL="3",
            KERAS_BACKEND="tensorflow",
            PYTHONPATH=os.pathsep.join(
                [REPO_ROOT] + [p for p in [env.get("PYTHONPATH")] if p]
            ),
        )
        roles = {
            # The chief binds a free port and prints it; the workers start
            # once it is known.
            "chief": ["--chief", "--workers", "2", "--oracle-port", "0"],
            "w1": ["--worker", "--tuner-id", "w1", "--heartbeat", "2"],
            "w2": ["--worker", "--tuner-id", "w2", "--heartbeat", "2"],
        }
        processes, logs = {}, {}
        deadline = time.monotonic() + SEARCH_LIMIT

        def start(name, extra):
            logs[name] = open(tmp_path / f"{name}.log", "w")
            processes[name] = subprocess.Popen(
                common + extra,
                stdout=logs[name],
                stderr=subprocess.STDOUT,
                env=env,
                cwd=REPO_ROOT,
                start_new_session=True,
            )

        try:
            start("chief", roles["chief"])
            port = _listening_port(
                tmp_path / "chief.log", processes["chief"], deadline
            )
            for name in ("w1", "w2"):
                start(name, roles[name] + ["--oracle-port", str(port)])
            # Until all are done, or one fails: the others would wait for
            # it until their generous timeouts.
            while time.monotonic() < deadline:
                polled = [p.poll() for p in processes.values()]
                if None not in polled or any(polled):
                    break
                time.sleep(0.5)
        finally:
            for process in processes.values():
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(10)
            for log in logs.values():
                log.close()
        codes = {
            name: "killed" if process.returncode < 0 else process.returncode
            for name, process in processes.items()
        }
        outputs = {
            name: (tmp_path / f"{name}.log").read_text() for name in processes
        }
        failed = {name: code for name, code in codes.items() if code != 0}
        assert not failed, "\n".join(
            f"--- {name} ({code}):\n{outputs[name][-3000:]}"
            for name, code in failed.items()
        )
        path = tmp_path / "mnist_5k-dirichlet-random" / "best_trial.json"
        summary = json.loads(path.read_text())
        trials = summary["trials"]
        # Every trial ran to completion, exactly once.
        assert sorted(t["trial_id"] for t in trials) == ["0", "1", "2", "3"]
        assert all(t["status"] == "COMPLETED" for t in trials)
        report = summary["metadata"]["distributed"]
        assert report["ends"] == {"0": 1, "1": 1, "2": 1, "3": 1}
        # Both workers took part (the chief waited for two of them).
        assert report["workers"] == ["w1", "w2"]
        assert set(report["assignments"].values()) == {"w1", "w2"}
        assert len({t["hyperparameters"]["alpha"] for t in trials}) == 4
        # The chief reports the best trial.
        best = summary["best"]
        assert best["score"] == max(t["score"] for t in trials)
        assert f"[chief] Best trial: {best['trial_id']}" in outputs["chief"]
        assert f"[chief] Saved {path}" in outputs["chief"]
        for worker in ("w1", "w2"):
            assert "Worker finished" in outputs[worker]
        for trial_id, worker in report["assignments"].items():
            assert (
                f"[chief] Trial {trial_id} started on worker {worker}."
                in outputs["chief"]
            )
            assert (
                f"[chief] Trial {trial_id} ended on worker {worker}: "
                "completed, val_accuracy = " in outputs["chief"]
            )


class TestChiefTimeouts:
    def test_chief_without_workers_gives_up(self, tmp_path):
        # No worker ever comes, so any timeout is reached.
        port, outcome = _serve_chief(
            _tiny_tuner(tmp_path), timeout=1, min_workers=2
        )
        error = outcome.get("error")
        assert isinstance(error, tuning.ChiefTimeoutError), outcome
        assert str(error).startswith(
            f"Only 0 of 2 worker(s) asked the chief at {LOOPBACK}:{port}"
        )
        assert "have keras-tuner and TensorBoard installed" in str(error)

    def test_chief_gives_up_on_a_crashed_worker(self, tmp_path):
        taken = {}

        def worker(port):
            # A worker takes a trial, then dies without a word: the chief
            # hears nothing more, so any timeout is reached.
            _, _, channel, taken["trial"] = _take_trial(port, "doomed")
            channel.close()

        _, outcome = _serve_chief(
            _tiny_tuner(tmp_path), worker=worker, timeout=1.5
        )
        assert taken["trial"].trial_id == "0"
        error = outcome.get("error")
        assert isinstance(error, tuning.ChiefTimeoutError), outcome
        message = str(error)
        assert "the workers have probably crashed" in message
        assert "Trials still running: 0 (worker doomed)" in message
        assert "completed: 0" in message
        # The state to resume from is saved.
        state = json.loads((tmp_path / "p" / "oracle.json").read_text())
        assert state["ongoing_trials"] == {"doomed": "0"}

    def test_chief_stops_when_the_oracle_fails(self, tmp_path):
        import grpc
        from keras_tuner.src.engine import trial as trial_module

        tuner = _tiny_tuner(tmp_path, max_consecutive_failed_trials=1)
        answers = {}

        def worker(port):
            protos, stub, channel, proto = _take_trial(port, "w")
            trial = trial_module.Trial.from_proto(proto)
            trial.status = trial_module.TrialStatus.FAILED
            trial.message = "the trial broke"
            try:
                stub.EndTrial(
                    protos.get_service().EndTrialRequest(
                        trial=trial.to_proto()
                    ),
                    timeout=THREAD_LIMIT,
                )
            except grpc.RpcError as error:
                answers["end"] = error
            channel.close()

        # The failure stops the chief at once; the timeout is never used.
        _, outcome = _serve_chief(tuner, worker=worker, timeout=600)
        assert isinstance(answers.get("end"), grpc.RpcError)
        error = outcome.get("error")
        assert isinstance(error, RuntimeError), outcome
        message = str(error)
        assert message.startswith("The search failed on the chief")
        assert "consecutive failures exceeded the limit of 1" in message

    def test_search_complete_without_a_last_answer(self, tmp_path):
        from keras_tuner.src.engine import trial as trial_module

        tuner = _tiny_tuner(tmp_path)
        tuner.oracle.max_trials = 1
        lines = []
        answers = {}

        def worker(port):
            # Worker "done" runs the only trial, then dies before asking
            # for another; worker "late" is told that the search is over.
            # Then no one contacts the chief, so any timeout is reached.
            protos, stub, channel, proto = _take_trial(port, "done")
            stub.UpdateTrial(
                protos.get_service().UpdateTrialRequest(
                    trial_id=proto.trial_id, metrics={"val_accuracy": 0.5}
                ),
                timeout=THREAD_LIMIT,
            )
            trial = trial_module.Trial.from_proto(proto)
            trial.status = trial_module.TrialStatus.COMPLETED
            stub.EndTrial(
                protos.get_service().EndTrialRequest(trial=trial.to_proto()),
                timeout=THREAD_LIMIT,
            )
            channel.close()
            _, _, channel, answers["last"] = _take_trial(port, "late")
            answers["stopped"] = protos.get_proto().TrialStatus.STOPPED
            channel.close()

        _, outcome = _serve_chief(
            tuner, worker=worker, timeout=1.5, print_fn=lines.append
        )
        assert answers["last"].status == answers["stopped"]
        assert outcome == {
            "report": {
                "assignments": {"0": "done"},
                "ends": {"0": 1},
                "workers": ["done", "late"],
            }
        }
        assert lines[-1] == (
            "Warning: worker(s) ['done'] did not come back for their last "
            "answer (crashed?); the search is complete."
        )
        assert (
            "Trial 0 ended on worker done: completed, val_accuracy = 0.5."
            in lines
        )

    def test_chief_reports_the_port_it_picked(self, tmp_path):
        lines = []
        port, outcome = _serve_chief(
            _tiny_tuner(tmp_path), timeout=0.5, print_fn=lines.append
        )
        assert isinstance(outcome.get("error"), tuning.ChiefTimeoutError)
        assert lines[0].startswith(f"Chief listening on {LOOPBACK}:{port};")

    def test_port_in_use(self, tmp_path):
        tuner = _tiny_tuner(tmp_path)
        with socket.socket() as sock:
            sock.bind((LOOPBACK, 0))
            sock.listen()
            port = sock.getsockname()[1]
            with pytest.raises(RuntimeError) as info:
                _bounded(
                    lambda: tuning.serve_chief(
                        tuner, ip=LOOPBACK, port=port, print_fn=None
                    )
                )
        assert f"could not listen on {LOOPBACK}:{port}" in str(info.value)

    @pytest.mark.parametrize(
        "kwargs, message",
        [
            ({"timeout": 0}, "Received: timeout=0"),
            ({"timeout": True}, "`timeout` must be a positive number"),
            ({"min_workers": 0}, "Received: min_workers=0"),
        ],
    )
    def test_invalid_arguments(self, tmp_path, kwargs, message):
        tuner = _tiny_tuner(tmp_path)
        with pytest.raises(ValueError) as info:
            tuning.serve_chief(tuner, ip=LOOPBACK, port=0, **kwargs)
        assert message in str(info.value)


class TestWorker:
    def test_worker_without_a_chief_gives_up(self, tmp_path, monkeypatch):
        # The port stays bound and never listens, so no chief can answer
        # there (not even another test's) and any timeout is reached.
        holder = socket.socket()
        holder.bind((LOOPBACK, 0))
        port = holder.getsockname()[1]
        env = tuning.distributed_env("worker", LOOPBACK, port, "w1")
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        tuner = _tiny_tuner(tmp_path)
        x = np.ones((4, 4), "float32")
        y = np.zeros((4,), "int32")
        with holder, pytest.raises(tuning.ChiefUnreachableError) as info:
            _bounded(lambda: tuning.run_worker(tuner, x, y, timeout=1))
        message = str(info.value)
        assert message.startswith(
            f"Worker 'w1' got no answer from the chief at {LOOPBACK}:{port}"
        )
        assert "within 1 s" in message

    def test_worker_needs_a_worker_tuner(self, tmp_path):
        with pytest.raises(ValueError) as info:
            tuning.run_worker(_tiny_tuner(tmp_path), timeout=1)
        assert "`tuner` is not a worker's tuner" in str(info.value)
        assert "Received: tuner with oracle RandomSearchOracle" in str(
            info.value
        )

    def test_distributed_env(self):
        assert tuning.distributed_env("chief", port=8001) == {
            "KERASTUNER_TUNER_ID": "chief",
            "KERASTUNER_ORACLE_IP": "127.0.0.1",
            "KERASTUNER_ORACLE_PORT": "8001",
        }
        # A chief may listen on any free port (see `serve_chief`).
        assert (
            tuning.distributed_env("chief", port=0)["KERASTUNER_ORACLE_PORT"]
            == "0"
        )
        env = tuning.distributed_env("worker")
        assert env["KERASTUNER_TUNER_ID"].endswith(f"-{os.getpid()}")
        assert "chief" not in env["KERASTUNER_TUNER_ID"]

    @pytest.mark.parametrize(
        "args, message",
        [
            (("boss",), "Received: role='boss'"),
            (("worker", "127.0.0.1", 0), "Received: port=0"),
            (("chief", "127.0.0.1", -1), "Received: port=-1"),
            (("worker", "127.0.0.1", "80"), "Received: port='80'"),
            (("worker", ""), "Received: ip=''"),
            (("worker", "127.0.0.1", 80, "chief2"), "without 'chief'"),
        ],
    )
    def test_distributed_env_invalid(self, args, message):
        with pytest.raises(ValueError) as info:
            tuning.distributed_env(*args)
        assert message in str(info.value)
