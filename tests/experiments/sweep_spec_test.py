"""Tests of `SweepSpec` and `run_key`."""

import itertools
import json
import re

import pytest

from arbnet_keras.experiments import SweepSpec
from arbnet_keras.experiments import run_key
from arbnet_keras.experiments.config import RUN_FIELDS
from arbnet_keras.experiments.config import spec_differences


def test_runs_are_the_cartesian_product_times_seeds_seed_first():
    spec = SweepSpec(
        "dirichlet",
        alpha=[1e-3, 1.0, 100.0],
        sparsity=[0, 0.9],
        numbering=["out_in", "in_out"],
        number_zeros=[True, False],
        seeds=2,
    )
    runs = spec.runs()
    assert len(runs) == 3 * 2 * 2 * 2 * 2
    combos = [
        (r["seed"], r["hash_value"], r["sparsity"], r["numbering"])
        for r in runs
    ]
    expected = list(
        itertools.product(
            range(2), [1e-3, 1.0, 100.0], [0.0, 0.9], ["out_in", "in_out"]
        )
    )
    # Each (seed, alpha, sparsity, numbering) appears for both number_zeros.
    assert combos == [c for c in expected for _ in range(2)]
    # Seeds vary slowest, so a partial sweep has whole curves.
    assert [r["seed"] for r in runs[:16]] == [0] * 16
    for run in runs:
        assert set(run) == set(RUN_FIELDS)
        assert run["hash"] == "dirichlet"
        assert run["hash_param"] == "alpha"


def test_run_keys_are_unique_and_stable():
    spec = SweepSpec(
        "neighborhood", radius=[0, 1, 10], sparsity=[0, 0.5], seeds=3
    )
    keys = [run_key(run) for run in spec.runs()]
    assert len(set(keys)) == len(keys) == 18
    assert all(len(k) == 16 and int(k, 16) >= 0 for k in keys)
    # A fixed configuration has a fixed key, in every process and version.
    fixed = SweepSpec(
        "dirichlet", alpha=[0.5], sparsity=[0.25], epochs=3, model="mnist_mlp"
    )
    assert run_key(fixed.runs()[0]) == "4bb56b1da31f9d9a"
    # Any configuration change changes the key.
    changed = fixed.replace(epochs=4)
    assert run_key(changed.runs()[0]) != run_key(fixed.runs()[0])


def test_hash_without_parameter_has_one_value():
    spec = SweepSpec("uniform", sparsity=[0, 0.5], seeds=2)
    assert spec.parameter is None
    assert spec.values == (None,)
    assert len(spec.runs()) == 4
    assert {r["hash_value"] for r in spec.runs()} == {None}


def test_identity_ignores_the_table_size():
    spec = SweepSpec("identity", table_size=1000)
    assert spec.table_size is None
    assert spec.runs()[0]["table_size"] is None


def test_values_are_normalized_and_deduplicated():
    spec = SweepSpec("dirichlet", alpha=[1, 1.0, 2], sparsity=0)
    assert spec.alpha == (1.0, 2.0)
    assert spec.sparsity == (0.0,)
    radius = SweepSpec("neighborhood", radius=[3.0, 3])
    assert radius.radius == (3,)
    assert isinstance(radius.radius[0], int)


def test_dict_round_trip_through_json():
    spec = SweepSpec(
        "neighborhood",
        radius=[0, 5],
        sparsity=[0.1],
        model="hashed_mlp",
        hidden_units=[16, 8],
        number_zeros=[True, False],
        epochs=2,
    )
    config = json.loads(json.dumps(spec.to_dict()))
    assert SweepSpec.from_dict(config) == spec
    assert config["radius"] == [0, 5]


def test_from_dict_rejects_unknown_fields():
    config = SweepSpec("uniform").to_dict()
    config["colour"] = "red"
    with pytest.raises(ValueError, match="Unknown sweep spec fields"):
        SweepSpec.from_dict(config)


def test_spec_differences_lists_changed_fields():
    old = SweepSpec("dirichlet", alpha=[1.0], epochs=3)
    new = old.replace(epochs=5)
    assert spec_differences(old, new) == ["epochs: 3 -> 5"]


def test_describe_names_the_sweep():
    text = SweepSpec("dirichlet", alpha=[0.1, 1], sparsity=[0, 0.9]).describe()
    assert "dirichlet sweep" in text
    assert "alpha=[0.1 1.0]" in text
    assert "(4 runs)" in text


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"hash": "md5"}, "Invalid value for argument `hash`"),
        ({"alpha": [-1.0]}, "Received: alpha=-1.0"),
        ({"alpha": [0.0]}, "`alpha` must be a positive"),
        ({"alpha": [float("nan")]}, "`alpha` must be a positive"),
        ({"alpha": []}, "`alpha` must hold at least one value"),
        ({"alpha": None}, "`alpha` must be given"),
        (
            {"hash": "neighborhood", "radius": [-1]},
            "`radius` must be a non-negative integer. Received: radius=-1",
        ),
        (
            {"hash": "neighborhood", "radius": [1.5]},
            "Received: radius=1.5",
        ),
        # Refused by the hash function itself, when the spec is made, not
        # when the run builds its model.
        (
            {"hash": "neighborhood", "radius": [1, 10**20]},
            "Received: radius=100000000000000000000",
        ),
        (
            {"hash": "uniform", "alpha": [1.0]},
            "`alpha` is only used by the dirichlet sweep",
        ),
        (
            {"hash": "dirichlet", "alpha": [1.0], "radius": [1]},
            "`radius` is only used by the neighborhood sweep",
        ),
        ({"sparsity": [1.0]}, "Received: sparsity=1.0"),
        ({"sparsity": [-0.1]}, "`sparsity` must be a number in [0, 1)"),
        ({"seeds": 0}, "`seeds` must be a positive integer. Received: seeds=0"),
        ({"seeds": 1.5}, "Received: seeds=1.5"),
        ({"epochs": 0}, "Received: epochs=0"),
        ({"epochs": True}, "Received: epochs=True"),
        ({"dataset": "imagenet"}, "Invalid value for argument `dataset`"),
        ({"model": "resnet"}, "Invalid value for argument `model`"),
        ({"model": "hashed_mlp"}, "`hidden_units` must be given"),
        ({"hidden_units": [8]}, "`hidden_units` is only used with"),
        (
            {"model": "hashed_mlp", "hidden_units": [8, 0]},
            "Received: hidden_units=0",
        ),
        ({"table_size": 0}, "Received: table_size=0"),
        ({"table_scope": "global"}, "argument `table_scope`"),
        ({"numbering": ["row"]}, "argument `numbering`"),
        ({"number_zeros": ["yes"]}, "Received: number_zeros='yes'"),
        ({"sign": 1}, "Received: sign=1"),
        ({"normalization": "zca"}, "argument `normalization`"),
        ({"batch_size": -2}, "Received: batch_size=-2"),
        ({"learning_rate": 0}, "Received: learning_rate=0"),
        ({"momentum": 1.0}, "Received: momentum=1.0"),
        ({"patience": 0}, "Received: patience=0"),
        ({"factor": 1.0}, "Received: factor=1.0"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, message):
    if "hash" not in kwargs:
        kwargs = {"hash": "dirichlet", "alpha": [1.0], **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        SweepSpec(**kwargs)
