"""Looping GIFs: every frame kept, in order, with its duration; greyscale exact; atomic writes."""

import io

import numpy as np
import pytest
from PIL import Image, ImageSequence

from texsynth.io.gif import encode_gif, save_gif


def _frames(data: bytes) -> list[np.ndarray]:
    with Image.open(io.BytesIO(data)) as gif:
        assert gif.info.get("loop") == 0
        return [np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(gif)]


def test_every_frame_is_kept_in_order_and_loops(tmp_path):
    frames = [np.full((8, 8, 3), v, np.uint8) for v in (0, 128, 255)]
    path = save_gif(frames, tmp_path / "a.gif", 50)
    with Image.open(path) as gif:
        assert gif.n_frames == 3 and gif.info["duration"] == 50
    assert [int(f.mean()) for f in _frames(path.read_bytes())] == [0, 128, 255]


def test_greyscale_frames_stay_exact():
    ramp = np.tile(np.arange(256, dtype=np.uint8)[None], (4, 1))
    decoded = _frames(encode_gif([ramp, ramp[:, ::-1]]))
    np.testing.assert_array_equal(decoded[0][..., 0], ramp)
    np.testing.assert_array_equal(decoded[1][..., 1], ramp[:, ::-1])


@pytest.mark.parametrize("fast_palette", [False, True])
def test_float_frames_are_taken_as_0_to_255(fast_palette):
    rng = np.random.default_rng(0)
    frame = rng.uniform(0, 255, (16, 16, 3)).astype(np.float32)
    frame[:8] = [250.0, 10.0, 10.0]  # a flat red half must come back red whatever the palette
    decoded = _frames(encode_gif([frame, frame[::-1]], fast_palette=fast_palette))
    assert len(decoded) == 2
    assert np.abs(decoded[0][:8].astype(int) - [250, 10, 10]).max() <= 8


def test_a_failed_write_leaves_no_file(tmp_path):
    with pytest.raises(Exception):
        save_gif([], tmp_path / "empty.gif")
    assert list(tmp_path.iterdir()) == []
