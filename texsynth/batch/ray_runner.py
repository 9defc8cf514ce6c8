"""The Ray runner: one Ray task per job, on an existing cluster or on a local instance started for
the batch.

Each task asks for one GPU when the cluster has GPUs, else for as many CPUs as the job's threads.
Tasks run :class:`~texsynth.batch.worker.JobRunner` in Ray's worker processes, with the same
explicit thread settings as local workers, so a seed gives the same pixels on both paths. Every
node needs texsynth installed (the same version) and the files at the same paths: nothing is
installed at run time. Ray is imported only here, and only when a batch runs on it; the command
turns Ray's usage statistics off before that.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from typing import Any, Callable, Mapping, Sequence

from texsynth.batch.manifest import Job
from texsynth.batch.report import Outcome, one_line

__all__ = ["LOCAL", "OBJECT_STORE_BYTES", "init_options", "run_ray", "task_options"]

# The address that starts a new local instance (Ray's own word for it).
LOCAL = "local"
# Tasks return a few hundred bytes each; Ray's default store is 30% of memory.
OBJECT_STORE_BYTES = 100 * 2**20
# How long Ctrl-C waits for cancelled tasks to report.
STOP_SECONDS = 30.0

# In a Ray worker process: one runner per thread count, so a worker that Ray reuses for several
# jobs keeps TensorFlow and the weights loaded.
_RUNNERS: dict[int, Any] = {}


def _run_job(job: Job, threads: int) -> Outcome:
    """The body of every task, in a Ray worker process."""
    from texsynth.batch.worker import JobRunner

    runner = _RUNNERS.get(threads)
    if runner is None:
        runner = _RUNNERS[threads] = JobRunner(threads, f"ray {socket.gethostname()} pid {os.getpid()}")
    return runner.run(job)


def init_options(address: str, workers: int, threads: int) -> dict[str, Any]:
    """Keyword arguments of ``ray.init`` for ``address``: quiet, no dashboard, nothing sent out.

    A new local instance (``address == "local"``) gets ``workers * threads`` CPUs, so it runs
    ``workers`` jobs at a time, and a small object store.
    """
    if address.startswith("ray://"):  # Ray Client forwards other arguments to the server's ray.init
        return {"address": address, "log_to_driver": False}
    options: dict[str, Any] = {"address": address, "include_dashboard": False, "log_to_driver": False,
                               "configure_logging": False}
    if address == LOCAL:
        # A local instance talks to itself over loopback only, not the machine's own network address.
        options.update(num_cpus=workers * threads, object_store_memory=OBJECT_STORE_BYTES,
                       _node_ip_address="127.0.0.1")
    return options


def task_options(resources: Mapping[str, float], threads: int) -> dict[str, Any]:
    """What each task asks for, given the cluster's resources (``ray.cluster_resources()``).

    With GPUs: one GPU and ``max_calls=1`` (Ray's default for GPU tasks: a fresh worker process per
    job, so each job's GPU memory is released and the next sees the GPU Ray gives it). Else
    ``threads`` CPUs. A task is retried once if its worker or node dies.
    """
    if resources.get("GPU", 0) > 0:
        return {"num_gpus": 1, "num_cpus": threads, "max_calls": 1, "max_retries": 1}
    return {"num_cpus": threads, "max_retries": 1}


def _outcome(ray: Any, ref: Any, job: Job) -> Outcome:
    try:
        return ray.get(ref)
    except ray.exceptions.TaskCancelledError:
        return Outcome.of(job, "interrupted", error="cancelled")
    except ray.exceptions.RayTaskError as error:  # the task raised (it catches the job's own errors)
        cause = getattr(error, "cause", None)
        return Outcome.of(job, "failed", error=one_line(cause if isinstance(cause, BaseException) else error))
    except ray.exceptions.RayError as error:  # its worker or node died, it ran out of memory, ...
        return Outcome.of(job, "failed", error=one_line(error))


def run_ray(jobs: Sequence[Job], address: str, workers: int, threads: int,
            on_outcome: Callable[[Outcome], None], note: Callable[[str], None] = lambda _: None) -> None:
    """Run ``jobs`` as Ray tasks.

    Parameters
    ----------
    jobs : sequence of Job
    address : str
        ``"local"`` to start a local instance (stopped at the end), or a cluster's address
        (``auto``, ``HOST:PORT``, ``ray://HOST:PORT``) to join.
    workers : int
        Jobs at a time on a local instance (ignored on a cluster, whose resources decide).
    threads : int
        TensorFlow intra-op and BLAS threads per job, and CPUs per task.
    on_outcome : callable
        Called with each job's :class:`Outcome` as it finishes.
    note : callable
        Receives one line saying where the jobs run.

    Raises
    ------
    KeyboardInterrupt
        After Ctrl-C, once running tasks were cancelled and have reported.
    """
    try:
        import ray
    except ImportError:
        from texsynth.errors import TexsynthError

        raise TexsynthError("Ray is not installed (pip install -r requirements.txt)") from None
    started = not ray.is_initialized()
    if started:
        main_thread = threading.current_thread() is threading.main_thread()
        sigterm = signal.getsignal(signal.SIGTERM) if main_thread else None
        try:
            ray.init(**init_options(address, workers, threads))
        except (ConnectionError, ValueError, RuntimeError) as error:
            from texsynth.errors import TexsynthError

            raise TexsynthError(f"cannot connect to Ray at {address}: {one_line(error)}") from None
        if callable(sigterm):
            # ray.init installs its own SIGTERM handler, which ends the process at once; the
            # caller's (the command stops the batch cleanly) is put back.
            signal.signal(signal.SIGTERM, sigterm)
    try:
        resources = ray.cluster_resources()
        options = task_options(resources, threads)
        where = "a local Ray instance" if address == LOCAL else f"the Ray cluster at {address}"
        note(f"ray: {len(jobs)} job(s) on {where} ({resources.get('CPU', 0):g} CPUs, "
             f"{resources.get('GPU', 0):g} GPUs); each task asks for "
             + ", ".join(f"{key[4:]}={value}" for key, value in options.items() if key.startswith("num_")))
        declared = {key: value for key, value in options.items() if key == "max_calls"}  # not an .options() key
        remote = ray.remote(**declared)(_run_job) if declared else ray.remote(_run_job)
        task_kwargs = {key: value for key, value in options.items() if key != "max_calls"}
        refs = {remote.options(**task_kwargs).remote(job, threads): job for job in jobs}
        try:
            while refs:
                ready, _ = ray.wait(list(refs), num_returns=1, timeout=1.0)
                for ref in ready:
                    on_outcome(_outcome(ray, ref, refs.pop(ref)))
        except KeyboardInterrupt:
            # Running tasks get KeyboardInterrupt: their synthesis stops and its output is removed.
            for ref in refs:
                ray.cancel(ref)
            deadline = time.monotonic() + STOP_SECONDS
            while refs and time.monotonic() < deadline:
                ready, _ = ray.wait(list(refs), num_returns=len(refs), timeout=0.5)
                for ref in ready:
                    on_outcome(_outcome(ray, ref, refs.pop(ref)))
            raise
    finally:
        if started:
            ray.shutdown()  # stops a local instance; leaves a cluster
