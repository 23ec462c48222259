"""Section 2 of the ArbNets paper, as tests that can fail.

Every network is an MLP ArbNet: a CNN is a dense layer whose kernel shares
weights in a Toeplitz pattern (eq. 6), and an RNN is a stack of dense
layers sharing one table (section 2.3). Each construction must compute
what the Keras layer computes, and train as it does.

Written with `keras.ops` and NumPy, so it runs under every
`KERAS_BACKEND`.
"""

import keras
import numpy as np
import pytest

from arbnet_keras import HashedConv2D
from arbnet_keras import HashedDense
from arbnet_keras import HashTable
from arbnet_keras import hashing

EPS = np.finfo("float32").eps
INPUT_SHAPE = (6, 5, 2)
FILTERS = 3
KERNEL_SIZE = (3, 2)
BATCH = 4
LEARNING_RATE = 0.01


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def _sgd_step(model, x, y):
    model.compile(optimizer=keras.optimizers.SGD(LEARNING_RATE), loss="mse")
    model.fit(x, y, batch_size=len(x), epochs=1, verbose=0, shuffle=False)


# (strides, padding, dilation_rate) of the convolution.
CONVOLUTIONS = {
    "valid": (1, "valid", 1),
    "same": (1, "same", 1),
    "strided_same": (2, "same", 1),
    "strided_valid": ((2, 1), "valid", 1),
    "dilated": (1, "same", (2, 1)),
}


def _three_networks(strides, padding, dilation_rate, kernel_mode):
    """A Toeplitz `HashedDense`, a `HashedConv2D`, a Keras `Conv2D`."""
    conv_arguments = dict(
        filters=FILTERS,
        kernel_size=KERNEL_SIZE,
        strides=strides,
        padding=padding,
        dilation_rate=dilation_rate,
        use_bias=False,
    )
    conv = keras.layers.Conv2D(**conv_arguments)
    conv_model = keras.Sequential([keras.Input(INPUT_SHAPE), conv])
    output_shape = tuple(conv_model.output_shape[1:])
    toeplitz = hashing.Toeplitz(
        input_shape=INPUT_SHAPE,
        kernel_size=KERNEL_SIZE,
        filters=FILTERS,
        strides=strides,
        padding=padding,
        dilation_rate=dilation_rate,
    )
    assert toeplitz.output_shape == output_shape
    dense = HashedDense(
        int(np.prod(output_shape)),
        hash=toeplitz,
        use_bias=False,
        kernel_mode=kernel_mode,
        seed=0,
    )
    # Both flatten channels last, as the Toeplitz kernel numbers them.
    dense_model = keras.Sequential(
        [
            keras.Input(INPUT_SHAPE),
            keras.layers.Flatten(),
            dense,
            keras.layers.Reshape(output_shape),
        ]
    )
    hashed_conv = HashedConv2D(
        **conv_arguments,
        hash="identity",
        numbering="in_out",
        kernel_mode=kernel_mode,
        seed=0,
    )
    hashed_model = keras.Sequential([keras.Input(INPUT_SHAPE), hashed_conv])
    # The same initial weights: Keras' kernel, flattened in Keras' order,
    # is both the Toeplitz table and the identity table ("in_out").
    kernel = _np(conv.kernel)
    assert dense.table_variable.shape == (kernel.size,)
    dense.table_variable.assign(kernel.ravel())
    hashed_conv.table_variable.assign(kernel.ravel())
    return (conv_model, conv), (dense_model, dense), (hashed_model, hashed_conv)


@pytest.mark.parametrize("kernel_mode", ["auto", "gather"])
@pytest.mark.parametrize("convolution", sorted(CONVOLUTIONS))
def test_a_cnn_is_a_toeplitz_mlp(convolution, kernel_mode):
    """Eq. 6: the same outputs, and the same weights after one SGD step."""
    strides, padding, dilation_rate = CONVOLUTIONS[convolution]
    keras.utils.set_random_seed(1)
    (conv_model, conv), (dense_model, dense), (hashed_model, hashed) = (
        _three_networks(strides, padding, dilation_rate, kernel_mode)
    )
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH,) + INPUT_SHAPE).astype("float32")
    expected = _np(conv_model(x))
    y = rng.normal(size=expected.shape).astype("float32")
    # Each output sums at most n = prod(INPUT_SHAPE) products (the dense
    # layer's, most of them exact zeros); reordering a float32 sum moves
    # it by at most (n - 1) * eps * sum(|x| * |w|) (Higham, 2002).
    absolute = keras.layers.Conv2D.from_config(conv.get_config())
    absolute.build((None,) + INPUT_SHAPE)
    absolute.set_weights([np.abs(_np(conv.kernel))])
    n = int(np.prod(INPUT_SHAPE))
    bound = (n - 1) * EPS * _np(absolute(np.abs(x)))
    assert np.abs(expected).max() > 0.1
    for model in (dense_model, hashed_model):
        outputs = _np(model(x))
        assert outputs.shape == expected.shape
        assert np.all(np.abs(outputs - expected) <= bound)

    kernel_before = _np(conv.kernel).copy()
    for model in (conv_model, dense_model, hashed_model):
        _sgd_step(model, x, y)
    kernel = _np(conv.kernel)
    assert np.abs(kernel - kernel_before).max() > 1e-4
    # Weights of O(0.5) after a step of O(0.01) whose gradients differ
    # only in summation order: a few float32 ulps.
    for table in (dense.table_variable, hashed.table_variable):
        np.testing.assert_allclose(
            _np(table).reshape(kernel.shape), kernel, rtol=1e-5, atol=1e-6
        )


class UnrolledRNN(keras.Model):
    """`SimpleRNN` as an MLP ArbNet (section 2.3 of the paper).

    `SimpleRNN` computes `h_t = tanh(x_t W + h_{t-1} U + b)` from
    `h_0 = 0`. Writing `z_t = [x_t, h_{t-1}, 1]` (a constant 1 carries the
    bias) and `K = [W; U; b]`, of shape `(input_dim + units + 1, units)`,
    this is `h_t = tanh(z_t K)`: one bias-free `HashedDense(units)` per
    time step, applied to `z_t`. All steps share one `HashTable` with the
    modulus hash, `"in_out"` numbering and `S = (input_dim + units + 1) *
    units` entries, one layer's size. Step `t`'s weights get identifiers
    `t * S + p`, `p` running row-major over its `(inputs, units)` kernel,
    so the modulus maps each to entry `p`: every step's kernel is the same
    `K`, the table is `K.ravel()`, and the table's gradient sums the
    gradients of all steps, as backpropagation through time does.
    """

    def __init__(self, steps, units, input_dim, kernel_mode, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        size = (input_dim + units + 1) * units
        self.table = HashTable(
            size, hash="modulus", numbering="in_out", seed=0, name="table"
        )
        self.cells = [
            HashedDense(
                units,
                table=self.table,
                activation="tanh",
                use_bias=False,
                kernel_mode=kernel_mode,
                name=f"step_{t}",
            )
            for t in range(steps)
        ]

    def call(self, x):
        ones = keras.ops.ones_like(x[:, 0, :1])
        h = ones * keras.ops.zeros((1, self.units), dtype=x.dtype)
        outputs = []
        for t, cell in enumerate(self.cells):
            h = cell(keras.ops.concatenate([x[:, t, :], h, ones], axis=-1))
            outputs.append(h)
        return keras.ops.stack(outputs, axis=1)


STEPS, UNITS, INPUT_DIM = 5, 3, 2


@pytest.mark.parametrize("kernel_mode", ["auto", "gather"])
def test_an_rnn_is_an_mlp_with_one_shared_table(kernel_mode):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH, STEPS, INPUT_DIM)).astype("float32")
    y = rng.normal(size=(BATCH, STEPS, UNITS)).astype("float32") * 0.5
    rnn = keras.layers.SimpleRNN(UNITS, return_sequences=True)
    rnn_model = keras.Sequential([keras.Input((STEPS, INPUT_DIM)), rnn])
    w = rng.uniform(-0.7, 0.7, size=(INPUT_DIM, UNITS)).astype("float32")
    u = rng.uniform(-0.7, 0.7, size=(UNITS, UNITS)).astype("float32")
    b = rng.uniform(-0.3, 0.3, size=(UNITS,)).astype("float32")
    rnn.set_weights([w, u, b])

    unrolled = UnrolledRNN(STEPS, UNITS, INPUT_DIM, kernel_mode)
    unrolled(x)
    stacked = np.concatenate([w, u, b[None]])
    unrolled.table.variable.assign(stacked.ravel())
    size = stacked.size
    assert len(unrolled.trainable_weights) == 1
    for t, cell in enumerate(unrolled.cells):
        assert cell.id_offset == t * size
        np.testing.assert_array_equal(_np(cell.kernel), stacked)

    expected = _np(rnn_model(x))
    assert np.abs(expected).max() > 0.3
    np.testing.assert_allclose(_np(unrolled(x)), expected, rtol=0, atol=1e-5)

    # One SGD step: the shared table moves as W, U and b do.
    _sgd_step(rnn_model, x, y)
    _sgd_step(unrolled, x, y)
    trained = np.concatenate([_np(v) for v in rnn.cell.weights[:2]])
    trained = np.concatenate([trained, _np(rnn.cell.weights[2])[None]])
    assert np.abs(trained - stacked).max() > 1e-4
    # Weights of O(0.5) after a step of O(0.01): float32 ulps.
    np.testing.assert_allclose(
        _np(unrolled.table.variable).reshape(stacked.shape),
        trained,
        rtol=1e-5,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        _np(unrolled(x)), _np(rnn_model(x)), rtol=0, atol=1e-5
    )
