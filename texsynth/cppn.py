"""CPPN pattern generator: the network, its rendering at any resolution, z paths and its file format.

A compositional pattern-producing network (CPPN) colours each pixel independently,
``c = f(w, z, x, y, r)`` with ``r = sqrt(x^2 + y^2)``, using a small fully connected network
whose weights ``w`` are random unit Gaussians and a latent vector ``z``. Because the picture
is a function of continuous coordinates, one network renders at any size.

This module owns:

* :class:`CPPNConfig` - every setting of a network (the one configuration dataclass);
* :func:`build_cppn` - seeded weight initialisation (``numpy.random.Generator``);
* :func:`render_rows` / :func:`render` - chunked rendering with bounded memory;
* :func:`interpolate_z` - looping z paths for morph animations;
* :func:`save_cppn` / :func:`load_cppn` - a small ``.npz`` file (weights, z, JSON settings);
* :func:`render_seed_image` - the colour seed image used by the texture synthesizer.

It is pure numpy (no TensorFlow import, so ``texsynth cppn`` starts fast). The command line
lives in :mod:`texsynth.cppn_cli`.

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

import json
import os
import secrets
import zipfile
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np

from texsynth.blas import one_blas_thread
from texsynth.errors import TexsynthError

#: Architectures (``--arch``): name -> one-line description for ``--help`` (read-only).
ARCHITECTURES: Mapping[str, str] = MappingProxyType({
    "tanh": "tanh on every layer (classic CPPN look)",
    "tanh-softplus": "alternating softplus / tanh hidden layers (softer, layered shapes)",
    "softplus-sine": "softplus / tanh hidden layers with a sine output layer (banded, periodic)",
    "gaussian": "alternating gaussian / tanh hidden layers (rings and blobs)",
    "abs": "alternating |x| / tanh hidden layers (folded, crystalline edges)",
    "residual": "tanh layers with skip connections h + tanh(Wh + b) (smoother, deeper nets)",
})

#: Version written into saved files; :func:`load_cppn` refuses other versions.
FILE_FORMAT = "texsynth-cppn"
FILE_VERSION = 1

# Each layer's weights come from their own stream so that, for one seed, adding layers keeps
# the earlier ones and changing --channels keeps the hidden layers (the picture changes less).
_STREAM_INPUT, _STREAM_HIDDEN, _STREAM_OUTPUT, _STREAM_Z = 0, 1, 2, 3

# Working arrays of one chunk hold about this many float32 (rows x width x net_size), 2 MiB:
# small enough to stay in cache (measured faster than 16 MiB chunks), large enough that
# per-chunk overhead is negligible.
_CHUNK_TARGET_VALUES = 1 << 19
# A chunk needing more than this for its working arrays is refused as impossible.
_CHUNK_LIMIT_BYTES = 1 << 30
_MAX_SEED = 2**63 - 1
# Side of the fixed sample grid that measures the readout's tone (see _tone).
_TONE_GRID = 64


@dataclass(frozen=True)
class CPPNConfig:
    """Every setting of a CPPN.

    Parameters
    ----------
    z_dim : int
        Length of the latent vector z (>= 1).
    scale : float
        Multiplies x, y, r and z before the first layer; larger zooms out (finer detail).
    net_size : int
        Units per hidden layer.
    layers : int
        Hidden-to-hidden layers after the coordinate input layer (>= 0).
    channels : int
        1 (greyscale) or 3 (RGB).
    arch : str
        One of :data:`ARCHITECTURES`.
    contrast : float
        Gain on the standardised readout before the output sigmoid; higher gives harder
        edges and purer colours. Unused when ``normalize`` is False.
    normalize : bool
        Standardise the readout per channel (on a fixed sample grid) before the sigmoid, so
        the picture uses the full tonal range. False gives the classic raw
        ``sigmoid(readout)``, often mostly black or white.
    random_seed : int or None
        Seed of the weights; None draws a fresh one in :func:`build_cppn`.
    z_seed : int or None
        Seed of z; None uses ``random_seed``.
    """

    z_dim: int = 8
    scale: float = 10.0
    net_size: int = 32
    layers: int = 3
    channels: int = 3
    arch: str = "tanh"
    contrast: float = 2.0
    normalize: bool = True
    random_seed: int | None = None
    z_seed: int | None = None

    def validate(self) -> "CPPNConfig":
        """Check every field and return ``self``.

        Raises
        ------
        TexsynthError
            Naming the first bad setting.
        """
        for name in ("z_dim", "net_size", "layers", "channels"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TexsynthError(f"CPPN setting {name} must be an integer, got {value!r}")
        if self.z_dim < 1:
            raise TexsynthError(f"z-dim must be at least 1, got {self.z_dim}")
        if self.net_size < 1:
            raise TexsynthError(f"net-size must be at least 1, got {self.net_size}")
        if self.layers < 0:
            raise TexsynthError(f"layers must be 0 or more, got {self.layers}")
        if self.channels not in (1, 3):
            raise TexsynthError(f"channels must be 1 (greyscale) or 3 (RGB), got {self.channels}")
        if self.arch not in ARCHITECTURES:
            raise TexsynthError(f"unknown CPPN architecture {self.arch!r} (choose from {', '.join(ARCHITECTURES)})")
        for name in ("scale", "contrast"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                    or not np.isfinite(value) or value <= 0:
                raise TexsynthError(f"{name} must be a positive number, got {value!r}")
        if not isinstance(self.normalize, (bool, np.bool_)):
            raise TexsynthError(f"normalize must be true or false, got {self.normalize!r}")
        for name in ("random_seed", "z_seed"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= _MAX_SEED:
                raise TexsynthError(f"{name.replace('_', '-')} must be an integer in [0, 2**63), got {value!r}")
        return self


@dataclass(frozen=True, eq=False)  # arrays have no single truth value to compare
class CPPN:
    """A CPPN with concrete weights and its own latent vector.

    Attributes
    ----------
    config : CPPNConfig
        Settings, with both seeds filled in.
    w_in : ndarray, shape (3 + z_dim, net_size), float32
        Input weights; rows are x, y, r, then z.
    b_in : ndarray, shape (net_size,), float32
    hidden : tuple of (W, b)
        ``layers`` pairs, W (net_size, net_size) and b (net_size,), float32.
    w_out : ndarray, shape (net_size, channels), float32
    b_out : ndarray, shape (channels,), float32
    z : ndarray, shape (z_dim,), float64
        The latent vector rendered when no other z is given.
    """

    config: CPPNConfig
    w_in: np.ndarray
    b_in: np.ndarray
    hidden: tuple[tuple[np.ndarray, np.ndarray], ...]
    w_out: np.ndarray
    b_out: np.ndarray
    z: np.ndarray


def new_seed() -> int:
    """A fresh random seed.

    Returns
    -------
    int
        In [0, 2**31), short enough to type back on a command line.
    """
    return secrets.randbelow(2**31)


def _rng(seed: int, stream: int, index: int = 0) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, stream, index]))


def draw_z(z_dim: int, z_seed: int) -> np.ndarray:
    """Draw a latent vector uniformly from ``[-1, 1]^z_dim``.

    Parameters
    ----------
    z_dim : int
        Length of z.
    z_seed : int
        Seed; the same seed always gives the same z (and a longer z starts with the shorter one).

    Returns
    -------
    ndarray, shape (z_dim,), float64
    """
    if z_dim < 1:
        raise TexsynthError(f"z-dim must be at least 1, got {z_dim}")
    if not 0 <= z_seed <= _MAX_SEED:
        raise TexsynthError(f"z-seed must be an integer in [0, 2**63), got {z_seed!r}")
    return _rng(z_seed, _STREAM_Z).uniform(-1.0, 1.0, size=z_dim)


def build_cppn(config: CPPNConfig) -> CPPN:
    """Draw a CPPN's weights (unit Gaussians, with a bias on every layer) and its z.

    Parameters
    ----------
    config : CPPNConfig
        Settings. A None ``random_seed`` is replaced by a fresh seed, a None ``z_seed`` by
        ``random_seed``; the returned ``CPPN.config`` holds the seeds actually used.

    Returns
    -------
    CPPN

    Raises
    ------
    TexsynthError
        If a setting is invalid.
    """
    config.validate()
    seed = new_seed() if config.random_seed is None else int(config.random_seed)
    z_seed = seed if config.z_seed is None else int(config.z_seed)
    config = replace(config, random_seed=seed, z_seed=z_seed)
    n = config.net_size

    def gaussian(stream: int, index: int, shape: tuple[int, ...]) -> np.ndarray:
        return _rng(seed, stream, index).standard_normal(shape).astype(np.float32)

    # Weight matrix first, then the bias, from one stream per layer.
    first = gaussian(_STREAM_INPUT, 0, (3 + config.z_dim + 1, n))
    hidden = []
    for i in range(config.layers):
        pair = gaussian(_STREAM_HIDDEN, i, (n + 1, n))
        hidden.append((pair[:n].copy(), pair[n].copy()))
    last = gaussian(_STREAM_OUTPUT, 0, (n + 1, config.channels))
    return CPPN(config=config, w_in=first[:-1].copy(), b_in=first[-1].copy(), hidden=tuple(hidden),
                w_out=last[:-1].copy(), b_out=last[-1].copy(), z=draw_z(config.z_dim, z_seed))


# ----------------------------------------------------------------------------------------------
# Activations (in place on float32 arrays, so a chunk needs no extra temporaries)

def _tanh(a: np.ndarray) -> np.ndarray:
    return np.tanh(a, out=a)


def _softplus(a: np.ndarray) -> np.ndarray:
    # log(1 + e^a) = max(a, 0) + log1p(e^-|a|): no overflow for large |a|.
    positive = np.maximum(a, 0)
    np.abs(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    np.log1p(a, out=a)
    return np.add(a, positive, out=a)


def _sine(a: np.ndarray) -> np.ndarray:
    return np.sin(a, out=a)


def _gaussian(a: np.ndarray) -> np.ndarray:
    np.square(a, out=a)
    np.negative(a, out=a)
    return np.exp(a, out=a)


def _abs(a: np.ndarray) -> np.ndarray:
    return np.abs(a, out=a)


def _sigmoid(a: np.ndarray) -> np.ndarray:
    # sigmoid(a) = (1 + tanh(a / 2)) / 2 never overflows, unlike 1 / (1 + exp(-a)).
    np.multiply(a, np.float32(0.5), out=a)
    np.tanh(a, out=a)
    np.multiply(a, np.float32(0.5), out=a)
    return np.add(a, np.float32(0.5), out=a)


Activation = Callable[[np.ndarray], np.ndarray]


def _plan(arch: str, layers: int) -> tuple[Activation, list[Activation], bool]:
    """Activation of the input layer, of each hidden layer, and whether hidden layers are residual."""
    if arch == "tanh":
        return _tanh, [_tanh] * layers, False
    if arch == "residual":
        return _tanh, [_tanh] * layers, True
    if arch == "tanh-softplus":
        return _tanh, [_softplus if i % 2 == 0 else _tanh for i in range(layers)], False
    if arch == "softplus-sine":
        if layers == 0:
            return _sine, [], False
        return _tanh, [_softplus if i % 2 == 0 else _tanh for i in range(layers - 1)] + [_sine], False
    if arch == "gaussian":
        return _tanh, [_gaussian if i % 2 == 0 else _tanh for i in range(layers)], False
    if arch == "abs":
        return _tanh, [_abs if i % 2 == 0 else _tanh for i in range(layers)], False
    raise TexsynthError(f"unknown CPPN architecture {arch!r} (choose from {', '.join(ARCHITECTURES)})")


# ----------------------------------------------------------------------------------------------
# Rendering

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
    ndarray, shape (count,), float64
    """
    index = np.arange(count, dtype=np.float64)
    return (2.0 * index + 1.0 - count) / short_side * scale


def default_chunk_rows(width: int, net_size: int) -> int:
    """Rows per chunk that keep the working arrays near 2 MiB each (at least one row)."""
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

    Yields
    ------
    (int, ndarray)
        Index of the chunk's first row, and its pixels, shape (rows, width, channels),
        float32 in [0, 1].

    Raises
    ------
    TexsynthError
        For a non-positive size, a bad chunk size or a z of the wrong shape; raised by the
        call itself, before any work.
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
    first_act, hidden_acts, residual = _plan(net.config.arch, net.config.layers)
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
    z : ndarray, optional
        Latent vector; ``net.z`` by default.
    chunk_rows : int, optional
        See :func:`render_rows`; does not change the result.

    Returns
    -------
    ndarray, shape (height, width, channels), float32
        Values in [0, 1].
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
        ``round(255 * pixels)``, same shape.
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
    ndarray, shape (height, width, 3), float32
        RGB values in [0, 255].

    Raises
    ------
    TexsynthError
        For a non-positive size or an invalid seed.
    """
    _check_size(width, height)
    net = build_cppn(CPPNConfig(channels=3, random_seed=random_seed))
    image = render(net, width, height)
    return np.multiply(image, np.float32(255.0), out=image)


# ----------------------------------------------------------------------------------------------
# Latent paths

def interpolate_z(keyframes: Sequence[np.ndarray], n_frames: int) -> list[np.ndarray]:
    """A looping path through latent vectors: z1 -> z2 -> ... -> zk -> z1.

    Each leg eases in and out (cosine), so the motion slows at every keyframe. With
    ``n_frames`` a multiple of ``k``, frame ``s * n_frames / k`` is exactly keyframe ``s``;
    the last frame stops just before z1 so the animation loops without a repeated frame.

    Parameters
    ----------
    keyframes : sequence of ndarray, shape (z_dim,)
        At least two latent vectors of the same length.
    n_frames : int
        Frames in the whole loop (>= 2).

    Returns
    -------
    list of ndarray, float64
    """
    keys = [np.asarray(k, dtype=np.float64) for k in keyframes]
    if len(keys) < 2:
        raise TexsynthError("a z path needs at least two keyframes")
    if any(k.shape != keys[0].shape or k.ndim != 1 for k in keys):
        raise TexsynthError("all z keyframes must be vectors of the same length")
    if isinstance(n_frames, bool) or not isinstance(n_frames, (int, np.integer)) or n_frames < 2:
        raise TexsynthError(f"a morph needs at least 2 frames, got {n_frames!r}")
    legs = len(keys)
    path = []
    for i in range(n_frames):
        # Integer arithmetic so that keyframe frames get u == 0 exactly.
        leg, rest = divmod(i * legs, n_frames)
        u = rest / n_frames
        ease = 0.5 - 0.5 * np.cos(np.pi * u)
        start, end = keys[leg], keys[(leg + 1) % legs]
        path.append((1.0 - ease) * start + ease * end)
    return path


# ----------------------------------------------------------------------------------------------
# File format: an uncompressed .npz with float arrays and a JSON "settings" string

def save_cppn(net: CPPN, path: str | os.PathLike) -> Path:
    """Atomically write a network (weights, z and settings) to a small ``.npz`` file.

    Parameters
    ----------
    net : CPPN
        The network.
    path : path-like
        Destination; written as given (no extension is added).

    Returns
    -------
    Path
    """
    from texsynth.io import atomic_path  # PIL-importing module; only needed when saving

    path = Path(path)
    if path.is_dir():
        raise TexsynthError(f"{path} is a directory; give a file name such as {path / 'net.npz'}")
    settings = {"format": FILE_FORMAT, "version": FILE_VERSION, **asdict(net.config)}
    arrays = {"settings": np.array(json.dumps(settings)), "z": net.z, "w_in": net.w_in, "b_in": net.b_in,
              "w_out": net.w_out, "b_out": net.b_out}
    for i, (weight, bias) in enumerate(net.hidden):
        arrays[f"w_hidden_{i}"] = weight
        arrays[f"b_hidden_{i}"] = bias
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:  # a file object, so numpy does not append ".npz"
            np.savez(handle, **arrays)
    return path


def _config_from_settings(text: str, path: Path) -> CPPNConfig:
    try:
        settings = json.loads(text)
    except json.JSONDecodeError:
        raise TexsynthError(f"{path}: corrupt CPPN settings (not JSON)") from None
    if not isinstance(settings, dict) or settings.get("format") != FILE_FORMAT:
        raise TexsynthError(f"{path} is not a texsynth CPPN file")
    if settings.get("version") != FILE_VERSION:
        raise TexsynthError(f"{path}: unsupported CPPN file version {settings.get('version')!r} "
                            f"(this texsynth reads version {FILE_VERSION})")
    names = {f.name for f in fields(CPPNConfig)}
    missing = names - settings.keys()
    if missing:
        raise TexsynthError(f"{path}: CPPN settings lack {', '.join(sorted(missing))}")
    config = CPPNConfig(**{name: settings[name] for name in names})
    return config.validate()


def load_cppn(path: str | os.PathLike) -> CPPN:
    """Read a network written by :func:`save_cppn`.

    Parameters
    ----------
    path : path-like
        The ``.npz`` file.

    Returns
    -------
    CPPN

    Raises
    ------
    TexsynthError
        If the file is missing, unreadable, corrupt, from another format or version, or its
        arrays do not match its settings.
    """
    path = Path(path)
    if path.is_dir():
        raise TexsynthError(f"expected a CPPN file, got a directory: {path}")
    try:
        # Our own handle: np.load leaks the one it opens when the zip directory is corrupt.
        with open(path, "rb") as handle:
            magic = handle.read(6)
            handle.seek(0)
            if magic == b"\x93NUMPY":
                raise TexsynthError(f"{path} is not a texsynth CPPN file (a bare array, not an .npz)")
            if not magic.startswith(b"PK\x03\x04"):
                raise TexsynthError(f"{path} is not a texsynth CPPN file (not an .npz archive)")
            data = np.load(handle, allow_pickle=False)
            with data:
                arrays = {name: data[name] for name in data.files}
    except FileNotFoundError:
        raise TexsynthError(f"no such CPPN file: {path}") from None
    except PermissionError:
        raise TexsynthError(f"cannot read CPPN file {path}: permission denied") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as error:
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise TexsynthError(f"{path} is not a readable CPPN file (corrupt or wrong format: {detail})") from None

    if "settings" not in arrays or arrays["settings"].dtype.kind != "U" or arrays["settings"].ndim != 0:
        raise TexsynthError(f"{path} is not a texsynth CPPN file (no settings entry)")
    config = _config_from_settings(str(arrays["settings"]), path)
    if config.random_seed is None or config.z_seed is None:
        raise TexsynthError(f"{path}: CPPN settings lack a seed")

    n, c = config.net_size, config.channels
    expected = {"z": (config.z_dim,), "w_in": (3 + config.z_dim, n), "b_in": (n,), "w_out": (n, c), "b_out": (c,)}
    for i in range(config.layers):
        expected[f"w_hidden_{i}"] = (n, n)
        expected[f"b_hidden_{i}"] = (n,)
    for name, shape in expected.items():
        array = arrays.get(name)
        if array is None:
            raise TexsynthError(f"{path}: CPPN file lacks the array {name!r}")
        if array.shape != shape or array.dtype.kind != "f":
            raise TexsynthError(f"{path}: CPPN array {name!r} has shape {array.shape} ({array.dtype}), "
                                f"expected {shape} floats")
        if not np.all(np.isfinite(array)):
            raise TexsynthError(f"{path}: CPPN array {name!r} holds non-finite values")

    def f32(name: str) -> np.ndarray:
        return arrays[name].astype(np.float32)

    hidden = tuple((f32(f"w_hidden_{i}"), f32(f"b_hidden_{i}")) for i in range(config.layers))
    return CPPN(config=config, w_in=f32("w_in"), b_in=f32("b_in"), hidden=hidden, w_out=f32("w_out"),
                b_out=f32("b_out"), z=arrays["z"].astype(np.float64))


def with_z(net: CPPN, z_seed: int) -> CPPN:
    """The same weights with the latent vector drawn from ``z_seed``.

    Parameters
    ----------
    net : CPPN
        The network.
    z_seed : int
        Seed of the new z (see :func:`draw_z`).

    Returns
    -------
    CPPN
        A copy whose ``z`` and ``config.z_seed`` are replaced.
    """
    config = replace(net.config, z_seed=z_seed).validate()
    return replace(net, config=config, z=draw_z(config.z_dim, z_seed))
