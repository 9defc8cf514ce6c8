"""Geometry of the VGG trunk on an image: feature-map sizes, strides, receptive fields, tiles.

Whoever cuts an image into pieces or checks that it is large enough asks here: how large layer
``depth``'s map is for a given input and padding, how many octaves still reach a layer, how many
pixels one map position stands for, and how much context a tile needs for exact activations.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from texsynth.errors import TexsynthError
from texsynth.nn.layers import layer_names
from texsynth.nn.pyramid import level_sizes

__all__ = ["check_fits", "convs_run", "feature_size", "layer_stride", "max_octaves", "receptive_margin",
           "tile_windows"]


def feature_size(size: int, depth: int, arch: str, padding: str) -> int:
    """Spatial size of the feature map at layer index ``depth`` for an input of ``size`` pixels.

    With ``wrap`` padding a block whose input is smaller than its padding cannot be wrapped; the
    size is then reported as 0.
    """
    names = layer_names(arch)[: depth + 1]
    for name in names:
        if name.startswith("conv"):
            if padding == "wrap" and name.endswith("_1") and size < convs_run(names, name):
                return 0
            size = size - 2 if padding == "valid" else size
        else:
            size = size // 2
    return size


def convs_run(names: Sequence[str], conv_name: str) -> int:
    """How many convolutions of ``conv_name``'s block a network cut to ``names`` runs."""
    block = conv_name.split("_")[0]
    return sum(name.startswith(block + "_") for name in names)


def max_octaves(height: int, width: int, depth: int, arch: str, padding: str) -> int:
    """How many octaves of an image this size still give a non-empty feature map at layer ``depth``."""
    octaves = 0
    for h, w in zip(level_sizes(height, 32, padding), level_sizes(width, 32, padding)):
        if min(feature_size(h, depth, arch, padding), feature_size(w, depth, arch, padding)) < 1:
            break
        octaves += 1
    return octaves


def check_fits(what: str, height: int, width: int, octaves: int, depth: int, arch: str, padding: str) -> None:
    """Raise a clear error when ``octaves`` levels of an image do not reach layer ``depth``."""
    fits = max_octaves(height, width, depth, arch, padding)
    if fits < octaves:
        layer = layer_names(arch)[depth]
        if fits:
            hint = f"at most {fits} octave{'s' if fits != 1 else ''} fit; use fewer octaves (-o), a larger size"
        else:  # fewer octaves cannot help
            hint = "not even one octave fits; use a larger size"
        raise TexsynthError(f"{what} ({width}x{height}) is too small for {octaves} octaves with {padding} padding "
                            f"up to layer {layer}: {hint} or shallower layers")


def layer_stride(index: int, arch: str) -> int:
    """Pixels per activation-map position at layer ``index`` (2 to the number of pools before it)."""
    return 2 ** sum(name.startswith("pool") for name in layer_names(arch)[: index + 1])


def receptive_margin(depth: int, arch: str) -> int:
    """Context, in pixels, a tile needs on every side so its activations up to ``depth`` are exact.

    The result is the receptive-field reach of layer ``depth`` beyond its own pixel block, rounded up to
    a multiple of the layer's stride so tile windows stay on the pooling grid.
    """
    before, after, stride = 0, 0, 1
    for name in layer_names(arch)[: depth + 1]:
        if name.startswith("conv"):
            before += stride
            after += stride
        else:
            after += stride
            stride *= 2
    reach = max(before, after)
    return -(-reach // stride) * stride


def tile_windows(height: int, width: int, tile_size: int, overlap: int, stride: int,
                 rng: np.random.Generator | None) -> list[tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]]:
    """Cut an image into tile cores and their context windows.

    Parameters
    ----------
    height, width : int
        Image size.
    tile_size : int
        Largest core side (rounded up to a multiple of ``stride``).
    overlap : int
        Context added around each core (rounded up to a multiple of ``stride``).
    stride : int
        The deepest layer's stride; every core and window corner lies on this grid.
    rng : numpy Generator or None
        Draws the random offset of the core grid; ``None`` keeps the grid at the origin.

    Returns
    -------
    list of (core_start, core_end, window_start, window_end)
        (row, column) pairs; one entry covering everything when the image fits in one tile.
    """
    tile = -(-tile_size // stride) * stride
    overlap = -(-overlap // stride) * stride
    if height <= tile and width <= tile:
        return [((0, 0), (height, width), (0, 0), (height, width))]
    cuts = []
    for size in (height, width):
        offset = int(rng.integers(0, tile // stride)) * stride if rng is not None and size > tile else 0
        starts = sorted({0, *range(offset, size, tile)})
        cuts.append(list(zip(starts, starts[1:] + [size])))
    windows = []
    for r0, r1 in cuts[0]:
        for c0, c1 in cuts[1]:
            windows.append(((r0, c0), (r1, c1), (max(r0 - overlap, 0), max(c0 - overlap, 0)),
                            (min(r1 + overlap, height), min(c1 + overlap, width))))
    return windows
