"""Normalised gradient steps (DeepDream's optimiser)."""

import numpy as np
import pytest

from texsynth.optim.ascent import NormalizedGradientDescent, normalized_step
from texsynth.optim.base import StopReason


def test_normalized_step_moves_pixels_by_the_mean_normalised_gradient():
    image = np.full((8, 8, 3), 128.0, np.float32)
    gradient = np.random.default_rng(1).normal(0, 1e-3, image.shape).astype(np.float32)
    moved = normalized_step(image, -gradient, 0.01 * 127.5)
    assert np.mean(np.abs(moved - image)) == pytest.approx(0.01 * 127.5, rel=1e-4)
    assert np.all(np.sign(moved - image) == np.sign(gradient))
    assert normalized_step(image, np.zeros_like(image), 1.0) is image
    assert normalized_step(np.full_like(image, 254.0), -np.ones_like(image), 64.0).max() == 255.0  # clipped


def test_descent_stops_below_the_target_before_stepping_and_reports_every_loss():
    # f(x) = sum(x^2): each step moves every element by 0.5 towards 0.
    def loss_and_grad(x):
        return float(np.sum(x ** 2)), 2 * x

    seen = []
    optimizer = NormalizedGradientDescent(0.5, stop_below=10.0, lower=-100.0, upper=100.0)
    result = optimizer.minimize(loss_and_grad, np.full(4, 3.0, np.float32), 10, lambda i, x, f: seen.append((i, f)))
    # 36 -> 25 -> 16 -> 9: the third step brings it below 10, and the fourth evaluation stops there.
    assert result.losses == [36.0, 25.0, 16.0, 9.0] and seen == list(enumerate(result.losses, 1))
    assert result.reason is StopReason.TARGET and not result.reason.early
    np.testing.assert_allclose(result.x, 1.5)
    budget = optimizer.minimize(loss_and_grad, np.full(4, 30.0, np.float32), 3)
    assert budget.reason is StopReason.BUDGET and len(budget.losses) == 3


def test_a_stop_rule_ends_the_descent_after_the_step_it_holds():
    def loss_and_grad(x):
        return float(np.sum(x ** 2)), 2 * x

    optimizer = NormalizedGradientDescent(0.5, lower=-100.0, upper=100.0)
    result = optimizer.minimize(loss_and_grad, np.full(4, 3.0, np.float32), 10, stop=lambda losses: len(losses) == 2)
    assert result.reason is StopReason.SETTLED and result.losses == [36.0, 25.0]
    np.testing.assert_allclose(result.x, 2.0)  # the second step was taken
