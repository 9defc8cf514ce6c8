"""Normalised gradient steps, DeepDream's optimiser: each step moves the pixels by a fixed mean amount
along the gradient, and the run stops early once the loss passes a target.

Dream maximises its loss; it hands this optimiser the negated loss and gradient, so the protocol
stays "minimise". Negation is exact in floating point, so the pixels are those of a plain ascent.
"""

from __future__ import annotations

import time

import numpy as np

from texsynth.optim.base import Callback, OptimizeResult, StopReason, StopRule

__all__ = ["NormalizedGradientDescent", "normalized_step"]


def normalized_step(x: np.ndarray, gradient: np.ndarray, step: float, lower: float = 0.0,
                    upper: float = 255.0) -> np.ndarray:
    """``x - step * g / mean|g|``, clipped to ``[lower, upper]`` (``x`` itself for a zero gradient).

    Parameters
    ----------
    x, gradient : ndarray, same shape
    step : float
        Mean distance every element moves.
    lower, upper : float
        The valid range.

    Returns
    -------
    ndarray, float32, the shape of ``x``
    """
    scale = float(np.mean(np.abs(gradient)))
    if scale == 0.0:
        return x
    return np.clip(x - (step / scale) * gradient, lower, upper).astype(np.float32)


class NormalizedGradientDescent:
    """Fixed-size normalised gradient steps with an early stop (see :func:`normalized_step`).

    Parameters
    ----------
    step : float
        Mean distance every element moves per iteration.
    stop_below : float
        Stop, before stepping, once the loss is below this.
    lower, upper : float
        The valid range of the elements.

    Notes
    -----
    ``loss_and_grad`` here takes and returns numpy arrays (dream computes its gradient tile by tile
    on the host), and ``callback(iteration, x, loss)`` sees the loss of ``x`` before the step.
    """

    def __init__(self, step: float, stop_below: float = -np.inf, lower: float = 0.0, upper: float = 255.0) -> None:
        self.step, self.stop_below, self.lower, self.upper = step, stop_below, lower, upper

    def minimize(self, loss_and_grad, x0: np.ndarray, max_iter: int, callback: Callback | None = None,
                 stop: StopRule | None = None) -> OptimizeResult:
        """Take at most ``max_iter`` steps from ``x0`` (``stop(losses)`` true after a step ends the run)."""
        result = OptimizeResult(x=x0)
        last = time.perf_counter()
        for iteration in range(1, max_iter + 1):
            value, gradient = loss_and_grad(result.x)
            result.evaluations += 1
            result.losses.append(float(value))
            if callback is not None:
                callback(iteration, result.x, result.losses[-1])
            if value < self.stop_below:
                result.reason = StopReason.TARGET
                break
            result.x = normalized_step(result.x, gradient, self.step, self.lower, self.upper)
            now = time.perf_counter()
            result.seconds.append(now - last)
            last = now
            if stop is not None and stop(result.losses):
                result.reason = StopReason.SETTLED
                break
        return result
