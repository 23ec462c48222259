"""`HashedDense` and shared tables under `tf.distribute.MirroredStrategy`.

Two logical CPU devices must be configured before TensorFlow initializes
its devices, so each check runs in a fresh process.
"""

import numpy as np
import pytest

_MIRRORED = r"""
import numpy as np

from arbnet_keras.distribute import logical_cpus

devices = logical_cpus(2)

import keras
import tensorflow as tf

from arbnet_keras import HashedDense
from arbnet_keras import HashTable
from arbnet_keras.training import compile_paper

rng = np.random.default_rng(0)
x = rng.normal(size=(64, 20)).astype("float32")
y = rng.integers(0, 4, 64).astype("int32")
strategy = tf.distribute.MirroredStrategy(devices)
loss_fn = keras.losses.SparseCategoricalCrossentropy(
    from_logits=True, reduction="sum"
)


def build(mode):
    # A table shared by two layers (gathered kernels) and a layer with its
    # own Neighborhood table, with zeros and signs (tiled in "auto" mode).
    table = HashTable(300, hash="dirichlet", seed=3, name="shared")
    return keras.Sequential(
        [
            keras.Input((20,)),
            HashedDense(16, table=table, activation="elu", kernel_mode=mode,
                        name="a"),
            HashedDense(16, table=table, activation="elu", kernel_mode=mode,
                        name="b"),
            HashedDense(4, hash="neighborhood", table_size=30, seed=1,
                        sparsity=0.2, sign=True, kernel_mode=mode, name="c"),
        ]
    )


def _relative_diff(actual, expected):
    # The largest difference over the largest magnitude, per variable.
    return max(
        float(np.abs(a - b).max() / np.abs(b).max())
        for a, b in zip(actual, expected)
    )


def gradients(model, xb, yb):
    with tf.GradientTape() as tape:
        loss = loss_fn(yb, model(xb, training=True))
    return tape.gradient(loss, model.trainable_variables)


results = {"devices": devices}
xb, yb = x[:16], y[:16]
for mode in ("auto", "gather", "hash"):
    keras.utils.set_random_seed(0)
    single = build(mode)
    initial = single.get_weights()
    single_grads = [tf.convert_to_tensor(g).numpy()
                    for g in gradients(single, xb, yb)]
    with strategy.scope():
        mirrored = build(mode)
        mirrored.set_weights(initial)
    table = mirrored.get_layer("a").table_variable

    grad_types = []

    @tf.function
    def replica_step(xr, yr):
        grads = gradients(mirrored, xr, yr)
        grad_types.extend(type(g).__name__ for g in grads)
        return [tf.convert_to_tensor(g) for g in grads]

    batch = next(iter(strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices((xb, yb)).batch(16))))
    per_replica = strategy.run(replica_step, args=batch)
    summed = [strategy.reduce("SUM", g, axis=None).numpy()
              for g in per_replica]
    halves = strategy.experimental_local_results(per_replica[0])

    callbacks = compile_paper(single)
    single.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0,
               callbacks=callbacks)
    with strategy.scope():
        callbacks = compile_paper(mirrored)
    mirrored.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0,
                 callbacks=callbacks)
    copies = [v.numpy() for v in table.value.values]
    results[mode] = {
        "jit_compile": bool(mirrored.jit_compile),
        "distributed": isinstance(table.value, tf.distribute.DistributedValues),
        "variable": type(table.value).__name__,
        "replicas": len(copies),
        "shared": table is mirrored.get_layer("b").table_variable,
        "trainable": len(mirrored.trainable_weights),
        "grad_types": {
            v.path.split("/", 1)[1]: name  # Without the model's name.
            for v, name in zip(mirrored.trainable_variables, grad_types)
        },
        # Differences relative to each variable's largest entry: the
        # all-reduce sums in another order than one device does.
        "grad_diff": _relative_diff(summed, single_grads),
        "halves_differ": _relative_diff([halves[0]], [halves[1]]),
        "half_vs_sum": _relative_diff([halves[0]], [single_grads[0]]),
        "copies_diff": _relative_diff([copies[0]], [copies[1]]),
        "weight_diff": _relative_diff(
            mirrored.get_weights(), single.get_weights()
        ),
        "largest": max(
            float(np.abs(w).max())
            for w in single.get_weights() + mirrored.get_weights()
        ),
        "trained": min(
            float(np.abs(a - b).max())
            for a, b in zip(initial, single.get_weights())
        ),
    }

results["same_count"] = logical_cpus(2) == devices
try:
    logical_cpus(3)
    results["reconfigure"] = "no error"
except RuntimeError as error:
    results["reconfigure"] = str(error)
emit(results)
"""


@pytest.fixture
def mirrored_results(run_python, _mirrored_cache):
    # `run_python` is function-scoped: run the subprocess once per module.
    if "results" not in _mirrored_cache:
        _mirrored_cache["results"] = run_python(_MIRRORED, timeout=240)
    return _mirrored_cache["results"]


@pytest.fixture(scope="module")
def _mirrored_cache():
    return {}


def test_two_logical_cpu_devices(mirrored_results):
    assert [d.split("/")[-1] for d in mirrored_results["devices"]] == [
        "device:CPU:0",
        "device:CPU:1",
    ]
    assert mirrored_results["same_count"]
    message = mirrored_results["reconfigure"]
    assert message.startswith("Cannot split the CPU into 3 logical devices")
    assert "already initialized" in message


@pytest.mark.parametrize("mode", ["auto", "gather", "hash"])
def test_tables_are_mirrored_and_shared(mirrored_results, mode):
    result = mirrored_results[mode]
    assert result["distributed"]
    assert result["variable"] == "MirroredVariable"
    assert result["replicas"] == 2
    assert result["shared"]
    # Two tables and three biases.
    assert result["trainable"] == 5
    # The library's default compilation works there: no XLA.
    assert result["jit_compile"] is False


@pytest.mark.parametrize(
    "mode, table_gradient",
    [
        ("auto", "SymbolicTensor"),
        ("gather", "IndexedSlices"),
        ("hash", "SymbolicTensor"),
    ],
)
def test_gradients_aggregate_across_replicas(
    mirrored_results, mode, table_gradient
):
    result = mirrored_results[mode]
    # The tables' gradients in a traced replica step: dense (bincount or
    # tiles folded back) in "auto" mode, `tf.IndexedSlices` in "gather",
    # dense again with the entries hashed in the step ("hash", whose
    # functions run uncompiled under a strategy).
    types = result["grad_types"]
    assert types["a/shared/table"] == table_gradient
    assert types["c/table"] == table_gradient
    assert types["a/bias"] == "SymbolicTensor"
    # Each replica saw half the batch; their sum is the full gradient.
    # Differences are relative to each variable's largest entry. One
    # half alone is off by O(1), so a missing or doubled replica fails.
    assert result["halves_differ"] > 1e-2
    assert result["half_vs_sum"] > 1e-2
    # The all-reduce adds the halves in another order than one device sums
    # the batch: float32 rounding (eps 1.2e-7) of sums of a few dozen
    # O(1) terms; 1e-5 is that with a wide margin.
    assert result["grad_diff"] < 1e-5


@pytest.mark.parametrize("mode", ["auto", "gather", "hash"])
def test_training_matches_a_single_device(mirrored_results, mode):
    result = mirrored_results[mode]
    # Weights stay O(1) (lr 0.1, 8 steps), so the comparison below is
    # between two converging runs, not two diverging ones.
    assert np.isfinite(result["largest"])
    assert result["largest"] < 10.0
    assert result["trained"] > 1e-3
    # The replicas apply the same all-reduced update; a reduction may round
    # differently on each, but an unsynchronized copy is off by a whole
    # update (order 1e-2 relative).
    assert result["copies_diff"] < 1e-5
    # Rounding differences of the gradients (above) carried through 8
    # momentum steps; a wrongly reduced step (a mean of the replicas'
    # sums, one replica only) moves the weights by order 1e-2 relative.
    assert result["weight_diff"] < 1e-4
