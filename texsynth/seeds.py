"""Starting images of synthesis: noise around the sources' mean colour, mirrored blurred noise, a
CPPN pattern, or a given image."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from texsynth.choices import SEED_KINDS
from texsynth.errors import TexsynthError
from texsynth.io.images import resize_image

__all__ = ["make_seed"]


def make_seed(kind: str, count: int, height: int, width: int, mean_rgb: np.ndarray, rng: np.random.Generator,
              border: int = 0, image: np.ndarray | None = None) -> np.ndarray:
    """The starting frames of a canvas.

    Parameters
    ----------
    kind : {"random", "symmetric", "cppn", "image"}
        ``random``: noise around ``mean_rgb`` (pixels the loss barely moves keep a plausible colour);
        ``symmetric``: noise mirrored both ways and blurred; ``cppn``: a pattern of a random CPPN per
        frame; ``image``: ``image`` resized to the output, with a mirrored margin of ``border``.
    count, height, width : int
        Frames and canvas size (the border included).
    mean_rgb : ndarray, shape (3,)
    rng : numpy Generator
    border : int
        Margin of the canvas around the output.
    image : ndarray, shape (H, W, 3), optional
        The starting image, for ``kind="image"``.

    Returns
    -------
    ndarray, shape (count, height, width, 3), float32
        RGB in [0, 255].
    """
    shape = (count, height, width, 3)
    if kind == "random":
        x = mean_rgb + rng.normal(0.0, 16.0, shape)
    elif kind == "symmetric":
        noise = rng.normal(0.0, 1.0, shape)
        noise = noise + noise[:, ::-1]
        noise = noise + noise[:, :, ::-1]
        sigma = max(1.0, min(height, width) / 10)
        blurred = ndimage.gaussian_filter(noise, sigma=(0, sigma, sigma, 0), mode="wrap")
        blurred /= blurred.std() + 1e-12
        x = mean_rgb + 48.0 * blurred + rng.normal(0.0, 2.0, shape)
    elif kind == "cppn":
        from texsynth.cppn.render import render_seed_image

        frame_seeds = rng.integers(0, 2**31, count)
        x = np.stack([render_seed_image(width, height, int(s)) for s in frame_seeds])
    elif kind == "image":
        if image is None:
            raise TexsynthError("seed 'image' needs a starting image (--seed-image FILE)")
        # The image covers the output itself; the margin around it is its mirror image.
        image = resize_image(image, width - 2 * border, height - 2 * border)
        image = np.pad(image, ((border, border), (border, border), (0, 0)), mode="symmetric")
        x = np.repeat(image[None], count, axis=0) + rng.normal(0.0, 2.0, shape)
    else:
        raise TexsynthError(f"unknown seed {kind!r} (choose from {', '.join(SEED_KINDS)})")
    return np.clip(x, 0, 255).astype(np.float32)
