"""Shared tables under `keras.distribution.DataParallel` on JAX.

JAX splits the host CPU into two devices only if `XLA_FLAGS` says so
before it is imported, so the check runs in a fresh process. One model
(a `HashTable` shared by two layers, batch normalization, a layer of its
own with zeros and signs) is trained for a few steps on one device and,
from the same weights, on two devices with the batch split between them.

Tolerance: under `DataParallel`, JAX compiles one program for the global
batch (GSPMD), so the two runs compute the same sums (batch-norm
statistics included) in a different order: each device sums its half of
the batch, then the halves are added. In float32 (unit roundoff
`u = 2**-24`, about 6e-8) a reordered sum of `n` terms differs by at most
about `n * u` times the sum of their magnitudes. With O(1) weights and
inputs, learning rate 0.01 and 8 steps, the updates (at most about 0.01
each) carry errors far below an ulp of the O(1) weights, so the weights
may differ by a few ulps of 1, that is ~1e-7: we allow 1e-6 (measured:
6e-8, one ulp of the largest weights) and check that training moved every
weight by over 1e-3, a thousand times more.
"""

import os

import keras
import pytest

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "jax",
    reason="keras.distribution.DataParallel over host devices is tested on "
    f"JAX; the Keras backend is {keras.backend.backend()!r}.",
)

TOLERANCE = 1e-6

_DATA_PARALLEL = r"""
import jax
import keras
import numpy as np

from arbnet_keras import HashedDense
from arbnet_keras import HashTable
from arbnet_keras.training import compile_paper

SHARDINGS = []


class Probe(keras.layers.Layer):
    # Records how the batch reaching the first layer is laid out.
    def call(self, inputs):
        jax.debug.inspect_array_sharding(inputs, callback=SHARDINGS.append)
        return inputs


rng = np.random.default_rng(0)
x = rng.normal(size=(64, 20)).astype("float32")
y = rng.integers(0, 4, 64).astype("int32")


def build(mode):
    uniform = keras.initializers.RandomUniform(-0.5, 0.5, seed=1)
    table = HashTable(300, hash="dirichlet", seed=3, initializer=uniform,
                      name="shared")
    return keras.Sequential(
        [
            keras.Input((20,)),
            Probe(),
            HashedDense(16, table=table, activation="elu", kernel_mode=mode,
                        name="a"),
            keras.layers.BatchNormalization(),
            HashedDense(16, table=table, activation="elu", kernel_mode=mode,
                        name="b"),
            HashedDense(4, hash="neighborhood", table_size=30, seed=1,
                        sparsity=0.2, sign=True, kernel_mode=mode,
                        table_initializer=keras.initializers.RandomUniform(
                            -0.5, 0.5, seed=2),
                        name="c"),
        ]
    )


def train(model):
    callbacks = compile_paper(model, learning_rate=0.01)
    history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False,
                        verbose=0, callbacks=callbacks)
    layout = SHARDINGS[-1]
    SHARDINGS.clear()
    return history.history, layout


results = {"devices": [str(d) for d in jax.devices()]}
for mode in ("auto", "gather"):
    single = build(mode)
    initial = single.get_weights()
    single_history, single_layout = train(single)
    distribution = keras.distribution.DataParallel(devices=jax.devices())
    with distribution.scope():
        parallel = build(mode)
        parallel.set_weights(initial)
        parallel_history, parallel_layout = train(parallel)
    table = parallel.get_layer("a").table_variable
    results[mode] = {
        "shared": table is parallel.get_layer("b").table_variable,
        "table_devices": len(table.value.sharding.device_set),
        "table_replicated": table.value.sharding.is_fully_replicated,
        "single_batch_devices": len(single_layout.device_set),
        "batch_devices": len(parallel_layout.device_set),
        "batch_shard": list(parallel_layout.shard_shape((16, 20))),
        "weight_diff": max(
            float(np.abs(a - b).max())
            for a, b in zip(parallel.get_weights(), single.get_weights())
        ),
        "largest": max(float(np.abs(w).max()) for w in single.get_weights()),
        "trained": min(
            float(np.abs(a - b).max())
            for a, b in zip(initial, single.get_weights())
        ),
        "loss": [single_history["loss"], parallel_history["loss"]],
        "learning_rate": parallel_history["learning_rate"],
    }
emit(results)
"""


@pytest.fixture(scope="module")
def results():
    # `run_python` is function-scoped: run the subprocess once per module.
    return {}


@pytest.fixture
def data_parallel(run_python, results):
    if not results:
        flags = os.environ.get("XLA_FLAGS", "")
        results.update(
            run_python(
                _DATA_PARALLEL,
                env={
                    "KERAS_BACKEND": "jax",
                    "XLA_FLAGS": (
                        f"{flags} --xla_force_host_platform_device_count=2"
                    ).strip(),
                },
                timeout=240,
            )
        )
    return results


def test_two_host_devices(data_parallel):
    assert len(data_parallel["devices"]) == 2


@pytest.mark.parametrize("mode", ["auto", "gather"])
def test_batch_split_and_table_replicated(data_parallel, mode):
    result = data_parallel[mode]
    assert result["single_batch_devices"] == 1
    assert result["batch_devices"] == 2
    assert result["batch_shard"] == [8, 20]
    assert result["shared"]
    assert result["table_devices"] == 2
    assert result["table_replicated"]


@pytest.mark.parametrize("mode", ["auto", "gather"])
def test_same_weights_as_one_device(data_parallel, mode):
    result = data_parallel[mode]
    assert result["largest"] < 2  # O(1) weights: the tolerance's premise.
    assert result["trained"] > 1000 * TOLERANCE
    assert result["weight_diff"] < TOLERANCE
    single, parallel = result["loss"]
    assert parallel == pytest.approx(single, rel=TOLERANCE)
    # compile_paper's ReduceLROnPlateau ran (and kept the rate).
    assert result["learning_rate"] == pytest.approx([0.01, 0.01])
