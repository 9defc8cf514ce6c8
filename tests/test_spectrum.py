"""The spectrum constraint: periodic component, resampled spectrum, projection and loss."""

import numpy as np
import pytest
import tensorflow as tf
from scipy import ndimage

from texsynth.spectrum import SpectrumTerm, periodic_component, resampled_spectrum, spectrum_projection


def _periodic_texture(size=48, seed=0):
    """Blurred noise with wrap-around blur: a periodic image with structure at several scales."""
    noise = np.random.default_rng(seed).normal(0, 40, (size, size, 3))
    return ndimage.gaussian_filter(noise, (2, 2, 0), mode="wrap") + np.array([10.0, -5.0, 3.0])


def test_periodic_component_removes_the_border_jump_and_keeps_a_periodic_image():
    # A periodic image changes little (its jump across the border is an ordinary neighbour step).
    periodic = _periodic_texture()
    assert np.abs(periodic_component(periodic) - periodic).mean() < 0.1 * np.abs(periodic - periodic.mean()).mean()
    ramp = np.repeat(np.linspace(0, 100, 32)[None, :, None], 32, axis=0)  # jumps by 100 across its edges
    p = periodic_component(ramp)
    assert np.abs(p[:, 0] - p[:, -1]).max() < np.abs(ramp[:, 0] - ramp[:, -1]).max() / 10


def test_resampled_spectrum_keeps_energy_per_pixel_and_symmetry():
    source = _periodic_texture(40)
    big = resampled_spectrum(source, 64, 96)
    image = np.real(np.fft.ifft2(big, axes=(0, 1)))
    assert np.abs(np.imag(np.fft.ifft2(big, axes=(0, 1)))).max() < 1e-9  # Hermitian: a real image
    assert np.var(image) == pytest.approx(np.var(source), rel=0.15)
    doubled = np.real(np.fft.ifft2(resampled_spectrum(source, 80, 80), axes=(0, 1)))
    assert np.var(doubled) == pytest.approx(np.var(source), rel=0.15)  # rint: 2.1 times the variance
    # The mean is kept exactly, on a larger grid and on a smaller one (the energy scale would make
    # it sqrt(size ratio) times too large there and too small here).
    np.testing.assert_allclose(image.mean(axis=(0, 1)), source.mean(axis=(0, 1)), atol=1e-9)
    small = np.real(np.fft.ifft2(resampled_spectrum(source, 24, 16), axes=(0, 1)))
    np.testing.assert_allclose(small.mean(axis=(0, 1)), source.mean(axis=(0, 1)), atol=1e-9)
    same = resampled_spectrum(source, 40, 40)
    np.testing.assert_allclose(np.real(np.fft.ifft2(same, axes=(0, 1))), periodic_component(source), atol=1e-6)


def test_loss_is_zero_on_a_circular_shift_of_the_source_and_positive_on_noise():
    source = _periodic_texture()
    term = SpectrumTerm.from_sources([source], 48, 48, 1.0)

    def loss(image):
        return float(term.loss(tf.constant(np.roll(image, (7, -12), axis=(0, 1))[None], tf.float32)))

    noise = np.random.default_rng(3).normal(0, 40, (48, 48, 3))
    # Exactly zero on the spectrum's own image (the source's periodic component), nearly so on the
    # source itself, and far from zero on noise of the same strength.
    assert loss(periodic_component(source)) < 1e-6
    assert loss(source) < 0.01 * loss(noise) and loss(noise) > 0.1
    # The projection of anything has the source's modulus in every channel.
    projected = spectrum_projection(tf.constant(noise[None], tf.float32), term.target).numpy()[0]
    np.testing.assert_allclose(np.abs(np.fft.fft2(projected, axes=(0, 1))),
                               np.abs(np.fft.fft2(periodic_component(source), axes=(0, 1))), rtol=1e-3, atol=0.1)


def test_gradient_is_twice_the_distance_to_the_projection():
    source = _periodic_texture(32)
    term = SpectrumTerm.from_sources([source], 32, 32, 2.0)
    x = tf.constant(np.random.default_rng(4).normal(0, 30, (2, 32, 32, 3)), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = term.loss(x)
    grad = tape.gradient(value, x).numpy()
    # Finite differences of the full loss (the projection moves too): a squared distance to a set
    # has the gradient 2 (x - P(x)) wherever the projection is unique.
    v = np.random.default_rng(5).normal(size=x.shape).astype(np.float32)
    v /= np.linalg.norm(v)
    eps = 0.5
    numeric = (float(term.loss(x + eps * v)) - float(term.loss(x - eps * v))) / (2 * eps)
    assert float(np.sum(grad * v)) == pytest.approx(numeric, rel=0.02)


@pytest.mark.parametrize("octave", [0, 1, 2])
def test_a_coarse_stage_gets_the_spectrum_of_the_source_at_its_octave(octave):
    # Stripes of period 32 source pixels: a stage canvas at octave k covers 2**k output pixels per
    # pixel, so there the stripes have a period of 32 / 2**k canvas pixels: 2, 4 and 8 cycles
    # across a 64-pixel canvas (within one frequency: the coarse source levels are not a whole
    # number of periods). Described at full size, every stage would see 2.
    x = np.arange(192)
    stripes = 60 * np.sin(2 * np.pi * x / 32)[None, :, None] * np.ones((192, 1, 3))
    source = stripes + np.random.default_rng(6).normal(0, 2, (192, 192, 3))
    term = SpectrumTerm.from_sources([source], 192, 192, 0.5).resized(64, 64, octave)
    modulus = np.abs(term.target.numpy()).sum(axis=0)
    modulus[0, 0] = 0.0
    row, column = np.unravel_index(np.argmax(modulus), modulus.shape)
    assert row == 0 and abs(min(column, 64 - column) - 2 * 2**octave) <= (octave == 2)
    assert term.strength == 0.5 and len(term.sources) == 1 and term.sources[0].shape == (192, 192, 3)
