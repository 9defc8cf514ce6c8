"""Banded feature maps: the same maps as the whole image's, band by band."""

import numpy as np
import pytest
import tensorflow as tf

from texsynth.nn.bands import band_starts, feature_bands
from texsynth.nn.vgg import VGGFeatures


def test_bands_cover_the_image_and_the_last_reaches_its_end():
    assert band_starts(100, 32, 10) == [(0, 42), (32, 74), (64, 100)]
    # A band whose context reaches the last row is the last band: the rows after it are its own.
    assert band_starts(100, 32, 40) == [(0, 72), (32, 100)]
    assert band_starts(20, 32, 10) == [(0, 20)]


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("height", [75, 96, 130])
def test_banded_maps_are_the_whole_images(tiny, padding, height):
    features = VGGFeatures(tiny, depth=9, padding=padding)
    x = tf.constant(np.random.default_rng(height).normal(0, 50, (1, height, 48, 3)).astype(np.float32))
    layers = [0, 2, 7, 9]
    whole = features(x, layers, padding)
    row_bytes = 48 * tiny.kernels[0].shape[-1] * 4
    banded = feature_bands(features, x, layers, padding, max_bytes=16 * row_bytes)  # bands of 16 rows
    for a, bands in zip(whole, banded):
        assert len(bands) > 1 or (padding, height) == ("valid", 75)  # its one band holds the context
        b = tf.concat(bands, axis=1)
        assert a.shape == b.shape
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-5, atol=1e-4)


def test_small_images_are_computed_whole(tiny):
    features = VGGFeatures(tiny, depth=7, padding="valid")
    x = tf.constant(np.random.default_rng(0).normal(0, 50, (1, 40, 40, 3)).astype(np.float32))
    whole, banded = features(x, [2, 7], "valid"), feature_bands(features, x, [2, 7], "valid")
    for a, bands in zip(whole, banded):
        assert len(bands) == 1
        np.testing.assert_array_equal(bands[0].numpy(), a.numpy())


def test_wrap_padding_is_refused(tiny):
    with pytest.raises(ValueError, match="valid or same"):
        feature_bands(VGGFeatures(tiny, depth=2), tf.zeros((1, 8, 8, 3)), [2], "wrap")
