"""The paper's experiments: a Dirichlet sweep and a Neighborhood sweep.

`reproduce(quick=True)` runs a reduced version on `mnist_5k` in a few
minutes on a laptop CPU; `reproduce(quick=False)` runs the paper-scale
configuration (`FULL`), which takes hours on a CPU.
"""

import pathlib

from arbnet_keras import training
from arbnet_keras.experiments.config import SweepSpec
from arbnet_keras.experiments.plots import plot_results
from arbnet_keras.experiments.plots import summarize
from arbnet_keras.experiments.runner import run_sweep

# Reduced sweeps: 1 seed, 10 epochs, 33 runs in all (about 2-3 minutes
# on 2 CPU cores with mnist_5k).
QUICK = {
    "dirichlet": {
        "alpha": (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0),
        "sparsity": (0.0, 0.5, 0.9),
        "seeds": 1,
        "epochs": 10,
    },
    "neighborhood": {
        "radius": (0, 1, 10, 100, 500),
        "sparsity": (0.0, 0.5, 0.9),
        "seeds": 1,
        "epochs": 10,
    },
}

# Paper scale: the ranges of the paper's Figures 2-4, 3 seeds and
# `training.DEFAULT_EPOCHS` epochs (the paper gives no epoch count); 180
# runs in all.
FULL = {
    "dirichlet": {
        "alpha": (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0),
        "sparsity": (0.0, 0.1, 0.5, 0.9),
        "seeds": 3,
        "epochs": training.DEFAULT_EPOCHS,
    },
    "neighborhood": {
        "radius": (0, 1, 3, 10, 30, 100, 300, 500),
        "sparsity": (0.0, 0.1, 0.5, 0.9),
        "seeds": 3,
        "epochs": training.DEFAULT_EPOCHS,
    },
}


def reproduce_specs(quick=True, dataset="mnist_5k", **overrides):
    """The specs of the paper's two sweeps.

    Args:
        quick: Whether to use the reduced `QUICK` configuration rather than
            the paper-scale `FULL` one. Defaults to `True`.
        dataset: Data set of both sweeps. Defaults to `"mnist_5k"`.
        **overrides: `SweepSpec` fields set in both specs (for example
            `epochs=1` or `batch_size=64`).

    Returns:
        A dict `{"dirichlet": SweepSpec, "neighborhood": SweepSpec}`.

    Example:

    >>> specs = reproduce_specs(quick=True)
    >>> len(specs["dirichlet"].runs()), len(specs["neighborhood"].runs())
    (18, 15)
    """
    configs = QUICK if quick else FULL
    return {
        name: SweepSpec(name, dataset=dataset, **{**config, **overrides})
        for name, config in configs.items()
    }


def reproduce(
    out_dir=None,
    *,
    quick=True,
    dataset="mnist_5k",
    data_dir=None,
    quiet=False,
    force=False,
    formats=("png",),
    plot=True,
    print_fn=None,
    **overrides,
):
    """Runs the paper's Dirichlet and Neighborhood sweeps and plots them.

    The sweeps go to `<out_dir>/dirichlet` and `<out_dir>/neighborhood`
    (each resumable, see `run_sweep`), and their figures and `results.md`
    next to their results.

    Args:
        out_dir: Output directory. Defaults to `"runs/reproduce_quick"`
            when `quick`, else `"runs/reproduce"`.
        quick: Whether to run the reduced configuration (`QUICK`: 6
            alphas and 5 radii, 3 sparsities, 1 seed, 10 epochs; 33 runs,
            a few minutes on 2 CPU cores) or the paper-scale one (`FULL`:
            7 alphas and 8 radii, 4 sparsities, 3 seeds, 50 epochs; 180
            runs, about an hour on 2 CPU cores with `mnist_5k`). Defaults
            to `True`.
        dataset: Data set. Defaults to `"mnist_5k"`.
        data_dir: tensorflow-datasets directory. Defaults to `None`.
        quiet: Whether to print only one line per run. Defaults to `False`.
        force: See `run_sweep`. Defaults to `False`.
        formats: Figure formats, see `plot_results`. Defaults to
            `("png",)`.
        plot: Whether to draw the figures. Defaults to `True`.
        print_fn: See `run_sweep`. Defaults to `None` (standard output).
        **overrides: `SweepSpec` fields set in both sweeps.

    Returns:
        A dict mapping each sweep's name to a dict with its `out_dir`, its
        `records`, and the `paths` of its figures and table.
    """
    if out_dir is None:
        out_dir = "runs/reproduce_quick" if quick else "runs/reproduce"
    out_dir = pathlib.Path(out_dir)
    echo = print_fn if print_fn is not None else print
    specs = reproduce_specs(quick=quick, dataset=dataset, **overrides)
    done = {}
    for name, spec in specs.items():
        sweep_dir = out_dir / name
        records = run_sweep(
            spec,
            sweep_dir,
            quiet=quiet,
            force=force,
            data_dir=data_dir,
            print_fn=print_fn,
        )
        paths = plot_results(sweep_dir, formats=formats) if plot else []
        done[name] = {"out_dir": sweep_dir, "records": records, "paths": paths}
    for name, result in done.items():
        echo(f"\n{name} sweep: test accuracy (mean over seeds)")
        for row in summarize(result["records"]):
            echo(
                f"  {row['hash_param']}={row['hash_value']:g} "
                f"sparsity={row['sparsity']:g}: "
                f"{_fmt(row['test_accuracy_mean'], 4)} "
                f"(entropy {_fmt(row['entropy_mean'])}, n={row['n']})"
            )
        if result["paths"]:
            echo(f"  figures and table in {result['out_dir']}")
    return done


def _fmt(value, digits=2):
    return "n/a" if value is None else f"{value:.{digits}f}"
