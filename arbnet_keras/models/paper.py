"""The two networks of the ArbNets paper (section 5)."""

from arbnet_keras.models.hashed_mlp import hashed_mlp

MNIST_HIDDEN_UNITS = (200, 200)
CIFAR10_HIDDEN_UNITS = (2000, 2000, 2000, 2000, 2000)


def mnist_mlp(input_dim=784, num_classes=10, **kwargs):
    """The paper's MNIST ArbNet: `200-ELU-BN-200-ELU-BN-10-ELU-BN`.

    Args:
        input_dim: Number of input features. Defaults to `784`.
        num_classes: Number of classes. Defaults to `10`.
        **kwargs: Keyword arguments of `hashed_mlp` (`hash`, `table_size`,
            `sparsity`, `seed`...). By default one table of 1000 entries,
            uniform hash, shared by the three layers.

    Returns:
        A `keras.Sequential` model named `"mnist_mlp"` (unless `name` is
        given) that outputs logits.

    Example:

    >>> model = mnist_mlp(hash="dirichlet", sparsity=0.5)
    >>> [layer.units for layer in model.layers if hasattr(layer, "units")]
    [200, 200, 10]
    """
    kwargs.setdefault("name", "mnist_mlp")
    return hashed_mlp(input_dim, MNIST_HIDDEN_UNITS, num_classes, **kwargs)


def cifar10_mlp(input_dim=3072, num_classes=10, **kwargs):
    """The paper's CIFAR10 ArbNet: five `2000-ELU-BN` blocks, `10-ELU-BN`.

    Its kernels hold 22.1 million virtual weights; building their index
    takes a few seconds.

    Args:
        input_dim: Number of input features. Defaults to `3072`.
        num_classes: Number of classes. Defaults to `10`.
        **kwargs: Keyword arguments of `hashed_mlp`, see `mnist_mlp`.

    Returns:
        A `keras.Sequential` model named `"cifar10_mlp"` (unless `name` is
        given) that outputs logits.
    """
    kwargs.setdefault("name", "cifar10_mlp")
    return hashed_mlp(input_dim, CIFAR10_HIDDEN_UNITS, num_classes, **kwargs)
