"""Training images: the bundled digits, a folder of images, or random patches of one texture.

Every loader returns float32 pixels in [0, 1], shaped (N, size, size, channels). A folder of
mixed greyscale and colour files is refused for a colour model (see :func:`image_kind`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, UnidentifiedImageError

from texsynth.errors import TexsynthError
from texsynth.io.images import list_image_files, load_image, resize_image
from texsynth.vae.config import DIGITS, PATCHES_PREFIX, VAEConfig

__all__ = ["image_kind", "load_dataset", "load_digits", "load_folder", "load_patches", "prepare_images",
           "split_validation", "to_model_pixels"]

# PIL modes that hold one grey channel (with or without alpha).
_GREY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


def _with_channels(rgb: np.ndarray, channels: int) -> np.ndarray:
    """(..., 3) RGB -> (..., 1) ITU-R 601 luminance (as PIL's ``L`` mode) for one channel, else unchanged."""
    return (rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32))[..., None] if channels == 1 else rgb


def to_model_pixels(rgb: np.ndarray, size: int, channels: int) -> np.ndarray:
    """Turn an RGB image in [0, 255] into a (size, size, channels) float32 array in [0, 1].

    The image is centre-cropped to a square first so nothing is stretched; one channel
    means luminance.

    Parameters
    ----------
    rgb : ndarray, shape (H, W, 3)
        Pixels in [0, 255], as :func:`texsynth.io.images.load_image` returns them.
    size, channels : int
        Side of the result and 1 (luminance) or 3 (RGB).

    Returns
    -------
    ndarray, shape (size, size, channels), float32 in [0, 1]
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

    Parameters
    ----------
    size : int
        Side of each image.
    channels : int
        1, or 3 for the grey digit repeated in R, G and B.

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
    """``"grey"`` or ``"colour"`` by how the file stores its pixels (not by what they show).

    Parameters
    ----------
    path : Path
        An image file.

    Returns
    -------
    str
        ``"grey"``, ``"colour"``, or ``"unreadable"`` when PIL cannot open it.
    """
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
    """Load every image in a folder (not its sub-folders), in name order.

    With ``channels=3`` a folder that mixes greyscale and colour files is refused: a colour
    model half-trained on grey copies learns the wrong colour statistics, and such a mix is
    nearly always an accident. With ``channels=1`` everything becomes luminance, so any mix
    is fine.

    Parameters
    ----------
    folder : path-like
        The folder.
    size, channels : int
        Side of each image (centre-cropped, then resized) and 1 or 3.

    Returns
    -------
    ndarray, shape (N, size, size, channels), float32 in [0, 1]

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

    Parameters
    ----------
    image_path : path-like
        The texture.
    size, channels : int
        Patch side and 1 or 3.
    count : int
        Number of patches.
    rng : numpy.random.Generator
        Chooses the patch positions.

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

    Shuffling and patch positions come from a generator seeded with ``config.seed``, so the
    same config always gives the same images in the same order.

    Parameters
    ----------
    config : VAEConfig
        ``data``, ``size``, ``channels``, ``num_patches``, ``max_samples`` and ``seed`` are used.

    Returns
    -------
    ndarray, shape (N, size, size, channels), float32 in [0, 1]

    Raises
    ------
    TexsynthError
        If the data cannot be read (see :func:`load_folder` and :func:`load_patches`).
    """
    rng = np.random.default_rng(config.seed)
    if config.data == DIGITS:
        images = load_digits(config.size, config.channels)
    elif config.data.startswith(PATCHES_PREFIX):
        # VAEConfig has checked that an image follows the prefix.
        images = load_patches(config.data[len(PATCHES_PREFIX):], config.size, config.channels, config.num_patches, rng)
    else:
        images = load_folder(config.data, config.size, config.channels)
    images = images[rng.permutation(len(images))]
    return images[:config.max_samples] if config.max_samples else images


def split_validation(images: np.ndarray, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Split (already shuffled) images into training and validation sets, each non-empty.

    Parameters
    ----------
    images : ndarray, shape (N, ...)
        At least two images.
    fraction : float
        Share of the images held out, rounded, but at least one and leaving at least one.

    Returns
    -------
    train, validation : ndarray
        The last N - n and the first n images.

    Raises
    ------
    TexsynthError
        If there are fewer than two images.
    """
    if len(images) < 2:
        raise TexsynthError(f"need at least 2 images (one to train on, one to validate), got {len(images)}")
    n_val = min(len(images) - 1, max(1, int(round(len(images) * fraction))))
    return images[n_val:], images[:n_val]


def prepare_images(sources: Sequence[str], size: int, channels: int, count: int) -> np.ndarray:
    """Images for reconstruction: files and folders, or ``digits`` (its first ``count``).

    Parameters
    ----------
    sources : sequence of str
        Image files and folders, or just ``"digits"``.
    size, channels : int
        The model's image side and channel count.
    count : int
        How many of the bundled digits to take; unused for files.

    Returns
    -------
    ndarray, shape (N, size, size, channels), float32 in [0, 1]
    """
    if list(sources) == [DIGITS]:
        return load_digits(size, channels)[:count]
    files = list_image_files(sources)
    return np.stack([to_model_pixels(load_image(path), size, channels) for path in files])

