"""The objective of synthesis: the terms built from the sources, and the one loss-and-gradient that
the optimisers and the tests use.

A term is (octave, tap, statistic, target, weight): at every pyramid octave, a tap is where the
statistic looks (``"pixels"`` and ``"detail"``, the colour terms, or a VGG layer index) and the
target is the joined statistic of the sources there. The loss of pre-processed frames ``x`` is

    Σ_terms weight · statistic.loss(tap of clip(x), target)  +  range penalty
        (+ inter-frame loss of an animation, + spectrum constraint)

The terms see ``x`` clipped to valid colours, the image that is saved; a weak penalty pulls pixels
that left the range back. This stands in for L-BFGS-B's box constraints, whose bookkeeping in scipy
cost 75 ms per iteration and 150 MB at 512x512, and it reaches the same loss (see RANGE_WEIGHT).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import tensorflow as tf

from texsynth.interframe import InterframeTerm
from texsynth.nn.bands import feature_bands
from texsynth.nn.pyramid import detail, gaussian_pyramid, level_sizes
from texsynth.nn.vgg import VGGFeatures, rgb_to_vgg
from texsynth.spectrum import SpectrumTerm
from texsynth.stats.base import Statistic
from texsynth.stats.gram import Gram
from texsynth.sums import fixed_order_sum

__all__ = ["COLOUR_TAPS", "Objective", "RANGE_WEIGHT", "Term", "range_penalty"]

# Weight of the pull back into the valid colour range. Measured on the leaves example: 0.01 reached
# the same final loss as scipy's bounds with pixels at most a grey level out; 1 and above stiffened
# the problem and slowed L-BFGS down ten-fold.
RANGE_WEIGHT = 0.01

# The colour taps of an octave: its pixels, whose statistic is dominated by the mean colour, and
# their high-pass detail, which is what notices colour speckle (the VGG layers alone leave it in:
# they care little about colour at fine scales).
COLOUR_TAPS = ("pixels", "detail")


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


@dataclass(frozen=True)
class Term:
    """One term of the objective.

    Attributes
    ----------
    octave : int
        Pyramid level, 0 the finest.
    tap : str or int
        ``"pixels"``, ``"detail"`` or a VGG layer index.
    statistic : Statistic
    target : object
        The joined statistic of the sources, prepared for the statistic's loss.
    weight : float
        Factor of the term (the colour weight or 1, times the statistic's normaliser).
    """

    octave: int
    tap: str | int
    statistic: Statistic
    target: Any
    weight: float


def octave_taps(level: tf.Tensor, taps: Sequence[str | int], padding: str, features: VGGFeatures) -> list[tf.Tensor]:
    """The tensors the ``taps`` of one pyramid level look at, in order (layers in increasing order)."""
    layers = [t for t in taps if not isinstance(t, str)]
    maps = dict(zip(layers, features(level, layers, padding))) if layers else {}
    colour = {"pixels": lambda: level, "detail": lambda: detail(level, padding)}
    return [colour[t]() if isinstance(t, str) else maps[t] for t in taps]


def source_taps(level: tf.Tensor, taps: Sequence[str | int], padding: str,
                features: VGGFeatures) -> list[list[tf.Tensor]]:
    """:func:`octave_taps` of a source's pyramid level, each as bands of rows: the network runs band
    by band where the level is large (:func:`texsynth.nn.bands.feature_bands`)."""
    layers = [t for t in taps if not isinstance(t, str)]
    maps = dict(zip(layers, feature_bands(features, level, layers, padding))) if layers else {}
    return [maps[t] if t in maps else octave_taps(level, [t], padding, features) for t in taps]


class Objective:
    """The loss of pre-processed frames and its gradient, one octave at a time.

    Build it with :meth:`from_sources`.

    Parameters
    ----------
    terms : sequence of Term
        Ordered by octave, then tap.
    octaves : int
    padding : {"valid", "same", "wrap"}
        The output's boundary condition (of the pyramid and the network).
    mean_bgr : sequence of float
        The network's input mean: the valid range of pre-processed pixels is ``[-mean, 255 - mean]``.
    interframe : InterframeTerm, optional
        Ties the frames of an animation together.
    spectrum : SpectrumTerm, optional
        Pulls one pyramid level of the canvas towards the sources' Fourier modulus there.
    """

    def __init__(self, terms: Sequence[Term], octaves: int, padding: str, mean_bgr: Sequence[float],
                 interframe: InterframeTerm | None = None, spectrum: SpectrumTerm | None = None) -> None:
        self.terms = list(terms)
        self.octaves = octaves
        self.padding = padding
        self.interframe = interframe
        self.spectrum = spectrum
        mean = np.asarray(mean_bgr, np.float32)
        self.lower, self.upper = tf.constant(-mean), tf.constant(255.0 - mean)
        self.taps = [[t.tap for t in self.terms if t.octave == octave] for octave in range(octaves)]

    @classmethod
    def from_sources(cls, sources: Sequence[np.ndarray], features: VGGFeatures, layers: Sequence[int], octaves: int,
                     source_padding: str, padding: str, *, statistic: Statistic | None = None,
                     colour_statistic: Statistic | None = None, colour_weight: float = 1.0,
                     join_mode: str = "average", mul: float = 1.0,
                     interframe: InterframeTerm | None = None, spectrum_weight: float = 0.0,
                     spectrum_octave: int = 0, canvas: tuple[int, int] | None = None,
                     seed: int = 0) -> "Objective":
        """Describe the sources and build the terms.

        Parameters
        ----------
        sources : sequence of ndarray, shape (H, W, 3)
            RGB in [0, 255]; sizes may differ.
        features : VGGFeatures
            The extractor the targets are computed with (float32: targets are exact statistics).
        layers : sequence of int
            VGG layer indices whose features are matched at every octave.
        octaves : int
        source_padding : {"valid", "same"}
            Boundary condition of the sources' pyramid and network (a photo does not wrap around).
        padding : {"valid", "same", "wrap"}
            The output's boundary condition.
        statistic, colour_statistic : Statistic, optional
            Of the VGG layers and of the colour taps (default: Gram for both).
        colour_weight : float
            Weight of the colour terms; 0 leaves them out.
        join_mode : str
            How several sources' statistics join (see the statistic's ``join``).
        mul : float
            Multiplies every target.
        interframe : InterframeTerm, optional
        spectrum_weight : float
            Weight of the spectrum constraint (0: none).
        spectrum_octave : int
            The octave whose pixels the spectrum constraint looks at (0: the canvas itself); less
            than ``octaves``.
        canvas : (int, int), optional
            The output canvas's (height, width), which the spectrum term needs.
        seed : int
            Seed of the statistics' random parts: term ``i`` draws from ``seed + i`` (see :meth:`redraw`).

        Returns
        -------
        Objective
        """
        statistic = statistic or Gram()
        colour_statistic = colour_statistic or Gram()
        taps = (list(COLOUR_TAPS) if colour_weight > 0 else []) + sorted(layers)
        kinds = [colour_statistic if isinstance(t, str) else statistic for t in taps]

        # In a graph each map is freed as soon as its last use has run; describing the sources eagerly
        # instead left TensorFlow's allocator holding 30-75 MB more (anonymous memory at 512x512).
        # One trace per source size (a trace relaxed to unknown sizes would leave the statistics
        # without the pixel count they subsample by), each called as a concrete function: through
        # tf.function's __call__ a folder of differently sized sources would set off its warning
        # about excessive retracing.
        @tf.function(autograph=False)
        def describe(x: tf.Tensor) -> list[tf.Tensor]:
            levels = gaussian_pyramid(x, octaves, source_padding)
            return [kind.describe_bands(bands) for level in levels
                    for kind, bands in zip(kinds, source_taps(level, taps, source_padding, features))]

        def described(image: np.ndarray) -> list[tf.Tensor]:
            x = tf.constant(rgb_to_vgg(image[None], features.mean_bgr))
            return describe.get_concrete_function(tf.TensorSpec(x.shape, x.dtype))(x)

        per_source = [described(image) for image in sources]
        terms = []
        for index, per_term in enumerate(zip(*per_source)):
            octave, tap = divmod(index, len(taps))
            kind = kinds[tap]
            target = kind.scale(kind.join([s[0].numpy() for s in per_term], join_mode), mul)
            base = colour_weight if isinstance(taps[tap], str) else 1.0
            terms.append(Term(octave, taps[tap], kind, kind.prepare(target, seed + index),
                              base * kind.normaliser(target)))
        spectrum = None
        if spectrum_weight > 0:
            if canvas is None:
                raise ValueError("a spectrum term needs the canvas size")
            if not 0 <= spectrum_octave < octaves:
                raise ValueError(f"the spectrum octave must be from 0 to {octaves - 1}")
            size = [level_sizes(n, spectrum_octave + 1, padding)[-1] for n in canvas]
            spectrum = SpectrumTerm.from_sources([rgb_to_vgg(image, features.mean_bgr) for image in sources], *size,
                                                 spectrum_weight, source_padding, spectrum_octave, spectrum_octave)
        return cls(terms, octaves, padding, features.mean_bgr, interframe, spectrum)

    def stage(self, first_octave: int, canvas: tuple[int, int]) -> "Objective":
        """The objective of a coarse-to-fine stage: the terms of octaves ``first_octave`` and coarser,
        renumbered so that ``first_octave`` is the stage canvas's own octave 0.

        Parameters
        ----------
        first_octave : int
        canvas : (int, int)
            The stage canvas's (height, width), for the spectrum term.

        Returns
        -------
        Objective
            Sharing the terms' targets (a redraw of one is a redraw of both). A stage at the
            spectrum term's octave or coarser has the term on its canvas; a finer stage has none.

        Notes
        -----
        Why not keep the term on the finer stages' pyramid level at its octave: at 512x512 with 4
        octaves and a term at octave 1, that scored worse by ``benchmarks/quality.py`` on gravel,
        brick and a grid of tiles (1.09, 1.01, 1.27) than leaving the full-size stage without it
        (1.07, 0.97, 1.18).
        """
        if first_octave == 0 and (self.spectrum is None or self.spectrum.octave == 0):
            return self
        spectrum = None
        if self.spectrum is not None and first_octave >= self.spectrum.octave:
            spectrum = self.spectrum.resized(*canvas, first_octave)
        terms = [Term(t.octave - first_octave, t.tap, t.statistic, t.target, t.weight)
                 for t in self.terms if t.octave >= first_octave]
        return self._with_terms(terms, self.octaves - first_octave, spectrum)

    def finest(self, octaves: int) -> "Objective":
        """The objective of the finest ``octaves`` octaves alone (the image-wide terms kept).

        Parameters
        ----------
        octaves : int

        Returns
        -------
        Objective
            Sharing the terms' targets; without the spectrum term if that looks at a coarser octave.
        """
        if octaves >= self.octaves:
            return self
        spectrum = self.spectrum if self.spectrum is not None and self.spectrum.level < octaves else None
        return self._with_terms([t for t in self.terms if t.octave < octaves], octaves, spectrum)

    def _with_terms(self, terms: Sequence[Term], octaves: int, spectrum: SpectrumTerm | None) -> "Objective":
        """An objective of these terms over ``octaves`` octaves, with this one's padding, colour range
        and inter-frame term."""
        return Objective(terms, octaves, self.padding, -self.lower.numpy(), self.interframe, spectrum)

    def redraw(self, seed: int) -> None:
        """Draw the random parts of the terms' statistics anew (random projections); term ``i``
        draws from ``seed + i``, so a run is reproducible."""
        for index, term in enumerate(self.terms):
            term.statistic.redraw(term.target, seed + index)

    def _other_terms(self, x: tf.Tensor, levels: Sequence[tf.Tensor]) -> tf.Tensor:
        """The range penalty on ``x``, the inter-frame term of the clipped image (``levels[0]``) and
        the spectrum term of its pyramid level."""
        parts = [RANGE_WEIGHT * range_penalty(x, self.lower, self.upper)]
        if self.interframe is not None:
            parts.append(self.interframe.loss(levels[0]))
        if self.spectrum is not None:
            parts.append(self.spectrum.loss(levels[self.spectrum.level]))
        return fixed_order_sum(parts)

    def loss_and_grad(self, x: tf.Tensor, features: VGGFeatures) -> tuple[tf.Tensor, tf.Tensor]:
        """The loss of pre-processed frames ``x`` (count, H, W, 3) and its gradient, seen through ``features``.

        Each octave's terms are differentiated with respect to its pyramid level on their own,
        finest octave first, and an octave starts only once the previous one's gradient exists; the
        levels' gradients then flow back through the pyramid together. So only one octave's feature
        maps are alive at once. Left to itself TensorFlow interleaved the octaves as its threads
        finished, and its peak during an evaluation at 512x512 varied from 231 to 300 MB between
        identical float32 runs.

        Returns
        -------
        loss : Tensor, scalar
        gradient : Tensor, the shape of ``x``
        """
        x = tf.convert_to_tensor(x, tf.float32)
        with tf.GradientTape() as pyramid_tape:
            pyramid_tape.watch(x)
            image = tf.clip_by_value(x, self.lower, self.upper)
            levels = gaussian_pyramid(image, self.octaves, self.padding)
            others = self._other_terms(x, levels)
        octave_losses, level_grads = [], []
        for octave, level in enumerate(levels):
            with tf.control_dependencies(level_grads[-1:]):
                level = tf.identity(level)
            with tf.GradientTape() as tape:
                tape.watch(level)
                terms = [t for t in self.terms if t.octave == octave]
                tensors = octave_taps(level, self.taps[octave], self.padding, features)
                loss = fixed_order_sum([term.weight * term.statistic.loss(tensor, term.target)
                                        for term, tensor in zip(terms, tensors)])
            level_grads.append(tape.gradient(loss, level))
            octave_losses.append(loss)
        grad = pyramid_tape.gradient([others, *levels], x, output_gradients=[tf.ones_like(others), *level_grads])
        return fixed_order_sum([others, *octave_losses]), grad

    def compile(self, features: VGGFeatures):
        """:meth:`loss_and_grad` through ``features`` as a ``tf.function`` of ``x`` alone."""
        # Without AutoGraph: the loss has no control flow on tensors, and converting its Python (the
        # statistics, the network, the pyramid) took about half of each stage's first-call trace,
        # 2 s of a quick start at four stages.
        return tf.function(lambda x: self.loss_and_grad(x, features), reduce_retracing=True, autograph=False)
