"""Perturbed sharing: noise and imbalance added to any hash function."""

import numbers

import keras
import numpy as np

from arbnet_keras.hashing import counter
from arbnet_keras.hashing import graph_hash
from arbnet_keras.hashing.hash_function import HashFunction
from arbnet_keras.hashing.hash_function import validate_hash_arguments
from arbnet_keras.hashing.hash_function import validate_positive_int


@keras.saving.register_keras_serializable(package="arbnet_keras")
class Perturbed(HashFunction):
    """A base hash with its determinism or its balance taken away.

    Separates the two properties the ArbNets paper credits for the success
    of convolutions (sections 5.2 and 6): that their sharing is
    *deterministic* (each weight's entry follows from its position) and
    *balanced* (every entry holds as many weights).

    - `noise=p` re-draws the entry of a fraction `p` of the weights the
      base hash puts in the table, uniformly over the table. Weights the
      base fixes at zero stay zero, and the expected number of weights per
      entry is unchanged, so balance is kept (in expectation) while
      determinism falls; `p=1` is a uniform hash over the base's non-zero
      weights. Which weights are re-drawn, and their new entries, are
      counter-based draws of each weight's identifier (independent
      streams of `seed`), the same in every process.
    - `remap` maps every entry `e` of the base to `remap(e)`: weights that
      share under the base still share, so the structure is kept, while a
      remap such as `Dirichlet(alpha)` concentrates the entries on fewer,
      unequally loaded ones (balance falls as `alpha` does). The remap
      hashes the base's entry numbers as identifiers, with the same
      `table_size` and `seed`.
    - `merge=k` merges the base's entries into the first `k` of the table
      at random but evenly: a seeded permutation of the table's entries
      (counter-based, the same on every machine), taken modulo `k`, so
      every merged entry holds `table_size // k` or one more of the
      base's entries (exactly `table_size / k` when `k` divides the table
      size). Fewer parameters, without imbalance: the control of a remap
      that leaves entries unused.

    The remap or merge is applied first, then the noise, drawn over the
    entries in use (the whole table, or the first `merge`); the expected
    load of every entry is unchanged by the noise when the base uses the
    whole table evenly, as `Toeplitz` does. The index is stored by the
    layers (it is not computed in the graph); signs and zeros are the
    base's (its `version`).

    Args:
        base: The hash function perturbed, such as `Toeplitz(...)`: an
            object, a name or a config (see `arbnet_keras.hashing.get`).
        noise: Fraction of the base's non-zero weights whose entries are
            re-drawn uniformly, in `[0, 1]`. Defaults to `0.0`.
        remap: Hash function of identifiers (not a structured one such
            as `Toeplitz`) applied to the base's entries, or `None` for
            none. Defaults to `None`.
        merge: Number of entries the base's entries are merged into,
            evenly at random, at most the table's size; or `None` for no
            merge. Not with `remap`. Defaults to `None`.

    Raises:
        ValueError: If `noise` is not in `[0, 1]`, `base` or `remap` is
            not a hash function (or `remap` a structured one), `merge` is
            not a positive integer, or both `remap` and `merge` are
            given.

    Example:

    >>> conv = Toeplitz(input_shape=(8, 8, 1), kernel_size=3, filters=2)
    >>> noisy = Perturbed(conv, noise=0.1)
    >>> ids = np.arange(64 * 72).reshape(64, 72)
    >>> moved = noisy.index(ids, 18) != conv.index(ids, 18)
    >>> bool((conv.index(ids, 18)[moved] >= 0).all())  # Zeros stay zeros.
    True
    """

    def __init__(self, base, noise=0.0, remap=None, merge=None):
        from arbnet_keras import hashing

        self.base = _hash_argument("base", base, hashing)
        if isinstance(self.base, Perturbed):
            raise ValueError(
                "`base` must not itself be `Perturbed`: give one "
                f"`Perturbed` both `noise` and `remap`. Received: base="
                f"{self.base!r}"
            )
        if (
            isinstance(noise, bool)
            or not isinstance(noise, numbers.Real)
            or not 0 <= noise <= 1
        ):
            raise ValueError(
                f"`noise` must be a number in [0, 1]. Received: noise={noise!r}"
            )
        self.noise = float(noise)
        self.remap = (
            None if remap is None else _hash_argument("remap", remap, hashing)
        )
        if self.remap is not None and (
            self.remap.sets_table_size
            or type(self.remap).__call__ is HashFunction.__call__
        ):
            raise ValueError(
                "`remap` must hash identifiers (such as `Dirichlet`), not "
                f"map a whole kernel. Received: remap={self.remap!r}"
            )
        if merge is not None:
            if remap is not None:
                raise ValueError(
                    "Give `remap` or `merge`, not both. Received: remap="
                    f"{self.remap!r}, merge={merge!r}"
                )
            merge = validate_positive_int("merge", merge)
        self.merge = merge

    @property
    def version(self):
        """The base's version: its signs and zeros are the base's."""
        return self.base.version

    @property
    def sets_table_size(self):
        return self.base.sets_table_size

    def required_table_size(self, kernel_shape, num_ids):
        return self.base.required_table_size(kernel_shape, num_ids)

    def __call__(self, ids, table_size, seed=0):
        table_size, seed = validate_hash_arguments(table_size, seed)
        ids = np.asarray(ids, dtype=np.int64)
        entries = np.asarray(self.base(ids, table_size, seed), np.int64)
        return self._perturb(ids, entries, table_size, seed)

    def index(self, ids, table_size, seed=0):
        table_size, seed = validate_hash_arguments(table_size, seed)
        ids = np.asarray(ids, dtype=np.int64)
        entries = np.array(self.base.index(ids, table_size, seed), np.int64)
        live = entries >= 0
        entries[live] = self._perturb(
            ids[live], entries[live], table_size, seed
        )
        return entries

    def _perturb(self, ids, entries, table_size, seed):
        in_use = table_size
        if self.remap is not None:
            entries = np.asarray(self.remap(entries, table_size, seed))
        elif self.merge is not None:
            if self.merge > table_size:
                raise ValueError(
                    f"`merge` must be at most the table's size, "
                    f"{table_size}. Received: merge={self.merge}"
                )
            entries = merge_entries(entries, table_size, self.merge, seed)
            in_use = self.merge
        if self.noise > 0:
            moved = graph_hash.below32(
                ids,
                seed,
                counter.STREAM_NOISE,
                graph_hash.probability_threshold(self.noise),
            )
            drawn = graph_hash.integers32(
                ids, seed, counter.STREAM_NOISE_ENTRY, in_use
            )
            entries = np.where(moved, drawn, entries)
        return entries.astype(np.int64)

    def get_config(self):
        return {
            "base": keras.saving.serialize_keras_object(self.base),
            "noise": self.noise,
            "remap": (
                None
                if self.remap is None
                else keras.saving.serialize_keras_object(self.remap)
            ),
            "merge": self.merge,
        }

    def __repr__(self):
        return (
            f"Perturbed(base={self.base!r}, noise={self.noise!r}, "
            f"remap={self.remap!r}, merge={self.merge!r})"
        )


def merge_entries(entries, table_size, merge, seed):
    """Entries merged evenly at random into `[0, merge)`.

    Entry `e` goes to `rank(e) mod merge`, where `rank` is a permutation of
    `[0, table_size)` drawn from `seed` (the order of counter-based random
    bits), so every merged entry receives `table_size // merge` or one
    more of the original entries.
    """
    keys = graph_hash.bits32(np.arange(table_size), seed, counter.STREAM_MERGE)
    rank = np.empty(table_size, np.int64)
    rank[np.argsort(keys, kind="stable")] = np.arange(table_size)
    return rank[np.asarray(entries, np.int64)] % merge


def _hash_argument(name, value, hashing):
    try:
        return hashing.get(value)
    except ValueError:
        raise ValueError(
            f"`{name}` must be a hash function, its name or its config. "
            f"Received: {name}={value!r}"
        ) from None
