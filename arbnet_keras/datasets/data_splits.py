"""The train and test pipelines of a data set, with what describes them."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class DataSplits:
    """Batched train and test pipelines of one data set, as `load` returns.

    Args:
        train: `(x, y)` batches of the training split: `x` is float32 of
            shape `(batch, input_dim)`, `y` int32 of shape `(batch,)`.
            Reshuffled every epoch from a fixed seed. A `tf.data.Dataset`
            on the TensorFlow backend, an `ArrayBatches` (a
            `keras.utils.PyDataset`) on the others.
        test: `(x, y)` batches of the test split, in a fixed order, of the
            same type as `train`.
        input_dim: Number of features of one flattened example (`D`).
        input_shape: Shape of one example before flattening, for example
            `(28, 28, 1)`.
        num_classes: Number of classes; labels are in `[0, num_classes)`.
        num_train: Number of training examples.
        num_test: Number of test examples.
        name: The name the data set was loaded by.

    Example:

    >>> data = load("mnist_5k", batch_size=32)
    >>> data.input_dim, data.num_train, data.num_test
    (784, 4000, 1000)
    >>> model.fit(data.train, validation_data=data.test, epochs=1)
    """

    train: object
    test: object
    input_dim: int
    input_shape: tuple
    num_classes: int
    num_train: int
    num_test: int
    name: str
