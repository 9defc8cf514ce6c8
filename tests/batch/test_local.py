"""texsynth/batch/local.py: the worker pool (with stand-in runners; real jobs: tests/commands/test_batch.py)."""

import json
import signal

import pytest

from texsynth.batch.local import available_cpus, default_threads, run_local, visible_gpus
from texsynth.batch.manifest import read_jobs

FAKE = "tests.batch.fake_runners:FakeRunner"


def _jobs(tmp_path, names):
    path = tmp_path / "jobs.csv"
    path.write_text("source,output\n" + "".join(f"/s.png,{tmp_path / 'out' / name}\n" for name in names))
    return read_jobs(path)


def _run(jobs, **kwargs):
    outcomes = []
    run_local(jobs, on_outcome=outcomes.append, **kwargs)
    return sorted(outcomes, key=lambda outcome: outcome.index)


def test_every_job_runs_once(tmp_path):
    jobs = _jobs(tmp_path, [f"ok{i}.png" for i in range(5)])
    outcomes = _run(jobs, workers=2, threads=1, runner=FAKE)
    assert [outcome.status for outcome in outcomes] == ["done"] * 5
    seen = [json.loads(job.output.read_text()) for job in jobs]
    assert {entry["name"] for entry in seen} <= {"local-0", "local-1"}
    assert all(entry["threads"] == 1 and not entry["tensorflow_loaded"] for entry in seen)


def test_each_gpu_worker_sees_only_its_own_gpu(tmp_path):
    jobs = _jobs(tmp_path, [f"ok{i}.png" for i in range(4)])
    _run(jobs, workers=2, threads=1, gpus=["3", "5"], runner=FAKE)
    seen = [json.loads(job.output.read_text()) for job in jobs]
    assert {(entry["name"], entry["cuda"]) for entry in seen} <= {("local-0 gpu 3", "3"), ("local-1 gpu 5", "5")}


def test_a_dying_worker_fails_only_its_job(tmp_path):
    jobs = _jobs(tmp_path, ["ok0.png", "die1.png", "ok2.png", "ok3.png"])
    outcomes = _run(jobs, workers=1, threads=1, runner=FAKE)
    assert [outcome.status for outcome in outcomes] == ["done", "failed", "done", "done"]
    assert outcomes[1].error == "worker process died (exit status 9)"
    pids = [json.loads(jobs[i].output.read_text())["pid"] for i in (0, 2)]
    assert pids[0] != pids[1]  # a new worker took over


def test_workers_that_cannot_start_fail_every_job(tmp_path):
    outcomes = _run(_jobs(tmp_path, ["a.png", "b.png"]), workers=2, threads=1,
                    runner="tests.batch.fake_runners:BrokenRunner")
    assert [outcome.status for outcome in outcomes] == ["failed", "failed"]
    assert outcomes[0].error == "no worker could start: RuntimeError: no TensorFlow here"


def test_ctrl_c_stops_the_workers_and_reports_what_they_held(tmp_path):
    jobs = _jobs(tmp_path, ["slow0.png", "slow1.png", "ok2.png"])

    def interrupt(*_):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    outcomes = []
    try:
        signal.setitimer(signal.ITIMER_REAL, 3.0)  # Ctrl-C, once both workers hold a slow job
        with pytest.raises(KeyboardInterrupt):
            run_local(jobs, 2, 1, outcomes.append, runner=FAKE)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert sorted((outcome.index, outcome.status) for outcome in outcomes) == [(0, "interrupted"), (1, "interrupted")]
    assert not (tmp_path / "out").exists()


def test_visible_gpus_without_tensorflow(tmp_path):
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "2,3"}) == ["2", "3"]
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": ""}) == []
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "-1"}) == []
    driver = tmp_path / "gpus"
    driver.mkdir()
    for bus in ("0000:01:00.0", "0000:02:00.0"):
        (driver / bus).mkdir()
    assert visible_gpus({}, driver) == ["0", "1"]


def test_default_threads_share_the_cores():
    assert default_threads(1) == available_cpus()
    assert default_threads(available_cpus() * 4) == 1
