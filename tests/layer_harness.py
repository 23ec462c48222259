"""Keras' own layer checks, pinned behind one function.

`keras.src.testing.TestCase.run_layer_test` is private Keras API: it is
imported here only, so a Keras release that moves it breaks one helper,
not every layer test. It runs on a layer class the checks Keras runs on
its own layers: a config round trip, build, symbolic and eager calls with
their output shapes, a compiled training step, and mixed precision.

Test modules import it as `from layer_harness import run_layer_test`
(pytest puts `tests/`, the folder of the root `conftest.py`, on the path).
"""


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
