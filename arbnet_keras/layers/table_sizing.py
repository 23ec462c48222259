"""How large a `HashedDense` layer's own table is."""

import math
import numbers

from arbnet_keras.hashing.hash_function import validate_positive_int


def own_table_size(hash_function, kernel_shape, table_size, compression):
    """The size of a layer's own table, checked against its kernel.

    The hash's required size (`Identity`, `Toeplitz`) wins; otherwise
    `table_size`, or `compression` times the number of virtual weights.

    Raises:
        ValueError: If a given size contradicts the hash's, or exceeds the
            number of virtual weights.
    """
    num_weights = math.prod(kernel_shape)
    required = hash_function.required_table_size(kernel_shape, num_weights)
    if required is not None:
        size = required
        given = table_size or (
            compression and _compressed(compression, num_weights)
        )
        if given and given != required:
            raise ValueError(
                f"The {hash_function.__class__.__name__} hash needs a table "
                f"of {required} entries for a kernel of shape "
                f"{kernel_shape}: `table_size` (or `compression`) must give "
                f"{required}. Received: table_size={given}"
            )
    elif table_size is not None:
        size = table_size
    else:
        size = _compressed(compression, num_weights)
    if size > num_weights:
        raise ValueError(
            "`table_size` must be at most the number of virtual weights "
            f"({num_weights} for a kernel of shape {kernel_shape}). "
            f"Received: table_size={size}"
        )
    return size


def _compressed(compression, num_weights):
    return max(1, int(round(compression * num_weights)))


def validate_table_arguments(table, table_size, compression, seed):
    """Checks the table arguments of a `HashedDense` layer."""
    if table is not None:
        for name, value in (
            ("table_size", table_size),
            ("compression", compression),
            ("seed", seed),
        ):
            if value is not None:
                raise ValueError(
                    f"`{name}` cannot be set on a layer that uses a shared "
                    f"`table`: the table sets it. Received: {name}={value!r}"
                )
        return
    if table_size is not None and compression is not None:
        raise ValueError(
            "Give only one of `table_size` or `compression`. Received: "
            f"table_size={table_size!r}, compression={compression!r}"
        )
    if table_size is not None:
        validate_positive_int("table_size", table_size)
    if compression is not None and (
        isinstance(compression, bool)
        or not isinstance(compression, numbers.Real)
        or not 0 < compression <= 1
    ):
        raise ValueError(
            "`compression` must be a number in (0, 1]. Received: "
            f"compression={compression!r}"
        )
