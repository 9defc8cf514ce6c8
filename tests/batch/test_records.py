"""texsynth/batch/records.py: the record beside each output and the decision to skip a job."""

import json

import pytest

from texsynth.batch import records
from texsynth.batch.manifest import read_jobs


@pytest.fixture
def job(tmp_path):
    path = tmp_path / "jobs.csv"
    path.write_text(f"source,output,max-iter\n/s.png,{tmp_path / 'out' / 'a.png'},5\n")
    return read_jobs(path)[0]


def _finish(job):
    job.output.parent.mkdir(parents=True, exist_ok=True)
    job.output.write_bytes(b"png")
    return records.write_record(job, {"synth": {"max_iter": 5}}, 1.25)


def test_record_sits_beside_the_output(job):
    assert records.record_path(job.output) == job.output.with_name("a.png.texsynth.json")
    path = _finish(job)
    data = json.loads(path.read_text())
    assert data["settings"] == job.settings and data["random_seed"] == job.random_seed
    assert data["command"] == {"synth": {"max_iter": 5}} and data["seconds"] == 1.25
    assert records.read_record(job.output) == data


def test_done_needs_the_output_and_a_record_of_the_same_settings(job, tmp_path):
    assert not records.is_done(job)
    _finish(job)
    assert records.is_done(job)
    changed = read_jobs(_csv(tmp_path, job, "6"))[0]
    assert changed.output == job.output and not records.is_done(changed)
    job.output.unlink()  # a record without its output
    assert not records.is_done(job)


def _csv(tmp_path, job, max_iter):
    path = tmp_path / "changed.csv"
    path.write_text(f"source,output,max-iter\n/s.png,{job.output},{max_iter}\n")
    return path


def test_no_record_or_a_broken_one_is_not_done(job):
    job.output.parent.mkdir(parents=True)
    job.output.write_bytes(b"png")  # e.g. killed between the image and its record
    assert not records.is_done(job)
    records.record_path(job.output).write_text("{ half a reco")
    assert records.read_record(job.output) is None and not records.is_done(job)
    records.record_path(job.output).write_text("[1, 2]")
    assert records.read_record(job.output) is None


def test_clear_record(job):
    _finish(job)
    records.clear_record(job.output)
    assert not records.record_path(job.output).exists() and not records.is_done(job)
    records.clear_record(job.output)  # nothing to remove: fine
