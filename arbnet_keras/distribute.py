"""Helpers for training ArbNets under `tf.distribute` strategies.

`HashedDense` layers and shared `HashTable`s need nothing special under
`tf.distribute.MirroredStrategy` or `MultiWorkerMirroredStrategy`: build
and compile the model inside `strategy.scope()`, and each table becomes
one mirrored variable whose gradient (dense, or `tf.IndexedSlices` with
`kernel_mode="gather"`) is summed across the replicas. See
docs/distributed.md.

`logical_cpus` splits the CPU into several logical devices, so that a
mirrored setup can be tried (and tested) on a machine without
accelerators.
"""

import numbers


def logical_cpus(count):
    """Splits the first physical CPU into `count` logical devices.

    Must run before TensorFlow initializes its devices, that is before
    any tensor or variable is created in the process.

    Args:
        count: Number of logical CPU devices, at least 1.

    Returns:
        The names of the logical CPU devices, to pass to
        `tf.distribute.MirroredStrategy(devices)`.

    Raises:
        ValueError: If `count` is not a positive integer.
        RuntimeError: If TensorFlow's devices are already initialized with
            a different configuration.

    Example:

    >>> devices = logical_cpus(2)  # First thing in the process.
    >>> strategy = tf.distribute.MirroredStrategy(devices)
    >>> with strategy.scope():
    ...     model = hashed_mlp(784, [200, 200], 10)
    ...     callbacks = compile_paper(model)
    """
    if (
        isinstance(count, bool)
        or not isinstance(count, numbers.Integral)
        or count < 1
    ):
        raise ValueError(
            f"`count` must be a positive integer. Received: count={count!r}"
        )
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if (1 if current is None else len(current)) != count:
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration()] * int(count)
            )
        except RuntimeError as error:
            raise RuntimeError(
                f"Cannot split the CPU into {count} logical devices: "
                "TensorFlow has already initialized its devices in this "
                "process. Call `logical_cpus` before creating any tensor, "
                "variable or model (for instance, first thing in a fresh "
                "process)."
            ) from error
    return [device.name for device in tf.config.list_logical_devices("CPU")]
