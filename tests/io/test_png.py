"""Tests of texsynth.io.png: the streaming PNG writer."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from texsynth.errors import TexsynthError
from texsynth.io.png import write_png_rows


def read(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


def test_streamed_png_round_trips_through_pillow(tmp_path):
    rng = np.random.default_rng(0)
    smooth = np.cumsum(rng.integers(0, 3, (9, 13, 3)), axis=1).astype(np.uint8)
    noisy = rng.integers(0, 256, (9, 13), dtype=np.uint8)
    write_png_rows(tmp_path / "s.png", 13, 9, 3, [smooth[:4], smooth[4:5], smooth[5:]])
    write_png_rows(tmp_path / "n.png", 13, 9, 1, [noisy])
    assert np.array_equal(read(tmp_path / "s.png"), smooth)
    assert np.array_equal(read(tmp_path / "n.png"), noisy)


def test_too_few_rows_leave_no_file(tmp_path):
    with pytest.raises(TexsynthError, match="expected 9"):
        write_png_rows(tmp_path / "short.png", 13, 9, 1, [np.zeros((4, 13), np.uint8)])
    assert list(tmp_path.iterdir()) == []
