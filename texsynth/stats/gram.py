"""The Gram statistic (Gatys et al. 2015): the channel covariance of a layer's feature vectors.

``G = FᵀF / (pixels × channels)`` says which features occur together and how strongly, not where.
Its loss is the squared Frobenius distance from the source's Gram, divided by ``‖T‖²`` (a relative
error: independent of the scale of the network's activations, so no layer drowns the others and a
tolerance means the same for every weight file). Several sources' Grams join element-wise (average,
max) or on the manifold of symmetric positive definite matrices (log-Euclidean mean, the
affine-invariant geodesic midpoint of two).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow as tf
from scipy import linalg

from texsynth.choices import JOIN_MODES
from texsynth.errors import TexsynthError

__all__ = ["Gram", "gram", "join_grams"]


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
        raise TexsynthError(f"unknown join mode {mode!r} (choose from {', '.join(JOIN_MODES)})")
    if mode == "affine_invariant" and len(per_source) != 2:
        raise TexsynthError(f"join mode affine_invariant takes exactly two source images, got {len(per_source)}")
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


class Gram:
    """The Gram statistic as a :class:`texsynth.stats.base.Statistic`."""

    name = "gram"
    join_modes = JOIN_MODES

    def describe(self, features: tf.Tensor) -> tf.Tensor:
        """:func:`gram` of each image: (N, H, W, C) -> (N, C, C)."""
        return self.describe_bands([features])

    def describe_bands(self, bands: Sequence[tf.Tensor]) -> tf.Tensor:
        """:func:`gram` of the maps whose bands of rows are ``bands``: the bands' ``FᵀF`` summed."""
        _, _, w, c = bands[0].shape
        h = sum(band.shape[1] for band in bands)
        total = None
        for band in bands:
            flat = tf.cast(tf.reshape(band, (-1, band.shape[1] * w, c)), tf.float32)
            product = tf.matmul(flat, flat, transpose_a=True)
            total = product if total is None else total + product
        return total * (1.0 / float(h * w * c))

    def join(self, per_source: Sequence[np.ndarray], mode: str) -> np.ndarray:
        """One target Gram (C, C) from the sources' Grams, each (C, C); see :func:`join_grams`."""
        return join_grams([[t] for t in per_source], mode)[0]

    def scale(self, target: np.ndarray, factor: float) -> np.ndarray:
        """The target Gram times ``factor`` (``--mul``)."""
        return target * factor

    def normaliser(self, target: np.ndarray) -> float:
        """``1 / ‖T‖²``: makes the term a relative error."""
        return 1.0 / max(float(np.sum(np.square(target))), 1e-12)

    def prepare(self, target: np.ndarray, seed: int = 0) -> tf.Tensor:
        """The target as a constant of the loss."""
        return tf.constant(target)

    def redraw(self, state: tf.Tensor, seed: int) -> None:
        """Nothing: a Gram has no random part."""

    def loss(self, features: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
        """``Σ_frames ‖G − T‖²`` of a batch of feature maps (N, H, W, C) against a target (C, C)."""
        return tf.reduce_sum(tf.square(gram(features) - target))
