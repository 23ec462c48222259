"""Search the Dirichlet hash's alpha (balance) with KerasTuner, offline.

The paper's MNIST ArbNet (`200-ELU-BN-200-ELU-BN-10-ELU-BN`, one table of
1,000 entries shared by the three layers, Dirichlet hash), trained with
the paper's recipe on the offline `mnist_5k` digits. KerasTuner draws
`alpha` on a log scale between 1e-3 and 1e3 (the default search space of
`ArbNetHyperModel`); each trial trains a few epochs and is scored on the
1,000 test digits. The end prints every trial by alpha, with the Shannon
entropy of its table: the larger alpha, the more balanced the table, and
(section 5 of the paper) the better the accuracy. Needs the `tuning` extra
and takes a few minutes on two CPU cores.

    python examples/tune_alpha.py [--trials 8] [--epochs 3]
"""

import argparse
import tempfile

import keras

from arbnet_keras import datasets
from arbnet_keras import tuning
from arbnet_keras.models import table_entropy


def main(trials=8, epochs=3, directory=None):
    keras.utils.set_random_seed(0)
    tuning.check_search_dependencies()
    data = datasets.load("mnist_5k", batch_size=128)
    hypermodel = tuning.ArbNetHyperModel.for_dataset(data, hash="dirichlet")
    print("Search space:", "; ".join(hypermodel.describe()))
    tuner = tuning.make_tuner(
        "random",
        hypermodel,
        max_trials=trials,
        directory=directory or tempfile.mkdtemp(prefix="tune_alpha_"),
        project_name="alpha",
        overwrite=True,
    )
    tuner.search(
        data.train, validation_data=data.test, epochs=epochs, verbose=0
    )
    summary = tuning.summarize(tuner.oracle, dataset="mnist_5k")
    print(f"\n{'alpha':>10} {'entropy':>8} {'val_accuracy':>13}")
    for trial in sorted(
        summary["trials"], key=lambda t: t["hyperparameters"]["alpha"]
    ):
        hp = tuner.oracle.trials[trial["trial_id"]].hyperparameters
        entropy = table_entropy(hypermodel.build(hp))
        alpha = trial["hyperparameters"]["alpha"]
        print(f"{alpha:10.4g} {entropy:8.3f} {trial['score']:13.4f}")
    print()
    for line in tuning.format_summary(summary):
        print(line)
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--directory", default=None)
    args = parser.parse_args()
    main(args.trials, args.epochs, args.directory)
