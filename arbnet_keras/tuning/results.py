"""Summaries of a finished search: the best trial and all the trials."""

import json
import math
import os

_HYPERBAND_BOOKKEEPING = ("tuner/initial_epoch", "tuner/bracket", "tuner/round")
_ORDER = ("hash", "alpha", "radius", "table_size", "sparsity", "learning_rate")


def trial_record(trial):
    """A JSON-ready dict of a `keras_tuner` trial.

    Returns:
        A dict with `trial_id`, `status`, `score` (the objective at the
        trial's best epoch, or `None`), `hyperparameters` (the active
        values) and `metrics` (each logged metric at the best epoch).
    """
    metrics = {}
    for name in sorted(trial.metrics.metrics):
        value = trial.metrics.get_last_value(name)
        metrics[name] = _number(value)
    return {
        "trial_id": trial.trial_id,
        "status": trial.status,
        "score": _number(trial.score),
        "hyperparameters": dict(trial.hyperparameters.values),
        "metrics": metrics,
    }


def summarize(oracle, **metadata):
    """Summarizes a search from its oracle (`tuner.oracle`).

    Args:
        oracle: A `keras_tuner.Oracle` (the chief's in a distributed
            search).
        **metadata: JSON-ready entries added to the summary, such as the
            data set and the command line.

    Returns:
        A dict with `objective` (`name` and `direction`), `best` (the
        `trial_record` of the best trial, or `None`), `trials` (every
        trial's record, in start order) and `metadata`.

    Example:

    >>> summary = summarize(tuner.oracle, dataset="mnist_5k")
    >>> summary["best"]["hyperparameters"]["alpha"]
    """
    best = oracle.get_best_trials(1)
    order = list(oracle.start_order) or sorted(oracle.trials)
    return {
        "objective": {
            "name": oracle.objective.name,
            "direction": oracle.objective.direction,
        },
        "best": trial_record(best[0]) if best else None,
        "trials": [trial_record(oracle.trials[i]) for i in order],
        "metadata": metadata,
    }


def format_summary(summary):
    """Lines that print the best trial of a `summarize` summary."""
    objective = summary["objective"]
    counts = {}
    for trial in summary["trials"]:
        counts[trial["status"]] = counts.get(trial["status"], 0) + 1
    done = ", ".join(f"{n} {status.lower()}" for status, n in counts.items())
    lines = [f"Trials: {len(summary['trials'])} ({done or 'none'})"]
    best = summary["best"]
    if best is None:
        lines.append("No trial completed.")
        return lines
    lines.append(
        f"Best trial: {best['trial_id']} ({objective['name']} = "
        f"{_fmt(best['score'])}, {objective['direction']}imized)"
    )
    lines.append("Hyperparameters:")
    for name in _ordered(best["hyperparameters"]):
        lines.append(f"  {name} = {_fmt(best['hyperparameters'][name])}")
    lines.append("Metrics at the best epoch:")
    for name, value in best["metrics"].items():
        lines.append(f"  {name} = {_fmt(value)}")
    lines.append("All trials (hyperparameters that vary):")
    for trial in summary["trials"]:
        values = " ".join(
            f"{name}={_fmt(trial['hyperparameters'][name])}"
            for name in _varying(summary["trials"])
            if name in trial["hyperparameters"]
        )
        lines.append(
            f"  {trial['trial_id']:>4} {trial['status'].lower():<9} "
            f"{objective['name']}={_fmt(trial['score'])} {values}".rstrip()
        )
    return lines


def _varying(trials):
    """Names of the hyperparameters that differ among trials or are absent
    from some (conditional ones), Hyperband's bookkeeping left out."""
    names = {}
    for trial in trials:
        for name, value in trial["hyperparameters"].items():
            names.setdefault(name, []).append(repr(value))
    varying = [
        name
        for name, values in names.items()
        if (len(set(values)) > 1 or len(values) < len(trials))
        and name not in _HYPERBAND_BOOKKEEPING
    ]
    return _ordered(varying)


def _ordered(names):
    """The names in the search space's order, the others after them."""
    order = {name: i for i, name in enumerate(_ORDER)}
    return sorted(names, key=lambda name: order.get(name, len(order)))


def write_summary(summary, path):
    """Writes a summary as JSON (atomically); returns the path."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temporary = f"{path}.tmp{os.getpid()}"
    with open(temporary, "w") as f:
        json.dump(summary, f, indent=2, sort_keys=False)
        f.write("\n")
    os.replace(temporary, path)
    return path


def _number(value):
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
