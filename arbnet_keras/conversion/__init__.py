"""Converting between Keras models and ArbNets.

`convert` turns a trained model's `Dense`, `Conv1D`, `Conv2D` and
`Embedding` layers into hashed layers whose tables start from the trained
weights; `to_dense` turns a hashed model back into the plain Keras model
it computes.
"""

from arbnet_keras.conversion.convert import convert
from arbnet_keras.conversion.projection import project_weights
from arbnet_keras.conversion.to_dense import to_dense

__all__ = ["convert", "project_weights", "to_dense"]
