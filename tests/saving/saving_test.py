"""`arbnet_keras.saving.save_model`."""

import zipfile

import keras
import numpy as np
import pytest

from arbnet_keras import models
from arbnet_keras import saving


def test_compressed_file_loads_with_keras_and_is_smaller(tmp_path):
    model = models.mnist_mlp(hash="uniform", seed=0)
    x = np.random.default_rng(0).random((4, 784), dtype=np.float32)
    plain = tmp_path / "plain.keras"
    model.save(plain)
    packed = tmp_path / "packed.keras"
    size = saving.save_model(model, packed)
    assert size == packed.stat().st_size
    assert size < plain.stat().st_size / 3
    with zipfile.ZipFile(packed) as archive:
        assert {i.compress_type for i in archive.infolist()} == {
            zipfile.ZIP_DEFLATED
        }
    loaded = keras.saving.load_model(packed)
    np.testing.assert_array_equal(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )
    assert not list(tmp_path.glob(".*partial"))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"filepath": "model.h5"}, "`filepath` must end in `.keras`"),
        ({"compresslevel": 10}, "`compresslevel` must be an integer"),
        ({"compresslevel": True}, "`compresslevel` must be an integer"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, message):
    args = {"filepath": tmp_path / "m.keras", **kwargs}
    with pytest.raises(ValueError, match=message):
        saving.save_model(keras.Sequential([keras.Input((2,))]), **args)
