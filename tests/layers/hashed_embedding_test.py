"""`HashedEmbedding`, checked the way Keras checks its own layers.

Written with `keras.ops` and NumPy (TensorFlow-only checks carry the
`tensorflow_only` marker), so it runs under every `KERAS_BACKEND`. The
virtual matrix is `table[index] * sign` with zeros where the sparsity puts
them; a lookup must return its rows without materializing it.
"""

import tracemalloc

import keras
import numpy as np
import pytest
from layer_harness import run_layer_test

from arbnet_keras import HashedDense
from arbnet_keras import HashedEmbedding
from arbnet_keras import HashTable
from arbnet_keras import hashing
from arbnet_keras.layers import hashed_weights

KERNEL_MODES = ("auto", "gather")

# The property's own message; on PyTorch, `torch.nn.Module.__getattr__`
# replaces it (as for Keras' own `Conv2D.kernel`) with "no attribute".
BEFORE_BUILD = r"build the layer|has no attribute"
INPUT_DIM, OUTPUT_DIM = 10, 4

# One case per sharing mechanism, on a (10, 4) virtual matrix.
HASHES = {
    "uniform": dict(hash="uniform", table_size=7),
    "modulus": dict(hash="modulus", table_size=7),
    "modulus_in_out": dict(hash="modulus", table_size=7, numbering="in_out"),
    "modulus_sign_sparse": dict(
        hash="modulus", table_size=7, sign=True, sparsity=0.3
    ),
    "dirichlet": dict(hash=hashing.Dirichlet(0.5), table_size=7),
    "neighborhood": dict(hash=hashing.Neighborhood(1), table_size=7),
    "hashed_nets_sign": dict(hash="hashed_nets", table_size=7, sign=True),
    "identity": dict(hash="identity"),
    "sparse_unnumbered_zeros": dict(
        hash="uniform", table_size=5, sparsity=0.4, number_zeros=False
    ),
    "compression": dict(hash="uniform", compression=0.5),
}


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def _tokens(shape=(3, 5), seed=0, input_dim=INPUT_DIM):
    rng = np.random.default_rng(seed)
    return rng.integers(0, input_dim, size=shape).astype("int32")


def _set_table(layer, seed=3):
    size = layer.table_variable.shape[0]
    table = np.random.default_rng(seed).normal(size=size).astype("float32")
    layer.table_variable.assign(table)
    return table


def _built(hash_case, kernel_mode="auto", seed=7, **kwargs):
    layer = HashedEmbedding(
        INPUT_DIM,
        OUTPUT_DIM,
        **HASHES[hash_case],
        kernel_mode=kernel_mode,
        seed=seed,
        **kwargs,
    )
    layer.build()
    _set_table(layer)
    return layer


def _expected_matrix(layer):
    """`sign * table[index]` in NumPy, zeros where the index is -1."""
    index = layer.kernel_index()
    table = _np(layer.table_variable)
    matrix = np.where(
        index.entries >= 0, table[np.maximum(index.entries, 0)], 0.0
    )
    if index.signs is not None:
        matrix = matrix * index.signs
    return matrix.astype("float32")


def _fit_step(model, x, y, learning_rate=0.1):
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse")
    model.fit(x, y, batch_size=len(x), epochs=1, verbose=0, shuffle=False)


@pytest.mark.parametrize("mask_zero", [False, True])
@pytest.mark.parametrize("hash_case", sorted(HASHES))
def test_keras_layer_harness(hash_case, mask_zero):
    mask = dict(supports_masking=True, expected_mask_shape=(2, 3))
    run_layer_test(
        HashedEmbedding,
        dict(
            input_dim=INPUT_DIM,
            output_dim=OUTPUT_DIM,
            mask_zero=mask_zero,
            seed=5,
            **HASHES[hash_case],
        ),
        input_data=_tokens((2, 3)),
        expected_output_shape=(2, 3, OUTPUT_DIM),
        expected_num_trainable_weights=1,
        expected_num_non_trainable_weights=0,
        expected_num_non_trainable_variables=0,
        expected_num_seed_generators=0,
        **(mask if mask_zero else {}),
    )


@pytest.mark.parametrize("kernel_mode", KERNEL_MODES)
@pytest.mark.parametrize("hash_case", sorted(HASHES))
class TestEveryHash:
    def test_embeddings_is_table_at_index(self, hash_case, kernel_mode):
        layer = _built(hash_case, kernel_mode)
        matrix = _np(layer.embeddings)
        assert matrix.shape == (INPUT_DIM, OUTPUT_DIM) == layer.virtual_shape
        np.testing.assert_array_equal(matrix, _expected_matrix(layer))

    @pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4)])
    def test_lookup_is_rows_of_the_matrix(self, hash_case, kernel_mode, shape):
        layer = _built(hash_case, kernel_mode)
        tokens = _tokens(shape)
        outputs = _np(layer(tokens))
        assert outputs.shape == shape + (OUTPUT_DIM,)
        # A gather of the same table entries: bitwise equal.
        np.testing.assert_array_equal(outputs, _expected_matrix(layer)[tokens])

    def test_fit_step_changes_only_looked_up_entries(
        self, hash_case, kernel_mode
    ):
        layer = _built(hash_case, kernel_mode)
        model = keras.Sequential([keras.Input((3,), dtype="int32"), layer])
        tokens = np.array([[1, 2, 1], [2, 2, 1]], "int32")
        y = np.random.default_rng(1).normal(size=(2, 3, OUTPUT_DIM))
        before = _np(layer.table_variable).copy()
        entries = layer.kernel_index().entries
        used = np.zeros(before.size, bool)
        used[entries[[1, 2]][entries[[1, 2]] >= 0]] = True
        _fit_step(model, tokens, y)
        after = _np(layer.table_variable)
        # Plain SGD: an entry no looked-up weight uses gets no gradient.
        np.testing.assert_array_equal(after[~used], before[~used])
        assert np.any(after[used] != before[used])
        np.testing.assert_array_equal(_np(layer.embeddings)[entries < 0], 0.0)

    def test_config_round_trip(self, hash_case, kernel_mode):
        layer = _built(hash_case, kernel_mode, mask_zero=True)
        config = layer.get_config()
        clone = HashedEmbedding.from_config(config)
        assert clone.get_config() == config
        clone.build()
        assert clone.get_config() == config
        np.testing.assert_array_equal(
            clone.kernel_index().entries, layer.kernel_index().entries
        )
        clone.set_weights(layer.get_weights())
        tokens = _tokens()
        np.testing.assert_array_equal(_np(clone(tokens)), _np(layer(tokens)))
        np.testing.assert_array_equal(
            _np(clone.compute_mask(tokens)), tokens != 0
        )


@pytest.mark.parametrize("kernel_mode", KERNEL_MODES)
@pytest.mark.parametrize("numbering", ["out_in", "in_out"])
@pytest.mark.parametrize("mask_zero", [False, True])
def test_identity_hash_is_keras_embedding(mask_zero, numbering, kernel_mode):
    matrix = (
        np.random.default_rng(4)
        .normal(size=(INPUT_DIM, OUTPUT_DIM))
        .astype("float32")
    )
    embedding = keras.layers.Embedding(
        INPUT_DIM, OUTPUT_DIM, mask_zero=mask_zero
    )
    embedding.build()
    embedding.set_weights([matrix])
    layer = HashedEmbedding(
        INPUT_DIM,
        OUTPUT_DIM,
        hash="identity",
        numbering=numbering,
        mask_zero=mask_zero,
        kernel_mode=kernel_mode,
        seed=0,
    )
    layer.build()
    assert layer.table_variable.shape == (matrix.size,)
    # "out_in" numbers row-major over (output_dim, input_dim).
    table = matrix.T.ravel() if numbering == "out_in" else matrix.ravel()
    layer.table_variable.assign(table)
    np.testing.assert_array_equal(_np(layer.embeddings), matrix)
    tokens = _tokens((4, 6))
    np.testing.assert_array_equal(_np(layer(tokens)), _np(embedding(tokens)))
    if mask_zero:
        np.testing.assert_array_equal(
            _np(layer.compute_mask(tokens)),
            _np(embedding.compute_mask(tokens)),
        )
    else:
        assert layer.compute_mask(tokens) is None
    # The mask reaches the next layer as it does after Keras' Embedding.
    for first in (layer, embedding):
        inputs = keras.Input((6,), dtype="int32")
        pooled = keras.layers.GlobalAveragePooling1D()(first(inputs))
        model = keras.Model(inputs, pooled)
        if first is layer:
            hashed = _np(model(tokens))
        else:
            np.testing.assert_allclose(
                hashed, _np(model(tokens)), rtol=1e-6, atol=1e-7
            )


ONE_HOT_CASES = {
    "uniform": dict(hash="uniform", table_size=11),
    "modulus": dict(hash="modulus", table_size=11),
    "modulus_sign_sparse": dict(
        hash="modulus", table_size=11, sign=True, sparsity=0.3
    ),
    "dirichlet_unnumbered_zeros": dict(
        hash="dirichlet", table_size=11, sparsity=0.3, number_zeros=False
    ),
}


@pytest.mark.parametrize("kernel_mode", KERNEL_MODES)
@pytest.mark.parametrize("numbering", ["out_in", "in_out"])
@pytest.mark.parametrize("case", sorted(ONE_HOT_CASES))
def test_equals_hashed_dense_on_one_hot_inputs(case, numbering, kernel_mode):
    arguments = dict(
        **ONE_HOT_CASES[case],
        numbering=numbering,
        kernel_mode=kernel_mode,
        seed=13,
    )
    layer = HashedEmbedding(INPUT_DIM, OUTPUT_DIM, **arguments)
    layer.build()
    dense = HashedDense(OUTPUT_DIM, use_bias=False, **arguments)
    dense.build((None, INPUT_DIM))
    table = _set_table(layer)
    dense.table_variable.assign(table)
    np.testing.assert_array_equal(
        layer.kernel_index().entries, dense.kernel_index().entries
    )
    np.testing.assert_array_equal(_np(layer.embeddings), _np(dense.kernel))
    tokens = _tokens((3, 5))
    one_hot = np.eye(INPUT_DIM, dtype="float32")[tokens]
    # A matmul with a one-hot row adds exact zeros to one product.
    np.testing.assert_allclose(
        _np(layer(tokens)), _np(dense(one_hot)), rtol=1e-6, atol=1e-7
    )


@pytest.mark.parametrize("numbering", ["out_in", "in_out"])
@pytest.mark.parametrize("kernel_mode", KERNEL_MODES)
def test_hand_computed_modulus(kernel_mode, numbering):
    layer = HashedEmbedding(
        4,
        3,
        hash="modulus",
        table_size=5,
        numbering=numbering,
        kernel_mode=kernel_mode,
        seed=0,
    )
    layer.build()
    layer.table_variable.assign([10.0, 20.0, 30.0, 40.0, 50.0])
    if numbering == "in_out":
        # Weight (t, d) is number 3t + d: a token's vector is consecutive.
        expected = [[10, 20, 30], [40, 50, 10], [20, 30, 40], [50, 10, 20]]
    else:
        # Weight (t, d) is number 4d + t.
        expected = [[10, 50, 40], [20, 10, 50], [30, 20, 10], [40, 30, 20]]
    expected = np.array(expected, "float32")
    np.testing.assert_array_equal(_np(layer.embeddings), expected)
    tokens = np.array([[1, 3], [0, 1]], "int32")
    np.testing.assert_array_equal(_np(layer(tokens)), expected[tokens])


@pytest.mark.tensorflow_only
@pytest.mark.parametrize("hash_case", ["uniform", "modulus_sign_sparse"])
@pytest.mark.parametrize("kernel_mode", KERNEL_MODES)
def test_table_gradient(kernel_mode, hash_case):
    import tensorflow as tf

    layer = _built(hash_case, kernel_mode)
    tokens = _tokens((3, 5))
    upstream = np.random.default_rng(1).normal(size=(3, 5, OUTPUT_DIM))
    upstream = upstream.astype("float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(tokens) * upstream)
    grad = tape.gradient(loss, layer.table_variable)
    if kernel_mode == "gather":
        # A sparse gradient of the looked-up weights only: one slice per
        # (token, dimension) of the batch, never the virtual matrix.
        assert isinstance(grad, tf.IndexedSlices)
        assert grad.indices.shape[0] == tokens.size * OUTPUT_DIM
        assert tuple(grad.dense_shape) == tuple(layer.table_variable.shape)
    index = layer.kernel_index()
    entries = index.entries[tokens]
    weight_grad = upstream
    if index.signs is not None:
        weight_grad = weight_grad * index.signs[tokens]
    live = entries >= 0
    expected = np.bincount(
        entries[live],
        weights=weight_grad[live],
        minlength=layer.table_variable.shape[0],
    )
    # Sums of at most 60 products of O(1): float32 reordering < 1e-5.
    np.testing.assert_allclose(
        _np(tf.convert_to_tensor(grad)), expected, rtol=1e-5, atol=1e-5
    )


def test_huge_vocabulary_builds_and_looks_up_without_an_index():
    # The modulus hash needs no index: building allocates the table only
    # (a stored index of the 3.2e8 virtual weights would take 640 MB).
    # tracemalloc sees the NumPy allocations where an index is built.
    tracemalloc.start()
    try:
        layer = HashedEmbedding(10**7, 32, hash="modulus", table_size=10**5)
        layer.build()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 * 2**20
    assert layer.table_variable.shape == (10**5,)
    assert layer.count_params() == 10**5
    table = _set_table(layer)
    tokens = np.array([[0, 1, 9_999_999], [123_456, 5, 0]], "int64")
    # "in_out" (the embedding's default): weight (t, d) is t * 32 + d.
    d = np.arange(32)
    expected = table[(tokens[..., None] * 32 + d) % 10**5]
    np.testing.assert_array_equal(_np(layer(tokens)), expected)


def test_embeddings_above_the_materialization_limit(monkeypatch):
    monkeypatch.setattr(hashed_weights, "MAX_MATERIALIZED", 10)
    layer = HashedEmbedding(4, 3, hash="uniform", table_size=5, seed=0)
    layer.build()
    with pytest.raises(
        ValueError,
        match=r"has a virtual weight of shape \(4, 3\) \(12 weights\), too "
        r"large to materialize \(the limit is 10\)",
    ):
        _ = layer.embeddings
    # Lookups never materialize the matrix: they still work.
    tokens = np.array([[3, 0, 2]], "int32")
    monkeypatch.setattr(hashed_weights, "MAX_MATERIALIZED", 12)
    expected = _np(layer.embeddings)[tokens]
    monkeypatch.setattr(hashed_weights, "MAX_MATERIALIZED", 10)
    np.testing.assert_array_equal(_np(layer(tokens)), expected)


class TestKerasConventions:
    def test_output_shape_eager_and_symbolic(self):
        layer = HashedEmbedding(10, 6, table_size=20, seed=0)
        assert tuple(layer(_tokens((2, 3))).shape) == (2, 3, 6)
        assert tuple(layer(_tokens((2, 3, 4))).shape) == (2, 3, 4, 6)
        assert tuple(layer.compute_output_shape((None, 3))) == (None, 3, 6)
        symbolic = layer(keras.Input((None,), dtype="int32"))
        assert tuple(symbolic.shape) == (None, None, 6)

    def test_trainable_weights(self):
        layer = HashedEmbedding(10, 6, table_size=20, seed=0)
        layer.build()
        assert len(layer.trainable_weights) == 1
        assert layer.trainable_weights[0] is layer.table_variable
        assert [w.name for w in layer.weights] == ["table"]
        assert layer.count_params() == 20
        layer.trainable = False
        assert len(layer.trainable_weights) == 0
        assert len(layer.non_trainable_weights) == 1

    def test_mask(self):
        layer = HashedEmbedding(10, 6, table_size=20, mask_zero=True, seed=0)
        tokens = np.array([[0, 3, 0], [1, 0, 9]], "int32")
        np.testing.assert_array_equal(
            _np(layer.compute_mask(tokens)), tokens != 0
        )
        assert layer.supports_masking

    def test_float_token_ids(self):
        layer = HashedEmbedding(10, 6, table_size=20, seed=0)
        tokens = _tokens((2, 3))
        np.testing.assert_array_equal(
            _np(layer(tokens.astype("float32"))), _np(layer(tokens))
        )

    def test_config_contents(self):
        layer = HashedEmbedding(
            12,
            5,
            hash=hashing.Neighborhood(2),
            table_size=6,
            sparsity=0.25,
            seed=11,
            sign=True,
            numbering="in_out",
            number_zeros=False,
            mask_zero=True,
            name="hashed",
        )
        config = layer.get_config()
        assert config["input_dim"] == 12
        assert config["output_dim"] == 5
        assert config["mask_zero"] is True
        assert hashing.deserialize(config["hash"]) == hashing.Neighborhood(2)
        assert config["table_size"] == 6
        assert config["sparsity"] == 0.25
        assert config["seed"] == 11
        assert config["sign"] is True
        assert config["numbering"] == "in_out"
        assert config["number_zeros"] is False
        assert config["table"] is None
        assert config["name"] == "hashed"
        assert "embeddings_initializer" not in config
        assert HashedEmbedding.from_config(config).get_config() == config

    def test_drawn_seed_is_recorded(self):
        first = HashedEmbedding(10, 6, table_size=20)
        assert isinstance(first.get_config()["seed"], int)
        clone = HashedEmbedding.from_config(first.get_config())
        first.build()
        clone.build()
        np.testing.assert_array_equal(
            clone.kernel_index().entries, first.kernel_index().entries
        )

    def test_embeddings_before_build(self):
        layer = HashedEmbedding(10, 6, table_size=20, seed=0)
        with pytest.raises(AttributeError, match=BEFORE_BUILD):
            _ = layer.embeddings


def test_save_and_load_in_a_fresh_process(tmp_path, run_python):
    table = HashTable(24, hash="uniform", seed=3, name="shared_table")
    tokens = keras.Input((5,), dtype="int32")
    own = HashedEmbedding(
        20,
        4,
        hash=hashing.Dirichlet(0.3),
        compression=0.5,
        sparsity=0.2,
        sign=True,
        mask_zero=True,
        seed=1,
        name="own",
    )(tokens)
    shared = HashedEmbedding(20, 3, table=table, name="shared_a")(tokens)
    modulus = HashedEmbedding(
        20, 2, hash="modulus", table_size=7, numbering="in_out", name="modulus"
    )(tokens)
    pooled = keras.layers.Concatenate()(
        [
            keras.layers.GlobalAveragePooling1D()(own),
            keras.layers.Flatten()(shared),
            keras.layers.Flatten()(modulus),
        ]
    )
    outputs = HashedDense(3, table=table, name="shared_b")(pooled)
    model = keras.Model(tokens, outputs)
    x = np.array([[0, 3, 19, 0, 7], [5, 5, 0, 1, 2], [0, 0, 0, 0, 4]], "int32")
    expected = _np(model(x))
    model.save(tmp_path / "model.keras")
    np.save(tmp_path / "x.npy", x)
    code = f"""
import numpy as np
import keras
import arbnet_keras
model = keras.saving.load_model({str(tmp_path / "model.keras")!r})
layers = {{layer.name: layer for layer in model.layers}}
emit({{
    "y": keras.ops.convert_to_numpy(
        model(np.load({str(tmp_path / "x.npy")!r}))
    ).tolist(),
    "type": type(layers["own"]).__name__,
    "mask_zero": layers["own"].mask_zero,
    "shared": layers["shared_a"].table is layers["shared_b"].table,
    "num_trainable": len(model.trainable_weights),
    "entries": {{
        name: layer.kernel_index().entries.tolist()
        for name, layer in layers.items() if hasattr(layer, "kernel_index")
    }},
}})
"""
    result = run_python(code)
    np.testing.assert_allclose(result["y"], expected, rtol=1e-6, atol=1e-6)
    assert result["type"] == "HashedEmbedding"
    assert result["mask_zero"] is True
    assert result["shared"] is True
    # Two own tables, one shared table, one bias.
    assert result["num_trainable"] == len(model.trainable_weights) == 4
    for layer in model.layers:
        if hasattr(layer, "kernel_index"):
            np.testing.assert_array_equal(
                result["entries"][layer.name], layer.kernel_index().entries
            )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            dict(input_dim=0),
            r"`input_dim` must be a positive integer\. Received: input_dim=0",
        ),
        (dict(input_dim=-3), r"Received: input_dim=-3"),
        (dict(input_dim=2.5), r"Received: input_dim=2\.5"),
        (dict(input_dim=True), r"Received: input_dim=True"),
        (
            dict(output_dim=0),
            r"`output_dim` must be a positive integer\. Received: output_dim=0",
        ),
        (dict(output_dim=1.5), r"Received: output_dim=1\.5"),
        (
            dict(table_size=0),
            r"`table_size` must be a positive integer\. Received: table_size=0",
        ),
        (
            dict(table_size=None, compression=2),
            r"`compression` must be a number in \(0, 1\]\. "
            r"Received: compression=2$",
        ),
        (
            dict(compression=0.5),
            r"Give only one of `table_size` or `compression`\. Received: "
            r"table_size=4, compression=0\.5",
        ),
        (
            dict(table_size=None),
            r"Exactly one of `table_size` or `compression` must be given",
        ),
        (
            dict(sparsity=1),
            r"`sparsity` must be a number in \[0, 1\)\. Received: sparsity=1$",
        ),
        (
            dict(hash="foo"),
            r"Invalid value for argument `hash`.*Received: hash='foo'",
        ),
        (
            dict(seed=-1),
            r"`seed` must be a non-negative integer or None\. "
            r"Received: seed=-1",
        ),
        (
            dict(numbering="rows"),
            r"Invalid value for argument `numbering`.*"
            r"Received: numbering='rows'",
        ),
        (
            dict(table="t", table_size=None),
            r"`table` must be a `HashTable` or None\. Received: table='t'",
        ),
        (
            dict(kernel_mode="fast"),
            r"Invalid value for argument `kernel_mode`\. Expected one of "
            r"\('auto', 'gather', 'hash'\)\. Received: kernel_mode='fast'",
        ),
        (
            dict(table_initializer="nope"),
            r"Could not interpret initializer identifier: nope",
        ),
    ],
)
def test_invalid_arguments(kwargs, match):
    arguments = dict(input_dim=6, output_dim=2, table_size=4)
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=match):
        HashedEmbedding(**arguments)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            dict(table_size=13),
            r"`table_size` must be at most the number of virtual weights "
            r"\(12 for a kernel of shape \(6, 2\)\)\. Received: table_size=13",
        ),
        (
            dict(hash="identity", table_size=5),
            r"The Identity hash needs a table of 12 entries.*"
            r"Received: table_size=5",
        ),
    ],
)
def test_invalid_at_build(kwargs, match):
    layer = HashedEmbedding(6, 2, seed=0, **kwargs)
    with pytest.raises(ValueError, match=match):
        layer.build()
