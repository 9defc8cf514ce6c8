"""Tests of texsynth.vae.fileformat: the .keras round trip and every kind of bad model file."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tests.vae.conftest import blobs
from texsynth.errors import TexsynthError
from texsynth.vae.fileformat import MODEL_FILE, load_model, save_model
from texsynth.vae.model import VAE, encode
from texsynth.vae.pictures import latent_grid

# Keras converts its own tensors with np.array(x), which numpy 2 flags; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def test_save_load_round_trip(tiny_model, tmp_path):
    path = save_model(tiny_model, tmp_path / "model.keras")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]  # no temp file left
    loaded = load_model(path)
    assert isinstance(loaded, VAE)
    assert loaded.get_config() == tiny_model.get_config()
    images = blobs(6, seed=9)
    assert np.array_equal(loaded.predict(images, verbose=0), tiny_model.predict(images, verbose=0))
    for got, want in zip(encode(loaded, images), encode(tiny_model, images)):
        assert np.array_equal(got, want)
    assert np.array_equal(latent_grid(loaded, 3), latent_grid(tiny_model, 3))
    # A folder holding vae.keras is accepted in place of the file.
    save_model(tiny_model, tmp_path / MODEL_FILE)
    assert load_model(tmp_path).get_config() == tiny_model.get_config()


def test_load_model_bad_files(tmp_path):
    with pytest.raises(TexsynthError, match="no such model file"):
        load_model(tmp_path / "missing.keras")
    corrupt = tmp_path / "corrupt.keras"
    corrupt.write_bytes(b"this is not a zip archive")
    with pytest.raises(TexsynthError, match="corrupt"):
        load_model(corrupt)
    wrong_suffix = tmp_path / "model.h5"
    wrong_suffix.write_bytes(b"x")
    with pytest.raises(TexsynthError, match=r"\.keras"):
        load_model(wrong_suffix)
    with pytest.raises(TexsynthError, match="folder without"):
        load_model(tmp_path)
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    other.save(tmp_path / "other.keras")
    with pytest.raises(TexsynthError, match="not a texsynth VAE"):
        load_model(tmp_path / "other.keras")


def test_save_model_unwritable_folder(tiny_model, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    with pytest.raises(TexsynthError, match="cannot write"):
        save_model(tiny_model, blocker / "model.keras")
