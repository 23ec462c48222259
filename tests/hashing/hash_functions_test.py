"""Properties shared by every hash function, and `get`/`serialize`."""

import json
import re

import keras
import numpy as np
import pytest

from arbnet_keras import hashing
from arbnet_keras.hashing.hash_function import validate_table_holds

TABLE_SIZE = 97
SEED = 1234
# Small and large identifiers, not in order.
IDS = np.concatenate(
    [np.arange(3000), 2**40 + np.arange(0, 30000, 7), [2**62 + 5, 17]]
).astype(np.int64)

# The identifier-based hash functions, by a short name. Identity needs a
# table as large as the identifiers it sees; it gets its own ids below.
HASHES = {
    "identity": lambda: hashing.Identity(),
    "modulus": lambda: hashing.Modulus(),
    "uniform": lambda: hashing.Uniform(),
    "dirichlet": lambda: hashing.Dirichlet(alpha=0.5),
    "neighborhood": lambda: hashing.Neighborhood(radius=3),
    "hashed_nets": lambda: hashing.HashedNets(),
}
RANDOM_HASHES = ("uniform", "dirichlet", "neighborhood", "hashed_nets")


def _ids_and_size(name):
    if name == "identity":
        return np.arange(500, dtype=np.int64)[::-1], 600
    return IDS, TABLE_SIZE


def _entries(name, seed=SEED):
    ids, table_size = _ids_and_size(name)
    return HASHES[name]()(ids, table_size, seed)


@pytest.mark.parametrize("name", sorted(HASHES))
class TestEveryHash:
    def test_entries_are_int64_in_table(self, name):
        ids, table_size = _ids_and_size(name)
        entries = _entries(name)
        assert entries.shape == ids.shape
        assert entries.dtype == np.int64
        assert entries.min() >= 0
        assert entries.max() < table_size

    def test_deterministic_in_process(self, name):
        np.testing.assert_array_equal(_entries(name), _entries(name))

    def test_independent_of_global_numpy_rng(self, name):
        state = np.random.get_state()
        try:
            np.random.seed(0)
            first = _entries(name)
            np.random.seed(12345)
            np.random.uniform(size=100)
            second = _entries(name)
        finally:
            np.random.set_state(state)
        np.testing.assert_array_equal(first, second)

    def test_does_not_consume_global_numpy_rng(self, name):
        np.random.seed(7)
        expected = np.random.uniform(size=5)
        np.random.seed(7)
        # A fresh seed forces Dirichlet to draw a new `p`.
        _entries(name, seed=np.random.SeedSequence().entropy % 2**31)
        np.testing.assert_array_equal(np.random.uniform(size=5), expected)

    def test_seeds(self, name):
        differing = np.mean(_entries(name, seed=1) != _entries(name, seed=2))
        if name in RANDOM_HASHES:
            assert differing > 0.5
        else:
            assert differing == 0

    def test_index_keeps_zeros_and_maps_live_ids(self, name):
        ids, table_size = _ids_and_size(name)
        ids = ids[:200].copy()
        ids[::3] = -1
        entries = HASHES[name]().index(ids, table_size, SEED)
        live = ids >= 0
        np.testing.assert_array_equal(entries[~live], -1)
        np.testing.assert_array_equal(
            entries[live], HASHES[name]()(ids[live], table_size, SEED)
        )

    def test_any_subset_of_ids_hashes_alike(self, name):
        # What lets layers that share a table hash their own ids alone.
        ids, table_size = _ids_and_size(name)
        whole = HASHES[name]()(ids, table_size, SEED)
        part = HASHES[name]()(ids[100:150], table_size, SEED)
        np.testing.assert_array_equal(part, whole[100:150])

    def test_serialize_round_trip(self, name):
        hash_function = HASHES[name]()
        config = json.loads(json.dumps(hashing.serialize(hash_function)))
        restored = hashing.deserialize(config)
        assert type(restored) is type(hash_function)
        assert restored == hash_function
        assert restored.get_config() == hash_function.get_config()
        assert hashing.get(config) == hash_function
        ids, table_size = _ids_and_size(name)
        np.testing.assert_array_equal(
            restored(ids, table_size, SEED),
            hash_function(ids, table_size, SEED),
        )


def test_deterministic_across_processes(run_python):
    """One fresh process, another PYTHONHASHSEED, every hash function."""
    code = """
import numpy as np
from arbnet_keras import hashing
ids = np.concatenate(
    [np.arange(3000), 2**40 + np.arange(0, 30000, 7), [2**62 + 5, 17]]
).astype(np.int64)
hashes = {
    "modulus": hashing.Modulus(),
    "uniform": hashing.Uniform(),
    "dirichlet": hashing.Dirichlet(alpha=0.5),
    "neighborhood": hashing.Neighborhood(radius=3),
    "hashed_nets": hashing.HashedNets(),
}
out = {k: h(ids, 97, 1234).tolist() for k, h in hashes.items()}
out["identity"] = hashing.Identity()(np.arange(500)[::-1], 600, 1234).tolist()
out["signs"] = hashing.Uniform().signs(ids, 1234).tolist()
out["hashed_nets_signs"] = hashing.HashedNets().signs(ids, 1234).tolist()
toeplitz = hashing.Toeplitz((5, 4, 2), 3, 2, padding="same")
out["toeplitz"] = toeplitz.index(
    np.zeros(toeplitz.kernel_shape, "int64"), 36).tolist()
out["kernel_index"] = hashing.kernel_index(
    hashing.Uniform(), (20, 30), 50, 1234, sparsity=0.3, sign=True
).entries.tolist()
emit(out)
"""
    result = run_python(code, env={"PYTHONHASHSEED": "987"})
    for name in HASHES:
        np.testing.assert_array_equal(result[name], _entries(name))
    np.testing.assert_array_equal(
        result["signs"], hashing.Uniform().signs(IDS, SEED)
    )
    np.testing.assert_array_equal(
        result["hashed_nets_signs"], hashing.HashedNets().signs(IDS, SEED)
    )
    toeplitz = hashing.Toeplitz((5, 4, 2), 3, 2, padding="same")
    np.testing.assert_array_equal(
        result["toeplitz"],
        toeplitz.index(np.zeros(toeplitz.kernel_shape, "int64"), 36),
    )
    np.testing.assert_array_equal(
        result["kernel_index"],
        hashing.kernel_index(
            hashing.Uniform(), (20, 30), 50, SEED, sparsity=0.3, sign=True
        ).entries,
    )


@pytest.mark.parametrize("name", sorted(HASHES))
@pytest.mark.parametrize("table_size", [0, -3, 2.0, "7", True, None])
def test_invalid_table_size(name, table_size):
    # Modulus once divided by zero and Uniform gave entries of -1.
    match = (
        r"`table_size` must be a positive integer\. "
        rf"Received: table_size={re.escape(repr(table_size))}$"
    )
    hash_function = HASHES[name]()
    with pytest.raises(ValueError, match=match):
        hash_function(np.arange(4), table_size, SEED)
    with pytest.raises(ValueError, match=match):
        hash_function.index(np.arange(4).reshape(2, 2), table_size, SEED)


def test_hashed_nets_table_of_more_than_2_to_32():
    hash_function = hashing.HashedNets()
    assert hash_function(np.arange(4), 2**32, SEED).max() < 2**32
    with pytest.raises(
        ValueError,
        match=r"The HashedNets hash draws 32-bit digests: `table_size` "
        r"must be at most 2\*\*32\. Received: table_size=4294967297$",
    ):
        hash_function(np.arange(4), 2**32 + 1, SEED)


def test_toeplitz_table_too_small():
    toeplitz = hashing.Toeplitz((5, 2), kernel_size=3, filters=4)
    with pytest.raises(
        ValueError,
        match=r"A Toeplitz hash with `kernel_size` \(3,\), 2 input channels "
        r"and 4 `filters` needs a table of 24 entries: `table_size` must be "
        r"at least 24\. Received: table_size=23$",
    ):
        toeplitz.index(np.zeros(toeplitz.kernel_shape, "int64"), 23)


@pytest.mark.parametrize("name", ["uniform", "dirichlet", "hashed_nets"])
def test_signs_are_balanced_and_seeded(name):
    hash_function = HASHES[name]()
    ids = np.arange(100_000)
    signs = hash_function.signs(ids, seed=3)
    assert signs.dtype == np.int8
    assert set(np.unique(signs)) == {-1, 1}
    assert abs(np.mean(signs == 1) - 0.5) < 0.02
    other = hash_function.signs(ids, seed=4)
    assert abs(np.mean(signs != other) - 0.5) < 0.02
    # The sign is independent of the entry.
    entries = hash_function(ids, 2, seed=3)
    assert abs(np.mean(signs[entries == 0] == 1) - 0.5) < 0.02


@pytest.mark.parametrize(
    "alias, cls",
    [
        ("identity", hashing.Identity),
        ("modulus", hashing.Modulus),
        ("uniform", hashing.Uniform),
        ("dirichlet", hashing.Dirichlet),
        ("neighborhood", hashing.Neighborhood),
        ("hashed_nets", hashing.HashedNets),
        ("HashedNets", hashing.HashedNets),
        ("xxhash", hashing.HashedNets),
        ("Modulus", hashing.Modulus),
    ],
)
def test_get_string_aliases(alias, cls):
    hash_function = hashing.get(alias)
    assert type(hash_function) is cls
    assert hash_function == cls()


def test_get_defaults_of_aliases():
    assert hashing.get("dirichlet").alpha == 1.0
    assert hashing.get("neighborhood").radius == 0


def test_get_passes_objects_through():
    hash_function = hashing.Neighborhood(radius=2)
    assert hashing.get(hash_function) is hash_function


def test_get_config_dict():
    hash_function = hashing.get(
        {"class_name": "Neighborhood", "config": {"radius": 3}}
    )
    # A config without a version was saved before version 2 existed.
    assert hash_function == hashing.Neighborhood(radius=3, version=1)
    assert hash_function != hashing.Neighborhood(radius=4)
    assert hash_function != hashing.Modulus()


def test_get_wraps_arrays_and_callables():
    index = hashing.get(np.array([[0, 1], [1, 0]]))
    assert isinstance(index, hashing.Custom)
    np.testing.assert_array_equal(index.index_array, [[0, 1], [1, 0]])
    wrapped = hashing.get(lambda ids, n, seed: ids % n)
    assert isinstance(wrapped, hashing.Custom)
    np.testing.assert_array_equal(wrapped(np.arange(5), 3), [0, 1, 2, 0, 1])


@pytest.mark.parametrize("name", ["foo", "", "toeplitz"])
def test_get_unknown_name(name):
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `hash`.*Received: hash=",
    ):
        hashing.get(name)


def test_get_unknown_type():
    with pytest.raises(ValueError, match=r"Received: hash=3\.5"):
        hashing.get(3.5)


@pytest.mark.parametrize(
    "config",
    [{"class_name": "Bogus", "config": {}}, {"class_name": "Dense"}],
    ids=["bogus", "keras_layer"],
)
def test_get_config_of_unknown_class(config):
    # Keras returned the class name as is, a string, which failed later
    # with an AttributeError.
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `hash`: unknown hash function "
        rf"'{config['class_name']}'\. Expected one of \('Custom', .*\) or a "
        r"registered `HashFunction`\. Received: hash=\{'class_name'",
    ):
        hashing.get(config)


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"config": {}},
        {"class_name": 3},
        {"class_name": "Uniform", "config": 3},
    ],
    ids=["empty", "no_class_name", "class_name_int", "config_int"],
)
def test_get_config_of_wrong_structure(config):
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `hash`: expected a config dict "
        r"with a `class_name` string and a `config` dict, as "
        r"`hashing.serialize` writes it\. Received: hash=\{",
    ):
        hashing.get(config)


def test_get_config_with_unknown_arguments():
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `hash`: the config does not fit "
        r"the arguments of Neighborhood\. Received: hash=",
    ):
        hashing.get(
            {"class_name": "Neighborhood", "config": {"radius": 2, "size": 1}}
        )


def test_get_config_keeps_the_argument_errors_of_the_hash():
    with pytest.raises(
        ValueError, match=r"^`alpha` must be a positive, finite number\."
    ):
        hashing.get({"class_name": "Dirichlet", "config": {"alpha": "x"}})


@pytest.mark.parametrize(
    "hash_function",
    [
        hashing.Toeplitz((6, 5, 2), (3, 2), 4, strides=(2, 1)),
        hashing.Toeplitz((9, 3), 3, 2, padding="same", dilation_rate=2),
        hashing.Custom(index=[[0, 1, -1], [2, 0, 1]]),
    ],
    ids=["toeplitz_2d", "toeplitz_1d", "custom_index"],
)
def test_structured_serialize_round_trip(hash_function):
    config = json.loads(json.dumps(hashing.serialize(hash_function)))
    restored = hashing.deserialize(config)
    assert type(restored) is type(hash_function)
    assert restored == hash_function
    if isinstance(hash_function, hashing.Toeplitz):
        assert restored.get_config() == hash_function.get_config()
        shape = hash_function.kernel_shape
        size = hash_function.required_table_size(shape, None)
    else:
        shape, size = (2, 3), 3
    ids = np.arange(np.prod(shape)).reshape(shape)
    np.testing.assert_array_equal(
        restored.index(ids, size), hash_function.index(ids, size)
    )


def test_serialize_is_a_keras_config():
    config = hashing.serialize(hashing.Dirichlet(alpha=0.1))
    assert config["class_name"] in ("Dirichlet", "arbnet_keras>Dirichlet")
    assert config["config"] == {"alpha": 0.1, "version": 2}
    restored = keras.saving.deserialize_keras_object(config)
    assert restored == hashing.Dirichlet(alpha=0.1)


class TestValidateTableHolds:
    """The size check that names the argument the user passed."""

    @pytest.mark.parametrize("name", ["size", "table_size"])
    def test_identity_needs_one_entry_per_identifier(self, name):
        # A `HashTable(4, hash="identity")` shared by a (6, 5) layer once
        # said "`table_size` must be at least 30", naming no argument of
        # `HashTable`.
        with pytest.raises(
            ValueError,
            match=r"The Identity hash needs a table of at least 30 entries "
            r"here \(a weight of shape \(6, 5\), identifiers below 30\): "
            rf"`{name}` must be at least 30\. Received: {name}=4$",
        ):
            validate_table_holds(hashing.Identity(), 4, (6, 5), 30, name)
        validate_table_holds(hashing.Identity(), 30, (6, 5), 30, name)

    def test_identity_counts_identifiers_of_earlier_layers(self):
        with pytest.raises(ValueError, match=r"`size` must be at least 50\."):
            validate_table_holds(hashing.Identity(), 40, (4, 5), 50, "size")

    def test_toeplitz_needs_the_convolution_weights(self):
        toeplitz = hashing.Toeplitz((5, 2), kernel_size=3, filters=4)
        with pytest.raises(
            ValueError,
            match=r"The Toeplitz hash needs a table of at least 24 entries.*"
            r"`size` must be at least 24\. Received: size=23$",
        ):
            validate_table_holds(
                toeplitz, 23, toeplitz.kernel_shape, 30, "size"
            )
        validate_table_holds(toeplitz, 24, toeplitz.kernel_shape, 30, "size")

    @pytest.mark.parametrize("name", sorted(set(HASHES) - {"identity"}))
    def test_other_hashes_take_any_size(self, name):
        validate_table_holds(HASHES[name](), 1, (6, 5), 10**6, "size")
