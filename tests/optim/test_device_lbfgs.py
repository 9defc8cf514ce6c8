"""L-BFGS on the device: known minima, stop reasons, callbacks, Ctrl-C, and parity with scipy."""

import numpy as np
import pytest
import tensorflow as tf

from texsynth.optim.base import StopReason
from texsynth.optim.device_lbfgs import DeviceLBFGS
from texsynth.optim.scipy_lbfgs import ScipyLBFGS
from texsynth.synthesis import SynthConfig
from tests.conftest import synthesizer


def _with_gradient(fn):
    @tf.function
    def loss_and_grad(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = fn(x)
        return loss, tape.gradient(loss, x)
    return loss_and_grad


def test_minimises_an_ill_conditioned_quadratic():
    scales, centre = tf.constant([1.0, 10.0, 100.0, 1000.0]), tf.constant([1.0, -2.0, 3.0, 0.5])
    quadratic = _with_gradient(lambda x: tf.reduce_sum(scales * (x - centre) ** 2))
    result = DeviceLBFGS(tol=1e-12).minimize(quadratic, np.zeros(4, np.float32), 100)
    np.testing.assert_allclose(result.x, centre.numpy(), atol=1e-4)
    assert result.reason in (StopReason.CONVERGED, StopReason.SMALL_GRADIENT) and len(result.losses) < 40


def test_minimises_the_rosenbrock_function():
    rosenbrock = _with_gradient(lambda x: tf.reduce_sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))
    result = DeviceLBFGS(tol=1e-12).minimize(rosenbrock, np.array([-1.2, 1.0, -1.2, 1.0], np.float32), 500)
    np.testing.assert_allclose(result.x, 1.0, atol=1e-3)
    assert all(b <= a for a, b in zip(result.losses, result.losses[1:]))  # Armijo: every step descends


def test_a_pair_without_positive_curvature_is_not_kept():
    # On a plane every pair has s.y = 0: kept, it would divide by zero (rho = 1/s.y) and the next
    # direction would be NaN. Skipped, every step is the first step's: typical_step per element
    # along the negative gradient.
    slope = tf.constant([3.0, -4.0])
    plane = _with_gradient(lambda x: tf.reduce_sum(slope * x))
    result = DeviceLBFGS(tol=1e-12, typical_step=0.5).minimize(plane, np.zeros(2, np.float32), 3)
    assert len(result.losses) == 3
    step = 0.5 * np.sqrt(2) * -slope.numpy() / 5.0
    np.testing.assert_allclose(result.x, 3 * step, rtol=1e-5)


def test_callback_sees_every_iteration_and_interrupt_keeps_the_latest():
    target = tf.constant(np.full((4, 4), 10.0, np.float32))
    seen = []

    def callback(iteration, x, loss):
        seen.append((iteration, np.asarray(x).copy(), loss))
        if iteration == 3:
            raise KeyboardInterrupt

    result = DeviceLBFGS().minimize(_with_gradient(lambda x: tf.reduce_sum((x - target) ** 4)),
                                    np.zeros((4, 4), np.float32), 50, callback)
    assert result.interrupted and [s[0] for s in seen] == [1, 2, 3]
    np.testing.assert_array_equal(result.x, seen[-1][1])
    assert result.losses == [s[2] for s in seen]


def test_a_stop_rule_ends_the_run_at_the_iteration_it_holds():
    target = tf.constant(np.full((4, 4), 10.0, np.float32))
    seen = []
    result = DeviceLBFGS().minimize(_with_gradient(lambda x: tf.reduce_sum((x - target) ** 4)),
                                    np.zeros((4, 4), np.float32), 50,
                                    lambda i, x, loss: seen.append(np.asarray(x).copy()),
                                    stop=lambda losses: len(losses) == 4)
    assert result.reason is StopReason.SETTLED and result.reason.early and len(result.losses) == 4
    np.testing.assert_array_equal(result.x, seen[-1])


def test_one_optimiser_serves_canvases_of_every_shape_as_a_fresh_one_would():
    # A coarse-to-fine schedule hands one optimiser a larger canvas at every stage: the history of
    # the previous canvas must not leak into the next, and the steps are not traced again.
    def bowl(shape):
        centre = tf.constant(np.random.default_rng(shape[1]).normal(size=shape).astype(np.float32))
        scales = tf.constant(np.linspace(1.0, 30.0, int(np.prod(shape)), dtype=np.float32).reshape(shape))
        return _with_gradient(lambda x: tf.reduce_sum(scales * (x - centre) ** 2))

    shapes = [(1, 4, 4, 3), (1, 8, 8, 3), (1, 4, 4, 3), (2, 6, 6, 3)]
    shared = DeviceLBFGS(tol=0.0)
    for shape in shapes:
        loss, x0 = bowl(shape), np.ones(shape, np.float32)
        reused, fresh = shared.minimize(loss, x0, 6), DeviceLBFGS(tol=0.0).minimize(loss, x0, 6)
        assert reused.x.shape == shape
        np.testing.assert_array_equal(reused.x, fresh.x)
        assert reused.losses == fresh.losses
    assert shared.traces() == 3  # propose, trial point, accept: once each


def test_lowers_a_texture_loss_as_far_as_scipy(tiny, noise_source):
    config = SynthConfig(width=32, height=32, octaves=2, layers=["2", "4"], random_seed=0, precision="float32",
                         schedule="joint")
    losses = {}
    for name, optimizer in (("device", DeviceLBFGS()), ("scipy", ScipyLBFGS())):
        synth = synthesizer([noise_source], tiny, config)
        losses[name] = optimizer.minimize(synth.loss_and_grad, synth.x0, 40).losses
    assert len(losses["device"]) == 40
    assert losses["device"][-1] == pytest.approx(losses["scipy"][-1], rel=0.15)
    assert losses["device"][-1] < 0.2 * losses["device"][0]


def test_the_direction_reads_the_history_once():
    # Indexing the history variables inside the unrolled two-loop recursion read all of each at every
    # use, all at once: 40 copies of the history (1.3 GB at 512x512) where two suffice.
    try:
        tf.config.experimental.reset_memory_stats("CPU:0")
    except ValueError:
        pytest.skip("TensorFlow's CPU allocator keeps no statistics on this machine (oneDNN off)")
    n, history = 2**18, 10
    history_mib = 2 * history * n * 4 / 2**20  # 20 MiB of pairs
    target = tf.constant(np.random.default_rng(0).normal(size=n).astype(np.float32))
    weights = tf.constant(np.linspace(1.0, 50.0, n, dtype=np.float32))
    peaks = []

    def callback(iteration, x, loss):
        info = tf.config.experimental.get_memory_info("CPU:0")
        if iteration > history // 2:  # the history holds several pairs
            peaks.append((info["peak"] - info["current"]) / 2**20)
        tf.config.experimental.reset_memory_stats("CPU:0")

    quadratic = _with_gradient(lambda x: tf.reduce_sum(weights * (x - target) ** 2))
    DeviceLBFGS(tol=0.0, history=history).minimize(quadratic, np.zeros(n, np.float32), history + 3, callback)
    assert peaks and max(peaks) < 3 * history_mib, peaks


@pytest.mark.parametrize("optimizer", [DeviceLBFGS(), ScipyLBFGS()], ids=["device", "scipy"])
def test_interrupt_during_the_first_evaluation_keeps_the_start(optimizer):
    target = tf.constant(np.full((4, 4), 10.0, np.float32))
    optimizer.minimize(_with_gradient(lambda x: tf.reduce_sum((x - target) ** 2)), np.zeros((4, 4), np.float32), 5)

    def interrupted(x):
        raise KeyboardInterrupt

    start = np.full((3, 5), 7.0, np.float32)  # another canvas: the device variable still holds the last one
    result = optimizer.minimize(interrupted, start, 5)
    assert result.interrupted and result.losses == []
    np.testing.assert_array_equal(result.x, start)
