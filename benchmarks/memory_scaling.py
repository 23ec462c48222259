"""Peak training memory and step time against virtual weights.

Square `n x n` layers, `Dense` and `HashedDense` (uniform hash, default
`kernel_mode="auto"`, table 10% of the weights capped at 1e7 entries),
trained with `fit` on random NumPy arrays (batch 64, SGD with momentum
0.9, sparse cross-entropy over the `n` outputs). Every point runs in a
fresh process; its peak resident memory is the child's `VmHWM` (which
starts afresh at `exec`) and, from the parent, `wait4`'s `ru_maxrss`.
Step time is the median time between the ends of consecutive batches
(the first batch, which traces the step, is left out).

    python -m benchmarks.memory_scaling                   # the grid
    python -m benchmarks.memory_scaling --sizes 32768 --table-size 1048576
    python -m benchmarks.memory_scaling --plot-from docs/results/memory.json

Points already in `--out` are kept and skipped (`--redo` measures them
again), so an interrupted run resumes. `Dense` is skipped where its
estimate (`DENSE_BYTES_PER_WEIGHT` bytes a weight: kernel, gradient,
momentum) passes `--dense-limit-gb`.
"""

import argparse
import json
import math
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
MARKER = "@@ARBNET_MEMORY_SCALING@@"
# Each finished batch, on standard error: a point cut short by the
# timeout still says how far it got.
PROGRESS = "@@ARBNET_MEMORY_SCALING_BATCH@@"
SIZES = (316, 1000, 3162, 10000, 31623, 100000)
TABLE_FRACTION = 0.1
TABLE_CAP = 10**7
DENSE_BYTES_PER_WEIGHT = 12
DEFAULT_OUT = REPO_ROOT / "docs" / "results" / "memory_scaling.json"
DEFAULT_PLOT = REPO_ROOT / "docs" / "memory_scaling.png"


def default_steps(num_weights):
    """Steps per point: enough for a median, few where a step is long."""
    if num_weights <= 2 * 10**7:
        return 100
    if num_weights <= 2 * 10**8:
        return 10
    if num_weights <= 2 * 10**9:
        return 5
    return 3


def table_entries(n, table_size=None):
    """10% of the `n * n` weights, at most `TABLE_CAP`, or `table_size`."""
    if table_size is not None:
        return int(table_size)
    return min(TABLE_CAP, max(1, round(TABLE_FRACTION * n * n)))


# ----------------------------------------------------------------------
# The child: one model, one `fit`.


def _status_mb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return None


def probe(spec):
    """Builds and fits one model; returns its measurements."""
    import keras
    import numpy as np

    import arbnet_keras
    from arbnet_keras import hashing

    class BatchTimes(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.begins, self.ends, self.cpu_ends = [], [], []

        def on_train_batch_begin(self, batch, logs=None):
            self.begins.append(time.perf_counter())

        def on_train_batch_end(self, batch, logs=None):
            self.ends.append(time.perf_counter())
            # CPU seconds of all the process's threads: less sensitive
            # than wall time to other programs on a shared machine.
            self.cpu_ends.append(time.process_time())
            progress = {
                "batch": batch,
                "seconds": self.ends[-1] - self.begins[-1],
                "cpu_s": self.cpu_ends[-1],
                "peak_mb": _status_mb("VmHWM"),
            }
            print(PROGRESS, json.dumps(progress), file=sys.stderr, flush=True)

    n, batch, steps = spec["n"], spec["batch"], spec["steps"]
    baseline = _status_mb("VmRSS")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((steps * batch, n), dtype="float32")
    y = rng.integers(0, n, steps * batch).astype("int32")
    data_mb = _status_mb("VmRSS") - baseline

    start = time.perf_counter()
    inputs = keras.Input((n,))
    if spec["model"] == "dense":
        layer = keras.layers.Dense(n)
    else:
        kwargs = dict(spec.get("layer_kwargs", {}))
        layer = arbnet_keras.HashedDense(
            n,
            hash=hashing.Uniform(),
            table_size=spec["table_size"],
            seed=0,
            **kwargs,
        )
    model = keras.Model(inputs, layer(inputs))
    build_s = time.perf_counter() - start
    built = _status_mb("VmRSS")
    built_peak = _status_mb("VmHWM")
    model.compile(
        optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=spec.get("jit_compile", "auto"),
    )
    timer = BatchTimes()
    start = time.perf_counter()
    history = model.fit(
        x, y, batch_size=batch, epochs=1, verbose=0, callbacks=[timer]
    )
    fit_s = time.perf_counter() - start
    intervals = [b - a for a, b in zip(timer.ends, timer.ends[1:])]
    cpu = [b - a for a, b in zip(timer.cpu_ends, timer.cpu_ends[1:])]
    result = {
        "baseline_mb": baseline,
        "data_mb": data_mb,
        "built_mb": built,
        "built_peak_mb": built_peak,
        "peak_mb": _status_mb("VmHWM"),
        "build_s": build_s,
        "fit_s": fit_s,
        "first_step_s": timer.ends[0] - timer.begins[0],
        "step_intervals_s": intervals,
        "step_s": statistics.median(intervals) if intervals else None,
        "step_min_s": min(intervals) if intervals else None,
        "step_cpu_s": statistics.median(cpu) if cpu else None,
        "jit_compile": bool(model.jit_compile),
        "loss": [float(v) for v in history.history["loss"]],
        "trainable_params": int(
            sum(math.prod(w.shape) for w in model.trainable_weights)
        ),
    }
    if spec["model"] != "dense":
        weight_fn = layer._weight_fn
        result["kernel_strategy"] = type(weight_fn).__name__
        result["block_units"] = int(layer._block_units())
    return result


# ----------------------------------------------------------------------
# The parent: one fresh process per point.


def run_point(spec, timeout):
    """Runs `probe(spec)` in a fresh process; returns a record."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.memory_scaling",
        "--probe",
        json.dumps(spec),
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.setdefault("KERAS_BACKEND", "tensorflow")
    start = time.time()
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # `communicate` in a thread would hide the rusage: poll `wait4`.
    import threading

    out = {}

    def read(name, stream):
        out[name] = stream.read()

    readers = [
        threading.Thread(target=read, args=(k, getattr(process, k)))
        for k in ("stdout", "stderr")
    ]
    for reader in readers:
        reader.start()
    timed_out = False
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.time() - start > timeout:
            process.kill()
            timed_out = True
            pid, status, usage = os.wait4(process.pid, 0)
            break
        time.sleep(0.5)
    process.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    record = {
        "spec": spec,
        "wall_s": time.time() - start,
        "returncode": process.returncode,
        "ru_maxrss_mb": usage.ru_maxrss / 1024,
        "load_average": list(os.getloadavg()),
    }
    stdout = out.get("stdout", "")
    if MARKER in stdout:
        record.update(json.loads(stdout.split(MARKER, 1)[1].strip()))
    else:
        record["error"] = "timed out" if timed_out else "no result"
        record["progress"] = [
            json.loads(line.split(PROGRESS, 1)[1])
            for line in out.get("stderr", "").splitlines()
            if PROGRESS in line
        ]
        record["stderr_tail"] = out.get("stderr", "")[-3000:]
    return record


def points(args):
    """The specs of the grid, in order of size, dense before hashed."""
    specs = []
    for n in args.sizes:
        weights = n * n
        steps = args.steps or default_steps(weights)
        for model in args.models:
            spec = {
                "model": model,
                "n": n,
                "virtual_weights": weights,
                "batch": args.batch,
                "steps": steps,
            }
            if model == "dense":
                estimate = DENSE_BYTES_PER_WEIGHT * weights / 2**30
                if estimate > args.dense_limit_gb:
                    spec["skipped"] = (
                        f"Dense needs about {estimate:.1f} GiB for kernel, "
                        "gradient and momentum, over --dense-limit-gb="
                        f"{args.dense_limit_gb}"
                    )
            else:
                spec["table_size"] = table_entries(n, args.table_size)
                if args.chunk_size:
                    spec["layer_kwargs"] = {"chunk_size": args.chunk_size}
            if args.jit_compile != "auto":
                spec["jit_compile"] = args.jit_compile == "true"
            specs.append(spec)
    return specs


def key(spec):
    return (
        spec["model"],
        spec["n"],
        spec.get("table_size"),
        spec["batch"],
        json.dumps(spec.get("layer_kwargs", {}), sort_keys=True),
        spec.get("jit_compile", "auto"),
    )


def machine():
    info = {
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "load_average": list(os.getloadavg()),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    try:
        with open("/proc/meminfo") as f:
            info["memory_gb"] = int(f.readline().split()[1]) / 2**20
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
        info["git_commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        pass
    return info


def load(path):
    if path.exists():
        return json.loads(path.read_text())
    return {"schema_version": 1, "records": []}


def save(results, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=1) + "\n")
    tmp.replace(path)


def slope(records, model, field="step_s", low=0):
    """Least-squares slope of log(field) on log(virtual weights).

    Over the grid's points of `model` from `low` virtual weights on.
    """
    return _log_log_slope(
        [
            (r["spec"]["virtual_weights"], r[field])
            for r in records
            if r["spec"]["model"] == model
            and on_grid(r["spec"])
            and r.get(field)
            and r["spec"]["virtual_weights"] >= low
        ]
    )


def _fixed_table_series(records):
    """Hashed points off the grid, by `(table_size, jit_compile)`.

    Each series sorted by virtual weights: a sweep at one fixed table
    (`--table-size`), which separates the virtual size from the table's
    (a table that leaves the caches makes every lookup slower).
    """
    series = {}
    for r in records:
        spec = r["spec"]
        if spec["model"] != "hashed" or spec.get("layer_kwargs"):
            continue
        if on_grid(spec) or on_grid(spec, True):
            continue
        key = (spec["table_size"], spec.get("jit_compile"))
        series.setdefault(key, []).append(r)
    return {
        key: sorted(rows, key=lambda r: r["spec"]["virtual_weights"])
        for key, rows in sorted(series.items(), key=lambda kv: str(kv[0]))
    }


def _log_log_slope(pairs):
    if len(pairs) < 2:
        return None
    pairs = [(math.log(x), math.log(y)) for x, y in pairs]
    mx = statistics.fmean(p[0] for p in pairs)
    my = statistics.fmean(p[1] for p in pairs)
    sxx = sum((p[0] - mx) ** 2 for p in pairs)
    return sum((p[0] - mx) * (p[1] - my) for p in pairs) / sxx


def print_slopes(records):
    for model in ("dense", "hashed"):
        for field in ("step_s", "step_cpu_s"):
            for low in (0, 10**8):
                value = slope(records, model, field, low)
                if value is not None:
                    print(
                        f"log-log slope of {field}, {model}, from "
                        f"{max(low, 10**5):.0e} weights: {value:.3f}"
                    )
    for (table_size, xla), rows in _fixed_table_series(records).items():
        for field in ("step_s", "step_cpu_s"):
            pairs = [
                (r["spec"]["virtual_weights"], r[field])
                for r in rows
                if r.get(field)
            ]
            value = _log_log_slope(pairs) if len(pairs) >= 3 else None
            if value is not None:
                print(
                    f"log-log slope of {field}, hashed, fixed table "
                    f"{table_size}{', XLA' if xla else ''}, "
                    f"{pairs[0][0]:.0e} to {pairs[-1][0]:.0e} weights: "
                    f"{value:.3f}"
                )


def table(records):
    """A Markdown table of the records."""
    lines = [
        "| n | virtual weights | model | table | peak RSS (MiB) | "
        "above imports (MiB) | median step (s) | min step (s) | "
        "CPU s/step | XLA | steps | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    order = sorted(
        records,
        key=lambda r: (r["spec"]["virtual_weights"], r["spec"]["model"]),
    )
    for r in order:
        spec = r["spec"]
        table_size = spec.get("table_size")
        cells = [
            str(spec["n"]),
            f"{spec['virtual_weights']:.3g}",
            spec["model"],
            "-" if table_size is None else f"{table_size:.3g}",
        ]
        if "skipped" in r:
            cells += ["not run: " + r["skipped"]] + [""] * 7
        elif "error" in r:
            cells += [f"{r['error']} (ru_maxrss {r['ru_maxrss_mb']:.0f})"] + [
                ""
            ] * 7
        else:
            step, cpu = r["step_s"], r.get("step_cpu_s")
            if step is None:  # One step: its time includes tracing.
                steps = f"first step {r['first_step_s']:.4g} s"
            cells += [
                f"{r['peak_mb']:.0f}",
                f"{r['peak_mb'] - r['baseline_mb']:.0f}",
                steps if step is None else f"{step:.4g}",
                "-" if step is None else f"{r['step_min_s']:.4g}",
                "-" if cpu is None else f"{cpu:.4g}",
                "on" if r.get("jit_compile") else "off",
                str(spec["steps"]),
                f"{r['load_average'][0]:.1f}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def on_grid(spec, jit_compile=None):
    """Whether a point is one of the grid's (default table and settings).

    `jit_compile=True` asks for the grid's points measured with XLA.
    """
    if spec.get("jit_compile") != jit_compile:
        return False
    if spec["model"] == "dense":
        return True
    return spec["table_size"] == table_entries(spec["n"]) and not spec.get(
        "layer_kwargs"
    )


def plot(results, path):
    """Peak RSS and step time against virtual weights, log-log."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            "Plotting needs matplotlib: `pip install matplotlib`."
        ) from error
    records = [r for r in results["records"] if r.get("peak_mb")]
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.4))
    styles = {
        ("dense", None): ("Dense", "s-", "C0"),
        ("hashed", None): ("HashedDense", "o-", "C1"),
        ("dense", True): ("Dense, XLA", "s-", "C2"),
        ("hashed", True): ("HashedDense, XLA", "o-", "C3"),
    }
    largest = 1e5
    for (model, jit), (label, style, color) in styles.items():
        rows = sorted(
            (
                r
                for r in records
                if r["spec"]["model"] == model and on_grid(r["spec"], jit)
            ),
            key=lambda r: r["spec"]["virtual_weights"],
        )
        if not rows:
            continue
        w = [r["spec"]["virtual_weights"] for r in rows]
        largest = max(largest, *w)
        axes[0].plot(
            w, [r["peak_mb"] for r in rows], style, color=color, label=label
        )
        timed = [r for r in rows if r.get("step_s")]
        if jit:
            axes[1].plot(
                [r["spec"]["virtual_weights"] for r in timed],
                [r["step_s"] for r in timed],
                style,
                color=color,
                label=f"{label}, wall",
            )
            continue
        axes[1].plot(
            [r["spec"]["virtual_weights"] for r in timed],
            [r["step_s"] for r in timed],
            style,
            color=color,
            label=f"{label}, wall",
        )
        axes[1].plot(
            [r["spec"]["virtual_weights"] for r in timed],
            [r.get("step_cpu_s") for r in timed],
            style.replace("-", ":"),
            color=color,
            alpha=0.6,
            label=f"{label}, CPU time",
        )
        if model == "dense":
            # Past the last measured point, 12 more bytes a weight.
            last = rows[-1]
            x0, y0 = last["spec"]["virtual_weights"], last["peak_mb"]
            xs = [x0 * 10 ** (i / 8) for i in range(80)]
            xs = [x for x in xs if x <= 1e10]
            axes[0].plot(
                xs,
                [y0 + DENSE_BYTES_PER_WEIGHT * (x - x0) / 2**20 for x in xs],
                "--",
                color=color,
                alpha=0.5,
                label="Dense, + 12 B/weight (not measured)",
            )
        else:
            # Slope 1 through the largest timed point.
            x0, y0 = timed[-1]["spec"]["virtual_weights"], timed[-1]["step_s"]
            xs = [1e7, x0]
            axes[1].plot(
                xs,
                [y0 * x / x0 for x in xs],
                "--",
                color="grey",
                lw=1,
                label="slope 1 (linear)",
            )
    # Points off the grid: a series of one fixed table (three points or
    # more) is drawn as a line in both panels, single points as markers.
    for (table_size, xla), rows in _fixed_table_series(records).items():
        w = [r["spec"]["virtual_weights"] for r in rows]
        label = f"HashedDense, table {table_size:,}" + (", XLA" if xla else "")
        if len(rows) >= 3:
            color = "C4" if not xla else "C5"
            axes[0].plot(
                w, [r["peak_mb"] for r in rows], "^-", color=color, label=label
            )
            timed = [r for r in rows if r.get("step_s")]
            axes[1].plot(
                [r["spec"]["virtual_weights"] for r in timed],
                [r["step_s"] for r in timed],
                "^-",
                color=color,
                label=f"{label}, wall",
            )
            continue
        for r in rows:
            axes[0].plot(
                r["spec"]["virtual_weights"],
                r["peak_mb"],
                "D",
                color="C3" if xla else "C1",
                mfc="none",
                label=f"{r['spec']['n']}x{r['spec']['n']}, table "
                f"{table_size}" + (", XLA" if xla else ""),
            )
    axes[0].axhline(2048, color="grey", ls=":", lw=1)
    axes[0].set_ylabel("peak RSS of the process (MiB)")
    axes[1].set_ylabel("median step time (s), batch 64")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("virtual weights (n x n)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylim(500, 24 * 1024)
    axes[0].set_title("Peak training memory (2 GiB dotted)")
    axes[1].set_title("Training step time")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse(argv):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.memory_scaling",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    parser.add_argument(
        "--models",
        nargs="+",
        default=["dense", "hashed"],
        choices=["dense", "hashed"],
    )
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument(
        "--steps", type=int, help="steps per point (default: by size)"
    )
    parser.add_argument(
        "--table-size", type=int, help="entries (default: 10%%, <= 1e7)"
    )
    parser.add_argument("--chunk-size", type=int)
    parser.add_argument(
        "--jit-compile",
        choices=["auto", "true", "false"],
        default="auto",
        help="`compile(jit_compile=...)`; Keras' auto is XLA on TF",
    )
    parser.add_argument("--dense-limit-gb", type=float, default=8.0)
    parser.add_argument(
        "--timeout", type=float, default=2400, help="seconds per point"
    )
    parser.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT)
    parser.add_argument("--plot", type=pathlib.Path, default=None)
    parser.add_argument("--plot-from", type=pathlib.Path)
    parser.add_argument("--redo", action="store_true")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.probe:
        result = probe(json.loads(args.probe))
        print(MARKER)
        print(json.dumps(result))
        return 0
    if args.plot_from:
        results = load(args.plot_from)
        plot(results, args.plot or DEFAULT_PLOT)
        print(table(results["records"]))
        print_slopes(results["records"])
        return 0
    results = load(args.out)
    results.setdefault("runs", []).append(
        {"command": " ".join(sys.argv), "machine": machine()}
    )
    done = {key(r["spec"]): i for i, r in enumerate(results["records"])}
    for spec in points(args):
        index = done.get(key(spec))
        if index is not None and not args.redo:
            print(f"kept: {spec['model']} n={spec['n']}", flush=True)
            continue
        if "skipped" in spec:
            record = {"spec": spec, "skipped": spec.pop("skipped")}
        else:
            print(f"running: {spec}", flush=True)
            record = run_point(spec, args.timeout)
        if index is None:
            done[key(spec)] = len(results["records"])
            results["records"].append(record)
        else:
            results["records"][index] = record
        save(results, args.out)
        summary = {
            k: record.get(k)
            for k in ("peak_mb", "ru_maxrss_mb", "step_s", "error", "skipped")
        }
        print(f"  {summary}", flush=True)
    print(table(results["records"]))
    print_slopes(results["records"])
    if args.plot:
        plot(results, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
