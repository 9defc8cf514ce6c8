"""texsynth/batch/worker.py: one job in a process with TensorFlow: output, then record; failures as one line."""

import json

import numpy as np
import pytest
from PIL import Image

from texsynth.batch import records
from texsynth.batch.manifest import read_jobs
from texsynth.batch.worker import JobRunner

TINY = "output-width,octaves,max-iter,random-seed\n"


@pytest.fixture(scope="module")
def runner():
    return JobRunner(None, "test")  # this process's TensorFlow, as conftest started it


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "src.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(path)
    return path


def _job(tmp_path, source, output="out/a.png"):
    path = tmp_path / "jobs.csv"
    path.write_text(f"source,output,{TINY}{source},{tmp_path / output},32,1,2,3\n")
    return read_jobs(path)[0]


def test_a_job_writes_its_output_then_its_record(tmp_path, source, runner, capsys):
    job = _job(tmp_path, source)
    outcome = runner.run(job)
    assert (outcome.status, outcome.error, outcome.worker) == ("done", None, "test")
    assert Image.open(job.output).size == (32, 32)
    assert records.is_done(job)
    record = json.loads(records.record_path(job.output).read_text())
    assert record["command"]["synth"]["random_seed"] == 3 and record["command"]["synth"]["width"] == 32
    assert "quiet" not in record["command"] and "output" not in record["command"]
    assert capsys.readouterr().out == ""  # the batch prints its outputs itself
    # Weights are loaded once per runner.
    assert len(runner._weights) == 1
    assert runner.run(_job(tmp_path, source, "out/b.png")).status == "done" and len(runner._weights) == 1


def test_a_missing_or_broken_source_fails_alone(tmp_path, runner):
    missing = runner.run(_job(tmp_path, tmp_path / "nope.png"))
    assert missing.status == "failed"
    assert missing.error == f"no such file or directory: {tmp_path / 'nope.png'}"
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    outcome = runner.run(_job(tmp_path, broken, "out/c.png"))
    assert outcome.status == "failed" and "broken.png" in outcome.error and "\n" not in outcome.error
    assert not (tmp_path / "out" / "c.png").exists()


def test_a_rerun_clears_the_old_record_first(tmp_path, source, runner):
    job = _job(tmp_path, source)
    job.output.parent.mkdir(parents=True)
    job.output.write_bytes(b"old")
    records.write_record(job, {}, 0.0)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"")
    failing = _job(tmp_path, broken)  # same output, and it fails
    assert runner.run(failing).status == "failed"
    assert not records.record_path(job.output).exists()
