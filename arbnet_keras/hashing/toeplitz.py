"""The convolution hash (eq. 6 of the ArbNets paper)."""

import itertools
import math

import keras
import numpy as np

from arbnet_keras.hashing.hash_function import HashFunction
from arbnet_keras.hashing.hash_function import validate_hash_arguments
from arbnet_keras.hashing.hash_function import validate_positive_int

_PADDINGS = ("valid", "same")


def _as_tuple(name, value, rank):
    values = (value,) * rank if np.ndim(value) == 0 else tuple(value)
    if len(values) != rank:
        raise ValueError(
            f"`{name}` must be an integer or a tuple of {rank} integers. "
            f"Received: {name}={value!r}"
        )
    return tuple(validate_positive_int(name, v) for v in values)


@keras.saving.register_keras_serializable(package="arbnet_keras")
class Toeplitz(HashFunction):
    """A convolution written as a dense layer: its sparse Toeplitz sharing.

    Eq. 6 of the ArbNets paper: a `Conv1D`/`Conv2D` (channels last, no bias)
    on an input of shape `input_shape` equals a dense layer over the
    flattened input whose kernel, of shape
    `(prod(input_shape), prod(output_shape))`, holds each convolution weight
    wherever the filter covers an input pixel and a constant zero elsewhere.
    The table holds the convolution kernel flattened in Keras' order
    `(*kernel_size, in_channels, filters)`, so
    `table_size = prod(kernel_size) * in_channels * filters`.

    Args:
        input_shape: `(length, channels)` for a 1D convolution or
            `(height, width, channels)` for a 2D one.
        kernel_size: Integer or tuple, the filter's spatial size.
        filters: Positive integer, the number of output channels.
        strides: Integer or tuple. Defaults to `1`.
        padding: `"valid"` or `"same"` (TensorFlow's convention: the extra
            padding goes after). Defaults to `"valid"`.
        dilation_rate: Integer or tuple. Defaults to `1`.

    Example:

    >>> hash = Toeplitz(input_shape=(28, 28, 1), kernel_size=3, filters=8)
    >>> hash.kernel_shape
    (784, 5408)
    """

    def __init__(
        self,
        input_shape,
        kernel_size,
        filters,
        strides=1,
        padding="valid",
        dilation_rate=1,
    ):
        if np.ndim(input_shape) != 1 or len(input_shape) not in (2, 3):
            raise ValueError(
                "`input_shape` must be `(length, channels)` or "
                "`(height, width, channels)`. "
                f"Received: input_shape={input_shape!r}"
            )
        self.input_shape = tuple(
            validate_positive_int("input_shape", d) for d in input_shape
        )
        rank = len(self.input_shape) - 1
        self.kernel_size = _as_tuple("kernel_size", kernel_size, rank)
        self.filters = validate_positive_int("filters", filters)
        self.strides = _as_tuple("strides", strides, rank)
        self.dilation_rate = _as_tuple("dilation_rate", dilation_rate, rank)
        if padding not in _PADDINGS:
            raise ValueError(
                "Invalid value for argument `padding`. Expected one of "
                f"{_PADDINGS}. Received: padding={padding!r}"
            )
        self.padding = padding
        self._spatial = []  # (out_size, pad_before) per spatial axis.
        for size, k, s, d in zip(
            self.input_shape[:-1],
            self.kernel_size,
            self.strides,
            self.dilation_rate,
        ):
            extent = (k - 1) * d + 1
            if padding == "valid":
                out, pad = (size - extent) // s + 1, 0
            else:
                out = math.ceil(size / s)
                pad = max((out - 1) * s + extent - size, 0) // 2
            if out <= 0:
                raise ValueError(
                    "The convolution has no output: the dilated "
                    f"`kernel_size` {self.kernel_size} is larger than "
                    f"`input_shape` {self.input_shape}."
                )
            self._spatial.append((out, pad))

    @property
    def output_shape(self):
        """The convolution's output shape, channels last."""
        return tuple(out for out, _ in self._spatial) + (self.filters,)

    @property
    def kernel_shape(self):
        """The dense kernel's shape `(input_dim, units)`."""
        return (math.prod(self.input_shape), math.prod(self.output_shape))

    sets_table_size = True

    def required_table_size(self, kernel_shape, num_ids):
        in_channels = self.input_shape[-1]
        return math.prod(self.kernel_size) * in_channels * self.filters

    def index(self, ids, table_size, seed=0):
        table_size, seed = validate_hash_arguments(table_size, seed)
        required = self.required_table_size(self.kernel_shape, None)
        if table_size < required:
            raise ValueError(
                f"A Toeplitz hash with `kernel_size` {self.kernel_size}, "
                f"{self.input_shape[-1]} input channels and {self.filters} "
                f"`filters` needs a table of {required} entries: "
                f"`table_size` must be at least {required}. "
                f"Received: table_size={table_size}"
            )
        ids = np.asarray(ids)
        if tuple(ids.shape) != self.kernel_shape:
            raise ValueError(
                "A Toeplitz hash over `input_shape` "
                f"{self.input_shape} needs a kernel of shape "
                f"{self.kernel_shape} (input_dim, units). "
                f"Received: kernel shape {tuple(ids.shape)}"
            )
        entries = np.full(self.kernel_shape, -1, dtype=np.int64)
        in_channels, filters = self.input_shape[-1], self.filters
        in_spatial = self.input_shape[:-1]
        out_spatial = self.output_shape[:-1]
        channel = np.arange(in_channels)[None, :, None]
        filt = np.arange(filters)[None, None, :]
        out_grid = np.meshgrid(
            *[np.arange(out) for out, _ in self._spatial], indexing="ij"
        )
        for tap in itertools.product(*(range(k) for k in self.kernel_size)):
            # The input pixel that this tap of the filter reads at each
            # output position; taps that fall in the padding read a zero.
            in_grid = [
                o * s + t * d - pad
                for o, s, t, d, (_, pad) in zip(
                    out_grid,
                    self.strides,
                    tap,
                    self.dilation_rate,
                    self._spatial,
                )
            ]
            valid = np.ones(out_grid[0].shape, dtype=bool)
            for coord, size in zip(in_grid, in_spatial):
                valid &= (coord >= 0) & (coord < size)
            flat_in = np.ravel_multi_index(
                [c[valid] for c in in_grid], in_spatial
            )
            flat_out = np.ravel_multi_index(
                [o[valid] for o in out_grid], out_spatial
            )
            rows = flat_in[:, None, None] * in_channels + channel
            cols = flat_out[:, None, None] * filters + filt
            tap_flat = np.ravel_multi_index(tap, self.kernel_size)
            entries[rows, cols] = (tap_flat * in_channels + channel) * (
                filters
            ) + filt
        entries[ids < 0] = -1
        return entries

    def get_config(self):
        return {
            "input_shape": self.input_shape,
            "kernel_size": self.kernel_size,
            "filters": self.filters,
            "strides": self.strides,
            "padding": self.padding,
            "dilation_rate": self.dilation_rate,
        }
