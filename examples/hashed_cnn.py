"""A CNN ArbNet: convolutions and classifier share ONE hash table.

A small CNN (two `HashedConv2D` blocks of 16 and 32 3x3 filters, ReLU,
batch norm, max pooling, then a `HashedDense` classifier) whose 20,432
kernel weights, convolution filters and dense weights alike, all draw
from one network-wide `HashTable` of 2,000 entries (uniform hash):
identifiers run on from the first convolution to the classifier, so
filters and dense weights collide with each other. It is built by
`arbnet_keras.models.hashed_cnn`, trained with `model.fit` on the offline
`mnist_5k` data set (flattened images, reshaped to 28x28x1 inside the
model), and compared with the same CNN built from plain `Conv2D` and
`Dense` layers. Runs on a CPU in about a minute.

    python examples/hashed_cnn.py
"""

import math
import time

import keras

from arbnet_keras import datasets
from arbnet_keras import sharing_report
from arbnet_keras.models import hashed_cnn

EPOCHS = 8
FILTERS = [16, 32]
TABLE_SIZE = 2000


def train(model, data):
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    model.fit(data.train, epochs=EPOCHS, verbose=2)
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(data.test, verbose=0)
    return accuracy, seconds


def kernel_weights(model):
    """Trainable kernel weights, or the entries of the table replacing them."""
    return sum(
        math.prod(w.shape)
        for w in model.trainable_weights
        if w.name in ("kernel", "table")
    )


def main():
    data = datasets.load("mnist_5k", batch_size=64)
    results = {}
    for hash in ("uniform", None):
        keras.utils.set_random_seed(0)
        model = hashed_cnn(
            data.input_shape,
            FILTERS,
            data.num_classes,
            hash=hash,
            table_size=TABLE_SIZE,
            flat_input=True,
        )
        print(f"\n== {model.name} ==")
        if hash is not None:
            # Keras lists the shared table under every layer that uses it;
            # the total counts it once.
            model.summary()
        accuracy, seconds = train(model, data)
        results[model.name] = (
            model.count_params(),
            kernel_weights(model),
            accuracy,
            seconds,
        )
        if hash is not None:
            sharing_report(model)
    print()
    print(
        f"{'model':>10} {'params':>8} {'kernel':>8} {'test acc':>9} {'fit':>7}"
    )
    for name, (params, kernels, accuracy, seconds) in results.items():
        print(
            f"{name:>10} {params:>8} {kernels:>8} {accuracy:>9.4f} "
            f"{seconds:>6.1f}s"
        )


if __name__ == "__main__":
    main()
