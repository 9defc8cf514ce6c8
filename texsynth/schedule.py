"""The coarse-to-fine schedule: which canvases are optimised in turn, with how many iterations, and
how one stage's result starts the next.

Stage ``s`` (coarsest first) works on the canvas of pyramid octave ``s`` at that octave's size and
matches the statistics of that octave and all coarser ones; its result, upsampled, starts the next
finer stage. Most iterations run where pixels are cheap: a stage has a quarter of the next finer
one's pixels, so its iterations cost about a quarter as much.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow as tf

from texsynth.nn.pyramid import detail, level_sizes, reduce, wrap_pad

__all__ = ["STAGE_SHARES", "downsample", "smoothed", "stage_budgets", "stage_sizes", "upsample"]

# Share of the iteration budget per stage, finest last, for 1 to 4+ stages (more stages: the
# coarsest share is split evenly among the extra ones). Chosen with benchmarks/bench_time_to_quality.py:
# the finest stage needs enough iterations to settle fine detail; the coarse ones are cheap.
STAGE_SHARES = {1: (1.0,), 2: (0.5, 0.5), 3: (0.4, 0.3, 0.3), 4: (0.3, 0.25, 0.2, 0.25)}


def stage_sizes(height: int, width: int, octaves: int, padding: str) -> list[tuple[int, int]]:
    """The canvas (height, width) of every stage, coarsest first, ending with the full canvas.

    Parameters
    ----------
    height, width : int
        The full canvas.
    octaves : int
    padding : {"valid", "same", "wrap"}
        The canvas's boundary condition: sizes follow its pyramid (a wrapped canvas halves exactly).

    Returns
    -------
    list of (int, int)
    """
    return list(zip(level_sizes(height, octaves, padding), level_sizes(width, octaves, padding)))[::-1]


def stage_budgets(max_iter: int, stages: int) -> list[int]:
    """Split ``max_iter`` iterations over ``stages`` stages (coarsest first) by :data:`STAGE_SHARES`.

    Every stage gets at least one iteration when the budget allows, and the shares add up to
    ``max_iter`` exactly.
    """
    if stages <= 4:
        shares = STAGE_SHARES[stages]
    else:
        coarse = STAGE_SHARES[4][0] / (stages - 3)
        shares = (coarse,) * (stages - 3) + STAGE_SHARES[4][1:]
    budgets = [int(np.floor(max_iter * share)) for share in shares]
    budgets[-1] += max_iter - sum(budgets)
    for i in range(len(budgets) - 1):  # borrow for empty stages from the finest while it has more than one
        if budgets[i] == 0 and budgets[-1] > 1:
            budgets[i], budgets[-1] = 1, budgets[-1] - 1
    return budgets


def downsample(x: np.ndarray, steps: int, padding: str) -> np.ndarray:
    """``steps`` reductions of the Gaussian pyramid of a canvas (N, H, W, C), with its padding."""
    y = tf.constant(x, tf.float32)
    for _ in range(steps):
        y = reduce(y, padding)
    return y.numpy()


def smoothed(x: np.ndarray, padding: str) -> np.ndarray:
    """A canvas (N, H, W, C) blurred by the pyramid's 5-tap kernel (its finest band removed)."""
    y = tf.constant(x, tf.float32)
    return (y - detail(y, "wrap" if padding == "wrap" else "same")).numpy()


def upsample(x: np.ndarray, size: Sequence[int], padding: str) -> np.ndarray:
    """A canvas (N, h, w, C) resized to ``size`` (H, W) by bicubic interpolation; a wrapped canvas
    is interpolated across its opposite edges, so it still tiles."""
    y = tf.constant(x, tf.float32)
    if padding == "wrap":
        pad = 2
        scale_h, scale_w = size[0] / x.shape[1], size[1] / x.shape[2]
        big = tf.image.resize(wrap_pad(y, pad), (round((x.shape[1] + 2 * pad) * scale_h),
                                                  round((x.shape[2] + 2 * pad) * scale_w)), method="bicubic")
        top, left = round(pad * scale_h), round(pad * scale_w)
        return big[:, top:top + size[0], left:left + size[1]].numpy()
    return tf.image.resize(y, tuple(size), method="bicubic").numpy()
