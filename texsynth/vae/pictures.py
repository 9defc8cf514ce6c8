"""Pictures a trained VAE draws: the latent-plane grid, random samples, and originals beside
their reconstructions, all as float32 arrays in [0, 1] until :func:`to_picture`."""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

from texsynth.errors import TexsynthError
from texsynth.vae.model import VAE, decode, encode

__all__ = ["grid_latents", "latent_grid", "reconstruct_images", "sample_images", "tile", "to_picture"]


def tile(images: np.ndarray, columns: int, gap: int = 0, gap_value: float = 0.5) -> np.ndarray:
    """Lay images out row by row, ``columns`` to a row, ``gap`` pixels apart.

    Parameters
    ----------
    images : ndarray, shape (N, h, w, c)
        The images.
    columns : int
        Images per row.
    gap : int
        Pixels between neighbouring images.
    gap_value : float
        Value of the gaps and of empty cells.

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

    Parameters
    ----------
    n : int
        Points per side.
    latent_dim : int
        Dimensions of the latent space.
    dims : (int, int)
        The dimensions along x and y.
    low, high : float
        The outermost quantiles.

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

    Parameters
    ----------
    model : VAE
        A trained model.
    n : int
        Images per side.
    dims : (int, int)
        The latent dimensions along x and y.

    Returns
    -------
    ndarray, shape (n*size, n*size, channels), float32 in [0, 1]
    """
    images = decode(model, grid_latents(n, model.latent_dim, dims))
    return tile(images, n)


def sample_images(model: VAE, count: int, seed: int = 0) -> np.ndarray:
    """Decode ``count`` latent vectors drawn from the standard normal prior, tiled near-square.

    Parameters
    ----------
    model : VAE
        A trained model.
    count : int
        Number of images.
    seed : int
        Seed of the draws (a generator of its own; global random state is untouched).

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
    model : VAE
        A trained model.
    images : ndarray, shape (N, size, size, channels)
        Originals in [0, 1], already at the model's size and channel count.
    pairs_per_row : int
        Pairs side by side in a row (fewer when there are fewer images).

    Returns
    -------
    ndarray, float32 in [0, 1]
        Pairs ``size`` x ``2*size`` separated by 2-pixel grey gaps.
    """
    z_mean, _ = encode(model, images)
    reconstructions = decode(model, z_mean)
    pairs = np.concatenate([images, reconstructions], axis=2)
    return tile(pairs, min(pairs_per_row, len(pairs)), gap=2)


def to_picture(image: np.ndarray) -> np.ndarray:
    """Turn a picture into pixels for :func:`texsynth.io.images.save_image`.

    Parameters
    ----------
    image : ndarray, shape (H, W, 1) or (H, W, 3)
        Values in [0, 1].

    Returns
    -------
    ndarray, shape (H, W) or (H, W, 3)
        Values in [0, 255]; one channel becomes a greyscale image.
    """
    pixels = image[..., 0] if image.shape[-1] == 1 else image
    return np.clip(pixels * 255.0, 0.0, 255.0)

