"""Balance of a hash table: Shannon entropy (eq. 7) and load statistics."""

import math

import numpy as np


def entry_counts(entries, table_size):
    """How many weights use each entry; `-1` entries (zeros) are left out."""
    entries = np.asarray(entries).ravel()
    return np.bincount(entries[entries >= 0], minlength=table_size)


def entropy(entries, table_size):
    """Shannon entropy, in nats, of a table's usage (eq. 7 of the paper).

    `p_i` is the fraction of the (non-zero) weights that use entry `i`,
    i.e. the probability that entry `i` is used on a forward pass. The
    maximum, `ln(table_size)`, is reached by a perfectly balanced table.

    Args:
        entries: Integer array of table entries, `-1` for constant zeros.
        table_size: Number of entries of the table.

    Returns:
        A float, `-sum_i p_i ln p_i`.

    Example:

    >>> round(entropy([0, 1, 2, 3], table_size=4), 4)  # ln 4
    1.3863
    """
    counts = entry_counts(entries, table_size)
    total = counts.sum()
    if total == 0:
        return 0.0
    p = counts[counts > 0] / total
    return float(-(p * np.log(p)).sum())


def load_stats(entries, table_size):
    """Balance and load statistics of a table's usage.

    Args:
        entries: Integer array of table entries, `-1` for constant zeros.
        table_size: Number of entries of the table.

    Returns:
        A dict with `table_size`, `num_weights` (zeros included),
        `num_zeros`, `zero_fraction`, `load_factor` (non-zero weights per
        entry), `min_load`, `max_load`, `mean_load` (weights per entry),
        `unused_entries`, `entropy` (nats), `max_entropy`
        (`ln(table_size)`) and `normalized_entropy` (their ratio, 1 for a
        perfectly balanced table).
    """
    entries = np.asarray(entries)
    counts = entry_counts(entries, table_size)
    num_weights = int(entries.size)
    num_zeros = int((entries < 0).sum())
    h = entropy(entries, table_size)
    max_h = math.log(table_size) if table_size > 1 else 0.0
    return {
        "table_size": int(table_size),
        "num_weights": num_weights,
        "num_zeros": num_zeros,
        "zero_fraction": num_zeros / num_weights if num_weights else 0.0,
        "load_factor": (num_weights - num_zeros) / table_size,
        "min_load": int(counts.min()),
        "max_load": int(counts.max()),
        "mean_load": float(counts.mean()),
        "unused_entries": int((counts == 0).sum()),
        "entropy": h,
        "max_entropy": max_h,
        "normalized_entropy": h / max_h if max_h > 0 else 1.0,
    }


def hash_entropy(hash, num_ids, table_size, seed=0):
    """Entropy of a hash function's usage of a table by `num_ids` weights.

    Example:

    >>> from arbnet_keras import hashing
    >>> round(hash_entropy(hashing.Modulus(), 1000, 10), 4)  # ln 10
    2.3026
    """
    from arbnet_keras import hashing

    hash = hashing.get(hash)
    entries = hash(np.arange(num_ids, dtype=np.int64), table_size, seed)
    return entropy(entries, table_size)
