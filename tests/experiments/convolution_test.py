"""Tests of the convolution sweep (`arbnet sweep convolution`)."""

import pytest

from arbnet_keras import cli
from arbnet_keras.cli import sweep as sweep_cli
from arbnet_keras.experiments import read_results
from arbnet_keras.experiments import run_key
from arbnet_keras.experiments import run_sweep
from arbnet_keras.experiments.claims import claim_report
from arbnet_keras.experiments.config import RUN_FIELDS
from arbnet_keras.experiments.convolution import ConvolutionSpec
from arbnet_keras.experiments.convolution import image_shape
from arbnet_keras.experiments.convolution import results_table
from arbnet_keras.experiments.expansion import spec_from_dict
from arbnet_keras.experiments.results import read_spec

TINY = dict(
    noise=[0, 1],
    alpha=[0.1],
    filters=2,
    kernel_size=3,
    strides=2,
    epochs=1,
    batch_size=256,
    dataset="digits",
)


def test_runs_are_baselines_then_noise_then_alpha_seed_first():
    spec = ConvolutionSpec(
        noise=[0, 0.5],
        alpha=[1],
        seeds=2,
        input_shape=(28, 28, 1),
        num_classes=10,
    )
    runs = spec.runs()
    assert [
        (r["seed"], r["model"], r["hash_param"], r["hash_value"]) for r in runs
    ] == [
        (s, m, p, v)
        for s in (0, 1)
        for m, p, v in (
            ("conv2d_cnn", None, None),
            ("uniform_cnn", None, None),
            ("hashed_mlp", None, None),
            ("toeplitz_cnn", "noise", 0.0),
            ("toeplitz_cnn", "noise", 0.5),
            ("toeplitz_cnn", "alpha", 1.0),
        )
    ]
    for run in runs:
        assert set(RUN_FIELDS) < set(run)
    assert len({run_key(r) for r in runs}) == len(runs)
    # The dense baseline has the parameter count of the convolutional net.
    assert spec.dense_width() == 20
    assert {r["table_size"] for r in runs if r["hash"] != "identity"} == {200}


def test_architecture_is_part_of_the_key():
    a = ConvolutionSpec(input_shape=(28, 28, 1), num_classes=10).runs()[3]
    b = ConvolutionSpec(
        filters=4, input_shape=(28, 28, 1), num_classes=10
    ).runs()[3]
    assert a["hash_value"] == b["hash_value"]
    assert run_key(a) != run_key(b)


def test_image_shape():
    assert image_shape(784) == (28, 28, 1)
    assert image_shape(3072) == (32, 32, 3)
    assert image_shape(100) == (10, 10, 1)
    assert image_shape(10) is None


def test_round_trip_and_kind():
    spec = ConvolutionSpec(**TINY, input_shape=(8, 8, 1), num_classes=10)
    config = spec.to_dict()
    assert config["kind"] == "convolution"
    assert spec_from_dict(config) == spec
    assert "convolution sweep" in spec.describe()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"noise": [1.5]}, "`noise` values must lie in"),
        ({"alpha": [0]}, "`alpha` must be a positive"),
        (
            {"noise": [], "alpha": [], "baseline": False},
            "needs some runs",
        ),
        ({"filters": 0}, "`filters` must be a positive integer"),
        ({"merge": [0]}, "`merge` must be a positive integer"),
        ({"input_shape": (28, 28)}, "`input_shape` must be"),
        ({"epochs": 0}, "`epochs` must be a positive integer"),
        ({"dataset": "nope"}, "Invalid value for argument `dataset`"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ConvolutionSpec(**kwargs)


def test_merge_series_comes_last_and_fits_the_table():
    spec = ConvolutionSpec(
        noise=[0], alpha=[1], merge=[10, 100], baseline=False
    ).resolve(784, 10)
    assert [(r["hash_param"], r["hash_value"]) for r in spec.runs()] == [
        ("noise", 0.0),
        ("alpha", 1.0),
        ("merge", 10),
        ("merge", 100),
    ]
    with pytest.raises(ValueError, match="`merge` values must be at most"):
        ConvolutionSpec(merge=[201]).resolve(784, 10)


def test_run_key_is_pinned():
    """Recorded sweeps resume only if the keys of their runs never change.

    The key of the first noise run of docs/results/mnist5k_convolution.
    """
    spec = ConvolutionSpec(
        epochs=40, seeds=3, input_shape=(28, 28, 1), num_classes=10
    )
    run = spec.runs()[3]
    assert (run["hash_param"], run["hash_value"]) == ("noise", 0.0)
    assert run_key(run) == "25cc1e28b027da13"


def test_explicit_shape_must_fit_the_data():
    with pytest.raises(ValueError, match="has 784 values, but"):
        ConvolutionSpec(input_shape=(28, 28, 1)).resolve(64, 10)


def test_specs_without_merge_still_load():
    """A `sweep.json` written before `merge` existed reads as no merge."""
    spec = ConvolutionSpec(**TINY, input_shape=(8, 8, 1), num_classes=10)
    config = spec.to_dict()
    del config["merge"]
    assert spec_from_dict(config) == spec


def test_unresolved_and_non_square():
    with pytest.raises(ValueError, match="`input_shape` and `num_classes`"):
        ConvolutionSpec().runs()
    with pytest.raises(ValueError, match="needs square images"):
        ConvolutionSpec().resolve(10, 2)


def test_tiny_sweep_resumes_tabulates_and_is_judged(tmp_path):
    spec = ConvolutionSpec(**TINY)
    lines = []
    records = run_sweep(spec, tmp_path, quiet=True, print_fn=lines.append)
    assert [(r["model"], r["hash_value"]) for r in records] == [
        ("conv2d_cnn", None),
        ("uniform_cnn", None),
        ("hashed_mlp", None),
        ("toeplitz_cnn", 0.0),
        ("toeplitz_cnn", 1.0),
        ("toeplitz_cnn", 0.1),
    ]
    convs = [r for r in records if r["model"] != "hashed_mlp"]
    assert len({r["num_params"] for r in convs}) == 1
    assert all(r["architecture"]["input_shape"] == [8, 8, 1] for r in records)
    saved = read_spec(tmp_path)
    assert saved["kind"] == "convolution"
    assert saved["input_shape"] == [8, 8, 1]
    again = run_sweep(spec, tmp_path, quiet=True, print_fn=lines.append)
    assert [r["key"] for r in again] == [r["key"] for r in records]
    assert len(read_results(tmp_path)) == 6
    table = results_table(records, spec_from_dict(saved))
    assert "| Toeplitz, noise = 1 |" in table
    assert "| Conv2D (reference) |" in table
    claims = claim_report(convolution_records=records)
    assert [c["claim"] for c in claims] == [
        "convolution: accuracy falls with noise p (determinism)",
        "convolution: accuracy rises with alpha (balance, entries used)",
    ]
    # One alpha value: the second claim cannot be decided.
    assert claims[1]["supported"] is None


def test_command_line(tmp_path, capsys):
    out = tmp_path / "run"
    args = [
        "sweep",
        "convolution",
        "--noise",
        "0.5",
        "--alpha",
        "--no-baseline",
        "--filters",
        "2",
        "--kernel-size",
        "3",
        "--dataset",
        "digits",
        "--epochs",
        "1",
        "--batch-size",
        "256",
        "--out",
        str(out),
        "--quiet",
        "--plot",
    ]
    spec = sweep_cli.spec_from_args(cli.build_parser().parse_args(args))
    assert spec == ConvolutionSpec(
        noise=[0.5],
        alpha=[],
        baseline=False,
        filters=2,
        kernel_size=3,
        dataset="digits",
        epochs=1,
        batch_size=256,
    )
    assert cli.main(args) == 0
    assert (out / "convolution_accuracy.png").exists()
    assert cli.main(["claims", str(out)]) == 0
    assert "accuracy falls with noise p" in capsys.readouterr().out


def test_command_line_error_is_one_line(capsys):
    assert cli.main(["sweep", "convolution", "--noise", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "`noise` values must lie in [0, 1]" in err[0]
