"""The training recipe of the ArbNets paper (section 5).

"We trained both networks using SGD with learning rate 0.1 and momentum
0.9, and a learning rate scheduler that reduces the learning rate 10x
every four epochs if there is no improvement in training accuracy. No
validation set was used."

The scheduler is Keras' `ReduceLROnPlateau` on the training `accuracy`:
with `patience=4` it divides the learning rate by 10 at the end of the
fourth epoch in a row without an improvement of more than `min_delta`
(`1e-4`, Keras' default) over the best training accuracy so far, then
waits another four epochs. (PyTorch's scheduler of the same name, which
the authors may have used, waits for a fifth such epoch.)

The paper gives neither a batch size nor a number of epochs; the runner
uses `DEFAULT_BATCH_SIZE` and `DEFAULT_EPOCHS`.
"""

import numbers

import keras

# Not given in the paper: Keras' usual batch size, also the default of
# `arbnet_keras.datasets.load`.
DEFAULT_BATCH_SIZE = 128
# Not given in the paper: long enough for the plateau schedule to cut the
# learning rate several times once training accuracy stops improving.
DEFAULT_EPOCHS = 50

LEARNING_RATE = 0.1
MOMENTUM = 0.9
PATIENCE = 4
FACTOR = 0.1


def paper_training(
    learning_rate=LEARNING_RATE,
    momentum=MOMENTUM,
    patience=PATIENCE,
    factor=FACTOR,
    monitor="accuracy",
    min_lr=0.0,
):
    """The paper's optimizer and learning rate schedule.

    Args:
        learning_rate: Initial learning rate of SGD. Defaults to `0.1`.
        momentum: Momentum of SGD, in `[0, 1)`. Defaults to `0.9`.
        patience: Number of epochs without improvement of `monitor` after
            which the learning rate is multiplied by `factor`. Defaults to
            `4`.
        factor: Factor of each reduction, in `(0, 1)`. Defaults to `0.1`.
        monitor: Logged quantity to watch: the training `"accuracy"`, as
            in the paper. Quantities named like a loss are minimized, the
            others maximized. Defaults to `"accuracy"`.
        min_lr: Lower bound on the learning rate. Defaults to `0.0`.

    Returns:
        A tuple `(optimizer, callbacks)`: a `keras.optimizers.SGD` and a
        list holding one `keras.callbacks.ReduceLROnPlateau`, to pass to
        `compile` and `fit`. The callback also logs `learning_rate` into
        the history.

    Raises:
        ValueError: On an invalid argument.

    Example:

    >>> optimizer, callbacks = paper_training()
    >>> round(float(optimizer.learning_rate), 6), callbacks[0].patience
    (0.1, 4)
    """
    learning_rate = _positive_number("learning_rate", learning_rate)
    if not _is_number(momentum) or not 0 <= momentum < 1:
        raise ValueError(
            "`momentum` must be a number in [0, 1). Received: "
            f"momentum={momentum!r}"
        )
    if (
        isinstance(patience, bool)
        or not isinstance(patience, numbers.Integral)
        or patience < 1
    ):
        raise ValueError(
            "`patience` must be a positive integer. Received: "
            f"patience={patience!r}"
        )
    if not _is_number(factor) or not 0 < factor < 1:
        raise ValueError(
            f"`factor` must be a number in (0, 1). Received: factor={factor!r}"
        )
    if not isinstance(monitor, str) or not monitor:
        raise ValueError(
            "`monitor` must be the name of a logged metric. Received: "
            f"monitor={monitor!r}"
        )
    if not _is_number(min_lr) or min_lr < 0:
        raise ValueError(
            "`min_lr` must be a non-negative number. Received: "
            f"min_lr={min_lr!r}"
        )
    optimizer = keras.optimizers.SGD(
        learning_rate=learning_rate, momentum=float(momentum)
    )
    scheduler = keras.callbacks.ReduceLROnPlateau(
        monitor=monitor,
        mode="min" if "loss" in monitor else "max",
        factor=float(factor),
        patience=int(patience),
        min_lr=float(min_lr),
    )
    return optimizer, [scheduler]


def compile_paper(
    model,
    learning_rate=LEARNING_RATE,
    momentum=MOMENTUM,
    patience=PATIENCE,
    factor=FACTOR,
    jit_compile="auto",
    **compile_kwargs,
):
    """Compiles a model with the paper's recipe; returns its callbacks.

    The model is compiled with `paper_training`'s SGD, the softmax
    cross-entropy of integer labels from logits
    (`SparseCategoricalCrossentropy(from_logits=True)`) and the
    `"accuracy"` metric, which the learning rate schedule watches.

    Args:
        model: A Keras model that outputs logits.
        learning_rate: See `paper_training`. Defaults to `0.1`.
        momentum: See `paper_training`. Defaults to `0.9`.
        patience: See `paper_training`. Defaults to `4`.
        factor: See `paper_training`. Defaults to `0.1`.
        jit_compile: Passed to `compile`. With `"auto"`, Keras compiles
            with XLA only where an accelerator is present (TensorFlow on
            CPU runs without it) and never under a distribution strategy.
            Defaults to `"auto"`.
        **compile_kwargs: `monitor` and `min_lr` go to `paper_training`;
            the others to `model.compile` (for instance `loss`, `metrics`
            or `steps_per_execution`, which replace the defaults).

    Returns:
        The list of callbacks to pass to `fit`.

    Raises:
        ValueError: If `compile_kwargs` holds an `optimizer`, or on an
            invalid argument of `paper_training`.

    Example:

    >>> from arbnet_keras.models import mnist_mlp
    >>> model = mnist_mlp()
    >>> callbacks = compile_paper(model)
    >>> # model.fit(train, epochs=DEFAULT_EPOCHS, callbacks=callbacks)
    """
    if "optimizer" in compile_kwargs:
        raise ValueError(
            "`compile_paper` sets the optimizer; use `learning_rate` and "
            "`momentum`, or `model.compile` directly. Received: "
            f"optimizer={compile_kwargs['optimizer']!r}"
        )
    schedule_kwargs = {
        key: compile_kwargs.pop(key)
        for key in ("monitor", "min_lr")
        if key in compile_kwargs
    }
    optimizer, callbacks = paper_training(
        learning_rate=learning_rate,
        momentum=momentum,
        patience=patience,
        factor=factor,
        **schedule_kwargs,
    )
    compile_kwargs.setdefault(
        "loss", keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    compile_kwargs.setdefault("metrics", ["accuracy"])
    model.compile(
        optimizer=optimizer, jit_compile=jit_compile, **compile_kwargs
    )
    return callbacks


def _is_number(value):
    return not isinstance(value, bool) and isinstance(value, numbers.Real)


def _positive_number(name, value):
    if not _is_number(value) or not value > 0:
        raise ValueError(
            f"`{name}` must be a positive number. Received: {name}={value!r}"
        )
    return float(value)
