"""DeepDream: gradient ascent on an image's pixels to amplify what chosen VGG layers see in it.

This module owns the algorithm and its configuration (:class:`DreamConfig`): parsing ``name:weight``
layer specs, the octave shapes, the loss (mean squared activation with the border of every
activation map left out, as in the classic recipe), a ``tf.function`` loss-and-gradient step, the
tiled gradient that keeps memory bounded on large images, and the octave loop with detail
re-injection. It reuses the network (:mod:`texsynth.nn`), its tile geometry (:mod:`texsynth.nn.geometry`) and
the normalised gradient steps of :mod:`texsynth.optim.ascent`; files and flags live in
:mod:`texsynth.commands.dream`.

Conventions
-----------
Images are float32 RGB arrays of shape (H, W, 3) with values in [0, 255]; they are clipped to that
range after every step. The loss of a layer is divided by the same layer's mean squared activation
on the original image at the same octave size, so it reads 1.0 on the undreamed photo and
``max_loss = 20`` means "stop once the layers respond 20 times as strongly as to the photo", whatever
the weights' activation scale (the bundled edge-detection VGG responds far more weakly than an
ImageNet one).

Tiling
------
An image larger than ``tile_size`` is cut into cores of at most ``tile_size`` pixels; each core's
gradient is computed on a window extended by ``tile_overlap`` pixels on every side, and only the
activations whose positions fall in the core enter that window's loss. When the overlap covers the
receptive field of the deepest layer (the default, :func:`receptive_margin`) and core corners lie on
the pooling grid, the tiles' losses sum exactly to the untiled loss, so the gradients do too. The
core grid is shifted by a random offset at every step (drawn from the seeded generator): with a
smaller overlap the approximation errors then fall at different places each step and no seam
accumulates. The grid is shifted rather than the image rolled, because a circular roll would put
the image's opposite edges side by side and change what the network sees there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import tensorflow as tf

from texsynth.choices import DREAM_LAYERS, PRECISIONS
from texsynth.errors import TexsynthError
from texsynth.io.images import resize_image
from texsynth.nn.geometry import feature_size, layer_stride, receptive_margin, tile_windows
from texsynth.nn.layers import layer_names, parse_layer_spec, resolve_weighted_layers
from texsynth.nn.vgg import VGGFeatures
from texsynth.nn.weights import VGGWeights
from texsynth.optim.ascent import NormalizedGradientDescent
from texsynth.optim.base import StopReason
from texsynth.runtime.precision import resolve_precision

__all__ = ["DEFAULT_LAYERS", "DreamConfig", "DreamLoss", "DreamResult", "OctaveResult", "check_octaves_fit", "dream",
           "layer_energies", "noise_image", "octave_shapes", "tiled_loss_and_gradient"]

DEFAULT_LAYERS = DREAM_LAYERS
PADDING = "same"  # every pixel gets the same number of gradient contributions; sizes stay divisible


@dataclass(frozen=True)
class DreamConfig:
    """Everything one dream needs (the command line maps onto it one to one).

    Attributes
    ----------
    layers : sequence of str
        Layer specs ``NAME[:WEIGHT]`` or ``INDEX[:WEIGHT]`` (indices as in ``synthesize.py``).
    octaves : int
        Number of scales, the original size included.
    octave_scale : float
        Size ratio between neighbouring octaves (> 1).
    iterations : int
        Gradient-ascent steps per octave (0 leaves the image unchanged).
    step : float
        Step size on the [-1, 1] pixel scale of the classic Keras recipe: the gradient, divided by its
        mean absolute value, is multiplied by ``step * 127.5`` grey levels.
    max_loss : float
        An octave stops early once the (relative) loss exceeds this.
    border : int
        Activation-map positions left out of the loss on every side.
    tile_size : int
        Largest side, in pixels, of the part of the image whose gradient is computed at once.
    tile_overlap : int or None
        Extra context around each tile; ``None`` takes the receptive-field margin (exact tiling).
    random_seed : int or None
        Seed of the tile offsets (and of the noise the CLI starts from).
    precision : {"auto", "float32", "bfloat16"}
        Precision of the network's maps (see :mod:`texsynth.precision`).
    """

    layers: tuple[str, ...] = DEFAULT_LAYERS
    octaves: int = 4
    octave_scale: float = 1.4
    iterations: int = 20
    step: float = 0.01
    max_loss: float = 20.0
    border: int = 2
    tile_size: int = 512
    tile_overlap: int | None = None
    random_seed: int | None = None
    precision: str = "auto"

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        for spec in self.layers:
            parse_layer_spec(spec)
        checks = [(self.precision in PRECISIONS, f"precision must be one of {', '.join(PRECISIONS)}"),(self.octaves >= 1, "octaves must be at least 1"),
                  (self.octave_scale > 1 or self.octaves == 1, "octave_scale must be greater than 1"),
                  (self.iterations >= 0, "iterations must not be negative"),
                  (self.step > 0, "step must be positive"),
                  (self.max_loss > 0, "max_loss must be positive"),
                  (self.border >= 0, "border must not be negative"),
                  (self.tile_size >= 1, "tile_size must be at least 1"),
                  (self.tile_overlap is None or self.tile_overlap >= 0, "tile_overlap must not be negative")]
        for ok, message in checks:
            if not ok:
                raise TexsynthError(message)


@dataclass
class OctaveResult:
    """What happened at one octave: its size, the loss before every step, and whether it stopped early."""

    height: int
    width: int
    losses: list[float]
    stopped_early: bool


@dataclass
class DreamResult:
    """The dreamed image (float32 RGB in [0, 255], the input's size) and the octaves' histories."""

    image: np.ndarray
    octaves: list[OctaveResult]
    seconds: float


# --------------------------------------------------------------------------------------------- octaves

def octave_shapes(height: int, width: int, octaves: int, octave_scale: float) -> list[tuple[int, int]]:
    """The (height, width) of every octave, smallest first, ending with the input's own size.

    Octave ``i`` from the top has sides ``int(side / octave_scale ** i)`` (at least 1 pixel).

    Parameters
    ----------
    height, width : int
        Size of the input image.
    octaves : int
        Number of octaves (>= 1).
    octave_scale : float
        Ratio between neighbouring octaves (> 1 when ``octaves > 1``).

    Returns
    -------
    list of (int, int)
    """
    if octaves < 1:
        raise ValueError(f"octaves must be at least 1, got {octaves}")
    shapes = [(max(1, int(height / octave_scale ** i)), max(1, int(width / octave_scale ** i)))
              for i in range(octaves)]
    return shapes[::-1]


def check_octaves_fit(height: int, width: int, config: DreamConfig, layers: Sequence[int], arch: str) -> None:
    """Raise a clear error when the smallest octave leaves an empty activation map after the border crop."""
    shapes = octave_shapes(height, width, config.octaves, config.octave_scale)
    names = layer_names(arch)
    for index in layers:
        for octave, (h, w) in enumerate(shapes):
            rows, cols = (feature_size(s, index, arch, PADDING) for s in (h, w))
            if min(rows, cols) <= 2 * config.border:
                fits = sum(min(feature_size(a, index, arch, PADDING), feature_size(b, index, arch, PADDING))
                           > 2 * config.border for a, b in shapes)
                need = layer_stride(index, arch) * (2 * config.border + 1)
                raise TexsynthError(
                    f"image {width}x{height} is too small for {config.octaves} octaves at layer {names[index]}: "
                    f"octave {octave + 1} would be {w}x{h}, and {names[index]} needs at least {need}x{need} "
                    f"pixels ({fits} octave{'s' if fits != 1 else ''} fit); use fewer --octaves, a smaller "
                    f"--octave-scale, a larger image or shallower layers")


# --------------------------------------------------------------------------------------------- loss

class DreamLoss:
    """The dream loss of a VGG trunk, as ``tf.function`` s traced once for any window size.

    The loss of a window is ``sum_l scales[l] * sum(a_l ** 2)`` over the activations of layer ``l``
    whose global positions lie both in the window's core and inside the map minus ``border``.

    Parameters
    ----------
    weights : VGGWeights
        The network.
    layers : sequence of int
        Layer indices.
    border : int
        Activation-map positions left out on every side.
    precision : {"float32", "bfloat16"}
        Precision of the maps between convolutions; the sums of squares are float32.
    """

    def __init__(self, weights: VGGWeights, layers: Sequence[int], border: int, precision: str = "float32") -> None:
        self.layers = list(layers)
        self.arch = weights.arch
        self.mean_bgr = weights.mean_bgr
        self.border = border
        self.features = VGGFeatures(weights, max(self.layers), PADDING, precision)
        self.strides = [layer_stride(i, weights.arch) for i in self.layers]
        spec = [tf.TensorSpec([1, None, None, 3], tf.float32)] + [tf.TensorSpec([2], tf.int32)] * 4
        self.energies = tf.function(self._energies, input_signature=spec)
        self.loss_and_gradient = tf.function(
            self._loss_and_gradient, input_signature=spec + [tf.TensorSpec([len(self.layers)], tf.float32)])

    def map_size(self, height: int, width: int, index: int) -> tuple[int, int]:
        """Rows and columns of layer ``index`` 's activation map for an image of this size."""
        return feature_size(height, index, self.arch, PADDING), feature_size(width, index, self.arch, PADDING)

    def counts(self, height: int, width: int) -> np.ndarray:
        """Number of activations (positions x channels) each layer's loss averages over."""
        counts = []
        for index in self.layers:
            rows, cols = self.map_size(height, width, index)
            channels = self.features.kernels[sum(n.startswith("conv") for n in layer_names(self.arch)[: index + 1]) - 1]
            counts.append(max(rows - 2 * self.border, 0) * max(cols - 2 * self.border, 0) * int(channels.shape[-1]))
        return np.asarray(counts, dtype=np.float64)

    def _energies(self, rgb: tf.Tensor, origin: tf.Tensor, core_start: tf.Tensor, core_end: tf.Tensor,
                  image_shape: tf.Tensor) -> tf.Tensor:
        """Sum of squared activations per layer over the window's core, border excluded."""
        x = rgb[..., ::-1] - tf.constant(self.mean_bgr, tf.float32)
        sums = []
        for activation, stride in zip(self.features(x, self.layers), self.strides):
            # Global map coordinates of the core, cut to the map minus its border; origin and core
            # corners lie on the pooling grid, so the divisions are exact (or floor like the pools).
            full = image_shape // stride
            lo = tf.maximum(core_start // stride, self.border)
            hi = tf.maximum(tf.minimum(core_end // stride, full - self.border), lo)
            lo, hi = lo - origin // stride, hi - origin // stride
            part = activation[:, lo[0]:hi[0], lo[1]:hi[1], :]
            sums.append(tf.reduce_sum(tf.square(tf.cast(part, tf.float32))))
        return tf.stack(sums)

    def _loss_and_gradient(self, rgb: tf.Tensor, origin: tf.Tensor, core_start: tf.Tensor, core_end: tf.Tensor,
                           image_shape: tf.Tensor, scales: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        with tf.GradientTape() as tape:
            tape.watch(rgb)
            loss = tf.reduce_sum(scales * self._energies(rgb, origin, core_start, core_end, image_shape))
        return loss, tape.gradient(loss, rgb)


def _window_args(image: np.ndarray, window) -> list[tf.Tensor]:
    (r0, c0), (r1, c1), (w0, v0), (w1, v1) = window
    return [tf.constant(image[None, w0:w1, v0:v1]), tf.constant([w0, v0], tf.int32), tf.constant([r0, c0], tf.int32),
            tf.constant([r1, c1], tf.int32), tf.constant(image.shape[:2], tf.int32)]


def layer_energies(loss: DreamLoss, image: np.ndarray, tile_size: int, overlap: int) -> np.ndarray:
    """Mean squared activation of every layer (border excluded) of an RGB image, computed tile by tile.

    Parameters
    ----------
    loss : DreamLoss
    image : ndarray, shape (H, W, 3)
    tile_size, overlap : int
        As in :class:`DreamConfig`.

    Returns
    -------
    ndarray, shape (n_layers,), float64
    """
    height, width = image.shape[:2]
    total = np.zeros(len(loss.layers))
    for window in tile_windows(height, width, tile_size, overlap, max(loss.strides), None):
        total += loss.energies(*_window_args(image, window)).numpy()
    return total / np.maximum(loss.counts(height, width), 1)


def tiled_loss_and_gradient(loss: DreamLoss, image: np.ndarray, scales: np.ndarray, tile_size: int, overlap: int,
                            rng: np.random.Generator | None) -> tuple[float, np.ndarray]:
    """The loss of a whole image and its gradient, computed on overlapping tiles.

    Parameters
    ----------
    loss : DreamLoss
    image : ndarray, shape (H, W, 3), float32 RGB
    scales : ndarray, shape (n_layers,)
        Multiplies each layer's sum of squared activations.
    tile_size, overlap : int
        As in :class:`DreamConfig`.
    rng : numpy Generator or None
        Random offset of the tile grid (``None``: no offset).

    Returns
    -------
    loss : float
    gradient : ndarray, shape (H, W, 3), float32
    """
    gradient = np.zeros_like(image, dtype=np.float32)
    total = 0.0
    scales_t = tf.constant(scales, tf.float32)
    for window in tile_windows(image.shape[0], image.shape[1], tile_size, overlap, max(loss.strides), rng):
        value, grad = loss.loss_and_gradient(*_window_args(image, window), scales_t)
        (w0, v0), (w1, v1) = window[2], window[3]
        gradient[w0:w1, v0:v1] += grad.numpy()[0]
        total += float(value)
    return total, gradient


# --------------------------------------------------------------------------------------------- octave loop

def dream(image: np.ndarray, weights: VGGWeights, config: DreamConfig,
          on_step: Callable[[int, int, float], None] | None = None,
          on_octave: Callable[[int, np.ndarray], None] | None = None) -> DreamResult:
    """Dream on an RGB image, octave by octave.

    Each octave ascends ``config.iterations`` steps (fewer once the loss exceeds ``config.max_loss``),
    then the result is upscaled to the next octave and the detail the downscaling removed,
    ``original@next - upscale(original@this)``, is added back, so with zero steps the output is the
    input.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3)
        RGB in [0, 255].
    weights : VGGWeights
        The network.
    config : DreamConfig
    on_step : callable, optional
        ``on_step(octave, iteration, loss)`` after each gradient (iteration counts from 1).
    on_octave : callable, optional
        ``on_octave(octave, image)`` with the dreamed image at the end of each octave.

    Returns
    -------
    DreamResult

    Raises
    ------
    TexsynthError
        For bad layers or an image too small for the octaves.
    """
    start = time.perf_counter()
    original = np.asarray(image, dtype=np.float32)
    if original.ndim != 3 or original.shape[-1] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB image, got shape {original.shape}")
    layers, layer_weights = resolve_weighted_layers(config.layers, weights.arch)
    height, width = original.shape[:2]
    check_octaves_fit(height, width, config, layers, weights.arch)
    objective = DreamLoss(weights, layers, config.border, resolve_precision(config.precision))
    overlap = receptive_margin(max(layers), weights.arch) if config.tile_overlap is None else config.tile_overlap
    rng = np.random.default_rng(config.random_seed)
    # step is on the [-1, 1] pixel scale of the classic recipe, hence 127.5 grey levels per unit.
    ascent = NormalizedGradientDescent(config.step * 127.5, stop_below=-config.max_loss)

    octaves: list[OctaveResult] = []
    previous_base = dreamed = None
    for octave, (h, w) in enumerate(octave_shapes(height, width, config.octaves, config.octave_scale)):
        base = resize_image(original, w, h)
        if dreamed is None:
            dreamed = base.copy()
        else:
            detail = base - resize_image(previous_base, w, h)
            dreamed = np.clip(resize_image(dreamed, w, h) + detail, 0.0, 255.0).astype(np.float32)
        previous_base = base

        losses: list[float] = []
        stopped = False
        if config.iterations > 0:
            # Relative to the photo at this size: the loss reads 1 on the undreamed image.
            reference = np.maximum(layer_energies(objective, base, config.tile_size, overlap), 1e-12)
            scales = np.asarray(layer_weights) / (reference * np.maximum(objective.counts(h, w), 1))
            # Dream maximises: the optimiser minimises the negated loss (negation is exact).
            def negated(x: np.ndarray) -> tuple[float, np.ndarray]:
                value, gradient = tiled_loss_and_gradient(objective, x, scales, config.tile_size, overlap, rng)
                return -value, -gradient

            report = None if on_step is None else lambda i, x, loss, o=octave: on_step(o, i, -loss)
            result = ascent.minimize(negated, dreamed, config.iterations, report)
            dreamed, losses, stopped = result.x, [-v for v in result.losses], result.reason is StopReason.TARGET
        octaves.append(OctaveResult(h, w, losses, stopped))
        if on_octave is not None:
            on_octave(octave, dreamed)
    return DreamResult(dreamed, octaves, time.perf_counter() - start)


def noise_image(width: int, height: int, rng: np.random.Generator, spread: float = 16.0) -> np.ndarray:
    """A grey image with faint uniform noise to dream from (strong noise would be amplified as noise).

    Parameters
    ----------
    width, height : int
    rng : numpy Generator
    spread : float
        Half-width of the noise in grey levels around 127.5.

    Returns
    -------
    ndarray, shape (height, width, 3), float32 in [0, 255]
    """
    return (127.5 + rng.uniform(-spread, spread, (height, width, 3))).astype(np.float32)
