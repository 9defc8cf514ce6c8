"""The synthesis pipeline: its gradient, that optimisation works, determinism and size checks."""

import numpy as np
import pytest
from conftest import ROOT
import tensorflow as tf
from PIL import Image

from texsynth.errors import TexsynthError
from texsynth.optimize import lbfgs
from texsynth.synthesis import SynthConfig, Synthesizer, make_seed, max_octaves, output_padding
from texsynth.vgg import feature_size
from texsynth.weights import read_weights, bundled_weights_path


@pytest.fixture(scope="module")
def noise_source(tmp_path_factory):
    rng = np.random.default_rng(5)
    from scipy import ndimage

    image = ndimage.gaussian_filter(rng.uniform(0, 255, (72, 72, 3)), (1.5, 1.5, 0))
    path = tmp_path_factory.mktemp("src") / "noise.png"
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture(scope="module")
def hed():
    return read_weights(bundled_weights_path())


def _directional_check(synth, x, rng, eps=2.0):
    """Compare the analytic gradient with central differences along the gradient and random directions.

    Directions are unit vectors over all pixels; a step of ``eps`` moves each pixel by a small fraction of
    a grey level, well inside float32 precision of a loss of order one.
    """
    _, grad = synth.loss_and_grad(tf.constant(x))
    grad = grad.numpy().astype(np.float64)
    directions = [grad / np.linalg.norm(grad)] + [rng.normal(size=x.shape) for _ in range(2)]
    for v in directions:
        v = (v / np.linalg.norm(v)).astype(np.float32)
        plus = float(synth.loss(tf.constant(x + eps * v)))
        minus = float(synth.loss(tf.constant(x - eps * v)))
        numeric = (plus - minus) / (2 * eps)
        analytic = float(np.sum(grad * v))
        assert analytic == pytest.approx(numeric, rel=0.03, abs=float(1e-3 * np.linalg.norm(grad)))


@pytest.mark.parametrize("padding, border", [("valid", 0), ("valid", 4), ("same", 4)])
def test_full_loss_gradient_matches_finite_differences(tiny, noise_source, padding, border):
    config = SynthConfig(sources=[noise_source], width=36, height=32, octaves=2, layers=["pool1", "conv2_2"],
                         padding=padding, random_seed=3, border=border, precision="float32")
    synth = Synthesizer(config, tiny)
    _directional_check(synth, synth.x0, np.random.default_rng(0))


def test_gradient_with_interframe_loss(tiny, noise_source):
    config = SynthConfig(sources=[noise_source], width=32, height=32, octaves=2, layers=["2", "4"], count=3,
                         if_order=2, if_weight=2.0, if_distance="lap1", random_seed=4, border=0, precision="float32")
    synth = Synthesizer(config, tiny)
    assert len(synth.interframe_targets) == 1  # three frames in a loop: only neighbours are distinct pairs
    _directional_check(synth, synth.x0, np.random.default_rng(1))


def test_bfloat16_loss_and_gradient_follow_float32(hed, gravel_small):
    # The finite-difference check above holds float32 to the exact gradient; bfloat16 convolutions
    # must give nearly the same loss and a gradient pointing the same way.
    def loss_and_grad(precision):
        config = SynthConfig(sources=[gravel_small], width=64, height=64, octaves=2, random_seed=2,
                             precision=precision)
        synth = Synthesizer(config, hed)
        assert synth.precision == precision
        loss, grad = synth.loss_and_grad(tf.constant(synth.x0))
        return float(loss), grad.numpy().ravel()

    (exact_loss, exact_grad), (half_loss, half_grad) = loss_and_grad("float32"), loss_and_grad("bfloat16")
    assert half_loss == pytest.approx(exact_loss, rel=0.01)
    cosine = np.dot(exact_grad, half_grad) / (np.linalg.norm(exact_grad) * np.linalg.norm(half_grad))
    assert cosine > 0.995
    assert np.linalg.norm(half_grad) == pytest.approx(np.linalg.norm(exact_grad), rel=0.02)


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_lbfgs_lowers_the_loss_on_a_real_texture(hed, gravel_small, precision):
    config = SynthConfig(sources=[gravel_small], width=96, height=96, octaves=2, max_iter=15, random_seed=0,
                         precision=precision)
    synth = Synthesizer(config, hed)
    start = float(synth.loss(tf.constant(synth.x0)))
    result = synth.run()
    assert len(result.losses) == 15 and result.evaluations >= 15
    assert result.losses[-1] < 0.5 * start
    assert all(b <= a + 1e-6 for a, b in zip(result.losses, result.losses[1:]))  # monotone, as L-BFGS-B is
    assert synth.to_frames(result.x).shape == (1, 96, 96, 3)


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_same_seed_same_result(tiny, noise_source, precision):
    def run(seed):
        config = SynthConfig(sources=[noise_source], width=32, height=32, octaves=1, layers=["2"], max_iter=5,
                             random_seed=seed, precision=precision)
        synth = Synthesizer(config, tiny)
        return synth.to_frames(synth.run().x)

    first, again, other = run(11), run(11), run(12)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_a_stalled_bfloat16_run_finishes_in_float32(tiny, noise_source):
    # Rounded features make the bfloat16 loss flat below some step size: L-BFGS-B stops there
    # (after about 90 iterations here), and float32 takes the remaining iterations on.
    config = SynthConfig(sources=[noise_source], width=32, height=32, octaves=2, layers=["2", "4"], max_iter=200,
                         random_seed=0, precision="bfloat16")
    synth = Synthesizer(config, tiny)
    seen, notes = [], []
    result = synth.run(lambda i, x, loss: seen.append(i), notes.append)
    switch = synth.switch_iteration
    assert switch is not None and 10 < switch < 200 and "finishing in float32" in notes[0]
    assert len(result.losses) == 200 and seen == list(range(1, 201))
    assert result.losses[-1] < 0.7 * result.losses[switch - 1]
    float32 = Synthesizer(SynthConfig(**{**vars(config), "precision": "float32"}), tiny)
    assert float32.run().losses[-1] == pytest.approx(result.losses[-1], rel=0.2)


def test_output_too_small_for_octaves_is_a_clear_error(hed, gravel_small):
    # The wrapped canvas halves exactly: 40, 20, 10, 5; conv3_x of the last level would need 2 pixels.
    config = SynthConfig(sources=[gravel_small], width=40, height=40, octaves=4, source_scale=4.0)
    with pytest.raises(TexsynthError, match=r"output \(40x40\) is too small for 4 octaves.*at most 3 octaves fit"):
        Synthesizer(config, hed)
    # A flat canvas with a border shrinks with valid padding at every layer: 256 + 2 * 8 fits 3.
    config = SynthConfig(sources=[gravel_small], width=256, height=256, octaves=4, source_scale=4.0, border=8)
    with pytest.raises(TexsynthError, match=r"output with its 8px border \(272x272\).*at most 3 octaves fit"):
        Synthesizer(config, hed)


def test_a_256_output_fits_four_octaves_when_it_wraps(hed, gravel_small):
    config = SynthConfig(sources=[gravel_small], width=256, height=256, octaves=4, source_scale=4.0, max_iter=1)
    assert Synthesizer(config, hed).output_padding == "wrap"


def test_wrapped_output_loss_ignores_where_the_tile_starts(tiny, noise_source):
    # On a torus no pixel is special: rolling the canvas by the network's total stride (pool1 and
    # one pyramid reduction: 4 px) leaves every Gram, so the loss, unchanged. A flat canvas has edges.
    def loss(border):
        config = SynthConfig(sources=[noise_source], width=32, height=40, octaves=2, layers=["pool1", "conv2_2"],
                             random_seed=5, border=border, precision="float32")
        synth = Synthesizer(config, tiny)
        x = synth.x0
        return [float(synth.loss(tf.constant(np.roll(x, shift, axis=(1, 2))))) for shift in [(0, 0), (4, -8), (12, 4)]]

    wrapped = loss(0)
    assert wrapped[1] == pytest.approx(wrapped[0], rel=1e-5) and wrapped[2] == pytest.approx(wrapped[0], rel=1e-5)
    flat = loss(4)
    assert abs(flat[1] - flat[0]) > 1e-3 * flat[0]


def test_source_too_small_says_how_many_octaves_fit(hed, gravel_small):
    config = SynthConfig(sources=[gravel_small], width=512, height=512, octaves=4)
    with pytest.raises(TexsynthError, match=r"source .*gravel128.png \(128x128\).*at most 2 octaves fit"):
        Synthesizer(config, hed)


def test_max_octaves_agrees_with_the_feature_sizes():
    # 512 with valid padding: levels 512, 254, 125, 61; conv3_2 of 61 is 8 pixels, of 29 it would be 0.
    assert max_octaves(512, 512, 7, "vgg16", "valid") == 4
    assert feature_size(29, 7, "vgg16", "valid") < 1 <= feature_size(61, 7, "vgg16", "valid")
    assert max_octaves(256, 256, 7, "vgg16", "valid") == 3
    assert max_octaves(256, 256, 7, "vgg16", "same") > 4
    # Wrapped: levels 64, 32, 16, 8; conv3_x of 8 is 2 pixels wide, which still wraps by 2.
    assert max_octaves(64, 64, 7, "vgg16", "wrap") == 4 and max_octaves(32, 32, 7, "vgg16", "wrap") == 3


def test_valid_padding_without_a_border_wraps_the_output():
    assert output_padding("valid", 0) == "wrap"
    assert output_padding("valid", 16) == "valid"
    assert output_padding("same", 0) == "same"


def test_affine_invariant_needs_two_sources(hed, gravel_small):
    config = SynthConfig(sources=[gravel_small] * 3, width=96, height=96, octaves=1, join_mode="affine_invariant")
    with pytest.raises(TexsynthError, match="exactly two"):
        Synthesizer(config, hed)


@pytest.mark.parametrize("seed", ["random", "symmetric"])
def test_seeds_are_valid_images_around_the_mean_colour(seed):
    config = SynthConfig(sources=[], count=2, seed=seed)
    mean = np.array([100.0, 120.0, 140.0])
    x = make_seed(config, 40, 60, mean, np.random.default_rng(0))
    assert x.shape == (2, 40, 60, 3) and x.min() >= 0 and x.max() <= 255
    assert np.abs(np.median(x, axis=(0, 1, 2)) - mean).max() < 20
    mirror_error = min(np.abs(x - x[:, ::-1]).mean(), np.abs(x - x[:, :, ::-1]).mean())
    if seed == "symmetric":
        assert mirror_error < 4  # mirrored both ways, up to the small added noise
    else:
        assert mirror_error > 10


def test_colour_term_removes_colour_speckle_from_a_grey_texture(hed, gravel_small):
    def colourfulness(weight):
        config = SynthConfig(sources=[gravel_small], width=96, height=96, octaves=2, max_iter=80, random_seed=2,
                             colour_weight=weight)
        synth = Synthesizer(config, hed)
        return synth.to_frames(synth.run().x)[0].astype(float).std(axis=-1).mean()

    assert colourfulness(1.0) < 0.75 * colourfulness(0.0)


def test_detail_terms_are_part_of_the_loss(tiny, noise_source):
    with_colour = Synthesizer(SynthConfig(sources=[noise_source], width=32, height=32, octaves=2, layers=["2"]), tiny)
    without = Synthesizer(SynthConfig(sources=[noise_source], width=32, height=32, octaves=2, layers=["2"],
                                      colour_weight=0), tiny)
    assert len(with_colour.targets) == 2 * 3 and len(without.targets) == 2
    assert [t.shape for t in with_colour.targets[:3]] == [(3, 3), (3, 3), (4, 4)]  # pixels, detail, pool1


def test_a_colourful_texture_makes_fast_progress(hed):
    # Once a stall: bounded L-BFGS-B's unit first step changed this loss by less than float32 resolves.
    config = SynthConfig(sources=[ROOT / "examples" / "leaves.png"], width=128, height=128, octaves=2, random_seed=1)
    synth = Synthesizer(config, hed)
    result = lbfgs(synth.loss_and_grad, synth.x0, 20)
    assert len(result.losses) == 20 and result.losses[-1] < 0.3 * result.losses[0]


def test_pixels_stay_within_a_grey_level_of_the_valid_range(hed):
    # Leaves has saturated colours, so unconstrained pixels overshoot 0 and 255 by up to 190 levels;
    # the clipped loss and the range penalty keep them at the edge of the range instead (a few levels
    # early on for a few pixels, under one level by iteration 150).
    config = SynthConfig(sources=[ROOT / "examples" / "leaves.png"], width=96, height=96, octaves=2, max_iter=60,
                         random_seed=0, source_width=192)
    synth = Synthesizer(config, hed)
    x = synth.run().x
    excess = np.maximum(x - synth.upper.numpy(), 0) + np.maximum(synth.lower.numpy() - x, 0)
    assert excess.max() < 12.0 and np.percentile(excess, 99.9) < 2.0 and (excess > 0.5).mean() < 0.01
    rgb = synth.to_frames(x)
    assert (rgb == 0).any() or (rgb == 255).any()  # the range is reached: the penalty is not a wall inside it
