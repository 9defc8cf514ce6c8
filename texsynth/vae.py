"""A small convolutional variational autoencoder (VAE) that learns images and draws new ones.

The architecture is the classic one from Chollet's *Deep Learning with Python*: a
convolutional encoder (32, 64 stride 2, 64, 64 filters of 3x3, ReLU, then a 32-unit dense
layer) that outputs the mean and log-variance of a Gaussian over a small latent space, the
reparameterisation trick ``z = mean + exp(log_var / 2) * eps``, and a decoder that mirrors
the encoder (dense, reshape, a stride-2 transposed convolution, a sigmoid output).

The loss is the negative evidence lower bound: the binary cross-entropy between each image
and its reconstruction, summed over pixels, plus ``kl_weight`` times the Kullback-Leibler
divergence of the encoder's Gaussian from the standard normal prior. Both are per image,
averaged over a batch, so their sizes are comparable whatever the batch size.

Training data come from the 8x8 digits bundled with scikit-learn (``digits``), a folder of
images, or random patches of one texture image (``patches:IMAGE``). Pixels are float32 in
[0, 1], shaped (N, size, size, channels).

Besides the model this module assembles the pictures the ``texsynth vae`` command writes:
the latent-plane grid, random samples, originals beside reconstructions, and a loss curve.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence, TextIO

import keras
import numpy as np
import tensorflow as tf
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError
from scipy.stats import norm

from texsynth.errors import TexsynthError
from texsynth.io import ensure_writable_dir, list_image_files, load_image, resize_image, save_image, write_json
from texsynth.progress import Progress, format_duration, log

DIGITS = "digits"
PATCHES_PREFIX = "patches:"
MODEL_FILE = "vae.keras"
LOSS_PLOT_FILE = "loss.png"
HISTORY_FILE = "history.json"

# PIL modes that hold one grey channel (with or without alpha).
_GREY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


@dataclass(frozen=True)
class VAEConfig:
    """Everything that defines one training run; recorded in ``history.json``.

    Attributes
    ----------
    data : str
        ``"digits"``, a folder of images, or ``"patches:IMAGE"``.
    size : int
        Side of the square images the model sees, in pixels; even, at least 4.
    channels : int
        1 (greyscale) or 3 (RGB).
    latent_dim : int
        Dimensions of the latent space; 2 gives the classic latent-plane grid.
    epochs : int
        Passes over the training set.
    batch_size : int
        Images per gradient step.
    kl_weight : float
        Weight of the KL term in the loss (1 is the true ELBO; smaller favours sharper
        reconstructions over a well-filled latent space).
    kl_warmup : int
        Epochs over which the KL weight ramps linearly up from 0 (0: full weight from the
        start). A ramp lets the encoder spread the data over the latent space before the
        KL term pulls it together, which keeps latent dimensions from collapsing unused.
    learning_rate : float
        Adam learning rate.
    validation_split : float
        Fraction of the images held out for the validation loss.
    max_samples : int or None
        Use at most this many images (a random subset), for quick runs.
    num_patches : int
        Patches drawn from the image for ``patches:IMAGE``.
    seed : int
        Seeds data shuffling, patch positions, weights and the sampling noise.
    output : str
        Folder for the model, loss plot and history.
    """

    data: str = DIGITS
    size: int = 28
    channels: int = 1
    latent_dim: int = 2
    epochs: int = 30
    batch_size: int = 16
    kl_weight: float = 1.0
    kl_warmup: int = 10
    learning_rate: float = 1e-3
    validation_split: float = 0.1
    max_samples: int | None = None
    num_patches: int = 2000
    seed: int = 0
    output: str = "outputs/vae"

    def __post_init__(self) -> None:
        # The CLI checks these with friendlier messages; this guards library callers.
        if self.size < 4 or self.size % 2:
            raise TexsynthError(f"size must be an even number of pixels >= 4, got {self.size}")
        if self.channels not in (1, 3):
            raise TexsynthError(f"channels must be 1 or 3, got {self.channels}")
        if self.latent_dim < 1:
            raise TexsynthError(f"latent dim must be >= 1, got {self.latent_dim}")
        if self.epochs < 1 or self.batch_size < 1 or self.num_patches < 1 or self.kl_warmup < 0:
            raise TexsynthError("epochs, batch size and number of patches must be >= 1, kl warm-up >= 0")
        if not 0.0 < self.validation_split < 1.0:
            raise TexsynthError(f"validation split must be between 0 and 1, got {self.validation_split}")
        if self.kl_weight < 0 or self.learning_rate <= 0:
            raise TexsynthError("kl weight must be >= 0 and learning rate > 0")
        if self.max_samples is not None and self.max_samples < 2:
            raise TexsynthError(f"max samples must be >= 2 (one to train on, one to validate), got {self.max_samples}")


# --------------------------------------------------------------------------------------------
# Loss pieces and the model
# --------------------------------------------------------------------------------------------


def kl_divergence(z_mean: Any, z_log_var: Any) -> Any:
    """KL divergence of N(z_mean, exp(z_log_var)) from the standard normal, per sample.

    The closed form for a diagonal Gaussian is
    ``0.5 * sum(mean**2 + var - 1 - log(var))`` over the latent dimensions.

    Parameters
    ----------
    z_mean, z_log_var : array-like, shape (batch, latent_dim)
        Mean and natural-log variance of each sample's Gaussian.

    Returns
    -------
    tensor, shape (batch,)
        Non-negative divergences, in nats.
    """
    z_mean = keras.ops.convert_to_tensor(z_mean, dtype="float32")
    z_log_var = keras.ops.convert_to_tensor(z_log_var, dtype="float32")
    terms = keras.ops.square(z_mean) + keras.ops.exp(z_log_var) - 1.0 - z_log_var
    return 0.5 * keras.ops.sum(terms, axis=-1)


def reconstruction_loss(images: Any, reconstructions: Any) -> Any:
    """Binary cross-entropy between images and reconstructions, summed over pixels, per sample.

    Parameters
    ----------
    images, reconstructions : array-like, shape (batch, H, W, C)
        Targets and decoder outputs, both in [0, 1].

    Returns
    -------
    tensor, shape (batch,)
        Nats per image.
    """
    images = keras.ops.convert_to_tensor(images, dtype="float32")
    reconstructions = keras.ops.convert_to_tensor(reconstructions, dtype="float32")
    per_pixel = keras.ops.binary_crossentropy(images, reconstructions)
    return keras.ops.sum(per_pixel, axis=(1, 2, 3))


@keras.saving.register_keras_serializable(package="texsynth")
class Sampling(keras.layers.Layer):
    """The reparameterisation trick: draw ``z = mean + exp(log_var / 2) * eps``, eps ~ N(0, I).

    Writing the draw this way keeps it differentiable in the mean and log-variance.
    Note the half: ``exp(log_var)`` is the variance, its square root the standard deviation.

    Parameters
    ----------
    seed : int or None
        Seed of the layer's own generator, so draws repeat from run to run.
    """

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs: Sequence[Any]) -> Any:
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(keras.ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + keras.ops.exp(0.5 * z_log_var) * epsilon

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "seed": self.seed}


def build_encoder(size: int, channels: int, latent_dim: int) -> keras.Model:
    """Image (size, size, channels) -> [z_mean, z_log_var], each (latent_dim,)."""
    inputs = keras.Input(shape=(size, size, channels), name="image")
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(32, activation="relu")(x)
    z_mean = keras.layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = keras.layers.Dense(latent_dim, name="z_log_var")(x)
    return keras.Model(inputs, [z_mean, z_log_var], name="encoder")


def build_decoder(size: int, channels: int, latent_dim: int) -> keras.Model:
    """Latent (latent_dim,) -> image (size, size, channels) in [0, 1]."""
    half = size // 2
    inputs = keras.Input(shape=(latent_dim,), name="z")
    x = keras.layers.Dense(half * half * 64, activation="relu")(inputs)
    x = keras.layers.Reshape((half, half, 64))(x)
    x = keras.layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")(x)
    outputs = keras.layers.Conv2D(channels, 3, padding="same", activation="sigmoid", name="image")(x)
    return keras.Model(inputs, outputs, name="decoder")


@keras.saving.register_keras_serializable(package="texsynth")
class VAE(keras.Model):
    """Encoder, sampling layer and decoder, trained on the negative ELBO.

    Calling the model reconstructs images: through a random draw of z when
    ``training=True``, through the mean of z otherwise (so inference is deterministic).

    Parameters
    ----------
    size, channels, latent_dim : int
        Image side, channel count and latent dimensions.
    kl_weight : float
        Weight of the KL term in the loss.
    seed : int or None
        Seed of the sampling layer.

    Notes
    -----
    The reported ``loss`` (training and validation) is always reconstruction plus
    ``kl_weight`` times KL; during a KL warm-up the gradient step uses the smaller weight
    ``kl_scale * kl_weight``, so the curves stay comparable from epoch to epoch.
    """

    def __init__(self, size: int = 28, channels: int = 1, latent_dim: int = 2, kl_weight: float = 1.0,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = size
        self.channels = channels
        self.latent_dim = latent_dim
        self.kl_weight = kl_weight
        self.seed = seed
        self.encoder = build_encoder(size, channels, latent_dim)
        self.decoder = build_decoder(size, channels, latent_dim)
        self.sampling = Sampling(seed=seed, name="sampling")
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")
        # Fraction of kl_weight used in the optimised objective; KLWarmup ramps it up.
        self.kl_scale = keras.Variable(1.0, trainable=False, dtype="float32", name="kl_scale")
        # Sub-models are built on construction, so there is nothing left to build from data.
        self.built = True

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        # Listing the trackers here makes Keras reset them at the start of each epoch.
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker]

    def call(self, inputs: Any, training: bool = False) -> Any:
        z_mean, z_log_var = self.encoder(inputs, training=training)
        z = self.sampling([z_mean, z_log_var]) if training else z_mean
        return self.decoder(z, training=training)

    def _loss_terms(self, images: Any) -> tuple[Any, Any, Any]:
        z_mean, z_log_var = self.encoder(images, training=True)
        z = self.sampling([z_mean, z_log_var])
        reconstructions = self.decoder(z, training=True)
        reconstruction = keras.ops.mean(reconstruction_loss(images, reconstructions))
        kl = keras.ops.mean(kl_divergence(z_mean, z_log_var))
        return reconstruction + self.kl_weight * kl, reconstruction, kl

    def _report(self, total: Any, reconstruction: Any, kl: Any) -> dict[str, Any]:
        self.loss_tracker.update_state(total)
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        return {metric.name: metric.result() for metric in self.metrics}

    def train_step(self, data: Any) -> dict[str, Any]:
        images, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            total, reconstruction, kl = self._loss_terms(images)
            objective = reconstruction + self.kl_scale * self.kl_weight * kl
        gradients = tape.gradient(objective, self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
        return self._report(total, reconstruction, kl)

    def test_step(self, data: Any) -> dict[str, Any]:
        # The validation loss is the same sampled ELBO estimate as the training loss, so the
        # two curves are comparable.
        images, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self._report(*self._loss_terms(images))

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "trainable": self.trainable, "size": self.size, "channels": self.channels,
                "latent_dim": self.latent_dim, "kl_weight": self.kl_weight, "seed": self.seed}


class KLWarmup(keras.callbacks.Callback):
    """Ramp the model's ``kl_scale`` linearly from 0 at the first epoch to 1 after ``epochs``."""

    def __init__(self, epochs: int) -> None:
        super().__init__()
        self.epochs = epochs

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.model.kl_scale.assign(min(1.0, epoch / self.epochs) if self.epochs else 1.0)


def build_vae(config: VAEConfig) -> VAE:
    """Seed everything from ``config.seed`` and build a compiled, untrained VAE."""
    keras.utils.set_random_seed(config.seed)
    model = VAE(size=config.size, channels=config.channels, latent_dim=config.latent_dim,
                kl_weight=config.kl_weight, seed=config.seed, name="vae")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate))
    return model


def encode(model: VAE, images: np.ndarray, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Return the encoder's (z_mean, z_log_var) for images in [0, 1], as numpy arrays."""
    z_mean, z_log_var = model.encoder.predict(images.astype(np.float32), batch_size=batch_size, verbose=0)
    return np.asarray(z_mean), np.asarray(z_log_var)


def decode(model: VAE, latents: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Decode latent vectors (N, latent_dim) to images (N, size, size, channels) in [0, 1]."""
    return np.asarray(model.decoder.predict(latents.astype(np.float32), batch_size=batch_size, verbose=0))


# --------------------------------------------------------------------------------------------
# Saving and loading
# --------------------------------------------------------------------------------------------


def save_model(model: VAE, path: str | os.PathLike) -> Path:
    """Write ``model`` to a ``.keras`` file atomically.

    Keras refuses file names that do not end in ``.keras``, so the model is first saved as
    ``NAME.keras`` inside a hidden temporary folder beside ``path`` (same file system, so the
    final rename is atomic; a fresh file there also gets the usual permissions, which
    ``mkstemp``'s private 0600 file would not), then renamed onto ``path``.
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise TexsynthError(f"model file must end in .keras, got {path}")
    directory = path.parent if str(path.parent) else Path(".")
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


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


def _with_channels(rgb: np.ndarray, channels: int) -> np.ndarray:
    """(..., 3) RGB -> (..., 1) ITU-R 601 luminance (as PIL's ``L`` mode) for one channel, else unchanged."""
    return (rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32))[..., None] if channels == 1 else rgb


def to_model_pixels(rgb: np.ndarray, size: int, channels: int) -> np.ndarray:
    """Turn an RGB image in [0, 255] into a (size, size, channels) float32 array in [0, 1].

    The image is centre-cropped to a square first so nothing is stretched; one channel
    means luminance.
    """
    height, width = rgb.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = _with_channels(resize_image(rgb[top:top + side, left:left + side], size, size), channels)
    return np.clip(square / 255.0, 0.0, 1.0).astype(np.float32)


def load_digits(size: int, channels: int = 1) -> np.ndarray:
    """The 1,797 8x8 handwritten digits shipped inside scikit-learn, upscaled to ``size``.

    Like MNIST, each digit fills the central 5/7 of the square (20 of 28 pixels) and the
    rest is a black margin; without it neighbouring digits in a grid would run together.

    Returns
    -------
    ndarray, shape (1797, size, size, channels), float32 in [0, 1]
        White digits on black.
    """
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError:
        raise TexsynthError("the bundled digits need scikit-learn: pip install scikit-learn") from None
    small = sklearn_digits().images.astype(np.float32) / 16.0
    inner = max(2, int(round(size * 5 / 7)))
    margin = (size - inner) // 2
    # Bicubic is smooth enough that 8x8 strokes look hand-drawn; Lanczos rings.
    digits = np.zeros((len(small), size, size), dtype=np.float32)
    for index, image in enumerate(small):
        digits[index, margin:margin + inner, margin:margin + inner] = np.asarray(
            Image.fromarray(image, mode="F").resize((inner, inner), Image.BICUBIC))
    digits = np.clip(digits, 0.0, 1.0)[..., None]
    return np.repeat(digits, channels, axis=-1) if channels == 3 else digits


def image_kind(path: Path) -> str:
    """``"grey"`` or ``"colour"`` by how the file stores its pixels (not by what they show)."""
    try:
        with Image.open(path) as image:
            if image.mode in _GREY_MODES:
                return "grey"
            if image.mode == "P":
                rgb = np.asarray(image.convert("RGB"))
                same = np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])
                return "grey" if same else "colour"
            return "colour"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return "unreadable"  # load_image reports it properly.


def _describe(paths: Sequence[Path], limit: int = 3) -> str:
    names = ", ".join(p.name for p in paths[:limit])
    return names + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def load_folder(folder: str | os.PathLike, size: int, channels: int) -> np.ndarray:
    """Load every image in a folder as (N, size, size, channels) float32 in [0, 1].

    With ``channels=3`` a folder that mixes greyscale and colour files is refused: a colour
    model half-trained on grey copies learns the wrong colour statistics, and such a mix is
    nearly always an accident. With ``channels=1`` everything becomes luminance, so any mix
    is fine.

    Raises
    ------
    TexsynthError
        If the folder is missing or empty, has fewer than two images, mixes greyscale and
        colour images for a colour model, or holds an unreadable image.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise TexsynthError(f"--data {folder}: not a folder (use a folder of images, '{DIGITS}' or "
                            f"'{PATCHES_PREFIX}IMAGE' for patches of one texture)")
    files = list_image_files([folder])
    if len(files) < 2:
        raise TexsynthError(f"{folder} holds only {len(files)} image; a VAE needs many "
                            f"(for one texture use --data {PATCHES_PREFIX}{files[0]})")
    if channels == 3:
        kinds = {path: image_kind(path) for path in files}
        grey = [p for p in files if kinds[p] == "grey"]
        colour = [p for p in files if kinds[p] == "colour"]
        if grey and colour:
            raise TexsynthError(f"{folder} mixes greyscale images ({_describe(grey)}) with colour images "
                                f"({_describe(colour)}); convert them to one mode, or train with --channels 1")
    return np.stack([to_model_pixels(load_image(path), size, channels) for path in files])


def load_patches(image_path: str | os.PathLike, size: int, channels: int, count: int,
                 rng: np.random.Generator) -> np.ndarray:
    """Cut ``count`` random ``size`` x ``size`` patches from one texture image.

    Returns
    -------
    ndarray, shape (count, size, size, channels), float32 in [0, 1]

    Raises
    ------
    TexsynthError
        If the image cannot be read or is smaller than one patch.
    """
    rgb = load_image(image_path)
    height, width = rgb.shape[:2]
    if height < size or width < size:
        raise TexsynthError(f"{image_path} is {width}x{height}, smaller than one {size}x{size} patch; "
                            f"use a smaller --size or a larger image")
    pixels = _with_channels(rgb, channels)
    tops = rng.integers(0, height - size + 1, size=count)
    lefts = rng.integers(0, width - size + 1, size=count)
    patches = np.stack([pixels[t:t + size, l:l + size] for t, l in zip(tops, lefts)])
    return np.clip(patches / 255.0, 0.0, 1.0).astype(np.float32)


def load_dataset(config: VAEConfig) -> np.ndarray:
    """Load the images that ``config.data`` names, shuffled and cut to ``config.max_samples``.

    Returns
    -------
    ndarray, shape (N, size, size, channels), float32 in [0, 1]
    """
    rng = np.random.default_rng(config.seed)
    if config.data == DIGITS:
        images = load_digits(config.size, config.channels)
    elif config.data.startswith(PATCHES_PREFIX):
        source = config.data[len(PATCHES_PREFIX):]
        if not source:
            raise TexsynthError(f"--data {PATCHES_PREFIX} needs an image after the colon, e.g. {PATCHES_PREFIX}brick.jpg")
        images = load_patches(source, config.size, config.channels, config.num_patches, rng)
    else:
        images = load_folder(config.data, config.size, config.channels)
    images = images[rng.permutation(len(images))]
    return images[:config.max_samples] if config.max_samples else images


def split_validation(images: np.ndarray, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Split (already shuffled) images into training and validation sets, each non-empty."""
    if len(images) < 2:
        raise TexsynthError(f"need at least 2 images (one to train on, one to validate), got {len(images)}")
    n_val = min(len(images) - 1, max(1, int(round(len(images) * fraction))))
    return images[n_val:], images[:n_val]


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


class EpochLog(keras.callbacks.Callback):
    """One plain line per epoch (loss, its two parts, val_loss, time); a live batch line on a TTY."""

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

    Returns
    -------
    dict of str to Path
        The written files: ``model``, ``loss_plot``, ``history``.
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


# --------------------------------------------------------------------------------------------
# Pictures: latent grid, samples, reconstructions, loss curve
# --------------------------------------------------------------------------------------------


def tile(images: np.ndarray, columns: int, gap: int = 0, gap_value: float = 0.5) -> np.ndarray:
    """Lay (N, h, w, c) images out row by row, ``columns`` to a row, ``gap`` pixels apart.

    Returns
    -------
    ndarray, shape (rows*h + (rows-1)*gap, columns*w + (columns-1)*gap, c)
        Empty cells of the last row are filled with ``gap_value``.
    """
    count, height, width, channels = images.shape
    rows = math.ceil(count / columns)
    sheet = np.full((rows * height + (rows - 1) * gap, columns * width + (columns - 1) * gap, channels),
                    gap_value, dtype=np.float32)
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        top, left = row * (height + gap), column * (width + gap)
        sheet[top:top + height, left:left + width] = image
    return sheet


def grid_latents(n: int, latent_dim: int, dims: tuple[int, int] = (0, 1), low: float = 0.05,
                 high: float = 0.95) -> np.ndarray:
    """Latent vectors on an n x n lattice at Gaussian quantiles of two chosen dimensions.

    The other dimensions stay at 0, the prior's mean. Columns run along ``dims[0]`` from low
    to high; rows along ``dims[1]`` from high (top) to low, as on a plot's y axis.

    Returns
    -------
    ndarray, shape (n*n, latent_dim), float32
        Row-major: entry ``row * n + column``.

    Raises
    ------
    TexsynthError
        If the model has fewer than two latent dimensions or ``dims`` is out of range.
    """
    if latent_dim < 2:
        raise TexsynthError(f"the latent grid needs at least 2 latent dimensions; this model has {latent_dim}")
    x_dim, y_dim = dims
    if not (0 <= x_dim < latent_dim and 0 <= y_dim < latent_dim):
        raise TexsynthError(f"latent pair {x_dim} {y_dim} out of range: this model's dimensions are 0..{latent_dim - 1}")
    if x_dim == y_dim:
        raise TexsynthError(f"latent pair must be two different dimensions, got {x_dim} {y_dim}")
    values = norm.ppf(np.linspace(low, high, n))
    latents = np.zeros((n, n, latent_dim), dtype=np.float32)
    latents[:, :, x_dim] = values[None, :]
    latents[:, :, y_dim] = values[::-1, None]
    return latents.reshape(n * n, latent_dim)


def latent_grid(model: VAE, n: int = 15, dims: tuple[int, int] = (0, 1)) -> np.ndarray:
    """Decode the latent-plane lattice of :func:`grid_latents` into one picture.

    Returns
    -------
    ndarray, shape (n*size, n*size, channels), float32 in [0, 1]
    """
    images = decode(model, grid_latents(n, model.latent_dim, dims))
    return tile(images, n)


def sample_images(model: VAE, count: int, seed: int = 0) -> np.ndarray:
    """Decode ``count`` latent vectors drawn from the standard normal prior, tiled near-square.

    Returns
    -------
    ndarray, shape (rows*size, columns*size, channels), float32 in [0, 1]
        ``columns = ceil(sqrt(count))``.
    """
    latents = np.random.default_rng(seed).standard_normal((count, model.latent_dim)).astype(np.float32)
    return tile(decode(model, latents), math.ceil(math.sqrt(count)))


def reconstruct_images(model: VAE, images: np.ndarray, pairs_per_row: int = 8) -> np.ndarray:
    """Each original beside its reconstruction (through the mean of z), pairs tiled in rows.

    Parameters
    ----------
    images : ndarray, shape (N, size, size, channels)
        Originals in [0, 1], already at the model's size and channel count.

    Returns
    -------
    ndarray, float32 in [0, 1]
        Pairs ``size`` x ``2*size`` separated by 2-pixel grey gaps.
    """
    z_mean, _ = encode(model, images)
    reconstructions = decode(model, z_mean)
    pairs = np.concatenate([images, reconstructions], axis=2)
    return tile(pairs, min(pairs_per_row, len(pairs)), gap=2)


def prepare_images(sources: Sequence[str], size: int, channels: int, count: int) -> np.ndarray:
    """Images for reconstruction: files and folders, or ``digits`` (its first ``count``)."""
    if list(sources) == [DIGITS]:
        return load_digits(size, channels)[:count]
    files = list_image_files(sources)
    return np.stack([to_model_pixels(load_image(path), size, channels) for path in files])


def to_picture(image: np.ndarray) -> np.ndarray:
    """(H, W, 1 or 3) in [0, 1] -> (H, W) or (H, W, 3) in [0, 255] for :func:`texsynth.io.save_image`."""
    pixels = image[..., 0] if image.shape[-1] == 1 else image
    return np.clip(pixels * 255.0, 0.0, 255.0)


def plot_losses(history: Sequence[dict[str, float]], width: int = 640, height: int = 400) -> np.ndarray:
    """Draw training and validation loss per epoch, with labelled axes and a legend.

    Returns
    -------
    ndarray, shape (height, width, 3), uint8
    """
    train = [row["loss"] for row in history]
    validation = [row["val_loss"] for row in history]
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    left, right, top, bottom = 78, width - 20, 36, height - 52
    # The first epochs are often many times the later ones (more so with a KL warm-up),
    # which would flatten the rest of a linear plot; a log axis keeps every epoch readable.
    log_scale = min(train + validation) > 0 and max(train + validation) > 2 * min(train + validation)
    forward = math.log10 if log_scale else (lambda value: value)
    inverse = (lambda value: 10.0 ** value) if log_scale else (lambda value: value)
    lowest, highest = forward(min(train + validation)), forward(max(train + validation))
    spread = (highest - lowest) or max(abs(highest), 1.0)
    lowest, highest = lowest - 0.05 * spread, highest + 0.05 * spread
    epochs = len(history)

    inset = 8  # keeps the first and last points off the frame

    def x_of(epoch: float) -> float:
        if epochs == 1:
            return (left + right) / 2
        return left + inset + (epoch - 1) / (epochs - 1) * (right - left - 2 * inset)

    def y_of(value: float) -> float:
        return bottom - (forward(value) - lowest) / (highest - lowest) * (bottom - top)

    draw.text((left, 12), "VAE loss per epoch", fill="black", font=font)
    for i in range(6):
        value = inverse(lowest + i / 5 * (highest - lowest))
        y = y_of(value)
        draw.line([left - 4, y, left, y], fill="black")
        draw.line([left + 1, y, right - 1, y], fill=(230, 230, 230))
        label = f"{value:.4g}"
        draw.text((left - 8 - draw.textlength(label, font=font), y - 6), label, fill="black", font=font)
    step = max(1, math.ceil(epochs / 10))
    ticks = list(range(1, epochs + 1, step))
    if ticks[-1] != epochs and x_of(epochs) - x_of(ticks[-1]) > 24:
        ticks.append(epochs)  # always label the last epoch, unless it would overprint a tick
    for epoch in ticks:
        x = x_of(epoch)
        draw.line([x, bottom, x, bottom + 4], fill="black")
        draw.text((x - draw.textlength(str(epoch), font=font) / 2, bottom + 7), str(epoch), fill="black", font=font)
    centre = (left + right) / 2 - draw.textlength("epoch", font=font) / 2
    draw.text((centre, bottom + 26), "epoch", fill="black", font=font)
    axis_name = "loss (log scale)" if log_scale else "loss"
    label = Image.new("RGB", (int(draw.textlength(axis_name, font=font)) + 8, 14), "white")
    ImageDraw.Draw(label).text((4, 1), axis_name, fill="black", font=font)
    image.paste(label.rotate(90, expand=True), (8, (top + bottom - label.width) // 2))
    draw.rectangle([left, top, right, bottom], outline="black")  # after the grid lines, so they don't cover it
    colours = {"training loss": ((31, 119, 180), train), "validation loss": ((255, 127, 14), validation)}
    for index, (name, (colour, values)) in enumerate(colours.items()):
        points = [(x_of(epoch), y_of(value)) for epoch, value in enumerate(values, start=1)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        for x, y in points:
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
        legend_y = top + 10 + 16 * index
        legend_x = right - 130
        draw.line([legend_x, legend_y + 6, legend_x + 20, legend_y + 6], fill=colour, width=3)
        draw.text((legend_x + 26, legend_y), name, fill="black", font=font)
    return np.asarray(image)
