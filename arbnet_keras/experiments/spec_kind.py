"""What the sweep kinds beside `SweepSpec` share."""

import dataclasses

from arbnet_keras.experiments import config as config_lib

# The training settings every kind of sweep has, checked as `SweepSpec`
# checks them.
TRAINING_FIELDS = (
    "seeds",
    "epochs",
    "normalization",
    "batch_size",
    "learning_rate",
    "momentum",
    "patience",
    "factor",
)


class SpecKind:
    """A mixin of frozen dataclass specs named by a `"kind"` (`KIND`).

    Gives them `kind`, `replace`, `to_dict` (with the kind), `from_dict`
    and `check_training`, which validates and normalizes their training
    settings and data set as `SweepSpec` does.
    """

    KIND = None

    @property
    def kind(self):
        """The sweep's name in `sweep.json`."""
        return self.KIND

    def check_training(self):
        """Validates and normalizes the training settings and data set.

        Raises:
            ValueError: If one of them is invalid.
        """
        check = config_lib.SweepSpec(
            "uniform",
            dataset=self.dataset,
            **{name: getattr(self, name) for name in TRAINING_FIELDS},
        )
        for name in TRAINING_FIELDS:
            object.__setattr__(self, name, getattr(check, name))

    def replace(self, **changes):
        """Returns a copy of the spec with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        """A JSON-serializable dict with `"kind"`; see `from_dict`."""
        config = {"kind": self.KIND}
        for key, value in dataclasses.asdict(self).items():
            config[key] = list(value) if isinstance(value, tuple) else value
        return config

    @classmethod
    def from_dict(cls, config):
        """Rebuilds a spec from `to_dict`'s output."""
        config = dict(config)
        if config.pop("kind", cls.KIND) != cls.KIND:
            raise ValueError(
                f"Not a sweep spec of kind {cls.KIND!r}. Received: "
                f"config={config!r}"
            )
        return config_lib.from_fields(cls, config, f"{cls.KIND} spec")


def mean(values):
    """The mean of a non-empty list of numbers."""
    return sum(values) / len(values)


def std(values):
    """The sample standard deviation (0 for fewer than 2 values)."""
    if len(values) < 2:
        return 0.0
    center = mean(values)
    return (sum((v - center) ** 2 for v in values) / (len(values) - 1)) ** 0.5


def mean_std(values):
    """`"mean ± std"` of accuracies for a table, `""` for none."""
    if not values:
        return ""
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{mean(values):.4f} ± {std(values):.4f}"
