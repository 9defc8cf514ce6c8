"""Detail copied from the sources into the start of a finer coarse-to-fine stage."""

import numpy as np
import pytest
from scipy import ndimage

import texsynth.detail_copy as detail_copy
from texsynth.detail_copy import BLOCK, STEP, coarse_and_detail, copied_detail
from texsynth.errors import TexsynthError


def texture(size: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return ndimage.gaussian_filter(rng.normal(0, 40, (size, size, 3)), (1.0, 1.0, 0)).astype(np.float32)


def test_coarse_and_detail_add_up_and_split_by_scale():
    image = texture(32)[None]
    for padding in ("same", "wrap", "valid"):
        coarse, detail = coarse_and_detail(image, padding)
        np.testing.assert_allclose(coarse + detail, image, atol=1e-4)
        assert np.abs(detail).mean() > 0.2 * np.abs(image - image.mean()).mean()
    flat = np.full((1, 32, 32, 3), 7.0, np.float32)
    np.testing.assert_allclose(coarse_and_detail(flat, "same")[1], 0.0, atol=1e-4)


def test_a_start_that_is_the_sources_coarse_part_gets_the_sources_detail_back():
    source = texture(48)
    coarse, detail = coarse_and_detail(source[None], "same")
    copied = copied_detail(coarse, [source], "same", np.random.default_rng(0))
    assert copied.shape == coarse.shape and copied.dtype == np.float32
    # Inside, every block's best match is the block itself; at the border the blocks that stick out
    # of the source have no exact twin.
    inner = (slice(None), slice(BLOCK, -BLOCK), slice(BLOCK, -BLOCK))
    np.testing.assert_allclose(copied[inner], detail[inner], atol=1e-3)
    assert np.abs(copied - detail).mean() < 0.3 * np.abs(detail).mean()


def test_wrapped_detail_moves_with_its_start_and_each_frame_gets_its_own():
    # Textures whose best and second-best matches differ by 4.4 in squared distance (float32 rounds
    # these at about 0.001): no near tie that another CPU's matrix product could break the other way.
    source = texture(40, seed=10)
    start = coarse_and_detail(texture(32, seed=11)[None], "wrap")[0]
    shift = (2 * STEP, 3 * STEP)
    frames = np.concatenate([start, np.roll(start, shift, axis=(1, 2))])
    copied = copied_detail(frames, [source], "wrap", np.random.default_rng(0))
    assert np.abs(copied[0]).mean() > 1.0
    # A wrapped canvas has no border: shifted by whole block steps, it gets the same detail, shifted.
    np.testing.assert_allclose(copied[1], np.roll(copied[0], shift, axis=(0, 1)), atol=1e-3)


def test_candidates_are_drawn_by_the_generator(monkeypatch):
    monkeypatch.setattr(detail_copy, "CANDIDATES", 50)
    sources = [texture(40, seed=3), texture(24, seed=4)]
    start = coarse_and_detail(texture(24, seed=5)[None], "same")[0]
    runs = [copied_detail(start, sources, "same", np.random.default_rng(seed)) for seed in (1, 1, 2)]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert np.abs(runs[0] - runs[2]).max() > 0.1


def test_sources_smaller_than_a_block_are_refused():
    start = np.zeros((1, 16, 16, 3), np.float32)
    with pytest.raises(TexsynthError, match="too small"):
        copied_detail(start, [np.zeros((BLOCK - 1, 20, 3), np.float32)], "same", np.random.default_rng(0))
