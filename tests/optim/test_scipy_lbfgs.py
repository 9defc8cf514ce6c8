"""L-BFGS-B over arrays: progress on badly scaled problems, the optimum, callbacks, Ctrl-C."""

import numpy as np
import tensorflow as tf

from texsynth.optim.base import StopReason
from texsynth.optim.scipy_lbfgs import lbfgs


def _power(target, scale, power=2):
    @tf.function
    def loss_and_grad(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = scale * tf.reduce_mean(tf.abs(x - target) ** power)
        return loss, tape.gradient(loss, x)
    return loss_and_grad


def test_makes_progress_when_gradients_are_tiny_per_element():
    # A million-element problem whose loss is O(1): per-element gradients are ~1e-6, the case in
    # which an unscaled first L-BFGS step changes the loss by less than float32 can see.
    target = tf.constant(np.random.default_rng(0).uniform(-100, 100, (1, 300, 300, 3)), tf.float32)
    x0 = np.zeros((1, 300, 300, 3), np.float32)
    result = lbfgs(_power(target, 1e-3), x0, max_iter=10)
    assert result.losses[-1] < 1e-4 * result.losses[0]
    # (tests/test_synthesis.py shows the stall an unscaled first step causes on a real texture.)


def test_finds_the_optimum():
    target = tf.constant([[-5.0, 0.5, 3.0]])
    result = lbfgs(_power(target, 1.0), np.zeros((1, 3), np.float32), max_iter=50)
    np.testing.assert_allclose(result.x, [[-5.0, 0.5, 3.0]], atol=1e-4)


def test_callback_sees_every_iteration_and_interrupt_keeps_the_latest():
    target = tf.constant(np.full((4, 4), 10.0, np.float32))
    seen = []

    def callback(iteration, x, loss):
        seen.append((iteration, x.copy(), loss))
        if iteration == 3:
            raise KeyboardInterrupt

    result = lbfgs(_power(target, 1.0, power=4), np.zeros((4, 4), np.float32), max_iter=100, callback=callback)
    assert result.interrupted and [s[0] for s in seen] == [1, 2, 3]
    np.testing.assert_array_equal(result.x, seen[-1][1])
    assert result.losses == [s[2] for s in seen] and len(result.seconds) == 3


def test_a_stop_rule_ends_the_run_at_the_iteration_it_holds():
    target = tf.constant(np.full((4, 4), 10.0, np.float32))
    seen = []
    result = lbfgs(_power(target, 1.0, power=4), np.zeros((4, 4), np.float32), max_iter=100,
                   callback=lambda i, x, loss: seen.append(x.copy()), stop=lambda losses: len(losses) == 4)
    assert result.reason is StopReason.SETTLED and len(result.losses) == 4
    np.testing.assert_array_equal(result.x, seen[-1])


def test_blas_runs_on_one_thread_while_optimising_and_is_restored_after():
    # Spinning OpenBLAS workers between evaluations took a core from TensorFlow.
    from threadpoolctl import threadpool_info

    def blas_threads():
        return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    before, seen = blas_threads(), []
    loss_and_grad = _power(tf.constant([[1.0, 2.0]]), 1.0)

    def watching(x):
        seen.append(blas_threads())
        return loss_and_grad(x)

    lbfgs(watching, np.zeros((1, 2), np.float32), max_iter=3)
    assert seen and all(threads == {1} for threads in seen)
    assert blas_threads() == before
