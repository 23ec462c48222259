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
LIMIT = 180
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


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@pytest.fixture(scope="module")
def worker_tables(tmp_path_factory):
    directory = tmp_path_factory.mktemp("multi_worker")
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    processes, logs = [], []
    try:
        for index in range(2):
            env = dict(os.environ)
            env.update(
                TF_CPP_MIN_LOG_LEVEL="3",
                KERAS_BACKEND="tensorflow",
                PYTHONPATH=os.pathsep.join(
                    [REPO_ROOT] + [p for p in [env.get("PYTHONPATH")] if p]
                ),
                TF_CONFIG=json.dumps(
                    {
                        "cluster": cluster,
                        "task": {"type": "worker", "index": index},
                    }
                ),
            )
            log = open(directory / f"worker{index}.log", "w")
            logs.append(log)
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        f"MARKER = {MARKER!r}\n" + _WORKER,
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=REPO_ROOT,
                    start_new_session=True,
                )
            )
        deadline = time.monotonic() + LIMIT
        codes = []
        for process in processes:
            try:
                codes.append(
                    process.wait(max(1.0, deadline - time.monotonic()))
                )
            except subprocess.TimeoutExpired:
                codes.append("timed out")
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        for log in logs:
            log.close()
    outputs = [
        (directory / f"worker{index}.log").read_text() for index in range(2)
    ]
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


@pytest.mark.parametrize("mode", ["auto", "gather"])
def test_two_workers_train_the_same_table_as_one_device(worker_tables, mode):
    import tensorflow as tf

    namespace = {}
    exec(compile(_TRAIN, "<train>", "exec"), namespace)
    reference = namespace["train"](tf.distribute.get_strategy(), mode)
    first, second = (np.array(w[mode]["table"]) for w in worker_tables)
    assert [w[mode]["type"] for w in worker_tables] == ["MirroredVariable"] * 2
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first, reference["table"], atol=1e-5)
