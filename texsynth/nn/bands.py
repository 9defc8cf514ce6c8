"""Feature maps of images too large to hold whole: the network run over bands of rows.

A source photo is described once, without gradients, but at its full size the network's first
block holds maps of 64 channels per pixel: a 12-megapixel source took 9 GB. Run band by band,
each band with the rows of context its deepest layer reaches, the requested layers' maps come out
as the whole image's (up to the rounding of differently blocked convolutions), and only one band's
block maps are alive at a time. The statistics then describe the bands without joining them
(:meth:`texsynth.stats.base.Statistic.describe_bands`), so no layer's map of the whole source is
held either. Sources small enough to hold whole are computed whole, unchanged.
"""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf

from texsynth.nn.geometry import layer_stride, receptive_margin
from texsynth.nn.vgg import VGGFeatures

__all__ = ["BAND_BYTES", "band_starts", "feature_bands"]

# Largest first-block map of one band (float32): sources up to a megapixel (a 1024x1024 one's is
# 256 MiB) are computed whole. Building the objective of a 12-megapixel source (an AMD EPYC of
# family 26) took 11.4 GB and 20-22 s whole; in bands of 512, 256, 128 and 64 MiB 3.8, 3.1, 3.1 and
# 2.5 GB, in 13, 14, 14 and 16 s.
BAND_BYTES = 256 * 2**20


def band_starts(height: int, rows: int, margin: int) -> list[tuple[int, int]]:
    """The bands' first rows and the end of each band's context (exclusive).

    Parameters
    ----------
    height : int
        Rows of the image.
    rows : int
        Rows per band, a multiple of the deepest layer's stride.
    margin : int
        Rows of context below each band.

    Returns
    -------
    list of (int, int)
        ``(top, stop)`` per band; the last band's context reaches the image's last row.
    """
    bands = []
    for top in range(0, height, rows):
        stop = min(top + rows + margin, height)
        bands.append((top, stop))
        if stop == height:
            break
    return bands


def feature_bands(features: VGGFeatures, x: tf.Tensor, layers: Sequence[int], padding: str,
                  max_bytes: int = BAND_BYTES) -> list[list[tf.Tensor]]:
    """``features(x, layers, padding)``, each map as bands of rows, computed band by band where ``x``
    is large.

    Parameters
    ----------
    features : VGGFeatures
    x : Tensor, shape (N, H, W, 3)
        Pre-processed images with a static shape.
    layers : sequence of int
        Layer indices, as :class:`VGGFeatures` takes them.
    padding : {"valid", "same"}
        A band's inner edges are not the image's: ``valid`` needs context below each band,
        ``same`` above it as well (its zeros there would reach into the band's rows).
    max_bytes : int
        Largest first-block map (float32) of one band; smaller images are computed whole.

    Returns
    -------
    list of list of Tensor
        For each of ``layers`` in increasing order, its map's bands of rows, top first: their
        concatenation along the rows is the map :class:`VGGFeatures` returns. One band when ``x``
        is computed whole.

    Raises
    ------
    ValueError
        For ``wrap`` padding, whose first band would need the last rows as context.
    """
    if padding not in ("valid", "same"):
        raise ValueError(f"banded features take valid or same padding, not {padding!r}")
    n, height, width, _ = x.shape
    channels = features.kernels[0].shape[-1]
    row_bytes = n * width * channels * 4
    deepest = max(layers)
    stride = layer_stride(deepest, features.arch)
    if height * row_bytes <= max_bytes or height <= 2 * stride:
        return [[out] for out in features(x, layers, padding)]
    rows = max(stride, max_bytes // row_bytes // stride * stride)
    # A 'same' band's rows reach this far each way; a 'valid' map's rows start at its window's
    # top, so all of that reach lies below.
    margin = receptive_margin(deepest, features.arch)
    wanted = sorted(set(layers))
    pieces: list[list[tf.Tensor]] = [[] for _ in wanted]
    for top, stop in band_starts(height, rows, margin if padding == "same" else 2 * margin):
        start = top if padding == "valid" else max(top - margin, 0)
        band = x[:, start:stop]
        if pieces[0]:  # one band at a time: bands run concurrently would hold their maps together
            with tf.control_dependencies([pieces[-1][-1]]):
                band = tf.identity(band)
        for layer, out, piece in zip(wanted, features(band, wanted, padding), pieces):
            step = layer_stride(layer, features.arch)
            skip = (top - start) // step
            piece.append(out[:, skip:] if stop == height else out[:, skip:skip + rows // step])
    return pieces
