"""Multiscale texture synthesis (Snelgrove 2017): match VGG Gram matrices at every pyramid octave.

The pipeline is linear: read the sources, compute their target Grams at every (octave, layer), make a
starting image, and let L-BFGS-B move the output's pixels until its Grams match. This module owns
that pipeline and its configuration; file names and the command line live in ``synth_cli``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import tensorflow as tf
from scipy import ndimage

from texsynth.errors import TexsynthError
from texsynth.io import load_image, resize_image
from texsynth.losses import gram, gram_loss, interframe_loss, join_grams, range_penalty, shifted_distance
from texsynth.memory import HEADROOM, reserve_cpu_pool
from texsynth.optimize import OptimizeResult, lbfgs
from texsynth.precision import resolve_precision
from texsynth.pyramid import detail, gaussian_pyramid, level_sizes
from texsynth.vgg import VGGFeatures, feature_size, layer_names, resolve_layers, rgb_to_vgg, vgg_to_rgb
from texsynth.weights import VGGWeights

SEED_KINDS = ("random", "symmetric", "cppn", "image")

# Weight of the pull back into the valid colour range (see Synthesizer.loss). Measured on the leaves
# example: 0.01 reached the same final loss as scipy's bounds with pixels at most a grey level out;
# 1 and above stiffened the problem and slowed L-BFGS down ten-fold.
RANGE_WEIGHT = 0.01


@dataclass
class SynthConfig:
    """Everything one synthesis run needs to know (the command line maps onto it one to one)."""

    sources: list[Path]
    width: int = 512
    height: int = 512
    octaves: int = 4
    layers: list[str] = field(default_factory=lambda: ["2", "7"])
    max_iter: int = 500
    source_scale: float | None = None
    source_width: int | None = None
    padding: str = "valid"
    join_mode: str = "average"
    count: int = 1
    mul: float = 1.0
    if_weight: float = 1.0
    if_shift: float = 5.0
    if_order: int = 2
    if_distance: str = "l2"
    if_octaves: int = 1
    seed: str = "random"
    seed_image: Path | None = None
    tol: float = 1e-9
    random_seed: int | None = None
    border: int = 0
    colour_weight: float = 1.0
    precision: str = "auto"


def max_octaves(height: int, width: int, depth: int, arch: str, padding: str) -> int:
    """How many octaves of an image this size still give a non-empty feature map at layer ``depth``."""
    octaves = 0
    for h, w in zip(level_sizes(height, 32, padding), level_sizes(width, 32, padding)):
        if min(feature_size(h, depth, arch, padding), feature_size(w, depth, arch, padding)) < 1:
            break
        octaves += 1
    return octaves


def check_fits(what: str, height: int, width: int, octaves: int, depth: int, arch: str, padding: str) -> None:
    """Raise a clear error when ``octaves`` levels of an image do not reach layer ``depth``."""
    fits = max_octaves(height, width, depth, arch, padding)
    if fits < octaves:
        layer = layer_names(arch)[depth]
        hint = f"at most {fits} octave{'s' if fits != 1 else ''} fit" if fits else "not even one octave fits"
        raise TexsynthError(f"{what} ({width}x{height}) is too small for {octaves} octaves with {padding} padding "
                            f"up to layer {layer}: {hint}; use fewer octaves (-o), a larger size or shallower layers")


def output_padding(padding: str, border: int) -> str:
    """The boundary condition of the output canvas for the ``--padding-mode`` and ``--border`` asked.

    With valid padding and no border the canvas wraps around (a torus): every pixel is seen by as
    many feature windows as any other, so the edges are as finished as the middle and the result
    tiles seamlessly, at the cost of the interior alone. (Valid convolutions on a flat canvas see
    edge pixels through fewer windows; those pixels get weak gradients and stay noisy, a frame
    around the image. Removing that frame with a margin of half the receptive field cost 13% more
    pixels at 512x512 than the wrapped canvas.) A border asks for a flat canvas with that margin.
    """
    return "wrap" if padding == "valid" and border == 0 else padding


def load_sources(config: SynthConfig) -> list[np.ndarray]:
    """Read and rescale the source images (RGB float32 in [0, 255])."""
    images = []
    for path in config.sources:
        image = load_image(path)
        height, width = image.shape[:2]
        if config.source_width:
            new_w, new_h = config.source_width, max(1, round(height * config.source_width / width))
        elif config.source_scale:
            new_w, new_h = max(1, round(width * config.source_scale)), max(1, round(height * config.source_scale))
        else:
            new_w, new_h = width, height
        images.append(resize_image(image, new_w, new_h))
    return images


def make_seed(config: SynthConfig, height: int, width: int, mean_rgb: np.ndarray, rng: np.random.Generator,
              border: int = 0) -> np.ndarray:
    """The starting frames, (count, height, width, 3) RGB in [0, 255], for a canvas with ``border``."""
    shape = (config.count, height, width, 3)
    if config.seed == "random":
        # Noise around the sources' mean colour: pixels the loss barely moves keep a plausible colour.
        x = mean_rgb + rng.normal(0.0, 16.0, shape)
    elif config.seed == "symmetric":
        noise = rng.normal(0.0, 1.0, shape)
        noise = noise + noise[:, ::-1]
        noise = noise + noise[:, :, ::-1]
        sigma = max(1.0, min(height, width) / 10)
        blurred = ndimage.gaussian_filter(noise, sigma=(0, sigma, sigma, 0), mode="wrap")
        blurred /= blurred.std() + 1e-12
        x = mean_rgb + 48.0 * blurred + rng.normal(0.0, 2.0, shape)
    elif config.seed == "cppn":
        from texsynth.cppn import render_seed_image

        frame_seeds = rng.integers(0, 2**31, config.count)
        x = np.stack([render_seed_image(width, height, int(s)) for s in frame_seeds])
    elif config.seed == "image":
        if config.seed_image is None:
            raise TexsynthError("seed 'image' needs --seed-image FILE")
        # The image covers the output itself; the margin around it is its mirror image.
        image = resize_image(load_image(config.seed_image), width - 2 * border, height - 2 * border)
        image = np.pad(image, ((border, border), (border, border), (0, 0)), mode="symmetric")
        x = np.repeat(image[None], config.count, axis=0) + rng.normal(0.0, 2.0, shape)
    else:
        raise TexsynthError(f"unknown seed {config.seed!r} (choose from {', '.join(SEED_KINDS)})")
    return np.clip(x, 0, 255).astype(np.float32)


class Synthesizer:
    """One synthesis run: target Grams, starting image and the loss, ready to optimise.

    Parameters
    ----------
    config : SynthConfig
    weights : VGGWeights
    log : callable, optional
        Receives informational lines (what was loaded, target distances).
    """

    def __init__(self, config: SynthConfig, weights: VGGWeights, log: Callable[[str], None] = lambda _: None) -> None:
        self.config = config
        # Keep only what the run needs: the kernels live on as constants inside self.features, and
        # dropping the reference lets the weight file's arrays be freed before optimisation.
        self.arch, self.weights_source, self.mean_bgr = weights.arch, weights.source, weights.mean_bgr
        self.layers = resolve_layers(config.layers, weights.arch)
        self.layer_names = [layer_names(weights.arch)[i] for i in self.layers]
        depth = max(self.layers)
        self.precision = resolve_precision(config.precision)
        # Targets are always float32 statistics; a bfloat16 run finishes in float32 (see run).
        self.exact_features = VGGFeatures(weights, depth, config.padding)
        self.features = (self.exact_features if self.precision == "float32"
                         else VGGFeatures(weights, depth, config.padding, self.precision))
        self.border = config.border
        self.output_padding = output_padding(config.padding, config.border)
        self.random_seed = config.random_seed if config.random_seed is not None else secrets.randbelow(2**31)
        rng = np.random.default_rng(self.random_seed)

        canvas_what = f"output with its {self.border}px border" if self.border else "output"
        check_fits(canvas_what, config.height + 2 * self.border, config.width + 2 * self.border, config.octaves, depth,
                   weights.arch, self.output_padding)
        sources = load_sources(config)
        for path, image in zip(config.sources, sources):
            check_fits(f"source {path}", image.shape[0], image.shape[1], config.octaves, depth,
                       weights.arch, config.padding)
        if config.join_mode == "affine_invariant" and len(sources) != 2:
            raise TexsynthError(f"join mode affine_invariant takes exactly two source images, got {len(sources)}")

        # In units of the largest float32 map (64 channels, finest octave): an evaluation's peak held
        # about five of the canvas's (three in bfloat16, whose maps are half the size), a source's
        # forward pass about two of its own. Six and three, plus the headroom, leave every split a
        # large leftover; a larger reservation would cost its allocator's bookkeeping (3% of it).
        map_bytes = 64 * 4
        canvas = (config.height + 2 * self.border) * (config.width + 2 * self.border) * config.count
        reserve_cpu_pool(max([6 * canvas] + [3 * image.shape[0] * image.shape[1] for image in sources]) * map_bytes
                         + HEADROOM)

        # In a graph each map is freed as soon as its last use has run; computing the sources' Grams
        # eagerly instead left TensorFlow's allocator holding 30-75 MB more (anonymous memory at 512x512).
        source_grams = tf.function(lambda x: self.grams(x, config.padding, self.exact_features),
                                   reduce_retracing=True)
        per_source = [source_grams(tf.constant(rgb_to_vgg(image[None], weights.mean_bgr))) for image in sources]
        targets = [t * config.mul for t in join_grams([[g[0] for g in grams] for grams in per_source],
                                                      config.join_mode)]
        self.targets = [tf.constant(t) for t in targets]
        # Each term is a relative error; colour terms are scaled by colour_weight.
        self.term_weights = [(config.colour_weight if is_colour else 1.0) / max(float(np.sum(np.square(t))), 1e-12)
                             for is_colour, t in zip(self.colour_terms(), targets)]

        self.interframe_targets: list[float] = []
        if config.count > 1:
            # Frames k and N - k apart are the same pairs in a loop, so at most N // 2 orders are distinct.
            orders = range(1, min(config.if_order, config.count // 2) + 1)
            self.interframe_targets = [
                float(np.mean([shifted_distance(image, k * config.if_shift, config.if_distance, config.if_octaves)
                               for image in sources]))
                for k in orders]
            log("inter-frame target distances ("
                f"{config.if_distance}, shift {config.if_shift:g}px): "
                + ", ".join(f"{k}: {d:.3g}" for k, d in enumerate(self.interframe_targets, 1)))

        mean_rgb = np.mean([image.reshape(-1, 3).mean(axis=0) for image in sources], axis=0)
        self.canvas = (config.height + 2 * self.border, config.width + 2 * self.border)
        self.x0 = rgb_to_vgg(make_seed(config, *self.canvas, mean_rgb, rng, self.border), weights.mean_bgr)
        mean = np.asarray(weights.mean_bgr, np.float32)
        self.lower, self.upper = tf.constant(-mean), tf.constant(255.0 - mean)
        self.loss_and_grad = tf.function(lambda x: self._loss_and_grad(x, self.features), reduce_retracing=True)
        self.exact_loss_and_grad = (self.loss_and_grad if self.features is self.exact_features else
                                    tf.function(lambda x: self._loss_and_grad(x, self.exact_features),
                                                reduce_retracing=True))
        self.switch_iteration: int | None = None

    def grams(self, x: tf.Tensor, padding: str, features: VGGFeatures | None = None) -> list[tf.Tensor]:
        """The Grams of the loss terms of a pre-processed batch, at every octave: two 3x3 colour
        Grams (of the pixels and of their high-pass detail) unless the colour weight is 0, then one
        Gram per VGG layer. ``padding`` is the boundary condition of the pyramid and the network:
        the configured one for sources, :func:`output_padding` for the output. ``features`` is the
        extractor (default: the one in the run's precision).

        The pixels' Gram is dominated by the mean colour; the detail's Gram is what notices colour
        speckle, which the VGG layers alone leave in (they care little about colour at fine scales).
        """
        features = self.features if features is None else features
        levels = gaussian_pyramid(tf.convert_to_tensor(x, tf.float32), self.config.octaves, padding)
        return [g for level in levels for g in self.octave_grams(level, padding, features)]

    def octave_grams(self, level: tf.Tensor, padding: str, features: VGGFeatures) -> list[tf.Tensor]:
        """The Grams of :meth:`grams` for one pyramid level."""
        colour = [gram(level), gram(detail(level, padding))] if self.config.colour_weight > 0 else []
        return colour + [gram(f) for f in features(level, self.layers, padding)]

    def colour_terms(self) -> list[bool]:
        """For each term of :meth:`grams`, in order, whether it is a colour term."""
        per_octave = [True, True] * (self.config.colour_weight > 0) + [False] * len(self.layers)
        return per_octave * self.config.octaves

    def loss(self, x: tf.Tensor, features: VGGFeatures | None = None) -> tf.Tensor:
        """Total loss of pre-processed frames ``x`` (count, H, W, 3), with the run's extractor unless
        ``features`` says otherwise.

        The texture terms see ``x`` clipped to valid colours, which is the image that is saved; a
        weak penalty pulls pixels that left the range back. This stands in for L-BFGS-B's box
        constraints, whose bookkeeping in scipy cost 75 ms per iteration and 150 MB at 512x512,
        and it reaches the same loss (see RANGE_WEIGHT).
        """
        image = tf.clip_by_value(x, self.lower, self.upper)
        texture = gram_loss(self.grams(image, self.output_padding, features), self.targets, self.term_weights)
        return texture + self._other_terms(x, image)

    def _other_terms(self, x: tf.Tensor, image: tf.Tensor) -> tf.Tensor:
        """The loss terms besides the Grams: the range penalty on ``x`` and, for several frames, the
        inter-frame loss of the clipped ``image``."""
        total = RANGE_WEIGHT * range_penalty(x, self.lower, self.upper)
        if self.interframe_targets:
            total += self.config.if_weight * interframe_loss(
                image, self.interframe_targets, self.config.if_distance, self.config.if_octaves)
        return total

    def _loss_and_grad(self, x: tf.Tensor, features: VGGFeatures) -> tuple[tf.Tensor, tf.Tensor]:
        """:meth:`loss` and its gradient, computed one octave at a time.

        Each octave's texture terms are differentiated with respect to its pyramid level on their
        own, finest octave first, and an octave starts only once the previous one's gradient
        exists; the levels' gradients then flow back through the pyramid together. So only one
        octave's feature maps are alive at once. Left to itself TensorFlow interleaved the octaves
        as its threads finished, and its peak during an evaluation at 512x512 varied from 231 to
        300 MB between identical float32 runs.
        """
        terms = len(self.targets) // self.config.octaves
        with tf.GradientTape() as pyramid_tape:
            pyramid_tape.watch(x)
            image = tf.clip_by_value(x, self.lower, self.upper)
            levels = gaussian_pyramid(image, self.config.octaves, self.output_padding)
            others = self._other_terms(x, image)
        total, level_grads = others, []
        for octave, level in enumerate(levels):
            with tf.control_dependencies(level_grads[-1:]):
                level = tf.identity(level)
            with tf.GradientTape() as tape:
                tape.watch(level)
                part = slice(octave * terms, (octave + 1) * terms)
                loss = gram_loss(self.octave_grams(level, self.output_padding, features), self.targets[part],
                                 self.term_weights[part])
            level_grads.append(tape.gradient(loss, level))
            total += loss
        grad = pyramid_tape.gradient([others, *levels], x, output_gradients=[tf.ones_like(others), *level_grads])
        return total, grad

    def to_frames(self, x: np.ndarray) -> np.ndarray:
        """Pre-processed canvas to output frames: RGB uint8 (count, height, width, 3), margin cropped
        and clipped to valid colours."""
        b = self.border
        rgb = vgg_to_rgb(np.asarray(x, np.float32), self.mean_bgr)
        rgb = rgb[:, b: b + self.config.height, b: b + self.config.width]
        return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)

    def run(self, callback: Callable[[int, np.ndarray, float], None] | None = None,
            log: Callable[[str], None] = lambda _: None) -> OptimizeResult:
        """Optimise from the seed; ``callback(iteration, x, loss)`` sees every accepted iterate.

        A bfloat16 run that stops before ``max_iter`` without being interrupted has usually not
        converged: its loss is rounded, so below some step size it no longer falls along any
        direction and L-BFGS-B's line search gives up. The remaining iterations then run in float32
        from where it stopped (``switch_iteration`` records when), so the result is as finished
        as a float32 run's and the tolerance means what it means there.
        """
        max_iter = self.config.max_iter
        result = lbfgs(self.loss_and_grad, self.x0, max_iter, self.config.tol, callback)
        done = len(result.losses)
        if self.features is self.exact_features or result.interrupted or done >= max_iter:
            return result
        self.switch_iteration = done
        log(f"{self.precision} stopped improving after {done} iterations ({result.message.lower()}); "
            "finishing in float32")
        shifted = None if callback is None else lambda i, x, loss: callback(done + i, x, loss)
        rest = lbfgs(self.exact_loss_and_grad, result.x, max_iter - done, self.config.tol, shifted)
        return OptimizeResult(x=rest.x, losses=result.losses + rest.losses, seconds=result.seconds + rest.seconds,
                              evaluations=result.evaluations + rest.evaluations, interrupted=rest.interrupted,
                              message=rest.message)
