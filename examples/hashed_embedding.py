"""`HashedEmbedding`: a million-token vocabulary in a small table.

SYNTHETIC DATA. No package installed here ships a text corpus offline
(scikit-learn's 20 newsgroups and Keras' IMDB are downloads), so this
example makes up a task with the shape of one: token ids are spread over
a vocabulary of 1,000,000 ids (as hashed words, user ids or n-grams are),
of which 50,000 occur; each occurring token has a hidden polarity, +1 or
-1, and a sequence of 9 tokens is labelled by the sign of the sum of its
polarities. A model must learn each token's polarity from the sequence
labels alone.

Every model is `embedding -> GlobalAveragePooling1D -> Dense(1)`, trained
with `model.fit` for a few epochs; they differ only in the embedding:

- `keras.layers.Embedding(1_000_000, 16)`: the reference, 16 million
  parameters.
- `keras.layers.Hashing(8192)` then `Embedding(8192, 16)`: Keras' own
  hashing trick, 131,072 parameters; whole token vectors collide.
- `HashedEmbedding(1_000_000, 16, hash="modulus", numbering="in_out",
  table_size=131_072)`: the same trick inside one layer. With `"in_out"`
  numbering a token's 16 weights are consecutive, so token `t` gets the
  16 entries of bucket `t mod 8192`; nothing but the table is stored.
- `HashedEmbedding(1_000_000, 16, hash="uniform", table_size=131_072,
  sign=True)`: HashedNets' per-weight hashing, each of a token's 16
  weights in its own random entry with a random sign, so tokens that
  collide in one weight rarely collide in the others. Same parameters;
  the layer stores an int32 index of the 16 million virtual weights
  (64 MB) built in about two seconds.

Lookups never materialize the 1,000,000 x 16 matrix. Runs on a CPU in a
few minutes.

    python examples/hashed_embedding.py
"""

import time

import keras
import numpy as np

from arbnet_keras import HashedEmbedding

VOCABULARY = 1_000_000
OCCURRING = 50_000
LENGTH = 9
DIM = 16
TABLE_SIZE = 8192 * DIM
NUM_TRAIN = 100_000
NUM_TEST = 10_000
EPOCHS = 3


def make_data(seed=0):
    """Sequences of token ids and their majority-polarity labels."""
    rng = np.random.default_rng(seed)
    tokens = rng.choice(VOCABULARY, size=OCCURRING, replace=False)
    polarity = rng.choice([-1, 1], size=OCCURRING)

    def split(size):
        which = rng.integers(0, OCCURRING, size=(size, LENGTH))
        labels = (polarity[which].sum(axis=1) > 0).astype("float32")
        return tokens[which].astype("int32"), labels

    return split(NUM_TRAIN), split(NUM_TEST)


def embeddings():
    yield "Embedding", [keras.layers.Embedding(VOCABULARY, DIM)]
    yield (
        "Hashing+Embedding",
        [
            keras.layers.Hashing(TABLE_SIZE // DIM),
            keras.layers.Embedding(TABLE_SIZE // DIM, DIM),
        ],
    )
    yield (
        "HashedEmbedding modulus",
        [
            HashedEmbedding(
                VOCABULARY,
                DIM,
                hash="modulus",
                numbering="in_out",
                table_size=TABLE_SIZE,
            )
        ],
    )
    yield (
        "HashedEmbedding uniform",
        [
            HashedEmbedding(
                VOCABULARY,
                DIM,
                hash="uniform",
                table_size=TABLE_SIZE,
                sign=True,
                seed=0,
            )
        ],
    )


def build(embedding_layers):
    return keras.Sequential(
        [keras.Input((LENGTH,), dtype="int32")]
        + embedding_layers
        + [keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1)]
    )


def main():
    (x_train, y_train), (x_test, y_test) = make_data()
    results = {}
    for name, layers in embeddings():
        keras.utils.set_random_seed(0)
        start = time.perf_counter()
        model = build(layers)
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=1e-2),
            loss=keras.losses.BinaryCrossentropy(from_logits=True),
            metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)],
        )
        print(f"\n== {name} ==")
        model.fit(x_train, y_train, batch_size=256, epochs=EPOCHS, verbose=2)
        _, accuracy = model.evaluate(x_test, y_test, verbose=0)
        seconds = time.perf_counter() - start
        results[name] = (model.count_params(), accuracy, seconds)
    print()
    print(f"{'embedding':>24} {'params':>10} {'test acc':>9} {'time':>7}")
    for name, (params, accuracy, seconds) in results.items():
        print(f"{name:>24} {params:>10} {accuracy:>9.4f} {seconds:>6.1f}s")


if __name__ == "__main__":
    main()
