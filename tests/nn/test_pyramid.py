import numpy as np
import pytest
import tensorflow as tf

from texsynth.nn.pyramid import (burt_adelson_kernel, detail, expand, gaussian_pyramid, laplacian_pyramid, level_sizes,
                              reduce, reduced_size, wrap_pad)


def test_kernel_sums_to_one_and_is_symmetric():
    for a in (0.3, 0.4, 0.5):
        k = burt_adelson_kernel(a)
        assert k.sum() == pytest.approx(1.0)
        np.testing.assert_allclose(k, k[::-1])
    assert burt_adelson_kernel(0.4)[2] == pytest.approx(0.4)


@pytest.mark.parametrize("padding", ["valid", "same", "wrap"])
def test_constant_image_stays_constant(padding):
    x = tf.fill((2, 37, 50, 3), 7.25)
    for level in gaussian_pyramid(x, 4, padding):
        np.testing.assert_allclose(level.numpy(), 7.25, rtol=1e-6)


@pytest.mark.parametrize("size", [5, 16, 17, 37, 64, 101])
def test_sizes_per_padding_mode(size):
    x = tf.zeros((1, size, size + 3, 1))
    valid = reduce(x, "valid")
    same = reduce(x, "same")
    wrap = reduce(x, "wrap")
    assert valid.shape[1:3] == ((size - 5) // 2 + 1, (size + 3 - 5) // 2 + 1)
    assert same.shape[1:3] == wrap.shape[1:3] == (-(-size // 2), -(-(size + 3) // 2))
    assert reduced_size(size, "valid") == valid.shape[1]
    assert reduced_size(size, "same") == same.shape[1]
    assert reduced_size(size, "wrap") == wrap.shape[1]


def test_level_sizes_match_the_pyramid():
    x = tf.zeros((1, 200, 200, 3))
    for padding in ("valid", "same", "wrap"):
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


def test_wrap_pad_continues_the_opposite_border():
    x = np.arange(4 * 5, dtype=np.float32).reshape(1, 4, 5, 1)
    np.testing.assert_array_equal(wrap_pad(tf.constant(x), 2).numpy(), np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), "wrap"))


@pytest.mark.parametrize("size, pixels", [(9, 2), (4, 2), (3, 2), (3, 3)])
def test_wrap_pad_gradient_folds_the_padding_back(size, pixels):
    # Against automatic differentiation of numpy's definition (a gather), small maps where the pads
    # overlap included.
    rng = np.random.default_rng(size)
    x = tf.constant(rng.normal(size=(2, size, size + 1, 3)).astype(np.float32))
    upstream = tf.constant(rng.normal(size=(2, size + 2 * pixels, size + 1 + 2 * pixels, 3)).astype(np.float32))
    rows = np.arange(-pixels, size + pixels) % size
    cols = np.arange(-pixels, size + 1 + pixels) % (size + 1)
    grads = []
    for pad in (lambda v: wrap_pad(v, pixels), lambda v: tf.gather(tf.gather(v, rows, axis=1), cols, axis=2)):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = pad(x)
        grads.append(tape.gradient(y, x, output_gradients=upstream).numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6, atol=1e-6)


def test_wrapped_reduce_commutes_with_circular_shifts():
    # Blurring on a torus: shifting the image by two pixels shifts the next level by one.
    x = tf.constant(np.random.default_rng(1).normal(size=(1, 16, 20, 3)).astype(np.float32))
    shifted = reduce(tf.roll(x, (2, -4), axis=(1, 2)), "wrap")
    np.testing.assert_allclose(shifted.numpy(), tf.roll(reduce(x, "wrap"), (1, -2), axis=(1, 2)).numpy(), atol=1e-5)


def test_wrapped_detail_has_no_seam():
    # A periodic ramp's detail is the same everywhere along it; mirroring would disturb the ends.
    xx = np.cos(np.arange(24) * 2 * np.pi / 8)
    x = tf.constant(np.broadcast_to(xx[None, None, :, None], (1, 6, 24, 1)).astype(np.float32))
    out = detail(x, "wrap").numpy()[0, 0, :, 0]
    np.testing.assert_allclose(out[:8], out[-8:], atol=1e-5)
    assert abs(detail(x).numpy()[0, 0, 0, 0] - out[0]) > 1e-3
