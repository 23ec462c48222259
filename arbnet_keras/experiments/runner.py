"""Runs a sweep: trains one model per configuration and records the results."""

import math
import numbers
import pathlib
import platform
import sys
import time

import keras

from arbnet_keras import datasets
from arbnet_keras import hashing
from arbnet_keras import metrics
from arbnet_keras import models
from arbnet_keras import training
from arbnet_keras.experiments import convolution
from arbnet_keras.experiments.config import SweepSpec
from arbnet_keras.experiments.config import run_key
from arbnet_keras.experiments.config import spec_differences
from arbnet_keras.experiments.convolution import ConvolutionSpec
from arbnet_keras.experiments.expansion import ExpansionSpec
from arbnet_keras.experiments.expansion import spec_from_dict
from arbnet_keras.experiments.results import TORN_SUFFIX
from arbnet_keras.experiments.results import SweepLock
from arbnet_keras.experiments.results import append_result
from arbnet_keras.experiments.results import check_out_dir
from arbnet_keras.experiments.results import read_results
from arbnet_keras.experiments.results import read_spec
from arbnet_keras.experiments.results import repair_results
from arbnet_keras.experiments.results import results_path
from arbnet_keras.experiments.results import write_spec

# Input sizes of the data sets whose size is known without loading them.
_CIFAR10_INPUT_DIM = 3072
_STATIC_INPUT_DIMS = {
    "mnist_5k": 784,
    "mnist": 784,
    "fashion_mnist": 784,
    "fashion_mnist_debian": 784,
    "digits": 64,
    "cifar10": _CIFAR10_INPUT_DIM,
}


def run_sweep(
    spec,
    out_dir,
    *,
    quiet=False,
    verbose=None,
    force=False,
    max_runs=None,
    data_dir=None,
    print_fn=None,
):
    """Runs every run of a sweep not yet in `<out_dir>/results.jsonl`.

    Each run builds its model (`arbnet_keras.models`), compiles it with
    the paper's recipe (`arbnet_keras.training.compile_paper`), fits it for
    `spec.epochs` epochs on the training split (no validation set) and
    evaluates it on the test split. Its record (see `run_one`) is appended
    to `results.jsonl` and synced to disk as soon as the run ends.

    The sweep resumes where it stopped: run the same spec with the same
    `out_dir` again after an interruption (Ctrl-C, `kill -9`, power loss)
    and the runs already recorded, recognized by their key, are skipped; a
    run cut short is run again from scratch, and a record cut short is
    moved to `results.jsonl.torn` (see `repair_results`). The spec is written to
    `<out_dir>/sweep.json`; a directory holding another sweep is refused
    unless `force=True`. One process at a time writes to a directory
    (a lock file, `.lock`, guards it on POSIX systems).

    Args:
        spec: A `SweepSpec`, an `ExpansionSpec` or a `ConvolutionSpec`.
        out_dir: Directory of the results, created if needed.
        quiet: Whether to show no progress bar and no per-epoch lines,
            only one line per run. Defaults to `False`.
        verbose: Per-epoch output: `0` none, `1` Keras' progress bar,
            `2` one line per epoch. Defaults to `0` when `quiet`, else `2`.
        force: Whether to run in a directory whose `sweep.json` holds a
            different spec. The spec is replaced; the records already there
            are kept, and those whose configuration the new spec also has
            are not run again. Defaults to `False`.
        max_runs: Most runs to do in this call (the others are left for a
            later call), or `None` for all. Defaults to `None`.
        data_dir: Data directory of tensorflow-datasets data sets, see
            `arbnet_keras.datasets.load`. Defaults to `None`.
        print_fn: Function that prints each log line, or `None` to print
            to standard output around the progress bar. Defaults to `None`.

    Returns:
        The records of the spec's finished runs (earlier ones included), as
        a list of dicts in the spec's run order.

    Raises:
        ValueError: On an invalid argument, if `out_dir` cannot be
            written, if its results file is damaged, or if it holds a
            different sweep and `force` is false; no results are written
            then.
        SweepLockedError: If another process is writing to `out_dir`.
        DatasetUnavailableError: If the data set cannot be loaded.

    Example:

    >>> spec = SweepSpec("dirichlet", alpha=[1e-3, 1.0], epochs=2)
    >>> records = run_sweep(spec, "runs/dirichlet")
    >>> [round(r["test_accuracy"], 3) for r in records]
    """
    if not isinstance(spec, (SweepSpec, ExpansionSpec, ConvolutionSpec)):
        raise ValueError(  # noqa: TRY004
            "`spec` must be a `SweepSpec`, an `ExpansionSpec` or a "
            "`ConvolutionSpec`. "
            f"Received: spec={spec!r}"
        )
    if max_runs is not None and (
        isinstance(max_runs, bool)
        or not isinstance(max_runs, numbers.Integral)
        or max_runs <= 0
    ):
        raise ValueError(
            "`max_runs` must be a positive integer or None. "
            f"Received: max_runs={max_runs!r}"
        )
    if verbose is None:
        verbose = 0 if quiet else 2
    if verbose not in (0, 1, 2):
        raise ValueError(
            "Invalid value for argument `verbose`. Expected one of "
            f"(0, 1, 2). Received: verbose={verbose!r}"
        )
    out_dir = pathlib.Path(out_dir)
    check_out_dir(out_dir)
    echo = print_fn if print_fn is not None else _print
    data_cache = {}
    spec = _resolve_model(spec, data_cache, data_dir)
    _check_existing_spec(spec, out_dir, force)

    out_dir.mkdir(parents=True, exist_ok=True)
    with SweepLock(out_dir):
        moved = repair_results(out_dir)
        if moved:
            echo(
                f"Moved {moved} torn line{'s' if moved > 1 else ''} "
                f"(interrupted writes) of {results_path(out_dir)} to "
                f"{results_path(out_dir)}{TORN_SUFFIX}."
            )
        done = {record.get("key") for record in read_results(out_dir)}
        runs = [(run_key(config), config) for config in spec.runs()]
        pending = [(key, config) for key, config in runs if key not in done]
        skipped = len(runs) - len(pending)
        if max_runs is not None:
            pending = pending[:max_runs]
        if pending:
            # Fail on unavailable data, or on a model that cannot be
            # built (a table or layer too large), before anything is
            # written.
            config = pending[0][1]
            data = _data_for(config["seed"], spec, data_cache, data_dir)
            try:
                build_model(config, data.input_dim, data.num_classes)
            finally:
                keras.backend.clear_session()
        write_spec(out_dir, spec.to_dict())
        echo(f"Sweep: {spec.describe()}")
        if skipped:
            echo(
                f"Resuming in {out_dir}: {skipped} of {len(runs)} runs "
                "already recorded, skipped."
            )
        _run_pending(
            spec,
            pending,
            out_dir,
            skipped,
            len(runs),
            data_cache,
            data_dir,
            quiet,
            verbose,
            echo,
        )
    by_key = {record.get("key"): record for record in read_results(out_dir)}
    return [by_key[key] for key, _ in runs if key in by_key]


def _run_pending(
    spec,
    pending,
    out_dir,
    skipped,
    total,
    data_cache,
    data_dir,
    quiet,
    verbose,
    echo,
):
    from tqdm.auto import tqdm

    with tqdm(
        total=total,
        initial=skipped,
        unit="run",
        desc=f"{_kind(spec)}",
        # No bar when quiet, nor when standard error is not a terminal
        # (logs and CI): the per-run lines carry the progress and ETA.
        disable=True if quiet else None,
        dynamic_ncols=True,
        file=sys.stderr,
    ) as bar:
        start = time.perf_counter()
        for done, (key, config) in enumerate(pending):
            number = skipped + done + 1
            label = run_label(config, spec)
            bar.set_postfix_str(label)
            data = _data_for(config["seed"], spec, data_cache, data_dir)
            callbacks = []
            if verbose == 2:
                callbacks.append(_EpochLogger(echo, config["epochs"]))
            if verbose:
                echo(f"[{number}/{total}] {label}")
            try:
                record = run_one(
                    config,
                    data,
                    key=key,
                    verbose=1 if verbose == 1 else 0,
                    callbacks=callbacks,
                )
            finally:
                keras.backend.clear_session()
            append_result(out_dir, record)
            line = f"[{number}/{total}] {label}: {summary(record)}"
            left = len(pending) - done - 1
            if left:
                elapsed = time.perf_counter() - start
                line += f", ETA {_duration(elapsed / (done + 1) * left)}"
            echo(line)
            bar.update(1)


def run_one(config, data, *, key=None, verbose=0, callbacks=None):
    """Trains and evaluates one run; returns its record.

    Args:
        config: One configuration of `SweepSpec.runs()`, with a resolved
            `model`.
        data: The `DataSplits` of the run's data set and seed.
        key: The run's key. Defaults to `run_key(config)`.
        verbose: Verbosity of `fit`. Defaults to `0`.
        callbacks: More callbacks for `fit`. Defaults to `None`.

    Returns:
        A dict: `key`; the configuration (hash, `hash_param` and
        `hash_value`, sparsity, numbering, number_zeros, table size and
        scope, data set, model, epochs, batch size, optimizer settings,
        seed); `train_accuracy` and `train_loss` (the last epoch's running
        averages, as the learning rate schedule sees them);
        `test_accuracy` and `test_loss`; `entropy` (nats, see
        `arbnet_keras.models.table_entropy`; `None` for the unshared dense
        baseline) and `max_entropy` (ln of the number of table entries);
        `table_entries`, `num_params`, `epochs_run`, `final_learning_rate`,
        per-epoch `history`, `fit_time` and `wall_time` in seconds,
        `versions` and a UTC `timestamp`.
    """
    start = time.perf_counter()
    keras.utils.set_random_seed(config["seed"])
    model = build_model(config, data.input_dim, data.num_classes)
    schedule = training.compile_paper(
        model,
        learning_rate=config["learning_rate"],
        momentum=config["momentum"],
        patience=config["patience"],
        factor=config["factor"],
    )
    fit_start = time.perf_counter()
    history = model.fit(
        data.train,
        epochs=config["epochs"],
        verbose=verbose,
        callbacks=schedule + list(callbacks or []),
        # The training pipeline shuffles itself, seeded.
        shuffle=False,
    ).history
    fit_time = time.perf_counter() - fit_start
    test = model.evaluate(data.test, verbose=0, return_dict=True)
    entropy = _float(models.table_entropy(model))
    layers = metrics.hashed_layers(model)
    table_entries = sum(
        {
            id(layer.table_variable): int(layer.table_variable.shape[0])
            for layer in layers
        }.values()
    )
    max_entropy = math.log(table_entries) if table_entries > 0 else None
    accuracy_name = _metric_name(history, "acc")
    record = {"key": key or run_key(config)}
    record.update(config)
    record.update(
        {
            "train_accuracy": _last(history.get(accuracy_name)),
            "train_loss": _last(history.get("loss")),
            "test_accuracy": _float(test.get(_metric_name(test, "acc"))),
            "test_loss": _float(test.get("loss")),
            "entropy": entropy,
            "max_entropy": max_entropy,
            "table_entries": table_entries or None,
            "num_params": int(
                sum(int(math.prod(w.shape)) for w in model.trainable_weights)
            ),
            "input_dim": int(data.input_dim),
            "num_train": int(data.num_train),
            "num_test": int(data.num_test),
            "epochs_run": len(history.get("loss", [])),
            "final_learning_rate": _last(history.get("learning_rate")),
            "history": {
                "accuracy": [_float(v) for v in history.get(accuracy_name, [])],
                "loss": [_float(v) for v in history.get("loss", [])],
                "learning_rate": [
                    _float(v) for v in history.get("learning_rate", [])
                ],
            },
            "fit_time": round(fit_time, 3),
            "wall_time": round(time.perf_counter() - start, 3),
            "versions": versions(),
            "timestamp": time.strftime(
                "%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()
            ),
        }
    )
    return record


def build_model(config, input_dim, num_classes):
    """Builds the model of one run configuration.

    Args:
        config: One configuration of `SweepSpec.runs()`, with a resolved
            `model`.
        input_dim: Number of input features.
        num_classes: Number of classes.

    Returns:
        An uncompiled, built `keras.Model` that outputs logits.
    """
    if config["model"] in convolution.MODELS:
        architecture = config["architecture"]
        param, value = config["hash_param"], config["hash_value"]
        return models.toeplitz_cnn(
            tuple(architecture["input_shape"]),
            num_classes,
            filters=architecture["filters"],
            kernel_size=architecture["kernel_size"],
            strides=architecture["strides"],
            layer=config["model"].removesuffix("_cnn"),
            noise=value if param == "noise" else 0.0,
            alpha=value if param == "alpha" else None,
            merge=value if param == "merge" else None,
            seed=config["seed"],
        )
    hash = hashing.get(config["hash"])
    if config["hash_param"] is not None:
        hash = type(hash)(**{config["hash_param"]: config["hash_value"]})
    kwargs = {
        "hash": hash,
        "table_size": config["table_size"],
        "sparsity": config["sparsity"],
        "table_scope": config["table_scope"],
        "seed": config["seed"],
        "numbering": config["numbering"],
        "number_zeros": config["number_zeros"],
        "sign": config["sign"],
    }
    if config["model"] == "hashed_mlp":
        return models.hashed_mlp(
            input_dim, config["hidden_units"], num_classes, **kwargs
        )
    if config["model"] == "cifar10_mlp":
        return models.cifar10_mlp(input_dim, num_classes, **kwargs)
    if config["model"] == "mnist_mlp":
        return models.mnist_mlp(input_dim, num_classes, **kwargs)
    raise ValueError(
        "Invalid value for argument `model`: expected a resolved model "
        "('mnist_mlp', 'cifar10_mlp', 'hashed_mlp'). "
        f"Received: model={config['model']!r}"
    )


def run_label(config, spec=None):
    """A short label of a run: its swept values and seed."""
    if spec is not None and hasattr(spec, "run_label"):
        return spec.run_label(config)
    parts = []
    if config["hash_param"] is not None:
        parts.append(f"{config['hash_param']}={config['hash_value']:g}")
    parts.append(f"sparsity={config['sparsity']:g}")
    if spec is None or len(spec.numbering) > 1:
        parts.append(f"numbering={config['numbering']}")
    if spec is None or len(spec.number_zeros) > 1:
        parts.append(f"number_zeros={config['number_zeros']}")
    parts.append(f"seed={config['seed']}")
    return " ".join(parts)


def summary(record):
    """A one-line summary of a record's results."""
    text = (
        f"test accuracy {_fmt(record.get('test_accuracy'))}, "
        f"train accuracy {_fmt(record.get('train_accuracy'))}"
    )
    if record.get("entropy") is not None:
        text += (
            f", entropy {_fmt(record['entropy'], 2)}"
            f"/{_fmt(record.get('max_entropy'), 2)} nats"
        )
    return text + f", {record.get('wall_time', 0):.1f} s"


def versions():
    """Versions of the library, Keras, its backend, NumPy and Python."""
    import numpy as np

    from arbnet_keras.version import __version__

    found = {
        "arbnet_keras": __version__,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
    try:
        import tensorflow as tf

        found["tensorflow"] = tf.__version__
    except ImportError:  # pragma: no cover - other backends.
        pass
    return found


def resolve_model(model, dataset, input_dim=None):
    """The model of `"auto"`: `"cifar10_mlp"` for 3072 inputs, else MNIST's.

    Returns `None` when `input_dim` is needed but not given.
    """
    if model != "auto":
        return model
    if input_dim is None:
        input_dim = _STATIC_INPUT_DIMS.get(dataset)
        if input_dim is None:
            return None
    return "cifar10_mlp" if input_dim == _CIFAR10_INPUT_DIM else "mnist_mlp"


def _resolve_model(spec, data_cache, data_dir):
    if isinstance(spec, (ExpansionSpec, ConvolutionSpec)):
        if spec.resolved:
            return spec
        data = _data_for(0, spec, data_cache, data_dir)
        return spec.resolve(data.input_dim, data.num_classes)
    model = resolve_model(spec.model, spec.dataset)
    if model is None:
        data = _data_for(0, spec, data_cache, data_dir)
        model = resolve_model(spec.model, spec.dataset, data.input_dim)
    return spec.replace(model=model)


def _check_existing_spec(spec, out_dir, force):
    if not out_dir.is_dir():
        return
    try:
        existing = read_spec(out_dir)
    except ValueError as error:
        if force:
            return
        raise ValueError(
            f"{error} Use a new directory, or force=True (--force) to "
            "replace it."
        ) from None
    if existing is None:
        return
    try:
        old = spec_from_dict(existing)
    except (TypeError, ValueError) as error:
        if force:
            return
        raise ValueError(
            f"`out_dir` {str(out_dir)!r} holds a sweep spec this version "
            f"cannot read ({error}). Use a new directory, or force=True "
            "(--force) to replace it."
        ) from None
    if old != spec and not force:
        if type(old) is not type(spec):
            changes = f"kind: {_kind(old)} -> {_kind(spec)}"
        else:
            changes = "; ".join(spec_differences(old, spec))
        raise ValueError(
            f"`out_dir` {str(out_dir)!r} already holds a different sweep "
            f"({changes}). Use a new directory, or force=True (--force) to "
            "replace its spec: the records already there are kept, and runs "
            f"the two specs share are not run again. Received: out_dir="
            f"{str(out_dir)!r}"
        )


def _kind(spec):
    kind = getattr(spec, "kind", None)
    return f"{kind or spec.hash} sweep"


def _data_for(seed, spec, data_cache, data_dir):
    """The data of a seed; only the last seed's data is kept in memory."""
    if seed not in data_cache:
        data_cache.clear()
        data_cache[seed] = datasets.load(
            spec.dataset,
            batch_size=spec.batch_size,
            data_dir=data_dir,
            normalization=spec.normalization,
            shuffle_seed=seed,
        )
    return data_cache[seed]


def _print(message):
    from tqdm.auto import tqdm

    tqdm.write(message, file=sys.stdout)
    sys.stdout.flush()


def _duration(seconds):
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"


def _metric_name(logs, fragment):
    for name in logs:
        if fragment in name:
            return name
    return None


def _float(value):
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _last(values):
    return _float(values[-1]) if values else None


def _fmt(value, digits=4):
    return "n/a" if value is None else f"{value:.{digits}f}"


class _EpochLogger(keras.callbacks.Callback):
    """Prints one line per epoch, above the sweep's progress bar."""

    def __init__(self, print_fn, epochs):
        super().__init__()
        self.print_fn = print_fn
        self.epochs = epochs
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        parts = [
            f"  epoch {epoch + 1}/{self.epochs}",
            f"{time.perf_counter() - self._start:.1f}s",
        ]
        for name, value in (logs or {}).items():
            value = float(value)
            parts.append(
                f"{name}: {value:.4g}"
                if name == "learning_rate"
                else f"{name}: {value:.4f}"
            )
        self.print_fn(" - ".join(parts))
