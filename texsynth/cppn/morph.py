"""Latent paths for morph animations: a looping, eased walk through keyframe z vectors."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from texsynth.errors import TexsynthError

__all__ = ["interpolate_z"]


def interpolate_z(keyframes: Sequence[np.ndarray], n_frames: int) -> list[np.ndarray]:
    """A looping path through latent vectors: z1 -> z2 -> ... -> zk -> z1.

    Each leg eases in and out (cosine), so the motion slows at every keyframe. With
    ``n_frames`` a multiple of ``k``, frame ``s * n_frames / k`` is exactly keyframe ``s``;
    the last frame stops just before z1 so the animation loops without a repeated frame.

    Parameters
    ----------
    keyframes : sequence of ndarray
        At least two latent vectors of the same length.
    n_frames : int
        Frames in the whole loop (>= 2).

    Returns
    -------
    list of ndarray, float64
        ``n_frames`` latent vectors.

    Shape
    -----
    Every keyframe and every returned vector is (z_dim,).

    Raises
    ------
    TexsynthError
        For fewer than two keyframes, keyframes of different lengths, or fewer than 2 frames.
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
