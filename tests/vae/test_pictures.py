"""Tests of texsynth.vae.pictures: the latent lattice, grid, samples, reconstructions, and pixels."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from tests.vae.conftest import blobs
from texsynth.errors import TexsynthError
from texsynth.vae.model import decode
from texsynth.vae.pictures import grid_latents, latent_grid, reconstruct_images, sample_images, tile, to_picture

# Keras converts its own tensors with np.array(x), which numpy 2 flags; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def test_grid_latents_are_gaussian_quantiles():
    latents = grid_latents(15, 2).reshape(15, 15, 2)
    quantiles = norm.ppf(np.linspace(0.05, 0.95, 15))
    assert latents[0, :, 0] == pytest.approx(quantiles)  # x grows to the right
    assert latents[:, 0, 1] == pytest.approx(quantiles[::-1])  # y grows upwards
    assert latents[7, 7] == pytest.approx([0.0, 0.0], abs=1e-6)
    other = grid_latents(4, 5, dims=(3, 1)).reshape(4, 4, 5)
    assert np.all(other[..., [0, 2, 4]] == 0)
    assert other[0, :, 3] == pytest.approx(norm.ppf(np.linspace(0.05, 0.95, 4)))


@pytest.mark.parametrize("latent_dim, dims, message", [
    (2, (0, 2), "out of range"),
    (3, (3, 0), "out of range"),
    (2, (1, 1), "two different"),
    (1, (0, 1), "at least 2"),
])
def test_grid_latents_bad_pairs(latent_dim, dims, message):
    with pytest.raises(TexsynthError, match=message):
        grid_latents(5, latent_dim, dims)


def test_grid_sample_reconstruct_shapes(tiny_model):
    grid = latent_grid(tiny_model, 5)
    assert grid.shape == (40, 40, 1)
    # Decoded alone, not in a batch of 25: oneDNN's blocking on an AVX2-only CPU changes the last bits.
    cell = decode(tiny_model, grid_latents(5, 2)[7:8])[0]
    np.testing.assert_allclose(grid[8:16, 16:24], cell, rtol=0, atol=1e-5)
    samples = sample_images(tiny_model, 10, seed=1)
    assert samples.shape == (3 * 8, 4 * 8, 1)
    assert np.array_equal(samples, sample_images(tiny_model, 10, seed=1))
    originals = blobs(3, seed=5)
    pairs = reconstruct_images(tiny_model, originals)
    assert pairs.shape == (8, 3 * 16 + 2 * 2, 1)
    assert np.array_equal(pairs[:, :8], originals[0])
    np.testing.assert_allclose(pairs[:, 8:16], tiny_model.predict(originals[:1], verbose=0)[0], rtol=0, atol=1e-5)


def test_tile_fills_gaps_and_empty_cells():
    sheet = tile(np.ones((3, 2, 2, 1), np.float32), 2, gap=1, gap_value=0.25)
    assert sheet.shape == (5, 5, 1)
    assert np.all(sheet[:2, :2] == 1) and np.all(sheet[2] == 0.25) and np.all(sheet[3:, 3:] == 0.25)


def test_to_picture_scales_and_drops_single_channel():
    assert to_picture(np.ones((2, 3, 1))).shape == (2, 3)
    assert to_picture(np.full((2, 3, 3), 0.5)) == pytest.approx(np.full((2, 3, 3), 127.5))
