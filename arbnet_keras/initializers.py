"""Initializers for hash tables, scaled to the virtual kernel."""

import math

import keras


def table_initializer(initializer, fans):
    """Returns an initializer for a 1D table that stands for a 2D kernel.

    A `VarianceScaling` initializer (Glorot, He, LeCun...) computes its
    scale from the fans of the shape it is called with, which for a 1D
    table would be the table's length. Here its scale comes from the
    fans `(fan_in, fan_out)` of the virtual kernel instead, so each table
    entry, and so each virtual weight, has the variance that the same
    initializer gives an ordinary `Dense` kernel. Other initializers are
    returned unchanged.

    Args:
        initializer: A Keras initializer (object, name or config).
        fans: `(fan_in, fan_out)` of the virtual kernel.

    Returns:
        A Keras initializer.
    """
    initializer = keras.initializers.get(initializer)
    if not isinstance(initializer, keras.initializers.VarianceScaling):
        return initializer
    fan_in, fan_out = fans
    fan = {
        "fan_in": fan_in,
        "fan_out": fan_out,
        "fan_avg": (fan_in + fan_out) / 2,
    }[initializer.mode]
    scale = initializer.scale / max(1.0, fan)
    seed = initializer.seed
    distribution = initializer.distribution
    if distribution == "uniform":
        limit = math.sqrt(3.0 * scale)
        return keras.initializers.RandomUniform(-limit, limit, seed=seed)
    if distribution == "truncated_normal":
        # Keras' constant: the std of a unit normal truncated at +-2.
        stddev = math.sqrt(scale) / 0.87962566103423978
        return keras.initializers.TruncatedNormal(0.0, stddev, seed=seed)
    return keras.initializers.RandomNormal(0.0, math.sqrt(scale), seed=seed)
