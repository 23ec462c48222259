"""One hash table for the whole network, randomly or RNN-style.

Two 784-128-128-128-10 MLPs (ELU, batch norm) whose every kernel draws
from ONE `HashTable` of `n = 128 * 128` entries; identifiers run on from
one layer to the next. They differ only in the hash:

- `"uniform"`: each weight picks a random entry (HashedNets-like).
- `"modulus"`: `entry = id mod n`, with `n` the size of a hidden layer.
  As in section 2.3 of the ArbNets paper, the two 128x128 hidden layers
  then get exactly the same kernel: an unrolled recurrent layer. (Their
  biases stay separate, and the other layers wrap around the table.)

Both train for a few epochs on the offline `mnist_5k` data set with the
paper's recipe; the script prints each model's sharing report and test
accuracy.

    python examples/shared_table.py
"""

import keras
import numpy as np

from arbnet_keras import HashedDense
from arbnet_keras import HashTable
from arbnet_keras import datasets
from arbnet_keras import sharing_report
from arbnet_keras import training

EPOCHS = 3
HIDDEN = 128


def build(data, hash):
    table = HashTable(HIDDEN * HIDDEN, hash=hash, seed=0, name="table")
    layers = [keras.Input((data.input_dim,))]
    for i, units in enumerate([HIDDEN, HIDDEN, HIDDEN, data.num_classes]):
        layers += [
            HashedDense(units, table=table, name=f"hashed_{i + 1}"),
            keras.layers.Activation("elu"),
            keras.layers.BatchNormalization(),
        ]
    return keras.Sequential(layers, name=f"{hash}_table")


def main():
    data = datasets.load("mnist_5k", batch_size=training.DEFAULT_BATCH_SIZE)
    results = {}
    for hash in ("uniform", "modulus"):
        keras.utils.set_random_seed(0)
        model = build(data, hash)
        callbacks = training.compile_paper(model)
        model.fit(data.train, epochs=EPOCHS, callbacks=callbacks, verbose=0)
        _, accuracy = model.evaluate(data.test, verbose=0)
        results[hash] = accuracy
        print(f"\n== {model.name}: {model.count_params()} parameters ==")
        sharing_report(model)
        same = np.array_equal(
            model.get_layer("hashed_2").kernel,
            model.get_layer("hashed_3").kernel,
        )
        print(f"Hidden kernels 2 and 3 identical (RNN-like): {same}")
        print(f"Test accuracy after {EPOCHS} epochs: {accuracy:.4f}")
    print()
    for hash, accuracy in results.items():
        print(f"{hash:>8} table: test accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
