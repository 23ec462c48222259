"""Where a hashed training step's time goes, against `Dense` (TensorFlow).

Times, one at a time, the operations a training step of an `n x n` layer
is made of: the three matrix products every layer pays, `Dense`'s
momentum update of the `n * n` kernel, and what a hashed layer pays
instead: the gather of the kernel from the table (from a stored index,
or hashing each weight's identifier in the same XLA function), the table
gradient (TensorFlow's `bincount` with weights, XLA's scatter-add) and
the momentum update of the table. Each operation is a `tf.function` of
its own (the gathers and the scatter-add compiled with XLA, as the layer
runs them), timed over repeats after a warm-up; min and median are
reported. The last lines add them up: the step's cost above the matrix
products, hashed and dense, which is the floor of the ratio of their
steps on this machine, whatever the layer's code around them. The
products are timed as `Dense` runs them (`x @ kernel`); a layer whose
kernel comes in numbering order (`"out_in"`, in-step hashing) runs them
as `arbnet_keras.ops.matmul_transposed`, which cost up to about 12%
more at batch 64 in a side-by-side measurement of the two forms.

    python -m benchmarks.step_breakdown                      # 2000x2000
    python -m benchmarks.step_breakdown --n 2000 --table-fraction 0.1 \\
        --batch 64 256 --out docs/results/step_breakdown.json
"""

import argparse
import json
import pathlib
import statistics
import sys
import time

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent


def parse(argv):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.step_breakdown",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--table-fraction", type=float, default=0.1)
    parser.add_argument("--batch", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--out", type=pathlib.Path)
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"--n must be positive; received {args.n}")
    if not 0 < args.table_fraction <= 1:
        parser.error(
            f"--table-fraction must be in (0, 1]; received "
            f"{args.table_fraction}"
        )
    if args.repeats < 1 or min(args.batch) < 1:
        parser.error("--repeats and --batch must be positive")
    return args


def _time(fn, repeats):
    """Min and median seconds of `fn()`, after two warm-up calls."""
    for _ in range(2):
        _sync(fn())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        _sync(fn())
        times.append(time.perf_counter() - start)
    return {"min_s": min(times), "median_s": statistics.median(times)}


def _sync(result):
    # On a CPU TensorFlow runs synchronously; reading one value makes
    # sure the work is done before the clock stops.
    result.numpy().ravel()[:1]


def measure(n, table_fraction, batches, repeats, log=print):
    import numpy as np
    import tensorflow as tf

    from arbnet_keras import hashing

    rng = np.random.default_rng(0)
    size = n * n
    table_size = max(1, round(table_fraction * size))
    ops = {}
    table = tf.Variable(rng.standard_normal(table_size).astype("float32"))
    index = tf.constant(
        hashing.Uniform()(np.arange(size), table_size, 0)
        .reshape(n, n)
        .astype("int32")
    )
    upstream = tf.constant(rng.standard_normal((n, n)).astype("float32"))
    kernel = tf.Variable(upstream)
    momentum = tf.Variable(tf.zeros_like(upstream))
    table_momentum = tf.Variable(tf.zeros_like(table))
    table_gradient = tf.constant(
        rng.standard_normal(table_size).astype("float32")
    )
    uniform = hashing.Uniform()

    def hashed_entries():
        ids = tf.range(size, dtype=tf.int32)
        return uniform.graph_entries(ids, table_size, 0)

    def sgd(variable, slot, gradient):
        # Keras' SGD with momentum 0.9: m = 0.9 m - lr g; w += m.
        slot.assign(0.9 * slot - 0.01 * gradient)
        return variable.assign_add(slot)

    flat_upstream = tf.reshape(upstream, [-1])
    flat_index = tf.reshape(index, [-1])
    common = {
        "dense_momentum_update": tf.function(
            lambda: sgd(kernel, momentum, upstream)
        ),
        "gather_stored_index_xla": tf.function(
            lambda: tf.gather(table, index), jit_compile=True
        ),
        "gather_hashed_xla": tf.function(
            lambda: tf.gather(table, hashed_entries()), jit_compile=True
        ),
        "table_gradient_bincount": tf.function(
            lambda: tf.math.bincount(
                flat_index,
                weights=flat_upstream,
                minlength=table_size,
                maxlength=table_size,
            )
        ),
        "table_gradient_scatter_xla": tf.function(
            lambda: tf.math.unsorted_segment_sum(
                flat_upstream, flat_index, table_size
            ),
            jit_compile=True,
        ),
        "table_gradient_hashed_scatter_xla": tf.function(
            lambda: tf.math.unsorted_segment_sum(
                flat_upstream, hashed_entries(), table_size
            ),
            jit_compile=True,
        ),
        "table_momentum_update": tf.function(
            lambda: sgd(table, table_momentum, table_gradient)
        ),
    }
    for name, fn in common.items():
        ops[name] = _time(fn, repeats)
        log(f"{name}: {_ms(ops[name])}")
    per_batch = {}
    for batch in batches:
        x = tf.constant(rng.standard_normal((batch, n)).astype("float32"))
        dy = tf.constant(rng.standard_normal((batch, n)).astype("float32"))
        timed = {
            "forward_matmul": tf.function(lambda x=x: tf.matmul(x, kernel)),
            "kernel_gradient_matmul": tf.function(
                lambda x=x, dy=dy: tf.matmul(x, dy, transpose_a=True)
            ),
            "input_gradient_matmul": tf.function(
                lambda dy=dy: tf.matmul(dy, kernel, transpose_b=True)
            ),
        }
        per_batch[batch] = {}
        for name, fn in timed.items():
            per_batch[batch][name] = _time(fn, repeats)
            log(f"batch {batch} {name}: {_ms(per_batch[batch][name])}")
    return {
        "n": n,
        "table_size": table_size,
        "operations": ops,
        "matmuls": {str(b): v for b, v in per_batch.items()},
        "sums": _sums(ops, {str(b): v for b, v in per_batch.items()}),
    }


def _sums(ops, per_batch):
    """Medians added up: each layer's cost above the matrix products.

    For a first layer (Keras computes no gradient for the model's
    inputs: two products) and a hidden layer (three), per batch size.
    """

    def med(name):
        return ops[name]["median_s"]

    dense_extra = med("dense_momentum_update")
    extras = {
        "stored_index": med("gather_stored_index_xla")
        + med("table_gradient_bincount")
        + med("table_momentum_update"),
        "hashed_in_step": med("gather_hashed_xla")
        + med("table_gradient_hashed_scatter_xla")
        + med("table_momentum_update"),
    }
    sums = {}
    for batch, matmuls in per_batch.items():
        for layer, names in LAYER_PRODUCTS.items():
            products = sum(matmuls[name]["median_s"] for name in names)
            dense = products + dense_extra
            row = {"matmuls_s": products, "dense_s": dense}
            for kind, extra in extras.items():
                row[f"{kind}_s"] = products + extra
                row[f"{kind}_ratio"] = (products + extra) / dense
            sums[f"{batch} {layer}"] = row
    return sums


# The matrix products of a layer's step.
LAYER_PRODUCTS = {
    "first layer": ("forward_matmul", "kernel_gradient_matmul"),
    "hidden layer": (
        "forward_matmul",
        "kernel_gradient_matmul",
        "input_gradient_matmul",
    ),
}


def _ms(timing):
    return (
        f"min {timing['min_s'] * 1e3:.2f} ms, "
        f"median {timing['median_s'] * 1e3:.2f} ms"
    )


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    results = measure(args.n, args.table_fraction, args.batch, args.repeats)
    for key, s in results["sums"].items():
        print(
            f"batch {key}: matrix products {s['matmuls_s'] * 1e3:.2f} ms; "
            f"dense {s['dense_s'] * 1e3:.2f} ms, stored index "
            f"{s['stored_index_s'] * 1e3:.2f} ms "
            f"({s['stored_index_ratio']:.2f}x), hashed in the step "
            f"{s['hashed_in_step_s'] * 1e3:.2f} ms "
            f"({s['hashed_in_step_ratio']:.2f}x)"
        )
    if args.out:
        from benchmarks import report

        results["machine"] = report.machine_info()
        results["command"] = report.command_line(argv)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1) + "\n")
    return results


if __name__ == "__main__":
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    main()
