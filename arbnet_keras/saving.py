"""Saving hashed models compactly."""

import os
import pathlib
import tempfile
import zipfile


def save_model(model, filepath, compresslevel=9):
    """Saves a model as a `.keras` file whose members are DEFLATE-compressed.

    Keras stores the members of a `.keras` archive uncompressed. For a
    hashed model the weights are tiny and most of the file is the fixed
    overhead of the HDF5 container and the JSON config, which compress
    well. The result is an ordinary `.keras` file:
    `keras.saving.load_model` reads it.

    Args:
        model: A Keras model.
        filepath: Path of the `.keras` file to write.
        compresslevel: zlib level, 0 (none) to 9 (smallest). Defaults to
            `9`.

    Returns:
        The size of the written file in bytes.

    Raises:
        ValueError: If `filepath` does not end in `.keras` or
            `compresslevel` is not an integer in [0, 9].

    Example:

    >>> from arbnet_keras import models, saving
    >>> size = saving.save_model(models.mnist_mlp(), "/tmp/mlp.keras")
    """
    filepath = pathlib.Path(filepath)
    if filepath.suffix != ".keras":
        raise ValueError(
            "`filepath` must end in `.keras`. "
            f"Received: filepath={str(filepath)!r}"
        )
    if (
        isinstance(compresslevel, bool)
        or not isinstance(compresslevel, int)
        or not 0 <= compresslevel <= 9
    ):
        raise ValueError(
            "`compresslevel` must be an integer in [0, 9]. "
            f"Received: compresslevel={compresslevel!r}"
        )
    with tempfile.TemporaryDirectory() as tmp:
        plain = pathlib.Path(tmp) / "model.keras"
        model.save(plain)
        # Written beside the target, then renamed over it: a crash never
        # leaves a half-written file, and the rename stays on one device.
        packed = filepath.with_name(f".{filepath.name}.partial")
        with (
            zipfile.ZipFile(plain) as source,
            zipfile.ZipFile(
                packed,
                "w",
                compression=zipfile.ZIP_DEFLATED,
                compresslevel=compresslevel,
            ) as target,
        ):
            for info in source.infolist():
                target.writestr(info.filename, source.read(info))
        os.replace(packed, filepath)
    return filepath.stat().st_size
