"""Training: the KL warm-up, per-epoch logging, and a whole run from data to written files.

A run writes three files into its output folder: the model (``vae.keras``), the loss curve
(``loss.png``) and ``history.json`` (the config, image counts, time and per-epoch losses).

Weight initialisation and batch shuffling draw on Keras's global random state. Nothing here
seeds it, since that would change the whole process; callers that want repeatable runs call
``keras.utils.set_random_seed(config.seed)`` first, as ``texsynth vae train`` does.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from pathlib import Path
from typing import TextIO

import keras
import numpy as np

from texsynth.io.files import ensure_writable_dir, write_json
from texsynth.io.images import save_image
from texsynth.progress import Progress, format_duration, log
from texsynth.vae.chart import plot_losses
from texsynth.vae.config import VAEConfig
from texsynth.vae.data import load_dataset, split_validation
from texsynth.vae.fileformat import MODEL_FILE, save_model
from texsynth.vae.model import VAE, build_vae

__all__ = ["HISTORY_FILE", "LOSS_PLOT_FILE", "EpochLog", "KLWarmup", "fit_vae", "train_vae"]

LOSS_PLOT_FILE = "loss.png"
HISTORY_FILE = "history.json"


class KLWarmup(keras.callbacks.Callback):
    """Ramp the model's ``kl_scale`` linearly from 0 at the first epoch to 1 after ``epochs``.

    Parameters
    ----------
    epochs : int
        Length of the ramp; 0 gives the full KL weight from the first epoch.
    """

    def __init__(self, epochs: int) -> None:
        super().__init__()
        self.epochs = epochs

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.model.kl_scale.assign(min(1.0, epoch / self.epochs) if self.epochs else 1.0)


class EpochLog(keras.callbacks.Callback):
    """One plain line per epoch (loss, its two parts, val_loss, time); a live batch line on a TTY.

    Parameters
    ----------
    epochs, steps : int
        Epochs of the run and batches per epoch (for the live line).
    stream : text stream, optional
        Where lines go (standard error by default).
    quiet : bool
        Print nothing; ``history`` is still collected.
    """

    def __init__(self, epochs: int, steps: int, stream: TextIO | None = None, quiet: bool = False) -> None:
        super().__init__()
        self.epochs, self.steps, self.quiet = epochs, steps, quiet
        self.stream = stream if stream is not None else sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)()) and not quiet
        self.progress: Progress | None = None
        self.started = 0.0
        self.history: list[dict[str, float]] = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.started = time.perf_counter()
        if self.live:
            self.progress = Progress(self.steps, label=f"epoch {epoch + 1}/{self.epochs}", stream=self.stream)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.progress is not None and logs:
            self.progress.update(batch + 1, float(logs["loss"]))

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.progress is not None:
            self.progress.close()
            self.progress = None
        logs = {key: float(value) for key, value in (logs or {}).items()}
        seconds = time.perf_counter() - self.started
        self.history.append({"epoch": epoch + 1, **logs, "seconds": round(seconds, 3)})
        log(f"epoch {epoch + 1}/{self.epochs}  loss {logs['loss']:.4f} "
            f"(reconstruction {logs['reconstruction_loss']:.4f}, kl {logs['kl_loss']:.4f})  "
            f"val_loss {logs['val_loss']:.4f}  {seconds:.1f}s", quiet=self.quiet, stream=self.stream)


def fit_vae(config: VAEConfig, train: np.ndarray, validation: np.ndarray, stream: TextIO | None = None,
            quiet: bool = False) -> tuple[VAE, list[dict[str, float]]]:
    """Build a VAE from ``config`` and train it.

    For a repeatable model seed Keras's global random state first (see the module notes).

    Parameters
    ----------
    config : VAEConfig
        Architecture and optimisation settings (``data`` and ``output`` are not used here).
    train, validation : ndarray, shape (N, size, size, channels)
        Images in [0, 1].
    stream : text stream, optional
        Where progress goes (standard error by default).
    quiet : bool
        Print nothing.

    Returns
    -------
    model : VAE
        The trained model.
    history : list of dict
        Per epoch: ``loss``, ``reconstruction_loss``, ``kl_loss``, their ``val_`` versions and ``seconds``.
    """
    model = build_vae(config)
    steps = math.ceil(len(train) / config.batch_size)
    epoch_log = EpochLog(config.epochs, steps, stream=stream, quiet=quiet)
    model.fit(train, validation_data=(validation,), epochs=config.epochs, batch_size=config.batch_size,
              shuffle=True, verbose=0, callbacks=[KLWarmup(config.kl_warmup), epoch_log])
    model.kl_scale.assign(1.0)
    return model, epoch_log.history


def train_vae(config: VAEConfig, stream: TextIO | None = None, quiet: bool = False) -> dict[str, Path]:
    """Load data, train, and write the model, loss curve and history into ``config.output``.

    The output folder is checked (and created) before anything slow happens; if the run then
    fails, a folder created here is removed again while still empty.

    Parameters
    ----------
    config : VAEConfig
        The run, including its data and output folder.
    stream : text stream, optional
        Where progress goes (standard error by default).
    quiet : bool
        Print nothing.

    Returns
    -------
    dict of str to Path
        The written files: ``model``, ``loss_plot``, ``history``.

    Raises
    ------
    TexsynthError
        If the output folder cannot be written or the data cannot be loaded.
    """
    created = not Path(config.output).exists()
    output = ensure_writable_dir(config.output)  # fail before minutes of training, not after
    try:
        return _train_into(config, output, stream, quiet)
    except BaseException:
        if created and output.is_dir() and not any(output.iterdir()):
            output.rmdir()
        raise


def _train_into(config: VAEConfig, output: Path, stream: TextIO | None, quiet: bool) -> dict[str, Path]:
    images = load_dataset(config)
    train, validation = split_validation(images, config.validation_split)
    log(f"training on {len(train)} images, validating on {len(validation)} "
        f"({config.size}x{config.size}x{config.channels}, latent dim {config.latent_dim})", quiet=quiet, stream=stream)
    if config.kl_warmup >= config.epochs:
        log(f"note: the KL warm-up ({config.kl_warmup} epochs) is not shorter than training ({config.epochs}), "
            f"so the KL term never reaches its full weight; the latent space may not match the prior",
            quiet=quiet, stream=stream)
    started = time.perf_counter()
    model, history = fit_vae(config, train, validation, stream=stream, quiet=quiet)
    seconds = time.perf_counter() - started
    paths = {"model": output / MODEL_FILE, "loss_plot": output / LOSS_PLOT_FILE, "history": output / HISTORY_FILE}
    save_model(model, paths["model"])
    save_image(plot_losses(history), paths["loss_plot"])
    write_json({"config": dataclasses.asdict(config), "train_images": len(train),
                "validation_images": len(validation), "training_seconds": round(seconds, 2),
                "epochs": history}, paths["history"])
    log(f"trained in {format_duration(seconds)} ({seconds:.1f}s)", quiet=quiet, stream=stream)
    return paths
