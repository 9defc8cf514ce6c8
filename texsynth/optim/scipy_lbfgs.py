"""L-BFGS-B over image pixels: scipy's optimiser (the ancestor's) driven by a TensorFlow loss-and-gradient.

The optimiser works on a flat float64 vector; the loss sees a float32 tensor of the image's shape.
No box constraints are passed: a loss that needs a valid range handles it itself (as synthesis
does), since scipy's bounded bookkeeping costs more per iteration over a million pixels than a
clip in the loss.
Every accepted iterate is reported to a callback (for progress and in-progress frames), and a
Ctrl-C returns the latest accepted iterate instead of losing the work.
"""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf
from scipy.optimize import minimize

from texsynth.optim.base import Callback, LossAndGrad, OptimizeResult, StopReason, StopRule
from texsynth.runtime.blas import one_blas_thread

__all__ = ["ScipyLBFGS", "lbfgs"]

# scipy's messages, by their first words, in the project's terms.
_REASONS = {
    "CONVERGENCE: REL_REDUCTION_OF_F": StopReason.CONVERGED,
    "CONVERGENCE: NORM_OF_PROJECTED_GRADIENT": StopReason.SMALL_GRADIENT,
    "STOP: TOTAL NO. OF ITERATIONS": StopReason.BUDGET,
    "STOP: TOTAL NO. OF F,G EVALUATIONS": StopReason.EVALUATIONS,
    "ABNORMAL": StopReason.NO_PROGRESS,
}


def _reason(message: str) -> StopReason:
    for start, reason in _REASONS.items():
        if message.upper().startswith(start):
            return reason
    return StopReason.NO_PROGRESS


def lbfgs(loss_and_grad: LossAndGrad, x0: np.ndarray, max_iter: int = 500, tol: float = 1e-9,
          callback: Callback | None = None,
          typical_step: float = 1.0, stop: StopRule | None = None) -> OptimizeResult:
    """Minimise ``loss_and_grad`` over an array with scipy's L-BFGS-B.

    Parameters
    ----------
    loss_and_grad : callable
        Takes a float32 tensor shaped like ``x0``; returns (scalar loss, gradient of that shape).
    x0 : ndarray
        The starting point.
    max_iter : int
        Iteration limit.
    tol : float
        scipy's ``tol`` (its ftol and gtol).
    callback : callable, optional
        Called as ``callback(iteration, x, loss)`` after every iteration (1-based).
    typical_step : float
        How far one element should move on the first step. L-BFGS-B's first step has unit length
        in its variables; over a million pixels that moves each by a thousandth of a grey level,
        a loss change below float32 resolution, and it would stop at once ("relative reduction
        of F"). The optimiser therefore works on ``x / (typical_step * sqrt(x.size))``.
    stop : callable, optional
        ``stop(losses)`` after every iteration (after the callback): True ends the run with
        :attr:`StopReason.SETTLED`.

    Returns
    -------
    OptimizeResult
    """
    shape = x0.shape
    result = OptimizeResult(x=x0.copy())
    unit = typical_step * np.sqrt(x0.size)

    def fun(flat: np.ndarray) -> tuple[float, np.ndarray]:
        result.evaluations += 1
        loss, grad = loss_and_grad(tf.constant((flat * unit).reshape(shape), dtype=tf.float32))
        return float(loss), grad.numpy().astype(np.float64).ravel() * unit

    last_time = [time.perf_counter()]
    settled = [False]

    def on_iteration(intermediate_result) -> None:
        now = time.perf_counter()
        result.seconds.append(now - last_time[0])
        last_time[0] = now
        result.x = (intermediate_result.x * unit).reshape(shape).astype(x0.dtype)
        result.losses.append(float(intermediate_result.fun))
        if callback is not None:
            callback(len(result.losses), result.x, result.losses[-1])
        if stop is not None and stop(result.losses):
            settled[0] = True
            raise StopIteration  # scipy ends the run and keeps this iterate

    # L-BFGS-B's bookkeeping calls BLAS; OpenBLAS workers left spinning after it took a core from
    # TensorFlow's next evaluation (8-9% of an iteration at 512x512 on 2 cores).
    one_thread = one_blas_thread()
    try:
        with one_thread():
            scipy_result = minimize(fun, x0.astype(np.float64).ravel() / unit, jac=True, method="L-BFGS-B", tol=tol,
                                    callback=on_iteration,
                                    options={"maxiter": max_iter, "maxfun": max(15000, 4 * max_iter)})
        result.detail = str(scipy_result.message)
        result.reason = StopReason.SETTLED if settled[0] else _reason(result.detail)
        if not result.losses:  # converged before its first iteration
            result.x = (scipy_result.x * unit).reshape(shape).astype(x0.dtype)
    except KeyboardInterrupt:
        result.reason = StopReason.INTERRUPTED
    return result


class ScipyLBFGS:
    """scipy's L-BFGS-B as an :class:`texsynth.optim.base.Optimizer` (see :func:`lbfgs`).

    Parameters
    ----------
    tol : float
        scipy's ``tol`` (its ftol and gtol).
    typical_step : float
        See :func:`lbfgs`.
    """

    def __init__(self, tol: float = 1e-9, typical_step: float = 1.0) -> None:
        self.tol = tol
        self.typical_step = typical_step

    def minimize(self, loss_and_grad: LossAndGrad, x0: np.ndarray, max_iter: int,
                 callback: Callback | None = None, stop: StopRule | None = None) -> OptimizeResult:
        """Minimise from ``x0`` for at most ``max_iter`` iterations."""
        return lbfgs(loss_and_grad, x0, max_iter, self.tol, callback, self.typical_step, stop)
