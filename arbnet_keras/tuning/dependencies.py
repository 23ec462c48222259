"""The optional packages of `arbnet_keras.tuning`, with helpful errors."""

INSTALL_HINT = 'pip install "arbnet-keras[tuning]"'


def import_keras_tuner():
    """Returns the `keras_tuner` module.

    Raises:
        ImportError: If keras-tuner is not installed, saying which extra
            installs it.
    """
    try:
        import keras_tuner
    except ImportError as error:
        raise ImportError(
            "`arbnet_keras.tuning` needs keras-tuner, which is not "
            f"installed. Install it with: {INSTALL_HINT}"
        ) from error
    return keras_tuner


def check_search_dependencies():
    """Checks that `Tuner.search` can run; raises a clear error if not.

    KerasTuner imports `tensorboard.plugins.hparams` inside
    `Tuner.search` (in `run_trial`, with the TensorFlow backend), and
    TensorFlow 2.21 no longer installs TensorBoard. Without it every trial
    fails, and a distributed worker dies after taking its first trial.
    Call this before a search, a chief or a worker starts.

    Raises:
        ImportError: If keras-tuner or TensorBoard is missing, saying which
            extra installs them.
    """
    import_keras_tuner()
    import keras

    if keras.backend.backend() != "tensorflow":
        return
    try:
        from tensorboard.plugins.hparams import api  # noqa: F401
    except ImportError as error:
        raise ImportError(
            "KerasTuner's `Tuner.search` imports `tensorboard` with the "
            "TensorFlow backend, and TensorFlow 2.21 no longer installs it. "
            f"Install it with: {INSTALL_HINT}"
        ) from error
