"""Runs the arbnet_keras benchmark suite: hashed layers against `Dense`.

Every number is a ratio `hashed / dense` to the plain `keras.layers.Dense`
model of the same shape, measured in the same process, alternating with
it, after a warm-up, as the median over repeats. Sections:

- `train_step`: seconds per `model.fit` step of `Input -> HashedDense`,
  XLA on and off, per hash function, table size and batch size.
- `networks`: seconds per step (and per epoch) of the paper's
  `mnist_mlp` and `cifar10_mlp`, compiled with `compile_paper`.
- `inference`: seconds per `model.predict` batch of 256.
- `memory`: peak resident memory of fitting a network, each model in a
  fresh process, above the memory of the imports alone.
- `file_size`: bytes of the saved `.keras` file.
- `index_build`: seconds to build the sharing index of a network, per
  hash function.
- `scaling`: seconds per step of `n x n` layers, 1e5 to 1e8 weights.

Usage:

    python benchmarks/run.py                  # The default set (<15 min).
    python benchmarks/run.py --quick          # A 1-2 minute sanity run.
    python benchmarks/run.py --full           # Every combination.
    python benchmarks/run.py --only train_step scaling --plot
    python benchmarks/run.py --kernel-mode gather auto   # Before/after.
    python benchmarks/run.py --plot-from docs/benchmarks.json
    python benchmarks/run.py --backend jax --preset backends --out jax.json
    python benchmarks/run.py --markdown-from tf.json jax.json torch.json

The results (machine, command line, raw times, ratios) go to `--out`
(default `docs/benchmarks.json`); `--plot` draws `docs/performance.png`.
"""

import argparse
import json
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
if __package__ in (None, ""):
    # Run as a script: make the `benchmarks` package importable.
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import config  # noqa: E402
from benchmarks import report  # noqa: E402

BACKENDS = ("tensorflow", "jax", "torch")
DEFAULT_OUT = REPO_ROOT / "docs" / "benchmarks.json"
DEFAULT_PLOT = REPO_ROOT / "docs" / "performance.png"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("Usage:")[0].strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Sections: " + ", ".join(config.SECTIONS),
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick",
        dest="preset",
        action="store_const",
        const="quick",
        help="a 1-2 minute sanity run",
    )
    size.add_argument(
        "--full",
        dest="preset",
        action="store_const",
        const="full",
        help="every combination (long)",
    )
    size.add_argument(
        "--preset",
        dest="preset",
        choices=sorted(config.PRESETS),
        help="a named preset; defaults to 'default'",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=config.SECTIONS,
        metavar="NAME",
        help="run only these sections",
    )
    parser.add_argument(
        "--skip",
        nargs="+",
        choices=config.SECTIONS,
        default=[],
        metavar="NAME",
        help="leave these sections out",
    )
    parser.add_argument(
        "--out",
        default=str(DEFAULT_OUT),
        help="JSON results file (default: docs/benchmarks.json)",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the other sections of an existing --out file",
    )
    parser.add_argument(
        "--plot",
        action="store_true",
        help="also draw the figure (see --plot-out)",
    )
    parser.add_argument(
        "--plot-out",
        default=str(DEFAULT_PLOT),
        help="figure path (default: docs/performance.png)",
    )
    parser.add_argument(
        "--plot-from",
        metavar="JSON",
        help="print and plot an existing results file, run nothing",
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        help="the Keras backend (sets KERAS_BACKEND; the framework must "
        "be installed in this interpreter); defaults to $KERAS_BACKEND, "
        "else tensorflow",
    )
    parser.add_argument(
        "--markdown-from",
        nargs="+",
        metavar="JSON",
        help="print a Markdown table of the train_step and networks "
        "records of results files (one per backend), run nothing",
    )
    parser.add_argument(
        "--matrix-from",
        metavar="JSON",
        help="print the train_step and networks records of a results file "
        "as Markdown matrices (a row per case and kernel mode, a column "
        "per batch size, XLA setting and input kind), run nothing",
    )
    parser.add_argument(
        "--kernel-mode",
        nargs="+",
        metavar="MODE",
        help="measure each hashed model once per HashedDense kernel_mode "
        "(if HashedDense has that argument), e.g. --kernel-mode gather auto",
    )
    parser.add_argument(
        "--hashed-kwargs",
        default="{}",
        metavar="JSON",
        help="extra HashedDense arguments for every hashed layer, as a "
        "JSON object, e.g. '{\"sign\": true}'",
    )
    parser.add_argument(
        "--repeats", type=int, help="override the preset's repeats"
    )
    parser.add_argument(
        "--steps", type=int, help="override the preset's timed steps"
    )
    parser.add_argument(
        "--list",
        action="store_true",
        help="print the preset's settings and exit",
    )
    args = parser.parse_args(argv)
    args.preset = args.preset or "default"
    try:
        args.hashed_kwargs = json.loads(args.hashed_kwargs)
    except json.JSONDecodeError as exc:
        parser.error(f"--hashed-kwargs is not valid JSON: {exc}")
    if not isinstance(args.hashed_kwargs, dict):
        parser.error("--hashed-kwargs must be a JSON object")
    for name in ("repeats", "steps"):
        value = getattr(args, name)
        if value is not None and value < (2 if name == "steps" else 1):
            parser.error(f"--{name} is too small: {value}")
    return args, parser


def select_backend(name):
    """Sets KERAS_BACKEND to `name` before Keras is imported.

    Raises:
        ValueError: If Keras already runs on another backend.
    """
    if "keras" in sys.modules:
        import keras

        if keras.backend.backend() != name:
            raise ValueError(
                f"--backend {name}: Keras is already running on "
                f"{keras.backend.backend()!r} in this process. Received: "
                f"backend={name!r}"
            )
    # Also read by the memory section's fresh processes.
    os.environ["KERAS_BACKEND"] = name


def layer_variants(kernel_modes, hashed_kwargs, warnings):
    """The hashed-layer variants: `[{"name": ..., "kwargs": {...}}]`."""
    from benchmarks import builders

    accepted = builders.hashed_dense_arguments()
    unknown = sorted(set(hashed_kwargs) - accepted)
    if unknown:
        raise ValueError(
            f"HashedDense has no argument(s) {unknown}. "
            f"Received: hashed_kwargs={hashed_kwargs!r}"
        )
    if not kernel_modes:
        return [{"name": "", "kwargs": dict(hashed_kwargs)}]
    if "kernel_mode" not in accepted:
        warnings.append(
            "HashedDense has no `kernel_mode` argument in this version: "
            f"--kernel-mode {' '.join(kernel_modes)} ignored."
        )
        return [{"name": "", "kwargs": dict(hashed_kwargs)}]
    return [
        {"name": mode, "kwargs": {**hashed_kwargs, "kernel_mode": mode}}
        for mode in kernel_modes
    ]


def section_settings(preset, name, repeats=None, steps=None):
    settings = dict(config.PRESETS[preset][name])
    if repeats is not None and "repeats" in settings:
        settings["repeats"] = repeats
    if steps is not None and "steps" in settings:
        settings["steps"] = steps
    return settings


def _log(print_fn, message):
    print_fn(message)
    sys.stdout.flush()


def main(argv=None, print_fn=print):
    """Runs the suite; returns the results dict (also written to --out)."""
    args, parser = parse_args(argv)
    if args.matrix_from:
        results = json.loads(pathlib.Path(args.matrix_from).read_text())
        for statistic in ("ratio", "ratio_of_mins"):
            print_fn(f"{statistic}:")
            for line in report.markdown_paths_matrix(results, statistic):
                print_fn(line)
        return None
    if args.markdown_from:
        for line in report.markdown_backend_table(
            [
                json.loads(pathlib.Path(p).read_text())
                for p in args.markdown_from
            ]
        ):
            print_fn(line)
        return None
    if args.backend:
        try:
            select_backend(args.backend)
        except ValueError as exc:
            parser.error(str(exc))
    if args.plot_from:
        from benchmarks import plot

        results = json.loads(pathlib.Path(args.plot_from).read_text())
        report.print_results(results, print_fn)
        plot.plot(results, args.plot_out)
        print_fn(f"wrote {args.plot_out}")
        return results
    preset = config.PRESETS[args.preset]
    missing = [name for name in args.only or () if name not in preset]
    if missing:
        parser.error(
            f"the {args.preset} preset has no section {', '.join(missing)}"
        )
    names = [
        name
        for name in (args.only or config.SECTIONS)
        if name in preset and name not in args.skip
    ]
    if args.list:
        for name in names:
            settings = section_settings(
                args.preset, name, args.repeats, args.steps
            )
            print_fn(f"{name}: {json.dumps(settings, default=list)}")
        return None

    import keras

    from benchmarks import sections

    keras.utils.set_random_seed(0)
    warnings = []
    try:
        variants = layer_variants(
            args.kernel_mode, args.hashed_kwargs, warnings
        )
    except ValueError as exc:
        parser.error(str(exc))
    for warning in warnings:
        print_fn(f"warning: {warning}")
    start = time.perf_counter()
    results = {
        "schema_version": report.SCHEMA_VERSION,
        "preset": args.preset,
        "command": report.command_line(argv),
        "options": {
            "sections": names,
            "kernel_modes": args.kernel_mode,
            "hashed_kwargs": args.hashed_kwargs,
            "repeats": args.repeats,
            "steps": args.steps,
            "backend": keras.backend.backend(),
        },
        "machine": report.machine_info(),
        "variants": variants,
        "sections": {},
        "warnings": warnings,
    }
    out = pathlib.Path(args.out)
    if args.merge and out.exists():
        previous = json.loads(out.read_text())
        results["sections"].update(previous.get("sections", {}))
    for name in names:
        settings = section_settings(args.preset, name, args.repeats, args.steps)
        section_start = time.perf_counter()
        section = sections.SECTION_FUNCTIONS[name](
            settings,
            variants,
            lambda message, name=name: _log(print_fn, f"  [{name}] {message}"),
        )
        section["duration_s"] = time.perf_counter() - section_start
        section["settings"] = settings
        section["preset"] = args.preset
        results["sections"][name] = section
        print_fn("")
        print_fn(report.format_section(name, section))
        _log(print_fn, "")
        # Written after every section, so a long run leaves its results.
        results["duration_s"] = time.perf_counter() - start
        report.write_json(results, out)
    results["duration_s"] = time.perf_counter() - start
    results["load_average_end"] = report.load_average()
    report.write_json(results, out)
    print_fn(f"wrote {out} ({results['duration_s']:.0f} s)")
    if args.plot:
        from benchmarks import plot

        plot.plot(results, args.plot_out)
        print_fn(f"wrote {args.plot_out}")
    return results


if __name__ == "__main__":
    main()
