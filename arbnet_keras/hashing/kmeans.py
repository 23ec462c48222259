"""K-means weight sharing (Deep Compression) as a hash function."""

import base64
import numbers

import keras
import numpy as np

from arbnet_keras.hashing.custom import _check_entries
from arbnet_keras.hashing.hash_function import HashFunction
from arbnet_keras.hashing.hash_function import validate_hash_arguments
from arbnet_keras.hashing.hash_function import validate_positive_int

INITS = ("linear", "quantile")

# Lloyd iterations of `kmeans_1d`; each costs O(num_clusters log n) once
# the weights are sorted, and the partition usually settles in tens.
MAX_ITERATIONS = 300


@keras.saving.register_keras_serializable(package="arbnet_keras")
class KMeans(HashFunction):
    """Shares the weights that fall in one k-means cluster.

    The weight sharing of Deep Compression (Han et al.) and of weight
    clustering, as an ArbNet hash: the entries are the `num_clusters`
    clusters of a trained weight tensor, so a table holding the centroids
    reproduces the clustered weight. The index comes from data, not from
    a seed: `fit(weights)` clusters a weight and returns a `KMeans` that
    holds its index, which is stored in the narrowest unsigned integer type
    that holds the clusters and saved in the config (and so with the
    model). An unfitted `KMeans` is a recipe for `arbnet_keras.convert`,
    which fits it to each converted layer's trained weight
    (`convert(model, hash=KMeans(16))`) and, with `from_weights=True`,
    sets the table to the centroids.

    The weights are scalars, so the clustering is 1-D Lloyd iterations on
    the sorted weights, each a binary search per cluster boundary:
    deterministic, with no random state.

    Args:
        num_clusters: Positive integer, the number of clusters: the table
            size this hash needs. `fit` uses fewer when the weight has
            fewer elements. Defaults to `16` (4 bits per weight).
        init: Where the centroids start: `"linear"` spaces them evenly
            between the smallest and the largest weight, which Deep
            Compression found to keep the large weights best; `"quantile"`
            puts them at equally spaced quantiles of the weights (every
            cluster starts non-empty). Defaults to `"linear"`.
        index: The fitted index, an integer array shaped like the weight
            (Keras' layout) with entries in `[0, num_clusters)`, or its
            config. Set by `fit`; leave `None`.

    Raises:
        ValueError: If `num_clusters` is not a positive integer, `init` is
            not one of the above, or `index` is not an integer array with
            entries in `[0, num_clusters)`.

    Example:

    >>> weights = np.array([[0.1, 0.12], [-0.5, -0.52]])
    >>> hash = KMeans(2).fit(weights)
    >>> hash.index(np.zeros((2, 2), "int64"), table_size=2)
    array([[1, 1],
           [0, 0]])

    Reference:
        - [Han et al., 2016](https://arxiv.org/abs/1510.00149), Deep
          Compression.
    """

    sets_table_size = True

    def __init__(self, num_clusters=16, init="linear", index=None):
        num_clusters = validate_positive_int("num_clusters", num_clusters)
        if init not in INITS:
            raise ValueError(
                "Invalid value for argument `init`. Expected one of "
                f"{INITS}. Received: init={init!r}"
            )
        self.num_clusters = num_clusters
        self.init = init
        self.index_array = None
        if index is not None:
            self.index_array = _decode_index(index, num_clusters)

    @property
    def fitted(self):
        """Whether the hash holds an index (from `fit` or a config)."""
        return self.index_array is not None

    def fit(self, weights):
        """Clusters a weight tensor; returns the `KMeans` holding its index.

        Args:
            weights: Array of any shape (a layer's weight in Keras'
                layout) of finite numbers.

        Returns:
            A new `KMeans` whose index maps each weight to its cluster; its
            `num_clusters` is at most the number of weights.

        Raises:
            ValueError: If `weights` is empty or not finite.
        """
        weights = np.asarray(weights, dtype=np.float64)
        if weights.size == 0 or not np.isfinite(weights).all():
            raise ValueError(
                "`weights` must be a non-empty array of finite numbers. "
                f"Received: weights of shape {weights.shape}"
            )
        num_clusters = min(self.num_clusters, weights.size)
        _, labels = kmeans_1d(weights, num_clusters, self.init)
        return KMeans(num_clusters, init=self.init, index=labels)

    def fit_shared(self, weights):
        """Clusters several weights together, for layers sharing a table.

        Args:
            weights: A list of arrays of finite numbers.

        Returns:
            A list of `KMeans`, one per array, holding that array's index
            into the clusters of all of them.

        Raises:
            ValueError: If `weights` is empty or holds no numbers, or a
                value is not finite.
        """
        arrays = [np.asarray(w, dtype=np.float64) for w in weights]
        fitted = self.fit(
            np.concatenate([a.reshape(-1) for a in arrays])
            if arrays
            else np.zeros(0)
        )
        ends = np.cumsum([a.size for a in arrays])[:-1]
        return [
            KMeans(
                fitted.num_clusters,
                init=self.init,
                index=part.reshape(array.shape),
            )
            for part, array in zip(np.split(fitted.index_array, ends), arrays)
        ]

    def __call__(self, ids, table_size, seed=0):
        raise ValueError(
            "A `KMeans` hash maps whole weights only (its index comes from "
            "a fitted weight); use it through a hashed layer or "
            "`arbnet_keras.convert`."
        )

    def index(self, ids, table_size, seed=0):
        if not self.fitted:
            raise ValueError(
                "This `KMeans` hash is not fitted: its index comes from "
                "trained weights. Use `KMeans(k).fit(weights)` or "
                "`arbnet_keras.convert(model, hash=KMeans(k))`."
            )
        table_size, seed = validate_hash_arguments(table_size, seed)
        ids = np.asarray(ids, dtype=np.int64)
        entries = self.index_array.astype(np.int64)
        _check_entries("index", entries, ids.shape, table_size)
        return np.where(ids < 0, -1, entries)

    def required_table_size(self, kernel_shape, num_ids):
        return self.num_clusters

    def get_config(self):
        config = {"num_clusters": self.num_clusters, "init": self.init}
        if self.fitted:
            array = self.index_array
            config["index"] = {
                "shape": list(array.shape),
                "dtype": str(array.dtype),
                "data": base64.b64encode(array.tobytes()).decode("ascii"),
            }
        return config

    def __repr__(self):
        index = ""
        if self.fitted:
            index = f", index=<shape {self.index_array.shape}>"
        return (
            f"KMeans(num_clusters={self.num_clusters}, "
            f"init={self.init!r}{index})"
        )


def index_dtype(num_clusters):
    """The narrowest unsigned integer type holding `[0, num_clusters)`."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if num_clusters <= np.iinfo(dtype).max + 1:
            return np.dtype(dtype)
    return np.dtype(np.uint64)


def _decode_index(index, num_clusters):
    """`index` (array-like or its config) in the narrowest type, checked."""
    if isinstance(index, dict):
        try:
            data = base64.b64decode(index["data"], validate=True)
            array = np.frombuffer(data, dtype=np.dtype(index["dtype"]))
            array = array.reshape(index["shape"])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(
                "`index` must be an integer array or the config `KMeans` "
                f"writes ({{'shape', 'dtype', 'data'}}). Received: "
                f"index={str(index)[:80]!r} ({error})"
            ) from None
    else:
        try:
            array = np.asarray(index)
        except ValueError:  # Ragged rows.
            array = np.asarray([], dtype=object)
    if array.dtype.kind not in "iu" or (
        array.size and (array.min() < 0 or array.max() >= num_clusters)
    ):
        low = high = None
        if array.size and array.dtype.kind in "iuf":
            low, high = array.min(), array.max()
        raise ValueError(
            "`index` must be an integer array with entries in "
            f"[0, {num_clusters}) (`num_clusters`). Received: index of "
            f"dtype {array.dtype}, shape {array.shape}, entries in "
            f"[{low}, {high}]"
        )
    return array.astype(index_dtype(num_clusters))


def kmeans_1d(values, num_clusters, init="linear"):
    """Lloyd's k-means of scalars, on the sorted values.

    For scalars every cluster of a Lloyd partition is an interval of the
    sorted values, between the midpoints of consecutive centroids, so an
    iteration is a binary search per boundary and a difference of prefix
    sums per cluster. Clusters that lose all their values keep their
    centroid (they stay empty, as in Deep Compression's linear init).

    Args:
        values: Array of finite numbers, any shape.
        num_clusters: Positive integer, at most `values.size`.
        init: `"linear"` or `"quantile"`, see `KMeans`.

    Returns:
        `(centroids, labels)`: float64 centroids in increasing order, and
        an int64 array shaped like `values` with each value's cluster.
    """
    values = np.asarray(values, dtype=np.float64)
    flat = np.sort(values.reshape(-1))
    if not isinstance(num_clusters, numbers.Integral) or not (
        0 < num_clusters <= flat.size
    ):
        raise ValueError(
            "`num_clusters` must be a positive integer at most the number "
            f"of values ({flat.size}). Received: num_clusters={num_clusters}"
        )
    if init == "linear":
        centroids = np.linspace(flat[0], flat[-1], num_clusters)
    else:
        centroids = np.quantile(
            flat, (np.arange(num_clusters) + 0.5) / num_clusters
        )
    prefix = np.concatenate([[0.0], np.cumsum(flat)])
    cuts = None
    for _ in range(MAX_ITERATIONS):
        new_cuts = np.searchsorted(flat, _midpoints(centroids), side="right")
        if cuts is not None and np.array_equal(new_cuts, cuts):
            break
        cuts = new_cuts
        starts = np.concatenate([[0], cuts])
        ends = np.concatenate([cuts, [flat.size]])
        counts = ends - starts
        sums = prefix[ends] - prefix[starts]
        centroids = np.where(
            counts > 0, sums / np.maximum(counts, 1), centroids
        )
    labels = np.searchsorted(
        _midpoints(centroids), values.reshape(-1), side="left"
    )
    return centroids, labels.reshape(values.shape).astype(np.int64)


def _midpoints(centroids):
    return (centroids[:-1] + centroids[1:]) / 2
