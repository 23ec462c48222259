"""Shared tables under `MultiWorkerMirroredStrategy`, two workers on loopback.

Keras 3's `Model.fit` fails under `MultiWorkerMirroredStrategy` for any
model (keras-team/keras#20585), so the workers train with a custom loop,
the documented alternative; the reference runs the same loop in this
process without a strategy.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

REPO_ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
)
LIMIT = 300  # A safety net for a loaded machine, not a speed check.
MARKER = "@@TABLES@@"

_TRAIN = r"""
import keras
import numpy as np
import tensorflow as tf

from arbnet_keras import HashedDense
from arbnet_keras import HashTable

GLOBAL_BATCH = 16


def train(strategy, mode):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 20)).astype("float32")
    y = rng.integers(0, 4, 64).astype("int32")
    with strategy.scope():
        keras.utils.set_random_seed(1)
        table = HashTable(300, hash="dirichlet", seed=3)
        model = keras.Sequential(
            [
                keras.Input((20,)),
                HashedDense(16, table=table, activation="elu",
                            kernel_mode=mode),
                HashedDense(4, table=table, kernel_mode=mode),
            ]
        )
        optimizer = keras.optimizers.SGD(0.1, momentum=0.9)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, reduction="none"
    )
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
    )
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH)
    dataset = strategy.experimental_distribute_dataset(
        dataset.with_options(options)
    )

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            losses = loss_fn(yb, model(xb, training=True))
            loss = tf.nn.compute_average_loss(
                losses, global_batch_size=GLOBAL_BATCH
            )
        variables = model.trainable_variables
        optimizer.apply_gradients(
            zip(tape.gradient(loss, variables), variables)
        )

    for _ in range(2):
        for xb, yb in dataset:
            strategy.run(step, args=(xb, yb))
    return {
        "type": type(table.variable.value).__name__,
        "table": table.variable.numpy().tolist(),
    }
"""

_WORKER = (
    _TRAIN
    + r"""
import json
import sys

strategy = tf.distribute.MultiWorkerMirroredStrategy()
out = {mode: train(strategy, mode) for mode in ("auto", "gather")}
print(MARKER)
print(json.dumps(out), flush=True)
"""
)


# TensorFlow's message when a worker's gRPC server cannot bind its port.
PORT_CLASH = "Could not start gRPC server"
ATTEMPTS = 3


def _unused_ports(count):
    # `TF_CONFIG` names every worker's port before any worker starts, so
    # the workers cannot bind port 0 themselves: these ports are free now
    # but may be taken before a worker binds them. `_run_workers` then
    # sees `PORT_CLASH` and `worker_tables` starts over on new ports.
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _worker_env(cluster, index):
    env = dict(os.environ)
    env.update(
        TF_CPP_MIN_LOG_LEVEL="3",
        KERAS_BACKEND="tensorflow",
        PYTHONPATH=os.pathsep.join(
            [REPO_ROOT] + [p for p in [env.get("PYTHONPATH")] if p]
        ),
        TF_CONFIG=json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}
        ),
    )
    return env


def _run_workers(directory, code, ports, indices=None):
    """Runs one worker per port; returns their exit codes and outputs.

    As soon as one worker fails the others are killed: they would wait
    for it until `LIMIT`.
    """
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    indices = range(len(ports)) if indices is None else indices
    paths = [directory / f"worker{index}.log" for index in indices]
    processes = []
    try:
        for index, path in zip(indices, paths):
            with open(path, "w") as log:
                processes.append(
                    subprocess.Popen(
                        [sys.executable, "-c", code],
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        env=_worker_env(cluster, index),
                        cwd=REPO_ROOT,
                        start_new_session=True,
                    )
                )
        deadline = time.monotonic() + LIMIT
        while time.monotonic() < deadline:
            codes = [process.poll() for process in processes]
            if None not in codes or any(code for code in codes):
                break
            time.sleep(0.2)
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
    codes = [
        "timed out" if code is None else code
        for code in (process.returncode for process in processes)
    ]
    return codes, [path.read_text() for path in paths]


@pytest.fixture(scope="module")
def worker_tables(tmp_path_factory):
    code = f"MARKER = {MARKER!r}\n" + _WORKER
    for attempt in range(ATTEMPTS):
        directory = tmp_path_factory.mktemp(f"multi_worker{attempt}")
        codes, outputs = _run_workers(directory, code, _unused_ports(2))
        if not any(PORT_CLASH in out for out in outputs):
            break
    if codes != [0, 0] or any(MARKER not in out for out in outputs):
        pytest.fail(
            "\n".join(
                f"--- worker {i} ({code}):\n{out[-3000:]}"
                for i, (code, out) in enumerate(zip(codes, outputs))
            )
        )
    return [
        json.loads(out.split(MARKER, 1)[1].strip().splitlines()[0])
        for out in outputs
    ]


def test_a_taken_port_is_recognized(tmp_path):
    # `worker_tables` retries only on `PORT_CLASH`: check that TensorFlow
    # still says so when a worker's port is taken.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports = [taken.getsockname()[1]] + _unused_ports(1)
        code = (
            "import tensorflow as tf\n"
            "tf.distribute.MultiWorkerMirroredStrategy()\n"
        )
        codes, outputs = _run_workers(tmp_path, code, ports, indices=[0])
    assert codes[0] not in (0, "timed out")
    assert PORT_CLASH in outputs[0]


@pytest.mark.parametrize("mode", ["auto", "gather"])
def test_two_workers_train_the_same_table_as_one_device(worker_tables, mode):
    import tensorflow as tf

    namespace = {}
    exec(compile(_TRAIN, "<train>", "exec"), namespace)
    reference = namespace["train"](tf.distribute.get_strategy(), mode)
    expected = np.array(reference["table"])
    first, second = (np.array(w[mode]["table"]) for w in worker_tables)
    assert [w[mode]["type"] for w in worker_tables] == ["MirroredVariable"] * 2
    # lr 0.1 and 8 steps keep the table O(1): two converging runs.
    scale = np.abs(expected).max()
    assert np.all(np.isfinite(expected))
    assert scale < 10.0
    # Both workers apply the same all-reduced update; a reduction may round
    # differently on each (a few float32 ulps), a missed update is far off.
    np.testing.assert_allclose(first, second, rtol=0, atol=1e-6 * scale)
    # The all-reduce adds the workers' halves in another order than one
    # device sums the batch: float32 rounding (eps 1.2e-7) carried through
    # 8 momentum steps. A wrongly reduced step (one worker's gradient, or
    # a mean where a sum is due) is off by order 1e-2 of the table.
    np.testing.assert_allclose(first, expected, rtol=0, atol=1e-4 * scale)
