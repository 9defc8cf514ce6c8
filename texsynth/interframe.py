"""Animation: the distance between frames, and the loss that makes neighbouring frames of a loop
differ as much as the source does when shifted by a few pixels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import tensorflow as tf

from texsynth.choices import DISTANCE_TYPES
from texsynth.errors import TexsynthError
from texsynth.nn.pyramid import gaussian_pyramid, laplacian_pyramid
from texsynth.sums import fixed_order_sum

__all__ = ["InterframeTerm", "frame_distance", "interframe_loss", "interframe_targets", "shifted_distance"]


def frame_distance(a: tf.Tensor, b: tf.Tensor, distance_type: str, octaves: int) -> tf.Tensor:
    """How different two batches of frames look, per frame.

    Parameters
    ----------
    a, b : Tensor, shape (N, H, W, 3)
    distance_type : {"l2", "lap1"}
        ``l2``: root-mean-square difference averaged over the first ``octaves`` Gaussian pyramid
        levels; ``lap1``: mean absolute difference averaged over the first ``octaves`` band-pass
        levels of the Laplacian pyramid (insensitive to slow colour drifts).
    octaves : int
        Pyramid levels to measure on (at least 1).

    Returns
    -------
    Tensor, shape (N,)
    """
    diff = a - b
    if distance_type == "l2":
        levels = gaussian_pyramid(diff, octaves, padding="same")
        per_level = [tf.sqrt(tf.reduce_mean(tf.square(d), axis=(1, 2, 3)) + 1e-12) for d in levels]
    elif distance_type == "lap1":
        levels = laplacian_pyramid(diff, octaves + 1)[:octaves]
        per_level = [tf.reduce_mean(tf.abs(d), axis=(1, 2, 3)) for d in levels]
    else:
        raise TexsynthError(f"unknown distance type {distance_type!r} (choose from {', '.join(DISTANCE_TYPES)})")
    return tf.add_n(per_level) / len(per_level)


def shifted_distance(image: np.ndarray, shift: float, distance_type: str, octaves: int) -> float:
    """Distance between an image and itself shifted by ``shift`` pixels (mean of x and y shifts).

    A fractional shift interpolates linearly between the neighbouring whole-pixel shifts.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3)
    """
    def whole(pixels: int) -> float:
        batch = tf.constant(image[None], tf.float32)
        moved = tf.concat([tf.roll(batch, pixels, axis=1), tf.roll(batch, pixels, axis=2)], axis=0)
        return float(tf.reduce_mean(frame_distance(tf.concat([batch, batch], 0), moved, distance_type, octaves)))

    low = int(np.floor(shift))
    t = shift - low
    return whole(low) if t == 0 else (1 - t) * whole(low) + t * whole(low + 1)


def interframe_loss(frames: tf.Tensor, targets: Sequence[float], distance_type: str, octaves: int) -> tf.Tensor:
    """Penalty for frames ``k`` apart (cyclically) not differing by ``targets[k - 1]``.

    The relative error ``(d - t) / t`` is squared and averaged over frames, then summed over ``k``,
    so the term is on the same O(1) scale as :func:`gram_loss` whatever the image.
    """
    errors = []
    for k, target in enumerate(targets, start=1):
        d = frame_distance(frames, tf.roll(frames, -k, axis=0), distance_type, octaves)
        errors.append(tf.reduce_mean(tf.square((d - target) / max(target, 1e-6))))
    return fixed_order_sum(errors)


@dataclass(frozen=True)
class InterframeTerm:
    """The inter-frame term of an animation's objective.

    Attributes
    ----------
    targets : tuple of float
        Target distance of frames 1, 2, … apart (see :func:`interframe_targets`).
    weight : float
    distance_type : {"l2", "lap1"}
    octaves : int
    """

    targets: tuple[float, ...]
    weight: float
    distance_type: str
    octaves: int

    def loss(self, frames: tf.Tensor) -> tf.Tensor:
        """``weight`` times :func:`interframe_loss` of the frames (N, H, W, 3)."""
        return self.weight * interframe_loss(frames, self.targets, self.distance_type, self.octaves)


def interframe_targets(sources: Sequence[np.ndarray], count: int, order: int, shift: float, distance_type: str,
                       octaves: int) -> tuple[float, ...]:
    """Target distances of frames 1 … k apart in a loop of ``count`` frames: the sources' mean
    distance from themselves shifted by ``k * shift`` pixels.

    Frames k and N - k apart are the same pairs in a loop, so at most ``count // 2`` orders are
    distinct; orders beyond are dropped.

    Parameters
    ----------
    sources : sequence of ndarray, shape (H, W, 3)
    count, order : int
    shift : float
    distance_type : {"l2", "lap1"}
    octaves : int

    Returns
    -------
    tuple of float
    """
    orders = range(1, min(order, count // 2) + 1)
    return tuple(float(np.mean([shifted_distance(image, k * shift, distance_type, octaves) for image in sources]))
                 for k in orders)
