"""The model file: a VAE in Keras's ``.keras`` format, written atomically and checked on loading."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import keras

from texsynth.errors import TexsynthError
from texsynth.vae.model import VAE

__all__ = ["MODEL_FILE", "load_model", "save_model"]

# The file `texsynth vae train` writes; a folder holding one stands for the model.
MODEL_FILE = "vae.keras"


def save_model(model: VAE, path: str | os.PathLike) -> Path:
    """Write ``model`` to a ``.keras`` file atomically.

    Keras refuses file names that do not end in ``.keras``, so the model is first saved as
    ``NAME.keras`` inside a hidden temporary folder beside ``path`` (same file system, so the
    final rename is atomic; a fresh file there also gets the usual permissions, which
    ``mkstemp``'s private 0600 file would not), then renamed onto ``path``.

    Parameters
    ----------
    model : VAE
        The model to write.
    path : path-like
        Destination; must end in ``.keras``.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    TexsynthError
        If the name does not end in ``.keras`` or the folder cannot be written.
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise TexsynthError(f"model file must end in .keras, got {path}")
    directory = path.parent
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory))
    except OSError as error:
        raise TexsynthError(f"cannot write to {directory}: {error.strerror or error}") from None
    tmp = staging / path.name
    try:
        model.save(tmp)
        os.replace(tmp, path)
    except OSError as error:
        raise TexsynthError(f"cannot save model to {path}: {error.strerror or error}") from None
    finally:
        tmp.unlink(missing_ok=True)
        staging.rmdir()
    return path


def load_model(path: str | os.PathLike) -> VAE:
    """Load a VAE saved by ``texsynth vae train``.

    Parameters
    ----------
    path : path-like
        A ``.keras`` file, or a folder holding :data:`MODEL_FILE`.

    Returns
    -------
    VAE
        The model, uncompiled (ready for drawing, not for more training).

    Raises
    ------
    TexsynthError
        If the file is missing, not a ``.keras`` archive, corrupt, or holds another kind of model.
    """
    path = Path(path)
    if path.is_dir():
        candidate = path / MODEL_FILE
        if not candidate.is_file():
            raise TexsynthError(f"{path} is a folder without a {MODEL_FILE}; give the model file")
        path = candidate
    if not path.exists():
        raise TexsynthError(f"no such model file: {path}")
    if path.suffix != ".keras":
        raise TexsynthError(f"model file must be a .keras file saved by `texsynth vae train`, got {path}")
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as error:  # Keras raises many types (zipfile, h5py, ValueError) for a bad file.
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise TexsynthError(f"cannot load model {path}: corrupt or not a Keras model ({reason[:200]})") from None
    if not isinstance(model, VAE):
        raise TexsynthError(f"{path} holds a {type(model).__name__}, not a texsynth VAE")
    return model
