"""The benchmark sections: each measures hashed models against dense ones.

Every section function takes its preset settings (see `config.PRESETS`),
the list of hashed-layer variants (extra `HashedDense` arguments, such as
`kernel_mode`) and a `log` function, and returns
`{"records": [...], "notes": [...]}`. A record is a dict with `section`,
`label`, `params`, `metric`, `hashed` and `dense` (each `{"raw": [...],
"median": ...}`, `dense` may be `None`), `ratio` (`hashed / dense`, or
`None`) and `ratio_raw`; a case that failed has an `error` instead.
"""

import functools
import gc
import itertools
import json
import math
import os
import pathlib
import subprocess
import sys
import tempfile
import traceback

import keras
import numpy as np

from arbnet_keras import hashing
from arbnet_keras import saving
from benchmarks import builders
from benchmarks import config
from benchmarks import timing
from benchmarks.memory_probe import MARKER as RESULT_MARKER

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent

TOEPLITZ_NOTE = (
    "toeplitz: not measured: the Toeplitz hash describes a convolution "
    "(it needs an input image shape and a kernel size), not a dense layer "
    "of these shapes."
)


def _record(section, label, params, metric, hashed, dense):
    record = {
        "section": section,
        "label": label,
        "params": params,
        "metric": metric,
    }
    if dense is None:
        record.update(
            hashed=timing.summary(hashed),
            dense=None,
            ratio=None,
            ratio_raw=[],
        )
    else:
        record.update(timing.compare(hashed, dense))
    return record


def _error(section, label, params, exc):
    return {
        "section": section,
        "label": label,
        "params": params,
        "error": f"{type(exc).__name__}: {exc}",
        "traceback": traceback.format_exc(limit=4),
    }


def _fresh():
    keras.backend.clear_session(free_memory=True)
    gc.collect()


def _suffix(variant):
    return f" [{variant['name']}]" if variant["name"] else ""


def _xla(xla):
    if xla == "auto":
        # Keras resolves it per backend; `params["jit_compile"]` says how.
        return "jit-auto"
    return "xla" if xla else "no-xla"


def _inputs(settings):
    """The training input kinds of a section (`builders.INPUTS`)."""
    return settings.get("inputs", ["tf.data"])


def _inputs_suffix(inputs):
    # Labels of `tf.data` records are those of earlier results files.
    return "" if inputs == "tf.data" else f" {inputs}"


def _warm_up(runners, failures):
    """Calls each runner once; moves the failing ones to `failures`."""
    for name in list(runners):
        try:
            runners[name]()
        except Exception as exc:  # noqa: BLE001 - reported in the output
            failures[name] = exc
            del runners[name]


def _measure(runners, repeats, failures):
    _warm_up(runners, failures)
    if "dense" not in runners:
        return {}
    return timing.interleave(runners, repeats, warmup=0)


def train_step(settings, variants, log):
    """Seconds per `fit` step of one-layer models, hashed and dense."""
    steps, repeats = settings["steps"], settings["repeats"]
    groups = {}
    for case in settings["cases"]:
        for inputs in _inputs(settings):
            key = (tuple(case["shape"]), case["batch"], case["xla"], inputs)
            groups.setdefault(key, []).append(case)
    records = []
    for (shape, batch, xla, inputs), cases in groups.items():
        _fresh()
        input_dim, units = shape
        num_weights = input_dim * units
        log(
            f"train_step {input_dim}x{units} batch {batch} {_xla(xla)} "
            f"{inputs}: {len(cases) * len(variants)} hashed models"
        )
        dataset = builders.train_data(inputs, input_dim, units, batch, steps)
        dense = builders.layer_model(input_dim, units)
        builders.compile_sgd(dense, xla)
        runners = {"dense": timing.fit_runner(dense, dataset, steps)}
        params, failures = {}, {}
        for case in cases:
            for variant in variants:
                label = (
                    f"{input_dim}x{units} {case['hash']} {case['table']} "
                    f"b{batch} {_xla(xla)}{_inputs_suffix(inputs)}"
                    f"{_suffix(variant)}"
                )
                params[label] = {
                    "input_dim": input_dim,
                    "units": units,
                    "hash": case["hash"],
                    "table": case["table"],
                    "table_entries": builders.table_entries(
                        case["hash"], case["table"], num_weights
                    ),
                    "virtual_weights": num_weights,
                    "batch": batch,
                    "xla": xla,
                    "inputs": inputs,
                    "variant": variant["name"],
                    "layer_kwargs": variant["kwargs"],
                    "steps": steps,
                    "repeats": repeats,
                }
                try:
                    model = builders.layer_model(
                        input_dim,
                        units,
                        case["hash"],
                        case["table"],
                        **variant["kwargs"],
                    )
                    builders.compile_sgd(model, xla)
                except Exception as exc:  # noqa: BLE001
                    failures[label] = exc
                    continue
                params[label]["jit_compile"] = model.jit_compile
                runners[label] = timing.fit_runner(model, dataset, steps)
        times = _measure(runners, repeats, failures)
        for label in params:
            if label in failures or label not in times:
                exc = failures.get(label) or failures.get("dense")
                records.append(_error("train_step", label, params[label], exc))
                continue
            records.append(
                _record(
                    "train_step",
                    label,
                    params[label],
                    "seconds_per_step",
                    times[label],
                    times["dense"],
                )
            )
    notes = [TOEPLITZ_NOTE]
    return {"records": records, "notes": notes}


def networks(settings, variants, log):
    """Seconds per `fit` step of the paper's networks, hashed and dense."""
    steps, repeats = settings["steps"], settings["repeats"]
    recipe = settings.get("recipe", "paper")
    # `batch`: one batch size, or a list of them.
    batch_sizes = settings["batch"]
    if isinstance(batch_sizes, int):
        batch_sizes = [batch_sizes]
    records = []
    for name in settings["networks"]:
        input_dim, _, num_classes, num_train = config.NETWORKS[name]
        for batch, xla, inputs in itertools.product(
            batch_sizes, settings["xla"], _inputs(settings)
        ):
            steps_per_epoch = math.ceil(num_train / batch)
            _fresh()
            log(f"networks {name} batch {batch} {_xla(xla)} {inputs}")
            dataset = builders.train_data(
                inputs, input_dim, num_classes, batch, steps
            )
            dense, dense_build = timing.timed(
                builders.network_model, name, None
            )
            builders.compile_network(dense, xla, recipe)
            runners = {"dense": timing.fit_runner(dense, dataset, steps)}
            params, failures = {}, {}
            for variant in variants:
                label = f"{name} uniform {settings['table_size']} "
                label += f"b{batch} {_xla(xla)}{_inputs_suffix(inputs)}"
                label += _suffix(variant)
                params[label] = {
                    "network": name,
                    "hash": "uniform",
                    "table_size": settings["table_size"],
                    "batch": batch,
                    "xla": xla,
                    "inputs": inputs,
                    "recipe": recipe,
                    "variant": variant["name"],
                    "layer_kwargs": variant["kwargs"],
                    "steps": steps,
                    "repeats": repeats,
                    "steps_per_epoch": steps_per_epoch,
                    "num_train": num_train,
                    "dense_build_s": dense_build,
                }
                try:
                    model, build = timing.timed(
                        builders.network_model,
                        name,
                        "uniform",
                        settings["table_size"],
                        **variant["kwargs"],
                    )
                    builders.compile_network(model, xla, recipe)
                except Exception as exc:  # noqa: BLE001
                    failures[label] = exc
                    continue
                params[label]["hashed_build_s"] = build
                params[label]["jit_compile"] = model.jit_compile
                runners[label] = timing.fit_runner(model, dataset, steps)
            times = _measure(runners, repeats, failures)
            for label in params:
                if label in failures or label not in times:
                    exc = failures.get(label) or failures.get("dense")
                    records.append(
                        _error("networks", label, params[label], exc)
                    )
                    continue
                record = _record(
                    "networks",
                    label,
                    params[label],
                    "seconds_per_step",
                    times[label],
                    times["dense"],
                )
                for side in ("hashed", "dense"):
                    record[side]["epoch_seconds"] = (
                        record[side]["median"] * steps_per_epoch
                    )
                records.append(record)
    notes = [
        "Random data shaped like the real sets; epoch_seconds = median "
        f"step time x ceil(num_train / batch). Recipe: {recipe}."
    ]
    return {"records": records, "notes": notes}


def inference(settings, variants, log):
    """Seconds per `predict` batch, hashed and dense."""
    batch, num_batches = settings["batch"], settings["num_batches"]
    repeats = settings["repeats"]
    records = []
    jobs = []
    for input_dim, units in settings["layers"]:
        for xla in settings["xla"]:
            hashed = [
                (h, settings["table"], v)
                for h in settings["hashes"]
                for v in variants
            ]
            jobs.append(("layer", (input_dim, units), xla, hashed))
    for name in settings["networks"]:
        for xla in settings["xla"]:
            hashed = [("uniform", settings["table_size"], v) for v in variants]
            jobs.append(("network", name, xla, hashed))
    for kind, what, xla, hashed in jobs:
        _fresh()
        if kind == "layer":
            input_dim = what[0]
            title = f"{what[0]}x{what[1]}"
        else:
            input_dim = config.NETWORKS[what][0]
            title = what
        build = functools.partial(_build_model, kind, what)
        log(f"inference {title} {_xla(xla)}")
        dataset = builders.predict_dataset(input_dim, batch, num_batches)
        dense = build()
        builders.compile_sgd(dense, xla)
        runners = {"dense": timing.predict_runner(dense, dataset, num_batches)}
        params, failures = {}, {}
        for hash_name, table, variant in hashed:
            label = (
                f"{title} {hash_name} {table} b{batch} {_xla(xla)}"
                f"{_suffix(variant)}"
            )
            params[label] = {
                "model": title,
                "hash": hash_name,
                "table": table,
                "batch": batch,
                "num_batches": num_batches,
                "xla": xla,
                "variant": variant["name"],
                "layer_kwargs": variant["kwargs"],
                "repeats": repeats,
            }
            try:
                model = build(hash_name, table, variant)
                builders.compile_sgd(model, xla)
            except Exception as exc:  # noqa: BLE001
                failures[label] = exc
                continue
            runners[label] = timing.predict_runner(model, dataset, num_batches)
        times = _measure(runners, repeats, failures)
        for label in params:
            if label in failures or label not in times:
                exc = failures.get(label) or failures.get("dense")
                records.append(_error("inference", label, params[label], exc))
                continue
            records.append(
                _record(
                    "inference",
                    label,
                    params[label],
                    "seconds_per_batch",
                    times[label],
                    times["dense"],
                )
            )
    notes = [
        "model.predict over a fixed in-memory dataset; the hashed layer "
        "gathers its kernel on every batch."
    ]
    return {"records": records, "notes": notes}


def _build_model(kind, what, hash_name=None, table=None, variant=None):
    """A one-layer model (`what` a shape) or a network (`what` a name)."""
    kwargs = variant["kwargs"] if variant else {}
    if kind == "layer":
        return builders.layer_model(*what, hash_name, table, **kwargs)
    return builders.network_model(what, hash_name, table, **kwargs)


def probe_memory(specs, timeout=1800):
    """Runs `benchmarks.memory_probe` once per spec, two at a time.

    Each probe is a fresh process, so the probes do not share memory; two
    run side by side to save time.

    Returns:
        The list of the probes' result dicts, in the order of `specs`.
    """
    env = dict(os.environ)
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT)] + [p for p in [env.get("PYTHONPATH")] if p]
    )
    results = []
    for start in range(0, len(specs), 2):
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.memory_probe",
                    json.dumps(spec),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                cwd=str(REPO_ROOT),
            )
            for spec in specs[start : start + 2]
        ]
        for proc in procs:
            try:
                stdout, stderr = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                stdout, stderr = proc.communicate()
            if proc.returncode != 0 or RESULT_MARKER not in stdout:
                raise RuntimeError(
                    f"memory probe failed (exit code {proc.returncode}): "
                    f"{stderr[-2000:]}"
                )
            payload = stdout.split(RESULT_MARKER, 1)[1]
            results.append(json.loads(payload.strip().splitlines()[0]))
    return results


def memory(settings, variants, log):
    """Peak resident memory of training a network, in fresh processes."""
    records = []
    for name in settings["networks"]:
        spec = {
            "network": name,
            "table_size": settings["table_size"],
            "batch": settings["batch"],
            "steps": settings["steps"],
        }
        specs = [{**spec, "hash": None}] + [
            {**spec, "hash": "uniform", "layer_kwargs": v["kwargs"]}
            for v in variants
        ]
        dense_runs = []
        hashed_runs = {v["name"]: [] for v in variants}
        try:
            for _ in range(settings["repeats"]):
                log(f"memory {name}: {len(specs)} processes")
                dense_run, *runs = probe_memory(specs)
                dense_runs.append(dense_run)
                for variant, run in zip(variants, runs):
                    hashed_runs[variant["name"]].append(run)
        except Exception as exc:  # noqa: BLE001
            records.append(_error("memory", name, spec, exc))
            continue
        for variant in variants:
            runs = hashed_runs[variant["name"]]
            label = (
                f"{name} uniform {settings['table_size']} "
                f"b{settings['batch']}{_suffix(variant)}"
            )
            params = {
                **spec,
                "hash": "uniform",
                "variant": variant["name"],
                "layer_kwargs": variant["kwargs"],
            }
            record = _record(
                "memory",
                label,
                params,
                "peak_rss_above_baseline_mb",
                [r["peak_mb"] - r["baseline_mb"] for r in runs],
                [r["peak_mb"] - r["baseline_mb"] for r in dense_runs],
            )
            for side, side_runs in (("hashed", runs), ("dense", dense_runs)):
                for key in (
                    "peak_mb",
                    "baseline_mb",
                    "baseline_max_mb",
                    "built_mb",
                    "ru_maxrss_mb",
                ):
                    record[side][key] = float(
                        np.median([r[key] for r in side_runs])
                    )
                record[side]["num_params"] = side_runs[0]["num_params"]
            records.append(record)
    notes = [
        "Each model runs in a fresh process (two processes at a time): "
        "baseline_mb is the resident memory (VmRSS) after importing "
        "the backend, Keras and arbnet_keras (baseline_max_mb its peak so "
        "far), built_mb the resident memory after building the model, "
        "peak_mb the peak resident memory (VmHWM) after compiling and "
        "fitting. The ratio compares peak_mb - baseline_mb. (ru_maxrss_mb, "
        "also recorded, is no good here: Linux carries the parent's "
        "resident memory over fork and exec into the child's ru_maxrss.)"
    ]
    return {"records": records, "notes": notes}


def file_size(settings, variants, log):
    """Bytes of the `.keras` file of a network, hashed and dense."""
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in settings["networks"]:
            _fresh()
            log(f"file_size {name}")
            dense = builders.network_model(name, None)
            dense_path = os.path.join(tmp, f"{name}_dense.keras")
            dense.save(dense_path)
            dense_bytes = os.path.getsize(dense_path)
            for variant in variants:
                label = (
                    f"{name} uniform {settings['table_size']}{_suffix(variant)}"
                )
                params = {
                    "network": name,
                    "hash": "uniform",
                    "table_size": settings["table_size"],
                    "variant": variant["name"],
                    "layer_kwargs": variant["kwargs"],
                    "dense_params": int(dense.count_params()),
                }
                try:
                    model = builders.network_model(
                        name,
                        "uniform",
                        settings["table_size"],
                        **variant["kwargs"],
                    )
                    path = os.path.join(tmp, f"{name}_hashed.keras")
                    model.save(path)
                except Exception as exc:  # noqa: BLE001
                    records.append(_error("file_size", label, params, exc))
                    continue
                params["hashed_params"] = int(model.count_params())
                records.append(
                    _record(
                        "file_size",
                        label,
                        params,
                        "bytes",
                        [os.path.getsize(path)],
                        [dense_bytes],
                    )
                )
                # Both models again through `arbnet_keras.saving`, which
                # DEFLATE-compresses the members of the `.keras` archive.
                packed = os.path.join(tmp, f"{name}_packed.keras")
                records.append(
                    _record(
                        "file_size",
                        f"{label} [saving.save_model]",
                        dict(params, saver="arbnet_keras.saving.save_model"),
                        "bytes",
                        [saving.save_model(model, packed)],
                        [saving.save_model(dense, packed)],
                    )
                )
    notes = [
        "A hashed model saves its table and the other weights; the index "
        "is rebuilt from the config on loading. Rows marked "
        "[saving.save_model] save both models with "
        "arbnet_keras.saving.save_model (DEFLATE members), the others "
        "with model.save."
    ]
    return {"records": records, "notes": notes}


def _network_kernel_shapes(name):
    input_dim, hidden_units, num_classes, _ = config.NETWORKS[name]
    units = list(hidden_units) + [num_classes]
    return list(zip([input_dim] + units[:-1], units))


def _network_index(hash_name, shapes, table_size):
    """Builds the kernel index of every layer of a network-wide table."""
    hash_function = builders.make_hash(hash_name)
    if hash_name == "identity":
        table_size = sum(a * b for a, b in shapes)
    offset = 0
    for shape in shapes:
        index = hashing.kernel_index(
            hash_function,
            shape,
            table_size,
            0,
            id_offset=offset,
            position_offset=offset,
        )
        offset += index.num_ids


def index_build(settings, variants, log):
    """Seconds to build the sharing index of a network, per hash."""
    repeats = settings["repeats"]
    records = []
    notes = []
    for name in settings["networks"]:
        shapes = _network_kernel_shapes(name)
        num_weights = sum(a * b for a, b in shapes)
        _fresh()
        log(f"index_build {name}: dense model")
        dense_times = []
        for _ in range(repeats):
            model, seconds = timing.timed(builders.network_model, name, None)
            dense_times.append(seconds)
            del model
            _fresh()
        for hash_name in settings["hashes"]:
            log(f"index_build {name} {hash_name}")
            params = {
                "network": name,
                "hash": hash_name,
                "table_size": settings["table_size"],
                "virtual_weights": num_weights,
                "kernel_shapes": shapes,
                "repeats": repeats,
            }
            label = f"{name} {hash_name} kernel_index"
            try:
                times = [
                    timing.timed(
                        _network_index,
                        hash_name,
                        shapes,
                        settings["table_size"],
                    )[1]
                    for _ in range(repeats)
                ]
            except Exception as exc:  # noqa: BLE001
                records.append(_error("index_build", label, params, exc))
                continue
            records.append(
                _record("index_build", label, params, "seconds", times, None)
            )
            if hash_name == "identity":
                continue
            for variant in variants:
                label = f"{name} {hash_name} model{_suffix(variant)}"
                vparams = {
                    **params,
                    "variant": variant["name"],
                    "layer_kwargs": variant["kwargs"],
                }
                try:
                    times = []
                    for _ in range(repeats):
                        _fresh()
                        model, seconds = timing.timed(
                            builders.network_model,
                            name,
                            hash_name,
                            settings["table_size"],
                            **variant["kwargs"],
                        )
                        times.append(seconds)
                        del model
                except Exception as exc:  # noqa: BLE001
                    records.append(_error("index_build", label, vparams, exc))
                    continue
                records.append(
                    _record(
                        "index_build",
                        label,
                        vparams,
                        "seconds",
                        times,
                        dense_times,
                    )
                )
    notes.append(
        "kernel_index: NumPy time of `hashing.kernel_index` for all the "
        "kernels of the network (one network-wide table; the identity "
        "hash gets one entry per weight). model: construction and build "
        "of the Keras model, ratio to the dense model's; the identity hash "
        "builds the dense baseline itself, so it has no model row."
    )
    return {"records": records, "notes": notes}


def _available_memory_bytes():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def scaling(settings, variants, log):
    """Seconds per step of square layers from 1e5 to 1e8 weights."""
    steps, repeats = settings["steps"], settings["repeats"]
    batch, table = settings["batch"], settings["table"]
    records = []
    notes = []
    for n in settings["sizes"]:
        _fresh()
        num_weights = n * n
        log(f"scaling {n}x{n} ({num_weights:.1e} weights)")
        dataset = builders.train_dataset(n, n, batch, num_batches=2)
        runners, params, failures = {}, {}, {}
        # Kernel, gradient and momentum, plus a copy: four float32 copies.
        available = _available_memory_bytes()
        dense_fits = available is None or 16 * num_weights < available / 2
        dense_build = None
        if dense_fits:
            dense, dense_build = timing.timed(builders.layer_model, n, n)
            builders.compile_sgd(dense, False)
            runners["dense"] = timing.fit_runner(dense, dataset, steps)
        else:
            notes.append(f"{n}x{n}: dense skipped, not enough memory.")
        for variant in variants:
            label = f"{n}x{n} uniform {table} b{batch}{_suffix(variant)}"
            params[label] = {
                "n": n,
                "virtual_weights": num_weights,
                "hash": "uniform",
                "table": table,
                "table_entries": builders.table_entries(
                    "uniform", table, num_weights
                ),
                "batch": batch,
                "xla": False,
                "variant": variant["name"],
                "layer_kwargs": variant["kwargs"],
                "steps": steps,
                "repeats": repeats,
                "dense_build_s": dense_build,
            }
            try:
                model, build = timing.timed(
                    builders.layer_model,
                    n,
                    n,
                    "uniform",
                    table,
                    **variant["kwargs"],
                )
                builders.compile_sgd(model, False)
            except Exception as exc:  # noqa: BLE001
                failures[label] = exc
                continue
            params[label]["hashed_build_s"] = build
            runners[label] = timing.fit_runner(model, dataset, steps)
        _warm_up(runners, failures)
        times = timing.interleave(runners, repeats, warmup=0)
        for label in params:
            if label in failures or label not in times:
                exc = failures.get(label) or failures.get("dense")
                records.append(_error("scaling", label, params[label], exc))
                continue
            records.append(
                _record(
                    "scaling",
                    label,
                    params[label],
                    "seconds_per_step",
                    times[label],
                    times.get("dense"),
                )
            )
    notes.extend(_scaling_exponents(records))
    return {"records": records, "notes": notes}


def _scaling_exponents(records):
    """Log-log slopes of step time against weights (1 = linear cost)."""
    notes = []
    by_variant = {}
    for record in records:
        if "error" not in record:
            by_variant.setdefault(record["params"]["variant"], []).append(
                record
            )
    for variant, rows in by_variant.items():
        rows.sort(key=lambda r: r["params"]["virtual_weights"])
        if len(rows) < 2:
            continue
        for side in ("hashed", "dense"):
            points = [
                (r["params"]["virtual_weights"], r[side]["median"])
                for r in rows
                if r[side] is not None
            ]
            if len(points) < 2:
                continue
            (w0, t0), (w1, t1) = points[-2], points[-1]
            slope = math.log(t1 / t0) / math.log(w1 / w0)
            name = f" [{variant}]" if variant else ""
            notes.append(
                f"{side}{name}: step time grows as weights^{slope:.2f} "
                f"from {w0:.0e} to {w1:.0e} weights (1.00 = linear)."
            )
    return notes


SECTION_FUNCTIONS = {
    "train_step": train_step,
    "networks": networks,
    "inference": inference,
    "memory": memory,
    "file_size": file_size,
    "index_build": index_build,
    "scaling": scaling,
}
