"""Balance metrics: Shannon entropy (eq. 7) and load statistics."""

from arbnet_keras.metrics.balance import entropy
from arbnet_keras.metrics.balance import entry_counts
from arbnet_keras.metrics.balance import hash_entropy
from arbnet_keras.metrics.balance import load_stats
from arbnet_keras.metrics.report import hashed_layers
from arbnet_keras.metrics.report import layer_stats
from arbnet_keras.metrics.report import model_stats
from arbnet_keras.metrics.report import sharing_report
from arbnet_keras.metrics.report import table_stats

__all__ = [
    "entropy",
    "entry_counts",
    "hash_entropy",
    "hashed_layers",
    "layer_stats",
    "load_stats",
    "model_stats",
    "sharing_report",
    "table_stats",
]
