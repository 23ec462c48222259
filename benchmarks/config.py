"""Presets: what each benchmark section measures, and how long.

A preset maps each section name to its settings. `smoke` is the tiny run
of the test suite, `quick` a sanity run of a minute or two, `default` the
set we report (under 15 minutes on 2 cores), `full` every combination and
`backends` the two sections compared across Keras backends.
"""

import itertools

SECTIONS = (
    "train_step",
    "networks",
    "inference",
    "memory",
    "file_size",
    "index_build",
    "scaling",
)

HASHES = (
    "identity",
    "modulus",
    "uniform",
    "dirichlet",
    "neighborhood",
    "hashed_nets",
)

# Table sizes of a single layer: entries, or entries per virtual weight.
TABLES = ("1000", "1/10", "1/64")

# The networks of the paper (through `arbnet_keras.models`), and a tiny
# one of the same layout for the smoke test: `(input_dim, hidden_units,
# num_classes, num_train)`, `num_train` giving the epoch of the real set.
NETWORKS = {
    "mnist_mlp": (784, (200, 200), 10, 60000),
    "cifar10_mlp": (3072, (2000,) * 5, 10, 50000),
    "tiny_mlp": (32, (16, 16), 10, 1000),
}


def train_cases(shapes, hashes, tables, batches, xlas):
    """The cartesian product of train-step cases, as a list of dicts.

    The identity hash, whose table holds every weight, appears once per
    shape, batch size and XLA setting, with table `"full"`.
    """
    cases = []
    for shape, batch, xla in itertools.product(shapes, batches, xlas):
        for hash_name in hashes:
            for table in ("full",) if hash_name == "identity" else tables:
                cases.append(
                    {
                        "shape": tuple(shape),
                        "hash": hash_name,
                        "table": table,
                        "batch": batch,
                        "xla": xla,
                    }
                )
                if hash_name == "identity":
                    break
    return _unique(cases)


def _unique(cases):
    seen, unique = set(), []
    for case in cases:
        key = tuple(sorted(case.items()))
        if key not in seen:
            seen.add(key)
            unique.append(case)
    return unique


def _default_train_cases():
    return (
        train_cases([(2000, 2000)], HASHES, ["1/10"], [64, 256], [False, True])
        + train_cases(
            [(2000, 2000)],
            ["uniform", "modulus"],
            ["1000", "1/64"],
            [64, 256],
            [False, True],
        )
        + train_cases(
            [(784, 200)],
            ["identity", "uniform", "modulus"],
            TABLES,
            [64, 256],
            [False, True],
        )
    )


PRESETS = {
    "smoke": {
        "train_step": {
            "cases": train_cases(
                [(32, 16)], ["identity", "uniform"], ["1/10"], [8], [False]
            )
            + train_cases([(32, 16)], ["modulus"], ["1/10"], [8], [True]),
            "inputs": ["tf.data", "numpy"],
            "steps": 3,
            "repeats": 2,
        },
        "networks": {
            "networks": ["tiny_mlp"],
            "table_size": 100,
            "batch": 8,
            "steps": 3,
            "repeats": 2,
            "xla": [False],
            "recipe": "paper",
        },
        "inference": {
            "layers": [(32, 16)],
            "hashes": ["uniform"],
            "table": "1/10",
            "networks": ["tiny_mlp"],
            "table_size": 100,
            "batch": 8,
            "num_batches": 2,
            "repeats": 2,
            "xla": [False],
        },
        "memory": {
            "networks": ["tiny_mlp"],
            "table_size": 100,
            "batch": 8,
            "steps": 2,
            "repeats": 1,
        },
        "file_size": {"networks": ["tiny_mlp"], "table_size": 100},
        "index_build": {
            "networks": ["tiny_mlp"],
            "hashes": list(HASHES),
            "table_size": 100,
            "repeats": 1,
        },
        "scaling": {
            "sizes": [16, 32],
            "table": "1/64",
            "batch": 8,
            "steps": 3,
            "repeats": 2,
        },
    },
    "quick": {
        "train_step": {
            "cases": train_cases(
                [(2000, 2000)],
                ["identity", "uniform", "modulus"],
                ["1/10"],
                [64],
                [False, True],
            )
            + train_cases([(784, 200)], ["uniform"], ["1000"], [64], [False]),
            "steps": 6,
            "repeats": 3,
        },
        "networks": {
            "networks": ["mnist_mlp"],
            "table_size": 1000,
            "batch": 128,
            "steps": 30,
            "repeats": 3,
            "xla": [False],
            "recipe": "paper",
        },
        "inference": {
            "layers": [(2000, 2000)],
            "hashes": ["uniform"],
            "table": "1/10",
            "networks": ["mnist_mlp"],
            "table_size": 1000,
            "batch": 256,
            "num_batches": 4,
            "repeats": 3,
            "xla": [False],
        },
        "memory": {
            "networks": ["mnist_mlp"],
            "table_size": 1000,
            "batch": 128,
            "steps": 10,
            "repeats": 1,
        },
        "file_size": {"networks": ["mnist_mlp"], "table_size": 1000},
        "index_build": {
            "networks": ["mnist_mlp"],
            "hashes": list(HASHES),
            "table_size": 1000,
            "repeats": 1,
        },
        "scaling": {
            "sizes": [316, 1000, 3162],
            "table": "1/64",
            "batch": 64,
            "steps": 4,
            "repeats": 2,
        },
    },
    "default": {
        "train_step": {
            "cases": _default_train_cases(),
            "steps": 8,
            "repeats": 5,
        },
        "networks": {
            "networks": ["mnist_mlp", "cifar10_mlp"],
            "table_size": 1000,
            "batch": 128,
            "steps": 20,
            "repeats": 3,
            "xla": [False],
            "recipe": "paper",
        },
        "inference": {
            "layers": [(2000, 2000)],
            "hashes": ["uniform", "modulus"],
            "table": "1/10",
            "networks": ["mnist_mlp", "cifar10_mlp"],
            "table_size": 1000,
            "batch": 256,
            "num_batches": 8,
            "repeats": 3,
            "xla": [False, True],
        },
        "memory": {
            "networks": ["cifar10_mlp"],
            "table_size": 1000,
            "batch": 128,
            "steps": 10,
            "repeats": 3,
        },
        "file_size": {
            "networks": ["mnist_mlp", "cifar10_mlp"],
            "table_size": 1000,
        },
        "index_build": {
            "networks": ["cifar10_mlp"],
            "hashes": list(HASHES),
            "table_size": 1000,
            "repeats": 1,
        },
        "scaling": {
            "sizes": [316, 1000, 3162, 10000],
            "table": "1/64",
            "batch": 64,
            "steps": 3,
            "repeats": 2,
        },
    },
}

# Hashed against dense on each Keras backend (`run.py --backend NAME`),
# each compiled as `jit_compile="auto"` resolves there (what
# `compile_paper` gives users): TensorFlow on a CPU and PyTorch run
# without a compiler, JAX always under `jax.jit`. Only the sections of
# the per-backend table of docs/performance.md.
PRESETS["backends"] = {
    "train_step": {
        "cases": train_cases(
            [(2000, 2000)],
            ["uniform", "modulus"],
            ["1/10"],
            [64, 256],
            ["auto"],
        ),
        "steps": 8,
        "repeats": 5,
    },
    "networks": {
        **PRESETS["default"]["networks"],
        "xla": ["auto"],
        "repeats": 5,
    },
}

# Issue 12's matrix: every hash of the 2000x2000 layer and the paper's
# two networks, batch 64 and 256, XLA off and on, `fit` on `tf.data` and
# on NumPy arrays (Keras' default shuffling). Run it once per kernel mode:
# `--preset paths --kernel-mode auto gather`.
PRESETS["paths"] = {
    "train_step": {
        "cases": train_cases(
            [(2000, 2000)], HASHES, ["1/10"], [64, 256], [False, True]
        ),
        "inputs": ["tf.data", "numpy"],
        "steps": 8,
        "repeats": 5,
    },
    "networks": {
        **PRESETS["default"]["networks"],
        "batch": [64, 256],
        "xla": [False, True],
        "inputs": ["tf.data", "numpy"],
        "repeats": 5,
    },
}

PRESETS["full"] = {
    **PRESETS["default"],
    "train_step": {
        "cases": train_cases(
            [(784, 200), (2000, 2000)],
            HASHES,
            TABLES,
            [64, 256],
            [False, True],
        ),
        "steps": 10,
        "repeats": 5,
    },
    "networks": {
        **PRESETS["default"]["networks"],
        "steps": 50,
        "repeats": 5,
        "xla": [False, True],
    },
    "inference": {
        **PRESETS["default"]["inference"],
        "hashes": list(HASHES),
        "repeats": 5,
    },
    "memory": {**PRESETS["default"]["memory"], "networks": list(NETWORKS)[:2]},
    "index_build": {
        **PRESETS["default"]["index_build"],
        "networks": ["mnist_mlp", "cifar10_mlp"],
        "repeats": 3,
    },
    "scaling": {**PRESETS["default"]["scaling"], "steps": 5, "repeats": 3},
}
