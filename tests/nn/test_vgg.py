import numpy as np
import pytest
import tensorflow as tf

from texsynth.nn.geometry import feature_size
from texsynth.nn.vgg import (VGGFeatures, avg_pool, band_rows, conv2d_banded, conv2d_by_transpose, conv_relu,
                             rgb_to_vgg, vgg_to_rgb)


def test_preprocessing_round_trip():
    rgb = np.random.default_rng(0).uniform(0, 255, (4, 5, 3)).astype(np.float32)
    x = rgb_to_vgg(rgb, (100.0, 110.0, 120.0))
    assert x[0, 0, 0] == pytest.approx(rgb[0, 0, 2] - 100.0)
    np.testing.assert_allclose(vgg_to_rgb(x, (100.0, 110.0, 120.0)), rgb, atol=1e-4)


@pytest.mark.parametrize("padding", ["valid", "same", "wrap"])
def test_feature_shapes_match_feature_size(tiny, padding):
    features = VGGFeatures(tiny, depth=7, padding=padding)
    out = features(tf.zeros((2, 61, 45, 3)), [0, 2, 7])
    for layer, f in zip([0, 2, 7], out):
        assert f.shape[1:3] == (feature_size(61, layer, "vgg16", padding), feature_size(45, layer, "vgg16", padding))
    assert out[0].shape[0] == 2 and out[2].shape[3] == 16


def test_wrapped_first_layer_is_a_circular_convolution(tiny):
    from scipy import ndimage

    x = np.random.default_rng(2).normal(size=(1, 11, 14, 3)).astype(np.float32)
    out = VGGFeatures(tiny, depth=0, padding="wrap")(tf.constant(x), [0])[0].numpy()[0]
    kernel, bias = tiny.kernels[0], tiny.biases[0]
    expected = np.stack([sum(ndimage.correlate(x[0, :, :, i], kernel[:, :, i, o], mode="wrap") for i in range(3))
                         for o in range(kernel.shape[-1])], axis=-1) + bias
    np.testing.assert_allclose(out, np.maximum(expected, 0), atol=1e-5)
    # Asked of a deeper extractor, the layer comes without the halo its block's next convolution needs.
    deeper = VGGFeatures(tiny, depth=7, padding="wrap")(tf.constant(x), [0, 7])[0].numpy()[0]
    np.testing.assert_allclose(deeper, out, atol=1e-5)


def test_wrapped_features_shift_with_the_image(tiny):
    # Through two pools (stride 4), a circular shift of 8 input pixels is one of 2 feature pixels.
    x = tf.constant(np.random.default_rng(4).normal(size=(1, 32, 40, 3)).astype(np.float32))
    features = VGGFeatures(tiny, depth=7, padding="wrap")
    shifted = features(tf.roll(x, (8, -16), axis=(1, 2)), [7])[0]
    np.testing.assert_allclose(shifted.numpy(), tf.roll(features(x, [7])[0], (2, -4), axis=(1, 2)).numpy(), atol=1e-4)


def test_bfloat16_features_round_only_after_the_first_convolution(tiny):
    x = tf.constant(np.random.default_rng(6).uniform(-120, 130, (1, 40, 36, 3)).astype(np.float32))
    exact = VGGFeatures(tiny, depth=7, padding="wrap")
    half = VGGFeatures(tiny, depth=7, padding="wrap", dtype="bfloat16")
    assert half.kernels[0].dtype == tf.float32 and {k.dtype for k in half.kernels[1:]} == {tf.bfloat16}
    (f0, f7), (h0, h7) = exact(x, [0, 7]), half(x, [0, 7])
    # The pixels meet float32 kernels; only the first layer's output is rounded.
    assert h0.dtype == tf.bfloat16
    np.testing.assert_array_equal(h0.numpy(), tf.cast(f0, tf.bfloat16).numpy())
    error = np.linalg.norm(tf.cast(h7, tf.float32).numpy() - f7.numpy()) / np.linalg.norm(f7.numpy())
    assert 0 < error < 0.02


def test_extractor_is_truncated_at_the_deepest_layer(tiny):
    features = VGGFeatures(tiny, depth=2)
    assert len(features.kernels) == 2
    with pytest.raises(ValueError):
        features(tf.zeros((1, 20, 20, 3)), [3])


@pytest.mark.parametrize("padding, recompute", [("VALID", False), ("SAME", False), ("VALID", True)])
def test_conv_relu_gradient_equals_tensorflows(padding, recompute):
    # The lean backward pass must give exactly what TensorFlow's ReluGrad + Conv2DBackpropInput give,
    # including for pixels whose pre-activation is negative (gradient zero).
    rng = np.random.default_rng(3)
    x = tf.constant(rng.normal(size=(2, 9, 7, 3)).astype(np.float32))
    kernel = tf.constant(rng.normal(size=(3, 3, 3, 5)).astype(np.float32))
    bias = tf.constant(rng.normal(size=5).astype(np.float32))
    upstream = tf.constant(rng.normal(size=(2, 7, 5, 5) if padding == "VALID" else (2, 9, 7, 5)).astype(np.float32))
    results = []
    for fn in (tf.function(lambda v: conv_relu(v, kernel, bias, padding, recompute=recompute)),
               lambda v: tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(v, kernel, 1, padding), bias))):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
            value = tf.reduce_sum(upstream * y)
        results.append((y.numpy(), tape.gradient(value, x).numpy()))
    assert (results[0][0] == 0).mean() > 0.2  # the mask matters
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(2, 8, 6, 3), (1, 9, 7, 4)])
def test_avg_pool_matches_tensorflows_value_and_gradient(shape):
    # Odd sizes drop the last row/column, whose gradient must then be zero.
    rng = np.random.default_rng(4)
    x = tf.constant(rng.normal(size=shape).astype(np.float32))
    upstream = tf.constant(rng.normal(size=(shape[0], shape[1] // 2, shape[2] // 2, shape[3])).astype(np.float32))
    results = []
    for fn in (avg_pool, lambda v: tf.nn.avg_pool2d(v, 2, 2, "VALID")):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
            value = tf.reduce_sum(upstream * y)
        results.append((y.numpy(), tape.gradient(value, x).numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-6)
    if shape[1] % 2:
        assert np.all(results[0][1][:, -1] == 0) and np.all(results[0][1][:, :, -1] == 0)


def test_band_rows_keep_each_im2col_buffer_within_the_limit():
    # 8 output rows of 6 pixels x 9 taps x 2 channels x 4 bytes = 432 bytes each, 3456 in all.
    assert band_rows((1, 10, 8, 2), (3, 3, 2, 4), None) is None
    assert band_rows((1, 10, 8, 2), (3, 3, 2, 4), 3456) is None
    assert band_rows((1, 10, 8, 2), (3, 3, 2, 4), 1000) == 2  # 4 bands of 2 rows, 864 bytes each
    assert band_rows((2, 10, 8, 2), (3, 3, 2, 4), 1000) == 1  # a batch of two doubles each row


@pytest.mark.parametrize("padding", ["VALID", "SAME"])
def test_a_banded_convolution_is_the_whole_one(padding):
    rng = np.random.default_rng(8)
    x = tf.constant(rng.normal(size=(2, 13, 9, 3)).astype(np.float32))
    kernel = tf.constant(rng.normal(size=(3, 3, 3, 5)).astype(np.float32))
    whole = tf.nn.conv2d(x, kernel, 1, padding).numpy()
    for max_bytes in (1, 3000, 10**9):  # a band per row, uneven bands, one band
        np.testing.assert_allclose(conv2d_banded(x, kernel, padding, max_bytes).numpy(), whole, atol=1e-5)


def maps_and_gradient(features: VGGFeatures, x: tf.Tensor) -> list[tf.Tensor]:
    """Layers 2 and 7 of ``x``, then the gradient of their summed squares with respect to ``x``."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        maps = features(x, [2, 7])
        loss = sum(tf.reduce_sum(tf.square(m)) for m in maps)
    return maps + [tape.gradient(loss, x)]


def test_banded_features_and_their_gradient_are_the_whole_ones(tiny):
    x = tf.constant(np.random.default_rng(9).normal(size=(1, 30, 26, 3)).astype(np.float32) * 50)
    for padding in ("wrap", "same"):
        whole = maps_and_gradient(VGGFeatures(tiny, depth=7, padding=padding, band_bytes=None, by_transpose=False), x)
        banded = maps_and_gradient(VGGFeatures(tiny, depth=7, padding=padding, band_bytes=2000, by_transpose=False), x)
        for a, b in zip(whole, banded):
            np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("padding", ["VALID", "SAME"])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_convolution_by_transpose_is_the_convolution(padding, k):
    rng = np.random.default_rng(k)
    x = tf.constant(rng.normal(size=(2, 11, 8, 4)).astype(np.float32))
    kernel = tf.constant(rng.normal(size=(k, k, 4, 6)).astype(np.float32))
    np.testing.assert_allclose(conv2d_by_transpose(x, kernel, padding).numpy(),
                               tf.nn.conv2d(x, kernel, 1, padding).numpy(), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("padding", ["VALID", "SAME"])
def test_convolution_by_transpose_takes_unknown_sizes(padding):
    # The dream command traces its step once for any window size.
    rng = np.random.default_rng(2)
    kernel = tf.constant(rng.normal(size=(3, 3, 4, 2)).astype(np.float32))
    convolve = tf.function(lambda x: conv2d_by_transpose(x, kernel, padding),
                           input_signature=[tf.TensorSpec([1, None, None, 4], tf.float32)])
    for size in [(9, 7), (6, 12)]:
        x = tf.constant(rng.normal(size=(1, *size, 4)).astype(np.float32))
        np.testing.assert_allclose(convolve(x).numpy(), tf.nn.conv2d(x, kernel, 1, padding).numpy(),
                                   rtol=1e-5, atol=1e-4)


def test_convolution_by_transpose_refuses_even_kernels():
    with pytest.raises(ValueError, match="odd square"):
        conv2d_by_transpose(tf.zeros((1, 5, 5, 1)), tf.zeros((2, 2, 1, 1)), "SAME")


@pytest.mark.parametrize("padding", ["wrap", "same", "valid"])
def test_features_by_transpose_and_their_gradient_are_the_usual_ones(tiny, padding):
    x = tf.constant(np.random.default_rng(4).normal(size=(1, 48, 44, 3)).astype(np.float32) * 50)
    usual = maps_and_gradient(VGGFeatures(tiny, depth=7, padding=padding, by_transpose=False), x)
    transposed = maps_and_gradient(VGGFeatures(tiny, depth=7, padding=padding, by_transpose=True), x)
    for a, b in zip(usual, transposed):
        assert b.shape == a.shape
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-4, atol=1e-3 * float(np.abs(a).max()))
