"""A Neighborhood sweep with the Python API: noise against test accuracy.

Trains the paper's MNIST ArbNet (784-200-200-10, ELU, batch norm, one
table of 1,000 entries) with the Neighborhood hash, `entry = (id +
U{-radius..radius}) mod 1000`, for radii from 0 (the modulus hash) to 500
(the uniform hash) and two sparsities, on the offline `mnist_5k` data
set. Draws Figure 4 of the paper and a Markdown table into
`runs/example_neighborhood`. About a minute on 2 CPU cores.

    python examples/neighborhood_sweep.py

The same from the command line:

    arbnet sweep neighborhood --radius 0 1 10 100 500 --sparsity 0 0.9 \
        --epochs 5 --out runs/example_neighborhood --plot
"""

from arbnet_keras import experiments

OUT = "runs/example_neighborhood"


def main():
    spec = experiments.SweepSpec(
        "neighborhood",
        radius=[0, 1, 10, 100, 500],
        sparsity=[0.0, 0.9],
        seeds=1,
        epochs=5,
        dataset="mnist_5k",
    )
    experiments.run_sweep(spec, OUT, quiet=True)
    rows = experiments.summarize(experiments.read_results(OUT))
    for row in rows:
        print(
            f"radius={row['hash_value']:<4g} sparsity={row['sparsity']:<4g} "
            f"test accuracy={row['test_accuracy_mean']:.4f} (n={row['n']})"
        )
    for path in experiments.plot_results(OUT, formats=("png", "svg")):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
