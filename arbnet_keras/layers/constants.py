"""Backend constants created once, outside any trace.

Keras may build a layer inside a scratch trace (a subclassed model's
first `fit`, a `Sequential` model without an `Input`, a first call inside
a `tf.function` or `jax.jit`), so a tensor made in `build` can belong to a
graph that is gone by the time `call` runs. A `LazyConstant` keeps the
NumPy array and makes the backend tensor on first use, lifted out of any
trace: an eager `tf.constant` under `tf.init_scope`, a concrete JAX array
under `jax.ensure_compile_time_eval`, a PyTorch tensor on the device of
the tensors it meets (never the meta device of Keras' shape inference).
"""

import keras
import numpy as np


class LazyConstant:
    """A NumPy array turned into a backend tensor when first needed.

    Args:
        array: The NumPy array.
    """

    def __init__(self, array):
        self.array = np.ascontiguousarray(array)
        self._tensors = {}

    @property
    def shape(self):
        return self.array.shape

    def __call__(self, like=None):
        """Returns the backend tensor.

        Args:
            like: A tensor of the computation (PyTorch: the constant is
                put on its device). Defaults to `None`.
        """
        backend = keras.backend.backend()
        key = backend
        if backend == "torch" and like is not None:
            if isinstance(like, keras.Variable):
                like = like.value
            key = str(like.device)
        tensor = self._tensors.get(key)
        if tensor is None:
            tensor = _make(backend, self.array, like)
            self._tensors[key] = tensor
        return tensor


def _make(backend, array, like):
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.init_scope():
            return tf.constant(array)
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        with jax.ensure_compile_time_eval():
            return jnp.asarray(array)
    if backend == "torch":
        import torch

        device = like.device if like is not None else None
        if device is None:
            from keras.src.backend.torch.core import get_device

            device = get_device()
        return torch.as_tensor(array, device=device)
    return keras.ops.convert_to_tensor(array)


def lazy(array, dtype=None):
    """A `LazyConstant` of `array` cast to `dtype`, or `None` for `None`."""
    if array is None:
        return None
    array = np.asarray(array)
    return LazyConstant(array if dtype is None else array.astype(dtype))
