"""Losses of texture synthesis: Gram matrices, the style (Gram) loss, joining several sources' Grams,
and the inter-frame distance that ties the frames of an animation together.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow as tf
from scipy import linalg

from texsynth.pyramid import gaussian_pyramid, laplacian_pyramid

JOIN_MODES = ("average", "max", "log_euclidean", "affine_invariant")
DISTANCE_TYPES = ("l2", "lap1")


def gram(features: tf.Tensor) -> tf.Tensor:
    """Gram matrices of feature maps, normalised by pixel and channel count.

    Parameters
    ----------
    features : Tensor, shape (N, H, W, C)

    Returns
    -------
    Tensor, shape (N, C, C), float32
        ``G[n] = F[n]^T F[n] / (H W C)`` with ``F[n]`` the (H W, C) matrix of image n, so Grams of
        different octaves and layers have comparable magnitudes. Features of a lower precision
        (bfloat16) are summed in float32.
    """
    return _gram(features)


@tf.custom_gradient
def _gram(features: tf.Tensor):
    _, h, w, c = features.shape
    shape = features.shape.as_list() if features.shape.is_fully_defined() else tf.shape(features)
    flat = tf.reshape(features, (-1, h * w, c))
    scale = 1.0 / float(h * w * c)

    def grad(d_gram: tf.Tensor) -> tf.Tensor:
        # F appears on both sides of F^T F; automatic differentiation would multiply by F twice and
        # add. dF = F (dG + dG^T) / (HWC) does it with one product: 2-3% of an iteration. Casting
        # again here, rather than keeping the forward pass's float32 copy, keeps bfloat16 maps small.
        d_flat = tf.matmul(tf.cast(flat, tf.float32), d_gram + tf.linalg.matrix_transpose(d_gram)) * scale
        return tf.cast(tf.reshape(d_flat, shape), features.dtype)

    exact = tf.cast(flat, tf.float32)
    return tf.matmul(exact, exact, transpose_a=True) * scale, grad


def gram_loss(grams: Sequence[tf.Tensor], targets: Sequence[tf.Tensor], weights: Sequence[float]) -> tf.Tensor:
    """Weighted sum of squared Gram differences.

    Parameters
    ----------
    grams : sequence of Tensor, shape (N, C, C)
        Grams of the output (all frames), one per term (an octave and a layer).
    targets : sequence of Tensor, shape (C, C)
        The matching target Grams.
    weights : sequence of float
        Factor of each term. The synthesizer uses ``1 / sum(target ** 2)``, which makes every term a
        relative error: independent of the scale of the network's activations, so ``--tol`` and
        ``--if-weight`` mean the same for every weight file, and no layer drowns the others.

    Returns
    -------
    Tensor, scalar
        ``sum_terms weight * sum_frames ||G - T||_F^2``.
    """
    total = tf.constant(0.0)
    for g, t, weight in zip(grams, targets, weights):
        total += weight * tf.reduce_sum(tf.square(g - t))
    return total


def range_penalty(x: tf.Tensor, lower: tf.Tensor, upper: tf.Tensor) -> tf.Tensor:
    """Mean squared distance of ``x`` outside the box ``[lower, upper]`` (zero inside it).

    Parameters
    ----------
    x : Tensor
    lower, upper : Tensor
        Bounds broadcastable to ``x``.

    Returns
    -------
    Tensor, scalar
        ``mean((max(x - upper, 0) + max(lower - x, 0)) ** 2)``.
    """
    excess = tf.nn.relu(x - upper) + tf.nn.relu(lower - x)
    return tf.reduce_mean(tf.square(excess))


def _spd_function(matrix: np.ndarray, fn, floor: float = 1e-8) -> np.ndarray:
    """Apply ``fn`` to the eigenvalues of a symmetric positive semi-definite matrix.

    Eigenvalues are floored at ``floor`` times the largest: Grams of ReLU features are often singular,
    and a log or inverse square root of zero has no value.
    """
    matrix = (matrix + matrix.T) / 2
    values, vectors = linalg.eigh(matrix.astype(np.float64))
    values = np.maximum(values, floor * max(values.max(), 1e-30))
    return (vectors * fn(values)) @ vectors.T


def join_grams(per_source: Sequence[Sequence[np.ndarray]], mode: str) -> list[np.ndarray]:
    """Combine the target Grams of several sources into one target per (octave, layer).

    Parameters
    ----------
    per_source : sequence (sources) of sequence (terms) of ndarray (C, C)
    mode : {"average", "max", "log_euclidean", "affine_invariant"}
        ``average`` and ``max`` are element-wise; ``log_euclidean`` averages matrix logarithms;
        ``affine_invariant`` is the midpoint of the geodesic between exactly two Grams on the manifold
        of SPD matrices, ``A^1/2 (A^-1/2 B A^-1/2)^1/2 A^1/2``.

    Returns
    -------
    list of ndarray (C, C), float32
    """
    if mode not in JOIN_MODES:
        raise ValueError(f"unknown join mode {mode!r}")
    if mode == "affine_invariant" and len(per_source) != 2:
        raise ValueError("affine_invariant joins exactly two sources")
    joined = []
    for terms in zip(*per_source):
        stack = np.stack([np.asarray(t, np.float64) for t in terms])
        if mode == "average":
            out = stack.mean(axis=0)
        elif mode == "max":
            out = stack.max(axis=0)
        elif mode == "log_euclidean":
            out = _spd_function(np.mean([_spd_function(t, np.log) for t in stack], axis=0), np.exp)
        else:
            a, b = stack
            root_a = _spd_function(a, np.sqrt)
            inv_root_a = _spd_function(a, lambda v: 1 / np.sqrt(v))
            out = root_a @ _spd_function(inv_root_a @ b @ inv_root_a, np.sqrt) @ root_a
        joined.append(((out + out.T) / 2).astype(np.float32))
    return joined


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
        raise ValueError(f"unknown distance type {distance_type!r}")
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
    total = tf.constant(0.0)
    for k, target in enumerate(targets, start=1):
        d = frame_distance(frames, tf.roll(frames, -k, axis=0), distance_type, octaves)
        total += tf.reduce_mean(tf.square((d - target) / max(target, 1e-6)))
    return total
