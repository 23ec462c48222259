"""`ArbNetHyperModel`: KerasTuner search spaces over ArbNet MLPs."""

import numbers
import weakref

from arbnet_keras import hashing
from arbnet_keras import models
from arbnet_keras import training
from arbnet_keras.tuning import space
from arbnet_keras.tuning.dependencies import import_keras_tuner

keras_tuner = import_keras_tuner()

# The paper's networks (section 5) and training recipe.
MNIST_HIDDEN_UNITS = (200, 200)
CIFAR10_HIDDEN_UNITS = (2000, 2000, 2000, 2000, 2000)
LEARNING_RATE = 0.1
MOMENTUM = 0.9
PATIENCE = 4
FACTOR = 0.1

# The documented default search space.
ALPHA_RANGE = (1e-3, 1e3)
RADIUS_RANGE = (0, 500)
TABLE_SIZE = 1000
SPARSITY = 0.0

# Which hash each conditional hyperparameter belongs to.
HASH_PARAMETERS = {"alpha": "dirichlet", "radius": "neighborhood"}

# `hashed_mlp` arguments that `model_kwargs` may set; the others are
# hyperparameters or come from the data.
MODEL_KWARGS = (
    "table_scope",
    "seed",
    "numbering",
    "number_zeros",
    "sign",
    "activation",
    "batch_norm",
    "output_activation",
    "name",
)


class ArbNetHyperModel(keras_tuner.HyperModel):
    """A KerasTuner `HyperModel` of the ArbNets paper's MLPs.

    Each trial builds `arbnet_keras.models.hashed_mlp` (by default the
    paper's MNIST network, `200-ELU-BN-200-ELU-BN-10-ELU-BN`, with one hash
    table shared by all the layers) from the trial's hyperparameters, and
    compiles it with the paper's recipe (`training.compile_paper`: SGD with
    momentum 0.9, softmax cross-entropy from logits, `"accuracy"`); `fit`
    adds the recipe's learning rate schedule to the tuner's callbacks.

    The search space has these hyperparameters:

    - `"hash"`: the hash function. Defaults to `"dirichlet"` (fixed).
    - `"alpha"`: the Dirichlet concentration, only with the Dirichlet
      hash (conditional on `hash` when several hashes are searched).
      Defaults to `(1e-3, 1e3)`, sampled on a log scale, default `1.0`:
      from very unbalanced tables to nearly uniform ones (Figure 1).
    - `"radius"`: the Neighborhood radius, only with the Neighborhood
      hash. Defaults to `(0, 500)`, linear, default `0` (the modulus hash;
      500 is half the default table, where the hash is uniform).
    - `"table_size"`: entries of the table. Defaults to `1000` (fixed, as
      in the paper); a range is sampled on a log scale.
    - `"sparsity"`: fraction of the weights fixed at zero. Defaults to
      `0.0` (fixed); a range is sampled linearly.
    - `"learning_rate"`: initial SGD learning rate. Defaults to `0.1`
      (fixed, the paper's); a range is sampled on a log scale.

    Each of them takes a value (fixed), a list (choices), a `(min, max)`
    tuple (a range with the default sampling) or a dict with
    `min_value`, `max_value` and optionally `sampling`, `step`, `default`;
    see `arbnet_keras.tuning.space`. Hyperparameters that the tuner was
    given beforehand (`hyperparameters=` of a tuner) take precedence, as
    always in KerasTuner.

    Args:
        input_dim: Number of input features. Defaults to `784`.
        num_classes: Number of classes. Defaults to `10`.
        hidden_units: Hidden layer sizes, or `None` for the paper's network
            of the input size: five 2000-unit layers (CIFAR10) for 3072
            inputs, two 200-unit layers (MNIST) otherwise. Defaults to
            `None`.
        hash: A hash name or a list of names to choose among, from
            `space.HASHES`. Defaults to `"dirichlet"`.
        alpha: Search space of `alpha`; only allowed when `hash` includes
            `"dirichlet"`. Defaults to `None`, meaning `ALPHA_RANGE`.
        radius: Search space of `radius`; only allowed when `hash`
            includes `"neighborhood"`. Defaults to `None`, meaning
            `RADIUS_RANGE`.
        table_size: Search space of `table_size`. Defaults to `1000`.
        sparsity: Search space of `sparsity`. Defaults to `0.0`.
        learning_rate: Search space of `learning_rate`. Defaults to `0.1`.
        momentum: SGD momentum. Defaults to `0.9`.
        patience: Epochs without improvement of the training accuracy
            before the learning rate is divided by 10. Defaults to `4`.
        factor: Factor of each learning rate reduction. Defaults to `0.1`.
        model_kwargs: Other arguments of `hashed_mlp`, among
            `MODEL_KWARGS` (such as `table_scope`, `seed`). Defaults to
            `None`.
        name: Name of the hypermodel. Defaults to `None`.
        tunable: Whether the hyperparameters it declares are tuned (see
            `keras_tuner.HyperModel`). Defaults to `True`.

    Raises:
        ValueError: On an invalid argument. `momentum`, `patience` and
            `factor` are checked by `compile_paper` when a model is built.

    Example:

    >>> hypermodel = ArbNetHyperModel(hash="dirichlet", alpha=(1e-2, 1e2))
    >>> tuner = keras_tuner.RandomSearch(
    ...     hypermodel, objective="val_accuracy", max_trials=5)
    >>> tuner.search(data.train, validation_data=data.test, epochs=5)
    >>> tuner.get_best_hyperparameters()[0].values["alpha"]

    Reference:
        - Chang and Lipson, "Balanced and Deterministic Weight-sharing
          Helps Network Performance" (ArbNets), sections 4-5.
    """

    def __init__(
        self,
        input_dim=784,
        num_classes=10,
        hidden_units=None,
        *,
        hash="dirichlet",
        alpha=None,
        radius=None,
        table_size=TABLE_SIZE,
        sparsity=SPARSITY,
        learning_rate=LEARNING_RATE,
        momentum=MOMENTUM,
        patience=PATIENCE,
        factor=FACTOR,
        model_kwargs=None,
        name=None,
        tunable=True,
    ):
        input_dim = _positive_int("input_dim", input_dim)
        num_classes = _positive_int("num_classes", num_classes)
        if hidden_units is None:
            hidden_units = (
                CIFAR10_HIDDEN_UNITS
                if input_dim == 3072
                else MNIST_HIDDEN_UNITS
            )
        hidden_units = _hidden_units(hidden_units)
        hash_spec = space.parse("hash", hash)
        conditional = {}
        for param, value in (("alpha", alpha), ("radius", radius)):
            owner = HASH_PARAMETERS[param]
            if owner not in hash_spec.values:
                if value is not None:
                    raise ValueError(
                        f"`{param}` is only used by the {owner} hash, which "
                        f"`hash` does not include. Received: {param}="
                        f"{value!r}, hash={hash!r}"
                    )
                continue
            default = ALPHA_RANGE if param == "alpha" else RADIUS_RANGE
            conditional[param] = space.parse(
                param, default if value is None else value
            )
        model_kwargs = dict(model_kwargs or {})
        unknown = sorted(set(model_kwargs) - set(MODEL_KWARGS))
        if unknown:
            raise ValueError(
                f"`model_kwargs` may only hold {MODEL_KWARGS}; the other "
                "arguments of `hashed_mlp` are hyperparameters or come from "
                f"the data. Received: model_kwargs={model_kwargs!r}"
            )
        super().__init__(name=name, tunable=tunable)
        self.input_dim = input_dim
        self.num_classes = num_classes
        self.hidden_units = hidden_units
        self.hash = hash_spec
        self.alpha = conditional.get("alpha")
        self.radius = conditional.get("radius")
        self.table_size = space.parse("table_size", table_size)
        self.sparsity = space.parse("sparsity", sparsity)
        self.learning_rate = space.parse("learning_rate", learning_rate)
        self.momentum = momentum
        self.patience = patience
        self.factor = factor
        self.model_kwargs = model_kwargs
        # The recipe's callbacks of each built model, handed to `fit`.
        self._callbacks = weakref.WeakKeyDictionary()

    @classmethod
    def for_dataset(cls, data, **kwargs):
        """A hypermodel for a data set of `arbnet_keras.datasets.load`.

        Args:
            data: A `DataSplits`, for its `input_dim` and `num_classes`.
            **kwargs: Other arguments of `ArbNetHyperModel`.

        Example:

        >>> data = datasets.load("mnist_5k")
        >>> ArbNetHyperModel.for_dataset(data, hash="neighborhood")
        """
        return cls(data.input_dim, data.num_classes, **kwargs)

    @property
    def specs(self):
        """The `space.ParameterSpec` of each hyperparameter, by name."""
        specs = {"hash": self.hash}
        for param in ("alpha", "radius"):
            if getattr(self, param) is not None:
                specs[param] = getattr(self, param)
        for param in ("table_size", "sparsity", "learning_rate"):
            specs[param] = getattr(self, param)
        return specs

    def describe(self):
        """One line per hyperparameter of the search space."""
        lines = []
        for param, spec in self.specs.items():
            line = space.describe(spec)
            owner = HASH_PARAMETERS.get(param)
            if owner and self.hash.kind == "choice":
                line += f" when hash = {owner!r}"
            lines.append(line)
        return lines

    def search_space(self):
        """A `keras_tuner.HyperParameters` holding the whole search space.

        Example:

        >>> [hp.name for hp in ArbNetHyperModel().search_space().space]
        ['hash', 'alpha', 'table_size', 'sparsity', 'learning_rate']
        """
        hp = keras_tuner.HyperParameters()
        self.declare_hyperparameters(hp)
        return hp

    def declare_hyperparameters(self, hp):
        """Declares the search space on `hp`; returns the trial's values.

        Args:
            hp: A `keras_tuner.HyperParameters`.

        Returns:
            A dict with the values of the active hyperparameters: `hash`,
            `alpha` or `radius` when the hash uses it, `table_size`,
            `sparsity` and `learning_rate`.
        """
        values = {"hash": self.hash.declare(hp)}
        # A hash set by hand (`hp.values["hash"] = ...`) activates
        # parameters without values; KerasTuner draws them.
        hp.ensure_active_values()
        for param, owner in HASH_PARAMETERS.items():
            spec = getattr(self, param)
            if spec is None:
                continue
            if self.hash.kind == "choice":
                value = spec.declare(hp, "hash", [owner])
            else:
                value = spec.declare(hp)
            if values["hash"] == owner:
                values[param] = value
        for param in ("table_size", "sparsity", "learning_rate"):
            values[param] = getattr(self, param).declare(hp)
        return values

    def build(self, hp):
        """Builds and compiles the trial's `hashed_mlp` (it outputs logits)."""
        values = self.declare_hyperparameters(hp)
        hash = values["hash"]
        if hash == "dirichlet":
            hash = hashing.Dirichlet(alpha=values["alpha"])
        elif hash == "neighborhood":
            hash = hashing.Neighborhood(radius=values["radius"])
        model = models.hashed_mlp(
            self.input_dim,
            self.hidden_units,
            self.num_classes,
            hash=hash,
            table_size=values["table_size"],
            sparsity=values["sparsity"],
            **self.model_kwargs,
        )
        self._callbacks[model] = training.compile_paper(
            model,
            learning_rate=values["learning_rate"],
            momentum=self.momentum,
            patience=self.patience,
            factor=self.factor,
        )
        return model

    def fit(self, hp, model, *args, **kwargs):
        """Trains `model` with the tuner's callbacks and the recipe's.

        Args:
            hp: The trial's `HyperParameters`.
            model: A model from `build`.
            *args: Positional arguments of `model.fit`.
            **kwargs: Keyword arguments of `model.fit`.

        Returns:
            The `History` of `model.fit`.
        """
        callbacks = list(kwargs.pop("callbacks", None) or [])
        callbacks.extend(self._callbacks.pop(model, []))
        return model.fit(*args, callbacks=callbacks, **kwargs)


def _positive_int(name, value):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < 1
    ):
        raise ValueError(
            f"`{name}` must be a positive integer. Received: {name}={value!r}"
        )
    return int(value)


def _hidden_units(hidden_units):
    if isinstance(hidden_units, (str, bytes)) or not hasattr(
        hidden_units, "__iter__"
    ):
        units = None
    else:
        units = list(hidden_units)
    if units is None or any(
        isinstance(u, bool) or not isinstance(u, numbers.Integral) or u < 1
        for u in units
    ):
        raise ValueError(
            "`hidden_units` must be a sequence of positive integers or None. "
            f"Received: hidden_units={hidden_units!r}"
        )
    return tuple(int(u) for u in units)
