"""texsynth batch end to end: local workers, failures, resuming, shards, form errors, Ctrl-C, Ray, the Makefile."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from tests.conftest import EXAMPLES, run_cli
from texsynth.io.images import load_image

SMALL = ["--output-width", "32", "--octaves", "1", "--max-iter", "3"]


def _env():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}
    env.pop("RAY_ADDRESS", None)  # a bare --ray must start its own local instance
    return env


def _image(path, seed):
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(path)
    return path


def _pixels(paths):
    return {path.name: load_image(path) for path in paths}


@pytest.fixture(scope="module")
def local_batch(tmp_path_factory):
    """Three jobs on a local worker, one with a missing source; then the row fixed and the batch rerun."""
    folder = tmp_path_factory.mktemp("batch")
    one, two = _image(folder / "one.png", 1), _image(folder / "two.png", 2)
    out = folder / "out"
    jobs = folder / "jobs.csv"
    # Row 3 gives no seed: it gets one derived from its settings, the same on every run.
    rows = [f"{one},{out / 'a.png'},1", f"{folder / 'missing.png'},{out / 'b.png'},2", f"{one};{two},{out / 'c.png'},"]
    jobs.write_text("source,output,random-seed\n" + "\n".join(rows) + "\n")
    first = run_cli(["batch", str(jobs), *SMALL])
    first_report = json.loads((folder / "batch.json").read_text())
    written = {name: (out / name).stat().st_mtime_ns for name in ("a.png", "c.png")}
    files_after_first = sorted(path.name for path in out.iterdir())
    jobs.write_text(jobs.read_text().replace(str(folder / "missing.png"), str(two)))
    second = run_cli(["batch", str(jobs), *SMALL])
    return SimpleNamespace(folder=folder, out=out, jobs=jobs, first=first, first_report=first_report, written=written,
                           files_after_first=files_after_first,
                           second=second, second_report=json.loads((folder / "batch.json").read_text()))


def test_a_failing_job_fails_alone(local_batch):
    status, stdout, stderr = local_batch.first
    out = local_batch.out
    assert status == 1
    assert stdout.splitlines() == [str(out / "a.png"), str(out / "c.png")]  # the outputs written
    assert Image.open(out / "a.png").size == (32, 32) and Image.open(out / "c.png").size == (32, 32)
    report = local_batch.first_report
    assert [job["status"] for job in report["jobs"]] == ["done", "failed", "done"]
    assert report["jobs"][1]["error"] == f"no such file or directory: {local_batch.folder / 'missing.png'}"
    assert report["counts"]["failed"] == 1 and report["ok"] is False and report["runner"] == "local"
    assert {job["worker"] for job in report["jobs"]} == {"local-0"}
    assert "failed: row 2 (line 3)" in stderr and "Traceback" not in stderr
    # Nothing of the failed job (no output, record or temporary file).
    assert local_batch.files_after_first == ["a.png", "a.png.texsynth.json", "c.png", "c.png.texsynth.json"]


def test_a_rerun_skips_the_done_jobs_and_runs_the_fixed_one(local_batch):
    status, stdout, _ = local_batch.second
    out = local_batch.out
    assert status == 0
    assert stdout.splitlines() == [str(out / "b.png")]
    assert [job["status"] for job in local_batch.second_report["jobs"]] == ["skipped", "done", "skipped"]
    assert {name: (out / name).stat().st_mtime_ns for name in ("a.png", "c.png")} == local_batch.written
    record = json.loads((out / "c.png.texsynth.json").read_text())
    assert record["seed_derived"] is True and record["command"]["synth"]["random_seed"] == record["random_seed"]


def test_ray_gives_the_same_pixels_as_local_workers(local_batch):
    """The same manifest on a local Ray instance started here (--force redoes every job)."""
    out = local_batch.out
    local = _pixels(sorted(out.glob("*.png")))
    assert len(local) == 3
    report = local_batch.folder / "ray.json"
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "texsynth", "batch", str(local_batch.jobs), *SMALL,
                           "--ray", "--force", "--report", str(report)],
                          capture_output=True, text=True, env=_env(), timeout=180, cwd=local_batch.folder)
    assert proc.returncode == 0, proc.stderr
    assert time.perf_counter() - start < 150  # a hang, not speed: a loaded 2-core machine took over 90 s
    data = json.loads(report.read_text())
    assert data["runner"] == "ray" and data["ray_address"] == "local"
    assert [job["status"] for job in data["jobs"]] == ["done"] * 3
    assert all(job["worker"].startswith("ray ") for job in data["jobs"])
    assert "a local Ray instance" in proc.stderr and "Traceback" not in proc.stderr
    for name, pixels in _pixels(sorted(out.glob("*.png"))).items():
        np.testing.assert_array_equal(pixels, local[name], err_msg=name)


def test_shards_together_cover_every_job_once(local_batch):
    (local_batch.out / "a.png").unlink()  # job 0 must run again; the others are done
    reports = []
    for shard in ("0/2", "1/2"):
        status, stdout, _ = run_cli(["batch", str(local_batch.jobs), *SMALL, "--shard", shard])
        assert status == 0
        index, count = shard.split("/")
        reports.append(json.loads((local_batch.folder / f"batch.{index}-of-{count}.json").read_text()))
    indices = [job["index"] for report in reports for job in report["jobs"]]
    assert sorted(indices) == [0, 1, 2]
    assert [(job["index"], job["status"]) for job in reports[0]["jobs"]] == [(0, "done"), (2, "skipped")]
    assert [(job["index"], job["status"]) for job in reports[1]["jobs"]] == [(1, "skipped")]
    assert reports[0]["shard"] == [0, 2]


@pytest.mark.parametrize("name, text, message", [
    ("jobs.csv", "source,output,max-iters\nx.png,o.png,3\n",
     "jobs.csv line 1 (header): unknown column 'max-iters' (did you mean 'max-iter'?)"),
    ("jobs.jsonl", '{"source": "x.png", "output": "o.png"}\n{"source": "x.png", "output": "p.png", "octave": 2}\n',
     "jobs.jsonl row 2 (line 2): unknown column 'octave' (did you mean 'octaves'?)"),
    ("jobs.csv", "source,output,max-iter\nx.png,o.png,3\nx.png,p.png,-1\n",
     "jobs.csv row 2 (line 3): argument --max-iter/-m: must be positive, got -1"),
    ("jobs.csv", "source,output\nx.png,\n",
     "jobs.csv row 1 (line 2): no output (every job needs a source and an output)"),
])
def test_a_bad_manifest_is_rejected_before_anything_runs(tmp_path, monkeypatch, name, text, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_text(text)
    before = sorted(tmp_path.rglob("*"))
    status, stdout, stderr = run_cli(["batch", name, *SMALL])
    assert status == 2 and stdout == ""
    assert stderr == f"texsynth batch: error: {message}\n"
    assert sorted(tmp_path.rglob("*")) == before  # nothing written, no batch.json


@pytest.mark.parametrize("flags, message", [
    (["--shard", "2/2"], "argument --shard: need 0 <= I < N, got 2/2"),
    (["--shard", "x"], "argument --shard: expected I/N such as 0/4"),
    (["--local", "--ray"], "--local and --ray contradict"),
    (["--max-iter", "0"], "argument --max-iter/-m: must be positive, got 0"),
    (["--output", "o.png"], "unrecognized arguments: --output"),
])
def test_flag_errors(tmp_path, flags, message):
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("source,output\nx.png,o.png\n")
    status, _, stderr = run_cli(["batch", str(jobs), *flags])
    assert status == 2 and message in stderr and len(stderr.strip().splitlines()) == 1


def test_ctrl_c_leaves_no_output_and_reports_what_finished(tmp_path):
    """A folder of source images, one job per image; Ctrl-C while it runs."""
    sources = tmp_path / "sources"
    sources.mkdir()
    _image(sources / "tile.png", 3)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "texsynth", "batch", str(sources), "--output-dir", str(out),
                             # a tiny tolerance: a 32-pixel tile at one octave once converged within the 8 s below
                             "--output-width", "64", "--octaves", "1", "--max-iter", "100000", "--tol", "1e-12"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
                            # A shell's background job ignores SIGINT, and its children inherit that.
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    line = proc.stderr.readline()
    while line and not line.startswith("batch: "):  # whatever a library prints first
        line = proc.stderr.readline()
    assert line.startswith("batch: 1 job(s)"), line
    time.sleep(8)  # the worker starts TensorFlow (about 4 s here) and is synthesising
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stdout == "" and "Traceback" not in stderr and "interrupted" in stderr
    report = json.loads((out / "batch.json").read_text())
    assert report["interrupted"] is True
    assert [job["status"] for job in report["jobs"]] in (["interrupted"], ["not run"])
    assert sorted(path.name for path in out.iterdir()) == ["batch.json"]  # no half image, record or temp file


def test_makefile(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("GNU make is not on PATH")
    build = tmp_path / "build"
    listing = subprocess.run(["make", "-C", str(EXAMPLES), "-n", f"BUILD={build}"], capture_output=True, text=True,
                             timeout=60)
    assert listing.returncode == 0, listing.stderr
    for name, source in (("brick", "brick.jpg"), ("gravel", "gravel.jpg"), ("leaves", "leaves.png")):
        assert f"../synthesize.py --source {source} --output {build}/{name}.png --output-width 256 " in listing.stdout
    plain = subprocess.run(["make", "-C", str(EXAMPLES), "-n", "-B"], capture_output=True, text=True, timeout=60)
    assert plain.returncode == 0 and "--output build/gravel.png" in plain.stdout
    batch = subprocess.run(["make", "-C", str(EXAMPLES), "-n", f"BUILD={build}", "batch"], capture_output=True,
                           text=True, timeout=60)
    assert batch.returncode == 0 and f"-m texsynth batch {build}/batch/jobs.csv --output-width 256" in batch.stdout
    # Two real tiny targets at once: one synthesize.py process, and texsynth batch (on one texture, for time).
    tiny = [f"BUILD={build}", "SIZE=32", "ITER=2", "OCTAVES=1", f"PYTHON={sys.executable}", "SOURCES=gravel.jpg"]
    run = subprocess.run(["make", "-C", str(EXAMPLES), "-j2", *tiny, f"{build}/gravel.png", "batch"],
                         capture_output=True, text=True, timeout=300, env=_env())
    assert run.returncode == 0, run.stderr
    assert Image.open(build / "gravel.png").size == (32, 32)
    assert (build / "batch" / "jobs.csv").read_text() == f"source,output\ngravel.jpg,{build}/batch/gravel.png\n"
    assert sorted(path.name for path in (build / "batch").glob("*.png")) == ["gravel.png"]
    # Same flags and seed, and the same thread count: the batch renders the same pixels as synthesize.py.
    np.testing.assert_array_equal(load_image(build / "gravel.png"), load_image(build / "batch" / "gravel.png"))
    again = subprocess.run(["make", "-C", str(EXAMPLES), *tiny, "batch"], capture_output=True, text=True,
                           timeout=120, env=_env())
    assert again.returncode == 0 and "1 already done, 0 to run" in again.stderr
