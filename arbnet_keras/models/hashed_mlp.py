"""`hashed_mlp`: the ArbNet multi-layer perceptrons of the paper."""

import keras

from arbnet_keras import hashing
from arbnet_keras import metrics
from arbnet_keras.hashing.hash_function import validate_positive_int
from arbnet_keras.layers import HashedDense
from arbnet_keras.models.factory import TABLE_SCOPES  # noqa: F401
from arbnet_keras.models.factory import KernelLayer
from arbnet_keras.models.factory import hashed_layers
from arbnet_keras.models.factory import is_baseline
from arbnet_keras.models.factory import plain_layers
from arbnet_keras.models.factory import validate_positive_ints
from arbnet_keras.models.factory import validate_sparsity
from arbnet_keras.models.factory import validate_table_arguments
from arbnet_keras.models.factory import validate_table_scope
from arbnet_keras.seeds import resolve_seed

# PyTorch's `BatchNorm1d` defaults, which the authors most likely used
# (Keras' are momentum 0.99, epsilon 1e-3). A momentum of 0.9 also lets
# the moving statistics settle within an epoch of a small data set.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


def hashed_mlp(
    input_dim,
    hidden_units,
    num_classes,
    *,
    hash="uniform",
    table_size=1000,
    compression=None,
    sparsity=0.0,
    table_scope="network",
    seed=0,
    numbering="out_in",
    number_zeros=True,
    sign=False,
    activation="elu",
    batch_norm=True,
    output_activation="elu",
    name=None,
    layer_kwargs=None,
):
    """Builds an MLP ArbNet: `HashedDense -> activation -> BN` blocks.

    Each hidden layer is `HashedDense(units)` (named `hashed_i`, `i` from
    1), an `Activation` (`act_i`) and a `BatchNormalization` (`bn_i`); the
    output block is the same with `num_classes` units, so the model outputs
    the logits of the paper's `10-ELU-BN` head, to be fed to a softmax
    cross-entropy from logits. Biases and batch-norm parameters are
    ordinary, unshared weights; only the kernels are hashed.

    With `table_scope="network"`, as in the paper, all the layers share
    one `HashTable` (named `table`) of `table_size` entries: identifiers
    run on from one layer to the next, so weights collide across layers as
    well as within them. With `table_scope="layer"`, each layer has its own
    table of `table_size` entries (or `compression` times its weights);
    layer `i` (from 1) then hashes with seed `seed + i - 1`, so layers of
    the same shape do not share the same pattern.

    `hash=None` or the identity hash builds the unshared baseline of the
    same layout with `keras.layers.Dense` (named `dense_i`), ignoring the
    table arguments. With `sparsity > 0` the baseline's layers are instead
    `HashedDense` layers with the identity hash, i.e. sparse but unshared
    dense layers.

    Args:
        input_dim: Positive integer, the number of input features.
        hidden_units: Sequence of positive integers, the units of each
            hidden layer (possibly empty).
        num_classes: Positive integer, the number of logits.
        hash: Hash function, name or config, see `arbnet_keras.hashing`;
            `None` or `"identity"` for the dense baseline. Defaults to
            `"uniform"`.
        table_size: Number of entries of the network's table, or of each
            layer's table. Defaults to `1000`.
        compression: Table entries per virtual weight, in `(0, 1]`; when
            given it replaces `table_size`. With `table_scope="network"`
            the table gets `round(compression * N)` entries, `N` the total
            number of virtual weights of all the kernels (zeros included).
            Defaults to `None`.
        sparsity: Fraction of each kernel's weights fixed at zero, in
            `[0, 1)`. Defaults to `0.0`.
        table_scope: `"network"` (one table for all the layers) or
            `"layer"` (one table per layer). Defaults to `"network"`.
        seed: Non-negative integer seed of the hash and of the zeros;
            `None` draws one. Defaults to `0`.
        numbering: `"out_in"` or `"in_out"`, see `HashedDense`. Defaults
            to `"out_in"`.
        number_zeros: Whether weights fixed at zero consume identifiers,
            see `HashedDense`. Defaults to `True`.
        sign: Whether each weight gets a fixed random sign, as in
            HashedNets. Defaults to `False`.
        activation: Activation of the hidden layers, or `None`. Defaults
            to `"elu"`.
        batch_norm: Whether each layer is followed by batch normalization
            (momentum `BN_MOMENTUM`, epsilon `BN_EPSILON`). Defaults to
            `True`.
        output_activation: Activation of the output layer, applied before
            its batch normalization, or `None`. Defaults to `"elu"`.
        layer_kwargs: Dict of further `HashedDense` arguments for every
            hashed layer, such as `{"kernel_mode": "gather"}` or
            `{"inference_cache": True}`. Defaults to `None`.
        name: Name of the model. Defaults to `"hashed_mlp"`, or
            `"dense_mlp"` for the baseline.

    Returns:
        A built `keras.Sequential` model mapping `(batch, input_dim)` to
        `(batch, num_classes)` logits.

    Raises:
        ValueError: On an invalid argument.

    Example:

    >>> model = hashed_mlp(784, [200, 200], 10, hash="dirichlet")
    >>> model.output_shape
    (None, 10)
    >>> tuple(model.get_layer("hashed_1").table_variable.shape)
    (1000,)

    Reference:
        - [Chen et al., 2015](https://arxiv.org/abs/1504.04788), HashedNets.
        - Chang and Lipson, "Balanced and Deterministic Weight-sharing
          Helps Network Performance" (ArbNets), section 5.
    """
    input_dim = validate_positive_int("input_dim", input_dim)
    num_classes = validate_positive_int("num_classes", num_classes)
    hidden_units = validate_positive_ints("hidden_units", hidden_units)
    validate_table_scope(table_scope)
    sparsity = validate_sparsity(sparsity)
    seed = resolve_seed(seed)
    hash = None if hash is None else hashing.get(hash)
    units = hidden_units + [num_classes]
    if is_baseline(hash):
        kernels = plain_layers(_kernels(units), sparsity, seed)
        name = name or "dense_mlp"
    else:
        validate_table_arguments(table_size, compression)
        fan_ins = [input_dim] + units[:-1]
        kernels = hashed_layers(
            _kernels(units),
            lambda: sum(n * u for n, u in zip(fan_ins, units)),
            table_scope=table_scope,
            table_size=table_size,
            compression=compression,
            seed=seed,
            hash_kwargs={
                "hash": hash,
                "numbering": numbering,
                "number_zeros": number_zeros,
            },
            layer_kwargs={
                "sparsity": sparsity,
                "sign": sign,
                **(layer_kwargs or {}),
            },
        )
        name = name or "hashed_mlp"
    layers = [keras.Input((input_dim,), name="features")]
    for i, kernel in enumerate(kernels, start=1):
        layers.append(kernel)
        act = activation if i < len(kernels) else output_activation
        if act is not None:
            layers.append(keras.layers.Activation(act, name=f"act_{i}"))
        if batch_norm:
            layers.append(
                keras.layers.BatchNormalization(
                    momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"bn_{i}"
                )
            )
    return keras.Sequential(layers, name=name)


def table_entropy(model):
    """Shannon entropy, in nats, of a model's hash tables (eq. 7).

    For a model with one table (`table_scope="network"`) this is the
    entropy of that table's usage by all its layers; for several tables it
    is that of all the tables taken together, their entries being distinct
    buckets (`arbnet_keras.metrics.model_stats`). Weights fixed at zero are
    left out.

    Args:
        model: A built Keras model.

    Returns:
        A float, or NaN for a model without `HashedDense` layers (such as
        the dense baseline of `hashed_mlp`), which has no table.

    Example:

    >>> model = hashed_mlp(784, [200, 200], 10, hash="modulus")
    >>> round(table_entropy(model), 2)  # Perfectly balanced: ln(1000).
    6.91
    """
    if not metrics.hashed_layers(model):
        return float("nan")
    return float(metrics.model_stats(model)["entropy"])


def _kernels(units):
    return [
        KernelLayer(
            HashedDense,
            keras.layers.Dense,
            {"units": u},
            name=f"hashed_{i}",
            plain_name=f"dense_{i}",
        )
        for i, u in enumerate(units, start=1)
    ]
