"""`make_tuner`: a KerasTuner tuner of an `ArbNetHyperModel` by name."""

import numbers

from arbnet_keras.tuning.dependencies import import_keras_tuner

TUNERS = ("random", "bayesian", "hyperband")


def objective_direction(objective):
    """`"min"` for a loss (a name containing `"loss"`), else `"max"`."""
    return "min" if "loss" in objective else "max"


def make_tuner(
    tuner,
    hypermodel,
    *,
    objective="val_accuracy",
    max_trials=10,
    max_epochs=10,
    seed=1,
    directory=None,
    project_name=None,
    overwrite=False,
    **kwargs,
):
    """Creates a KerasTuner tuner by name.

    Args:
        tuner: `"random"` (`keras_tuner.RandomSearch`), `"bayesian"`
            (`keras_tuner.BayesianOptimization`) or `"hyperband"`
            (`keras_tuner.Hyperband`).
        hypermodel: A `keras_tuner.HyperModel`, such as an
            `ArbNetHyperModel`.
        objective: Name of the logged metric to optimize; minimized if it
            names a loss, else maximized. Defaults to `"val_accuracy"`.
        max_trials: Number of trials of a random or Bayesian search
            (Hyperband sets its own). Defaults to `10`.
        max_epochs: Most epochs a Hyperband trial trains (others train
            for the `epochs` given to `search`). Defaults to `10`.
        seed: Positive seed of the tuner's sampling, or `None` for a
            random one (KerasTuner takes 0 for `None`). Defaults to `1`.
        directory: Where trials are recorded. Defaults to `None` (the
            current directory).
        project_name: Subdirectory of the search. Defaults to `None`
            (`"untitled_project"`).
        overwrite: Whether to discard a previous search of the same
            project instead of resuming it. Defaults to `False`.
        **kwargs: Other arguments of the tuner's class.

    Returns:
        A `keras_tuner.Tuner`.

    Raises:
        ValueError: On an invalid argument.

    Example:

    >>> tuner = make_tuner("bayesian", ArbNetHyperModel(), max_trials=20)
    >>> tuner.search(data.train, validation_data=data.test, epochs=5)
    """
    keras_tuner = import_keras_tuner()
    if tuner not in TUNERS:
        raise ValueError(
            f"Invalid value for argument `tuner`. Expected one of {TUNERS}. "
            f"Received: tuner={tuner!r}"
        )
    if not isinstance(objective, str) or not objective:
        raise ValueError(
            "`objective` must be the name of a logged metric. Received: "
            f"objective={objective!r}"
        )
    for name, value in (("max_trials", max_trials), ("max_epochs", max_epochs)):
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Integral)
            or value < 1
        ):
            raise ValueError(
                f"`{name}` must be a positive integer. Received: "
                f"{name}={value!r}"
            )
    if seed is not None and (
        isinstance(seed, bool)
        or not isinstance(seed, numbers.Integral)
        or seed < 1
    ):
        raise ValueError(
            "`seed` must be a positive integer or None (KerasTuner takes 0 "
            f"for None, a random seed). Received: seed={seed!r}"
        )
    common = dict(
        objective=keras_tuner.Objective(
            objective, objective_direction(objective)
        ),
        seed=seed,
        directory=directory,
        project_name=project_name,
        overwrite=overwrite,
        **kwargs,
    )
    if tuner == "random":
        return keras_tuner.RandomSearch(
            hypermodel, max_trials=int(max_trials), **common
        )
    if tuner == "bayesian":
        return keras_tuner.BayesianOptimization(
            hypermodel, max_trials=int(max_trials), **common
        )
    return keras_tuner.Hyperband(
        hypermodel, max_epochs=int(max_epochs), **common
    )
