"""The coarse-to-fine schedule: stage sizes and budgets, resampling, and a whole run."""

import dataclasses
import re

import numpy as np
import pytest

from texsynth.schedule import (detail_levels, downsample, iteration_costs, settle_rule, smoothed, stage_budgets,
                               stage_noise, stage_sizes, upsample)
from texsynth.synthesis import SynthConfig
from tests.conftest import ROOT, synthesizer


def test_stages_follow_the_canvas_pyramid():
    assert stage_sizes(512, 256, 4, "wrap") == [(64, 32), (128, 64), (256, 128), (512, 256)]
    assert stage_sizes(100, 100, 3, "same") == [(25, 25), (50, 50), (100, 100)]
    assert stage_sizes(532, 532, 2, "valid") == [(264, 264), (532, 532)]


@pytest.mark.parametrize("max_iter, stages", [(500, 4), (300, 3), (7, 4), (3, 4), (10, 1), (100, 6)])
def test_budgets_add_up_and_give_every_stage_a_share(max_iter, stages):
    budgets = stage_budgets(max_iter, stages)
    assert sum(budgets) == max_iter and len(budgets) == stages
    if max_iter >= stages:
        assert min(budgets) >= 1


def test_the_readme_quick_start_states_the_schedules_split():
    # The quick start's sentence quotes the split; a change of the shares must change it too.
    section = (ROOT / "README.md").read_text().split("## Quick start", 1)[1]
    max_iter = int(re.search(r"python synthesize.py -s examples/\S+ -m (\d+)", section).group(1))
    quoted = re.search(r"\((\d+), (\d+), (\d+) and (\d+)\s+iterations at 64, 128, 256 and 512 pixels\)", section)
    assert [int(n) for n in quoted.groups()] == stage_budgets(max_iter, 4)


def test_resampling_a_wrapped_canvas_keeps_it_periodic():
    rng = np.random.default_rng(0)
    small = rng.normal(size=(1, 16, 16, 3)).astype(np.float32)
    big = upsample(small, (32, 32), "wrap")
    assert big.shape == (1, 32, 32, 3)
    # The seam between the last and the first column is no rougher than any other column step.
    steps = np.abs(np.diff(np.concatenate([big, big[:, :, :1]], axis=2), axis=2)).mean(axis=(0, 1, 3))
    assert steps[-1] < 2 * np.median(steps)
    np.testing.assert_allclose(downsample(big, 1, "wrap").mean(), big.mean(), atol=1e-4)
    assert upsample(small, (20, 24), "same").shape == (1, 20, 24, 3)


def test_a_coarse_to_fine_run_numbers_iterations_across_stages_and_honours_ctrl_c(tiny, noise_source):
    config = SynthConfig(width=32, height=32, octaves=2, layers=["2", "4"], max_iter=20, random_seed=2,
                         precision="float32")
    synth = synthesizer([noise_source], tiny, config)
    seen = []
    result = synth.run(lambda i, x, loss: seen.append((i, np.asarray(x).shape[1:3])))
    assert [i for i, _ in seen] == list(range(1, 21)) and len(result.losses) == 20
    assert [(s["height"], s["iterations"]) for s in synth.stages] == [(16, 10), (32, 10)]
    assert seen[0][1] == (16, 16) and seen[-1][1] == (32, 32) and result.x.shape == synth.x0.shape
    assert synth.to_frames(np.zeros((1, 16, 16, 3), np.float32)).shape == (1, 32, 32, 3)
    assert synth.iteration_costs() == [16.0 * 16] * 10 + [32.0 * 32] * 10  # what the progress ETA weighs
    joint = synthesizer([noise_source], tiny, dataclasses.replace(config, schedule="joint"))
    assert joint.iteration_costs() is None

    def stop_at_twelve(i, x, loss):
        if i == 12:
            raise KeyboardInterrupt

    again = synthesizer([noise_source], tiny, config)
    interrupted = again.run(stop_at_twelve)
    assert interrupted.interrupted and len(interrupted.losses) == 12 and interrupted.x.shape == again.x0.shape
    assert [s["iterations"] for s in again.stages] == [10, 2]


def test_ctrl_c_between_stages_keeps_the_finished_stages(tiny, noise_source, monkeypatch):
    # Compiling and resampling between stages run outside the optimiser's own Ctrl-C guard.
    import texsynth.synthesis

    calls = []

    def upsample_once_interrupted(*args):
        calls.append(args[1])
        if len(calls) == 1:
            raise KeyboardInterrupt
        return upsample(*args)

    monkeypatch.setattr(texsynth.synthesis, "upsample", upsample_once_interrupted)
    config = SynthConfig(width=32, height=32, octaves=2, layers=["2", "4"], max_iter=20, random_seed=2,
                         precision="float32")
    synth = synthesizer([noise_source], tiny, config)
    seen = []
    result = synth.run(lambda i, x, loss: seen.append(np.asarray(x).copy()))
    assert result.interrupted and len(result.losses) == 10 and [s["iterations"] for s in synth.stages] == [10]
    # The coarse stage's latest iterate, brought to the canvas's size.
    assert result.x.shape == synth.x0.shape
    np.testing.assert_allclose(result.x, upsample(seen[-1], (32, 32), synth.output_padding), atol=1e-5)


def test_the_settle_rule_judges_the_fall_over_its_window():
    assert settle_rule(0.0) is None
    rule = settle_rule(0.2, window=3)
    assert not rule([1.0, 0.9, 0.85])  # fewer than window + 1 losses: too early to judge
    assert not rule([1.0, 0.9, 0.85, 0.79])  # fell 21% over the last 3 iterations
    assert rule([1.0, 0.9, 0.85, 0.81])  # fell 19%
    assert rule([5.0, 1.0, 0.9, 0.85, 0.81])  # only the window counts
    assert not rule([-1.0, -1.1, -1.2, -1.3])  # relative to the loss's size, whatever its sign


def test_the_full_size_stage_matches_its_own_octave_until_that_settles(tiny, noise_source):
    config = SynthConfig(width=32, height=32, octaves=2, layers=["2", "4"], max_iter=60, random_seed=2,
                         precision="float32", detail_settle=0.99)
    synth = synthesizer([noise_source], tiny, config)
    seen = []
    result = synth.run(lambda i, x, loss: seen.append((i, loss)))
    # A rule that always holds once judged ends the detail phase after 11 of the 30 iterations;
    # the other 19 match both octaves, whose loss is larger than the finest octave's alone.
    assert [i for i, _ in seen] == list(range(1, 61)) and len(result.losses) == 60
    assert synth.stages[-1]["detail_iterations"] == 11 and synth.stages[-1]["iterations"] == 30
    assert seen[41][1] > seen[40][1]
    # A rule that never holds: the detail phase takes at most half the stage.
    capped = synthesizer([noise_source], tiny, dataclasses.replace(config, detail_settle=1e-12))
    capped.run()
    assert capped.stages[-1]["detail_iterations"] == 15 and capped.stages[-1]["iterations"] == 30
    plain = synthesizer([noise_source], tiny, dataclasses.replace(config, detail_settle=0.0, max_iter=20))
    plain.run()
    assert "detail_iterations" not in plain.stages[-1]


def test_smoothing_removes_a_pixel_checkerboard_and_keeps_the_mean():
    checker = ((np.indices((16, 16)).sum(axis=0) % 2) * 2.0 - 1.0)[None, :, :, None].repeat(3, axis=-1)
    image = checker.astype(np.float32) + 5.0
    for padding in ("wrap", "same"):
        smooth = smoothed(image, padding)
        assert np.abs(smooth - 5.0).max() < 0.25 * np.abs(image - 5.0).max()
        np.testing.assert_allclose(smooth.mean(), 5.0, atol=1e-4)


def test_stage_noise_has_unit_spread_no_pixel_scale_power_and_repeats_per_seed():
    noise = stage_noise((1, 64, 64, 3), np.random.default_rng(0), "wrap")
    assert noise.shape == (1, 64, 64, 3) and noise.std() == pytest.approx(1.0, rel=1e-5)
    power = np.abs(np.fft.fft2(noise[0], axes=(0, 1))) ** 2
    nyquist = power[28:37, 28:37].mean()  # around the diagonal Nyquist corner (32, 32)
    assert nyquist < 1e-3 * power.mean()
    np.testing.assert_array_equal(noise, stage_noise((1, 64, 64, 3), np.random.default_rng(0), "wrap"))


def test_detail_levels_measure_each_octaves_finest_band():
    flat = np.full((64, 64, 3), 120.0, np.float32)
    assert detail_levels([flat], (0.0, 0.0, 0.0), 3, "valid") == pytest.approx([0.0, 0.0, 0.0], abs=1e-4)
    stripes = flat + 40.0 * (np.arange(64) % 2)[None, :, None]  # pixel-scale detail only
    levels = detail_levels([stripes], (0.0, 0.0, 0.0), 3, "valid")
    assert levels[0] > 10.0 and levels[1] < 0.05 * levels[0]  # the blur before subsampling removes it


def test_stage_detail_only_changes_the_finer_stages(tiny, noise_source):
    base = dict(width=32, height=32, octaves=2, layers=["2", "4"], max_iter=4, random_seed=2, precision="float32")
    runs = {}
    for detail, amount in (("noise", 0.0), ("noise", 2.0), ("copied", 2.0)):
        frames = []
        synth = synthesizer([noise_source], tiny, SynthConfig(stage_detail=detail, stage_noise=amount, **base))
        synth.run(lambda i, x, loss: frames.append(np.asarray(x).copy()))
        runs[detail, amount] = frames
    plain = runs["noise", 0.0]
    for name in (("noise", 2.0), ("copied", 2.0)):
        np.testing.assert_array_equal(plain[1], runs[name][1])  # the coarse stage (iterations 1-2)
        assert np.abs(plain[3] - runs[name][3]).max() > 1.0
    assert np.abs(runs["noise", 2.0][3] - runs["copied", 2.0][3]).max() > 1.0


def test_iteration_costs_follow_the_stages_canvases():
    budgets = stage_budgets(300, 4)
    costs = iteration_costs(stage_sizes(512, 512, 4, "wrap"), budgets)
    assert len(costs) == 300
    assert costs[0] == 64 * 64 and costs[-1] == 512 * 512
    assert costs.count(256.0 * 256) == budgets[2]
