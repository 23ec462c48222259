"""Peak memory of training one network, measured in a fresh process.

Run by `sections.memory` as

    python -m benchmarks.memory_probe '{"network": "cifar10_mlp", ...}'

It prints `MARKER` and then one line of JSON with `baseline_mb`
(resident memory after importing the backend's framework, Keras and
arbnet_keras), `baseline_max_mb` (peak resident memory until then),
`built_mb`
(resident memory after building the model), `peak_mb` (peak resident
memory of the whole process, after fitting: `VmHWM`), `ru_maxrss_mb`
(`getrusage`'s figure, see `ru_maxrss_mb`) and `num_params`.
"""

import json
import os
import resource
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

MARKER = "@@ARBNET_BENCHMARK_RESULT@@"


def ru_maxrss_mb():
    """`ru_maxrss` of this process (Linux: KiB), in MiB.

    On Linux it is at least the parent's resident memory when this
    process was started (the kernel carries it over fork and exec), so a
    probe started by a large parent reports the parent's size.
    """
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _status_mb(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def current_rss_mb():
    """Current resident memory (`VmRSS`), in MiB."""
    return _status_mb("VmRSS")


def max_rss_mb():
    """Peak resident memory since this process started, in MiB.

    `VmHWM` where `/proc` has it (Linux), which, unlike `ru_maxrss`,
    starts afresh at `exec`; `ru_maxrss` elsewhere.
    """
    peak = _status_mb("VmHWM")
    return ru_maxrss_mb() if peak is None else peak


def main(argv):
    spec = json.loads(argv[1])
    import importlib

    import keras

    # The backend's framework is part of the baseline.
    importlib.import_module(keras.backend.backend())

    import arbnet_keras  # noqa: F401
    from benchmarks import builders
    from benchmarks import config

    baseline = current_rss_mb()
    baseline_max = max_rss_mb()
    input_dim, _, num_classes, _ = config.NETWORKS[spec["network"]]
    dataset = builders.train_dataset(input_dim, num_classes, spec["batch"])
    model = builders.network_model(
        spec["network"],
        spec["hash"],
        spec["table_size"],
        **spec.get("layer_kwargs", {}),
    )
    built = current_rss_mb()
    builders.compile_network(model, False, spec.get("recipe", "paper"))
    model.fit(
        dataset,
        epochs=1,
        steps_per_epoch=spec["steps"],
        verbose=0,
        shuffle=False,
    )
    result = {
        "baseline_mb": baseline,
        "baseline_max_mb": baseline_max,
        "built_mb": built,
        "peak_mb": max_rss_mb(),
        "ru_maxrss_mb": ru_maxrss_mb(),
        "num_params": int(model.count_params()),
    }
    print(MARKER)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv)
