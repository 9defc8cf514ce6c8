"""The fine detail a coarse-to-fine stage starts with, copied from the sources.

A finer stage starts from the coarser stage's result upsampled, which holds nothing of its own
octave's detail. Noise gives the optimiser something to shape; this gives it the sources' own
detail, placed where it fits: every block of the start takes the detail of the source block whose
surroundings, blurred the same way, look most alike (nearest neighbours of 12×12 neighbourhoods,
sampled every second pixel). Blocks of 8×8 pixels every 4 pixels are feathered into each other by
sin² windows, which add up to one, so no seam is sharper than the detail itself.

It is the default (``--stage-detail copied``); ``--stage-detail noise`` starts from smooth noise
instead. benchmarks/RESULTS.md, "Detail copied into each stage", has the measurements that chose it:
better on five of the six textures measured at 512x512 and level on the sixth, held-out ones
included.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow as tf

from texsynth.errors import TexsynthError
from texsynth.schedule import downsample, smoothed, upsample

__all__ = ["BLOCK", "CANDIDATES", "coarse_and_detail", "copied_detail"]

# Side of a copied block and the step between blocks: half-overlapping, so sin² windows add up to 1.
BLOCK = 8
STEP = BLOCK // 2
# Side of the neighbourhood compared (centred on the block) and the spacing of its samples: the
# blurred start has little above half its Nyquist frequency, so every second pixel says as much.
CONTEXT = 12
TAP = 2
# Source blocks searched, at most (a random subset of every second position beyond it): 20k
# neighbourhoods against a 512x512 stage's 16k blocks is 70 GFLOP, about half a second on 2 cores.
CANDIDATES = 20_000
# Blocks compared with the candidates at once (a 1024 x 20k distance matrix, 80 MB).
CHUNK = 1024

_WINDOW_1D = np.sin(np.pi * (np.arange(BLOCK) + 0.5) / BLOCK) ** 2
WINDOW = (_WINDOW_1D[:, None] * _WINDOW_1D[None, :]).astype(np.float32)[:, :, None]


def coarse_and_detail(image: np.ndarray, padding: str) -> tuple[np.ndarray, np.ndarray]:
    """Split an image into what a coarser stage hands on and the detail of its own octave.

    The coarse part is what :meth:`texsynth.synthesis.Synthesizer` starts a stage from: the image
    reduced one octave, its finest band blurred away, and upsampled back.

    Parameters
    ----------
    image : ndarray, shape (N, H, W, C)
    padding : {"valid", "same", "wrap"}
        The image's boundary condition (``valid`` is treated as ``same``: the sizes must halve).

    Returns
    -------
    coarse, detail : ndarray, shape (N, H, W, C), float32
        ``coarse + detail == image``.
    """
    padding = "wrap" if padding == "wrap" else "same"
    image = np.asarray(image, np.float32)
    coarse = upsample(smoothed(downsample(image, 1, padding), padding), image.shape[1:3], padding)
    return coarse, image - coarse


def _pad(image: np.ndarray, pixels: int, wrap: bool) -> np.ndarray:
    """(H, W, C) padded by ``pixels`` on every side, periodically or mirrored (tiled if too small)."""
    return np.pad(image, ((pixels, pixels), (pixels, pixels), (0, 0)), mode="wrap" if wrap else "symmetric")


def _neighbourhoods(padded: np.ndarray, rows: np.ndarray, cols: np.ndarray, pad: int) -> np.ndarray:
    """The sampled neighbourhoods of the blocks at (``rows``, ``cols``) of an image padded by ``pad``:
    (n, (CONTEXT / TAP)² · C)."""
    taps = np.arange(0, CONTEXT, TAP) - (CONTEXT - BLOCK) // 2 + pad
    r = rows[:, None, None] + taps[None, :, None]
    c = cols[:, None, None] + taps[None, None, :]
    return padded[r, c].reshape(len(rows), -1)


def _nearest(queries: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Index of each query's nearest candidate in Euclidean distance (ties: the first)."""
    cand = tf.constant(candidates, tf.float32)
    norms = tf.reduce_sum(tf.square(cand), axis=1)
    best = []
    for i in range(0, len(queries), CHUNK):
        q = tf.constant(queries[i:i + CHUNK], tf.float32)
        best.append(tf.argmin(norms[None, :] - 2.0 * tf.matmul(q, cand, transpose_b=True), axis=1).numpy())
    return np.concatenate(best) if best else np.zeros(0, np.int64)


def copied_detail(start: np.ndarray, sources: Sequence[np.ndarray], padding: str,
                  rng: np.random.Generator) -> np.ndarray:
    """Detail for a stage's start, copied from the sources' blocks whose coarse surroundings match.

    Parameters
    ----------
    start : ndarray, shape (N, H, W, C)
        The stage's start: the coarser stage's result, blurred and upsampled (each of the N frames
        gets its own detail).
    sources : sequence of ndarray, shape (Hs, Ws, C)
        The sources at this stage's octave, in the same units as ``start``.
    padding : {"valid", "same", "wrap"}
        The canvas's boundary condition: a wrapped canvas's detail wraps too, so it still tiles.
    rng : numpy Generator
        Draws the candidate blocks when the sources hold more than :data:`CANDIDATES`.

    Returns
    -------
    ndarray, shape (N, H, W, C), float32
        To be added to ``start``.

    Raises
    ------
    TexsynthError
        If no source is at least one block across.
    """
    wrap = padding == "wrap"
    pad = CONTEXT + BLOCK
    contexts, details, places = [], [], []
    for k, source in enumerate(sources):
        height, width = source.shape[:2]
        if height < BLOCK or width < BLOCK:
            continue
        coarse, detail = coarse_and_detail(source[None], "same")
        rows, cols = np.meshgrid(np.arange(0, height - BLOCK + 1, 2), np.arange(0, width - BLOCK + 1, 2),
                                 indexing="ij")
        rows, cols = rows.ravel(), cols.ravel()
        contexts.append(_neighbourhoods(_pad(coarse[0], pad, False), rows, cols, pad))
        details.append(detail[0])
        places.append(np.stack([np.full_like(rows, k), rows, cols], axis=1))
    if not contexts:
        raise TexsynthError(f"the sources are too small to copy detail from (under {BLOCK}x{BLOCK} pixels "
                            "at a stage's octave); use fewer octaves")
    candidates, places = np.concatenate(contexts), np.concatenate(places)
    if len(candidates) > CANDIDATES:
        keep = np.sort(rng.choice(len(candidates), CANDIDATES, replace=False))
        candidates, places = candidates[keep], places[keep]

    frames, height, width, channels = start.shape
    # Every pixel in two blocks each way: a wrapped canvas's last blocks run over onto its first rows.
    first = 0 if wrap else -STEP
    rows, cols = np.meshgrid(np.arange(first, height, STEP), np.arange(first, width, STEP), indexing="ij")
    grid = rows.shape
    weight = _overlap_add(np.broadcast_to(WINDOW, (*grid, BLOCK, BLOCK, 1)), first, height, width, wrap)
    span = np.arange(BLOCK)
    out = np.empty(start.shape, np.float32)
    for f in range(frames):
        padded = _pad(np.asarray(start[f], np.float32), pad, wrap)
        found = places[_nearest(_neighbourhoods(padded, rows.ravel(), cols.ravel(), pad), candidates)]
        blocks = np.empty((len(found), BLOCK, BLOCK, channels), np.float32)
        for k, detail in enumerate(details):
            here = found[:, 0] == k
            r = found[here, 1][:, None, None] + span[None, :, None]
            c = found[here, 2][:, None, None] + span[None, None, :]
            blocks[here] = detail[r, c]
        blocks *= WINDOW
        out[f] = _overlap_add(blocks.reshape(*grid, BLOCK, BLOCK, channels), first, height, width, wrap) / weight
    return out


def _overlap_add(blocks: np.ndarray, first: int, height: int, width: int, wrap: bool) -> np.ndarray:
    """Sum blocks (rows, cols, BLOCK, BLOCK, C), the one at [i, j] placed at pixel
    (first + i·STEP, first + j·STEP), into a (height, width, C) canvas; a wrapped canvas takes what
    runs over its far edges onto its near ones, any other drops what lies outside."""
    rows, cols, _, _, channels = blocks.shape
    total = np.zeros(((rows + 1) * STEP, (cols + 1) * STEP, channels), np.float32)
    # Blocks of one parity in each direction tile without overlap: four reshapes instead of a loop.
    for pr in (0, 1):
        for pc in (0, 1):
            part = blocks[pr::2, pc::2]
            tiled = part.transpose(0, 2, 1, 3, 4).reshape(part.shape[0] * BLOCK, part.shape[1] * BLOCK, channels)
            total[pr * STEP:pr * STEP + tiled.shape[0], pc * STEP:pc * STEP + tiled.shape[1]] += tiled
    if not wrap:
        return total[-first:-first + height, -first:-first + width]
    for axis, size in ((0, height), (1, width)):
        moved = np.moveaxis(total, axis, 0)
        folded = np.zeros((size, *moved.shape[1:]), np.float32)
        for begin in range(0, len(moved), size):
            piece = moved[begin:begin + size]
            folded[:len(piece)] += piece
        total = np.moveaxis(folded, 0, axis)
    return total
