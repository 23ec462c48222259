"""GPU benchmark: hashed layers against `Dense` on JAX and PyTorch.

One command for a machine with CUDA builds of JAX and/or PyTorch, without
TensorFlow and without a network (Keras and arbnet_keras installed from
source carried along):

    python benchmarks/gpu.py                # every backend, < 8 minutes
    python benchmarks/gpu.py --backends torch --out /tmp/gpu
    python benchmarks/gpu.py --smoke        # tiny sizes; a CPU will do

Each backend whose framework is installed runs in a fresh process with
`KERAS_BACKEND` set, within its share of `--budget` seconds, and measures:

- `layers`: seconds per `model.fit` step of `Input -> HashedDense`
  (uniform and modulus hashes, a table of 1/10 of the weights) against
  `Input -> Dense`, for 2000x2000 and 8192x8192 layers, in float32 and
  in bfloat16 (the `mixed_bfloat16` dtype policy), batch 256, SGD with
  momentum, the models alternating over repeats after a warm-up;
- `network`: two epochs of the paper's CIFAR-10 network
  (`arbnet_keras.models.cifar10_mlp`, one uniform table of 1000 entries)
  and of its dense baseline on 50,000 random samples, compiled with
  `arbnet_keras.training.compile_paper` and fitted with its
  `ReduceLROnPlateau` callback; the second epoch is the one compared;
- peak GPU memory of each model: on PyTorch `torch.cuda.max_memory_allocated`
  above what was allocated before the model was built; on JAX the
  device's `memory_stats()`, whose peak cannot be reset, so the peak so
  far and the bytes the model added.

Models are compiled with `jit_compile="auto"`: `jax.jit` on JAX, eager
PyTorch (no `torch.compile`). TensorFlow is never imported: the results
say whether anything did.

Results go to `OUT/gpu.json`, rewritten after every measurement (a run
cut short keeps what it measured), and `OUT/gpu.md`, a Markdown table.
"""

import argparse
import gc
import importlib.util
import json
import os
import pathlib
import shlex
import subprocess
import sys
import time

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
if __package__ in (None, ""):
    # Run as a script: make the `benchmarks` package importable.
    sys.path.insert(0, str(REPO_ROOT))

BACKENDS = ("jax", "torch")
# Of the 8 minutes: two 15 s margins for a backend killed at its limit,
# the start and the report take the rest.
BUDGET_S = 420
GRACE_S = 15
DTYPES = ("float32", "mixed_bfloat16")
HASHES = ("uniform", "modulus")
TABLE = "1/10"

SIZES = {
    "full": {
        "layers": (2000, 8192),
        "batch": 256,
        "steps": 20,
        "repeats": 5,
        "network": (3072, (2000,) * 5, 10),
        "num_train": 50000,
        "network_batch": 128,
        "epochs": 2,
        # Seconds kept for the network, and the least to start a layer.
        "network_reserve_s": 100,
        "min_case_s": 20,
    },
    "smoke": {
        "layers": (64, 128),
        "batch": 16,
        "steps": 3,
        "repeats": 2,
        "network": (32, (16,) * 5, 10),
        "num_train": 256,
        "network_batch": 32,
        "epochs": 2,
        "network_reserve_s": 0,
        "min_case_s": 0,
    },
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Writes OUT/gpu.json and OUT/gpu.md.",
    )
    parser.add_argument(
        "--backends",
        nargs="+",
        choices=BACKENDS,
        default=list(BACKENDS),
        help="backends to run, one process each (default: both)",
    )
    parser.add_argument(
        "--out", default="gpu_results", help="output folder (gpu_results)"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=BUDGET_S,
        help=f"seconds for all backends together (default {BUDGET_S})",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes, a few steps; runs without a GPU",
    )
    # A backend's own process.
    parser.add_argument("--child", choices=BACKENDS, help=argparse.SUPPRESS)
    parser.add_argument("--deadline", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.command = shlex.join(
        [os.path.basename(sys.executable), "benchmarks/gpu.py"]
        + (sys.argv[1:] if argv is None else list(argv))
    )
    if args.budget <= 0:
        parser.error(f"--budget must be positive: {args.budget}")
    return args


def _write_json(data, path):
    # Write and rename, so a reader never sees half a file.
    path = pathlib.Path(path)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str) + "\n")
    os.replace(tmp, path)


# --- The backend's process ------------------------------------------------


class GpuMemory:
    """Peak accelerator memory of whatever runs between `start` and `stop`."""

    def __init__(self, backend):
        self.backend = backend
        if backend == "torch":
            import torch

            self.torch = torch if torch.cuda.is_available() else None
        else:
            import jax

            self.device = jax.devices()[0]

    def _jax_stats(self):
        return self.device.memory_stats() or {}

    def start(self):
        if self.backend == "torch":
            if self.torch is None:
                return None
            self.torch.cuda.synchronize()
            self.torch.cuda.reset_peak_memory_stats()
            return self.torch.cuda.memory_allocated()
        return self._jax_stats().get("bytes_in_use")

    def stop(self, before):
        mb = 2.0**20
        if before is None:
            return {}
        if self.backend == "torch":
            self.torch.cuda.synchronize()
            return {
                "peak_mb": (self.torch.cuda.max_memory_allocated() - before)
                / mb,
                "added_mb": (self.torch.cuda.memory_allocated() - before) / mb,
            }
        stats = self._jax_stats()
        return {
            "peak_so_far_mb": stats.get("peak_bytes_in_use", 0) / mb,
            "added_mb": (stats.get("bytes_in_use", 0) - before) / mb,
        }


def _device(backend):
    if backend == "torch":
        import torch

        if torch.cuda.is_available():
            return {"gpu": True, "name": torch.cuda.get_device_name(0)}
        return {"gpu": False, "name": "cpu"}
    import jax

    device = jax.devices()[0]
    return {
        "gpu": device.platform == "gpu",
        "name": getattr(device, "device_kind", str(device)),
    }


def _free(backend):
    import keras

    keras.backend.clear_session(free_memory=True)
    gc.collect()
    if backend == "torch":
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def device_batches(input_dim, num_classes, batch_size, num_batches=4):
    """A few random batches, put on the device once, cycled endlessly.

    The per-step host-to-device copy would be the same for both models and
    would only dilute their ratio.
    """
    import keras

    from benchmarks import builders

    x, y = builders.batches(input_dim, num_classes, batch_size, num_batches)
    return builders.CycledBatches(
        keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(y)
    )


def measure_layers(n, dtype, sizes, memory, backend, log):
    """Records of the hashed `n x n` layers against the dense one."""
    import keras

    from benchmarks import builders
    from benchmarks import timing

    keras.config.set_dtype_policy(dtype)
    runners, memories, builds, jit = {}, {}, {}, {}
    model = dataset = None
    try:
        dataset = device_batches(n, n, sizes["batch"])
        # Hashed first: on JAX the peak only ever grows.
        for name in (*HASHES, "dense"):
            before = memory.start()
            start = time.perf_counter()
            if name == "dense":
                model = builders.layer_model(n, n)
            else:
                model = builders.layer_model(n, n, name, TABLE)
            builders.compile_sgd(model, "auto")
            jit[name] = bool(model.jit_compile)
            runners[name] = timing.fit_runner(model, dataset, sizes["steps"])
            runners[name]()  # Warm-up: compiles, allocates the optimizer.
            builds[name] = time.perf_counter() - start
            memories[name] = memory.stop(before)
            log(f"  {name}: built and warmed up in {builds[name]:.1f} s")
        times = timing.interleave(runners, sizes["repeats"], warmup=0)
    finally:
        keras.config.set_dtype_policy("float32")
        runners.clear()
        model = dataset = None
        _free(backend)
    return [
        {
            "section": "layers",
            "n": n,
            "dtype": dtype,
            "hash": name,
            "table": TABLE,
            "batch": sizes["batch"],
            "steps": sizes["steps"],
            "repeats": sizes["repeats"],
            "jit_compile": jit[name],
            "build_and_warm_up_s": {
                "hashed": builds[name],
                "dense": builds["dense"],
            },
            "memory": {"hashed": memories[name], "dense": memories["dense"]},
            **timing.compare(times[name], times["dense"]),
        }
        for name in HASHES
    ]


def measure_network(sizes, memory, backend, log):
    """Epochs of the paper's CIFAR-10 network, hashed and dense."""
    import keras
    import numpy as np

    from arbnet_keras.models import hashed_mlp
    from arbnet_keras.training import compile_paper

    input_dim, hidden, num_classes = sizes["network"]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((sizes["num_train"], input_dim), dtype="float32")
    y = rng.integers(0, num_classes, sizes["num_train"]).astype("int32")

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)

    sides = {}
    for side, hash_name in (("hashed", "uniform"), ("dense", None)):
        timer = EpochTimer()
        before = memory.start()
        # `cifar10_mlp` is `hashed_mlp` with these sizes; the smoke run
        # shrinks them.
        model = hashed_mlp(
            input_dim,
            hidden,
            num_classes,
            hash=hash_name,
            table_size=1000,
            seed=0,
            name="cifar10_mlp",
        )
        callbacks = compile_paper(model)
        history = model.fit(
            x,
            y,
            batch_size=sizes["network_batch"],
            epochs=sizes["epochs"],
            callbacks=callbacks + [timer],
            verbose=0,
        )
        seconds = timer.seconds
        sides[side] = {
            "epoch_seconds": seconds,
            "params": int(model.count_params()),
            "jit_compile": bool(model.jit_compile),
            "learning_rate": [
                float(v) for v in history.history["learning_rate"]
            ],
            "loss": [float(v) for v in history.history["loss"]],
            "memory": memory.stop(before),
        }
        epochs = ", ".join(f"{s:.1f}" for s in seconds)
        log(f"  network {side}: epochs of {epochs} s")
        del model
        _free(backend)
    return {
        "section": "network",
        "network": "cifar10_mlp" if input_dim == 3072 else "tiny_mlp",
        "layout": [input_dim, list(hidden), num_classes],
        "hash": "uniform",
        "table_size": 1000,
        "num_train": sizes["num_train"],
        "batch": sizes["network_batch"],
        "steps_per_epoch": -(-sizes["num_train"] // sizes["network_batch"]),
        "scheduler": "ReduceLROnPlateau (compile_paper)",
        **sides,
        "ratio": sides["hashed"]["epoch_seconds"][-1]
        / sides["dense"]["epoch_seconds"][-1],
    }


def child(args):
    """Runs one backend's measurements; writes `OUT/gpu_BACKEND.json`."""
    backend = args.child
    import keras

    if keras.backend.backend() != backend:
        sys.exit(
            f"KERAS_BACKEND must be {backend!r} for --child {backend}. "
            f"Received: {keras.backend.backend()!r}"
        )
    from benchmarks import report

    sizes = SIZES["smoke" if args.smoke else "full"]
    path = pathlib.Path(args.out) / f"gpu_{backend}.json"
    device = _device(backend)
    results = {
        "backend": backend,
        "status": "running",
        "device": device,
        "machine": report.machine_info(),
        "sizes": sizes,
        "records": [],
        "skipped": [],
    }

    def log(message):
        print(f"[{backend}] {message}", flush=True)

    def left():
        return args.deadline - time.time()

    _write_json(results, path)
    if not device["gpu"] and not args.smoke:
        results["status"] = f"skipped: {backend} sees no GPU"
        log(results["status"])
        _write_json(results, path)
        return
    memory = GpuMemory(backend)
    log(f"device {device['name']}, {left():.0f} s")
    for n in sizes["layers"]:
        for dtype in DTYPES:
            case = f"layers {n}x{n} {dtype}"
            if left() - sizes["network_reserve_s"] < sizes["min_case_s"]:
                results["skipped"].append(f"{case}: out of time")
                log(f"{case}: skipped, out of time")
                continue
            log(case)
            start = time.perf_counter()
            try:
                results["records"].extend(
                    measure_layers(n, dtype, sizes, memory, backend, log)
                )
            except Exception as exc:  # noqa: BLE001 - reported in the output
                results["records"].append(
                    {
                        "section": "layers",
                        "n": n,
                        "dtype": dtype,
                        "error": f"{type(exc).__name__}: {exc}",
                    }
                )
                log(f"{case}: {type(exc).__name__}: {exc}")
            log(f"{case}: {time.perf_counter() - start:.0f} s")
            _write_json(results, path)
    if left() > sizes["min_case_s"]:
        log("network")
        try:
            results["records"].append(
                measure_network(sizes, memory, backend, log)
            )
        except Exception as exc:  # noqa: BLE001
            results["records"].append(
                {"section": "network", "error": f"{type(exc).__name__}: {exc}"}
            )
            log(f"network: {type(exc).__name__}: {exc}")
    else:
        results["skipped"].append("network: out of time")
    results["tensorflow_imported"] = "tensorflow" in sys.modules
    results["status"] = "done"
    _write_json(results, path)
    log(f"done, {left():.0f} s left")


# --- The coordinating process ---------------------------------------------


def run_backends(args):
    """Runs each backend in its own process; returns the combined results."""
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.time()
    end = start + args.budget
    combined = {
        "schema_version": 1,
        "command": args.command,
        "budget_s": args.budget,
        "smoke": args.smoke,
        "backends": {},
    }
    for i, backend in enumerate(args.backends):
        share = (end - time.time()) / (len(args.backends) - i)
        partial = out / f"gpu_{backend}.json"
        partial.unlink(missing_ok=True)
        if share < 10:
            status = "skipped: out of time"
        elif importlib.util.find_spec(backend) is None:
            status = f"skipped: {backend} is not installed"
        else:
            status = _run_child(args, backend, share, partial)
        result = {"status": status}
        if partial.exists():
            result = json.loads(partial.read_text())
            if status != "done":
                result["status"] = status
        combined["backends"][backend] = result
        combined["duration_s"] = time.time() - start
        _write_json(combined, out / "gpu.json")
        (out / "gpu.md").write_text("\n".join(markdown(combined)) + "\n")
    return combined


def _run_child(args, backend, share, partial):
    env = dict(os.environ, KERAS_BACKEND=backend)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT)] + [p for p in [env.get("PYTHONPATH")] if p]
    )
    command = [
        sys.executable,
        str(pathlib.Path(__file__).resolve()),
        "--child",
        backend,
        "--out",
        args.out,
        "--deadline",
        str(time.time() + share),
    ] + (["--smoke"] if args.smoke else [])
    try:
        process = subprocess.run(command, env=env, timeout=share + GRACE_S)
    except subprocess.TimeoutExpired:
        return f"killed after {share + GRACE_S:.0f} s, results partial"
    if process.returncode != 0:
        return f"failed with exit code {process.returncode}, results partial"
    if not partial.exists():
        return "failed: no results written"
    return json.loads(partial.read_text())["status"]


def _mb(memory, backend):
    if not memory:
        return "-"
    if backend == "torch":
        return f"{memory['peak_mb']:.0f}"
    return f"{memory['added_mb']:.0f} ({memory['peak_so_far_mb']:.0f})"


def markdown(combined):
    """The Markdown report of the combined results, as a list of lines."""
    lines = ["# GPU benchmark: hashed against dense", ""]
    lines.append(
        f"`{combined['command']}`, {combined.get('duration_s', 0):.0f} s."
    )
    lines.append("")
    for backend, result in combined["backends"].items():
        if "machine" not in result:
            lines.append(f"- {backend}: {result['status']}")
            continue
        machine, device = result["machine"], result["device"]
        lines.append(
            f"- {backend} {machine['backend_version']}, Keras "
            f"{machine['keras']}, device {device['name']}: {result['status']}"
            + (
                f"; TensorFlow imported: {result['tensorflow_imported']}"
                if "tensorflow_imported" in result
                else ""
            )
        )
        for skipped in result.get("skipped", []):
            lines.append(f"  - not measured: {skipped}")
    lines += [
        "",
        "Train step, `Input -> HashedDense` against `Input -> Dense`, "
        f"table {TABLE} of the weights. Memory: MB of PyTorch's peak above "
        "the allocations before the model; on JAX the MB the model added "
        "(and the device's peak so far).",
        "",
        "| backend | dtype | layer | hash | batch | dense ms/step min / "
        "median | hashed ms/step min / median | median ratio | memory MB "
        "hashed | memory MB dense |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    networks = []
    for backend, result in combined["backends"].items():
        for record in result.get("records", []):
            if record["section"] == "network":
                networks.append((backend, record))
                continue
            layer = f"{record['n']}x{record['n']}"
            if "error" in record:
                lines.append(
                    f"| {backend} | {record['dtype']} | {layer} | | | "
                    f"error: {record['error']} | | | | |"
                )
                continue
            hashed, dense = record["hashed"], record["dense"]
            lines.append(
                f"| {backend} | {record['dtype']} | {layer} | "
                f"{record['hash']} | {record['batch']} | "
                f"{min(dense['raw']) * 1e3:.2f} / {dense['median'] * 1e3:.2f} "
                f"| {min(hashed['raw']) * 1e3:.2f} / "
                f"{hashed['median'] * 1e3:.2f} | {record['ratio']:.2f} | "
                f"{_mb(record['memory']['hashed'], backend)} | "
                f"{_mb(record['memory']['dense'], backend)} |"
            )
    lines += [
        "",
        "Paper's CIFAR-10 network, `compile_paper` with its "
        "`ReduceLROnPlateau`, random data; epoch 1 includes compiling.",
        "",
        "| backend | network | batch | steps/epoch | epoch 1 s hashed / "
        "dense | epoch 2 s hashed / dense | ratio | learning rate | memory "
        "MB hashed / dense |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for backend, record in networks:
        if "error" in record:
            lines.append(f"| {backend} | error: {record['error']} |||||||")
            continue
        hashed, dense = record["hashed"], record["dense"]
        lines.append(
            f"| {backend} | {record['network']} | {record['batch']} | "
            f"{record['steps_per_epoch']} | "
            f"{hashed['epoch_seconds'][0]:.1f} / "
            f"{dense['epoch_seconds'][0]:.1f} | "
            f"{hashed['epoch_seconds'][-1]:.2f} / "
            f"{dense['epoch_seconds'][-1]:.2f} | {record['ratio']:.2f} | "
            f"{', '.join(f'{v:g}' for v in hashed['learning_rate'])} | "
            f"{_mb(hashed['memory'], backend)} / "
            f"{_mb(dense['memory'], backend)} |"
        )
    return lines


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        child(args)
        return None
    combined = run_backends(args)
    print("\n".join(markdown(combined)))
    print(f"wrote {pathlib.Path(args.out) / 'gpu.json'} and gpu.md")
    return combined


if __name__ == "__main__":
    main()
