"""Tests of `texsynth vae` (texsynth.commands.vae): the four sub-commands end to end through the
dispatcher, bad flags (exit 2, without TensorFlow) and bad inputs (one line, exit 1, nothing written)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import run_cli as run

# Keras converts its own tensors with np.array(x), which numpy 2 flags; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def assert_one_line_error(status: int, err: str, fragment: str) -> None:
    assert status == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("texsynth vae: error:") and fragment in lines[0], err
    assert "Traceback" not in err


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, int, str, str]:
    output = tmp_path_factory.mktemp("run") / "vae"
    result = run(["vae", "train", "--data", "digits", "--size", "8", "--epochs", "2", "--max-samples", "64",
                  "--output", str(output)])
    return (output, *result)


def test_train_writes_model_plot_and_history(trained):
    output, status, out, err = trained
    assert status == 0, err
    assert files_in(output) == ["history.json", "loss.png", "vae.keras"]
    assert out.split() == [str(output / name) for name in ("vae.keras", "loss.png", "history.json")]
    epoch_lines = [line for line in err.splitlines() if line.startswith("epoch ")]
    assert len(epoch_lines) == 2 and all("val_loss" in line for line in epoch_lines)
    history = json.loads((output / "history.json").read_text())
    assert history["config"]["size"] == 8 and history["train_images"] + history["validation_images"] == 64
    assert [set(row) >= {"loss", "val_loss", "kl_loss", "reconstruction_loss"} for row in history["epochs"]] == [True] * 2
    assert Image.open(output / "loss.png").size == (640, 400)


def test_grid_default_and_chosen_pair(trained, tmp_path):
    output = trained[0]
    status, out, err = run(["vae", "grid", str(output / "vae.keras"), "--quiet"])
    assert status == 0, err
    assert out.strip() == str(output / "grid.png")
    with Image.open(output / "grid.png") as image:
        assert image.size == (15 * 8, 15 * 8) and image.mode == "L"
    target = tmp_path / "pair.png"
    assert run(["vae", "grid", str(output), "-n", "4", "--dims", "1", "0", "-o", str(target)])[0] == 0
    assert Image.open(target).size == (32, 32)


def test_sample_and_reconstruct(trained, tmp_path):
    model = str(trained[0] / "vae.keras")
    target = tmp_path / "samples.png"
    assert run(["vae", "sample", model, "-n", "6", "-o", str(target)])[0] == 0
    assert Image.open(target).size == (3 * 8, 2 * 8)
    folder = tmp_path / "images"
    folder.mkdir()
    for index in range(3):
        Image.new("RGB", (12, 12), (40 * index, 200, 10)).save(folder / f"{index}.png")
    target = tmp_path / "pairs.png"
    assert run(["vae", "reconstruct", model, str(folder), "-o", str(target)])[0] == 0
    assert Image.open(target).size == (3 * 16 + 2 * 2, 8)
    assert run(["vae", "reconstruct", model, "digits", "-n", "10", "-o", str(target)])[0] == 0
    assert Image.open(target).size == (8 * 16 + 7 * 2, 2 * 8 + 2)


def test_same_seed_same_losses(tmp_path):
    def losses(name: str) -> list[float]:
        args = ["vae", "train", "--size", "8", "--epochs", "1", "--max-samples", "40", "--random-seed", "3",
                "--quiet", "--output", str(tmp_path / name)]
        assert run(args)[0] == 0
        return [row["val_loss"] for row in json.loads((tmp_path / name / "history.json").read_text())["epochs"]]

    assert losses("a") == losses("b")


def test_parsing_flags_does_not_import_tensorflow():
    code = ("import sys\n"
            "from texsynth.commands.vae import main\n"
            "for argv in (['train', '--help'], ['train', '--size', '7'], ['train', '--data', 'patches:']):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "print('tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip().endswith("False"), result.stderr


def test_flag_limits_are_the_configs(tmp_path):
    # The flag parsers apply VAEConfig's rules, so the library's limit is the command's limit.
    status, _, err = run(["vae", "train", "--max-samples", "1", "--output", str(tmp_path / "out")])
    assert status == 2 and "argument --max-samples: must be at least 2" in err
    status, _, err = run(["vae", "train", "--validation-split", "0"])
    assert status == 2 and "must be between 0 and 1 (exclusive), got 0" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args", [
    ["train", "--channels", "2"],
    ["train", "--size", "7"],
    ["train", "--size", "2"],
    ["train", "--epochs", "0"],
    ["train", "--batch-size", "-1"],
    ["train", "--latent-dim", "0"],
    ["train", "--validation-split", "1"],
    ["train", "--kl-weight", "-1"],
    ["train", "--data", "patches:"],
    ["train", "--max-samples", "1"],
    ["grid", "m.keras", "-n", "0"],
    ["grid", "m.keras", "--dims", "0"],
    ["grid", "m.keras", "--dims", "-1", "0"],
    ["grid", "m.keras", "--dims", "1", "1"],
    ["sample", "m.keras", "-n", "zero"],
    ["reconstruct", "m.keras"],
    ["draw"],
    [],
])
def test_bad_flags_exit_2(args):
    status, out, err = run(["vae", *args])
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and ": error: " in err and "Traceback" not in err


def test_train_empty_folder(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    status, _, err = run(["vae", "train", "--data", str(empty), "--output", str(tmp_path / "out")])
    assert_one_line_error(status, err, "no images")
    assert not (tmp_path / "out").exists()  # the output folder made for the run is removed again


def test_train_mixed_modes(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    Image.new("L", (10, 10), 100).save(data / "grey.png")
    Image.new("RGB", (10, 10), (1, 2, 3)).save(data / "colour.png")
    status, _, err = run(["vae", "train", "--data", str(data), "--channels", "3", "--output", str(tmp_path / "out")])
    assert_one_line_error(status, err, "mixes greyscale images (grey.png) with colour images (colour.png)")
    assert files_in(tmp_path) == ["colour.png", "data", "grey.png"]


def test_train_unwritable_output_fails_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    status, _, err = run(["vae", "train", "--output", str(blocker / "out")])
    assert_one_line_error(status, err, "cannot write to output folder")
    assert "epoch" not in err


def test_train_missing_patch_image(tmp_path):
    status, _, err = run(["vae", "train", "--data", f"patches:{tmp_path / 'none.png'}", "--output", str(tmp_path / "o")])
    assert_one_line_error(status, err, "no such image file")


def test_grid_latent_pair_out_of_range(trained, tmp_path):
    target = tmp_path / "grid.png"
    status, _, err = run(["vae", "grid", str(trained[0] / "vae.keras"), "--dims", "0", "2", "-o", str(target)])
    assert_one_line_error(status, err, "latent pair 0 2 out of range")
    assert not target.exists()


def test_missing_and_corrupt_model(tmp_path):
    status, _, err = run(["vae", "sample", str(tmp_path / "missing.keras"), "-o", str(tmp_path / "s.png")])
    assert_one_line_error(status, err, "no such model file")
    corrupt = tmp_path / "corrupt.keras"
    corrupt.write_bytes(os.urandom(300))
    status, _, err = run(["vae", "grid", str(corrupt)])
    assert_one_line_error(status, err, "corrupt")
    assert files_in(tmp_path) == ["corrupt.keras"]


def test_unwritable_picture_output(trained, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    status, _, err = run(["vae", "grid", str(trained[0] / "vae.keras"), "-o", str(blocker / "grid.png")])
    assert_one_line_error(status, err, "cannot write")
    status, _, err = run(["vae", "sample", str(trained[0] / "vae.keras"), "-o", str(tmp_path / "samples.xyz")])
    assert_one_line_error(status, err, "unknown image extension")


def test_reconstruct_unreadable_image(trained, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"garbage")
    status, _, err = run(["vae", "reconstruct", str(trained[0] / "vae.keras"), str(bad), "-o", str(tmp_path / "r.png")])
    assert_one_line_error(status, err, "bad.png")
    assert not (tmp_path / "r.png").exists()


def test_real_command_exit_status(tmp_path):
    result = subprocess.run([sys.executable, "-m", "texsynth", "vae", "grid", str(tmp_path / "nope.keras")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == f"texsynth vae: error: no such model file: {tmp_path / 'nope.keras'}"
    assert "Traceback" not in result.stderr
