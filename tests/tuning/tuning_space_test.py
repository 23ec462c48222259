"""The search space of `ArbNetHyperModel` and its specifications."""

import keras
import numpy as np
import pytest

keras_tuner = pytest.importorskip("keras_tuner")

from arbnet_keras import hashing  # noqa: E402
from arbnet_keras import tuning  # noqa: E402
from arbnet_keras.tuning import space  # noqa: E402
from arbnet_keras.tuning.arbnet_hyper_model import ArbNetHyperModel  # noqa: E402


def _by_name(hp):
    return {p.name: p for p in hp.space}


class TestParse:
    def test_fixed_choice_and_range(self):
        fixed = space.parse("table_size", 1000)
        assert (fixed.kind, fixed.values, fixed.default) == (
            "fixed",
            (1000,),
            1000,
        )
        choice = space.parse("alpha", [0.1, 1, 10])
        assert choice.kind == "choice"
        assert choice.values == (0.1, 1.0, 10.0)
        assert all(isinstance(v, float) for v in choice.values)
        assert choice.default == 1.0  # The preferred default, a choice.
        ranged = space.parse("radius", (0, 500))
        assert (ranged.min_value, ranged.max_value) == (0, 500)
        assert (ranged.sampling, ranged.step, ranged.default) == (
            "linear",
            1,
            0,
        )

    @pytest.mark.parametrize(
        "name, sampling",
        [
            ("alpha", "log"),
            ("radius", "linear"),
            ("table_size", "log"),
            ("sparsity", "linear"),
            ("learning_rate", "log"),
        ],
    )
    def test_default_sampling_of_a_range(self, name, sampling):
        low, high = (1, 100) if name != "sparsity" else (0.1, 0.9)
        assert space.parse(name, (low, high)).sampling == sampling

    def test_dict_range_with_every_option(self):
        spec = space.parse(
            "alpha",
            {
                "min_value": 0.01,
                "max_value": 100,
                "sampling": "linear",
                "step": 0.5,
                "default": 2,
            },
        )
        assert (spec.sampling, spec.step, spec.default) == ("linear", 0.5, 2.0)

    def test_range_default_outside_the_preferred_value(self):
        # alpha's preferred default 1.0 lies outside [10, 100]: min is used.
        assert space.parse("alpha", (10, 100)).default == 10.0
        assert space.parse("table_size", (100, 500)).default == 100

    def test_hash(self):
        assert space.parse("hash", "Dirichlet").values == ("dirichlet",)
        spec = space.parse("hash", ["dirichlet", "neighborhood"])
        assert (spec.kind, spec.default) == ("choice", "dirichlet")

    @pytest.mark.parametrize(
        "name, spec, message",
        [
            ("alpha", 0, "`alpha` must be a positive number"),
            ("alpha", -1.0, "Received: alpha=-1.0"),
            ("alpha", float("inf"), "`alpha` must be a positive number"),
            ("alpha", "1", "`alpha` must be a positive number"),
            ("radius", -1, "`radius` must be a non-negative integer"),
            ("radius", 1.5, "Received: radius=1.5"),
            ("table_size", 0, "`table_size` must be a positive integer"),
            ("table_size", True, "Received: table_size=True"),
            ("sparsity", 1.0, "`sparsity` must be a number in [0, 1)"),
            ("sparsity", (0.5, 0.1), "`min_value < max_value`"),
            ("alpha", (1, 2, 3), "must be a `(min, max)` range"),
            ("alpha", [], "at least one choice"),
            ("alpha", [1, 1.0], "must be distinct"),
            ("radius", {"min_value": 0}, "`max_value`"),
            (
                "radius",
                {"min_value": 0, "max_value": 9, "sampling": "log"},
                "must have `min_value > 0`",
            ),
            (
                "alpha",
                {"min_value": 1, "max_value": 9, "sampling": "cubic"},
                "Received: sampling='cubic'",
            ),
            (
                "radius",
                {"min_value": 0, "max_value": 9, "step": 0.5},
                "Received: step=0.5",
            ),
            (
                "alpha",
                {"min_value": 1, "max_value": 9, "default": 20},
                "`default` of `alpha` must lie in its range",
            ),
            ("hash", "sha256", "Received: hash='sha256'"),
            ("hash", [], "`hash` must be a hash name"),
            ("hash", ["uniform", "uniform"], "must be distinct"),
            ("momentum", 0.9, "Received: name='momentum'"),
        ],
    )
    def test_invalid(self, name, spec, message):
        with pytest.raises(ValueError) as info:
            space.parse(name, spec)
        assert message in str(info.value)

    def test_parse_text(self):
        assert space.parse_text("alpha", "1e-3:1e3") == space.parse(
            "alpha", (1e-3, 1e3)
        )
        assert space.parse_text("alpha", "0.5:2:linear").sampling == "linear"
        assert space.parse_text("radius", "0,5,50").values == (0, 5, 50)
        assert space.parse_text("sparsity", "0.5").values == (0.5,)
        assert space.parse_text("hash", "dirichlet, uniform").values == (
            "dirichlet",
            "uniform",
        )

    @pytest.mark.parametrize(
        "name, text, message",
        [
            ("radius", "a:b", "Received: radius='a:b'"),
            ("radius", "1.5", "Received: radius='1.5'"),
            ("alpha", "1:2:3:4", "`min:max[:sampling]`"),
            ("alpha", "", "must be a non-empty string"),
            ("alpha", "-1", "`alpha` must be a positive number"),
        ],
    )
    def test_parse_text_invalid(self, name, text, message):
        with pytest.raises(ValueError) as info:
            space.parse_text(name, text)
        assert message in str(info.value)

    def test_describe(self):
        assert space.describe(space.parse("alpha", (1e-3, 1e3))) == (
            "alpha in [0.001, 1000.0] (log, default 1.0)"
        )
        assert space.describe(space.parse("radius", [0, 5])) == (
            "radius in {0, 5} (default 0)"
        )
        assert space.describe(space.parse("sparsity", 0.5)) == (
            "sparsity = 0.5"
        )


class TestSearchSpace:
    def test_default_space(self):
        hp = ArbNetHyperModel().search_space()
        params = _by_name(hp)
        assert list(params) == [
            "hash",
            "alpha",
            "table_size",
            "sparsity",
            "learning_rate",
        ]
        assert type(params["hash"]).__name__ == "Fixed"
        assert params["hash"].value == "dirichlet"
        alpha = params["alpha"]
        assert type(alpha).__name__ == "Float"
        assert (alpha.min_value, alpha.max_value) == (1e-3, 1e3)
        assert alpha.sampling == "log"
        assert alpha.default == 1.0
        assert tuning.ALPHA_RANGE == (1e-3, 1e3)
        for name, value in (
            ("table_size", 1000),
            ("sparsity", 0.0),
            ("learning_rate", 0.1),
        ):
            assert type(params[name]).__name__ == "Fixed"
            assert params[name].value == value
        assert hp.values["alpha"] == 1.0

    def test_neighborhood_space(self):
        params = _by_name(ArbNetHyperModel(hash="neighborhood").search_space())
        assert "alpha" not in params
        radius = params["radius"]
        assert type(radius).__name__ == "Int"
        assert (radius.min_value, radius.max_value, radius.step) == (0, 500, 1)
        assert (radius.sampling, radius.default) == ("linear", 0)
        assert tuning.RADIUS_RANGE == (0, 500)

    def test_overridden_ranges(self):
        hypermodel = ArbNetHyperModel(
            hash="dirichlet",
            alpha=[0.01, 1.0, 100.0],
            table_size=(100, 4000),
            sparsity=(0.0, 0.9),
            learning_rate={"min_value": 0.01, "max_value": 0.5},
        )
        params = _by_name(hypermodel.search_space())
        assert params["alpha"].values == [0.01, 1.0, 100.0]
        table = params["table_size"]
        assert (table.min_value, table.max_value) == (100, 4000)
        assert (table.sampling, table.default) == ("log", 1000)
        assert params["sparsity"].sampling == "linear"
        assert params["learning_rate"].default == 0.1

    def test_several_hashes_make_conditional_parameters(self):
        hypermodel = ArbNetHyperModel(
            hash=["dirichlet", "neighborhood", "uniform"]
        )
        hp = hypermodel.search_space()
        params = _by_name(hp)
        assert params["hash"].values == ["dirichlet", "neighborhood", "uniform"]
        (alpha_condition,) = params["alpha"].conditions
        assert alpha_condition.name == "hash"
        assert alpha_condition.values == ["dirichlet"]
        (radius_condition,) = params["radius"].conditions
        assert radius_condition.values == ["neighborhood"]
        # With the default hash (dirichlet) only alpha is active.
        assert hp.is_active("alpha") and not hp.is_active("radius")
        assert hypermodel.describe()[1].endswith("when hash = 'dirichlet'")

    def test_tuner_hyperparameters_take_precedence(self):
        hp = keras_tuner.HyperParameters()
        hp.Float("alpha", 0.5, 2.0)
        ArbNetHyperModel().declare_hyperparameters(hp)
        assert (hp.get("alpha"), _by_name(hp)["alpha"].max_value) == (0.5, 2.0)


class TestBuild:
    @pytest.mark.parametrize(
        "hash, values, expected",
        [
            ("dirichlet", {"alpha": 0.05}, hashing.Dirichlet(alpha=0.05)),
            ("neighborhood", {"radius": 7}, hashing.Neighborhood(radius=7)),
            ("uniform", {}, hashing.Uniform()),
            ("modulus", {}, hashing.Modulus()),
        ],
    )
    def test_trial_values_reach_the_model(self, hash, values, expected):
        hypermodel = ArbNetHyperModel(
            16,
            3,
            hidden_units=(8,),
            hash=["dirichlet", "neighborhood", "uniform", "modulus"],
            table_size=(10, 100),
            sparsity=(0.0, 0.5),
            learning_rate=(0.01, 1.0),
        )
        hp = hypermodel.search_space()
        hp.values.update(
            {
                "hash": hash,
                "table_size": 37,
                "sparsity": 0.25,
                "learning_rate": 0.05,
                **values,
            }
        )
        model = hypermodel.build(hp)
        first = model.get_layer("hashed_1")
        assert first.hash.get_config() == expected.get_config()
        assert type(first.hash) is type(expected)
        assert first.table_variable.shape == (37,)
        assert first.sparsity == 0.25
        assert model.output_shape == (None, 3)
        assert float(model.optimizer.learning_rate) == pytest.approx(0.05)
        assert model.optimizer.momentum == 0.9

    def test_hash_set_by_hand_activates_its_parameter(self):
        hypermodel = ArbNetHyperModel(
            16,
            3,
            hidden_units=(8,),
            hash=["dirichlet", "neighborhood"],
            radius=(2, 9),
        )
        hp = hypermodel.search_space()
        hp.values["hash"] = "neighborhood"
        model = hypermodel.build(hp)
        # The radius was inactive, without a value: one is drawn.
        assert 2 <= model.get_layer("hashed_1").hash.radius <= 9

    def test_identity_builds_the_dense_baseline(self):
        hypermodel = ArbNetHyperModel(16, 3, hidden_units=(8,), hash="identity")
        model = hypermodel.build(hypermodel.search_space())
        assert model.name == "dense_mlp"

    def test_paper_networks_by_input_size(self):
        assert ArbNetHyperModel(784).hidden_units == (200, 200)
        assert ArbNetHyperModel(3072).hidden_units == (2000,) * 5
        assert ArbNetHyperModel(64, hidden_units=[]).hidden_units == ()

    def test_model_kwargs(self):
        hypermodel = ArbNetHyperModel(
            16,
            3,
            hidden_units=(8,),
            table_size=20,
            model_kwargs={"table_scope": "layer", "seed": 5},
        )
        model = hypermodel.build(hypermodel.search_space())
        layers = [model.get_layer(f"hashed_{i}") for i in (1, 2)]
        assert [layer.seed for layer in layers] == [5, 6]
        assert layers[0].table_variable is not layers[1].table_variable

    def test_fit_adds_the_paper_schedule(self):
        hypermodel = ArbNetHyperModel(4, 2, hidden_units=(), table_size=4)
        hp = hypermodel.search_space()
        model = hypermodel.build(hp)
        passed = {}
        original_fit = model.fit

        def fit(*args, **kwargs):
            passed.update(kwargs)
            return original_fit(*args, **kwargs)

        model.fit = fit
        own = keras.callbacks.History()
        x = np.ones((8, 4), "float32")
        y = np.tile([0, 1], 4).astype("int32")
        history = hypermodel.fit(
            hp, model, x, y, epochs=1, verbose=0, callbacks=[own]
        )
        assert history.history["accuracy"] == [0.5]
        first, scheduler = passed["callbacks"]
        assert first is own
        assert isinstance(scheduler, keras.callbacks.ReduceLROnPlateau)
        assert (scheduler.monitor, scheduler.patience) == ("accuracy", 4)
        assert scheduler.factor == pytest.approx(0.1)

    @pytest.mark.parametrize(
        "kwargs, message",
        [
            ({"input_dim": 0}, "`input_dim` must be a positive integer"),
            ({"num_classes": 1.5}, "Received: num_classes=1.5"),
            ({"hidden_units": "200"}, "`hidden_units` must be a sequence"),
            ({"hidden_units": [200, 0]}, "Received: hidden_units=[200, 0]"),
            ({"hash": "uniform", "alpha": 1.0}, "only used by the dirichlet"),
            ({"radius": (0, 9)}, "only used by the neighborhood hash"),
            ({"model_kwargs": {"hash": "modulus"}}, "`model_kwargs` may only"),
            ({"table_size": -1}, "Received: table_size=-1"),
            ({"sparsity": [0.5, 1.5]}, "Received: sparsity=[0.5, 1.5]"),
        ],
    )
    def test_invalid_arguments(self, kwargs, message):
        with pytest.raises(ValueError) as info:
            ArbNetHyperModel(**kwargs)
        assert message in str(info.value)


class TestMakeTuner:
    @pytest.mark.parametrize(
        "name, cls",
        [
            ("random", "RandomSearch"),
            ("bayesian", "BayesianOptimization"),
            ("hyperband", "Hyperband"),
        ],
    )
    def test_kinds(self, tmp_path, name, cls):
        tuner = tuning.make_tuner(
            name,
            ArbNetHyperModel(4, 2, hidden_units=(), table_size=4),
            objective="val_loss",
            directory=str(tmp_path),
            project_name="p",
        )
        assert type(tuner).__name__ == cls
        assert tuner.oracle.objective.name == "val_loss"
        assert tuner.oracle.objective.direction == "min"

    @pytest.mark.parametrize(
        "kwargs, message",
        [
            ({"tuner": "grid"}, "Received: tuner='grid'"),
            ({"max_trials": 0}, "`max_trials` must be a positive integer"),
            ({"max_epochs": 2.5}, "Received: max_epochs=2.5"),
            ({"objective": ""}, "`objective` must be the name"),
            ({"seed": 0}, "KerasTuner takes 0 for None"),
            ({"seed": 1.5}, "Received: seed=1.5"),
        ],
    )
    def test_invalid(self, tmp_path, kwargs, message):
        kwargs = {"tuner": "random", **kwargs}
        with pytest.raises(ValueError) as info:
            tuning.make_tuner(
                kwargs.pop("tuner"),
                ArbNetHyperModel(4, 2, hidden_units=(), table_size=4),
                directory=str(tmp_path),
                **kwargs,
            )
        assert message in str(info.value)


class TestFormatSummary:
    def test_best_trial_and_every_trial(self):
        summary = {
            "objective": {"name": "val_accuracy", "direction": "max"},
            "best": {
                "trial_id": "1",
                "score": 0.875,
                "hyperparameters": {"hash": "neighborhood", "radius": 3},
                "metrics": {"val_accuracy": 0.875},
            },
            "trials": [
                {
                    "trial_id": "0",
                    "status": "COMPLETED",
                    "score": 0.5,
                    "hyperparameters": {"hash": "dirichlet", "alpha": 0.25},
                },
                {
                    "trial_id": "1",
                    "status": "COMPLETED",
                    "score": 0.875,
                    "hyperparameters": {"hash": "neighborhood", "radius": 3},
                },
                {
                    "trial_id": "2",
                    "status": "FAILED",
                    "score": None,
                    "hyperparameters": {"hash": "neighborhood", "radius": 3},
                },
            ],
        }
        assert tuning.format_summary(summary) == [
            "Trials: 3 (2 completed, 1 failed)",
            "Best trial: 1 (val_accuracy = 0.875, maximized)",
            "Hyperparameters:",
            "  hash = neighborhood",
            "  radius = 3",
            "Metrics at the best epoch:",
            "  val_accuracy = 0.875",
            "All trials (hyperparameters that vary):",
            "     0 completed val_accuracy=0.5 hash=dirichlet alpha=0.25",
            "     1 completed val_accuracy=0.875 hash=neighborhood radius=3",
            "     2 failed    val_accuracy=None hash=neighborhood radius=3",
        ]

    def test_no_trial(self):
        summary = {
            "objective": {"name": "loss", "direction": "min"},
            "best": None,
            "trials": [],
        }
        assert tuning.format_summary(summary) == [
            "Trials: 0 (none)",
            "No trial completed.",
        ]
