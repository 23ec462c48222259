"""Search-space specifications: which values a tuner may try, and how.

Every tunable argument of `ArbNetHyperModel` takes one of:

- a single value: the hyperparameter is fixed (`hp.Fixed`);
- a list of values: the tuner chooses among them (`hp.Choice`);
- a `(min, max)` tuple: the tuner samples the interval (`hp.Float` or
  `hp.Int`) with the parameter's default sampling (log for `alpha`,
  `table_size` and `learning_rate`, linear for `radius` and `sparsity`);
- a dict with keys `min_value`, `max_value` and optionally `sampling`
  (`"linear"`, `"log"`, `"reverse_log"`), `step` and `default`: an
  interval with every option spelled out.

This module only validates and stores specifications; it does not import
keras-tuner until a specification is declared on a `HyperParameters`.
"""

import dataclasses
import math
import numbers

# Hash names a search may choose among (`arbnet_keras.hashing` aliases).
HASHES = (
    "dirichlet",
    "neighborhood",
    "uniform",
    "modulus",
    "hashed_nets",
    "identity",
)
SAMPLINGS = ("linear", "log", "reverse_log")
SPEC_KINDS = ("fixed", "choice", "range")


@dataclasses.dataclass(frozen=True)
class _Parameter:
    dtype: str  # "float" or "int"
    sampling: str  # Sampling of a range given as a `(min, max)` tuple.
    default: float  # Preferred default of a range or a choice.
    lower: float  # Smallest valid value.
    lower_open: bool  # Whether `lower` itself is invalid.
    upper: float | None = None  # Largest valid value, if any.
    upper_open: bool = False
    description: str = ""


PARAMETERS = {
    "alpha": _Parameter(
        "float", "log", 1.0, 0.0, True, description="a positive number"
    ),
    "radius": _Parameter(
        "int", "linear", 0, 0, False, description="a non-negative integer"
    ),
    "table_size": _Parameter(
        "int", "log", 1000, 1, False, description="a positive integer"
    ),
    "sparsity": _Parameter(
        "float", "linear", 0.0, 0.0, False, 1.0, True, "a number in [0, 1)"
    ),
    "learning_rate": _Parameter(
        "float", "log", 0.1, 0.0, True, description="a positive number"
    ),
}


@dataclasses.dataclass(frozen=True)
class ParameterSpec:
    """How one hyperparameter is searched: fixed, chosen, or sampled.

    Build one with `parse`; `declare` registers it on a keras-tuner
    `HyperParameters` and returns the value of the current trial.

    Args:
        name: Name of the hyperparameter.
        kind: `"fixed"`, `"choice"` or `"range"`.
        values: The fixed value (one element) or the choices.
        min_value: Lower end of a range, else `None`.
        max_value: Upper end of a range, else `None`.
        sampling: Sampling of a range, else `None`.
        step: Step of a range, or `None` for none (floats) or 1 (linear
            integers).
        default: Value of the hyperparameter before the tuner sets it.
    """

    name: str
    kind: str
    values: tuple = ()
    min_value: float | None = None
    max_value: float | None = None
    sampling: str | None = None
    step: float | None = None
    default: object = None

    def declare(self, hp, parent_name=None, parent_values=None):
        """Registers the hyperparameter on `hp`; returns its current value.

        Args:
            hp: A `keras_tuner.HyperParameters`.
            parent_name: Name of the hyperparameter this one depends on,
                for a conditional hyperparameter. Defaults to `None`.
            parent_values: Values of the parent for which this one is
                active. Defaults to `None`.
        """
        kwargs = {}
        if parent_name is not None:
            kwargs = {"parent_name": parent_name}
            kwargs["parent_values"] = list(parent_values)
        if self.kind == "fixed":
            return hp.Fixed(self.name, self.values[0], **kwargs)
        if self.kind == "choice":
            return hp.Choice(
                self.name, list(self.values), default=self.default, **kwargs
            )
        method = hp.Int if _dtype(self.name) == "int" else hp.Float
        return method(
            self.name,
            min_value=self.min_value,
            max_value=self.max_value,
            step=self.step,
            sampling=self.sampling,
            default=self.default,
            **kwargs,
        )


def parse(name, spec):
    """Validates a specification and returns a `ParameterSpec`.

    Args:
        name: One of `"hash"`, `"alpha"`, `"radius"`, `"table_size"`,
            `"sparsity"`, `"learning_rate"`.
        spec: A value, a list of values, a `(min, max)` tuple or a dict;
            see the module docstring. `"hash"` takes a name or a list of
            names of `HASHES`.

    Returns:
        A `ParameterSpec`.

    Raises:
        ValueError: If `spec` is not valid for `name`.

    Example:

    >>> parse("alpha", (1e-3, 1e3))
    ParameterSpec(name='alpha', kind='range', values=(), min_value=0.001,
    max_value=1000.0, sampling='log', step=None, default=1.0)
    """
    if name == "hash":
        return _parse_hash(spec)
    if name not in PARAMETERS:
        raise ValueError(
            "Invalid value for argument `name`. Expected one of "
            f"{('hash',) + tuple(PARAMETERS)}. Received: name={name!r}"
        )
    if isinstance(spec, ParameterSpec):
        if spec.name != name:
            raise ValueError(
                f"`{name}` was given the specification of `{spec.name}`. "
                f"Received: {name}={spec!r}"
            )
        return spec
    if isinstance(spec, dict):
        return _parse_range(name, spec)
    if isinstance(spec, tuple):
        if len(spec) != 2:
            raise ValueError(
                f"`{name}` as a tuple must be a `(min, max)` range. "
                f"Received: {name}={spec!r}"
            )
        return _parse_range(name, {"min_value": spec[0], "max_value": spec[1]})
    if isinstance(spec, list):
        if not spec:
            raise ValueError(
                f"`{name}` as a list must hold at least one choice. "
                f"Received: {name}={spec!r}"
            )
        values = tuple(_check_value(name, v, spec) for v in spec)
        if len(set(values)) != len(values):
            raise ValueError(
                f"The choices of `{name}` must be distinct. "
                f"Received: {name}={spec!r}"
            )
        default = PARAMETERS[name].default
        default = default if default in values else values[0]
        return ParameterSpec(name, "choice", values=values, default=default)
    value = _check_value(name, spec, spec)
    return ParameterSpec(name, "fixed", values=(value,), default=value)


def parse_text(name, text):
    """Parses a command-line specification into a `ParameterSpec`.

    `"v"` is a fixed value, `"a,b,c"` a choice, `"min:max"` a range with
    the parameter's default sampling and `"min:max:sampling"` one with the
    given sampling.

    Args:
        name: See `parse`.
        text: The string to parse.

    Returns:
        A `ParameterSpec`.

    Raises:
        ValueError: If `text` cannot be parsed or is invalid for `name`.

    Example:

    >>> parse_text("radius", "0:500").kind
    'range'
    >>> parse_text("hash", "dirichlet,uniform").values
    ('dirichlet', 'uniform')
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(
            f"`{name}` must be a non-empty string. Received: {name}={text!r}"
        )
    if name == "hash":
        names = [part.strip() for part in text.split(",")]
        return parse(name, names if len(names) > 1 else names[0])
    convert = int if _dtype(name) == "int" else float
    parts = text.split(":")
    try:
        if len(parts) == 1:
            values = [convert(part) for part in text.split(",")]
            spec = values if len(values) > 1 else values[0]
        elif len(parts) in (2, 3):
            spec = {
                "min_value": convert(parts[0]),
                "max_value": convert(parts[1]),
            }
            if len(parts) == 3:
                spec["sampling"] = parts[2].strip()
        else:
            spec = None
    except ValueError:
        spec = None
    if spec is None:
        raise ValueError(
            f"`{name}` must be a value, comma-separated choices or a "
            f"`min:max[:sampling]` range of {PARAMETERS[name].description}s."
            f" Received: {name}={text!r}"
        )
    return parse(name, spec)


def describe(spec):
    """A short human-readable form of a `ParameterSpec`.

    Example:

    >>> describe(parse("alpha", (1e-3, 1e3)))
    'alpha in [0.001, 1000.0] (log, default 1.0)'
    """
    if spec.kind == "fixed":
        return f"{spec.name} = {spec.values[0]!r}"
    if spec.kind == "choice":
        return (
            f"{spec.name} in {{{', '.join(repr(v) for v in spec.values)}}}"
            f" (default {spec.default!r})"
        )
    return (
        f"{spec.name} in [{spec.min_value!r}, {spec.max_value!r}] "
        f"({spec.sampling}, default {spec.default!r})"
    )


def _dtype(name):
    return PARAMETERS[name].dtype


def _parse_hash(spec):
    if isinstance(spec, ParameterSpec) and spec.name == "hash":
        return spec
    names = [spec] if isinstance(spec, str) else spec
    if (
        not isinstance(names, (list, tuple))
        or not names
        or any(not isinstance(n, str) for n in names)
    ):
        raise ValueError(
            "`hash` must be a hash name or a list of hash names. "
            f"Received: hash={spec!r}"
        )
    names = tuple(n.lower() for n in names)
    for n in names:
        if n not in HASHES:
            raise ValueError(
                "Invalid value for argument `hash`. Expected one of "
                f"{HASHES}. Received: hash={spec!r}"
            )
    if len(set(names)) != len(names):
        raise ValueError(
            f"The choices of `hash` must be distinct. Received: hash={spec!r}"
        )
    if len(names) == 1:
        return ParameterSpec("hash", "fixed", values=names, default=names[0])
    return ParameterSpec("hash", "choice", values=names, default=names[0])


def _parse_range(name, spec):
    parameter = PARAMETERS[name]
    allowed = {"min_value", "max_value", "sampling", "step", "default"}
    unknown = sorted(set(spec) - allowed)
    if unknown or "min_value" not in spec or "max_value" not in spec:
        raise ValueError(
            f"`{name}` as a dict must have the keys `min_value` and "
            "`max_value`, and may have `sampling`, `step` and `default`. "
            f"Received: {name}={spec!r}"
        )
    low = _check_value(name, spec["min_value"], spec)
    high = _check_value(name, spec["max_value"], spec)
    if not low < high:
        raise ValueError(
            f"The range of `{name}` must have `min_value < max_value`. "
            f"Received: {name}={spec!r}"
        )
    sampling = spec.get("sampling", parameter.sampling)
    if sampling not in SAMPLINGS:
        raise ValueError(
            f"Invalid value for the sampling of `{name}`. Expected one of "
            f"{SAMPLINGS}. Received: sampling={sampling!r}"
        )
    if sampling != "linear" and low <= 0:
        raise ValueError(
            f"A {sampling} range of `{name}` must have `min_value > 0`; "
            f"use a linear sampling or a positive minimum. "
            f"Received: {name}={spec!r}"
        )
    step = spec.get("step")
    if step is not None:
        if (
            isinstance(step, bool)
            or not isinstance(step, numbers.Real)
            or not step > 0
            or (parameter.dtype == "int" and int(step) != step)
        ):
            raise ValueError(
                f"The `step` of `{name}` must be a positive "
                f"{'integer' if parameter.dtype == 'int' else 'number'}. "
                f"Received: step={step!r}"
            )
        step = int(step) if parameter.dtype == "int" else float(step)
    elif parameter.dtype == "int" and sampling == "linear":
        step = 1
    default = spec.get("default")
    if default is None:
        preferred = parameter.default
        default = preferred if low <= preferred <= high else low
    else:
        default = _check_value(name, default, spec)
        if not low <= default <= high:
            raise ValueError(
                f"The `default` of `{name}` must lie in its range. "
                f"Received: {name}={spec!r}"
            )
    if parameter.dtype == "float":
        default = float(default)
    return ParameterSpec(
        name,
        "range",
        min_value=low,
        max_value=high,
        sampling=sampling,
        step=step,
        default=default,
    )


def _check_value(name, value, spec):
    parameter = PARAMETERS[name]
    is_int = parameter.dtype == "int"
    valid = not isinstance(value, bool) and isinstance(
        value, numbers.Integral if is_int else numbers.Real
    )
    if valid:
        value = int(value) if is_int else float(value)
        valid = math.isfinite(value)
        if valid:
            above = value > parameter.lower or (
                value == parameter.lower and not parameter.lower_open
            )
            below = parameter.upper is None or (
                value < parameter.upper
                or (value == parameter.upper and not parameter.upper_open)
            )
            valid = above and below
    if not valid:
        raise ValueError(
            f"`{name}` must be {parameter.description}, a list of them "
            f"(choices) or a `(min, max)` range. Received: {name}={spec!r}"
        )
    return value
