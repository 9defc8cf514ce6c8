"""Animation terms: the distance between frames and the inter-frame loss."""

import numpy as np
import pytest
import tensorflow as tf

from texsynth.interframe import frame_distance, interframe_loss, shifted_distance


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


def test_interframe_loss_is_zero_at_target_and_positive_elsewhere():
    frames = tf.constant([[[[0.0]]], [[[2.0]]], [[[0.0]]], [[[2.0]]]]) * tf.ones((4, 8, 8, 3))
    # Neighbours differ by 2 (l2).
    assert float(interframe_loss(frames, [2.0], "l2", 1)) == pytest.approx(0.0, abs=1e-6)
    # Frames two apart are equal, so a target of 2 for them costs ((0 - 2) / 2)^2 = 1.
    assert float(interframe_loss(frames, [2.0, 2.0], "l2", 1)) == pytest.approx(1.0, rel=1e-4)
    assert float(interframe_loss(frames, [4.0], "l2", 1)) == pytest.approx(0.25, rel=1e-4)


def test_l2_distance_known_answer():
    a = tf.zeros((1, 8, 8, 3))
    b = tf.fill((1, 8, 8, 3), 2.0)
    assert float(frame_distance(a, b, "l2", 1)[0]) == pytest.approx(2.0, rel=1e-5)
