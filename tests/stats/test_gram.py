import numpy as np
import pytest
import tensorflow as tf

from texsynth.errors import TexsynthError
from texsynth.stats.gram import Gram, gram, join_grams


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




def test_gram_loss_and_normaliser_known_answer():
    target = tf.constant([[2.0, 0.0], [0.0, 1.0]])
    # Features whose Gram is [[3, 1], [1, 1]] (one pixel, two channels: F^T F / 2 = [[3, 1], [1, 1]]
    # needs F = [a, b] with a^2 = 6, ab = 2, b^2 = 2): it differs from the target by 1 in three entries.
    a, b = np.sqrt(6.0), 2.0 / np.sqrt(6.0)
    features = tf.constant([[[[a, b]]]], tf.float32)
    assert Gram().describe(features).numpy()[0, 1, 1] == pytest.approx(b * b / 2)
    stat = Gram()
    expected = (3 - 2) ** 2 + 2 * 1 ** 2 + (b * b / 2 - 1) ** 2
    assert float(stat.loss(features, target)) == pytest.approx(expected, rel=1e-5)
    # Two frames: the loss is summed over the batch.
    assert float(stat.loss(tf.concat([features, features], 0), target)) == pytest.approx(2 * expected, rel=1e-5)
    assert float(stat.loss(features, stat.describe(features)[0])) == 0.0
    assert stat.normaliser(np.array([[2.0, 0.0], [0.0, 1.0]])) == pytest.approx(1 / 5)


def test_gram_join_is_join_grams_per_term():
    a = np.array([[1.0, 2.0], [2.0, 5.0]])
    b = np.array([[3.0, 0.0], [0.0, 1.0]])
    for mode in ("average", "max", "log_euclidean", "affine_invariant"):
        np.testing.assert_allclose(Gram().join([a, b], mode), join_grams([[a], [b]], mode)[0])
    with pytest.raises(TexsynthError, match="unknown join mode"):
        Gram().join([a, b], "median")


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








def test_a_map_described_in_bands_is_described_as_a_whole():
    features = tf.constant(np.random.default_rng(3).normal(size=(2, 11, 7, 5)).astype(np.float32))
    bands = [features[:, :4], features[:, 4:5], features[:, 5:]]
    np.testing.assert_allclose(Gram().describe_bands(bands).numpy(), gram(features).numpy(), rtol=1e-5, atol=1e-7)
