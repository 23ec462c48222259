"""One sweep shared by a KerasTuner chief and its workers, on loopback.

The chief runs in a thread of the test (bounded), the workers in
processes of their own (killed by process group at the end) or, where
the test is about the chief, in a thread.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

pytest.importorskip("keras_tuner")

from arbnet_keras import cli  # noqa: E402
from arbnet_keras.experiments import SweepLockedError  # noqa: E402
from arbnet_keras.experiments import SweepSpec  # noqa: E402
from arbnet_keras.experiments import append_result  # noqa: E402
from arbnet_keras.experiments import read_results  # noqa: E402
from arbnet_keras.experiments import run_key  # noqa: E402
from arbnet_keras.experiments import run_sweep  # noqa: E402
from arbnet_keras.experiments import runner  # noqa: E402
from arbnet_keras.experiments import shared_sweep  # noqa: E402
from arbnet_keras.experiments.results import RESULTS_FILE  # noqa: E402
from arbnet_keras.experiments.results import SweepLock  # noqa: E402
from arbnet_keras.tuning import ChiefTimeoutError  # noqa: E402

LOOPBACK = "127.0.0.1"
REPO_ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
)
# Safety nets, not speed checks: three processes share two loaded cores.
LIMIT = 240


def tiny_spec():
    """6 runs of 1 epoch on `digits` (1,437 training images)."""
    return SweepSpec(
        "dirichlet",
        alpha=[0.1, 1.0, 10.0],
        seeds=2,
        epochs=1,
        dataset="digits",
        model="hashed_mlp",
        hidden_units=[16],
        table_size=50,
        batch_size=256,
    )


def bounded(fn, limit=LIMIT):
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


def serve(spec, out, on_listen, **kwargs):
    kwargs.setdefault("timeout", LIMIT)
    return bounded(
        lambda: shared_sweep.serve_sweep(
            spec,
            out,
            ip=LOOPBACK,
            port=0,
            poll_interval=0.1,
            print_fn=None,
            on_listen=on_listen,
            **kwargs,
        )
    )


def raw_keys(out):
    """Every record's key, duplicates included, in file order."""
    lines = (out / RESULTS_FILE).read_text().splitlines()
    return [json.loads(line)["key"] for line in lines if line.strip()]


def fake_record(config, accuracy):
    record = {"key": run_key(config), **config}
    record.update(test_accuracy=accuracy, train_accuracy=accuracy)
    return record


@pytest.fixture(scope="module")
def two_worker_sweep(tmp_path_factory):
    """The tiny sweep done by a chief and two worker processes."""
    out = tmp_path_factory.mktemp("shared") / "sweep"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("KERASTUNER_")
    }
    env.update(
        TF_CPP_MIN_LOG_LEVEL="3",
        PYTHONPATH=os.pathsep.join(
            [REPO_ROOT] + [p for p in [env.get("PYTHONPATH")] if p]
        ),
    )
    processes, logs = {}, {}

    def start_workers(port):
        for name in ("w1", "w2"):
            logs[name] = open(out.parent / f"{name}.log", "w")
            processes[name] = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "arbnet_keras",
                    "sweep-worker",
                    str(out),
                    "--chief",
                    f"{LOOPBACK}:{port}",
                    "--worker-id",
                    name,
                    "--heartbeat",
                    "2",
                    "--timeout",
                    str(LIMIT),
                ],
                stdout=logs[name],
                stderr=subprocess.STDOUT,
                env=env,
                cwd=REPO_ROOT,
                start_new_session=True,
            )

    start = time.monotonic()
    try:
        report = serve(tiny_spec(), out, start_workers, min_workers=2)
        for process in processes.values():
            process.wait(max(1, LIMIT - (time.monotonic() - start)))
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        for log in logs.values():
            log.close()
    outputs = {
        name: (out.parent / f"{name}.log").read_text() for name in processes
    }
    failed = {n: p.returncode for n, p in processes.items() if p.returncode}
    assert not failed, "\n".join(
        f"--- {name} ({code}):\n{outputs[name][-3000:]}"
        for name, code in failed.items()
    )
    return out, report, outputs


class TestTwoWorkers:
    def test_every_run_is_recorded_once(self, two_worker_sweep):
        out, report, _ = two_worker_sweep
        keys = [run_key(config) for config in tiny_spec().runs()]
        assert sorted(raw_keys(out)) == sorted(keys)
        assert report["served"] == 6 and report["recorded_before"] == 0
        assert sorted(report["runs"]) == sorted(keys)
        assert report["ends"] == {key: 1 for key in keys}
        assert all(run["trained"] for run in report["runs"].values())
        assert all(
            run["status"] == "COMPLETED" for run in report["runs"].values()
        )

    def test_both_workers_did_runs(self, two_worker_sweep):
        out, report, outputs = two_worker_sweep
        workers = [run["worker"] for run in report["runs"].values()]
        assert sorted(set(workers)) == ["w1", "w2"]
        assert report["workers"] == ["w1", "w2"]
        for name in ("w1", "w2"):
            trained = workers.count(name)
            assert (
                f"[{name}] Worker finished: the chief has no run left. "
                f"Trained {trained}, found recorded 0." in outputs[name]
            )

    def test_records_are_run_ones(self, two_worker_sweep):
        out, report, _ = two_worker_sweep
        spec = tiny_spec()
        config = spec.runs()[0]
        reference = runner.run_one(
            config, runner._data_for(config["seed"], spec, {}, None)
        )
        by_key = {record["key"]: record for record in read_results(out)}
        for config in spec.runs():
            record = by_key[run_key(config)]
            assert set(record) == set(reference)
            assert {name: record[name] for name in config} == config
            assert 0.0 <= record["test_accuracy"] <= 1.0
            assert record["epochs_run"] == 1
            # The chief's score is the record's.
            assert report["runs"][record["key"]]["test_accuracy"] == (
                pytest.approx(record["test_accuracy"])
            )


class TestRestart:
    def test_only_missing_runs_are_handed_out(self, two_worker_sweep, tmp_path):
        done, _, _ = two_worker_sweep
        out = tmp_path / "sweep"
        shutil.copytree(done, out)
        lines = (out / RESULTS_FILE).read_text().splitlines()
        missing = [json.loads(line)["key"] for line in lines[1:3]]
        # Two runs lost, and a torn line of an interrupted write.
        (out / RESULTS_FILE).write_text(
            "\n".join([lines[0], *lines[3:], '{"key": "tor']) + "\n"
        )
        spaces, outcome = [], {}

        def worker(port):
            # A run recorded after the chief started (by an earlier
            # chief's worker) is reported, not trained again.
            config = next(
                c for c in tiny_spec().runs() if run_key(c) == missing[0]
            )
            append_result(out, fake_record(config, 0.125))
            spaces.append(_chief_runs(port))

            def work():
                outcome.update(
                    shared_sweep.run_sweep_worker(
                        out,
                        f"{LOOPBACK}:{port}",
                        worker_id="late",
                        heartbeat_interval=1,
                        timeout=LIMIT,
                        print_fn=None,
                    )
                )

            threading.Thread(target=work, daemon=True).start()

        report = serve(tiny_spec(), out, worker)
        assert [sorted(space) for space in spaces] == [sorted(missing)]
        assert report["recorded_before"] == 4 and report["served"] == 2
        assert sorted(report["runs"]) == sorted(missing)
        assert report["runs"][missing[0]]["trained"] is False
        assert report["runs"][missing[0]]["test_accuracy"] == 0.125
        assert report["runs"][missing[1]]["trained"] is True
        deadline = time.monotonic() + 30
        while "worker" not in outcome and time.monotonic() < deadline:
            time.sleep(0.1)
        assert outcome["found"] == [missing[0]]
        assert outcome["trained"] == [missing[1]]
        keys = raw_keys(out)
        assert sorted(keys) == sorted(run_key(c) for c in tiny_spec().runs())
        assert (out / (RESULTS_FILE + ".torn")).read_text() == '{"key": "tor\n'

    def test_a_done_sweep_serves_nothing(self, two_worker_sweep):
        out, _, _ = two_worker_sweep

        def fail(port):
            pytest.fail("The chief listened although nothing was left.")

        report = serve(tiny_spec(), out, fail)
        assert report["served"] == 0 and report["recorded_before"] == 6
        assert report["runs"] == {}


class TestFailures:
    def test_a_failing_run_is_not_recorded(self, tmp_path, monkeypatch):
        out = tmp_path / "sweep"
        keys = [run_key(config) for config in tiny_spec().runs()]
        bad = keys[2]

        def fake_run_one(config, data, *, key=None, verbose=0):
            if key == bad:
                raise RuntimeError("out of memory")
            return fake_record(config, 0.5)

        monkeypatch.setattr(runner, "run_one", fake_run_one)
        outcome = {}

        def worker(port):
            def work():
                outcome.update(
                    shared_sweep.run_sweep_worker(
                        out, f"{LOOPBACK}:{port}", print_fn=None
                    )
                )

            threading.Thread(target=work, daemon=True).start()

        report = serve(tiny_spec(), out, worker)
        assert report["runs"][bad]["status"] == "FAILED"
        assert all(
            run["status"] == "COMPLETED"
            for key, run in report["runs"].items()
            if key != bad
        )
        assert sorted(raw_keys(out)) == sorted(set(keys) - {bad})
        deadline = time.monotonic() + 30
        while "worker" not in outcome and time.monotonic() < deadline:
            time.sleep(0.1)
        assert outcome["failed"] == [bad]
        assert len(outcome["trained"]) == 5
        # Served again, only the failed run is handed out.
        bad = None
        report = serve(tiny_spec(), out, worker)
        assert report["served"] == 1
        assert report["runs"][keys[2]]["status"] == "COMPLETED"
        assert sorted(raw_keys(out)) == sorted(keys)


class TestRunTaker:
    """A worker's side of one run, without a chief."""

    @pytest.fixture
    def taker(self, tmp_path):
        from arbnet_keras.experiments.results import write_spec

        write_spec(tmp_path, tiny_spec().to_dict())
        taker = shared_sweep._RunTaker(tmp_path, None, 0, lambda line: None)
        taker.load_spec()
        return taker

    def test_a_recorded_run_is_not_trained(self, taker, monkeypatch):
        config = tiny_spec().runs()[3]
        append_result(taker.out_dir, fake_record(config, 0.25))

        def no_training(*args, **kwargs):
            pytest.fail("A recorded run was trained again.")

        monkeypatch.setattr(runner, "run_one", no_training)
        assert taker.take(run_key(config)) == (0.25, False)
        assert taker.found == [run_key(config)]
        assert raw_keys(taker.out_dir) == [run_key(config)]

    def test_a_run_recorded_meanwhile_is_not_recorded_twice(
        self, taker, monkeypatch
    ):
        config = tiny_spec().runs()[1]

        def other_worker_first(config, data, *, key=None, verbose=0):
            # Another worker records the run while this one trains it.
            append_result(taker.out_dir, fake_record(config, 0.75))
            return fake_record(config, 0.5)

        monkeypatch.setattr(runner, "run_one", other_worker_first)
        assert taker.take(run_key(config)) == (0.75, True)
        assert taker.duplicates == [run_key(config)]
        records = read_results(taker.out_dir, unique=False)
        assert [r["test_accuracy"] for r in records] == [0.75]

    def test_a_single_process_sweep_stops_the_worker(self, taker):
        with SweepLock(taker.out_dir):
            with pytest.raises(SweepLockedError, match="no worker may write"):
                taker.take(run_key(tiny_spec().runs()[0]))

    def test_a_run_of_another_sweep_stops_the_worker(self, taker):
        from keras_tuner.errors import FatalError

        with pytest.raises(FatalError, match="not runs of"):
            taker.take("0123456789abcdef")
        with pytest.raises(ValueError, match="not runs of"):
            taker.check_keys(["0123456789abcdef"])


def _chief_runs(port):
    """The run keys of the chief's search space, asked over gRPC."""
    import grpc
    from keras_tuner.src import protos
    from keras_tuner.src.engine import hyperparameters as hp_module

    with grpc.insecure_channel(f"{LOOPBACK}:{port}") as channel:
        stub = protos.get_service_grpc().OracleStub(channel)
        response = stub.GetSpace(
            protos.get_service().GetSpaceRequest(),
            wait_for_ready=True,
            timeout=60,
        )
    space = hp_module.HyperParameters.from_proto(response.hyperparameters)
    return [list(hp.values) for hp in space.space][0]


class TestLocks:
    def test_a_served_directory_refuses_another_writer(self, tmp_path):
        out = tmp_path / "sweep"
        seen = []

        def others(port):
            with pytest.raises(SweepLockedError, match="Another sweep"):
                run_sweep(tiny_spec(), out, quiet=True)
            with pytest.raises(SweepLockedError, match="Another chief"):
                shared_sweep.serve_sweep(tiny_spec(), out, port=0)
            seen.append(port)

        with pytest.raises(ChiefTimeoutError, match="Only 0 of 1 worker"):
            serve(tiny_spec(), out, others, timeout=0.5)
        assert seen and not (out / RESULTS_FILE).exists()

    def test_a_single_process_sweep_refuses_a_chief(self, tmp_path):
        out = tmp_path / "sweep"
        out.mkdir()
        with SweepLock(out):
            with pytest.raises(SweepLockedError, match="single-process"):
                shared_sweep.serve_sweep(tiny_spec(), out, port=0)


class TestOracle:
    @pytest.fixture
    def oracle(self, tmp_path):
        oracle = shared_sweep._classes().oracle(keys=["a", "b"], lease=0.2)
        oracle._set_project_dir(str(tmp_path), "p")
        return oracle

    def end(self, oracle, trial, key, score):
        from keras_tuner.engine.trial import Trial

        reported = Trial(oracle.get_space(), trial_id=trial.trial_id)
        reported.hyperparameters.values = {shared_sweep.RUN_HP: key}
        reported.metrics.register(shared_sweep.OBJECTIVE, "max")
        reported.metrics.update(shared_sweep.OBJECTIVE, score)
        reported.status = "COMPLETED"
        oracle.end_trial(reported)

    def test_runs_are_handed_out_in_order_then_stop(self, oracle):
        first = oracle.create_trial("w1")
        second = oracle.create_trial("w2")
        assert [
            first.hyperparameters.values,
            second.hyperparameters.values,
        ] == [
            {"run": "a"},
            {"run": "b"},
        ]
        # Every run is taken: others wait, unlike GridSearch with one
        # Choice, which makes the third trial wait from the start.
        assert oracle.create_trial("w3").status == "IDLE"
        self.end(oracle, first, "a", 0.5)
        self.end(oracle, second, "b", 0.25)
        assert oracle.create_trial("w3").status == "STOPPED"
        assert oracle.trials[first.trial_id].score == 0.5

    def test_a_silent_workers_run_goes_to_another(self, oracle):
        first = oracle.create_trial("w1")
        oracle.create_trial("w2")
        oracle.get_trial(first.trial_id)  # A heartbeat.
        assert oracle.create_trial("w3").status == "IDLE"
        time.sleep(0.3)
        oracle.get_trial(first.trial_id)  # w1 lives.
        taken = oracle.create_trial("w3")
        # w2's run, silent past its lease, goes to w3; w1 keeps its own.
        assert taken.hyperparameters.values == {"run": "b"}
        assert oracle.reassigned == ["b"]
        assert "w2" not in oracle.tuner_ids
        assert oracle.ongoing_trials["w1"].trial_id == first.trial_id

    def test_a_worker_restarted_gets_its_run_back(self, oracle):
        first = oracle.create_trial("w1")
        assert oracle.create_trial("w1").trial_id == first.trial_id

    def test_reports_of_other_trials_are_ignored(self, oracle):
        first = oracle.create_trial("w1")
        self.end(oracle, first, "b", 0.9)  # Not this trial's run.
        assert oracle.trials[first.trial_id].status == "RUNNING"
        assert oracle.get_trial("0042").status == "INVALID"
        self.end(oracle, first, "a", 0.5)
        self.end(oracle, first, "a", 0.1)  # Ended already.
        assert oracle.trials[first.trial_id].score == 0.5


class TestArguments:
    @pytest.mark.parametrize(
        "kwargs, message",
        [
            ({"lease": 0}, "`lease` must be a positive number"),
            ({"timeout": -1}, "`timeout` must be a positive number"),
            ({"min_workers": 0}, "`min_workers` must be a positive integer"),
            ({"port": 70000}, "`port` must be an integer in"),
            ({"ip": ""}, "`ip` must be a host address"),
        ],
    )
    def test_bad_chief_arguments(self, tmp_path, kwargs, message):
        with pytest.raises(ValueError, match=message):
            shared_sweep.serve_sweep(tiny_spec(), tmp_path / "s", **kwargs)
        assert not (tmp_path / "s").exists()

    @pytest.mark.parametrize("chief", ["127.0.0.1", ":80", "h:0", "h:x"])
    def test_bad_chief_address(self, tmp_path, chief):
        with pytest.raises(ValueError, match="`chief` must be the chief"):
            shared_sweep.run_sweep_worker(tmp_path, chief)

    def test_worker_without_sweep(self, tmp_path):
        with pytest.raises(ValueError, match="sweep.json does not exist"):
            shared_sweep.run_sweep_worker(tmp_path, "127.0.0.1:8000")
        with pytest.raises(ValueError, match="is not a directory"):
            shared_sweep.run_sweep_worker(tmp_path / "no", "127.0.0.1:8000")

    def test_bad_worker_arguments(self, tmp_path):
        with pytest.raises(ValueError, match="`heartbeat_interval` must"):
            shared_sweep.run_sweep_worker(tmp_path, "h:1", heartbeat_interval=0)
        with pytest.raises(ValueError, match="`worker_id` must be"):
            shared_sweep.run_sweep_worker(tmp_path, "h:1", worker_id="chief")

    @pytest.mark.parametrize(
        "argv, message",
        [
            (
                ["sweep-worker", "{tmp}", "--chief", "nohost"],
                "arbnet sweep-worker: error: `chief` must be the chief's "
                "address",
            ),
            (
                ["sweep-worker", "{tmp}", "--chief", "127.0.0.1:8000"],
                "arbnet sweep-worker: error: {tmp}/sweep.json does not exist",
            ),
            (
                ["sweep", "uniform", "--out", "{tmp}", "--port", "0"],
                "arbnet sweep uniform: error: `--port` is an option of a "
                "chief: add `--serve`.",
            ),
            (
                ["sweep", "uniform", "--out", "{tmp}", "--serve"]
                + ["--max-runs", "1"],
                "arbnet sweep uniform: error: `--max-runs` is not an option",
            ),
            (
                ["sweep", "uniform", "--out", "{tmp}", "--serve"]
                + ["--lease", "0"],
                "arbnet sweep uniform: error: `lease` must be a positive",
            ),
        ],
    )
    def test_command_line_errors(self, tmp_path, capsys, argv, message):
        argv = [arg.format(tmp=tmp_path) for arg in argv]
        assert cli.main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(message.format(tmp=tmp_path))
        assert len(err.splitlines()) == 1
        assert not (tmp_path / "sweep.json").exists()
