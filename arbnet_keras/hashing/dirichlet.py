"""The Dirichlet hash (eqs. 8-9 of the ArbNets paper)."""

import functools

import keras
import numpy as np

from arbnet_keras.hashing import counter
from arbnet_keras.hashing import graph_hash
from arbnet_keras.hashing.hash_function import HashFunction
from arbnet_keras.hashing.hash_function import validate_hash_arguments
from arbnet_keras.hashing.hash_function import validate_positive_number
from arbnet_keras.hashing.hash_function import validate_version
from arbnet_keras.hashing.hash_function import versioned_config


@keras.saving.register_keras_serializable(package="arbnet_keras")
class Dirichlet(HashFunction):
    """Sharing with tunable balance: entries drawn from `Multinomial(p)`.

    Eqs. 8-9 of the ArbNets paper: once per table, draw
    `p ~ Dirichlet(alpha, ..., alpha)` over the `table_size` entries; then
    each weight independently picks an entry with probabilities `p`. A large
    `alpha` gives a balanced table (Shannon entropy near `ln(table_size)`);
    a small `alpha` concentrates the weights on few entries.

    `p` depends only on `(seed, table_size, alpha)`, so layers that share a
    table also share `p`. Each weight's draw maps a counter-based uniform
    number of `(seed, id)` through Walker's alias table of `p`, which takes
    constant time per weight.

    Args:
        alpha: Positive, finite concentration of the symmetric Dirichlet
            distribution. Defaults to `1.0`.
        version: `2` (the default) draws the column and the coin with a
            32-bit counter the model's graph computes too (the coin
            compares 24 bits with `accept` rounded to 24 bits), so layers
            need no stored index; `1` is the 64-bit draw of models saved
            before version 2, which configs without a version load as.
            `p` is the same in both. Defaults to `2`.

    Example:

    >>> p = Dirichlet(alpha=0.01).probabilities(table_size=1000, seed=0)
    >>> round(float(p.sum()), 6)
    1.0
    """

    def __init__(self, alpha=1.0, version=2):
        self.alpha = validate_positive_number("alpha", alpha)
        self.version = validate_version(version)

    @property
    def computes_in_graph(self):
        return self.version == 2

    def probabilities(self, table_size, seed=0):
        """The multinomial parameters `p` (float64, sums to 1) of a table."""
        table_size, seed = validate_hash_arguments(table_size, seed)
        return _dirichlet(self.alpha, table_size, seed).copy()

    def __call__(self, ids, table_size, seed=0):
        table_size, seed = validate_hash_arguments(table_size, seed)
        if self.version == 2:
            return self._call_32(np.asarray(ids, np.int64), table_size, seed)
        accept, alias = _alias_table(self.alpha, table_size, seed)
        # One uniform number gives both the column and the coin flip.
        scaled = counter.random_uniform(ids, seed, counter.STREAM_ENTRY)
        scaled *= table_size
        column = scaled.astype(np.int64)
        np.minimum(column, table_size - 1, out=column)
        scaled -= column
        keep = scaled < accept.take(column)
        entries = alias.take(column)
        np.copyto(entries, column, where=keep)
        return entries

    def _call_32(self, ids, table_size, seed):
        if table_size > 2**32:
            raise ValueError(
                "Version 2 hashes draw 32 bits: `table_size` must be at "
                f"most 2**32 (use `version=1`). Received: "
                f"table_size={table_size}"
            )
        thresholds, alias = _alias_thresholds(self.alpha, table_size, seed)
        column = graph_hash.integers32(
            ids, seed, counter.STREAM_ENTRY, table_size
        )
        keep = graph_hash.below32(
            ids, seed, counter.STREAM_COIN, thresholds.take(column)
        )
        entries = alias.take(column)
        np.copyto(entries, column, where=keep)
        return entries

    def graph_entries(self, ids, table_size, seed=0):
        from keras import ops

        thresholds, alias = _alias_thresholds(self.alpha, table_size, seed)
        column = graph_hash.graph_integers32(
            ids, seed, counter.STREAM_ENTRY, table_size
        )
        thresholds = ops.take(
            ops.convert_to_tensor(thresholds.astype(np.int32)), column
        )
        keep = graph_hash.graph_below32(
            ids, seed, counter.STREAM_COIN, thresholds
        )
        alias = ops.take(ops.convert_to_tensor(alias.astype(np.int32)), column)
        return ops.where(keep, column, alias)

    def get_config(self):
        return {"alpha": self.alpha, "version": self.version}

    @classmethod
    def from_config(cls, config):
        return cls(**versioned_config(config))


@functools.lru_cache(maxsize=16)
def _alias_thresholds(alpha, table_size, seed):
    """The alias table with `accept` as 24-bit integer thresholds."""
    accept, alias = _alias_table(alpha, table_size, seed)
    thresholds = np.rint(accept * 2**24).astype(np.int64)
    thresholds.setflags(write=False)
    return thresholds, alias


@functools.lru_cache(maxsize=16)
def _dirichlet(alpha, table_size, seed):
    rng = np.random.Generator(
        np.random.PCG64(
            np.random.SeedSequence([seed, table_size, counter.STREAM_TABLE])
        )
    )
    # NumPy switches to a stick-breaking sampler for small alpha, which
    # stays well defined where normalized gamma draws underflow.
    p = rng.dirichlet(np.full(table_size, alpha))
    if not np.all(np.isfinite(p)) or p.sum() <= 0:
        raise ValueError(
            "Could not draw Dirichlet probabilities for "
            f"alpha={alpha}, table_size={table_size}."
        )
    p.setflags(write=False)
    return p


@functools.lru_cache(maxsize=16)
def _alias_table(alpha, table_size, seed):
    """Walker's alias table of `p`, built with Vose's algorithm.

    Column `k` is drawn with probability `1 / n`; it keeps entry `k` with
    probability `accept[k]` and otherwise gives `alias[k]`.
    """
    p = _dirichlet(alpha, table_size, seed)
    mass = p * (table_size / p.sum())
    accept = np.ones(table_size)
    alias = np.arange(table_size)
    small = [int(k) for k in np.flatnonzero(mass < 1.0)]
    large = [int(k) for k in np.flatnonzero(mass >= 1.0)]
    while small and large:
        low, high = small.pop(), large.pop()
        accept[low] = mass[low]
        alias[low] = high
        mass[high] -= 1.0 - mass[low]
        (small if mass[high] < 1.0 else large).append(high)
    # Leftovers hold mass 1 up to rounding: they always keep their column.
    accept.setflags(write=False)
    alias.setflags(write=False)
    return accept, alias
