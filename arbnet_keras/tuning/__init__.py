"""Hyperparameter search over ArbNets with KerasTuner.

`ArbNetHyperModel` is a `keras_tuner.HyperModel` of the paper's networks
whose search space covers the hash function and its parameters (`alpha`
of the Dirichlet hash on a log scale, `radius` of the Neighborhood hash),
the table size and the sparsity. It works with every KerasTuner tuner:

>>> from arbnet_keras import datasets, tuning
>>> data = datasets.load("mnist_5k")
>>> hypermodel = tuning.ArbNetHyperModel.for_dataset(data, hash="dirichlet")
>>> tuner = tuning.make_tuner("random", hypermodel, max_trials=10)
>>> tuner.search(data.train, validation_data=data.test, epochs=5)
>>> tuning.format_summary(tuning.summarize(tuner.oracle))

`serve_chief` and `run_worker` run a distributed search (KerasTuner's
chief oracle and its workers) with timeouts; `arbnet tune` is the command
line. This package needs the `tuning` extra
(`pip install "arbnet-keras[tuning]"`: keras-tuner and TensorBoard); its
modules import keras-tuner only when first used.
"""

import importlib

# Public name -> module that defines it (imported on first use, so that
# `arbnet_keras.tuning.cli` works without keras-tuner installed).
_EXPORTS = {
    "ALPHA_RANGE": "arbnet_keras.tuning.arbnet_hyper_model",
    "RADIUS_RANGE": "arbnet_keras.tuning.arbnet_hyper_model",
    "ArbNetHyperModel": "arbnet_keras.tuning.arbnet_hyper_model",
    "ChiefTimeoutError": "arbnet_keras.tuning.distributed",
    "ChiefUnreachableError": "arbnet_keras.tuning.distributed",
    "HASHES": "arbnet_keras.tuning.space",
    "TUNERS": "arbnet_keras.tuning.tuners",
    "check_search_dependencies": "arbnet_keras.tuning.dependencies",
    "distributed_env": "arbnet_keras.tuning.distributed",
    "format_summary": "arbnet_keras.tuning.results",
    "make_tuner": "arbnet_keras.tuning.tuners",
    "run_worker": "arbnet_keras.tuning.distributed",
    "serve_chief": "arbnet_keras.tuning.distributed",
    "space": "arbnet_keras.tuning.space",
    "summarize": "arbnet_keras.tuning.results",
    "write_summary": "arbnet_keras.tuning.results",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(
            f"module 'arbnet_keras.tuning' has no attribute {name!r}"
        )
    module = importlib.import_module(module_name)
    value = module if name == "space" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
