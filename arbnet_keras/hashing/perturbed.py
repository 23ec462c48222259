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
      `seed`, into `remap_size` entries (the whole table by default):
      `remap=Modulus(), remap_size=k` merges the entries into `k` evenly
      loaded ones, fewer parameters without imbalance.

    The remap is applied first, then the noise. The index is stored by the
    layers (it is not computed in the graph).

    Args:
        base: The hash function perturbed, such as `Toeplitz(...)`: an
            object, a name or a config (see `arbnet_keras.hashing.get`).
        noise: Fraction of the base's non-zero weights whose entries are
            re-drawn uniformly, in `[0, 1]`. Defaults to `0.0`.
        remap: Hash function applied to the base's entries, or `None` for
            none. Defaults to `None`.
        remap_size: Number of entries the remap maps into, at most the
            table's size, or `None` for the table's size. Only with
            `remap`. Defaults to `None`.

    Raises:
        ValueError: If `noise` is not in `[0, 1]`, `base` or `remap` is
            not a hash function, or `remap_size` is not a positive integer
            (or is given without `remap`).

    Example:

    >>> conv = Toeplitz(input_shape=(8, 8, 1), kernel_size=3, filters=2)
    >>> noisy = Perturbed(conv, noise=0.1)
    >>> ids = np.arange(64 * 72).reshape(64, 72)
    >>> moved = noisy.index(ids, 18) != conv.index(ids, 18)
    >>> bool((conv.index(ids, 18)[moved] >= 0).all())  # Zeros stay zeros.
    True
    """

    def __init__(self, base, noise=0.0, remap=None, remap_size=None):
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
        if remap_size is not None:
            if remap is None:
                raise ValueError(
                    "`remap_size` needs a `remap`. Received: remap=None, "
                    f"remap_size={remap_size!r}"
                )
            remap_size = validate_positive_int("remap_size", remap_size)
        self.remap_size = remap_size

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
        if self.remap is not None:
            size = self.remap_size or table_size
            if size > table_size:
                raise ValueError(
                    f"`remap_size` must be at most the table's size, "
                    f"{table_size}. Received: remap_size={size}"
                )
            entries = np.asarray(self.remap(entries, size, seed))
        if self.noise > 0:
            moved = graph_hash.below32(
                ids,
                seed,
                counter.STREAM_NOISE,
                graph_hash.probability_threshold(self.noise),
            )
            drawn = graph_hash.integers32(
                ids, seed, counter.STREAM_NOISE_ENTRY, table_size
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
            "remap_size": self.remap_size,
        }

    def __repr__(self):
        return (
            f"Perturbed(base={self.base!r}, noise={self.noise!r}, "
            f"remap={self.remap!r}, remap_size={self.remap_size!r})"
        )


def _hash_argument(name, value, hashing):
    try:
        return hashing.get(value)
    except ValueError:
        raise ValueError(
            f"`{name}` must be a hash function, its name or its config. "
            f"Received: {name}={value!r}"
        ) from None
