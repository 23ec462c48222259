"""HashedNets' "expansion": a fixed table, a growing virtual network.

Every hashed run is a `784-H-10` `hashed_mlp` (the paper's ELU and batch
normalization blocks) whose kernels share one network table of
`table_size` entries, for each hidden width `H`: the virtual network
grows while the table stays the same. Its baseline, for each `H`, is the
plain dense network of the same layout whose trainable parameter count
is closest to the hashed network's: the table, plus the biases and
batch-normalization scales and offsets (3 per unit), which are unshared
and grow with `H`. Records are ordinary sweep records (`run_one`), the
baselines with the identity hash.
"""

import dataclasses

from arbnet_keras import training
from arbnet_keras.experiments import config as config_lib
from arbnet_keras.experiments.spec_kind import SpecKind
from arbnet_keras.experiments.spec_kind import mean_std

KIND = "expansion"
HASHES = ("uniform", "modulus", "hashed_nets")
DEFAULT_WIDTHS = (100, 300, 1000, 3000, 10000)
# Trainable parameters of a unit besides its kernel: a bias and the
# batch normalization's scale and offset.
UNIT_PARAMS = 3


def hashed_params(table_size, width, num_classes):
    """Trainable parameters of the hashed `D-H-C` network."""
    return table_size + UNIT_PARAMS * (width + num_classes)


def dense_params(input_dim, width, num_classes):
    """Trainable parameters of the dense `D-h-C` network."""
    return (
        input_dim * width
        + width * num_classes
        + UNIT_PARAMS * (width + num_classes)
    )


def matched_width(table_size, width, input_dim, num_classes):
    """The dense width whose parameters are closest to the hashed net's."""
    return width_for_params(
        hashed_params(table_size, width, num_classes), input_dim, num_classes
    )


def width_for_params(target, input_dim, num_classes):
    """The width of the dense `D-h-C` network closest to `target` params."""
    per_unit = input_dim + num_classes + UNIT_PARAMS
    low = max(1, (target - UNIT_PARAMS * num_classes) // per_unit)
    return min(
        (low, low + 1),
        key=lambda h: (
            abs(dense_params(input_dim, h, num_classes) - target),
            h,
        ),
    )


@dataclasses.dataclass(frozen=True)
class ExpansionSpec(SpecKind):
    """An expansion sweep: hidden widths at a fixed table, and baselines.

    Runs are ordered seed first; within a seed, the dense baselines come
    first (they are small), then the hashed networks by growing width.

    Args:
        widths: Hidden widths of the hashed networks. Defaults to
            `(100, 300, 1000, 3000, 10000)`.
        table_size: Entries of the network's one table. Defaults to
            `10000`.
        hash: Hash of the hashed networks, one of `HASHES`. Defaults to
            `"uniform"`.
        baseline: Whether to train, for every width, the dense network
            of the nearest parameter count (`matched_width`). Defaults
            to `True`.
        input_dim: Features of the data set; `None` until `run_sweep`
            resolves it from the data (the baselines' widths need it).
            Defaults to `None`.
        num_classes: Classes of the data set, resolved likewise. Defaults
            to `None`.
        seeds, epochs, dataset, normalization, batch_size, learning_rate,
        momentum, patience, factor: As in `SweepSpec`.

    Raises:
        ValueError: If an argument is invalid.

    Example:

    >>> spec = ExpansionSpec(widths=[100, 1000], input_dim=784,
    ...                      num_classes=10)
    >>> [run["hidden_units"] for run in spec.runs()]
    [[13], [16], [100], [1000]]
    """

    KIND = KIND

    widths: tuple = DEFAULT_WIDTHS
    table_size: int = 10000
    hash: str = "uniform"
    baseline: bool = True
    input_dim: int | None = None
    num_classes: int | None = None
    seeds: int = 1
    epochs: int = training.DEFAULT_EPOCHS
    dataset: str = "mnist_5k"
    normalization: str = "unit"
    batch_size: int = training.DEFAULT_BATCH_SIZE
    learning_rate: float = training.LEARNING_RATE
    momentum: float = training.MOMENTUM
    patience: int = training.PATIENCE
    factor: float = training.FACTOR

    def __post_init__(self):
        def set_(name, value):
            object.__setattr__(self, name, value)

        widths = config_lib._values(
            "widths", self.widths, config_lib._positive_int
        )
        set_("widths", tuple(sorted(widths)))
        set_(
            "table_size",
            config_lib._positive_int("table_size", self.table_size),
        )
        set_("hash", config_lib._choice("hash", self.hash, HASHES))
        set_("baseline", config_lib._bool("baseline", self.baseline))
        for name in ("input_dim", "num_classes"):
            value = getattr(self, name)
            if value is not None:
                set_(name, config_lib._positive_int(name, value))
        self.check_training()

    @property
    def resolved(self):
        """Whether the data's `input_dim` and `num_classes` are known."""
        return self.input_dim is not None and self.num_classes is not None

    def resolve(self, input_dim, num_classes):
        """A copy with the data set's input and class counts."""
        return self.replace(input_dim=input_dim, num_classes=num_classes)

    def baseline_width(self, width):
        """The dense baseline's width for hashed width `width`."""
        if not self.resolved:
            raise ValueError(
                "The baselines' widths need the data's `input_dim` and "
                "`num_classes`; `run_sweep` resolves them. Received: "
                f"input_dim={self.input_dim}, "
                f"num_classes={self.num_classes}"
            )
        return matched_width(
            self.table_size, width, self.input_dim, self.num_classes
        )

    def runs(self):
        """The configuration of every run (`SweepSpec.runs()`'s keys)."""
        runs = []
        for seed in range(self.seeds):
            if self.baseline:
                widths = sorted({self.baseline_width(w) for w in self.widths})
                runs += [self._run("identity", None, w, seed) for w in widths]
            runs += [
                self._run(self.hash, self.table_size, w, seed)
                for w in self.widths
            ]
        return runs

    def _run(self, hash, table_size, width, seed):
        return {
            "hash": hash,
            "hash_param": None,
            "hash_value": None,
            "sparsity": 0.0,
            "numbering": "out_in",
            "number_zeros": True,
            "sign": False,
            "table_size": table_size,
            "table_scope": "network",
            "dataset": self.dataset,
            "normalization": self.normalization,
            "model": "hashed_mlp",
            "hidden_units": [width],
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "momentum": self.momentum,
            "patience": self.patience,
            "factor": self.factor,
            "seed": seed,
        }

    def run_label(self, config):
        """A short label of one of the sweep's runs."""
        width = config["hidden_units"][0]
        if config["hash"] == "identity":
            return f"dense width={width} seed={config['seed']}"
        return f"{config['hash']} width={width} seed={config['seed']}"

    def describe(self):
        """A one-line, human-readable summary of the sweep."""
        widths = " ".join(str(w) for w in self.widths)
        parts = [
            f"expansion sweep ({self.hash} hash)",
            f"widths=[{widths}]",
            f"table_size={self.table_size}",
            f"baseline={self.baseline}",
            f"seeds={self.seeds}",
            f"epochs={self.epochs}",
            f"dataset={self.dataset}",
        ]
        if self.resolved:
            parts.append(f"({len(self.runs())} runs)")
        return ", ".join(parts)


def spec_from_dict(config):
    """The spec of a `sweep.json` dict, of whichever kind it holds.

    A `SweepSpec`, or, by its `"kind"`, an `ExpansionSpec` or a
    `ConvolutionSpec`.
    """
    from arbnet_keras.experiments import convolution

    kind = config.get("kind") if isinstance(config, dict) else None
    if kind == KIND:
        return ExpansionSpec.from_dict(config)
    if kind == convolution.KIND:
        return convolution.ConvolutionSpec.from_dict(config)
    return config_lib.SweepSpec.from_dict(config)


def summarize(records, spec):
    """One row per width: the hashed runs and their matched baselines.

    Returns:
        A list of dicts with `width`, `params` (hashed), `test_accuracy`
        (list over seeds), `dense_width`, `dense_params` and
        `dense_accuracy` (list, empty without baseline runs).
    """
    rows = []
    for width in spec.widths:
        hashed = [
            r
            for r in records
            if r.get("hash") == spec.hash
            and r.get("hidden_units") == [width]
            and r.get("table_size") == spec.table_size
        ]
        row = {
            "width": width,
            "virtual_weights": None,
            "params": None,
            "test_accuracy": _accuracies(hashed),
            "dense_width": None,
            "dense_params": None,
            "dense_accuracy": [],
        }
        if hashed:
            row["params"] = hashed[0].get("num_params")
            row["virtual_weights"] = hashed[0].get(
                "input_dim", spec.input_dim or 0
            ) * width + width * (spec.num_classes or 10)
        if spec.resolved:
            dense_width = spec.baseline_width(width)
            dense = [
                r
                for r in records
                if r.get("hash") == "identity"
                and r.get("hidden_units") == [dense_width]
            ]
            row["dense_width"] = dense_width
            row["dense_params"] = dense_params(
                spec.input_dim, dense_width, spec.num_classes
            )
            row["dense_accuracy"] = _accuracies(dense)
        rows.append(row)
    return rows


def results_table(records, spec):
    """A Markdown table of test accuracy against width, with baselines."""
    lines = [
        f"Sweep: {spec.describe()}.",
        "",
        "| hidden width | virtual weights | trainable params | test "
        "accuracy (hashed) | seeds | dense width | dense params | test "
        "accuracy (dense) | seeds |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in summarize(records, spec):
        lines.append(
            "| "
            + " | ".join(
                [
                    str(row["width"]),
                    _fmt_int(row["virtual_weights"]),
                    _fmt_int(row["params"]),
                    mean_std(row["test_accuracy"]),
                    str(len(row["test_accuracy"])),
                    _fmt_int(row["dense_width"]),
                    _fmt_int(row["dense_params"]),
                    mean_std(row["dense_accuracy"]),
                    str(len(row["dense_accuracy"])),
                ]
            )
            + " |"
        )
    lines.append("")
    return "\n".join(lines)


def accuracy_figure(records, spec):
    """Figure: test accuracy against hidden width, hashed and dense."""
    from arbnet_keras.experiments.plots import _figure_class

    figure = _figure_class()(figsize=(6, 4))
    ax = figure.add_subplot(1, 1, 1)
    rows = [r for r in summarize(records, spec) if r["test_accuracy"]]
    for key, label, style in (
        ("test_accuracy", f"hashed ({spec.table_size}-entry table)", "o-"),
        ("dense_accuracy", "dense, same parameter count", "s--"),
    ):
        points = [(r["width"], r[key]) for r in rows if r[key]]
        if not points:
            continue
        means = [sum(v) / len(v) for _, v in points]
        lows = [m - min(v) for m, (_, v) in zip(means, points)]
        highs = [max(v) - m for m, (_, v) in zip(means, points)]
        ax.errorbar(
            [w for w, _ in points],
            means,
            yerr=[lows, highs],
            fmt=style,
            capsize=3,
            label=label,
        )
    ax.set_xscale("log")
    ax.set_xlabel("hidden width of the hashed network (virtual)")
    ax.set_ylabel("test accuracy (mean, min-max over seeds)")
    ax.set_title(f"Expansion on {spec.dataset}")
    ax.grid(True, alpha=0.3)
    ax.legend()
    figure.tight_layout()
    return figure


def _accuracies(records):
    return [
        r["test_accuracy"]
        for r in records
        if isinstance(r.get("test_accuracy"), float)
    ]


def _fmt_int(value):
    return "" if value is None else f"{value:,}"
