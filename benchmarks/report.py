"""Machine description, text tables and the JSON results file."""

import datetime
import json
import os
import pathlib
import platform
import shlex
import subprocess
import sys

SCHEMA_VERSION = 1

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _memory_gb():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def _git(*args):
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=str(REPO_ROOT),
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def load_average():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine_info():
    """CPU, memory, software versions, git commit and date of this run."""
    import keras
    import numpy as np

    import arbnet_keras

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    status = _git("status", "--porcelain")
    return {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cores": usable,
        "memory_gb": _memory_gb(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        # Only the backend's framework is imported; TensorFlow's version
        # is None on the other backends.
        "tensorflow": _version("tensorflow"),
        "keras": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "backend_version": _version(keras.backend.backend()),
        "numpy": np.__version__,
        "arbnet_keras": arbnet_keras.__version__,
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": None if status is None else bool(status),
        "date": datetime.datetime.now(datetime.UTC).isoformat(
            timespec="seconds"
        ),
        "load_average_start": load_average(),
        "gpus": _gpus(keras.backend.backend()),
    }


def _version(module):
    """The version of `module` if the running backend imported it."""
    module = sys.modules.get(module)
    return getattr(module, "__version__", None) if module else None


def _gpus(backend):
    """The accelerators the running backend sees."""
    if backend == "tensorflow":
        import tensorflow as tf

        return [d.name for d in tf.config.list_physical_devices("GPU")]
    if backend == "jax":
        import jax

        return [str(d) for d in jax.devices() if d.platform != "cpu"]
    if backend == "torch":
        import torch

        return [
            torch.cuda.get_device_name(i)
            for i in range(torch.cuda.device_count())
        ]
    return []


def write_json(results, path):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1, default=_jsonable) + "\n")


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)


_UNITS = {
    "seconds_per_step": ("ms/step", 1e3),
    "seconds_per_batch": ("ms/batch", 1e3),
    "seconds": ("s", 1.0),
    "bytes": ("KB", 1e-3),
    "peak_rss_above_baseline_mb": ("MB", 1.0),
}


def _number(value, scale):
    if value is None:
        return "-"
    value = value * scale
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.4f}"


def _ratio(ratio):
    return f"{ratio:.2f}x" if ratio >= 0.1 else f"{ratio:.2g}x"


def format_section(name, section):
    """A plain-text table of one section's records and notes."""
    lines = [f"== {name} ({section.get('duration_s', 0):.0f} s) =="]
    records = section["records"]
    rows = []
    for record in records:
        if "error" in record:
            rows.append((record["label"], "ERROR", "", "", record["error"]))
            continue
        unit, scale = _UNITS.get(record["metric"], (record["metric"], 1.0))
        dense = record["dense"]
        ratio = record["ratio"]
        extra = ""
        if record["metric"] == "peak_rss_above_baseline_mb":
            extra = (
                f"peak {record['hashed']['peak_mb']:.0f} vs "
                f"{dense['peak_mb']:.0f} MB, baseline "
                f"{dense['baseline_mb']:.0f} MB"
            )
        elif (
            record["metric"] == "seconds_per_step"
            and "epoch_seconds" in (record["hashed"])
        ):
            extra = (
                f"epoch {record['hashed']['epoch_seconds']:.0f} s vs "
                f"{dense['epoch_seconds']:.0f} s"
            )
        rows.append(
            (
                record["label"],
                f"{_number(record['hashed']['median'], scale)} {unit}",
                "-"
                if dense is None
                else f"{_number(dense['median'], scale)} {unit}",
                "-" if ratio is None else _ratio(ratio),
                extra,
            )
        )
    header = ("case", "hashed", "dense", "ratio", "")
    widths = [
        max(len(str(row[i])) for row in rows + [header]) for i in range(4)
    ]
    for row in [header] + rows:
        cells = [str(cell).ljust(w) for cell, w in zip(row, widths)]
        cells[1] = str(row[1]).rjust(widths[1])
        cells[2] = str(row[2]).rjust(widths[2])
        cells[3] = str(row[3]).rjust(widths[3])
        lines.append("  ".join(cells + [row[4]]).rstrip())
    for note in section.get("notes", []):
        lines.append(f"note: {note}")
    return "\n".join(lines)


def backend_name(machine):
    """`TF 2.21.0`, `jax 0.10.2` or `torch 2.13.0+cpu`: the backend run."""
    backend = machine.get("keras_backend", "tensorflow")
    if backend == "tensorflow":
        return f"TF {machine.get('tensorflow')}"
    return f"{backend} {machine.get('backend_version')}"


def print_results(results, print_fn=print):
    machine = results["machine"]
    print_fn(
        f"{machine['cpu_model']}, {machine['usable_cores']} cores, "
        f"{backend_name(machine)}, Keras {machine['keras']}, "
        f"commit {(machine['git_commit'] or '?')[:10]}"
        f"{' (dirty)' if machine['git_dirty'] else ''}, "
        f"preset {results['preset']}"
    )
    for name, section in results["sections"].items():
        print_fn("")
        print_fn(format_section(name, section))
    for warning in results.get("warnings", []):
        print_fn(f"warning: {warning}")


def command_line(argv=None):
    """The command line of this run (interpreter name first).

    Args:
        argv: Arguments given to `run.main` instead of `sys.argv[1:]`.
    """
    args = sys.argv if argv is None else ["benchmarks/run.py", *argv]
    return shlex.join([os.path.basename(sys.executable), *args])


def _case(record):
    """`2000x2000 uniform 1/10, batch 64` or `cifar10_mlp, batch 128`."""
    params = record["params"]
    if record["section"] == "networks":
        return f"{params['network']} ({params['hash']} {params['table_size']})"
    return (
        f"{params['input_dim']}x{params['units']} {params['hash']} "
        f"{params['table']}"
    )


def markdown_backend_table(results_list):
    """Markdown lines comparing hashed with dense, one block per run.

    For every `train_step` and `networks` record: the dense and hashed
    step times (minimum and median over repeats, in ms), the ratio of the
    minima and the median of the paired ratios `hashed[r] / dense[r]`.

    Args:
        results_list: Results dicts, typically one per Keras backend.

    Returns:
        A list of lines.
    """
    lines = [
        "| backend | jit | inputs | case | variant | batch "
        "| dense ms/step min / median | hashed ms/step min / median "
        "| ratio of minima | median ratio |",
        "|---|---|---|---|---|---:|---:|---:|---:|---:|",
    ]
    notes = []
    for results in results_list:
        machine = results["machine"]
        name = backend_name(machine)
        for section in ("train_step", "networks"):
            records = results["sections"].get(section, {}).get("records", [])
            for record in records:
                params = record["params"]
                jit = params.get("jit_compile", params.get("xla"))
                # Files written before the `inputs` setting used tf.data.
                inputs = params.get("inputs", "tf.data")
                variant = params.get("variant") or "-"
                head = f"| {name} | {'on' if jit else 'off'} | {inputs} "
                head += f"| {_case(record)} | {variant} | {params['batch']} "
                if "error" in record:
                    lines.append(f"{head}| error: {record['error']} | | | |")
                    continue
                hashed, dense = record["hashed"], record["dense"]
                lines.append(
                    head + f"| {min(dense['raw']) * 1e3:.1f} / "
                    f"{dense['median'] * 1e3:.1f} "
                    f"| {min(hashed['raw']) * 1e3:.1f} / "
                    f"{hashed['median'] * 1e3:.1f} "
                    f"| {min(hashed['raw']) / min(dense['raw']):.2f} "
                    f"| {record['ratio']:.2f} |"
                )
        notes.append(
            f"{name}: Keras {machine['keras']}, {machine['usable_cores']} "
            f"cores, load average {machine.get('load_average_start')} at "
            f"the start, {results.get('load_average_end')} at the end, "
            f"{results.get('duration_s', 0):.0f} s; "
            f"`{results['command']}`"
        )
    return lines + [""] + [f"- {note}" for note in notes]


def _path(params):
    """`b64 no-XLA numpy`: the training path of a record."""
    # The XLA setting asked for; `"auto"` as the backend resolved it.
    xla = params.get("xla")
    if xla in (None, "auto"):
        xla = params.get("jit_compile")
    inputs = params.get("inputs", "tf.data")
    return f"b{params['batch']} {'XLA' if xla else 'no-XLA'} {inputs}"


def markdown_paths_matrix(results, statistic="ratio"):
    """One row per case and kernel mode, one column per training path.

    Each cell is a record's median paired ratio `hashed / dense`
    (`statistic="ratio"`) or its ratio of minima (`"ratio_of_mins"`); the
    last column is the row's largest, which a target must bound.

    Args:
        results: A results dict with `train_step` and/or `networks`.
        statistic: `"ratio"` or `"ratio_of_mins"`.

    Returns:
        A list of lines.
    """
    rows, paths = {}, []
    for section in ("train_step", "networks"):
        records = results["sections"].get(section, {}).get("records", [])
        for record in records:
            params = record["params"]
            path = _path(params)
            if path not in paths:
                paths.append(path)
            key = (_case(record), params.get("variant") or "-")
            if "error" in record:
                value = None
            elif statistic == "ratio":
                value = record["ratio"]
            elif "ratio_of_mins" in record:
                value = record["ratio_of_mins"]
            else:  # Files written before `ratio_of_mins`.
                hashed, dense = record["hashed"]["raw"], record["dense"]["raw"]
                value = min(hashed) / min(dense) if min(dense) > 0 else None
            rows.setdefault(key, {})[path] = value
    lines = [
        "| case | kernel_mode | " + " | ".join(paths) + " | largest |",
        "|---|---|" + "---:|" * (len(paths) + 1),
    ]
    for (case, variant), cells in rows.items():
        values = [cells.get(path) for path in paths]
        shown = ["-" if v is None else f"{v:.2f}" for v in values]
        measured = [v for v in values if v is not None]
        largest = f"{max(measured):.2f}" if measured else "-"
        lines.append(
            f"| {case} | {variant} | " + " | ".join(shown) + f" | {largest} |"
        )
    return lines
