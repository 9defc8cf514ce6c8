"""The synthesis pipeline: its gradient, that optimisation works, determinism and size checks."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from texsynth.errors import TexsynthError
from texsynth.optim.scipy_lbfgs import lbfgs
from texsynth.synthesis import SynthConfig, output_padding, peak_memory_estimate, pool_bytes
from tests.conftest import ROOT, synthesizer


def test_bfloat16_loss_and_gradient_follow_float32(hed, gravel_small):
    # The finite-difference check above holds float32 to the exact gradient; bfloat16 convolutions
    # must give nearly the same loss and a gradient pointing the same way.
    def loss_and_grad(precision):
        config = SynthConfig(width=64, height=64, octaves=2, random_seed=2,
                             precision=precision)
        synth = synthesizer([gravel_small], hed, config)
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
    config = SynthConfig(width=64, height=64, octaves=2, max_iter=15, random_seed=0, schedule="joint",
                         precision=precision)
    synth = synthesizer([gravel_small], hed, config)
    start = float(synth.loss_and_grad(tf.constant(synth.x0))[0])
    result = synth.run()
    assert len(result.losses) == 15 and result.evaluations >= 15
    assert result.losses[-1] < 0.5 * start
    assert all(b <= a + 1e-6 for a, b in zip(result.losses, result.losses[1:]))  # monotone, as L-BFGS-B is
    assert synth.to_frames(result.x).shape == (1, 64, 64, 3)


@pytest.mark.parametrize("precision, loss, spectrum", [("float32", "gram", 0.0), ("bfloat16", "gram", 0.0),
                                                      ("bfloat16", "sw", 1.0)])
def test_same_seed_same_result(tiny, noise_source, precision, loss, spectrum):
    def run(seed):
        config = SynthConfig(width=32, height=32, octaves=1, layers=["2"], max_iter=5, redraw_every=2 * (loss == "sw"),
                             random_seed=seed, precision=precision, loss=loss, spectrum_weight=spectrum)
        synth = synthesizer([noise_source], tiny, config)
        return synth.to_frames(synth.run().x)

    first, again, other = run(11), run(11), run(12)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_a_stalled_bfloat16_run_finishes_in_float32(tiny, noise_source):
    # Rounded features make the bfloat16 loss flat below some step size: L-BFGS-B stops there
    # (after about 90 iterations here), and float32 takes the remaining iterations on.
    config = SynthConfig(width=32, height=32, octaves=2, layers=["2", "4"], max_iter=200,
                         random_seed=0, precision="bfloat16", schedule="joint", optimizer="scipy", loss="gram")
    synth = synthesizer([noise_source], tiny, config)
    seen, notes = [], []
    result = synth.run(lambda i, x, loss: seen.append(i), notes.append)
    switch = synth.switch_iteration
    assert switch is not None and 10 < switch < 200 and "finishing in float32" in notes[0]
    assert len(result.losses) == 200 and seen == list(range(1, 201))
    assert result.losses[-1] < 0.7 * result.losses[switch - 1]
    float32 = synthesizer([noise_source], tiny, dataclasses.replace(config, precision="float32"))
    assert float32.run().losses[-1] == pytest.approx(result.losses[-1], rel=0.2)


def test_output_too_small_for_octaves_is_a_clear_error(hed, gravel_small):
    # The wrapped canvas halves exactly: 40, 20, 10, 5; conv3_x of the last level would need 2 pixels.
    config = SynthConfig(width=40, height=40, octaves=4, source_scale=4.0)
    with pytest.raises(TexsynthError, match=r"output \(40x40\) is too small for 4 octaves.*at most 3 octaves fit"):
        synthesizer([gravel_small], hed, config)
    # A flat canvas with a border shrinks with valid padding at every layer: 256 + 2 * 8 fits 3.
    config = SynthConfig(width=256, height=256, octaves=4, source_scale=4.0, border=8)
    with pytest.raises(TexsynthError, match=r"output with its 8px border \(272x272\).*at most 3 octaves fit"):
        synthesizer([gravel_small], hed, config)


def test_a_256_output_fits_four_octaves_when_it_wraps(hed, gravel_small):
    config = SynthConfig(width=256, height=256, octaves=4, source_scale=4.0, max_iter=1)
    assert synthesizer([gravel_small], hed, config).output_padding == "wrap"


def test_source_too_small_says_how_many_octaves_fit(hed, gravel_small):
    config = SynthConfig(width=512, height=512, octaves=4)
    with pytest.raises(TexsynthError, match=r"source .*gravel128.png \(128x128\).*at most 2 octaves fit"):
        synthesizer([gravel_small], hed, config)


def test_valid_padding_without_a_border_wraps_the_output():
    assert output_padding("valid", 0) == "wrap"
    assert output_padding("valid", 16) == "valid"
    assert output_padding("same", 0) == "same"


def test_affine_invariant_needs_two_sources(hed, gravel_small):
    config = SynthConfig(width=96, height=96, octaves=1, join_mode="affine_invariant")
    with pytest.raises(TexsynthError, match="exactly two"):
        synthesizer([gravel_small] * 3, hed, config)


def test_colour_term_removes_colour_speckle_from_a_grey_texture(hed, gravel_small):
    def colourfulness(weight):
        config = SynthConfig(width=64, height=64, octaves=2, max_iter=40, random_seed=2, schedule="joint",
                             colour_weight=weight)
        synth = synthesizer([gravel_small], hed, config)
        return synth.to_frames(synth.run().x)[0].astype(float).std(axis=-1).mean()

    assert colourfulness(1.0) < 0.75 * colourfulness(0.0)


def test_a_colourful_texture_makes_fast_progress(hed):
    # Once a stall: bounded L-BFGS-B's unit first step changed this loss by less than float32 resolves.
    config = SynthConfig(width=128, height=128, octaves=2, random_seed=1)
    synth = synthesizer([ROOT / "examples" / "leaves.png"], hed, config)
    result = lbfgs(synth.loss_and_grad, synth.x0, 20)
    assert len(result.losses) == 20 and result.losses[-1] < 0.3 * result.losses[0]


def test_pixels_stay_within_a_grey_level_of_the_valid_range(hed):
    # Leaves has saturated colours, so unconstrained pixels overshoot 0 and 255 by up to 190 levels;
    # the clipped loss and the range penalty keep them at the edge of the range instead (a few levels
    # early on for a few pixels, under one level by iteration 150).
    config = SynthConfig(width=96, height=96, octaves=2, max_iter=60,
                         random_seed=0, source_width=192)
    synth = synthesizer([ROOT / "examples" / "leaves.png"], hed, config)
    x = synth.run().x
    excess = np.maximum(x - synth.objective.upper.numpy(), 0) + np.maximum(synth.objective.lower.numpy() - x, 0)
    assert excess.max() < 12.0 and np.percentile(excess, 99.9) < 2.0 and (excess > 0.5).mean() < 0.01
    rgb = synth.to_frames(x)
    assert (rgb == 0).any() or (rgb == 255).any()  # the range is reached: the penalty is not a wall inside it


def test_the_pool_reservation_of_a_large_source_is_that_of_its_bands():
    from texsynth.nn.bands import BAND_BYTES
    from texsynth.runtime.memory import HEADROOM

    config = SynthConfig(width=64, height=64)
    small, large = pool_bytes(config, [(512, 512, 3)]), pool_bytes(config, [(3000, 4000, 3)])
    assert small == 3 * 512 * 512 * 64 * 4 + HEADROOM  # a forward pass of the whole source
    # Not three 12-megapixel maps (9 GB, which once overflowed the reservation): three bands' maps
    # and the pyramid's.
    assert large == 3 * BAND_BYTES + 3000 * 4000 // 8 * 64 * 4 + HEADROOM < 2 * 2**30


def test_a_coarse_to_fine_run_on_the_gpu_path_follows_the_host_path(tiny, noise_source, monkeypatch):
    # Where TensorFlow sees a GPU, sliced Wasserstein sorts and ranks in the graph; run that path on
    # the CPU, through both stages and the device L-BFGS, against numpy's ranking.
    import functools

    from texsynth.stats.sliced_wasserstein import SlicedWasserstein

    def run():
        config = SynthConfig(width=48, height=48, octaves=2, max_iter=12, random_seed=4, precision="float32")
        synth = synthesizer([noise_source], tiny, config)
        result = synth.run()
        return synth.to_frames(result.x), result.losses

    host_frames, host_losses = run()
    monkeypatch.setattr(SlicedWasserstein, "__init__",
                        functools.partialmethod(SlicedWasserstein.__init__, sort_on_host=False))
    assert not SlicedWasserstein().sort_on_host
    device_frames, device_losses = run()
    assert len(device_losses) == len(host_losses) == 12
    np.testing.assert_allclose(device_losses, host_losses, rtol=0.02)
    assert np.abs(device_frames.astype(float) - host_frames).mean() < 1.0


def test_the_memory_estimate_grows_with_the_canvas_its_frames_and_a_large_source():
    small = peak_memory_estimate(SynthConfig(width=512, height=512))
    assert 1.5e9 < small < 2e9  # measured 1.5-1.7 GB for the quick start
    assert peak_memory_estimate(SynthConfig(width=2048, height=2048)) > 9e9  # measured 9.3-11.0 GB
    assert peak_memory_estimate(SynthConfig(width=512, height=512, count=3)) > 2.5 * small - 2 * 2**30
    assert peak_memory_estimate(SynthConfig(width=512, height=512), [(512, 512, 3)]) == small
    assert peak_memory_estimate(SynthConfig(width=512, height=512), [(6000, 8000, 3)]) > 6e9  # measured 6.9 GB


def test_coarse_to_fine_from_a_finished_texture_keeps_its_detail(tiny, noise_source):
    # --seed-image with the coarse-to-fine schedule: each finer stage starts from the image's own
    # detail (plus what the coarser stages changed), not from noise, so continuing a finished
    # texture goes on from where it was instead of re-making it from its coarsest octave.
    from texsynth.io.images import load_image
    from texsynth.synthesis import Synthesizer

    source = load_image(noise_source)
    first = Synthesizer(SynthConfig(width=48, height=48, octaves=2, max_iter=30, random_seed=1), tiny, [source])
    done = first.run()
    finished = first.to_frames(done.x)[0]
    config = SynthConfig(width=48, height=48, octaves=2, max_iter=6, random_seed=2, seed="image")
    again = Synthesizer(config, tiny, [source], seed_image=finished)
    result = again.run()
    assert [stage["iterations"] for stage in again.stages] == [3, 3]
    # The full-size stage's first iterate is about as good as the finished texture, where a start
    # from upsampled, noised coarse pixels began several times higher.
    assert result.losses[3] < 2 * done.losses[-1]
    np.testing.assert_allclose(again.to_frames(result.x)[0], finished, atol=40)


def test_a_source_too_small_to_copy_detail_from_is_a_clear_error(tiny):
    from texsynth.synthesis import Synthesizer

    source = np.random.default_rng(0).uniform(0, 255, (24, 24, 3)).astype(np.float32)  # 24, 12, 6 pixels at octaves 0-2
    config = SynthConfig(width=32, height=32, octaves=4, layers=["0"], padding="same", max_iter=1,
                         stage_detail="copied")
    with pytest.raises(TexsynthError, match=r"source #1 \(24x24\) is too small to copy detail from at 4 octaves"):
        Synthesizer(config, tiny, [source])
    Synthesizer(dataclasses.replace(config, stage_detail="noise"), tiny, [source])
    Synthesizer(dataclasses.replace(config, octaves=3), tiny, [source])
