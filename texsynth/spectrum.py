"""The spectrum constraint (Liu, Gousseau & Xia 2016; Gonthier, Gousseau & Ladjal 2022): pull the
image towards the set of images that share the source's Fourier modulus.

Local feature statistics say which patterns occur, not how they line up over long distances; the
Fourier modulus carries exactly that long-range regularity (the courses of a brick wall, the
period of a weave or of planks). The term is the squared distance from the image to its
projection on that set,

    loss(x) = ‖x − P(x)‖² / (pixels · variance of the source),

where ``P(x)`` keeps the source's modulus and takes the phase from ``x``. For colour images the
projection gives every channel the source's own spectrum times one common phase per frequency,
``P̂(f) = Ŝ(f) · ⟨X̂(f), Ŝ(f)⟩ / |⟨X̂(f), Ŝ(f)⟩|``, which keeps the source's colour correlations. The
gradient of a squared distance to a set is ``2 (x − P(x))``: ``P(x)`` is held constant.

The output is usually larger than the source and wraps around. The source's spectrum is taken from
its periodic component (Moisan 2011: without it the source's edges add a bright cross to the
spectrum) and resampled to the output's frequency grid by nearest neighbour, scaled so the image
energy per pixel is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import tensorflow as tf

from texsynth.nn.pyramid import gaussian_pyramid

__all__ = ["SpectrumTerm", "periodic_component", "resampled_spectrum", "spectrum_projection"]


def periodic_component(image: np.ndarray) -> np.ndarray:
    """The periodic component of an image (Moisan's periodic + smooth decomposition).

    Parameters
    ----------
    image : ndarray, shape (H, W, C)

    Returns
    -------
    ndarray, shape (H, W, C), float64
        ``image`` minus the smooth component whose Laplacian equals the image's jumps across its
        opposite borders; its periodic repetition has no seams.
    """
    u = np.asarray(image, np.float64)
    h, w = u.shape[:2]
    v = np.zeros_like(u)
    v[0] += u[-1] - u[0]
    v[-1] += u[0] - u[-1]
    v[:, 0] += u[:, -1] - u[:, 0]
    v[:, -1] += u[:, 0] - u[:, -1]
    q = np.arange(h)[:, None]
    r = np.arange(w)[None, :]
    denominator = 2 * np.cos(2 * np.pi * q / h) + 2 * np.cos(2 * np.pi * r / w) - 4
    denominator[0, 0] = 1.0
    smooth_hat = np.fft.fft2(v, axes=(0, 1)) / denominator[..., None]
    smooth_hat[0, 0] = 0.0
    return u - np.real(np.fft.ifft2(smooth_hat, axes=(0, 1)))


def resampled_spectrum(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """The Fourier transform of an image's periodic component on another size's frequency grid.

    Parameters
    ----------
    image : ndarray, shape (H, W, C)
    height, width : int
        The output's size.

    Returns
    -------
    ndarray, shape (height, width, C), complex128
        At each output frequency, the source's transform at the nearest source frequency (in
        cycles per pixel, halves rounded away from zero, so that every source frequency serves
        about equally many output ones), times ``sqrt(height * width / (H * W))`` so that a
        same-size inverse transform has the source's energy per pixel. The mean (frequency 0) is
        one coefficient on both grids: it is scaled by ``height * width / (H * W)`` to keep the
        source's mean, and no other output frequency takes it. Hermitian symmetry is kept.
    """
    h, w = image.shape[:2]
    spectrum = np.fft.fft2(periodic_component(image), axes=(0, 1))
    mean = spectrum[0, 0].copy()
    # Nearest-neighbour resampling to a larger grid gave the mean's coefficient to the lowest
    # frequencies around it too, a wave as strong as the mean across the output (slow tints).
    spectrum[0, 0] = 0.0

    def nearest(n_out: int, n_src: int) -> np.ndarray:
        scaled = np.fft.fftfreq(n_out) * n_src  # source frequencies, negative ones last
        # Half away from zero keeps the mapping odd (Hermitian symmetry); numpy's rint rounds half
        # to even, which served even source frequencies three times and odd ones once at 2x.
        return (np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)).astype(int) % n_src

    rows, cols = nearest(height, h), nearest(width, w)
    resampled = spectrum[rows][:, cols] * np.sqrt(height * width / (h * w))
    resampled[0, 0] = mean * (height * width / (h * w))
    return resampled


def spectrum_projection(x: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    """Project images on the set of images whose Fourier transform is ``target`` times one phase per frequency.

    Parameters
    ----------
    x : Tensor, shape (N, H, W, C), float32
    target : Tensor, shape (C, H, W), complex64
        The source's transform on this size's grid (channels first).

    Returns
    -------
    Tensor, shape (N, H, W, C), float32
    """
    x_hat = tf.signal.fft2d(tf.cast(tf.transpose(x, (0, 3, 1, 2)), tf.complex64))
    inner = tf.reduce_sum(x_hat * tf.math.conj(target), axis=1, keepdims=True)
    magnitude = tf.cast(tf.abs(inner), tf.complex64)
    phase = tf.where(tf.abs(inner) > 0, inner / tf.where(tf.abs(inner) > 0, magnitude, tf.ones_like(magnitude)),
                     tf.ones_like(inner))
    projected = tf.math.real(tf.signal.ifft2d(target[None] * phase))
    return tf.transpose(projected, (0, 2, 3, 1))


@dataclass(frozen=True)
class SpectrumTerm:
    """The spectrum constraint of an objective, on the pixels of one pyramid level of its canvas.

    Attributes
    ----------
    target : Tensor, shape (C, H, W), complex64
        The sources' spectrum on the canvas's grid.
    weight : float
        ``--spectrum-weight`` divided by the source's pixel variance.
    sources : tuple of ndarray
        The pre-processed sources, to build the term again for another canvas size.
    strength : float
        ``--spectrum-weight``.
    source_padding : {"valid", "same"}
        The sources' pyramid padding, to describe them at a coarser octave (:meth:`resized`).
    octave : int
        The output's pyramid octave whose spectrum the target is (0: the full size).
    level : int
        The level of the objective canvas's pyramid whose pixels the term looks at (0: the canvas
        itself): a coarse-to-fine stage's canvas is at octave ``octave - level``.
    """

    target: tf.Tensor
    weight: float
    sources: tuple[np.ndarray, ...] = ()
    strength: float = 0.0
    source_padding: str = "valid"
    octave: int = 0
    level: int = 0

    @classmethod
    def from_sources(cls, sources: Sequence[np.ndarray], height: int, width: int, weight: float,
                     source_padding: str = "valid", octave: int = 0, level: int = 0) -> "SpectrumTerm":
        """Build the term for an image of ``height`` x ``width`` pixels at pyramid ``octave`` (each
        pixel covering ``2**octave`` of the output's) from full-size source images.

        Parameters
        ----------
        sources : sequence of ndarray, shape (H, W, 3)
            In the same units and channel order as the images the loss will see (pre-processed).
        height, width : int
        weight : float
        source_padding : {"valid", "same"}
            The sources' pyramid padding, to describe them at ``octave``.
        octave : int
            The target is the spectrum of the sources' own pyramid level at this octave: resampled
            from the full-size sources, one pixel of a coarse stage would stand for one source
            pixel, and the stage would be pulled towards the source's structure enlarged
            ``2**octave`` times.
        level : int
            Which level of the objective canvas's pyramid the term looks at.

        Notes
        -----
        Several sources: the modulus of each channel is the root mean square of the sources'
        moduli, and the colour correlations (relative phases between channels) are the first
        source's.
        """
        described = sources
        if octave > 0:
            described = [gaussian_pyramid(tf.constant(s[None], tf.float32), octave + 1, source_padding)[-1][0].numpy()
                         for s in sources]
        spectra = [resampled_spectrum(s, height, width) for s in described]
        first = spectra[0]
        if len(spectra) > 1:
            power = np.mean([np.abs(s) ** 2 for s in spectra], axis=0)
            first = np.sqrt(power) * np.exp(1j * np.angle(first))
        variance = float(np.mean([np.var(s, axis=(0, 1)).mean() for s in described]))
        target = tf.constant(np.transpose(first, (2, 0, 1)).astype(np.complex64))
        # Keeps the full-size sources, so that any stage can be described again from them.
        return cls(target, weight / max(variance, 1e-12), tuple(sources), weight, source_padding, octave, level)

    def resized(self, height: int, width: int, octave: int = 0, level: int = 0) -> "SpectrumTerm":
        """The same term for an image of ``height`` x ``width`` pixels at pyramid ``octave``, level
        ``level`` of the objective's canvas (see :meth:`from_sources`)."""
        return SpectrumTerm.from_sources(self.sources, height, width, self.strength, self.source_padding, octave,
                                         level)

    def loss(self, image: tf.Tensor) -> tf.Tensor:
        """``weight · Σ_frames mean (x − P(x))²`` of clipped images (N, H, W, C)."""
        projected = tf.stop_gradient(spectrum_projection(image, self.target))
        return self.weight * tf.reduce_sum(tf.reduce_mean(tf.square(image - projected), axis=(1, 2, 3)))
