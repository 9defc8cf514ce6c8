"""Feature-map sizes, octaves that fit, strides, receptive fields and tiles."""

import numpy as np
import pytest

from texsynth.errors import TexsynthError
from texsynth.nn.geometry import check_fits, feature_size, layer_stride, max_octaves, receptive_margin, tile_windows
from texsynth.nn.layers import layer_names


def test_receptive_margin_is_on_the_stride_grid():
    names = layer_names("vgg16")
    assert receptive_margin(names.index("conv1_1"), "vgg16") == 1
    for name in ("pool1", "conv3_1", "conv4_2", "conv5_3"):
        index = names.index(name)
        margin = receptive_margin(index, "vgg16")
        assert margin % layer_stride(index, "vgg16") == 0 and margin > receptive_margin(index - 1, "vgg16") - 16


def test_tile_cores_partition_the_image_on_the_stride_grid():
    rng = np.random.default_rng(3)
    offsets = set()
    for _ in range(5):
        windows = tile_windows(200, 150, 64, 20, 8, rng)
        cover = np.zeros((200, 150), int)
        for (r0, c0), (r1, c1), (w0, v0), (w1, v1) in windows:
            cover[r0:r1, c0:c1] += 1
            assert r1 - r0 <= 64 and c1 - c0 <= 64
            assert all(v % 8 == 0 for v in (r0, c0, w0, v0))
            # The window holds the core plus the overlap (rounded up to the grid), cut at the image edge.
            assert (w0, v0) == (max(r0 - 24, 0), max(c0 - 24, 0)) and (w1, v1) == (min(r1 + 24, 200), min(c1 + 24, 150))
        assert np.all(cover == 1)
        offsets.add(tuple(sorted({r0 for (r0, _), *_ in windows})))
    assert len(offsets) > 1  # the grid moves from step to step
    assert tile_windows(64, 60, 64, 20, 8, rng) == [((0, 0), (64, 60), (0, 0), (64, 60))]


def test_max_octaves_agrees_with_the_feature_sizes():
    # 512 with valid padding: levels 512, 254, 125, 61; conv3_2 of 61 is 8 pixels, of 29 it would be 0.
    assert max_octaves(512, 512, 7, "vgg16", "valid") == 4
    assert feature_size(29, 7, "vgg16", "valid") < 1 <= feature_size(61, 7, "vgg16", "valid")
    assert max_octaves(256, 256, 7, "vgg16", "valid") == 3
    assert max_octaves(256, 256, 7, "vgg16", "same") > 4
    # Wrapped: levels 64, 32, 16, 8; conv3_x of 8 is 2 pixels wide, which still wraps by 2.
    assert max_octaves(64, 64, 7, "vgg16", "wrap") == 4 and max_octaves(32, 32, 7, "vgg16", "wrap") == 3


def test_check_fits_suggests_fewer_octaves_only_where_they_would_help():
    check_fits("output", 96, 96, 4, 7, "vgg16", "wrap")  # fits: no error
    with pytest.raises(TexsynthError, match=r"output \(96x96\) .* 9 octaves .*at most 4 octaves fit; use fewer "
                                            r"octaves \(-o\), a larger size or shallower layers$"):
        check_fits("output", 96, 96, 9, 7, "vgg16", "wrap")
    with pytest.raises(TexsynthError, match=r"not even one octave fits; use a larger size or shallower layers$") as error:
        check_fits("source", 8, 8, 2, 7, "vgg16", "valid")
    assert "fewer octaves" not in str(error.value)
