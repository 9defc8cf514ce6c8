"""End-to-end tests of `texsynth cppn` and `texsynth cppn morph` through the real dispatcher."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from texsynth.commands.main import main as texsynth_main
from texsynth.cppn import CPPNConfig, build_cppn, render, save_cppn, unit_to_uint8


def run(*args: str) -> int:
    return texsynth_main(["cppn", *map(str, args)])


def read(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


def expected(width: int, height: int, **settings) -> np.ndarray:
    image = unit_to_uint8(render(build_cppn(CPPNConfig(**settings)), width, height))
    return image[..., 0] if image.shape[-1] == 1 else image


def test_parsing_flags_does_not_import_tensorflow():
    code = ("import sys\n"
            "from texsynth.commands.cppn import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip().endswith("False")


# ----------------------------------------------------------------------------------------------
# texsynth cppn

@pytest.mark.parametrize("channels, mode", [(1, "L"), (3, "RGB")])
def test_render_writes_the_model_s_pixels(tmp_path, channels, mode, capsys):
    out = tmp_path / "pattern.png"
    assert run("--width", 40, "--height", 24, "--channels", channels, "--arch", "tanh-softplus",
               "--random-seed", 5, "--z-seed", 6, "--output", out) == 0
    with Image.open(out) as image:
        assert image.mode == mode and image.size == (40, 24)
    assert np.array_equal(read(out), expected(40, 24, channels=channels, arch="tanh-softplus",
                                              random_seed=5, z_seed=6))
    assert "random seed 5, z-seed 6" in capsys.readouterr().err


def test_chunk_rows_do_not_change_the_file(tmp_path):
    run("--width", 30, "--height", 21, "--random-seed", 2, "-o", tmp_path / "a.png", "-q")
    run("--width", 30, "--height", 21, "--random-seed", 2, "--chunk-rows", 4, "-o", tmp_path / "b.png", "-q")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_other_formats_hold_the_same_pixels(tmp_path):
    run("--width", 20, "--height", 10, "--random-seed", 2, "-o", tmp_path / "a.bmp", "-q")
    assert np.array_equal(read(tmp_path / "a.bmp"), expected(20, 10, random_seed=2))


def test_unseeded_render_prints_the_seeds_that_re_render_it(tmp_path, capsys):
    run("--width", 16, "--height", 16, "-o", tmp_path / "a.png")
    seeds = re.search(r"--random-seed (\d+) --z-seed (\d+)", capsys.readouterr().err)
    assert seeds
    run("--width", 16, "--height", 16, "--random-seed", seeds[1], "--z-seed", seeds[2], "-o", tmp_path / "b.png")
    assert np.array_equal(read(tmp_path / "a.png"), read(tmp_path / "b.png"))


def test_save_then_load_at_another_size(tmp_path):
    net_file = tmp_path / "net.npz"
    assert run("--width", 16, "--height", 16, "--arch", "abs", "--channels", 1, "--random-seed", 9,
               "--save", net_file, "-o", tmp_path / "small.png", "-q") == 0
    assert run("--load", net_file, "--width", 48, "--height", 32, "-o", tmp_path / "big.png", "-q") == 0
    assert np.array_equal(read(tmp_path / "big.png"), expected(48, 32, arch="abs", channels=1, random_seed=9))
    # --scale and --z-seed may change a loaded network; its weights stay.
    assert run("--load", net_file, "--width", 20, "--height", 20, "--scale", 4, "--z-seed", 1,
               "-o", tmp_path / "zoom.png", "-q") == 0
    assert np.array_equal(read(tmp_path / "zoom.png"),
                          expected(20, 20, arch="abs", channels=1, random_seed=9, scale=4.0, z_seed=1))


def test_quiet_prints_nothing(tmp_path, capsys):
    run("--width", 8, "--height", 8, "--save", tmp_path / "n.npz", "-o", tmp_path / "a.png", "-q")
    assert capsys.readouterr() == ("", "")


# ----------------------------------------------------------------------------------------------
# Bad input: usage errors exit 2, other errors print one line and exit 1; no output is left

@pytest.mark.parametrize("flags", [
    ["--width", "0"], ["--height", "-4"], ["--width", "ten"], ["--chunk-rows", "0"], ["--arch", "sparkle"],
    ["--channels", "2"], ["--scale", "0"], ["--scale", "nan"], ["--random-seed", "-1"], ["--layers", "-1"],
])
def test_bad_flags_are_usage_errors(tmp_path, flags, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run(*flags, "-o", tmp_path / "a.png")
    assert exit_info.value.code == 2
    assert "texsynth cppn: error:" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_load_with_structure_flags_is_a_usage_error(tmp_path, capsys):
    save_cppn(build_cppn(CPPNConfig(random_seed=1)), tmp_path / "n.npz")
    with pytest.raises(SystemExit) as exit_info:
        run("--load", tmp_path / "n.npz", "--arch", "abs", "--layers", "5", "-o", tmp_path / "a.png")
    assert exit_info.value.code == 2
    assert "--layers, --arch cannot be combined with --load" in capsys.readouterr().err


@pytest.mark.parametrize("case", ["corrupt load", "impossible chunk", "output is a folder", "unknown extension",
                                  "save is the output", "too wide for jpeg"])
def test_errors_are_one_line_and_leave_no_output(tmp_path, case, capsys):
    out = tmp_path / "a.png"
    if case == "corrupt load":
        (tmp_path / "n.npz").write_bytes(b"PK\x03\x04 definitely not a zip")
        args = ["--load", tmp_path / "n.npz", "-o", out]
    elif case == "impossible chunk":
        args = ["--width", 100000, "--height", 100000, "--chunk-rows", 5000, "-o", out]
    elif case == "output is a folder":
        (tmp_path / "folder").mkdir()
        args = ["-o", tmp_path / "folder"]
    elif case == "unknown extension":
        args = ["-o", tmp_path / "a.xyz"]
    elif case == "too wide for jpeg":
        args = ["--width", 70000, "--height", 2, "-o", tmp_path / "a.jpg"]
    else:
        args = ["--save", out, "-o", out]
    before = sorted(p.name for p in tmp_path.iterdir())
    assert run(*args) == 1
    err = capsys.readouterr().err
    assert err.startswith("texsynth cppn: error: ") and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_real_process_exit_codes_and_no_traceback(tmp_path):
    command = [sys.executable, "-m", "texsynth", "cppn"]
    bad = subprocess.run(command + ["--width", "0"], capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "--width" in bad.stderr
    missing = subprocess.run(command + ["--load", str(tmp_path / "none.npz"), "-o", str(tmp_path / "a.png")],
                             capture_output=True, text=True)
    assert missing.returncode == 1 and missing.stderr.strip().count("\n") == 0
    assert "no such CPPN file" in missing.stderr


# ----------------------------------------------------------------------------------------------
# texsynth cppn morph

def gif_frames(path) -> list[np.ndarray]:
    frames = []
    with Image.open(path) as gif:
        assert gif.info.get("loop") == 0
        for index in range(gif.n_frames):
            gif.seek(index)
            frames.append(np.asarray(gif.convert("RGB")))
            assert gif.info["duration"] == 60
    return frames


def test_morph_writes_a_looping_gif_and_exact_keyframe_frames(tmp_path):
    out, frames_dir = tmp_path / "loop.gif", tmp_path / "frames"
    assert run("morph", "--width", 24, "--height", 16, "--frames", 6, "--duration", 60, "--random-seed", 4,
               "--z-seeds", 10, "--frames-dir", frames_dir, "-o", out, "-q") == 0
    frames = gif_frames(out)
    assert len(frames) == 6 and frames[0].shape == (16, 24, 3)
    pngs = sorted(frames_dir.iterdir())
    assert [p.name for p in pngs] == [f"frame_{i:04d}.png" for i in range(6)]
    # The loop is z1 -> z2 -> back: frame 0 is the z1 picture, frame 3 the z2 picture.
    assert np.array_equal(read(pngs[0]), expected(24, 16, random_seed=4))
    assert np.array_equal(read(pngs[3]), expected(24, 16, random_seed=4, z_seed=10))
    assert not np.array_equal(read(pngs[1]), read(pngs[0]))
    # The GIF frames are palette versions of the PNG frames.
    assert np.abs(frames[3].astype(int) - read(pngs[3])).mean() < 8


def test_morph_from_a_saved_network_greyscale(tmp_path):
    save_cppn(build_cppn(CPPNConfig(channels=1, random_seed=2)), tmp_path / "n.npz")
    assert run("morph", "--load", tmp_path / "n.npz", "--width", 12, "--height", 12, "--frames", 4,
               "--duration", 60, "-o", tmp_path / "m.gif", "-q") == 0
    frames = gif_frames(tmp_path / "m.gif")
    # Greyscale GIFs keep the exact 8-bit values.
    assert np.array_equal(frames[0][..., 0], expected(12, 12, channels=1, random_seed=2))
    assert np.array_equal(frames[2][..., 0], expected(12, 12, channels=1, random_seed=2, z_seed=3))


def test_morph_shrinks_frames_to_fit_the_size_limit(tmp_path, capsys):
    out = tmp_path / "m.gif"
    args = ["morph", "--width", 64, "--height", 48, "--frames", 6, "--random-seed", 1, "-o", out]
    assert run(*args, "--max-mb", 0) == 0
    full_size = out.stat().st_size
    limit = full_size * 0.4
    assert run(*args, "--max-mb", limit / 1e6) == 0
    assert out.stat().st_size <= limit
    with Image.open(out) as gif:
        width, height = gif.size
    assert width < 64 and height < 48 and abs(width / height - 64 / 48) < 0.1
    assert "shrinking frames" in capsys.readouterr().err


def test_morph_that_cannot_fit_fails_cleanly(tmp_path, capsys):
    assert run("morph", "--width", 32, "--height", 32, "--frames", 4, "--max-mb", 0.0001,
               "-o", tmp_path / "m.gif", "-q") == 1
    assert "do not fit" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("flags", [
    ["-o", "loop.png"], ["--frames", "1"], ["--duration", "5"], ["--max-mb", "-1"], ["--width", "0"],
    ["--z-seeds"],
])
def test_morph_bad_flags(tmp_path, flags):
    with pytest.raises(SystemExit) as exit_info:
        run("morph", "-o", tmp_path / "m.gif", *flags)
    assert exit_info.value.code == 2
    assert list(tmp_path.iterdir()) == []


def test_morph_too_many_frames_for_memory(tmp_path, capsys):
    assert run("morph", "--width", 4000, "--height", 4000, "--frames", 100, "-o", tmp_path / "m.gif") == 1
    assert "GiB" in capsys.readouterr().err
