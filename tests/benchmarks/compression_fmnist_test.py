"""`benchmarks/compression_fmnist.py` and `benchmarks/tfmot_clustering.py`
without training: the shared recipe and data, the tfmot network, the
table of both scripts' results."""

import importlib
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
BENCHMARKS = REPO_ROOT / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

import compression_fmnist  # noqa: E402

from arbnet_keras import datasets  # noqa: E402
from arbnet_keras import models  # noqa: E402
from arbnet_keras.datasets import in_memory  # noqa: E402
from arbnet_keras.models.hashed_mlp import BN_EPSILON  # noqa: E402
from arbnet_keras.models.hashed_mlp import BN_MOMENTUM  # noqa: E402


@pytest.fixture
def tfmot_clustering(monkeypatch):
    # Its import sets TF_USE_LEGACY_KERAS; the fixture restores it.
    monkeypatch.setenv("TF_USE_LEGACY_KERAS", "0")
    return importlib.import_module("tfmot_clustering")


def test_tfmot_script_imports_neither_keras_nor_tensorflow():
    code = (
        "import sys; sys.path.insert(0, 'benchmarks'); "
        "import tfmot_clustering; "
        "print(sorted(m for m in ('keras', 'tensorflow', 'arbnet_keras') "
        "if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"


def test_tfmot_network_is_the_dense_mnist_mlp(tfmot_clustering):
    # Built with Keras 3 here, the layers must match `mnist_mlp`'s.
    ours = models.mnist_mlp(hash=None)
    theirs = tfmot_clustering.mlp(keras)

    def layout(model):
        return [
            (
                type(layer).__name__,
                layer.name,
                getattr(layer, "units", None),
                getattr(layer, "momentum", None),
                getattr(layer, "epsilon", None),
                layer.get_config().get("activation"),
            )
            for layer in model.layers
        ]

    assert layout(theirs) == layout(ours)
    assert theirs.count_params() == ours.count_params()
    assert tfmot_clustering.BN_MOMENTUM == BN_MOMENTUM
    assert tfmot_clustering.BN_EPSILON == BN_EPSILON


def test_fashion_mnist_is_the_library_loader():
    assert compression_fmnist.FASHION_MNIST_DIR == (
        in_memory.DEBIAN_FASHION_MNIST_DIR
    )
    if not os.path.isdir(compression_fmnist.FASHION_MNIST_DIR):
        pytest.skip("Debian's dataset-fashion-mnist is not installed.")
    (x_train, y_train), (x_test, y_test) = datasets.load_arrays(
        "fashion_mnist_debian"
    )
    (a_train, b_train), (a_test, b_test) = compression_fmnist.fashion_mnist(
        flatten=False
    )
    np.testing.assert_array_equal(a_test, x_test.astype("float32") / 255)
    np.testing.assert_array_equal(b_test, y_test)
    assert a_train.shape == (60000, 28, 28, 1)
    np.testing.assert_array_equal(b_train, y_train)
    (flat, _), _ = compression_fmnist.fashion_mnist()
    assert flat.shape == (60000, 784) and flat.max() == 1.0


def test_fraction():
    assert compression_fmnist._fraction("1/8") == 0.125
    assert compression_fmnist._fraction("0.25") == 0.25


def test_table_orders_groups_and_shows_tfmot_sizes():
    dense = {"kind": "dense", "accuracy": 0.87, "params": 10}
    rows = [
        {"kind": "scratch", "hash": "uniform", "compression": 0.125},
        {"kind": "tfmot", "hash": "tfmot16", "compression": 1e-4,
         "from_weights": True, "accuracy_before": 0.5,
         "tflite_bytes": 800, "tflite_gzip_bytes": 190},
        {"kind": "converted", "hash": "kmeans16", "compression": 1e-4,
         "from_weights": True, "tflite_bytes": 400,
         "tflite_gzip_bytes": 120},
        {"kind": "converted", "hash": "uniform", "compression": 1 / 32,
         "from_weights": False},
        {"kind": "converted", "hash": "uniform", "compression": 0.125,
         "from_weights": False},
        {"kind": "converted", "hash": "uniform", "compression": 0.125,
         "from_weights": True},
        dense,
        {"kind": "dense_tuned", "epochs": 7},
    ]  # fmt: skip
    rows = [{"accuracy": 0.8, "params": 5, "seed": 0, **r} for r in rows]
    lines = compression_fmnist.table(rows).splitlines()[2:]
    cells = [[c.strip() for c in line.split("|")[1:-1]] for line in lines]
    assert [c[:4] for c in cells] == [
        ["dense", "-", "-", "-"],
        ["dense_tuned", "-", "-", "-"],
        ["converted", "uniform", "1/8", "yes"],
        ["converted", "uniform", "1/8", "no"],
        ["converted", "uniform", "1/32", "no"],
        ["converted", "kmeans16", "1/10000", "yes"],
        ["tfmot", "tfmot16", "1/10000", "yes"],
        ["scratch", "uniform", "1/8", "-"],
    ]
    assert cells[6][-4:] == ["-", "-", "800", "190"]
    assert cells[5][-2:] == ["400", "120"]


def test_gzipped_bytes(tmp_path):
    path = tmp_path / "zeros"
    path.write_bytes(bytes(100_000))
    assert 0 < compression_fmnist.gzipped_bytes(path) < 1000
