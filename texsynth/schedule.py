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

from texsynth.nn.pyramid import detail, gaussian_pyramid, level_sizes, reduce, wrap_pad
from texsynth.optim.base import StopRule

__all__ = ["SETTLE_WINDOW", "STAGE_SHARES", "detail_levels", "downsample", "iteration_costs", "settle_rule", "smoothed",
           "stage_budgets", "stage_noise", "stage_sizes", "upsample"]

# Share of the iteration budget per stage, finest last, for 1 to 4+ stages (more stages: the
# coarsest share is split evenly among the extra ones). Chosen with benchmarks/bench_time_to_quality.py:
# the finest stage needs enough iterations to settle fine detail; the coarse ones are cheap.
STAGE_SHARES = {1: (1.0,), 2: (0.5, 0.5), 3: (0.4, 0.3, 0.3), 4: (0.3, 0.25, 0.2, 0.25)}
# Iterations over which a phase's progress is judged (see settle_rule).
SETTLE_WINDOW = 10


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


def settle_rule(fraction: float, window: int = SETTLE_WINDOW) -> StopRule | None:
    """The rule that ends a phase of a stage early: its loss fell by less than ``fraction`` of itself
    over the last ``window`` iterations.

    The full-size stage first matches its own octave alone (a third of the cost per iteration) and
    goes on to every octave once that settles (``--detail-settle``, see
    :meth:`texsynth.synthesis.Synthesizer.run`).

    Parameters
    ----------
    fraction : float
        0 or less: no rule.
    window : int

    Returns
    -------
    callable or None
        ``rule(losses) -> bool`` for :meth:`texsynth.optim.base.Optimizer.minimize`'s ``stop``.
    """
    if fraction <= 0:
        return None

    def settled(losses: Sequence[float]) -> bool:
        if len(losses) <= window:
            return False
        before = losses[-window - 1]
        return before - losses[-1] < fraction * abs(before)

    return settled


def iteration_costs(sizes: Sequence[tuple[int, int]], budgets: Sequence[int]) -> list[float]:
    """The relative cost of every iteration of a coarse-to-fine run: its stage canvas's pixels (the
    network's work grows with them).

    Parameters
    ----------
    sizes : sequence of (int, int)
        The stages' canvases, as :func:`stage_sizes` gives them.
    budgets : sequence of int
        The stages' iterations, as :func:`stage_budgets` gives them.

    Returns
    -------
    list of float, one per iteration, coarsest stage first
    """
    return [float(h * w) for (h, w), budget in zip(sizes, budgets) for _ in range(budget)]


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


def stage_noise(shape: Sequence[int], rng: np.random.Generator, padding: str) -> np.ndarray:
    """Band-limited noise of unit standard deviation for the start of a finer stage.

    White noise blurred by the pyramid's 5-tap kernel, whose response is zero at the Nyquist
    frequency: a finer stage gets fine detail to shape, but nothing at the pixel-scale frequencies
    that the network barely sees and that no statistic would remove (the joint schedule's hatching).

    Parameters
    ----------
    shape : (N, H, W, C)
    rng : numpy Generator
    padding : {"valid", "same", "wrap"}
        The canvas's boundary condition (wrapped noise still tiles).

    Returns
    -------
    ndarray, shape ``shape``, float32
    """
    noise = smoothed(rng.normal(size=tuple(shape)).astype(np.float32), padding)
    return noise / max(float(noise.std()), 1e-12)


def detail_levels(sources: Sequence[np.ndarray], mean_bgr: Sequence[float], octaves: int,
                  padding: str) -> list[float]:
    """The standard deviation of the finest band (:func:`texsynth.nn.pyramid.detail`) of the
    sources' pre-processed pixels at every pyramid octave, finest first, averaged over sources: the
    scale of the detail a stage at that octave should have.

    Parameters
    ----------
    sources : sequence of ndarray, shape (H, W, 3)
        RGB in [0, 255].
    mean_bgr : sequence of float
        The network's input mean.
    octaves : int
    padding : {"valid", "same"}
        The sources' pyramid padding.

    Returns
    -------
    list of float, one per octave
    """
    from texsynth.nn.vgg import rgb_to_vgg

    per_source = []
    for image in sources:
        levels = gaussian_pyramid(tf.constant(rgb_to_vgg(image[None], mean_bgr), tf.float32), octaves, padding)
        per_source.append([float(tf.math.reduce_std(detail(level, "same"))) for level in levels])
    return list(np.mean(per_source, axis=0))
