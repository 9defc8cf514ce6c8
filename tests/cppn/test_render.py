"""Tests of texsynth.cppn.render: the function itself, resolution independence, exact chunking."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from texsynth.cppn.model import ARCHITECTURES, CPPN, CPPNConfig, build_cppn
from texsynth.cppn.render import default_chunk_rows, render, render_rows, render_seed_image
from texsynth.errors import TexsynthError


def small_net(**settings) -> CPPN:
    return build_cppn(CPPNConfig(**{"random_seed": 3, **settings}))


def reference_render(net: CPPN, width: int, height: int) -> np.ndarray:
    """Straightforward float64 per-pixel forward pass of a raw tanh network, written from the
    definition (not from the renderer's code): c = sigmoid(W_out h + b_out), h = tanh(...)."""
    c = net.config
    short = min(width, height)
    out = np.empty((height, width, c.channels))
    for j in range(height):
        for i in range(width):
            x = (2 * i + 1 - width) / short * c.scale
            y = (2 * j + 1 - height) / short * c.scale
            r = np.sqrt(x * x + y * y)
            inputs = np.concatenate([[x, y, r], net.z * c.scale])
            h = np.tanh(inputs @ net.w_in.astype(np.float64) + net.b_in)
            for weight, bias in net.hidden:
                h = np.tanh(h @ weight.astype(np.float64) + bias)
            out[j, i] = 1.0 / (1.0 + np.exp(-(h @ net.w_out.astype(np.float64) + net.b_out)))
    return out


# ----------------------------------------------------------------------------------------------
# The function itself

def test_raw_render_matches_the_definition():
    net = small_net(normalize=False, layers=2, net_size=8, scale=3.0)
    np.testing.assert_allclose(render(net, 9, 6), reference_render(net, 9, 6), atol=2e-5)


def test_normalised_render_is_a_monotone_per_channel_remap_of_the_raw_one():
    net = small_net()
    raw = render(replace(net, config=replace(net.config, normalize=False)), 40, 30)
    tuned = render(net, 40, 30)
    for ch in range(3):
        order = np.argsort(raw[..., ch], axis=None, kind="stable")
        # Tolerance: saturated raw values tie in float32 while their readouts still differ.
        assert np.all(np.diff(tuned[..., ch].ravel()[order]) >= -1e-5)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_output_shape_dtype_and_range(arch, channels):
    image = render(small_net(arch=arch, channels=channels), 33, 21)
    assert image.shape == (21, 33, channels)
    assert image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 1.0
    # Tone normalisation keeps pictures from being flat.
    assert image.std() > 0.1


def test_architectures_draw_different_pictures():
    images = [render(small_net(arch=arch), 24, 24) for arch in ARCHITECTURES]
    for a in range(len(images)):
        for b in range(a + 1, len(images)):
            assert np.abs(images[a] - images[b]).mean() > 0.02


# ----------------------------------------------------------------------------------------------
# Resolution independence and chunking

def test_double_resolution_downsampled_matches():
    net = small_net()
    one = render(net, 64, 48)
    two = render(net, 128, 96).reshape(48, 2, 64, 2, 3).mean(axis=(1, 3))
    unrelated = render(small_net(random_seed=103), 64, 48)
    difference = np.abs(one - two).mean()
    assert difference < 0.03
    assert difference < 0.1 * np.abs(one - unrelated).mean()


def test_wide_image_extends_the_square_one_without_stretching():
    # The shorter side spans [-1, 1], so the middle of a 2:1 image is the square image. (Only
    # to float32 rounding for the wide one: BLAS may sum a 60-pixel row in another order than
    # a 30-pixel one.)
    net = small_net()
    square = render(net, 30, 30)
    np.testing.assert_allclose(render(net, 60, 30)[:, 15:45], square, atol=1e-5)
    assert np.array_equal(render(net, 30, 60)[15:45, :], square)


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_chunked_render_equals_unchunked_exactly(arch):
    net = small_net(arch=arch)
    whole = render(net, 37, 29, chunk_rows=29)
    for rows in (1, 2, 7, 28, 1000):
        assert np.array_equal(render(net, 37, 29, chunk_rows=rows), whole), rows


def test_render_rows_covers_the_image_in_order():
    net = small_net(channels=1)
    chunks = list(render_rows(net, 20, 23, chunk_rows=5))
    assert [top for top, _ in chunks] == [0, 5, 10, 15, 20]
    assert [c.shape for _, c in chunks][-1] == (3, 20, 1)
    assert np.array_equal(np.concatenate([c for _, c in chunks]), render(net, 20, 23))


def test_default_chunks_stay_small():
    assert default_chunk_rows(100_000, 32) == 1
    rows = default_chunk_rows(1000, 32)
    assert 1 < rows and rows * 1000 * 32 * 4 <= 4 * 2**20


# ----------------------------------------------------------------------------------------------
# Bad input

@pytest.mark.parametrize("width, height", [(0, 10), (10, 0), (-3, 10), (10, -1), (2.5, 10)])
def test_bad_sizes(width, height):
    with pytest.raises(TexsynthError, match="positive integer"):
        render(small_net(), width, height)


@pytest.mark.parametrize("rows", [0, -2, 1.5])
def test_bad_chunk_rows(rows):
    with pytest.raises(TexsynthError, match="chunk rows"):
        render_rows(small_net(), 10, 10, chunk_rows=rows)


def test_impossible_chunk_is_refused_before_any_work():
    with pytest.raises(TexsynthError, match="working memory"):
        render_rows(small_net(), 100_000, 100_000, chunk_rows=5_000)
    # More rows than the image has is not impossible: the chunk is the whole image.
    render_rows(small_net(), 100_000, 2, chunk_rows=5_000)


def test_wrong_z_shape():
    with pytest.raises(TexsynthError, match="shape"):
        render(small_net(), 8, 8, z=np.zeros(3))


# ----------------------------------------------------------------------------------------------
# The texture synthesizer's seed image

def test_render_seed_image():
    image = render_seed_image(48, 32, 5)
    assert image.shape == (32, 48, 3) and image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 255.0
    assert image.max() - image.min() > 100  # a picture, not a flat colour
    assert np.array_equal(image, render_seed_image(48, 32, 5))
    assert not np.array_equal(image, render_seed_image(48, 32, 6))
    assert render_seed_image(8, 8, None).shape == (8, 8, 3)
    with pytest.raises(TexsynthError):
        render_seed_image(0, 8, 1)
