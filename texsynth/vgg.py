"""The VGG feature extractor: layer names, pre-processing, and feature maps as plain TensorFlow ops.

Layers are numbered as in the ancestor: the sequence conv1_1, conv1_2, pool1, conv2_1, … of the
network actually loaded, so index 2 is pool1 and index 7 is conv3_2 in both VGG16 and VGG19.
Pooling is 2×2 average pooling (smoother gradients than max pooling for image synthesis).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow as tf

from texsynth.errors import TexsynthError
from texsynth.weights import ARCH_BLOCKS, VGGWeights


def layer_names(arch: str) -> list[str]:
    """The layer sequence of ``arch``: ``["conv1_1", "conv1_2", "pool1", "conv2_1", ...]``."""
    names = []
    for block, count in enumerate(ARCH_BLOCKS[arch], start=1):
        names.extend(f"conv{block}_{i}" for i in range(1, count + 1))
        names.append(f"pool{block}")
    return names


def resolve_layers(specs: Sequence[str | int], arch: str) -> list[int]:
    """Turn layer indices or names into sorted, unique indices into :func:`layer_names`.

    Raises
    ------
    TexsynthError
        For an unknown name or an index out of range; the message lists the valid names.
    """
    names = layer_names(arch)
    indices = []
    for spec in specs:
        text = str(spec).strip()
        if text.lstrip("-").isdigit():
            index = int(text)
            if not 0 <= index < len(names):
                raise TexsynthError(f"layer index {index} out of range for {arch}: use 0..{len(names) - 1} "
                                    f"({', '.join(f'{i}={n}' for i, n in enumerate(names))})")
        elif text in names:
            index = names.index(text)
        else:
            raise TexsynthError(f"unknown layer {text!r} for {arch}; valid layers: {', '.join(names)}")
        indices.append(index)
    if not indices:
        raise TexsynthError("no layers given")
    return sorted(set(indices))


def feature_size(size: int, depth: int, arch: str, padding: str) -> int:
    """Spatial size of the feature map at layer index ``depth`` for an input of ``size`` pixels."""
    for name in layer_names(arch)[: depth + 1]:
        if name.startswith("conv"):
            size = size - 2 if padding == "valid" else size
        else:
            size = size // 2
    return size


def rgb_to_vgg(rgb: np.ndarray | tf.Tensor, mean_bgr: Sequence[float]) -> np.ndarray | tf.Tensor:
    """RGB in [0, 255] to the network's input: BGR minus the mean."""
    return rgb[..., ::-1] - np.asarray(mean_bgr, dtype=np.float32)


def vgg_to_rgb(x: np.ndarray, mean_bgr: Sequence[float]) -> np.ndarray:
    """Inverse of :func:`rgb_to_vgg` (values are not clipped)."""
    return (x + np.asarray(mean_bgr, dtype=x.dtype))[..., ::-1]


class VGGFeatures:
    """Feature maps of a VGG trunk, truncated at the deepest layer needed.

    Parameters
    ----------
    weights : VGGWeights
        The loaded kernels.
    depth : int
        Index (into :func:`layer_names`) of the deepest layer that will be asked for.
    padding : {"valid", "same"}
        Boundary condition of the convolutions and pools.
    """

    def __init__(self, weights: VGGWeights, depth: int, padding: str = "valid") -> None:
        if padding not in ("valid", "same"):
            raise ValueError(f"padding must be 'valid' or 'same', not {padding!r}")
        self.arch = weights.arch
        self.mean_bgr = weights.mean_bgr
        self.padding = padding.upper()
        self.names = layer_names(weights.arch)[: depth + 1]
        n_convs = sum(name.startswith("conv") for name in self.names)
        self.kernels = [tf.constant(k) for k in weights.kernels[:n_convs]]
        self.biases = [tf.constant(b) for b in weights.biases[:n_convs]]

    @property
    def depth(self) -> int:
        return len(self.names) - 1

    def __call__(self, x: tf.Tensor, layers: Sequence[int]) -> list[tf.Tensor]:
        """Feature maps of the pre-processed batch ``x`` (N, H, W, 3) at the given layer indices."""
        wanted = set(layers)
        if max(wanted) > self.depth:
            raise ValueError(f"layer {max(wanted)} is deeper than this extractor ({self.depth})")
        outputs = {}
        conv = 0
        for index, name in enumerate(self.names):
            if name.startswith("conv"):
                x = tf.nn.relu(tf.nn.bias_add(
                    tf.nn.conv2d(x, self.kernels[conv], strides=1, padding=self.padding), self.biases[conv]))
                conv += 1
            else:
                x = tf.nn.avg_pool2d(x, ksize=2, strides=2, padding="VALID")
            if index in wanted:
                outputs[index] = x
        return [outputs[i] for i in sorted(wanted)]
