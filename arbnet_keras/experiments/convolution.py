"""Why convolutions work: the paper's explanation, tested.

The ArbNets paper explains (sections 5.2 and 6) that convolutions succeed
because their hash function, the Toeplitz hash of eq. 6, is *balanced*
and *deterministic*, and that noise hurts because it makes geometrically
distant weights share. A convolution sweep tests both halves on one
network (`models.toeplitz_cnn`: a 5x5 convolution written as a
`HashedDense` with the Toeplitz hash, then a dense head):

- **noise** `p`: the entries of a fraction `p` of the convolution's
  weights are re-drawn uniformly over its table (`hashing.Perturbed`).
  The receptive fields (which weights are zero) and the expected load of
  every entry stay; only determinism falls. `p = 1` is a random hash over
  the same table and the same receptive fields.
- **imbalance** `alpha`: every entry of the Toeplitz hash is re-mapped
  through a `Dirichlet(alpha)` hash of the entry numbers: weights that
  shared still share (determinism held), but the entries pile up on fewer,
  unequally loaded ones as `alpha` falls (balance, the table's Shannon
  entropy, falls). Even a large `alpha` merges some entries (a random map
  of the table onto itself leaves about 1/e of it unused), so the
  unperturbed convolution (`p = 0`) is the balanced end of both series.
- **merge** `k` (a control of the imbalance series, off by default): the
  entries are merged evenly at random into `k` (`Perturbed(merge=k)`), so
  the table loses entries as under a small `alpha`, but stays balanced. At
  the same number of used entries, the gap between a merge and a
  Dirichlet remap is what imbalance costs beyond the lost entries.
- baselines: Keras' `Conv2D` (the same function as `p = 0`), a uniform
  hash over the whole dense kernel with the same table (sharing with
  neither locality nor structure), and the paper's dense MLP with one
  hidden layer of the same trainable parameter count.

Records are ordinary sweep records (`run_one`): the Toeplitz runs have
`hash="toeplitz"` and `hash_param` `"noise"`, `"alpha"` or `"merge"`;
every run has
an `architecture` field (filters, kernel size, strides, image shape).
"""

import dataclasses
import math

from arbnet_keras import training
from arbnet_keras.experiments import config as config_lib
from arbnet_keras.experiments.expansion import width_for_params
from arbnet_keras.experiments.spec_kind import SpecKind
from arbnet_keras.experiments.spec_kind import mean
from arbnet_keras.experiments.spec_kind import mean_std
from arbnet_keras.experiments.spec_kind import std
from arbnet_keras.models.toeplitz_cnn import conv_hash
from arbnet_keras.models.toeplitz_cnn import trainable_params

KIND = "convolution"
DEFAULT_NOISE = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0)
DEFAULT_ALPHA = (0.01, 0.1, 1.0, 100.0)
# The baselines, by the `model` of their runs.
BASELINES = {
    "conv2d_cnn": "Conv2D (reference)",
    "uniform_cnn": "uniform hash, same table, no locality",
    "hashed_mlp": "dense MLP, same parameter count",
}
MODELS = ("toeplitz_cnn", "conv2d_cnn", "uniform_cnn")


def image_shape(input_dim):
    """`(rows, cols, channels)` of a flattened square image, or `None`."""
    for channels in (1, 3):
        side = math.isqrt(input_dim // channels)
        if side * side * channels == input_dim:
            return (side, side, channels)
    return None


@dataclasses.dataclass(frozen=True)
class ConvolutionSpec(SpecKind):
    """A convolution sweep: noise and imbalance on a Toeplitz ArbNet.

    Runs are ordered seed first; within a seed, the baselines, then the
    noise series, then the imbalance series.

    Args:
        noise: Fractions `p` of the convolution's weights re-drawn at
            random, each in `[0, 1]`; empty for no noise series. Defaults
            to `(0, 0.01, 0.03, 0.1, 0.3, 1)`.
        alpha: Concentrations of the Dirichlet remap, each positive; empty
            for no imbalance series. Defaults to `(0.01, 0.1, 1, 100)`.
        merge: Numbers of entries of the even merges, each positive and
            at most the table's size; empty (the default) for none.
            Defaults to `()`.
        baseline: Whether to train the three baselines (`BASELINES`).
            Defaults to `True`.
        filters: Filters of the convolution. Defaults to `8`.
        kernel_size: Height and width of its filters. Defaults to `5`.
        strides: Its strides. Defaults to `2`.
        input_shape: `(rows, cols, channels)` of the images; `None` until
            `run_sweep` resolves it from the data. Defaults to `None`.
        num_classes: Classes of the data set, resolved likewise. Defaults
            to `None`.
        seeds, epochs, dataset, normalization, batch_size, learning_rate,
        momentum, patience, factor: As in `SweepSpec`.

    Raises:
        ValueError: If an argument is invalid.

    Example:

    >>> spec = ConvolutionSpec(noise=[0, 1], alpha=[0.1], baseline=False,
    ...                        input_shape=(28, 28, 1), num_classes=10)
    >>> [(r["hash_param"], r["hash_value"]) for r in spec.runs()]
    [('noise', 0.0), ('noise', 1.0), ('alpha', 0.1)]
    """

    KIND = KIND

    noise: tuple = DEFAULT_NOISE
    alpha: tuple = DEFAULT_ALPHA
    merge: tuple = ()
    baseline: bool = True
    filters: int = 8
    kernel_size: int = 5
    strides: int = 2
    input_shape: tuple | None = None
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

        set_("noise", _optional_values("noise", self.noise, _fraction))
        set_(
            "alpha",
            _optional_values("alpha", self.alpha, config_lib._positive_float),
        )
        set_(
            "merge",
            _optional_values("merge", self.merge, config_lib._positive_int),
        )
        set_("baseline", config_lib._bool("baseline", self.baseline))
        if not (self.noise or self.alpha or self.merge or self.baseline):
            raise ValueError(
                "A convolution sweep needs some runs: give `noise`, `alpha` "
                "or `merge` values, or `baseline=True`. Received: "
                "noise=(), alpha=(), merge=(), baseline=False"
            )
        for name in ("filters", "kernel_size", "strides"):
            set_(name, config_lib._positive_int(name, getattr(self, name)))
        if self.input_shape is not None:
            shape = config_lib._seq(self.input_shape)
            if len(shape) != 3:
                raise ValueError(
                    "`input_shape` must be `(rows, cols, channels)`. "
                    f"Received: input_shape={self.input_shape!r}"
                )
            set_(
                "input_shape",
                tuple(
                    config_lib._positive_int("input_shape", d) for d in shape
                ),
            )
        if self.num_classes is not None:
            set_(
                "num_classes",
                config_lib._positive_int("num_classes", self.num_classes),
            )
        self.check_training()

    @property
    def resolved(self):
        """Whether the images' shape and the number of classes are known."""
        return self.input_shape is not None and self.num_classes is not None

    def resolve(self, input_dim, num_classes):
        """A copy with the data's image shape and number of classes.

        Raises:
            ValueError: If `input_dim` is no square image of 1 or 3
                channels.
        """
        shape = self.input_shape or image_shape(input_dim)
        if shape is not None and math.prod(shape) != input_dim:
            raise ValueError(
                f"`input_shape` {shape} has {math.prod(shape)} values, but "
                f"the data set {self.dataset!r} has {input_dim} features. "
                f"Received: input_shape={shape}"
            )
        if shape is None:
            raise ValueError(
                f"The convolution sweep needs square images: the data set "
                f"{self.dataset!r} has {input_dim} features, no square "
                "image of 1 or 3 channels. Received: "
                f"dataset={self.dataset!r}"
            )
        resolved = self.replace(input_shape=shape, num_classes=num_classes)
        too_large = [k for k in self.merge if k > resolved.table_size]
        if too_large:
            raise ValueError(
                "`merge` values must be at most the table's size, "
                f"{resolved.table_size}. Received: merge={list(self.merge)}"
            )
        return resolved

    @property
    def table_size(self):
        """Entries of the convolution's table."""
        self._check_resolved()
        return conv_hash(
            self.input_shape, self.filters, self.kernel_size, self.strides
        ).required_table_size(None, None)

    def params(self):
        """Trainable parameters of the convolutional networks."""
        self._check_resolved()
        return trainable_params(
            self.input_shape,
            self.num_classes,
            self.filters,
            self.kernel_size,
            self.strides,
        )

    def dense_width(self):
        """Hidden width of the dense baseline of the same parameter count."""
        return width_for_params(
            self.params(), math.prod(self.input_shape), self.num_classes
        )

    def runs(self):
        """The configuration of every run (`SweepSpec.runs()`'s keys)."""
        self._check_resolved()
        runs = []
        for seed in range(self.seeds):
            if self.baseline:
                runs.append(self._run("conv2d_cnn", "identity", seed))
                runs.append(self._run("uniform_cnn", "uniform", seed))
                runs.append(self._run("hashed_mlp", "identity", seed))
            runs += [
                self._run("toeplitz_cnn", "toeplitz", seed, "noise", p)
                for p in self.noise
            ]
            runs += [
                self._run("toeplitz_cnn", "toeplitz", seed, "alpha", a)
                for a in self.alpha
            ]
            runs += [
                self._run("toeplitz_cnn", "toeplitz", seed, "merge", k)
                for k in self.merge
            ]
        return runs

    def _run(self, model, hash, seed, param=None, value=None):
        dense = model == "hashed_mlp"
        return {
            "hash": hash,
            "hash_param": param,
            "hash_value": value,
            "sparsity": 0.0,
            "numbering": "out_in",
            "number_zeros": True,
            "sign": False,
            "table_size": None if hash == "identity" else self.table_size,
            "table_scope": "layer",
            "dataset": self.dataset,
            "normalization": self.normalization,
            "model": model,
            "hidden_units": [self.dense_width()] if dense else None,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "momentum": self.momentum,
            "patience": self.patience,
            "factor": self.factor,
            "seed": seed,
            "architecture": {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "input_shape": list(self.input_shape),
            },
        }

    def run_label(self, config):
        """A short label of one of the sweep's runs."""
        if config["hash_param"] is not None:
            text = f"{config['hash_param']}={config['hash_value']:g}"
        elif config["model"] == "hashed_mlp":
            text = f"dense width={config['hidden_units'][0]}"
        else:
            text = config["model"]
        return f"{text} seed={config['seed']}"

    def describe(self):
        """A one-line, human-readable summary of the sweep."""
        parts = [
            f"convolution sweep ({self.filters} filters "
            f"{self.kernel_size}x{self.kernel_size}, stride {self.strides})",
            f"noise={config_lib._fmt_list(self.noise)}",
            f"alpha={config_lib._fmt_list(self.alpha)}",
        ]
        if self.merge:
            parts.append(f"merge={config_lib._fmt_list(self.merge)}")
        parts += [
            f"baseline={self.baseline}",
            f"seeds={self.seeds}",
            f"epochs={self.epochs}",
            f"dataset={self.dataset}",
        ]
        if self.resolved:
            parts.append(f"({len(self.runs())} runs)")
        return ", ".join(parts)

    def _check_resolved(self):
        if not self.resolved:
            raise ValueError(
                "The convolution sweep needs the data's `input_shape` and "
                "`num_classes`; `run_sweep` resolves them. Received: "
                f"input_shape={self.input_shape}, "
                f"num_classes={self.num_classes}"
            )


def _fraction(name, value):
    value = config_lib._float(name, value)
    if not 0 <= value <= 1:
        raise ValueError(
            f"`{name}` values must lie in [0, 1]. Received: {name}={value!r}"
        )
    return value


def _optional_values(name, value, check):
    if value is None or (
        not isinstance(value, (str, bytes))
        and hasattr(value, "__len__")
        and len(value) == 0
    ):
        return ()
    return config_lib._values(name, value, check)


def summarize(records, spec=None):
    """One row per configuration of a convolution sweep, in a fixed order.

    Args:
        records: The sweep's records.
        spec: Its `ConvolutionSpec`, or `None` (then every configuration
            found in the records is listed).

    Returns:
        A list of dicts: `label`, `model`, `param` (`"noise"`, `"alpha"`,
        `"merge"` or `None`), `value`, `test_accuracy` (list over seeds),
        `train_accuracy` (list), `entropy` (mean, nats, or `None`) and
        `params` (trainable parameters).
    """
    groups = {}
    for record in records:
        if (
            record.get("model") not in BASELINES
            and record.get("model") not in MODELS
        ):
            continue
        key = (record["model"], record.get("hash_param"), record["hash_value"])
        groups.setdefault(key, []).append(record)

    def order(key):
        model, param, value = key
        rank = list(BASELINES).index(model) if model in BASELINES else 9
        if param is not None:
            rank = {"noise": 10, "alpha": 20}.get(param, 30)
        return (rank, value or 0.0)

    if spec is not None:
        wanted = []
        if spec.baseline:
            wanted += [(model, None, None) for model in BASELINES]
        wanted += [("toeplitz_cnn", "noise", p) for p in spec.noise]
        wanted += [("toeplitz_cnn", "alpha", a) for a in spec.alpha]
        wanted += [("toeplitz_cnn", "merge", k) for k in spec.merge]
        keys = wanted + sorted(set(groups) - set(wanted), key=order)
    else:
        keys = sorted(groups, key=order)
    rows = []
    for model, param, value in keys:
        group = groups.get((model, param, value), [])
        entropies = [
            r["entropy"] for r in group if r.get("entropy") is not None
        ]
        if param is not None:
            label = f"Toeplitz, {param} = {value:g}"
        else:
            label = BASELINES.get(model, model)
        rows.append(
            {
                "label": label,
                "model": model,
                "param": param,
                "value": value,
                "test_accuracy": _values(group, "test_accuracy"),
                "train_accuracy": _values(group, "train_accuracy"),
                "entropy": mean(entropies) if entropies else None,
                "params": group[0].get("num_params") if group else None,
            }
        )
    return rows


def results_table(records, spec=None):
    """A Markdown table: test accuracy of every configuration, mean ± std."""
    lines = []
    if spec is not None:
        lines += [f"Sweep: {spec.describe()}.", ""]
    lines += [
        "| configuration | trainable params | table entropy (nats) | test "
        "accuracy | train accuracy | seeds |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in summarize(records, spec):
        entropy = row["entropy"]
        lines.append(
            "| "
            + " | ".join(
                [
                    row["label"],
                    "" if row["params"] is None else f"{row['params']:,}",
                    "" if entropy is None else f"{entropy:.2f}",
                    mean_std(row["test_accuracy"]),
                    mean_std(row["train_accuracy"]),
                    str(len(row["test_accuracy"])),
                ]
            )
            + " |"
        )
    lines.append("")
    return "\n".join(lines)


def accuracy_figure(records, spec=None):
    """Figure: test accuracy against noise, and against balance.

    Left, the noise series against `p` (a linear scale below 0.01, log
    above); right, the imbalance series against the table's entropy (each
    point labelled with its `alpha`), with the unperturbed convolution as
    the balanced end. Both panels show the baselines as horizontal bands
    (mean ± std over seeds). Error bars: standard deviation over seeds.
    """
    from arbnet_keras.experiments.plots import _figure_class

    rows = [r for r in summarize(records, spec) if r["test_accuracy"]]
    figure = _figure_class()(figsize=(11, 4.2))
    noise_ax = figure.add_subplot(1, 2, 1)
    alpha_ax = figure.add_subplot(1, 2, 2, sharey=noise_ax)
    noise = [r for r in rows if r["param"] == "noise"]
    alpha = [r for r in rows if r["param"] == "alpha"]
    merge = [r for r in rows if r["param"] == "merge"]
    if noise:
        noise_ax.errorbar(
            [r["value"] for r in noise],
            [mean(r["test_accuracy"]) for r in noise],
            yerr=[std(r["test_accuracy"]) for r in noise],
            fmt="o-",
            capsize=3,
            label="Toeplitz ArbNet, noise p",
        )
    balanced = [r for r in noise if r["value"] == 0.0]
    points = alpha + balanced
    handles = [
        alpha_ax.errorbar(
            [r["entropy"] for r in series],
            [mean(r["test_accuracy"]) for r in series],
            yerr=[std(r["test_accuracy"]) for r in series],
            fmt=fmt,
            capsize=3,
            label=label,
        )
        for series, fmt, label in (
            (points, "o", "Toeplitz ArbNet, Dirichlet remap"),
            (merge, "s", "Toeplitz ArbNet, even merge into k entries"),
        )
        if series
    ]
    for r in points + merge:
        text = {"noise": "p=0", "alpha": f"α={r['value']:g}"}.get(
            r["param"], f"k={r['value']:g}"
        )
        alpha_ax.annotate(
            text,
            (r["entropy"], mean(r["test_accuracy"])),
            textcoords="offset points",
            xytext=(4, 4),
            fontsize=8,
        )
    colors = ("tab:green", "tab:red", "tab:gray")
    for ax in (noise_ax, alpha_ax):
        for row, color in zip([r for r in rows if r["param"] is None], colors):
            center = mean(row["test_accuracy"])
            spread = std(row["test_accuracy"])
            ax.axhline(center, color=color, linestyle="--", label=row["label"])
            ax.axhspan(
                center - spread, center + spread, color=color, alpha=0.12
            )
        ax.grid(True, alpha=0.3)
    noise_ax.set_xscale("symlog", linthresh=0.01)
    # p = 0 sits at the left edge, not in the middle of a negative half.
    noise_ax.set_xlim(-0.002, 1.5)
    noise_ax.set_xlabel("noise p (fraction of weights re-drawn)")
    noise_ax.set_ylabel("test accuracy (mean ± std over seeds)")
    noise_ax.set_title("Determinism: noise on the Toeplitz hash")
    alpha_ax.set_xlabel("table entropy (nats); higher is more balanced")
    alpha_ax.set_title("Balance: its entries re-mapped")
    noise_ax.legend(fontsize=8, loc="lower left")
    if merge:
        alpha_ax.legend(handles=handles, fontsize=8, loc="lower right")
    dataset = spec.dataset if spec is not None else ""
    figure.suptitle(f"Why convolutions work, on {dataset}".strip())
    figure.tight_layout()
    return figure


def _values(records, name):
    return [r[name] for r in records if isinstance(r.get(name), (int, float))]
