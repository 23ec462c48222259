"""Quickstart: `HashedDense` as a drop-in `Dense` on 4,000 MNIST digits.

A 784-200-10 MLP whose 158,800 kernel weights live in two small hash
tables (2,000 and 200 entries, uniform hash), trained for a few epochs on
the offline `mnist_5k` data set. Runs on a CPU in well under a minute.

    python examples/quickstart.py
"""

import keras

from arbnet_keras import HashedDense
from arbnet_keras import datasets
from arbnet_keras import sharing_report

EPOCHS = 3


def main():
    keras.utils.set_random_seed(0)
    data = datasets.load("mnist_5k", batch_size=128)
    model = keras.Sequential(
        [
            keras.Input((data.input_dim,)),
            # 156,800 virtual weights share 2,000 entries (load factor 78).
            HashedDense(200, table_size=2000, seed=0, activation="elu"),
            HashedDense(data.num_classes, table_size=200, seed=1),
        ],
        name="quickstart",
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.1, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.summary()
    model.fit(data.train, epochs=EPOCHS, verbose=2)
    _, accuracy = model.evaluate(data.test, verbose=0)
    print(f"Test accuracy after {EPOCHS} epochs: {accuracy:.4f}")
    print(f"Parameters: {model.count_params()}")
    sharing_report(model)


if __name__ == "__main__":
    main()
