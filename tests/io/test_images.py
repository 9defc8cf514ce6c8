"""Reading every kind of image a user has; atomic writes of images, files and GIFs."""

import numpy as np
import pytest
from PIL import Image

from texsynth.errors import TexsynthError
from texsynth.io.images import check_output_file, list_image_files, load_image, resize_image, save_image


def _gradient(width=24, height=16):
    yy, xx = np.mgrid[:height, :width]
    return np.stack([xx * 10, yy * 15, 255 - xx * 10], axis=-1).astype(np.uint8)


def test_rgb_round_trip(tmp_path):
    pixels = _gradient()
    save_image(pixels, tmp_path / "a.png")
    np.testing.assert_array_equal(load_image(tmp_path / "a.png"), pixels.astype(np.float32))


def test_quick_png_is_lossless_and_lightly_compressed(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 40, (64, 64, 3), dtype=np.uint8)
    quick, default = save_image(pixels, tmp_path / "q.png", quick=True), save_image(pixels, tmp_path / "d.png")
    np.testing.assert_array_equal(load_image(quick), pixels.astype(np.float32))
    assert quick.stat().st_size > default.stat().st_size  # zlib's fastest level, not the default


def test_quick_is_ignored_by_formats_without_compression_levels(tmp_path):
    assert load_image(save_image(_gradient(), tmp_path / "a.jpg", quick=True)).shape == (16, 24, 3)


def test_grayscale_becomes_three_equal_channels(tmp_path):
    Image.fromarray(_gradient()[..., 0]).save(tmp_path / "g.png")
    image = load_image(tmp_path / "g.png")
    assert image.shape == (16, 24, 3)
    np.testing.assert_array_equal(image[..., 0], image[..., 2])


def test_sixteen_bit_uses_the_full_range(tmp_path):
    values = np.linspace(0, 65535, 16 * 24).reshape(16, 24).astype(np.uint16)
    Image.fromarray(values).save(tmp_path / "deep.png")
    image = load_image(tmp_path / "deep.png")
    assert image.min() == pytest.approx(0) and image.max() == pytest.approx(255)


def test_rgba_composites_transparent_pixels_over_the_opaque_mean(tmp_path):
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[:5] = (200, 0, 0, 255)
    rgba[5:] = (0, 0, 255, 0)  # transparent blue must not show
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    image = load_image(tmp_path / "a.png")
    np.testing.assert_allclose(image[7, 7], [200, 0, 0])


def test_palette_image(tmp_path):
    Image.fromarray(_gradient()).convert("P", palette=Image.ADAPTIVE, colors=8).save(tmp_path / "p.png")
    image = load_image(tmp_path / "p.png")
    assert image.shape == (16, 24, 3) and len(np.unique(image.reshape(-1, 3), axis=0)) <= 8


def test_exif_rotation_is_applied(tmp_path):
    image = Image.fromarray(_gradient(24, 16))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    image.save(tmp_path / "r.jpg", exif=exif)
    assert load_image(tmp_path / "r.jpg").shape == (24, 16, 3)


@pytest.mark.parametrize("content, match", [(b"not an image at all", "not an image"),
                                             (None, "no such image")])
def test_unreadable_images(tmp_path, content, match):
    path = tmp_path / "x.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(TexsynthError, match=match):
        load_image(path)


def test_truncated_image(tmp_path):
    save_image(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8), tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(TexsynthError, match="cannot read image"):
        load_image(tmp_path / "cut.png")


def test_list_image_files(tmp_path):
    (tmp_path / "b.png").write_bytes(b"")
    (tmp_path / "a.JPG").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in list_image_files([tmp_path])] == ["a.JPG", "b.png"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TexsynthError, match="no images"):
        list_image_files([empty])
    with pytest.raises(TexsynthError, match="no such file"):
        list_image_files([tmp_path / "missing"])


def test_resize_keeps_range_and_size():
    out = resize_image(_gradient().astype(np.float32), 50, 30)
    assert out.shape == (30, 50, 3) and out.min() >= 0 and out.max() <= 255


def test_check_output_file(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(TexsynthError, match="cannot write"):
        check_output_file(tmp_path / "file" / "sub" / "out.png")
    with pytest.raises(TexsynthError, match="is a directory"):
        check_output_file(tmp_path)
    with pytest.raises(TexsynthError, match="unknown image extension"):
        check_output_file(tmp_path / "out.xyz")
    deep = tmp_path / "new" / "deeper" / "out.png"
    assert check_output_file(deep) == deep and not (tmp_path / "new").exists()  # checking makes nothing
    save_image(np.zeros((4, 4, 3), np.uint8), deep)  # the write makes the folders
    assert deep.is_file()


def test_outputs_get_the_usual_permissions(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        save_image(np.zeros((4, 4, 3), np.uint8), tmp_path / "out.png")
    finally:
        os.umask(umask)
    assert (tmp_path / "out.png").stat().st_mode & 0o777 == 0o644
