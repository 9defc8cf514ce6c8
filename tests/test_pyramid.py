import numpy as np
import pytest
import tensorflow as tf

from texsynth.pyramid import (burt_adelson_kernel, detail, expand, gaussian_pyramid, laplacian_pyramid, level_sizes,
                              reduce, reduced_size)


def test_kernel_sums_to_one_and_is_symmetric():
    for a in (0.3, 0.4, 0.5):
        k = burt_adelson_kernel(a)
        assert k.sum() == pytest.approx(1.0)
        np.testing.assert_allclose(k, k[::-1])
    assert burt_adelson_kernel(0.4)[2] == pytest.approx(0.4)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_constant_image_stays_constant(padding):
    x = tf.fill((2, 37, 50, 3), 7.25)
    for level in gaussian_pyramid(x, 4, padding):
        np.testing.assert_allclose(level.numpy(), 7.25, rtol=1e-6)


@pytest.mark.parametrize("size", [5, 16, 17, 37, 64, 101])
def test_sizes_per_padding_mode(size):
    x = tf.zeros((1, size, size + 3, 1))
    valid = reduce(x, "valid")
    same = reduce(x, "same")
    assert valid.shape[1:3] == ((size - 5) // 2 + 1, (size + 3 - 5) // 2 + 1)
    assert same.shape[1:3] == (-(-size // 2), -(-(size + 3) // 2))
    assert reduced_size(size, "valid") == valid.shape[1]
    assert reduced_size(size, "same") == same.shape[1]


def test_level_sizes_match_the_pyramid():
    x = tf.zeros((1, 200, 200, 3))
    for padding in ("valid", "same"):
        shapes = [level.shape[1] for level in gaussian_pyramid(x, 4, padding)]
        assert shapes == level_sizes(200, 4, padding)


def test_reduce_removes_high_frequencies():
    # A checkerboard (the highest frequency) is almost erased; a slow ramp survives.
    yy, xx = np.mgrid[:64, :64]
    checker = tf.constant(((yy + xx) % 2 * 2.0 - 1)[None, ..., None], tf.float32)
    ramp = tf.constant((xx / 63.0)[None, ..., None], tf.float32)
    # Mirroring at the border breaks the alternation there, so look at the interior.
    assert np.abs(reduce(checker, "same").numpy()[:, 1:-1, 1:-1]).max() < 1e-5
    assert reduce(ramp, "same").numpy().std() > 0.25


def test_expand_keeps_constants_and_laplacian_reconstructs():
    x = tf.fill((1, 9, 12, 2), 3.0)
    np.testing.assert_allclose(expand(x, 18, 24).numpy(), 3.0, rtol=1e-6)
    image = tf.constant(np.random.default_rng(0).normal(size=(1, 40, 56, 3)), tf.float32)
    bands = laplacian_pyramid(image, 3)
    rebuilt = bands[-1]
    for band in reversed(bands[:-1]):
        rebuilt = band + expand(rebuilt, band.shape[1], band.shape[2])
    np.testing.assert_allclose(rebuilt.numpy(), image.numpy(), atol=1e-4)


def test_detail_of_a_constant_is_zero_and_keeps_the_size():
    x = tf.fill((1, 13, 17, 3), 9.0)
    out = detail(x)
    assert out.shape == x.shape
    np.testing.assert_allclose(out.numpy(), 0.0, atol=1e-5)
