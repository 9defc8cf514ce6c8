"""The CPPN itself: its settings, its seeded weights and latent vector, and its activations.

A compositional pattern-producing network (CPPN) colours each pixel independently,
``c = f(w, z, x, y, r)`` with ``r = sqrt(x^2 + y^2)``, using a small fully connected network
whose weights ``w`` are random unit Gaussians and a latent vector ``z``. How it is evaluated
over an image lives in :mod:`texsynth.cppn.render`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Callable, Mapping

import numpy as np

from texsynth.errors import TexsynthError

__all__ = ["ARCHITECTURES", "CPPN", "Activation", "CPPNConfig", "build_cppn", "draw_z", "layer_activations",
           "new_seed"]

#: Architectures (``--arch``): name -> one-line description for ``--help`` (read-only).
ARCHITECTURES: Mapping[str, str] = MappingProxyType({
    "tanh": "tanh on every layer (classic CPPN look)",
    "tanh-softplus": "alternating softplus / tanh hidden layers (softer, layered shapes)",
    "softplus-sine": "softplus / tanh hidden layers with a sine output layer (banded, periodic)",
    "gaussian": "alternating gaussian / tanh hidden layers (rings and blobs)",
    "abs": "alternating |x| / tanh hidden layers (folded, crystalline edges)",
    "residual": "tanh layers with skip connections h + tanh(Wh + b) (smoother, deeper nets)",
})

# Each layer's weights come from their own stream so that, for one seed, adding layers keeps
# the earlier ones and changing --channels keeps the hidden layers (the picture changes less).
_STREAM_INPUT, _STREAM_HIDDEN, _STREAM_OUTPUT, _STREAM_Z = 0, 1, 2, 3

_MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class CPPNConfig:
    """Every setting of a CPPN, checked when it is made (also by :func:`dataclasses.replace`).

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

    Raises
    ------
    TexsynthError
        Naming the first bad setting.
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

    def __post_init__(self) -> None:
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
    ndarray, float64

    Shape
    -----
    (z_dim,)

    Raises
    ------
    TexsynthError
        For a z_dim below 1 or a seed outside [0, 2**63).
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
    """
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
# Activations work in place on float32 arrays, so a render chunk needs no extra temporaries.

Activation = Callable[[np.ndarray], np.ndarray]


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


def layer_activations(arch: str, layers: int) -> tuple[Activation, list[Activation], bool]:
    """The activations an architecture applies.

    Parameters
    ----------
    arch : str
        One of :data:`ARCHITECTURES`.
    layers : int
        Hidden-to-hidden layers of the network.

    Returns
    -------
    first : callable
        Activation of the coordinate input layer.
    hidden : list of callable
        One activation per hidden layer.
    residual : bool
        Whether hidden layers add to their input (``h + act(Wh + b)``) instead of replacing it.

    Each activation works in place on a float32 array and returns it.
    """
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
