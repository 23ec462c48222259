"""Errors raised by `arbnet_keras.datasets`."""


class DatasetUnavailableError(RuntimeError):
    """A data set is known but its data cannot be found or downloaded.

    Raised, for example, when a tensorflow-datasets name is asked for on a
    machine without internet access and nothing is prepared in `data_dir`,
    or when `"fashion_mnist_debian"` is asked for and the Debian package is
    not installed. The message says how to make the data available. No other
    data set is ever substituted silently.
    """
