"""The objective: the range penalty, the terms built from sources, and the octave-at-a-time gradient."""

import numpy as np
import pytest
import tensorflow as tf

from texsynth.objective import range_penalty
from texsynth.synthesis import SynthConfig
from tests.conftest import synthesizer


def test_range_penalty_known_answer_and_gradient():
    x = tf.constant([[-3.0, 0.5, 1.0, 4.0]])
    # -3 is 2 below the lower bound -1, 4 is 3 above the upper bound 1, the middle two are inside.
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = range_penalty(x, tf.constant(-1.0), tf.constant(1.0))
    assert float(value) == pytest.approx((4.0 + 9.0) / 4)
    np.testing.assert_allclose(tape.gradient(value, x).numpy(), [[2 * -2 / 4, 0, 0, 2 * 3 / 4]])


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
        plus = float(synth.loss_and_grad(tf.constant(x + eps * v))[0])
        minus = float(synth.loss_and_grad(tf.constant(x - eps * v))[0])
        numeric = (plus - minus) / (2 * eps)
        analytic = float(np.sum(grad * v))
        assert analytic == pytest.approx(numeric, rel=0.03, abs=float(1e-3 * np.linalg.norm(grad)))


@pytest.mark.parametrize("padding, border", [("valid", 0), ("valid", 4), ("same", 4)])
def test_full_loss_gradient_matches_finite_differences(tiny, noise_source, padding, border):
    config = SynthConfig(width=36, height=32, octaves=2, layers=["pool1", "conv2_2"],
                         padding=padding, random_seed=3, border=border, precision="float32")
    synth = synthesizer([noise_source], tiny, config)
    _directional_check(synth, synth.x0, np.random.default_rng(0))


def test_gradient_with_interframe_loss(tiny, noise_source):
    config = SynthConfig(width=32, height=32, octaves=2, layers=["2", "4"], count=3,
                         if_order=2, if_weight=2.0, if_distance="lap1", random_seed=4, border=0, precision="float32")
    synth = synthesizer([noise_source], tiny, config)
    assert len(synth.objective.interframe.targets) == 1  # three frames in a loop: only neighbours are distinct pairs
    _directional_check(synth, synth.x0, np.random.default_rng(1))


def test_wrapped_output_loss_ignores_where_the_tile_starts(tiny, noise_source):
    # On a torus no pixel is special: rolling the canvas by the network's total stride (pool1 and
    # one pyramid reduction: 4 px) leaves every Gram, so the loss, unchanged. A flat canvas has edges.
    def loss(border):
        config = SynthConfig(width=32, height=40, octaves=2, layers=["pool1", "conv2_2"],
                             random_seed=5, border=border, precision="float32")
        synth = synthesizer([noise_source], tiny, config)
        x = synth.x0
        return [float(synth.loss_and_grad(tf.constant(np.roll(x, shift, axis=(1, 2))))[0]) for shift in [(0, 0), (4, -8), (12, 4)]]

    wrapped = loss(0)
    assert wrapped[1] == pytest.approx(wrapped[0], rel=1e-5) and wrapped[2] == pytest.approx(wrapped[0], rel=1e-5)
    flat = loss(4)
    assert abs(flat[1] - flat[0]) > 1e-3 * flat[0]


def test_detail_terms_are_part_of_the_loss(tiny, noise_source):
    with_colour = synthesizer([noise_source], tiny, SynthConfig(width=32, height=32, octaves=2, layers=["2"],
                                                                loss="gram"))
    without = synthesizer([noise_source], tiny, SynthConfig(width=32, height=32, octaves=2, layers=["2"],
                                                            colour_weight=0, loss="gram"))
    terms = with_colour.objective.terms
    assert len(terms) == 2 * 3 and len(without.objective.terms) == 2
    assert [t.tap for t in terms[:3]] == ["pixels", "detail", 2] and [t.octave for t in terms] == [0] * 3 + [1] * 3
    assert [t.target.shape for t in terms[:3]] == [(3, 3), (3, 3), (4, 4)]  # pixels, detail, pool1


@pytest.mark.parametrize("loss, spectrum_weight", [("sw", 0.0), ("gram", 2.0), ("sw", 1.0)])
def test_gradient_of_each_statistic_and_the_spectrum_term(tiny, noise_source, loss, spectrum_weight):
    config = SynthConfig(width=32, height=32, octaves=2, layers=["pool1", "conv2_2"], random_seed=3,
                         precision="float32", loss=loss, spectrum_weight=spectrum_weight)
    synth = synthesizer([noise_source], tiny, config)
    assert (synth.objective.spectrum is not None) == (spectrum_weight > 0)
    assert all(t.statistic.name == loss for t in synth.objective.terms)
    _directional_check(synth, synth.x0, np.random.default_rng(2))


def test_redraw_changes_a_sliced_wasserstein_objective_reproducibly(tiny, noise_source):
    config = SynthConfig(width=32, height=32, octaves=1, layers=["pool1"], random_seed=3, precision="float32",
                         loss="sw")
    synth = synthesizer([noise_source], tiny, config)
    x = tf.constant(synth.x0)
    before = float(synth.loss_and_grad(x)[0])
    synth.objective.redraw(10)
    after = float(synth.loss_and_grad(x)[0])
    synth.objective.redraw(3)  # the seed the synthesizer drew the first directions from
    assert after != before and float(synth.loss_and_grad(x)[0]) == pytest.approx(before, rel=1e-6)


def test_the_finest_octaves_alone_are_the_objective_of_a_run_with_that_many(tiny, noise_source):
    config = SynthConfig(width=32, height=32, octaves=3, layers=["pool1", "conv2_2"], random_seed=3,
                         precision="float32")
    synth = synthesizer([noise_source], tiny, config)
    one = synthesizer([noise_source], tiny, SynthConfig(**{**config.__dict__, "octaves": 1}))
    finest = synth.objective.finest(1)
    assert synth.objective.finest(3) is synth.objective and {t.octave for t in finest.terms} == {0}
    x = tf.constant(synth.x0)
    alone, whole = finest.loss_and_grad(x, synth.features), synth.loss_and_grad(x)
    expected = one.loss_and_grad(x)
    assert float(alone[0]) == pytest.approx(float(expected[0]), rel=1e-5) and float(alone[0]) < float(whole[0])
    np.testing.assert_allclose(alone[1].numpy(), expected[1].numpy(), rtol=1e-4, atol=1e-6)


def test_sources_of_different_sizes_are_each_described_at_their_own_size(tiny):
    from texsynth.nn.vgg import VGGFeatures
    from texsynth.objective import Objective
    from texsynth.stats.sliced_wasserstein import SlicedWasserstein

    rng = np.random.default_rng(4)
    sources = [rng.uniform(0, 255, (h, w, 3)).astype(np.float32) for h, w in ((48, 52), (56, 60), (64, 64), (50, 70))]
    features = VGGFeatures(tiny, 7, "valid")

    def build(images):
        return Objective.from_sources(images, features, [2, 7], 1, "valid", "wrap", statistic=SlicedWasserstein(),
                                      colour_statistic=SlicedWasserstein())

    together = build(sources)
    alone = [build([image]) for image in sources]
    for index, term in enumerate(together.terms):
        samples = term.target.target.samples
        assert len(samples) == len(sources)
        for own, objective in zip(samples, alone):
            np.testing.assert_array_equal(own, objective.terms[index].target.target.samples[0])


@pytest.mark.parametrize("source_padding", ["valid", "same"])
def test_a_source_described_in_bands_has_the_whole_sources_targets(tiny, monkeypatch, source_padding):
    import texsynth.objective as objective_module
    from texsynth.nn import bands
    from texsynth.nn.vgg import VGGFeatures
    from texsynth.objective import Objective
    from texsynth.stats.sliced_wasserstein import SlicedWasserstein

    source = np.random.default_rng(5).uniform(0, 255, (96, 80, 3)).astype(np.float32)
    features = VGGFeatures(tiny, 7, "wrap")

    def build():
        return Objective.from_sources([source], features, [2, 7], 2, source_padding, "wrap",
                                      statistic=SlicedWasserstein(), colour_statistic=SlicedWasserstein())

    whole = build()
    calls = []

    def in_small_bands(*args):  # bands of 16 rows of the full-size octave
        calls.append(args[1].shape)
        return bands.feature_bands(*args, max_bytes=16 * 80 * tiny.kernels[0].shape[-1] * 4)

    monkeypatch.setattr(objective_module, "feature_bands", in_small_bands)
    banded = build()
    assert (1, 96, 80, 3) in calls
    for a, b in zip(whole.terms, banded.terms):
        np.testing.assert_allclose(b.target.sorted_target.numpy(), a.target.sorted_target.numpy(), rtol=1e-5,
                                   atol=1e-3)


def test_a_stage_describes_the_spectrum_of_the_sources_at_its_octave(tiny, noise_source):
    from texsynth.io.images import load_image
    from texsynth.nn.pyramid import gaussian_pyramid
    from texsynth.nn.vgg import rgb_to_vgg
    from texsynth.spectrum import SpectrumTerm

    config = SynthConfig(width=32, height=32, octaves=2, layers=["pool1"], random_seed=3, precision="float32",
                         spectrum_weight=0.5)
    synth = synthesizer([noise_source], tiny, config)
    stage = synth.objective.stage(1, (16, 16))
    source = rgb_to_vgg(load_image(noise_source).astype(np.float32), synth.mean_bgr)
    level = gaussian_pyramid(tf.constant(source[None]), 2, "valid")[1][0].numpy()
    expected = SpectrumTerm.from_sources([level], 16, 16, 0.5)
    np.testing.assert_allclose(stage.spectrum.target.numpy(), expected.target.numpy(), rtol=1e-4, atol=1e-2)
    assert stage.spectrum.weight == pytest.approx(expected.weight, rel=1e-5)
    assert synth.objective.spectrum.target.shape == (3, 32, 32)


def test_spectrum_octave_is_where_the_term_looks_in_each_schedule(tiny, noise_source):
    from texsynth.io.images import load_image
    from texsynth.nn.pyramid import gaussian_pyramid
    from texsynth.nn.vgg import rgb_to_vgg
    from texsynth.spectrum import SpectrumTerm

    config = SynthConfig(width=32, height=32, octaves=3, layers=["pool1"], random_seed=3, precision="float32",
                         spectrum_weight=0.5, spectrum_octave=1)
    synth = synthesizer([noise_source], tiny, config)
    source = rgb_to_vgg(load_image(noise_source).astype(np.float32), synth.mean_bgr)
    levels = [level[0].numpy() for level in gaussian_pyramid(tf.constant(source[None]), 3, "valid")]
    # The joint schedule's full canvas reads its own level 1; coarse-to-fine stages at octave 1 and
    # coarser read their canvas, and the full-size stage has no spectrum term.
    assert synth.objective.stage(0, (32, 32)).spectrum is None
    assert synth.objective.stage(0, (32, 32)).terms == synth.objective.terms
    for term, level, octave in [(synth.objective.spectrum, 1, 1), (synth.objective.stage(1, (16, 16)).spectrum, 0, 1),
                                (synth.objective.stage(2, (8, 8)).spectrum, 0, 2)]:
        size = 32 >> octave
        expected = SpectrumTerm.from_sources([levels[octave]], size, size, 0.5)
        assert (term.level, term.octave, term.target.shape) == (level, octave, (3, size, size))
        np.testing.assert_allclose(term.target.numpy(), expected.target.numpy(), rtol=1e-4, atol=1e-2)
    # Matching the finest octave alone leaves out a term of a coarser one.
    assert synth.objective.finest(1).spectrum is None and synth.objective.finest(2).spectrum is not None


def test_spectrum_octave_known_answer_and_gradient(tiny, noise_source):
    from texsynth.nn.pyramid import gaussian_pyramid

    def build(weight):
        config = SynthConfig(width=32, height=32, octaves=2, layers=["pool1"], random_seed=3, precision="float32",
                             spectrum_weight=weight, spectrum_octave=1, count=2)  # an animation's two frames
        return synthesizer([noise_source], tiny, config)

    synth, plain = build(2.0), build(0.0)
    x = tf.constant(synth.x0)
    image = tf.clip_by_value(x, synth.objective.lower, synth.objective.upper)
    half = gaussian_pyramid(image, 2, "wrap")[1]
    expected = float(plain.loss_and_grad(x)[0]) + float(synth.objective.spectrum.loss(half))
    assert float(synth.objective.spectrum.loss(half)) > 0
    assert float(synth.loss_and_grad(x)[0]) == pytest.approx(expected, rel=1e-5)
    _directional_check(synth, synth.x0, np.random.default_rng(2))
