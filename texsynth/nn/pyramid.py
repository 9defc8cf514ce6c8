"""Gaussian and Laplacian image pyramids with the 5-tap Burt–Adelson kernel.

Each reduction blurs with the separable kernel ``[1/4 - a/2, 1/4, a, 1/4, 1/4 - a/2]`` (a = 0.4) and
keeps every second pixel. The padding says what lies beyond the border:

- ``valid``: nothing; a level of size n has (n - 5) // 2 + 1 pixels.
- ``same``: the border mirrored; a level has ceil(n / 2) pixels.
- ``wrap``: the opposite border, as on a torus (a periodic image); a level has ceil(n / 2) pixels.

A constant image stays constant in every mode. Images are (N, H, W, C) tensors.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

__all__ = ["burt_adelson_kernel", "detail", "expand", "gaussian_pyramid", "laplacian_pyramid", "level_sizes",
           "reduce", "reduced_size", "wrap_pad"]

TAPS = 5


def burt_adelson_kernel(a: float = 0.4) -> np.ndarray:
    """The 1-D generating kernel of Burt & Adelson (1983); it sums to 1."""
    return np.array([0.25 - a / 2, 0.25, a, 0.25, 0.25 - a / 2], dtype=np.float32)


def reduced_size(size: int, padding: str) -> int:
    """Size of the next pyramid level."""
    return (size - TAPS) // 2 + 1 if padding == "valid" else -(-size // 2)


def level_sizes(size: int, octaves: int, padding: str) -> list[int]:
    """Sizes of all ``octaves`` levels, finest first (may reach zero or below if too small)."""
    sizes = [size]
    for _ in range(octaves - 1):
        sizes.append(reduced_size(sizes[-1], padding) if sizes[-1] >= TAPS else 0)
    return sizes


def wrap_pad(x: tf.Tensor, pixels: int) -> tf.Tensor:
    """Pad the height and width of ``x`` (N, H, W, C) by ``pixels`` on each side with the opposite border.

    The result is a window onto the periodic image that ``x`` is one tile of, so a 'valid' operation
    on it equals the circular operation on ``x``. ``pixels`` must not exceed H or W.
    """
    if pixels == 0:
        return x
    return _wrap_axis(_wrap_axis(x, pixels, 1), pixels, 2)


def _wrap_axis(x: tf.Tensor, p: int, axis: int) -> tf.Tensor:
    """Wrap-pad one axis; the gradient folds the padding back onto the opposite border.

    Automatic differentiation of the concatenation scatters every piece into a zero tensor of the
    padded size and sums them, several passes over a large map; folding reads it once.
    """
    size = x.shape[axis]

    def part(t: tf.Tensor, start: int, stop: int) -> tf.Tensor:
        # tf.slice rather than indexing: the same copy, but indexing traces several ops per slice,
        # and these slices were most of a stage's objective's ops (a tenth of its trace time).
        begin, length = [0, 0, 0, 0], [-1, -1, -1, -1]
        begin[axis], length[axis] = start, stop - start
        return tf.slice(t, begin, length)

    @tf.custom_gradient
    def pad(x: tf.Tensor):
        def grad(dy: tf.Tensor) -> tf.Tensor:
            if size >= 2 * p:
                return tf.concat([part(dy, p, 2 * p) + part(dy, size + p, size + 2 * p),
                                  part(dy, 2 * p, size),
                                  part(dy, size, size + p) + part(dy, 0, p)], axis=axis)
            # Tiny maps: the pads overlap; fold each pad as a whole.
            return (part(dy, p, size + p)
                    + tf.concat([part(dy, size + p, size + 2 * p), tf.zeros_like(part(x, p, size))], axis=axis)
                    + tf.concat([tf.zeros_like(part(x, 0, size - p)), part(dy, 0, p)], axis=axis))

        return tf.concat([part(x, size - p, size), x, part(x, 0, p)], axis=axis), grad

    return pad(x)


def _blur(x: tf.Tensor, kernel: np.ndarray, strides: int) -> tf.Tensor:
    """Depthwise 5x5 blur (the outer product of ``kernel``), 'valid', with the given stride.

    One 2-D pass with equal strides rather than two 1-D passes: depthwise convolutions with
    different row and column strides run only on oneDNN, not on TensorFlow's Eigen or GPU kernels.
    """
    channels = x.shape[-1]
    k2d = tf.constant(np.outer(kernel, kernel)[:, :, None, None], dtype=x.dtype)
    return tf.nn.depthwise_conv2d(x, tf.tile(k2d, (1, 1, channels, 1)), strides=(1, strides, strides, 1),
                                  padding="VALID")


def reduce(x: tf.Tensor, padding: str = "valid", a: float = 0.4) -> tf.Tensor:
    """Blur and subsample by 2: the next level of a Gaussian pyramid.

    Parameters
    ----------
    x : Tensor, shape (N, H, W, C)
    padding : {"valid", "same", "wrap"}
        ``same`` mirrors the border and ``wrap`` continues it periodically, so every output pixel
        sees a full kernel.
    a : float
        Centre tap of the Burt–Adelson kernel.

    Returns
    -------
    Tensor, shape (N, H', W', C) with H' = :func:`reduced_size` (H, padding).
    """
    if padding == "same":
        # An odd size needs one more row so that the stride-2 output has ceil(n/2) pixels.
        extra_h, extra_w = x.shape[1] % 2, x.shape[2] % 2
        x = tf.pad(x, [[0, 0], [2, 2 + extra_h], [2, 2 + extra_w], [0, 0]], mode="SYMMETRIC")
    elif padding == "wrap":
        x = wrap_pad(x, 2)
    return _blur(x, burt_adelson_kernel(a), strides=2)


def detail(x: tf.Tensor, padding: str = "same", a: float = 0.4) -> tf.Tensor:
    """High-pass band of an image: itself minus its Burt–Adelson blur, same size.

    The blur mirrors the border, or wraps it around for ``padding="wrap"`` (a periodic image).
    """
    if padding == "wrap":
        padded = wrap_pad(x, 2)
    else:
        padded = tf.pad(x, [[0, 0], [2, 2], [2, 2], [0, 0]], mode="SYMMETRIC")
    return x - _blur(padded, burt_adelson_kernel(a), strides=1)


def gaussian_pyramid(x: tf.Tensor, octaves: int, padding: str = "valid") -> list[tf.Tensor]:
    """The ``octaves`` levels of a Gaussian pyramid, finest (``x`` itself) first."""
    levels = [x]
    for _ in range(octaves - 1):
        levels.append(reduce(levels[-1], padding))
    return levels


def expand(x: tf.Tensor, height: int, width: int, a: float = 0.4) -> tf.Tensor:
    """Upsample by 2 (zero insertion, then the same blur with 4× gain) to (height, width)."""
    n, h, w, c = x.shape
    # Insert zeros by stacking with zeros and reshaping; mirror-pad so the border keeps its level.
    zeros = tf.zeros_like(x)
    x = tf.reshape(tf.stack([x, zeros], axis=3), (n, h, 2 * w, c))
    x = tf.reshape(tf.stack([x, tf.zeros_like(x)], axis=2), (n, 2 * h, 2 * w, c))
    x = tf.pad(x, [[0, 0], [2, 2], [2, 2], [0, 0]], mode="REFLECT")
    x = 4.0 * _blur(x, burt_adelson_kernel(a), strides=1)
    return x[:, :height, :width, :]


def laplacian_pyramid(x: tf.Tensor, octaves: int) -> list[tf.Tensor]:
    """Band-pass levels (finest first) of a mirrored-border Laplacian pyramid; the last is the residual."""
    gaussian = gaussian_pyramid(x, octaves, padding="same")
    bands = [fine - expand(coarse, fine.shape[1], fine.shape[2]) for fine, coarse in zip(gaussian, gaussian[1:])]
    return bands + [gaussian[-1]]
