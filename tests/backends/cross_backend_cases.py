"""The models of the cross-backend test, built alike on every backend.

Run once per backend by `cross_backend_test.py`, each time in a fresh
process whose `KERAS_BACKEND` is that backend:

    KERAS_BACKEND=tensorflow python cross_backend_cases.py save DIR
    KERAS_BACKEND=jax python cross_backend_cases.py load DIR

`save` (the reference backend) gives every model random weights drawn
with NumPy, then writes `DIR/CASE.weights.h5`, `DIR/CASE.keras` and
`DIR/reference.npz` (the inputs and the predictions). Both modes write
`DIR/BACKEND.npz`, per case:

- `CASE/index/LAYER`: the layer's `kernel` (or `embeddings`) when every
  weight of the model holds `1, 2, 3...`: a table entry `i` reads `i + 1`,
  times the weight's sign, or 0 where the weight is a fixed zero. It is
  the sharing index, read through the backend's own kernel computation.
- `CASE/kernel/LAYER`: the kernel once the reference weights are loaded.
- `CASE/weights`: predictions after `load_weights` of the reference file.
- `CASE/keras`: predictions of the reference `.keras` file, loaded here.
"""

import os
import pathlib
import sys

import keras
import numpy as np

from arbnet_keras import HashedConv2D
from arbnet_keras import HashedDense
from arbnet_keras import HashedEmbedding
from arbnet_keras import HashTable
from arbnet_keras import hashing

# Every named hash (`hashing.ALIASES`); `kmeans` is fitted to a fixed
# NumPy weight, so its index comes from data rather than a seed.
HASHES = (
    "identity",
    "modulus",
    "uniform",
    "dirichlet",
    "neighborhood",
    "hashed_nets",
    "kmeans",
)
# Hashes that `kernel_mode="hash"` computes inside the step.
GRAPH_HASHES = ("modulus", "hashed_nets")


def _hash_kwargs(name, shape, seed):
    """`hash`, size, sign and sparsity arguments of a layer."""
    size = int(np.prod(shape))
    if name == "identity":
        return {"hash": "identity", "seed": seed, "sparsity": 0.25}
    if name == "kmeans":
        weights = np.random.default_rng(seed).normal(size=shape)
        return {
            "hash": hashing.KMeans(5).fit(weights),
            "seed": seed,
            "sign": True,
        }
    return {
        "hash": name,
        "table_size": max(3, size // 4),
        "seed": seed,
        "sign": True,
        "sparsity": 0.25,
    }


def dense_model(hash_name, kernel_mode):
    kwargs = _hash_kwargs(hash_name, (12, 8), 3)
    if kernel_mode == "hash":
        # Computed in the step: no zeros, and signs only from HashedNets.
        kwargs.pop("sparsity", None)
        if hash_name != "hashed_nets":
            kwargs.pop("sign", None)
    second = _hash_kwargs(hash_name, (8, 4), 5)
    second.pop("sign", None)
    second.pop("sparsity", None)
    return keras.Sequential(
        [
            keras.Input((12,)),
            HashedDense(
                8,
                activation="elu",
                kernel_mode=kernel_mode,
                name="first",
                **kwargs,
            ),
            HashedDense(4, kernel_mode=kernel_mode, name="second", **second),
        ]
    )


def conv_model(hash_name):
    return keras.Sequential(
        [
            keras.Input((7, 7, 3)),
            HashedConv2D(
                4,
                3,
                padding="same",
                name="conv",
                **_hash_kwargs(hash_name, (3, 3, 3, 4), 7),
            ),
        ]
    )


def embedding_model(hash_name):
    return keras.Sequential(
        [
            keras.Input((5,), dtype="int32"),
            HashedEmbedding(
                30, 4, name="embedding", **_hash_kwargs(hash_name, (30, 4), 9)
            ),
        ]
    )


def shared_model(hash_name):
    """One `HashTable` shared by an embedding, a convolution and a dense."""
    table = HashTable(64, hash=hash_name, seed=11, name="table")
    tokens = keras.Input((5,), dtype="int32", name="tokens")
    image = keras.Input((6, 6, 2), name="image")
    embedded = HashedEmbedding(20, 3, table=table, sign=True, name="embedding")(
        tokens
    )
    features = HashedConv2D(3, 3, table=table, sparsity=0.25, name="conv")(
        image
    )
    merged = keras.layers.Concatenate()(
        [keras.layers.Flatten()(embedded), keras.layers.Flatten()(features)]
    )
    outputs = HashedDense(5, table=table, sign=True, name="dense")(merged)
    return keras.Model([tokens, image], outputs)


def cases():
    """`{name: (build, input_kind)}` for every case."""
    result = {}
    for name in HASHES:
        for mode in ("auto", "gather"):
            result[f"dense-{name}-{mode}"] = (
                lambda name=name, mode=mode: dense_model(name, mode),
                "dense",
            )
        result[f"conv-{name}"] = (lambda name=name: conv_model(name), "conv")
        result[f"embedding-{name}"] = (
            lambda name=name: embedding_model(name),
            "embedding",
        )
    for name in GRAPH_HASHES:
        result[f"dense-{name}-hash"] = (
            lambda name=name: dense_model(name, "hash"),
            "dense",
        )
    for name in ("dirichlet", "hashed_nets"):
        result[f"shared-{name}"] = (
            lambda name=name: shared_model(name),
            "shared",
        )
    return result


def make_inputs(kind, rng):
    if kind == "dense":
        return rng.normal(size=(16, 12)).astype("float32")
    if kind == "conv":
        return rng.normal(size=(4, 7, 7, 3)).astype("float32")
    if kind == "embedding":
        return rng.integers(0, 30, (8, 5)).astype("int32")
    return [
        rng.integers(0, 20, (8, 5)).astype("int32"),
        rng.normal(size=(8, 6, 6, 2)).astype("float32"),
    ]


def _pack(inputs):
    return inputs if isinstance(inputs, list) else [inputs]


def _unpack(arrays):
    return arrays if len(arrays) > 1 else arrays[0]


def _hashed_kernels(model):
    kernels = {}
    for layer in model.layers:
        if isinstance(layer, HashedEmbedding):
            kernels[layer.name] = layer.embeddings
        elif isinstance(layer, (HashedDense, HashedConv2D)):
            kernels[layer.name] = layer.kernel
    return {k: keras.ops.convert_to_numpy(v) for k, v in kernels.items()}


def _predict(model, inputs):
    return keras.ops.convert_to_numpy(model(inputs, training=False))


def run(mode, directory):
    directory = pathlib.Path(directory)
    backend = keras.backend.backend()
    results = {}
    if mode == "save":
        rng = np.random.default_rng(0)
        reference = {}
    else:
        reference = dict(np.load(directory / "reference.npz"))
    for case, (build, kind) in cases().items():
        model = build()
        # Counting weights: entry `i` of every table reads `i + 1`.
        model.set_weights(
            [
                np.arange(1, w.size + 1, dtype="float32").reshape(w.shape)
                for w in model.get_weights()
            ]
        )
        for layer, kernel in _hashed_kernels(model).items():
            results[f"{case}/index/{layer}"] = kernel
        weights_path = directory / f"{case}.weights.h5"
        keras_path = directory / f"{case}.keras"
        if mode == "save":
            inputs = make_inputs(kind, rng)
            for i, array in enumerate(_pack(inputs)):
                reference[f"{case}/input/{i}"] = array
            model.set_weights(
                [
                    rng.uniform(-0.5, 0.5, w.shape).astype("float32")
                    for w in model.get_weights()
                ]
            )
            model.save_weights(weights_path)
            model.save(keras_path)
            reference[f"{case}/output"] = _predict(model, inputs)
        else:
            inputs = _unpack(
                [
                    reference[f"{case}/input/{i}"]
                    for i in range(2 if kind == "shared" else 1)
                ]
            )
            model.load_weights(weights_path)
        for layer, kernel in _hashed_kernels(model).items():
            results[f"{case}/kernel/{layer}"] = kernel
        results[f"{case}/weights"] = _predict(model, inputs)
        loaded = keras.saving.load_model(keras_path)
        results[f"{case}/keras"] = _predict(loaded, inputs)
        keras.backend.clear_session()
    if mode == "save":
        np.savez(directory / "reference.npz", backend=backend, **reference)
    np.savez(directory / f"{backend}.npz", **results)
    print(f"{backend}: {len(cases())} cases written to {directory}")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("save", "load"):
        sys.exit(f"usage: {os.path.basename(__file__)} save|load DIR")
    run(sys.argv[1], sys.argv[2])
