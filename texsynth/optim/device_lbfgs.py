"""L-BFGS written in TensorFlow: the iterate, its gradient and the curvature history stay on the
device TensorFlow computes on (a GPU when there is one), in float32.

scipy's L-BFGS-B copies the image to float64 on the host and does its bookkeeping in Fortran at
every evaluation (60-90 ms at 512x512 on a CPU); on a GPU that bookkeeping would cost more than the
network. Here one iteration is one compiled call: the two-loop recursion over the last ``history``
curvature pairs gives the direction, a backtracking line search finds a step that satisfies the
Armijo condition, and the new pair is stored only when its curvature ``s.y`` is positive. The host
sees the loss of every trial point (a scalar) and the image only when a callback asks for it.

Its first step matches scipy's on the scaled variables of :func:`texsynth.optim.scipy_lbfgs.lbfgs`:
every element moves by about ``typical_step`` along the negative gradient. Later steps start at
length 1 with the initial inverse Hessian ``(s.y / y.y) I`` of the newest pair, as in L-BFGS-B.
Stopping tests are scipy's: the relative reduction of the loss below ``tol``, or the largest
gradient element (in scaled variables) below ``tol``.
"""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf

from texsynth.optim.base import Callback, LossAndGrad, OptimizeResult, StopReason, StopRule

__all__ = ["DeviceLBFGS"]

# Sufficient decrease (Armijo) constant, and how far one backtracking step may shrink the step.
ARMIJO = 1e-4
MAX_TRIALS = 20
_STATUS = {1: StopReason.CONVERGED, 2: StopReason.SMALL_GRADIENT, 3: StopReason.NO_PROGRESS}


def _dot(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """The dot product of two vectors. Not ``tf.tensordot``, a matrix product of a row and a column:
    on the CPU that took 0.85 ms for two vectors of 512x512x3 against 0.24 ms for this, and the
    direction's 21 dot products were three quarters of its time (a 2-core EPYC)."""
    return tf.reduce_sum(a * b)


class DeviceLBFGS:
    """L-BFGS on the device as an :class:`texsynth.optim.base.Optimizer`.

    Parameters
    ----------
    tol : float
        Stop when the loss falls by less than this, relative to its size, in one iteration, or when
        the largest scaled gradient element is below it (scipy's ftol and gtol).
    history : int
        Curvature pairs kept (memory: ``2 * history`` copies of the image).
    typical_step : float
        How far one element moves on the first step.

    Notes
    -----
    The callback's ``x`` is a ``tf.Tensor`` on the device; ``np.asarray(x)`` copies it to the host
    only when the callback needs it (to save a frame).
    """

    def __init__(self, tol: float = 1e-9, history: int = 10, typical_step: float = 1.0) -> None:
        self.tol = tol
        self.history = history
        self.typical_step = typical_step
        self._state: tuple | None = None

    def _compiled(self):
        """The state variables and the compiled steps, built once per optimiser. Their shapes are
        left open, so a coarse-to-fine schedule's stages, each on its own canvas, and the redraws
        within a stage all reuse one trace: traced per canvas they cost about 0.3 s per stage
        (a quarter of a 256x256 stage's restart)."""
        if self._state is not None:
            return self._state
        m = self.history
        x = tf.Variable(tf.zeros((0,)), shape=tf.TensorShape(None))  # the iterate, in its own shape
        f = tf.Variable(0.0)
        g = tf.Variable(tf.zeros((0,)), shape=tf.TensorShape([None]))
        pairs_s = tf.Variable(tf.zeros((m, 0)), shape=tf.TensorShape([m, None]))
        pairs_y = tf.Variable(tf.zeros((m, 0)), shape=tf.TensorShape([m, None]))
        rho = tf.Variable(tf.zeros((m,)))
        stored = tf.Variable(0)
        head = tf.Variable(0)  # slot of the next pair
        unit = tf.Variable(0.0)  # typical_step * sqrt(elements): the scaled variables' unit

        def direction() -> tf.Tensor:
            # Each variable is read once: indexing a variable inside the unrolled loops read all of
            # it at every use, and the graph ran those reads at once, each a copy of the whole
            # history (1.3 GB at 512x512 with ten pairs, against 60 MB of pairs).
            all_s, all_y, all_rho = pairs_s.read_value(), pairs_y.read_value(), rho.read_value()
            q = -g
            alphas = []
            for i in range(m):  # newest pair first
                slot = (head - 1 - i) % m
                use = tf.cast(i < stored, tf.float32)
                alpha = use * all_rho[slot] * _dot(all_s[slot], q)
                q = q - alpha * all_y[slot]
                alphas.append((slot, use, alpha))
            newest = (head - 1) % m
            yy = _dot(all_y[newest], all_y[newest])
            gamma = tf.where(stored > 0, 1.0 / (all_rho[newest] * tf.maximum(yy, 1e-30)), 1.0)
            r = gamma * q
            for slot, use, alpha in reversed(alphas):
                beta = use * all_rho[slot] * _dot(all_y[slot], r)
                r = r + (alpha - beta) * all_s[slot]
            return r

        d_var = tf.Variable(tf.zeros((0,)), shape=tf.TensorShape([None]))

        # Without AutoGraph: their loops run over Python ints, and the one branch on a tensor is an
        # explicit tf.cond, so each traces faster and builds the same graph.

        @tf.function(autograph=False)
        def propose() -> tuple[tf.Tensor, tf.Tensor]:
            """Store the search direction; return its slope and the first trial step."""
            d = direction()
            slope = _dot(g, d)
            # Not a descent direction (rounding after many pairs): fall back to steepest descent.
            d = tf.where(slope < 0, d, -g)
            d_var.assign(d)
            first = unit / tf.maximum(tf.norm(g), 1e-30)
            return _dot(g, d), tf.where(stored > 0, 1.0, first)

        @tf.function(autograph=False)
        def trial_point(t: tf.Tensor) -> tf.Tensor:
            current = x.read_value()
            return tf.reshape(tf.reshape(current, [-1]) + t * d_var, tf.shape(current))

        @tf.function(autograph=False, input_signature=[tf.TensorSpec([], tf.float32), tf.TensorSpec([], tf.float32),
                                                        tf.TensorSpec(None, tf.float32)])
        def accept(t: tf.Tensor, new_f: tf.Tensor, gradient: tf.Tensor) -> tf.Tensor:
            """Move to the accepted point, keep the curvature pair if ``s.y > 0``; return the status."""
            new_g = tf.reshape(gradient, [-1])
            s_vec, y_vec = t * d_var, new_g - g
            sy = _dot(s_vec, y_vec)

            def keep() -> tf.Tensor:
                pairs_s[head].assign(s_vec)
                pairs_y[head].assign(y_vec)
                rho[head].assign(1.0 / sy)
                head.assign((head + 1) % m)
                return stored.assign(tf.minimum(stored + 1, m))

            tf.cond(sy > 1e-10 * _dot(y_vec, y_vec), keep, stored.read_value)
            reduction = (f - new_f) / tf.maximum(tf.maximum(tf.abs(f), tf.abs(new_f)), 1.0)
            current = x.read_value()
            x.assign(tf.reshape(tf.reshape(current, [-1]) + s_vec, tf.shape(current)))
            f.assign(new_f)
            g.assign(new_g)
            return tf.where(reduction <= self.tol, 1, tf.where(tf.reduce_max(tf.abs(new_g)) * unit <= self.tol, 2, 0))

        def step(loss_and_grad: LossAndGrad) -> tuple[float, int, int]:
            """One iteration. The line search loops here, on the host, around the compiled objective:
            inside a compiled while loop the objective ran 50-60% slower at 512x512 on a CPU (its
            graph, inlined in the loop body, lost optimisations it gets as a function of its own)."""
            slope, t = (float(v) for v in propose())
            current = float(f)
            for trial in range(1, MAX_TRIALS + 1):
                value, gradient = loss_and_grad(trial_point(tf.constant(t)))
                value = float(value)
                if np.isfinite(value) and value <= current + ARMIJO * t * slope:
                    return value, int(accept(tf.constant(t), tf.constant(value), gradient)), trial
                # Backtrack to the minimiser of the quadratic through f, slope and the trial, kept
                # within [0.1, 0.5] of the step (a safeguarded Armijo search).
                curvature = value - current - slope * t
                quadratic = -slope * t * t / (2.0 * curvature) if np.isfinite(value) and curvature > 0 else 0.5 * t
                t = min(max(quadratic, 0.1 * t), 0.5 * t)
            return current, 3, MAX_TRIALS

        def restart(loss_and_grad: LossAndGrad, x0: np.ndarray) -> None:
            """Start from ``x0`` with no curvature pairs."""
            n = int(np.prod(x0.shape))
            x.assign(tf.constant(x0, tf.float32))
            unit.assign(self.typical_step * np.sqrt(n))
            loss, grad = loss_and_grad(x.read_value())
            f.assign(tf.cast(loss, tf.float32))
            g.assign(tf.reshape(grad, [-1]))
            if int(tf.shape(pairs_s)[1]) != n:  # a new canvas (a redraw keeps it: stored = 0 hides old pairs)
                pairs_s.assign(tf.zeros((m, n)))
                pairs_y.assign(tf.zeros((m, n)))
            stored.assign(0)
            head.assign(0)

        def traces() -> int:
            return sum(fn.experimental_get_tracing_count() for fn in (propose, trial_point, accept))

        self._state = (x, restart, step, traces)
        return self._state

    def traces(self) -> int:
        """How often the compiled steps were traced (once per optimiser, whatever the canvases)."""
        return 0 if self._state is None else self._state[3]()

    def minimize(self, loss_and_grad: LossAndGrad, x0: np.ndarray, max_iter: int,
                 callback: Callback | None = None, stop: StopRule | None = None) -> OptimizeResult:
        """Minimise from ``x0`` for at most ``max_iter`` iterations (Ctrl-C keeps the latest iterate;
        ``stop(losses)`` true after an iteration ends the run, see the protocol)."""
        x, restart, step, _ = self._compiled()
        result = OptimizeResult(x=x0, evaluations=1)
        started = False
        try:
            restart(loss_and_grad, x0)
            started = True
            last = time.perf_counter()
            for iteration in range(1, max_iter + 1):
                value, status, trials = step(loss_and_grad)
                result.evaluations += trials
                if status == 3:
                    result.reason = StopReason.NO_PROGRESS
                    break
                now = time.perf_counter()
                result.seconds.append(now - last)
                last = now
                result.losses.append(value)
                if callback is not None:
                    callback(iteration, x.read_value(), result.losses[-1])
                if status:
                    result.reason = _STATUS[status]
                    break
                if stop is not None and stop(result.losses):
                    result.reason = StopReason.SETTLED
                    break
        except KeyboardInterrupt:
            result.reason = StopReason.INTERRUPTED
        # Ctrl-C during the first evaluation may leave the variable holding another run's canvas.
        result.x = x.numpy() if started else x0
        return result
