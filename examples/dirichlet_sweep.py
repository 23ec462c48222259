"""A Dirichlet sweep with the Python API: balance against test accuracy.

Trains the paper's MNIST ArbNet (784-200-200-10, ELU, batch norm, one
table of 1,000 entries shared by the three layers) with the Dirichlet
hash for four concentrations `alpha` and two sparsities, on the offline
`mnist_5k` data set, then draws Figures 1-3 of the paper and a Markdown
table into `runs/example_dirichlet`. About a minute on 2 CPU cores.

Interrupt it and run it again: finished runs are skipped.

    python examples/dirichlet_sweep.py

The same from the command line:

    arbnet sweep dirichlet --alpha 1e-3 1e-1 1 100 --sparsity 0 0.9 \
        --epochs 5 --out runs/example_dirichlet --plot
"""

from arbnet_keras import experiments

OUT = "runs/example_dirichlet"


def main():
    spec = experiments.SweepSpec(
        "dirichlet",
        alpha=[1e-3, 1e-1, 1.0, 100.0],
        sparsity=[0.0, 0.9],
        seeds=1,
        epochs=5,
        dataset="mnist_5k",
    )
    records = experiments.run_sweep(spec, OUT)
    for record in records:
        print(
            f"alpha={record['hash_value']:<6g} "
            f"sparsity={record['sparsity']:<4g} "
            f"entropy={record['entropy']:.2f}/{record['max_entropy']:.2f} "
            f"test accuracy={record['test_accuracy']:.4f}"
        )
    for path in experiments.plot_results(OUT):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
