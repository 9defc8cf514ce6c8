"""synthesize.py end to end: files written, animation, every bad input, Ctrl-C."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from texsynth.commands.main import synthesize_main
from texsynth.io.images import load_image

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["-ow", "96", "-o", "2", "--random-seed", "1", "--quiet"]


def _grey_histogram_distance(a, b):
    """1-D Wasserstein distance between the grey-level distributions of two images."""
    ga, gb = np.sort(a.mean(axis=-1).ravel()), np.sort(b.mean(axis=-1).ravel())
    quantiles = np.linspace(0, 1, 200)
    return np.abs(np.quantile(ga, quantiles) - np.quantile(gb, quantiles)).mean()


def test_run_writes_the_ancestors_folder(tmp_path, gravel_small, capsys):
    code = synthesize_main(["-s", str(gravel_small), *SMALL, "-m", "40", "-n", "20", "--output-dir", str(tmp_path)])
    assert code == 0
    folder = tmp_path / "out.L2,7.o2.96x96"
    assert sorted(p.name for p in folder.iterdir()) == [
        "I0020_F0000.png", "I0040_F0000.png", "command.txt", "final.png", "run.json", "seed_F0000.png"]
    assert capsys.readouterr().out.strip() == str(folder / "final.png")
    run = json.loads((folder / "run.json").read_text())
    assert run["iterations"] == 40 and len(run["loss"]) == 40 and len(run["seconds"]) == 40
    # Coarse to fine: a 48x48 stage, then the 96x96 canvas; iterations are counted across stages.
    assert run["schedule"] == "coarse-to-fine" and run["optimizer"] == "device" and run["loss_statistic"] == "sw"
    assert [(s["height"], s["iterations"]) for s in run["stages"]] == [(48, 20), (96, 20)]
    assert run["loss"][-1] < run["loss"][20] and run["loss"][19] < run["loss"][0]
    assert run["weights"]["arch"] == "vgg16" and run["layers"] == {"pool1": 2, "conv3_2": 7}
    assert run["peak_memory_mb"] > 0 and run["total_seconds"] > 0 and run["random_seed"] == 1
    assert "-ow 96" in (folder / "command.txt").read_text()
    # The final image moved from the flat noise towards the gravel's grey-level statistics and contrast.
    source, seed, final = (load_image(p) for p in (gravel_small, folder / "seed_F0000.png", folder / "final.png"))
    assert final.shape == (96, 96, 3)
    assert _grey_histogram_distance(final, source) < 0.5 * _grey_histogram_distance(seed, source)
    assert abs(final.std() - source.std()) < 0.5 * abs(seed.std() - source.std())
    # A second run with the same settings gets a new folder, named as the ancestor did.
    assert synthesize_main(["-s", str(gravel_small), *SMALL, "-m", "1", "--output-dir", str(tmp_path)]) == 0
    assert (tmp_path / "out.L2,7.o2.96x96.0" / "final.png").is_file()


def test_exact_output_path_and_layer_names(tmp_path, gravel_small):
    target = tmp_path / "deep" / "er" / "texture.png"
    code = synthesize_main(["-s", str(gravel_small), *SMALL, "-m", "2", "-l", "pool1", "conv3_2",
                            "--output", str(target), "--output-dir", str(tmp_path / "unused")])
    assert code == 0
    assert Image.open(target).size == (96, 96)
    assert not (tmp_path / "unused").exists()
    assert sorted(p.name for p in target.parent.iterdir()) == ["texture.png"]


def test_same_seed_same_image(tmp_path, gravel_small):
    for name in ("a.png", "b.png"):
        assert synthesize_main(["-s", str(gravel_small), *SMALL, "-m", "3", "--output", str(tmp_path / name)]) == 0
    np.testing.assert_array_equal(load_image(tmp_path / "a.png"), load_image(tmp_path / "b.png"))


def test_count_two_makes_a_looping_animation(tmp_path, gravel_small):
    code = synthesize_main(["-s", str(gravel_small), *SMALL, "-m", "6", "-n", "3", "-c", "2",
                            "--if-distance-type", "lap1", "--output-dir", str(tmp_path)])
    assert code == 0
    folder = tmp_path / "out.L2,7.o2.c2.96x96"
    names = {p.name for p in folder.iterdir()}
    assert {"final_F0000.png", "final_F0001.png", "animation.gif", "I0003_F0001.png", "seed_F0001.png"} <= names
    frames = [load_image(folder / f"final_F000{i}.png") for i in range(2)]
    assert np.abs(frames[0] - frames[1]).mean() > 1  # two different frames
    with Image.open(folder / "animation.gif") as gif:
        assert gif.n_frames == 2 and gif.size == (96, 96) and gif.info.get("loop") == 0


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "I;16", "exif"])
def test_any_image_mode_works_as_a_source(tmp_path, gravel_small, mode):
    image = Image.open(gravel_small)
    path = tmp_path / "src.png"
    if mode == "I;16":
        Image.fromarray((np.asarray(image.convert("L"), np.uint16) * 257)).save(path)
    elif mode == "exif":
        path = tmp_path / "src.jpg"
        exif = Image.Exif()
        exif[0x0112] = 8
        image.save(path, exif=exif)
    else:
        image.convert(mode).save(path)
    assert synthesize_main(["-s", str(path), *SMALL, "-m", "1", "--output", str(tmp_path / "o.png")]) == 0
    assert Image.open(tmp_path / "o.png").mode == "RGB"


def _bad_inputs(tmp_path, gravel_small):
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("not a picture")
    data = gravel_small.read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 3])
    (tmp_path / "bad.h5").write_bytes(b"not hdf5" * 100)
    (tmp_path / "afile").write_text("x")
    src = str(gravel_small)
    return {
        "missing source": (["-s", str(tmp_path / "nope.png")], 1, "no such file"),
        "folder without images": (["-s", str(tmp_path / "empty")], 1, "no images"),
        "not an image": (["-s", str(tmp_path / "notes.txt")], 1, "not an image"),
        "truncated image": (["-s", str(tmp_path / "cut.png")], 1, "cannot read image"),
        "unknown layer": (["-s", src, "-l", "conv9_9"], 1, "valid layers: conv1_1"),
        "layer out of range, nested output": (["-s", src, "-l", "40", "--output", str(tmp_path / "new" / "o.png")],
                                              1, "out of range"),
        "source too small": (["-s", src, "-ow", "512", "-o", "4"], 1, "at most 2 octaves fit"),
        "output too small": (["-s", src, "-ss", "4", "-ow", "40", "-o", "4"], 1, "at most 3 octaves fit"),
        "unwritable output dir": (["-s", src, "--output-dir", str(tmp_path / "afile" / "sub")], 1, "cannot write"),
        "unwritable output": (["-s", src, "--output", str(tmp_path / "afile" / "o.png")], 1, "cannot write"),
        "bad weights": (["-s", src, "--weights", str(tmp_path / "bad.h5")], 1, "cannot read weight file"),
        "missing vgg19": (["-s", src, "--weights", "vgg19", "-d", str(tmp_path)], 1, "no vgg19 weight file"),
        "both source scalings": (["-s", src, "-ss", "0.5", "-sw", "100"], 2, "not allowed with"),
        "zero width": (["-s", src, "-ow", "0"], 2, "must be positive"),
        "negative octaves": (["-s", src, "-o", "-1"], 2, "must be positive"),
        "two seeds": (["-s", src, "--seed", "symmetric", "--seed-image", src], 2, "contradict"),
        "png for an animation": (["-s", src, "-c", "2", "--output", str(tmp_path / "a.png")], 2, ".gif"),
        "affine with one source": (["-s", src, "-j", "affine_invariant", "-ow", "96", "-o", "2"], 1, "exactly two"),
        # Refused by the parser, before TensorFlow and the sources are loaded.
        "sw joined by max": (["-s", src, src, "--loss", "sw", "-j", "max", "-ow", "96", "-o", "2"], 2,
                             "--join-mode max has no meaning for --loss sw"),
        "sw log-euclidean": (["-s", src, src, "-j", "log_euclidean", "-ow", "96", "-o", "2"], 2,
                             "--join-mode log_euclidean has no meaning for --loss sw"),
        "unknown loss": (["-s", src, "--loss", "l2"], 2, "invalid choice"),
        "negative spectrum weight": (["-s", src, "--spectrum-weight", "-1"], 2, "0 or more"),
        "unknown schedule": (["-s", src, "--schedule", "fine-to-coarse"], 2, "invalid choice"),
        "spectrum octave too coarse": (["-s", src, "-ow", "96", "-o", "2", "--spectrum-weight", "0.1",
                                        "--spectrum-octave", "2"], 1, "less than octaves (2)"),
        # The default copies detail, which --stage-noise would silently not change.
        "stage noise without noise": (["-s", src, "--stage-noise", "1"], 2, "add --stage-detail noise"),
        "source too small to copy from": (["-s", src, "-sw", "12", "-l", "0", "--padding-mode", "same", "-ow", "64",
                                           "-o", "3"], 1, "too small to copy detail from"),
    }


BAD_CASES = ["missing source", "folder without images", "not an image", "truncated image", "unknown layer",
             "layer out of range, nested output",
             "source too small", "output too small", "unwritable output dir", "unwritable output", "bad weights",
             "missing vgg19", "both source scalings", "zero width", "negative octaves", "two seeds",
             "png for an animation", "affine with one source", "sw joined by max", "sw log-euclidean", "unknown loss",
             "negative spectrum weight", "unknown schedule", "spectrum octave too coarse", "stage noise without noise",
             "source too small to copy from"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_is_one_line_and_leaves_nothing(tmp_path, gravel_small, capsys, case):
    argv, expected_code, message = _bad_inputs(tmp_path, gravel_small)[case]
    out_dir = tmp_path / "outputs"
    before = set(tmp_path.rglob("*"))
    try:
        code = synthesize_main([*argv, "-m", "1", "--quiet"]
                               + ([] if "--output-dir" in argv else ["--output-dir", str(out_dir)]))
    except SystemExit as exit_:  # argparse
        code = exit_.code
    err = capsys.readouterr().err.strip()
    assert code == expected_code
    assert message in err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1
    assert set(tmp_path.rglob("*")) == before  # not even an empty output folder


def _subprocess_env():
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}


def test_real_entry_point_prints_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "synthesize.py"), "-s", str(tmp_path / "missing.jpg")],
                          capture_output=True, text=True, env=_subprocess_env(), timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == f"synthesize.py: error: no such file or directory: {tmp_path / 'missing.jpg'}"
    assert "Traceback" not in proc.stderr


def test_ctrl_c_keeps_the_latest_image(tmp_path, gravel_small):
    proc = subprocess.Popen([sys.executable, str(ROOT / "synthesize.py"), "-s", str(gravel_small), "-ow", "96",
                             "-o", "2", "-m", "100000", "-n", "1", "--output-dir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_subprocess_env(),
                            # A shell's background job ignores SIGINT, and its children inherit that.
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    folder = tmp_path / "out.L2,7.o2.96x96"
    deadline = time.time() + 120
    while time.time() < deadline and not (folder.exists() and list(folder.glob("I0002_*.png"))):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    run = json.loads((folder / "run.json").read_text())
    assert run["interrupted"] is True and run["iterations"] >= 2
    final = load_image(folder / "final.png")
    latest = sorted(folder.glob("I*_F0000.png"))[-1]
    assert final.shape == (96, 96, 3)
    # The final image is the latest iterate: at least as new as the last in-progress frame.
    assert int(latest.name[1:5]) <= run["iterations"]
    assert not list(folder.glob("*.tmp"))


@pytest.mark.parametrize("seed_flag", [["--seed", "cppn"], ["--seed-image", "IMAGE"]])
def test_cppn_and_image_seeds(tmp_path, gravel_small, seed_flag):
    flags = [str(gravel_small) if f == "IMAGE" else f for f in seed_flag]
    assert synthesize_main(["-s", str(gravel_small), *SMALL, "-m", "1", *flags, "--output-dir", str(tmp_path)]) == 0
    seed = load_image(tmp_path / "out.L2,7.o2.96x96" / "seed_F0000.png")
    if flags[0] == "--seed-image":
        # The seed is the given image resized to the output (plus a little noise).
        from texsynth.io.images import resize_image
        expected = resize_image(load_image(gravel_small), 96, 96)
        assert np.abs(seed - expected).mean() < 3
    else:
        assert seed.std(axis=(0, 1)).mean() > 10  # a pattern, not a flat colour


def test_precision_is_chosen_and_recorded(tmp_path, gravel_small):
    from texsynth.runtime.precision import resolve_precision

    for flags, expected in [([], resolve_precision("auto")), (["--precision", "float32"], "float32")]:
        out = tmp_path / expected / str(len(flags))
        assert synthesize_main(["-s", str(gravel_small), *SMALL, "-m", "2", *flags, "--output-dir", str(out)]) == 0
        run = json.loads((out / "out.L2,7.o2.96x96" / "run.json").read_text())
        assert run["precision"] == expected and run["precision_switch_iteration"] is None
    with pytest.raises(SystemExit) as exit_:
        synthesize_main(["-s", str(gravel_small), *SMALL, "--precision", "float16"])
    assert exit_.value.code == 2


@pytest.mark.parametrize("flags", [["--loss", "sw", "-j", "average"], ["--loss", "sw", "-j", "affine_invariant"],
                                   ["--loss", "sw", "--spectrum-weight", "0.5", "--redraw-every", "2"],
                                   ["--schedule", "joint", "--optimizer", "scipy", "--spectrum-weight", "1"],
                                   ["--spectrum-weight", "0.5", "--spectrum-octave", "1"],
                                   ["--schedule", "joint", "--border", "4", "--spectrum-weight", "1",
                                    "--spectrum-octave", "1"]])
def test_every_loss_schedule_and_optimizer_runs(tmp_path, gravel_small, flags):
    out = tmp_path / "o.png"
    argv = ["-s", str(gravel_small), str(gravel_small), *SMALL, "-m", "4", "--output", str(out), *flags]
    assert synthesize_main(argv) == 0
    assert load_image(out).shape == (96, 96, 3)


def test_ctrl_c_as_the_run_ends_still_writes_the_final_image(tmp_path, gravel_small, monkeypatch):
    import texsynth.io.images

    save_image = texsynth.io.images.save_image

    def pressed_while_saving(image, path, quick=False):
        if os.path.basename(path) == "final.png":
            os.kill(os.getpid(), signal.SIGINT)
        return save_image(image, path, quick)

    monkeypatch.setattr(texsynth.io.images, "save_image", pressed_while_saving)
    assert synthesize_main(["-s", str(gravel_small), *SMALL, "-m", "2", "--output-dir", str(tmp_path)]) == 130
    folder = tmp_path / "out.L2,7.o2.96x96"
    assert load_image(folder / "final.png").shape == (96, 96, 3)
    assert json.loads((folder / "run.json").read_text())["iterations"] == 2


def test_a_large_source_gets_a_hint_to_scale_it_down(tmp_path, gravel_small, capsys, monkeypatch):
    from texsynth.commands import synth

    monkeypatch.setattr(synth, "LARGE_SOURCE_PIXELS", 128 * 128 - 1)  # gravel_small is 128x128
    args = ["-s", str(gravel_small), "-ow", "48", "-o", "1", "-m", "1", "--output", str(tmp_path / "a.png")]
    assert synthesize_main(args) == 0
    assert f"note: source {gravel_small} is 128x128" in capsys.readouterr().err
    monkeypatch.setattr(synth, "LARGE_SOURCE_PIXELS", 128 * 128)
    assert synthesize_main([*args[:-1], str(tmp_path / "b.png")]) == 0
    assert "note:" not in capsys.readouterr().err


def test_an_output_larger_than_the_free_memory_gets_a_note(tmp_path, gravel_small, capsys, monkeypatch):
    from texsynth.runtime import memory

    args = ["-s", str(gravel_small), "-ow", "48", "-o", "1", "-m", "1", "--output", str(tmp_path / "a.png")]
    monkeypatch.setattr(memory, "available_memory", lambda: 2**29)  # less than Python and TensorFlow alone
    assert synthesize_main(args) == 0
    assert ("note: a 48x48 output from these sources may need about 1 GB of memory and about 1 GB are available"
            in capsys.readouterr().err)
    monkeypatch.setattr(memory, "available_memory", lambda: 2**40)
    assert synthesize_main([*args[:-1], str(tmp_path / "b.png")]) == 0
    assert "note:" not in capsys.readouterr().err
