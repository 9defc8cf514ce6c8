"""The VGG feature extractor: pre-processing, and feature maps as plain TensorFlow ops.

Layers are addressed by their indices into :func:`texsynth.nn.layers.layer_names`. Pooling is 2×2
average pooling (smoother gradients than max pooling for image synthesis). On x86-64 CPUs without
AVX-512 the forward convolutions after the first run through oneDNN's input-gradient kernel
(:func:`conv2d_by_transpose`), elsewhere through the forward kernel, in bands where large
(:func:`conv2d_banded`).

Three boundary conditions: ``valid`` (no padding; maps shrink by 2 per convolution), ``same`` (zero
padding) and ``wrap`` (the input is one tile of a periodic image: each block's input is padded with
its opposite border, as many pixels as the block has convolutions, and convolved 'valid', which
equals circular convolution and keeps the map's size).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow as tf

from texsynth.choices import PADDINGS
from texsynth.nn.geometry import convs_run
from texsynth.nn.layers import layer_names
from texsynth.nn.pyramid import wrap_pad
from texsynth.nn.weights import VGGWeights
from texsynth.runtime import startup

__all__ = ["VGGFeatures", "avg_pool", "band_rows", "conv2d_banded", "conv2d_by_transpose", "conv_relu", "rgb_to_vgg",
           "vgg_to_rgb"]


def rgb_to_vgg(rgb: np.ndarray | tf.Tensor, mean_bgr: Sequence[float]) -> np.ndarray | tf.Tensor:
    """RGB in [0, 255] to the network's input: BGR minus the mean."""
    return rgb[..., ::-1] - np.asarray(mean_bgr, dtype=np.float32)


def vgg_to_rgb(x: np.ndarray, mean_bgr: Sequence[float]) -> np.ndarray:
    """Inverse of :func:`rgb_to_vgg` (values are not clipped)."""
    return (x + np.asarray(mean_bgr, dtype=x.dtype))[..., ::-1]


def band_rows(shape: Sequence[int], kernel_shape: Sequence[int], max_bytes: int | None) -> int | None:
    """Output rows per band so that a band's im2col buffer (output pixels x kernel taps x input
    channels, float32) stays within ``max_bytes``; None where one band holds them all.

    Parameters
    ----------
    shape : sequence of int
        The VALID convolution's input, (N, H, W, C).
    kernel_shape : sequence of int
        (KH, KW, C, C_out).
    max_bytes : int or None
        None: never split.
    """
    n, h, w, c = shape
    kh, kw = kernel_shape[:2]
    out_h, out_w = h - kh + 1, w - kw + 1
    per_row = n * out_w * kh * kw * c * 4
    if max_bytes is None or out_h * per_row <= max_bytes:
        return None
    bands = -(-out_h // max(1, max_bytes // per_row))
    return -(-out_h // bands)  # as even as that many bands can be


def conv2d_banded(x: tf.Tensor, kernel: tf.Tensor, padding: str, max_bytes: int | None = None) -> tf.Tensor:
    """``tf.nn.conv2d(x, kernel, 1, padding)``, computed in bands of rows where the input is large.

    oneDNN (TensorFlow's CPU backend, which texsynth turns on for every x86-64 CPU) computes these
    convolutions as a GEMM over an im2col buffer; where that buffer would pass about 0.93-0.99 GB on
    an AVX2-only CPU it falls back to its reference kernel, which took minutes for one 512x512x128
    convolution (the second block of VGG at a 1024x1024 canvas) instead of about 3 s. Bands of rows,
    each with its kernel's halo, keep every buffer under ``max_bytes``.

    Parameters
    ----------
    x : tf.Tensor, shape (N, H, W, C)
    kernel : tf.Tensor, shape (KH, KW, C, C_out)
    padding : {"VALID", "SAME"}
    max_bytes : int, optional
        Largest im2col buffer of one band; None computes the convolution whole.

    Returns
    -------
    tf.Tensor, shape (N, H', W', C_out)
    """
    if max_bytes is None or not x.shape.is_fully_defined():
        return tf.nn.conv2d(x, kernel, strides=1, padding=padding)
    kh, kw = kernel.shape[:2]
    pads = [[0, 0], [(kh - 1) // 2, kh // 2], [(kw - 1) // 2, kw // 2], [0, 0]] if padding == "SAME" else None
    n, h, w, c = x.shape.as_list()
    if pads:
        h, w = h + kh - 1, w + kw - 1
    rows = band_rows((n, h, w, c), kernel.shape.as_list(), max_bytes)
    if rows is None:
        return tf.nn.conv2d(x, kernel, strides=1, padding=padding)
    padded = tf.pad(x, pads) if pads else x  # only where it is banded: a padded copy costs a map
    out_h = h - kh + 1
    bands = [tf.nn.conv2d(padded[:, top:min(top + rows, out_h) + kh - 1], kernel, strides=1, padding="VALID")
             for top in range(0, out_h, rows)]
    return tf.concat(bands, axis=1)


def conv2d_by_transpose(x: tf.Tensor, kernel: tf.Tensor, padding: str) -> tf.Tensor:
    """``tf.nn.conv2d(x, kernel, 1, padding)`` for an odd square kernel, computed by TensorFlow's
    input-gradient kernel of the flipped, transposed convolution (the same sums, added in another
    order).

    Under oneDNN on a CPU without AVX-512 the forward kernel is a GEMM over an im2col buffer and
    the input-gradient kernel a direct one, several times faster on VGG's layers
    (:func:`texsynth.runtime.startup.conv_by_transpose`). A 'valid' convolution is the 'same' one
    less its border: ``(k - 1) / 2`` rows and columns each side, about 1% more work at 512x512.

    Parameters
    ----------
    x : tf.Tensor, shape (N, H, W, C)
    kernel : tf.Tensor, shape (K, K, C, C_out), K odd
    padding : {"VALID", "SAME"}

    Returns
    -------
    tf.Tensor, shape (N, H', W', C_out)
        H' = H for 'same', H - K + 1 for 'valid'.
    """
    k = kernel.shape[0]
    if kernel.shape[1] != k or k % 2 == 0:
        raise ValueError(f"conv2d_by_transpose needs an odd square kernel, not {kernel.shape[0]}x{kernel.shape[1]}")
    if x.shape.is_fully_defined():
        sizes = [*x.shape.as_list()[:3], kernel.shape[3]]
    else:
        sizes = tf.concat([tf.shape(x)[:3], [kernel.shape[3]]], axis=0)
    flipped = tf.transpose(kernel[::-1, ::-1], [0, 1, 3, 2])
    y = tf.compat.v1.nn.conv2d_backprop_input(sizes, flipped, x, strides=[1, 1, 1, 1], padding="SAME")
    border = (k - 1) // 2
    return y[:, border:-border, border:-border] if padding == "VALID" and border else y


def conv_relu(x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor, padding: str,
              out_dtype: tf.DType | str | None = None, recompute: bool = False,
              band_bytes: int | None = None, by_transpose: bool = False) -> tf.Tensor:
    """``relu(conv2d(x, kernel) + bias)``, differentiable in ``x`` only, with a lean backward pass.

    The output is cast to ``out_dtype`` (default: the kernel's dtype), and only that copy is kept
    for the backward pass: a float32 first layer feeding bfloat16 layers keeps half the bytes.

    The kernel and bias are constants here, so the backward pass needs only the layer's output
    (for ReluGrad) and the kernel: the input ``x`` is not kept alive for a kernel gradient. Keeping
    a boolean mask instead of the output was tried: the extra comparison and select cost 3-4% of an
    iteration, and TensorFlow's measured peak memory at 512x512 was no lower (428 MB against 415).

    With ``recompute`` the output is not kept either: the backward pass computes it again from
    ``x``, once the incoming gradient exists (earlier, it would only be alive longer). That pays
    where ``x`` is small beside the output: the first layer, 3 channels in and 64 out. At 512x512
    it lowered TensorFlow's peak during an evaluation from 321 to 235 MB in float32 and from 197 to
    185 MB with bfloat16 maps, for one more 3-channel convolution per octave.

    ``band_bytes`` computes the forward convolution in bands of rows (:func:`conv2d_banded`);
    ``by_transpose`` computes it with the input-gradient kernel instead (:func:`conv2d_by_transpose`,
    float32 kernels only; it needs no bands).
    """
    input_shape = x.shape.as_list() if x.shape.is_fully_defined() else None
    out_dtype = tf.as_dtype(out_dtype or kernel.dtype)

    transposed = by_transpose and kernel.dtype == tf.float32

    def forward(x: tf.Tensor) -> tf.Tensor:
        y = conv2d_by_transpose(x, kernel, padding) if transposed else conv2d_banded(x, kernel, padding, band_bytes)
        y = tf.nn.relu(tf.nn.bias_add(y, bias))
        return tf.cast(y, out_dtype)  # rounding keeps the sign, so y still says where the ReLU was open

    @tf.custom_gradient
    def block(x: tf.Tensor):
        y = forward(x)
        # A static shape keeps x itself out of the backward pass (tf.shape(x) would hold it).
        sizes = tf.constant(input_shape) if input_shape else tf.shape(x)

        def grad(dy: tf.Tensor) -> tf.Tensor:
            features = y
            if recompute:
                with tf.control_dependencies([dy]):
                    features = forward(x)
            open_gradient = tf.cast(tf.raw_ops.ReluGrad(gradients=dy, features=features), kernel.dtype)
            return tf.compat.v1.nn.conv2d_backprop_input(sizes, kernel, open_gradient, strides=[1, 1, 1, 1],
                                                         padding=padding)

        return y, grad

    return block(x)


def avg_pool(x: tf.Tensor) -> tf.Tensor:
    """2x2 average pooling with stride 2 ('valid': an odd last row or column is dropped).

    The gradient spreads each output's gradient over its 2x2 block by broadcasting, which took half
    the time of TensorFlow's AvgPoolGrad kernel on a 540x540x64 map.
    """
    if not x.shape.is_fully_defined():
        return tf.nn.avg_pool2d(x, ksize=2, strides=2, padding="VALID")
    n, h, w, c = x.shape

    @tf.custom_gradient
    def pool(x: tf.Tensor):
        def grad(dy: tf.Tensor) -> tf.Tensor:
            blocks = tf.broadcast_to(dy[:, :, None, :, None, :] * 0.25, (n, h // 2, 2, w // 2, 2, c))
            dx = tf.reshape(blocks, (n, h // 2 * 2, w // 2 * 2, c))
            return tf.pad(dx, [[0, 0], [0, h % 2], [0, w % 2], [0, 0]]) if h % 2 or w % 2 else dx

        return tf.nn.avg_pool2d(x, ksize=2, strides=2, padding="VALID"), grad

    return pool(x)


class VGGFeatures:
    """Feature maps of a VGG trunk, truncated at the deepest layer needed.

    Parameters
    ----------
    weights : VGGWeights
        The loaded kernels.
    depth : int
        Index (into :func:`layer_names`) of the deepest layer that will be asked for.
    padding : {"valid", "same", "wrap"}
        Default boundary condition of the convolutions (see the module docstring); a call may
        ask for another.
    dtype : tf.DType or str
        Precision of the maps the convolutions produce (``"bfloat16"`` where it pays, see
        :mod:`texsynth.runtime.precision`); the first convolution always computes in float32.
    band_bytes : int or None or "auto"
        Largest im2col buffer of one forward convolution before it is computed in bands of rows
        (:func:`conv2d_banded`); ``"auto"``: :func:`texsynth.runtime.startup.conv_band_bytes`.
    by_transpose : bool or "auto"
        Compute float32 forward convolutions after the first with the input-gradient kernel
        (:func:`conv2d_by_transpose`); ``"auto"``: :func:`texsynth.runtime.startup.conv_by_transpose`.
    """

    def __init__(self, weights: VGGWeights, depth: int, padding: str = "valid",
                 dtype: tf.DType | str = tf.float32, band_bytes: int | None | str = "auto",
                 by_transpose: bool | str = "auto") -> None:
        _check_padding(padding)
        self.band_bytes = startup.conv_band_bytes() if band_bytes == "auto" else band_bytes
        self.by_transpose = startup.conv_by_transpose() if by_transpose == "auto" else bool(by_transpose)
        self.dtype = tf.as_dtype(dtype)
        self.arch = weights.arch
        self.mean_bgr = weights.mean_bgr
        self.padding = padding
        self.names = layer_names(weights.arch)[: depth + 1]
        n_convs = sum(name.startswith("conv") for name in self.names)
        # The first convolution sees the pixels, which need float32 (bfloat16 keeps 8 bits: half a grey level).
        dtypes = [tf.float32] + [self.dtype] * (n_convs - 1)
        self.kernels = [tf.constant(k, d) for k, d in zip(weights.kernels, dtypes)]
        self.biases = [tf.constant(b, d) for b, d in zip(weights.biases, dtypes)]

    @property
    def depth(self) -> int:
        return len(self.names) - 1

    def __call__(self, x: tf.Tensor, layers: Sequence[int], padding: str | None = None) -> list[tf.Tensor]:
        """Feature maps of the pre-processed batch ``x`` (N, H, W, 3) at the given layer indices,
        with the extractor's padding unless ``padding`` says otherwise."""
        padding = padding or self.padding
        _check_padding(padding)
        wanted = set(layers)
        deepest = max(wanted)
        if deepest > self.depth:
            raise ValueError(f"layer {deepest} is deeper than this extractor ({self.depth})")
        outputs = {}
        conv = halo = 0
        for index, name in enumerate(self.names):
            if name.startswith("conv"):
                if padding == "wrap" and name.endswith("_1"):
                    # One pad per block rather than per convolution: fewer copies of large maps.
                    halo = convs_run(self.names, name)
                    x = wrap_pad(x, halo)
                conv_padding = "SAME" if padding == "same" else "VALID"
                # Not the first: from the pixels' 3 channels the forward kernel was the faster (19 ms
                # against 23 ms at 518x518 to 64 channels on the AVX2 EPYC).
                x = conv_relu(x, self.kernels[conv], self.biases[conv], conv_padding, self.dtype,
                              recompute=conv == 0, band_bytes=self.band_bytes,
                              by_transpose=self.by_transpose and conv > 0)
                conv += 1
                halo = max(halo - 1, 0)
            else:
                x = avg_pool(x)
            if index in wanted:
                # Inside a wrapped block the map still carries the halo the next convolutions eat.
                outputs[index] = x[:, halo:-halo, halo:-halo] if halo else x
            if index == deepest:  # eagerly, deeper layers would run for nothing
                break
        return [outputs[i] for i in sorted(wanted)]


def _check_padding(padding: str) -> None:
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {', '.join(PADDINGS)}, not {padding!r}")
