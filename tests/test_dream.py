"""Tests of the DeepDream algorithm (texsynth.dream): octave shapes, detail re-injection,
the loss, early stopping and tiling.

Most tests use the tiny VGG-shaped network of conftest.py; the real bundled weights are used where
the point is a real photo's loss rising.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from texsynth.dream import (DreamConfig, DreamLoss, check_octaves_fit, dream, layer_energies, noise_image,
                            octave_shapes, tiled_loss_and_gradient)
from texsynth.errors import TexsynthError
from texsynth.io.images import load_image, resize_image
from texsynth.nn.geometry import receptive_margin
from texsynth.nn.layers import layer_names

from tests.conftest import EXAMPLES


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A real photo (the leaves example) at 96x80: structure at every scale, cheap to dream on."""
    return resize_image(load_image(EXAMPLES / "leaves.png"), 96, 80)


# ------------------------------------------------------------------------------------------------ octaves

def test_octave_shapes_shrink_by_the_scale_and_end_at_the_input_size():
    shapes = octave_shapes(512, 384, 4, 1.4)
    assert len(shapes) == 4 and shapes[-1] == (512, 384)
    # The classic recipe's sizes: int(side / 1.4 ** i), smallest first.
    assert shapes[0] == (int(512 / 1.4 ** 3), int(384 / 1.4 ** 3)) == (186, 139)
    for (h0, w0), (h1, w1) in zip(shapes, shapes[1:]):
        assert h0 < h1 and w0 < w1
        assert h1 / h0 == pytest.approx(1.4, rel=0.02) and w1 / w0 == pytest.approx(1.4, rel=0.02)
    assert octave_shapes(50, 70, 1, 1.4) == [(50, 70)]
    assert octave_shapes(3, 3, 5, 2.0)[0] == (1, 1)  # never below one pixel


@pytest.mark.parametrize("field, value", [("octaves", 0), ("octave_scale", 1.0), ("iterations", -1), ("step", 0.0),
                                          ("max_loss", -1.0), ("border", -1), ("tile_size", 0), ("tile_overlap", -8)])
def test_config_rejects_values_the_loop_cannot_use(field, value):
    with pytest.raises(TexsynthError, match=field):
        DreamConfig(**{field: value})


def test_octaves_that_do_not_fit_the_layer_are_a_clear_error():
    config = DreamConfig(layers=["conv5_3"], octaves=4)
    check_octaves_fit(300, 300, config, [layer_names("vgg16").index("conv5_3")], "vgg16")
    with pytest.raises(TexsynthError, match=r"too small for 4 octaves at layer conv5_3.*fewer --octaves"):
        check_octaves_fit(120, 300, config, [layer_names("vgg16").index("conv5_3")], "vgg16")


def test_octave_images_have_the_octave_shapes(tiny, photo):
    config = DreamConfig(layers=["conv2_1"], octaves=3, octave_scale=1.3, iterations=1, random_seed=0)
    seen = []
    result = dream(photo, tiny, config, on_octave=lambda k, image: seen.append((k, image.shape)))
    expected = octave_shapes(80, 96, 3, 1.3)
    assert seen == [(k, (h, w, 3)) for k, (h, w) in enumerate(expected)]
    assert [(o.height, o.width) for o in result.octaves] == expected
    assert result.image.shape == photo.shape and result.image.dtype == np.float32


def test_zero_steps_give_back_the_input_thanks_to_detail_reinjection(tiny, photo):
    config = DreamConfig(layers=["conv2_1"], octaves=4, octave_scale=1.4, iterations=0)
    result = dream(photo, tiny, config)
    # Re-injecting original@next - upscale(original@this) cancels the resampling exactly in real
    # arithmetic; only float32 rounding of values up to 255 remains (255 * 2**-24 per operation).
    error = np.abs(result.image - photo).max()
    assert error < 1e-3
    # Without the re-injection the round trip through the smallest octave loses real detail, so the
    # bound above is a meaningful one.
    shapes = octave_shapes(80, 96, 4, 1.4)
    blurred = resize_image(photo, shapes[0][1], shapes[0][0])
    for h, w in shapes[1:]:
        blurred = resize_image(blurred, w, h)
    assert np.abs(blurred - photo).max() > 1000 * max(error, 1e-3)


# ------------------------------------------------------------------------------------------------ loss

def test_loss_is_relative_to_the_photo_and_weighted(tiny, photo):
    config = DreamConfig(layers=["conv2_1:1", "conv3_1:0.5"], octaves=1, iterations=2, random_seed=0)
    result = dream(photo, tiny, config)
    # On the undreamed photo each layer reads 1, so the first loss is the sum of the weights.
    assert result.octaves[0].losses[0] == pytest.approx(1.5, rel=1e-4)


def test_border_is_left_out_of_the_loss(tiny):
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, (64, 64, 3)).astype(np.float32)
    layer = layer_names("vgg16").index("conv2_1")  # stride 2: a 32x32 map
    loss = DreamLoss(tiny, [layer], border=4)
    changed = image.copy()
    # Map position p of conv2_1 sees pixels 2p-4 .. 2p+5, so pixels 0..3 reach positions 0..3 only:
    # all inside a border of 4.
    changed[:4, :4] = 255 - changed[:4, :4]
    inner = layer_energies(loss, image, 512, 64)
    assert layer_energies(loss, changed, 512, 64) == pytest.approx(inner, rel=1e-6)
    whole = DreamLoss(tiny, [layer], border=0)
    assert layer_energies(whole, changed, 512, 64) != pytest.approx(layer_energies(whole, image, 512, 64), rel=1e-4)


def test_loss_rises_over_iterations_on_a_real_photo(photo):
    from texsynth.nn.weights import load_weights

    weights = load_weights("hed", "model_data")  # the real bundled VGG16
    config = DreamConfig(layers=["conv4_3"], octaves=1, iterations=6, max_loss=math.inf, border=1, random_seed=0)
    losses = dream(photo, weights, config).octaves[0].losses
    assert len(losses) == 6
    assert all(b > a for a, b in zip(losses, losses[1:])), losses
    assert losses[-1] > 2 * losses[0]


def test_max_loss_stops_an_octave_early(tiny, photo):
    base = DreamConfig(layers=["conv3_1"], octaves=2, iterations=12, max_loss=math.inf, random_seed=0)
    free = dream(photo, tiny, base)
    assert [len(o.losses) for o in free.octaves] == [12, 12] and not any(o.stopped_early for o in free.octaves)
    # A threshold the free run crosses half-way through its first octave.
    threshold = float(np.mean(free.octaves[0].losses[5:7]))
    stopped = dream(photo, tiny, DreamConfig(layers=["conv3_1"], octaves=2, iterations=12, max_loss=threshold,
                                             random_seed=0))
    for octave in stopped.octaves:
        assert octave.stopped_early and len(octave.losses) < 12
        assert octave.losses[-1] > threshold and all(value <= threshold for value in octave.losses[:-1])
    assert stopped.octaves[0].losses == pytest.approx(free.octaves[0].losses[:len(stopped.octaves[0].losses)])


# ------------------------------------------------------------------------------------------------ tiling


def test_bfloat16_maps_give_nearly_the_float32_loss_and_gradient(tiny, photo):
    layers = [layer_names("vgg16").index("conv3_2")]
    results = []
    for precision in ("float32", "bfloat16"):
        loss = DreamLoss(tiny, layers, border=2, precision=precision)
        assert loss.features.dtype.name == precision
        results.append(tiled_loss_and_gradient(loss, photo, 1 / loss.counts(80, 96), 512, 0, None))
    (exact_loss, exact), (half_loss, half) = results
    assert half_loss == pytest.approx(exact_loss, rel=0.02)
    cosine = np.sum(exact * half) / (np.linalg.norm(exact) * np.linalg.norm(half))
    assert cosine > 0.99


def test_tiled_gradient_equals_the_untiled_one(tiny):
    image = np.random.default_rng(0).uniform(0, 255, (96, 80, 3)).astype(np.float32)
    layers = [layer_names("vgg16").index("conv2_1"), layer_names("vgg16").index("conv3_2")]
    loss = DreamLoss(tiny, layers, border=2)
    scales = np.array([1.0, 0.5]) / loss.counts(96, 80)
    whole_loss, whole = tiled_loss_and_gradient(loss, image, scales, 512, 0, None)
    margin = receptive_margin(max(layers), "vgg16")
    tiled_loss, tiled = tiled_loss_and_gradient(loss, image, scales, 24, margin, np.random.default_rng(1))
    # Same sum split over tiles: equal up to float32 summation order.
    assert tiled_loss == pytest.approx(whole_loss, rel=1e-5)
    np.testing.assert_allclose(tiled, whole, rtol=0, atol=1e-5 * np.abs(whole).max())
    # Without the overlap the tiles miss context and the gradient is visibly different.
    _, cut = tiled_loss_and_gradient(loss, image, scales, 24, 0, np.random.default_rng(1))
    assert np.abs(cut - whole).max() > 0.05 * np.abs(whole).max()


def test_tiled_dream_matches_untiled_on_an_image_that_fits_one_tile(tiny, photo):
    common = dict(layers=["conv2_2", "conv3_1:0.5"], octaves=2, iterations=4, random_seed=5, precision="float32")
    untiled = dream(photo, tiny, DreamConfig(**common)).image  # 96x80 fits the default 512 tile
    tiled = dream(photo, tiny, DreamConfig(tile_size=32, **common)).image  # forced into shifted tiles
    # The tiled loss equals the untiled one in exact arithmetic (the overlap covers the receptive
    # field); float32 summation order differs at ~1e-6 relative, and 8 normalised steps of ~1.3 grey
    # levels each leave differences of ~1e-4 grey levels (6e-5 measured); 0.01 is still 50 times
    # below the 0.5 that could change a saved 8-bit pixel.
    assert np.abs(tiled - untiled).max() < 0.01
    # The tolerance is tight enough to catch tiles that lack context.
    cut = dream(photo, tiny, DreamConfig(tile_size=32, tile_overlap=0, **common)).image
    assert np.abs(cut - untiled).max() > 1.0
    # Same seed, same result.
    np.testing.assert_array_equal(dream(photo, tiny, DreamConfig(tile_size=32, **common)).image, tiled)


def test_noise_image_is_seeded_faint_grey_noise():
    a = noise_image(40, 30, np.random.default_rng(7))
    assert a.shape == (30, 40, 3) and a.dtype == np.float32
    assert 127.5 - 16 <= a.min() < a.max() <= 127.5 + 16
    np.testing.assert_array_equal(a, noise_image(40, 30, np.random.default_rng(7)))
    assert not np.array_equal(a, noise_image(40, 30, np.random.default_rng(8)))
