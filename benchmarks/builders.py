"""Models, compile recipes and data of the benchmark suite."""

import inspect

import keras
import numpy as np

from arbnet_keras import hashing
from arbnet_keras.layers import HashedDense
from benchmarks import config


def make_hash(name):
    """The hash function of a benchmark hash name (see `config.HASHES`)."""
    factories = {
        "identity": hashing.Identity,
        "modulus": hashing.Modulus,
        "uniform": hashing.Uniform,
        "dirichlet": lambda: hashing.Dirichlet(alpha=1.0),
        "neighborhood": lambda: hashing.Neighborhood(radius=10),
        "hashed_nets": hashing.HashedNets,
    }
    if name not in factories:
        raise ValueError(
            "Invalid value for argument `hash`. Expected one of "
            f"{tuple(factories)}. Received: hash={name!r}"
        )
    return factories[name]()


def table_kwargs(hash_name, table):
    """`HashedDense` size arguments of a table spec (`config.TABLES`)."""
    if hash_name == "identity" or table == "full":
        return {}
    if "/" in table:
        numerator, denominator = table.split("/")
        return {"compression": int(numerator) / int(denominator)}
    return {"table_size": int(table)}


def table_entries(hash_name, table, num_weights):
    """Number of entries of a layer's own table."""
    kwargs = table_kwargs(hash_name, table)
    if "table_size" in kwargs:
        return kwargs["table_size"]
    if "compression" in kwargs:
        return max(1, int(round(kwargs["compression"] * num_weights)))
    return num_weights


def hashed_dense_arguments():
    """The names of the constructor arguments of `HashedDense`."""
    return set(inspect.signature(HashedDense.__init__).parameters) - {
        "self",
        "kwargs",
    }


def layer_model(input_dim, units, hash_name=None, table="1/10", **kwargs):
    """`Input -> HashedDense` (or `Dense` if `hash_name` is None) model.

    `kwargs` are extra `HashedDense` arguments (such as `kernel_mode`).
    """
    inputs = keras.Input((input_dim,), name="features")
    if hash_name is None:
        layer = keras.layers.Dense(units, name="dense")
    else:
        layer = HashedDense(
            units,
            hash=make_hash(hash_name),
            seed=0,
            name="hashed",
            **table_kwargs(hash_name, table),
            **kwargs,
        )
    name = "dense_layer" if hash_name is None else "hashed_layer"
    return keras.Model(inputs, layer(inputs), name=name)


def network_model(name, hash_name="uniform", table_size=1000, **kwargs):
    """One of `config.NETWORKS`, hashed, or dense if `hash_name` is None.

    The paper's networks come from `arbnet_keras.models` (one table of
    `table_size` entries shared by all layers). `kwargs` are extra
    `HashedDense` arguments, set in the layers' configs when
    `hashed_mlp` does not take them.
    """
    from arbnet_keras import models

    input_dim, hidden_units, num_classes, _ = config.NETWORKS[name]
    model_kwargs = {"seed": 0}
    if hash_name is None:
        model_kwargs["hash"] = None
    else:
        model_kwargs["hash"] = make_hash(hash_name)
        model_kwargs["table_size"] = table_size
    factory = getattr(models, name, None)
    if factory is not None:
        model = factory(**model_kwargs)
    else:
        model = models.hashed_mlp(
            input_dim,
            list(hidden_units),
            num_classes,
            name=name,
            **model_kwargs,
        )
    if kwargs and hash_name is not None:
        model = _with_layer_kwargs(model, kwargs)
    return model


def _with_layer_kwargs(model, kwargs):
    """A fresh copy of `model` whose `HashedDense` layers get `kwargs`.

    Layers that shared a `HashTable` share one new table in the copy.
    """
    from arbnet_keras.layers import HashTable

    tables = {}

    def clone(layer):
        config = layer.get_config()
        if isinstance(layer, HashedDense):
            config.update(kwargs)
            table = layer.table
            if table is not None:
                if id(table) not in tables:
                    tables[id(table)] = HashTable.from_config(
                        table.get_config()
                    )
                config["table"] = tables[id(table)]
        return layer.__class__.from_config(config)

    return keras.models.clone_model(model, clone_function=clone)


def compile_sgd(model, jit_compile, learning_rate=0.01):
    """SGD with momentum 0.9 and the cross-entropy of logits."""
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile,
    )


def compile_network(model, jit_compile, recipe="paper"):
    """The paper's recipe (`compile_paper`), or plain SGD with momentum."""
    if recipe == "paper":
        from arbnet_keras import training

        training.compile_paper(model, jit_compile=jit_compile)
    else:
        compile_sgd(model, jit_compile, learning_rate=0.1)


def batches(input_dim, num_classes, batch_size, num_batches=4, seed=0):
    """Random in-memory batches `(x, y)` as arrays of shape `(n, b, ...)`."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((num_batches, batch_size, input_dim))
    y = rng.integers(0, num_classes, (num_batches, batch_size))
    return x.astype("float32"), y.astype("int32")


class CycledBatches(keras.utils.PyDataset):
    """In-memory batches, cycled endlessly or read once.

    The data of the JAX and PyTorch backends, which have no `tf.data`:
    each item is a ready batch, so a step costs no more than slicing.

    Args:
        x: Array of shape `(num_batches, batch_size, ...)`.
        y: Array of shape `(num_batches, batch_size)`, or `None` (inputs
            only, for `predict`).
        endless: Whether the batches repeat forever (training) or are
            read once (prediction).
    """

    def __init__(self, x, y=None, endless=True):
        super().__init__()
        self.x, self.y, self.endless = x, y, endless

    def __len__(self):
        return len(self.x)

    @property
    def num_batches(self):
        return None if self.endless else len(self.x)

    def __getitem__(self, index):
        index %= len(self.x)
        if self.y is None:
            return (self.x[index],)
        return self.x[index], self.y[index]


class Arrays:
    """NumPy training arrays, fitted with `fit(x, y, batch_size=...)`."""

    def __init__(self, x, y, batch_size):
        self.x, self.y, self.batch_size = x, y, batch_size


INPUTS = ("tf.data", "numpy")


def train_data(
    inputs, input_dim, num_classes, batch_size, steps, num_batches=4, seed=0
):
    """Training data of one of the `INPUTS` kinds, for `timing.fit_runner`.

    `"tf.data"`: `train_dataset` (`CycledBatches` off TensorFlow).
    `"numpy"`: `Arrays` of `steps` random batches, which `fit` shuffles
    and batches itself, as it does for users.
    """
    if inputs == "tf.data":
        return train_dataset(
            input_dim, num_classes, batch_size, num_batches, seed
        )
    if inputs != "numpy":
        raise ValueError(
            f"Invalid value for argument `inputs`. Expected one of {INPUTS}. "
            f"Received: inputs={inputs!r}"
        )
    x, y = batches(input_dim, num_classes, batch_size, steps, seed)
    return Arrays(
        x.reshape((-1, input_dim)), y.reshape((-1,)), batch_size=batch_size
    )


def train_dataset(input_dim, num_classes, batch_size, num_batches=4, seed=0):
    """Endless training data cycling over a few random batches.

    A `tf.data` dataset on TensorFlow, `CycledBatches` on the other
    backends.
    """
    x, y = batches(input_dim, num_classes, batch_size, num_batches, seed)
    if keras.backend.backend() != "tensorflow":
        return CycledBatches(x, y)
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((x, y)).repeat()


def predict_dataset(input_dim, batch_size, num_batches, seed=0):
    """`num_batches` random input batches, read once.

    A `tf.data` dataset on TensorFlow, `CycledBatches` on the other
    backends.
    """
    x, _ = batches(input_dim, 1, batch_size, num_batches, seed)
    if keras.backend.backend() != "tensorflow":
        return CycledBatches(x, endless=False)
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices(x)
