"""Test helpers that hide what differs between Keras backends.

`run_layer_test` pins Keras' own layer checks: its home,
`keras.src.testing.TestCase.run_layer_test`, is private Keras API, so it
is imported here only, and a Keras release that moves it breaks one
helper, not every layer test. It runs on a layer class the checks Keras
runs on its own layers: a config round trip, build, symbolic and eager
calls with their output shapes, a compiled training step, and mixed
precision.

`gradient` differentiates a loss with respect to one variable with the
current backend's own machinery (`tf.GradientTape`, `jax.grad`, torch
autograd), so that a gradient test runs under every `KERAS_BACKEND`.

Test modules import them as `from layer_harness import run_layer_test`
(pytest puts `tests/`, the folder of the root `conftest.py`, on the path).
"""

import keras
import numpy as np


def run_layer_test(layer_cls, init_kwargs, **kwargs):
    """Runs Keras' `run_layer_test` on `layer_cls(**init_kwargs)`.

    Args:
        layer_cls: The layer class.
        init_kwargs: Its constructor arguments; give every seed, so that
            the config round trip compares equal configs.
        **kwargs: The keyword arguments of Keras' `run_layer_test`
            (`input_shape` or `input_data`, `expected_output_shape`,
            `expected_num_trainable_weights`, `supports_masking`, ...).

    Raises:
        AssertionError: When a check fails.
    """
    from keras.src.testing import TestCase

    # `TestCase()` runs no `setUp` (which would clear the Keras session);
    # only its assertion methods are used.
    TestCase().run_layer_test(layer_cls, init_kwargs, **kwargs)


def gradient(loss_fn, variable):
    """The gradient of `loss_fn()` with respect to `variable`, in NumPy.

    Args:
        loss_fn: A function of no arguments that returns a scalar tensor
            computed with `keras.ops` from `variable` (typically through
            calls of built layers or models).
        variable: A `keras.Variable`, already built and trainable.

    Returns:
        A dense NumPy array of the variable's shape: zeros where the loss
        does not depend on the variable, and a sparse TensorFlow gradient
        (`tf.IndexedSlices`) made dense.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = loss_fn()
        grad = tape.gradient(loss, variable)
        if grad is None:
            return np.zeros(variable.shape, variable.dtype)
        return keras.ops.convert_to_numpy(tf.convert_to_tensor(grad))
    if backend == "jax":
        import jax

        # Reads of `variable` inside the scope see the traced `value`, as
        # in `Layer.stateless_call`, but for any function of any model.
        def loss_of(value):
            with keras.StatelessScope(state_mapping=[(variable, value)]):
                return loss_fn()

        return np.asarray(jax.grad(loss_of)(variable.value))
    if backend == "torch":
        import torch

        value = variable.value
        (grad,) = torch.autograd.grad(loss_fn(), value, allow_unused=True)
        if grad is None:
            return np.zeros(variable.shape, variable.dtype)
        return grad.detach().cpu().numpy()
    raise ValueError(
        "`gradient` supports the backends tensorflow, jax and torch. "
        f"Received: backend={backend!r}"
    )
