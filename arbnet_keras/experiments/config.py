"""Sweep specifications: which runs a sweep is made of."""

import dataclasses
import hashlib
import itertools
import json
import math
import numbers

from arbnet_keras import training

# Sweeps by hash function, and the name of each one's swept parameter.
HASH_PARAMETERS = {
    "dirichlet": "alpha",
    "neighborhood": "radius",
    "uniform": None,
    "modulus": None,
    "identity": None,
    "hashed_nets": None,
}
SWEEPS = tuple(HASH_PARAMETERS)
MODELS = ("auto", "mnist_mlp", "cifar10_mlp", "hashed_mlp")
TABLE_SCOPES = ("network", "layer")
NUMBERINGS = ("out_in", "in_out")
NORMALIZATIONS = ("unit", "standardize")
IDX_PREFIX = "idx:"

# The fields of a run's configuration, in the order records show them.
RUN_FIELDS = (
    "hash",
    "hash_param",
    "hash_value",
    "sparsity",
    "numbering",
    "number_zeros",
    "sign",
    "table_size",
    "table_scope",
    "dataset",
    "normalization",
    "model",
    "hidden_units",
    "epochs",
    "batch_size",
    "learning_rate",
    "momentum",
    "patience",
    "factor",
    "seed",
)


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A sweep: the cartesian product of parameter lists, times seeds.

    Each run trains one model with the paper's recipe (SGD with momentum,
    learning rate divided by 10 when the training accuracy stops improving
    for `patience` epochs, no validation set) and evaluates it on the test
    split. Runs are ordered seed first, so an interrupted sweep has whole
    curves for its first seeds.

    Args:
        hash: Name of the hash function: `"dirichlet"` (sweeps `alpha`),
            `"neighborhood"` (sweeps `radius`), or one of `"uniform"`,
            `"modulus"`, `"identity"`, `"hashed_nets"` (no parameter).
            Defaults to `"dirichlet"`.
        alpha: Positive concentrations of the Dirichlet hash, for
            `hash="dirichlet"` only. Defaults to `None`.
        radius: Non-negative integer radii of the Neighborhood hash, for
            `hash="neighborhood"` only. Defaults to `None`.
        sparsity: Fractions of the weights fixed at zero, each in `[0, 1)`.
            Defaults to `(0.0,)`.
        seeds: Number of seeds; the seeds are `0, ..., seeds - 1`. The seed
            sets the hash, the zeros, the initial weights and the order of
            the training examples. Defaults to `1`.
        epochs: Number of training epochs of each run (the paper gives
            none). Defaults to `50` (`training.DEFAULT_EPOCHS`).
        dataset: Name of the data set, see `arbnet_keras.datasets.load`.
            Defaults to `"mnist_5k"`.
        normalization: `"unit"` (pixels scaled to [0, 1]) or
            `"standardize"` (then per-feature standardized), see
            `arbnet_keras.datasets.load`. Defaults to `"unit"`.
        model: `"mnist_mlp"` (784-200-200-10), `"cifar10_mlp"`
            (3072-2000x5-10), `"hashed_mlp"` (with `hidden_units`), or
            `"auto"`: `"cifar10_mlp"` for 3072-dimensional inputs, else
            `"mnist_mlp"`. `run_sweep` resolves `"auto"` before it writes
            the spec. Defaults to `"auto"`.
        hidden_units: Hidden layer sizes of a `"hashed_mlp"` model, and of
            no other. Defaults to `None`.
        table_size: Number of entries of each table. Ignored (recorded as
            `None`) by the identity hash, which sizes its own tables.
            Defaults to `1000`.
        table_scope: `"network"` (one table shared by all layers, as in
            the paper) or `"layer"` (one table per layer, as HashedNets).
            Defaults to `"network"`.
        numbering: Orders in which weights are numbered (`"out_in"`,
            `"in_out"`), see `HashedDense`. Defaults to `("out_in",)`.
        number_zeros: Whether zeros consume identifiers, one or more of
            `True`, `False`. Defaults to `(True,)`.
        sign: Whether weights get a random sign, as in HashedNets.
            Defaults to `False`.
        batch_size: Training and test batch size. Defaults to `128`.
        learning_rate: Initial SGD learning rate. Defaults to `0.1`.
        momentum: SGD momentum. Defaults to `0.9`.
        patience: Epochs without improvement of the training accuracy
            before the learning rate is reduced. Defaults to `4`.
        factor: Factor of each learning rate reduction. Defaults to `0.1`.

    Raises:
        ValueError: If an argument is invalid, including a swept value its
            hash function refuses (such as a `Neighborhood` radius too
            large to draw offsets for).

    Example:

    >>> spec = SweepSpec("dirichlet", alpha=[1e-3, 1.0], sparsity=[0, 0.9])
    >>> len(spec.runs())
    4
    >>> spec.runs()[0]["hash_value"], spec.runs()[0]["sparsity"]
    (0.001, 0.0)
    """

    hash: str = "dirichlet"
    alpha: tuple | None = None
    radius: tuple | None = None
    sparsity: tuple = (0.0,)
    seeds: int = 1
    epochs: int = training.DEFAULT_EPOCHS
    dataset: str = "mnist_5k"
    normalization: str = "unit"
    model: str = "auto"
    hidden_units: tuple | None = None
    table_size: int | None = 1000
    table_scope: str = "network"
    numbering: tuple = ("out_in",)
    number_zeros: tuple = (True,)
    sign: bool = False
    batch_size: int = training.DEFAULT_BATCH_SIZE
    learning_rate: float = training.LEARNING_RATE
    momentum: float = training.MOMENTUM
    patience: int = training.PATIENCE
    factor: float = training.FACTOR

    def __post_init__(self):
        def set_(name, value):
            object.__setattr__(self, name, value)

        hash = _choice("hash", self.hash, SWEEPS)
        set_("hash", hash)
        param = HASH_PARAMETERS[hash]
        for name in ("alpha", "radius"):
            value = getattr(self, name)
            if name != param and value is not None:
                expected = [h for h, p in HASH_PARAMETERS.items() if p == name]
                raise ValueError(
                    f"`{name}` is only used by the {expected[0]} sweep, not "
                    f"by the {hash} sweep. Received: {name}={value!r}"
                )
        if param == "alpha":
            set_("alpha", _values("alpha", self.alpha, _positive_float))
        elif param == "radius":
            set_("radius", _values("radius", self.radius, _non_negative_int))
        _check_hash(hash, param, self.values)
        set_("sparsity", _values("sparsity", self.sparsity, _sparsity))
        set_("seeds", _positive_int("seeds", self.seeds))
        set_("epochs", _positive_int("epochs", self.epochs))
        _check_dataset(self.dataset)
        set_(
            "normalization",
            _choice("normalization", self.normalization, NORMALIZATIONS),
        )
        set_("model", _choice("model", self.model, MODELS))
        if self.model == "hashed_mlp":
            if self.hidden_units is None:
                raise ValueError(
                    "`hidden_units` must be given with model='hashed_mlp'. "
                    "Received: hidden_units=None"
                )
            set_(
                "hidden_units",
                tuple(
                    _positive_int("hidden_units", u)
                    for u in _seq(self.hidden_units)
                ),
            )
        elif self.hidden_units is not None:
            raise ValueError(
                "`hidden_units` is only used with model='hashed_mlp'. "
                f"Received: hidden_units={self.hidden_units!r}, "
                f"model={self.model!r}"
            )
        if hash == "identity":
            set_("table_size", None)
        else:
            set_("table_size", _positive_int("table_size", self.table_size))
        set_(
            "table_scope",
            _choice("table_scope", self.table_scope, TABLE_SCOPES),
        )
        set_(
            "numbering",
            _values(
                "numbering",
                self.numbering,
                lambda name, v: _choice(name, v, NUMBERINGS),
            ),
        )
        set_("number_zeros", _values("number_zeros", self.number_zeros, _bool))
        set_("sign", _bool("sign", self.sign))
        set_("batch_size", _positive_int("batch_size", self.batch_size))
        set_(
            "learning_rate",
            _positive_float("learning_rate", self.learning_rate),
        )
        momentum = _float("momentum", self.momentum)
        if not 0 <= momentum < 1:
            raise ValueError(
                f"`momentum` must be a number in [0, 1). "
                f"Received: momentum={self.momentum!r}"
            )
        set_("momentum", momentum)
        set_("patience", _positive_int("patience", self.patience))
        factor = _float("factor", self.factor)
        if not 0 < factor < 1:
            raise ValueError(
                f"`factor` must be a number in (0, 1). "
                f"Received: factor={self.factor!r}"
            )
        set_("factor", factor)

    @property
    def parameter(self):
        """Name of the swept hash parameter (`"alpha"`, `"radius"`), or None."""
        return HASH_PARAMETERS[self.hash]

    @property
    def values(self):
        """The swept parameter's values, or `(None,)` for other hashes."""
        if self.parameter is None:
            return (None,)
        return getattr(self, self.parameter)

    def runs(self):
        """The configuration of every run, as a list of dicts.

        Each dict has the keys of `RUN_FIELDS`; `run_key` names it.
        """
        runs = []
        for seed, value, sparsity, numbering, number_zeros in itertools.product(
            range(self.seeds),
            self.values,
            self.sparsity,
            self.numbering,
            self.number_zeros,
        ):
            runs.append(
                {
                    "hash": self.hash,
                    "hash_param": self.parameter,
                    "hash_value": value,
                    "sparsity": sparsity,
                    "numbering": numbering,
                    "number_zeros": number_zeros,
                    "sign": self.sign,
                    "table_size": self.table_size,
                    "table_scope": self.table_scope,
                    "dataset": self.dataset,
                    "normalization": self.normalization,
                    "model": self.model,
                    "hidden_units": (
                        None
                        if self.hidden_units is None
                        else list(self.hidden_units)
                    ),
                    "epochs": self.epochs,
                    "batch_size": self.batch_size,
                    "learning_rate": self.learning_rate,
                    "momentum": self.momentum,
                    "patience": self.patience,
                    "factor": self.factor,
                    "seed": seed,
                }
            )
        return runs

    def replace(self, **changes):
        """Returns a copy of the spec with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        """A JSON-serializable dict; `from_dict` rebuilds the spec."""
        config = dataclasses.asdict(self)
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in config.items()
        }

    @classmethod
    def from_dict(cls, config):
        """Rebuilds a spec from `to_dict`'s output."""
        return from_fields(cls, config, "sweep spec")

    def describe(self):
        """A one-line, human-readable summary of the sweep."""
        parts = [f"{self.hash} sweep"]
        if self.parameter:
            parts.append(f"{self.parameter}={_fmt_list(self.values)}")
        parts.append(f"sparsity={_fmt_list(self.sparsity)}")
        if len(self.numbering) > 1 or self.numbering != ("out_in",):
            parts.append(f"numbering={_fmt_list(self.numbering)}")
        if self.number_zeros != (True,):
            parts.append(f"number_zeros={_fmt_list(self.number_zeros)}")
        parts.append(f"seeds={self.seeds}")
        parts.append(f"epochs={self.epochs}")
        parts.append(f"dataset={self.dataset}")
        if self.normalization != "unit":
            parts.append(f"normalization={self.normalization}")
        parts.append(f"model={self.model}")
        if self.hidden_units:
            parts.append(f"hidden_units={_fmt_list(self.hidden_units)}")
        parts.append(f"table_size={self.table_size}")
        parts.append(f"table_scope={self.table_scope}")
        parts.append(f"({len(self.runs())} runs)")
        return ", ".join(parts)


# Fields that only some sweeps' runs have (a convolution sweep's
# `architecture`); a run's key covers them when it has them, so the keys
# of runs without them are unchanged.
OPTIONAL_RUN_FIELDS = ("architecture",)


def run_key(config):
    """A stable key naming a run: a hash of its configuration and seed.

    Args:
        config: One dict of `SweepSpec.runs()` (or of another spec's).

    Returns:
        16 hexadecimal digits, the same in every process and on every
        machine for the same configuration.
    """
    names = RUN_FIELDS + tuple(f for f in OPTIONAL_RUN_FIELDS if f in config)
    canonical = json.dumps(
        {name: config[name] for name in names},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def spec_differences(old, new):
    """Fields whose values differ between two specs, as readable strings."""
    old, new = old.to_dict(), new.to_dict()
    return [
        f"{name}: {old[name]!r} -> {new[name]!r}"
        for name in old
        if old[name] != new[name]
    ]


def _check_dataset(dataset):
    from arbnet_keras import datasets

    names = tuple(datasets.available())
    if not isinstance(dataset, str) or not (
        dataset in names
        or (dataset.startswith(IDX_PREFIX) and len(dataset) > len(IDX_PREFIX))
    ):
        raise ValueError(
            "Invalid value for argument `dataset`. Expected one of "
            f"{names} or '{IDX_PREFIX}<directory>'. "
            f"Received: dataset={dataset!r}"
        )


def _check_hash(hash, param, values):
    """Builds the hash of every swept value: its own checks run now."""
    from arbnet_keras import hashing

    cls = type(hashing.get(hash))
    for value in values:
        cls(**{param: value}) if param else cls()


def _fmt_list(values):
    return "[" + " ".join(str(v) for v in values) + "]"


def _seq(value):
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        return [value]
    return list(value)


def _values(name, value, check):
    """Validates a scalar or list argument into a de-duplicated tuple."""
    if value is None:
        raise ValueError(
            f"`{name}` must be given: one or more values. Received: {name}=None"
        )
    items = _seq(value)
    if not items:
        raise ValueError(
            f"`{name}` must hold at least one value. Received: {name}={value!r}"
        )
    checked = []
    for item in items:
        item = check(name, item)
        if item not in checked:
            checked.append(item)
    return tuple(checked)


def _choice(name, value, choices):
    if value not in choices:
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected one of "
            f"{choices}. Received: {name}={value!r}"
        )
    return value


def _bool(name, value):
    if value is not True and value is not False:
        raise ValueError(
            f"`{name}` must be True or False. Received: {name}={value!r}"
        )
    return value


def _float(name, value):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
    ):
        raise ValueError(
            f"`{name}` must be a finite number. Received: {name}={value!r}"
        )
    return float(value)


def _positive_float(name, value):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(
            f"`{name}` must be a positive, finite number. "
            f"Received: {name}={value!r}"
        )
    return float(value)


def _integral(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and float(value).is_integer():
        return int(value)
    return None


def _non_negative_int(name, value):
    number = _integral(value)
    if number is None or number < 0:
        raise ValueError(
            f"`{name}` must be a non-negative integer. "
            f"Received: {name}={value!r}"
        )
    return number


def _positive_int(name, value):
    number = _integral(value)
    if number is None or number <= 0:
        raise ValueError(
            f"`{name}` must be a positive integer. Received: {name}={value!r}"
        )
    return number


def _sparsity(name, value):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not 0 <= value < 1
    ):
        raise ValueError(
            f"`{name}` must be a number in [0, 1). Received: {name}={value!r}"
        )
    return float(value)


def from_fields(cls, config, what):
    """`cls(**config)` for a dataclass, refusing fields it does not have.

    Raises:
        ValueError: Naming the unknown fields (`what` says of what).
    """
    names = {field.name for field in dataclasses.fields(cls)}
    unknown = sorted(set(config) - names)
    if unknown:
        raise ValueError(
            f"Unknown {what} fields {unknown}. Received: config={config!r}"
        )
    return cls(**config)
