import numpy as np
import pytest
import tensorflow as tf

from texsynth.losses import (frame_distance, gram, gram_loss, interframe_loss, join_grams, range_penalty,
                             shifted_distance)


def test_gram_known_answer():
    # Two pixels with two channels: F = [[1, 2], [3, 4]], F^T F = [[10, 14], [14, 20]], / (2 pixels * 2 channels).
    features = tf.constant([[[[1.0, 2.0], [3.0, 4.0]]]])
    np.testing.assert_allclose(gram(features).numpy()[0], [[2.5, 3.5], [3.5, 5.0]])


def test_gram_is_invariant_to_pixel_order_and_batched():
    rng = np.random.default_rng(1)
    f = rng.normal(size=(1, 6, 5, 4)).astype(np.float32)
    shuffled = rng.permutation(f.reshape(30, 4)).reshape(1, 6, 5, 4)
    np.testing.assert_allclose(gram(tf.constant(f)).numpy(), gram(tf.constant(shuffled)).numpy(), rtol=1e-5)
    both = gram(tf.constant(np.concatenate([f, shuffled])))
    assert both.shape == (2, 4, 4)


def test_gram_gradient_matches_the_plain_formula():
    # The hand-written one-product gradient against automatic differentiation of F^T F / (HWC),
    # with a non-symmetric upstream gradient so that both halves of dG + dG^T matter.
    rng = np.random.default_rng(2)
    f = tf.constant(rng.normal(size=(2, 5, 3, 4)).astype(np.float32))
    weights = tf.constant(rng.normal(size=(2, 4, 4)).astype(np.float32))

    def plain(x):
        flat = tf.reshape(x, (2, 15, 4))
        return tf.matmul(flat, flat, transpose_a=True) / 60.0

    grads = []
    for fn in (gram, plain):
        with tf.GradientTape() as tape:
            tape.watch(f)
            value = tf.reduce_sum(weights * fn(f))
        grads.append(tape.gradient(value, f).numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5, atol=1e-6)


def test_range_penalty_known_answer_and_gradient():
    x = tf.constant([[-3.0, 0.5, 1.0, 4.0]])
    # -3 is 2 below the lower bound -1, 4 is 3 above the upper bound 1, the middle two are inside.
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = range_penalty(x, tf.constant(-1.0), tf.constant(1.0))
    assert float(value) == pytest.approx((4.0 + 9.0) / 4)
    np.testing.assert_allclose(tape.gradient(value, x).numpy(), [[2 * -2 / 4, 0, 0, 2 * 3 / 4]])


def test_gram_loss_known_answer():
    target = tf.constant([[2.0, 0.0], [0.0, 1.0]])
    output = tf.constant([[[3.0, 1.0], [1.0, 1.0]]])  # differs by 1 in three entries
    assert float(gram_loss([output], [target], [0.2])) == pytest.approx(3.0 * 0.2)
    assert float(gram_loss([output, output], [target, target], [1.0, 0.5])) == pytest.approx(4.5)
    assert float(gram_loss([output * 0 + target], [target], [1.0])) == 0.0


def test_join_average_and_max():
    a = np.array([[1.0, 2.0], [2.0, 5.0]])
    b = np.array([[3.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(join_grams([[a], [b]], "average")[0], (a + b) / 2)
    np.testing.assert_allclose(join_grams([[a], [b]], "max")[0], np.maximum(a, b))


def test_join_spd_means_of_commuting_matrices():
    # For diagonal matrices both manifold means are the geometric mean of the entries.
    a, b = np.diag([1.0, 4.0, 2.0]), np.diag([4.0, 9.0, 8.0])
    expected = np.diag([2.0, 6.0, 4.0])
    np.testing.assert_allclose(join_grams([[a], [b]], "log_euclidean")[0], expected, rtol=1e-4)
    np.testing.assert_allclose(join_grams([[a], [b]], "affine_invariant")[0], expected, rtol=1e-4)


def test_affine_invariant_midpoint_is_congruence_invariant():
    # Geodesic midpoint commutes with congruence: mid(M A M^T, M B M^T) = M mid(A, B) M^T.
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(2, 4, 4))
    a, b = x @ x.T + np.eye(4), y @ y.T + np.eye(4)
    m = rng.normal(size=(4, 4)) + 3 * np.eye(4)
    mid = join_grams([[a], [b]], "affine_invariant")[0]
    moved = join_grams([[m @ a @ m.T], [m @ b @ m.T]], "affine_invariant")[0]
    np.testing.assert_allclose(moved, m @ mid @ m.T, rtol=2e-3, atol=2e-3)


def test_affine_invariant_needs_two_sources():
    with pytest.raises(ValueError):
        join_grams([[np.eye(2)]] * 3, "affine_invariant")


@pytest.mark.parametrize("kind", ["l2", "lap1"])
def test_frame_distance_zero_for_equal_frames_and_grows_with_shift(kind):
    rng = np.random.default_rng(3)
    image = rng.uniform(0, 255, (48, 48, 3)).astype(np.float32)
    from scipy import ndimage
    image = ndimage.gaussian_filter(image, (2, 2, 0))
    same = frame_distance(tf.constant(image[None]), tf.constant(image[None]), kind, 2)
    assert float(same[0]) < 1e-3
    assert 0 < shifted_distance(image, 1, kind, 1) < shifted_distance(image, 3, kind, 1)
    # A fractional shift lies between its neighbours.
    assert shifted_distance(image, 1, kind, 1) < shifted_distance(image, 1.5, kind, 1) < shifted_distance(image, 2, kind, 1)


def test_l2_distance_known_answer():
    a = tf.zeros((1, 8, 8, 3))
    b = tf.fill((1, 8, 8, 3), 2.0)
    assert float(frame_distance(a, b, "l2", 1)[0]) == pytest.approx(2.0, rel=1e-5)


def test_interframe_loss_is_zero_at_target_and_positive_elsewhere():
    frames = tf.constant([[[[0.0]]], [[[2.0]]], [[[0.0]]], [[[2.0]]]]) * tf.ones((4, 8, 8, 3))
    # Neighbours differ by 2 (l2).
    assert float(interframe_loss(frames, [2.0], "l2", 1)) == pytest.approx(0.0, abs=1e-6)
    # Frames two apart are equal, so a target of 2 for them costs ((0 - 2) / 2)^2 = 1.
    assert float(interframe_loss(frames, [2.0, 2.0], "l2", 1)) == pytest.approx(1.0, rel=1e-4)
    assert float(interframe_loss(frames, [4.0], "l2", 1)) == pytest.approx(0.25, rel=1e-4)
