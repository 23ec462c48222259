"""In-graph hashes equal their NumPy counterparts bit for bit.

A layer that computes its entries inside the step (`GraphHashKernel`) must
share weights exactly as `kernel_index()` reports, on every backend: the
int32 wrap-around arithmetic of `graph_hash` is checked here against the
NumPy (uint32/uint64) implementation over small, large and edge values.
"""

import keras
import numpy as np
import pytest
from keras import ops

from arbnet_keras import HashedConv2D
from arbnet_keras import HashedDense
from arbnet_keras import HashedEmbedding
from arbnet_keras import hashing
from arbnet_keras.hashing import graph_hash
from arbnet_keras.layers import kernels

RNG = np.random.default_rng(0)
IDS32 = np.concatenate(
    [
        np.arange(300),
        RNG.integers(0, 2**31 - 1, 3000),
        [2**31 - 1, 2**31 - 2, 2**16, 2**16 - 1],
    ]
).astype("int32")
SEEDS = [0, 1, 12345, 2**31, 2**32 - 1, 2**40 + 3, 2**64 - 1]
TABLE_SIZES = [1, 2, 7, 1000, 2**20 + 7, 2**30]


def _np(x):
    return ops.convert_to_numpy(x)


@pytest.fixture(autouse=True, params=["fast", "tflite_builtins"])
def ops_form(request):
    """Every test in both forms of the graph hash: the same bits."""
    if request.param == "fast":
        yield request.param
    else:
        with graph_hash.tflite_builtins():
            yield request.param


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("table_size", TABLE_SIZES)
def test_hashed_nets_entries_equal_numpy(table_size, seed):
    hash_function = hashing.HashedNets()
    got = _np(
        hash_function.graph_entries(
            ops.convert_to_tensor(IDS32), table_size, seed
        )
    )
    np.testing.assert_array_equal(got, hash_function(IDS32, table_size, seed))


@pytest.mark.parametrize("seed", SEEDS)
def test_hashed_nets_signs_equal_numpy(seed):
    hash_function = hashing.HashedNets()
    got = _np(
        hash_function.graph_signs(ops.convert_to_tensor(IDS32), seed, "float32")
    )
    np.testing.assert_array_equal(got, hash_function.signs(IDS32, seed))


@pytest.mark.skipif(
    keras.backend.backend() == "jax",
    reason="JAX computes in 32 bits unless JAX_ENABLE_X64 is set.",
)
def test_hashed_nets_64_bit_identifiers():
    ids = np.concatenate(
        [RNG.integers(0, 2**40, 2000), [2**31, 2**32, 2**32 + 1, 2**62]]
    ).astype("int64")
    hash_function = hashing.HashedNets()
    got = _np(hash_function.graph_entries(ops.convert_to_tensor(ids), 999, 3))
    np.testing.assert_array_equal(got, hash_function(ids, 999, 3))


def test_modulus_entries_equal_numpy():
    got = _np(hashing.Modulus().graph_entries(ops.convert_to_tensor(IDS32), 37))
    np.testing.assert_array_equal(got, hashing.Modulus()(IDS32, 37))


VERSION_2 = {
    "uniform": hashing.Uniform(),
    "dirichlet_balanced": hashing.Dirichlet(100.0),
    "dirichlet_skewed": hashing.Dirichlet(0.05),
    "neighborhood": hashing.Neighborhood(3),
    "neighborhood_wide": hashing.Neighborhood(10**6),
}


@pytest.mark.parametrize("seed", [0, 7, 2**63 + 5])
@pytest.mark.parametrize("table_size", [1, 5, 1000, 2**20 + 7])
@pytest.mark.parametrize("name", sorted(VERSION_2))
def test_version_2_entries_equal_numpy(name, table_size, seed):
    hash_function = VERSION_2[name]
    ids = ops.convert_to_tensor(IDS32)
    np.testing.assert_array_equal(
        _np(hash_function.graph_entries(ids, table_size, seed)),
        hash_function(IDS32, table_size, seed),
    )


@pytest.mark.parametrize("name", sorted(VERSION_2))
def test_version_2_signs_and_zeros_equal_numpy(name):
    hash_function = VERSION_2[name]
    ids = ops.convert_to_tensor(IDS32)
    np.testing.assert_array_equal(
        _np(hash_function.graph_signs(ids, 3, "float32")),
        hash_function.signs(IDS32, 3),
    )
    for sparsity in (0.01, 0.5, 0.99):
        zeros = hash_function.zeros(IDS32, 3, sparsity)
        np.testing.assert_array_equal(
            _np(hash_function.graph_zeros(ids, 3, sparsity)), zeros
        )
        # 3304 draws: the fraction is within 5 standard deviations.
        assert abs(zeros.mean() - sparsity) < 5 * 0.5 / len(IDS32) ** 0.5


def test_version_2_draws_are_balanced():
    entries = hashing.Uniform()(np.arange(100_000), 10, 1)
    counts = np.bincount(entries, minlength=10)
    # Binomial(1e5, 0.1): std 95; 6 std is a failure only for a bias.
    assert np.abs(counts - 10_000).max() < 600
    dirichlet = hashing.Dirichlet(0.1)
    entries = dirichlet(np.arange(200_000), 20, 1)
    freq = np.bincount(entries, minlength=20) / 200_000
    # Each frequency's std is at most sqrt(0.25 / 2e5) = 1.1e-3.
    np.testing.assert_allclose(freq, dirichlet.probabilities(20, 1), atol=7e-3)


def test_configs_without_a_version_are_version_1():
    # Models saved before version 2 existed keep their sharing.
    for name in ("Uniform", "Dirichlet", "Neighborhood"):
        old = hashing.deserialize({"class_name": name, "config": {}})
        assert old.version == 1
        assert not old.computes_in_graph
        new = hashing.get(name.lower())
        assert new.version == 2
        assert hashing.deserialize(hashing.serialize(new)) == new
    ids = np.arange(1000)
    v1 = hashing.Uniform(version=1)(ids, 50, 0)
    v2 = hashing.Uniform()(ids, 50, 0)
    assert (v1 != v2).mean() > 0.9


def test_hashes_that_do_not_compute_in_graph():
    for hash_function in (
        hashing.get("identity"),
        hashing.Uniform(version=1),
        hashing.Dirichlet(version=1),
        hashing.Neighborhood(2, version=1),
    ):
        assert not hash_function.computes_in_graph
    with pytest.raises(ValueError, match="`version`"):
        hashing.Uniform(version=3)


def _pair(cls, shape, **kwargs):
    """The same layer computing entries in the graph and gathering them."""
    hashed = cls(**kwargs, kernel_mode="hash")
    gathered = cls(**kwargs, kernel_mode="gather")
    hashed.build(shape)
    gathered.build(shape)
    gathered.set_weights(hashed.get_weights())
    return hashed, gathered


LAYER_CASES = {
    "hashed_nets": dict(hash="hashed_nets"),
    "hashed_nets_sign": dict(hash="hashed_nets", sign=True),
    "uniform_sparse_sign": dict(hash="uniform", sparsity=0.3, sign=True),
    "dirichlet": dict(hash=hashing.Dirichlet(0.3)),
    "neighborhood_sparse": dict(hash=hashing.Neighborhood(2), sparsity=0.2),
}


@pytest.mark.parametrize("numbering", ["out_in", "in_out"])
@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_layers_computing_in_graph_equal_the_stored_index(case, numbering):
    common = dict(seed=4, numbering=numbering, **LAYER_CASES[case])
    x = RNG.normal(size=(3, 12)).astype("float32")
    hashed, gathered = _pair(
        HashedDense, (None, 12), units=5, table_size=17, **common
    )
    assert isinstance(hashed._weight_fn, kernels.GraphHashKernel)
    assert not isinstance(gathered._weight_fn, kernels.GraphHashKernel)
    # One kernel, two ways: exact; matmuls of O(1) values agree to float32
    # rounding.
    np.testing.assert_array_equal(_np(hashed.kernel), _np(gathered.kernel))
    np.testing.assert_allclose(
        _np(hashed(x)), _np(gathered(x)), rtol=1e-5, atol=1e-6
    )
    images = RNG.normal(size=(2, 6, 6, 3)).astype("float32")
    hashed, gathered = _pair(
        HashedConv2D,
        images.shape,
        filters=4,
        kernel_size=3,
        table_size=17,
        **common,
    )
    np.testing.assert_array_equal(_np(hashed.kernel), _np(gathered.kernel))
    tokens = RNG.integers(0, 50, (4, 3))
    hashed, gathered = _pair(
        HashedEmbedding,
        None,
        input_dim=50,
        output_dim=6,
        table_size=17,
        **common,
    )
    np.testing.assert_array_equal(_np(hashed(tokens)), _np(gathered(tokens)))


def _trained_tables(layers, inputs, targets, jit_compile):
    tables = []
    for layer in layers:
        model = keras.Sequential([keras.Input(inputs.shape[1:]), layer])
        model.compile(
            keras.optimizers.SGD(0.05, momentum=0.9),
            "mse",
            jit_compile=jit_compile,
        )
        model.fit(
            inputs, targets, epochs=2, batch_size=2, shuffle=False, verbose=0
        )
        tables.append(_np(layer.table_variable))
    return tables


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_training_in_graph_equals_the_stored_index(case, jit_compile):
    """The fused hash and gradient (`EntryTake`) train like the index.

    Outside XLA they run as XLA functions of their own; with
    `jit_compile=True` they are inlined into the compiled step.
    """
    if jit_compile and keras.backend.backend() == "torch":
        pytest.skip("XLA steps are TensorFlow's and JAX's; not torch.compile")
    common = dict(seed=4, table_size=17, **LAYER_CASES[case])
    x = RNG.normal(size=(4, 12)).astype("float32")
    y = RNG.normal(size=(4, 5)).astype("float32")
    hashed, gathered = _pair(HashedDense, (None, 12), units=5, **common)
    tables = _trained_tables((hashed, gathered), x, y, jit_compile)
    # Four small steps of O(1) values: the same gradients summed in
    # another order, so float32 rounding apart.
    np.testing.assert_allclose(tables[0], tables[1], rtol=1e-5, atol=1e-6)
    tokens = RNG.integers(0, 50, (4, 3))
    targets = RNG.normal(size=(4, 3, 6)).astype("float32")
    hashed, gathered = _pair(
        HashedEmbedding, None, input_dim=50, output_dim=6, **common
    )
    tables = _trained_tables((hashed, gathered), tokens, targets, jit_compile)
    np.testing.assert_allclose(tables[0], tables[1], rtol=1e-5, atol=1e-6)


def test_embedding_defaults_to_an_index_free_hash():
    layer = HashedEmbedding(10**7, 32, table_size=10**5, seed=0)
    layer.build()
    assert isinstance(layer._weight_fn, kernels.GraphHashKernel)
    assert layer.count_params() == 10**5
    tokens = np.array([[0, 1, 9_999_999]])
    # The entries of those rows, from the NumPy hash of their identifiers
    # (in_out numbering: token t, dimension d is t * 32 + d).
    ids = tokens[..., None] * 32 + np.arange(32)
    entries = hashing.HashedNets()(ids, 10**5, 0)
    table = _np(layer.table_variable)
    np.testing.assert_array_equal(_np(layer(tokens)), table[entries])


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(hash=hashing.Uniform(version=1)),
        dict(hash="hashed_nets", sparsity=0.5),
        dict(hash="uniform", sparsity=0.5, number_zeros=False),
        dict(hash="modulus", sign=True),
    ],
)
def test_hash_mode_needs_a_hash_that_computes_in_graph(kwargs):
    layer = HashedDense(3, table_size=4, kernel_mode="hash", **kwargs)
    with pytest.raises(ValueError, match='kernel_mode="hash"'):
        layer.build((None, 4))
