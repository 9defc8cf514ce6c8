"""Rendering a CPPN at any resolution, chunk by chunk with bounded memory.

It is pure numpy (no TensorFlow import), so ``texsynth cppn`` starts fast and the texture
synthesizer can draw its CPPN seed image cheaply (:func:`render_seed_image`).

Coordinate convention
---------------------
Pixel ``(i, j)`` (column, row) is sampled at its centre. The *shorter* image side spans
``[-1, 1]`` and the longer one ``[-a, a]`` with ``a`` = long side / short side, so a
non-square image shows more of the same pattern instead of stretching it::

    x_i = (2 i + 1 - width)  / min(width, height)
    y_j = (2 j + 1 - height) / min(width, height)

``y`` grows downwards. ``x``, ``y``, ``r`` and ``z`` are then multiplied by ``scale``.
With pixel centres, the mean of a 2x render's 2x2 block sits exactly on the 1x pixel's
coordinate, which is what makes renders at different sizes agree.

Output
------
The readout (one unit per channel) goes through a sigmoid into [0, 1]. By default it is
first standardised with a per-channel mean and spread measured on a fixed 64 x 64 sample of
the square ``[-scale, scale]^2`` and multiplied by ``contrast``: with unit-Gaussian weights
the raw readout's offset often dwarfs its variation, giving flat white or black pictures.
The sample does not depend on the output size, so every size gets the same tone curve.

Exactness of chunked rendering
------------------------------
Every quantity a pixel depends on is computed from its *global* row and column index, in
the same order of operations whatever the chunk, and the matrix products are made one image
row at a time (one BLAS call per row, always of shape width x net_size), so a chunked render
is bit-for-bit equal to an unchunked one. (BLAS may round differently for a row of another
width, so the middle of a wide render matches a square one only to float32 rounding.)
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from texsynth.cppn.model import CPPN, CPPNConfig, build_cppn, layer_activations
from texsynth.errors import TexsynthError
from texsynth.runtime.blas import one_blas_thread

__all__ = ["axis_coordinates", "default_chunk_rows", "render", "render_rows", "render_seed_image",
           "unit_to_uint8"]

# Working arrays of one chunk hold about this many float32 (rows x width x net_size), 2 MiB:
# small enough to stay in cache (measured faster than 16 MiB chunks), large enough that
# per-chunk overhead is negligible.
_CHUNK_TARGET_VALUES = 1 << 19
# A chunk needing more than this for its working arrays is refused as impossible.
_CHUNK_LIMIT_BYTES = 1 << 30
# Side of the fixed sample grid that measures the readout's tone (see _tone).
_TONE_GRID = 64


def axis_coordinates(count: int, short_side: int, scale: float) -> np.ndarray:
    """Scaled pixel-centre coordinates along one axis (see the module's coordinate convention).

    Parameters
    ----------
    count : int
        Pixels along this axis.
    short_side : int
        ``min(width, height)``; that side spans [-1, 1] before scaling.
    scale : float
        The network's ``scale``.

    Returns
    -------
    ndarray, float64

    Shape
    -----
    (count,)
    """
    index = np.arange(count, dtype=np.float64)
    return (2.0 * index + 1.0 - count) / short_side * scale


def default_chunk_rows(width: int, net_size: int) -> int:
    """Rows per chunk that keep the working arrays near 2 MiB each.

    Parameters
    ----------
    width : int
        Image width in pixels.
    net_size : int
        Units per hidden layer.

    Returns
    -------
    int
        At least 1.
    """
    return max(1, _CHUNK_TARGET_VALUES // max(1, width * net_size))


def _check_size(width: int, height: int) -> None:
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise TexsynthError(f"image {name} must be a positive integer, got {value!r}")


def _check_chunk(chunk_rows: int, width: int, net_size: int, memory: bool = True) -> None:
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, (int, np.integer)) or chunk_rows < 1:
        raise TexsynthError(f"chunk rows must be a positive integer, got {chunk_rows!r}")
    if not memory:
        return
    needed = 3 * chunk_rows * width * net_size * 4
    if needed > _CHUNK_LIMIT_BYTES:
        fit = max(1, _CHUNK_LIMIT_BYTES // (3 * width * net_size * 4))
        raise TexsynthError(f"a chunk of {chunk_rows} rows x {width} pixels needs {needed / 2**30:.1f} GiB of "
                            f"working memory (limit {_CHUNK_LIMIT_BYTES / 2**30:.0f} GiB); use at most {fit} rows")


def _check_z(net: CPPN, z: np.ndarray | None) -> np.ndarray:
    if z is None:
        return net.z
    z = np.asarray(z, dtype=np.float64)
    if z.shape != (net.config.z_dim,):
        raise TexsynthError(f"z must have shape ({net.config.z_dim},) for this network, got {z.shape}")
    if not np.all(np.isfinite(z)):
        raise TexsynthError("z must be finite")
    return z


def render_rows(net: CPPN, width: int, height: int, z: np.ndarray | None = None,
                chunk_rows: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Render an image chunk by chunk, top to bottom.

    Parameters
    ----------
    net : CPPN
        The network.
    width, height : int
        Image size in pixels (any positive size).
    z : ndarray, shape (z_dim,), optional
        Latent vector; ``net.z`` by default.
    chunk_rows : int, optional
        Rows per chunk; by default about 2 MiB per working array. Chunking changes memory
        use and nothing else: the pixels are bit-for-bit the same for every chunk size.

    Returns
    -------
    iterator of (int, ndarray)
        Index of the chunk's first row, and its pixels, float32 in [0, 1].

    Shape
    -----
    Each chunk is (rows, width, channels); the rows add up to ``height``.

    Raises
    ------
    TexsynthError
        For a non-positive size, a bad chunk size or a z of the wrong shape; raised by the
        call itself, before any work (the rendering is a separate generator).
    """
    _check_size(width, height)
    cfg = net.config
    rows_per_chunk = default_chunk_rows(width, cfg.net_size) if chunk_rows is None else chunk_rows
    _check_chunk(rows_per_chunk, width, cfg.net_size, memory=False)
    rows_per_chunk = min(rows_per_chunk, height)  # more rows than the image has cost nothing
    _check_chunk(rows_per_chunk, width, cfg.net_size)
    z = _check_z(net, z)
    return _render_chunks(net, width, height, z, rows_per_chunk)


def _z_term(net: CPPN, z: np.ndarray) -> np.ndarray:
    # The z term is the same for every pixel: one float64 product, rounded once.
    zw = (z * net.config.scale) @ net.w_in[3:].astype(np.float64)
    return (zw + net.b_in).astype(np.float32)


def _readout(net: CPPN, x64: np.ndarray, y64: np.ndarray, z_term: np.ndarray) -> np.ndarray:
    """Pre-sigmoid output for the pixels at columns ``x64`` of rows ``y64``: (rows, cols, channels)."""
    first_act, hidden_acts, residual = layer_activations(net.config.arch, net.config.layers)
    wx, wy, wr = (net.w_in[k] for k in range(3))
    # Every term is a function of one global coordinate, summed in a fixed order, so a pixel's
    # value does not depend on which chunk it is rendered in.
    x_term = x64.astype(np.float32)[:, None] * wx  # (cols, n)
    row_term = y64.astype(np.float32)[:, None] * wy + z_term  # (rows, n)
    r32 = np.hypot(x64[None, :], y64[:, None]).astype(np.float32)  # (rows, cols)
    h = np.add(x_term[None, :, :], row_term[:, None, :])  # (rows, cols, n)
    h += r32[:, :, None] * wr
    first_act(h)
    for (weight, bias), act in zip(net.hidden, hidden_acts):
        a = _rowwise_matmul(h, weight)
        a += bias
        act(a)
        if residual:
            h += a
        else:
            h = a
    out = _rowwise_matmul(h, net.w_out)
    out += net.b_out
    return out


def _rowwise_matmul(h: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """(rows, cols, n) @ (n, m), one BLAS call per image row.

    A single call on all the chunk's pixels would be as fast, but whether BLAS gives a row
    the same bits regardless of how many rows share the call is up to its kernels; one call
    per row with the same shape makes chunked and unchunked renders equal by construction.
    (numpy's stacked matmul would do the same but skips BLAS, ~20x slower.)
    """
    out = np.empty(h.shape[:-1] + weight.shape[1:], dtype=np.float32)
    for row in range(h.shape[0]):
        np.matmul(h[row], weight, out=out[row])
    return out


def _tone(net: CPPN, z_term: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel shift and gain applied to the readout before the sigmoid.

    With ``normalize``, the readout is standardised with its mean and spread over a fixed
    64 x 64 sample of the square [-scale, scale]^2, whatever the output size or aspect, so
    every render of one (network, z) uses the same tone curve. Unit-Gaussian weights give
    readouts whose offset often dwarfs their variation (a flat white or black picture);
    standardising keeps the full tonal range. ``contrast`` then sets how hard the sigmoid
    saturates.
    """
    cfg = net.config
    channels = cfg.channels
    if not cfg.normalize:
        return np.zeros(channels, np.float32), np.ones(channels, np.float32)
    grid = axis_coordinates(_TONE_GRID, _TONE_GRID, cfg.scale)
    sample = _readout(net, grid, grid, z_term).reshape(-1, channels).astype(np.float64)
    mean, spread = sample.mean(axis=0), sample.std(axis=0)
    spread = np.where(spread > 1e-6, spread, 1.0)  # a flat readout stays flat instead of exploding
    return mean.astype(np.float32), (cfg.contrast / spread).astype(np.float32)


def _sigmoid(a: np.ndarray) -> np.ndarray:
    # sigmoid(a) = (1 + tanh(a / 2)) / 2 never overflows, unlike 1 / (1 + exp(-a)); in place,
    # like the activations, so a chunk needs no extra temporaries.
    np.multiply(a, np.float32(0.5), out=a)
    np.tanh(a, out=a)
    np.multiply(a, np.float32(0.5), out=a)
    return np.add(a, np.float32(0.5), out=a)


def _render_chunks(net: CPPN, width: int, height: int, z: np.ndarray,
                   rows_per_chunk: int) -> Iterator[tuple[int, np.ndarray]]:
    short = min(width, height)
    x64 = axis_coordinates(width, short, net.config.scale)
    y64 = axis_coordinates(height, short, net.config.scale)
    z_term = _z_term(net, z)
    one_thread = one_blas_thread()
    with one_thread():
        shift, gain = _tone(net, z_term)
    for top in range(0, height, rows_per_chunk):
        # Limited per chunk, not around the generator, so code running between chunks keeps
        # its own BLAS threads.
        with one_thread():
            out = _readout(net, x64, y64[top:top + rows_per_chunk], z_term)
        out -= shift
        out *= gain
        yield top, _sigmoid(out)


def render(net: CPPN, width: int, height: int, z: np.ndarray | None = None,
           chunk_rows: int | None = None) -> np.ndarray:
    """Render a whole image.

    Parameters
    ----------
    net : CPPN
        The network.
    width, height : int
        Image size in pixels.
    z : ndarray, shape (z_dim,), optional
        Latent vector; ``net.z`` by default.
    chunk_rows : int, optional
        See :func:`render_rows`; does not change the result.

    Returns
    -------
    ndarray, float32
        Values in [0, 1].

    Shape
    -----
    (height, width, channels)
    """
    chunks = render_rows(net, width, height, z, chunk_rows)
    image = np.empty((height, width, net.config.channels), dtype=np.float32)
    for top, chunk in chunks:
        image[top:top + chunk.shape[0]] = chunk
    return image


def unit_to_uint8(pixels: np.ndarray) -> np.ndarray:
    """Map [0, 1] floats to uint8.

    Parameters
    ----------
    pixels : ndarray
        Values in [0, 1] (clipped).

    Returns
    -------
    ndarray, uint8
        ``round(255 * pixels)``.

    Shape
    -----
    Same as ``pixels``.
    """
    return np.rint(np.clip(pixels, 0.0, 1.0) * 255.0).astype(np.uint8)


def render_seed_image(width: int, height: int, random_seed: int | None) -> np.ndarray:
    """Draw a colour CPPN picture with default settings, as a texture-synthesis seed image.

    Parameters
    ----------
    width, height : int
        Image size in pixels.
    random_seed : int or None
        Seed of the weights and z; None gives a fresh random picture.

    Returns
    -------
    ndarray, float32
        RGB values in [0, 255].

    Shape
    -----
    (height, width, 3)

    Raises
    ------
    TexsynthError
        For a non-positive size or an invalid seed.
    """
    _check_size(width, height)
    net = build_cppn(CPPNConfig(channels=3, random_seed=random_seed))
    image = render(net, width, height)
    return np.multiply(image, np.float32(255.0), out=image)
