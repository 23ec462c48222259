"""Experiments of the ArbNets paper: sweeps, their results and figures.

A sweep is data (`SweepSpec`), one runner writes its results
(`run_sweep`, one JSON record per run in `results.jsonl`) and plotting
only reads them (`plot_results`):

>>> from arbnet_keras import experiments
>>> spec = experiments.SweepSpec(
...     "dirichlet", alpha=[1e-3, 1e-1, 10], sparsity=[0, 0.9], epochs=5
... )
>>> records = experiments.run_sweep(spec, "runs/dirichlet")
>>> paths = experiments.plot_results("runs/dirichlet")

The same from the command line: `arbnet sweep dirichlet --alpha 1e-3 1e-1
10 --sparsity 0 0.9 --epochs 5 --out runs/dirichlet`, then `arbnet plot
runs/dirichlet`. `ExpansionSpec` is HashedNets' expansion experiment (a
fixed table, growing hidden widths, dense baselines of the same parameter
count): `arbnet sweep expansion`. `ConvolutionSpec` tests the paper's
explanation of why convolutions work (noise and imbalance on a
convolution written as an ArbNet): `arbnet sweep convolution`.
`serve_sweep` and `run_sweep_worker` share one sweep between processes or
machines (a KerasTuner chief hands the runs out to workers): `arbnet
sweep ... --serve` and `arbnet sweep-worker`.
"""

from arbnet_keras.experiments.config import HASH_PARAMETERS
from arbnet_keras.experiments.config import SWEEPS
from arbnet_keras.experiments.config import SweepSpec
from arbnet_keras.experiments.config import run_key
from arbnet_keras.experiments.convolution import ConvolutionSpec
from arbnet_keras.experiments.expansion import ExpansionSpec
from arbnet_keras.experiments.paper import reproduce
from arbnet_keras.experiments.paper import reproduce_specs
from arbnet_keras.experiments.plots import accuracy_vs_alpha
from arbnet_keras.experiments.plots import accuracy_vs_entropy
from arbnet_keras.experiments.plots import accuracy_vs_radius
from arbnet_keras.experiments.plots import accuracy_vs_sparsity
from arbnet_keras.experiments.plots import dirichlet_heatmaps
from arbnet_keras.experiments.plots import plot_results
from arbnet_keras.experiments.plots import results_table
from arbnet_keras.experiments.plots import summarize
from arbnet_keras.experiments.results import SweepLockedError
from arbnet_keras.experiments.results import append_result
from arbnet_keras.experiments.results import read_results
from arbnet_keras.experiments.runner import build_model
from arbnet_keras.experiments.runner import run_one
from arbnet_keras.experiments.runner import run_sweep
from arbnet_keras.experiments.shared_sweep import run_sweep_worker
from arbnet_keras.experiments.shared_sweep import serve_sweep

__all__ = [
    "ConvolutionSpec",
    "ExpansionSpec",
    "HASH_PARAMETERS",
    "SWEEPS",
    "SweepLockedError",
    "SweepSpec",
    "accuracy_vs_alpha",
    "accuracy_vs_entropy",
    "accuracy_vs_radius",
    "accuracy_vs_sparsity",
    "append_result",
    "build_model",
    "dirichlet_heatmaps",
    "plot_results",
    "read_results",
    "reproduce",
    "reproduce_specs",
    "results_table",
    "run_key",
    "run_one",
    "run_sweep",
    "run_sweep_worker",
    "serve_sweep",
    "summarize",
]
