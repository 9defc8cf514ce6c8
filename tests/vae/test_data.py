"""Tests of texsynth.vae.data: the bundled digits, folders and their bad inputs, patches, and the
seeded shuffle and split."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from texsynth.errors import TexsynthError
from texsynth.vae.config import VAEConfig
from texsynth.vae.data import (image_kind, load_dataset, load_digits, load_folder, load_patches, prepare_images,
                               split_validation, to_model_pixels)


def write_png(path, mode: str, size=(10, 10), value=128) -> None:
    colour = value if mode in ("L", "1") else (value, value // 2, 255 - value)
    Image.new(mode, size, colour).save(path)


def test_bundled_digits():
    images = load_digits(16)
    assert images.shape == (1797, 16, 16, 1) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0 and images.max() > 0.9
    colour = load_digits(8, channels=3)
    assert colour.shape == (1797, 8, 8, 3)
    assert np.array_equal(colour[..., 0], colour[..., 2])


def test_folder_loads_and_converts(tmp_path):
    write_png(tmp_path / "a.png", "RGB", size=(20, 10))
    write_png(tmp_path / "b.png", "RGB", value=40)
    (tmp_path / "notes.txt").write_text("ignored")
    images = load_folder(tmp_path, 8, 3)
    assert images.shape == (2, 8, 8, 3)
    assert images[0, 0, 0] == pytest.approx(np.array([128, 64, 127]) / 255, abs=1e-3)
    grey = load_folder(tmp_path, 8, 1)
    assert grey[0, 0, 0, 0] == pytest.approx((0.299 * 128 + 0.587 * 64 + 0.114 * 127) / 255, abs=1e-3)


def test_folder_bad_inputs(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TexsynthError, match="no images"):
        load_folder(empty, 8, 1)
    with pytest.raises(TexsynthError, match="not a folder"):
        load_folder(tmp_path / "missing", 8, 1)
    single = tmp_path / "single"
    single.mkdir()
    write_png(single / "only.png", "L")
    with pytest.raises(TexsynthError, match="patches:"):
        load_folder(single, 8, 1)
    broken = tmp_path / "broken"
    broken.mkdir()
    write_png(broken / "good.png", "L")
    (broken / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(TexsynthError, match="bad.png"):
        load_folder(broken, 8, 1)


def test_folder_mixing_grey_and_colour(tmp_path):
    write_png(tmp_path / "grey1.png", "L")
    write_png(tmp_path / "grey2.png", "L")
    write_png(tmp_path / "colour.png", "RGB")
    expected = r"mixes greyscale images \(grey1.png, grey2.png\) with colour images \(colour.png\)"
    with pytest.raises(TexsynthError, match=expected):
        load_folder(tmp_path, 8, 3)
    # For a greyscale model every image becomes luminance anyway, so the mix is fine.
    assert load_folder(tmp_path, 8, 1).shape == (3, 8, 8, 1)


def test_image_kind_by_storage(tmp_path):
    write_png(tmp_path / "grey.png", "L")
    write_png(tmp_path / "colour.png", "RGB")
    Image.new("P", (4, 4)).save(tmp_path / "palette.png")  # an all-black palette image is grey
    (tmp_path / "junk.png").write_bytes(b"junk")
    assert [image_kind(tmp_path / name) for name in ("grey.png", "colour.png", "palette.png", "junk.png")] == \
        ["grey", "colour", "grey", "unreadable"]


def test_to_model_pixels_centre_crops():
    image = np.zeros((10, 20, 3), np.float32)
    image[:, 5:15] = 255.0  # the centre square is white, the sides black
    pixels = to_model_pixels(image, 4, 1)
    assert pixels.shape == (4, 4, 1)
    assert pixels == pytest.approx(np.ones((4, 4, 1)), abs=1e-3)


def test_patches_are_crops_of_the_image(tmp_path):
    # Every pixel value is unique, so a patch's first pixel says where it was cut.
    source = np.arange(40 * 30, dtype=np.uint16).reshape(30, 40)
    rgb = np.stack([source % 256, source // 256, np.zeros_like(source)], axis=-1).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "texture.png")
    patches = load_patches(tmp_path / "texture.png", 8, 3, 25, np.random.default_rng(0))
    assert patches.shape == (25, 8, 8, 3)
    for patch in patches:
        code = np.rint(patch[0, 0, 0] * 255) + 256 * np.rint(patch[0, 0, 1] * 255)
        top, left = divmod(int(code), 40)
        assert np.allclose(patch * 255, rgb[top:top + 8, left:left + 8], atol=1e-3)
    again = load_patches(tmp_path / "texture.png", 8, 3, 25, np.random.default_rng(0))
    assert np.array_equal(patches, again)
    with pytest.raises(TexsynthError, match="smaller than one 32x32 patch"):
        load_patches(tmp_path / "texture.png", 32, 3, 5, np.random.default_rng(0))


def test_load_dataset_subset_and_split():
    config = VAEConfig(data="digits", size=8, max_samples=50, seed=4)
    images = load_dataset(config)
    assert images.shape == (50, 8, 8, 1)
    assert np.array_equal(images, load_dataset(config))
    train, validation = split_validation(images, 0.1)
    assert len(train) == 45 and len(validation) == 5
    with pytest.raises(TexsynthError, match="after the colon"):
        load_dataset(VAEConfig(data="patches:"))


def test_split_keeps_one_image_on_each_side():
    images = np.arange(3)
    assert [len(part) for part in split_validation(images, 0.01)] == [2, 1]
    assert [len(part) for part in split_validation(images, 0.99)] == [1, 2]
    with pytest.raises(TexsynthError, match="at least 2 images"):
        split_validation(images[:1], 0.5)


def test_prepare_images_digits_or_files(tmp_path):
    assert prepare_images(["digits"], 8, 1, 5).shape == (5, 8, 8, 1)
    write_png(tmp_path / "a.png", "RGB", size=(20, 10))
    assert prepare_images([str(tmp_path)], 6, 3, 5).shape == (1, 6, 6, 3)
