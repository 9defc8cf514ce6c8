"""The local runner: worker processes, each loading TensorFlow and the weights once and taking jobs
one at a time.

Workers are started with multiprocessing's "spawn" (TensorFlow is not fork-safe) and talk to the
parent over one pipe each, so the parent always knows which job each worker holds: a worker that
dies (killed for memory, say) fails only that job, and a new worker takes its place. Each GPU worker
sees only its own GPU (``CUDA_VISIBLE_DEVICES``, set before TensorFlow loads there).

Ctrl-C: workers ignore SIGINT, so the parent alone decides. It sends each worker SIGTERM, which the
worker turns into KeyboardInterrupt: the running synthesis stops, its unfinished output is removed,
and the outcome comes back before the worker exits.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import signal
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from texsynth.batch.manifest import Job
from texsynth.batch.report import Outcome

__all__ = ["DEFAULT_RUNNER", "available_cpus", "default_threads", "run_local", "visible_gpus"]

# "module:Class" of what runs jobs in a worker: built once per worker as Class(threads, name),
# then .run(job) -> Outcome per job. Tests substitute a stand-in.
DEFAULT_RUNNER = "texsynth.batch.worker:JobRunner"
# How long the parent waits for workers to finish their interrupted jobs before killing them.
STOP_SECONDS = 30.0


def visible_gpus(environ: Mapping[str, str] | None = None,
                 driver_dir: Path = Path("/proc/driver/nvidia/gpus")) -> list[str]:
    """The GPUs this process may use, as ``CUDA_VISIBLE_DEVICES`` entries, without loading TensorFlow.

    ``CUDA_VISIBLE_DEVICES`` when set (empty or ``-1``: none); else one entry per GPU the NVIDIA
    driver lists (``/proc/driver/nvidia/gpus``, or ``nvidia-smi -L``); else none.
    """
    environ = os.environ if environ is None else environ
    if "CUDA_VISIBLE_DEVICES" in environ:
        entries = [entry.strip() for entry in environ["CUDA_VISIBLE_DEVICES"].split(",") if entry.strip()]
        return [] if not entries or entries[0] == "-1" else entries
    try:
        count = len([entry for entry in driver_dir.iterdir()])
    except OSError:
        count = 0
    if not count:
        try:
            listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10)
            count = sum(line.startswith("GPU ") for line in listing.stdout.splitlines())
        except (OSError, subprocess.SubprocessError):
            count = 0
    return [str(index) for index in range(count)]


def available_cpus() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_threads(workers: int) -> int:
    """Threads per job when ``workers`` jobs run at once: the cores shared out, at least one."""
    return max(1, available_cpus() // workers)


def _worker_main(conn: Any, env: dict[str, str], threads: int | None, name: str, runner_path: str) -> None:
    """A worker process: start the runner once, then run the jobs the parent sends until ``None``."""
    # Before anything loads TensorFlow here: which GPU, how many threads.
    os.environ.update(env)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent alone handles Ctrl-C
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # the parent's stop: KeyboardInterrupt
    try:
        module, _, attribute = runner_path.partition(":")
        try:
            runner = getattr(importlib.import_module(module), attribute)(threads, name)
        except Exception as error:  # noqa: BLE001  reported to the parent as one line
            from texsynth.batch.report import one_line

            conn.send(("fatal", one_line(error)))
            return
        while True:
            job = conn.recv()
            if job is None:
                return
            outcome = runner.run(job)
            conn.send(("outcome", outcome))
            if outcome.status == "interrupted":
                return
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        return  # stopped while idle, or the parent is gone


@dataclass
class _Slot:
    """One worker process and the job it holds."""

    name: str
    env: dict[str, str]
    process: Any = None
    conn: Any = None
    job: Job | None = None
    alive: bool = False


class _Pool:
    """The worker processes of one batch: hands out jobs, reaps dead workers, stops them on Ctrl-C."""

    def __init__(self, workers: int, threads: int | None, gpus: Sequence[str], runner: str,
                 on_outcome: Callable[[Outcome], None]) -> None:
        self.context = multiprocessing.get_context("spawn")
        self.threads, self.runner, self.on_outcome = threads, runner, on_outcome
        self.fatal: str | None = None
        self.slots = []
        for index in range(workers):
            env = {"TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3")}
            name = f"local-{index}"
            if gpus:
                env["CUDA_VISIBLE_DEVICES"] = gpus[index % len(gpus)]
                name += f" gpu {env['CUDA_VISIBLE_DEVICES']}"
            self.slots.append(_Slot(name, env))

    def start(self, slot: _Slot) -> None:
        parent_end, child_end = self.context.Pipe()
        process = self.context.Process(target=_worker_main, name=f"texsynth batch {slot.name}", daemon=True,
                                       args=(child_end, slot.env, self.threads, slot.name, self.runner))
        # A worker starts with SIGINT ignored (inherited through exec), so a Ctrl-C during its
        # start-up cannot kill it half-way with a traceback; restored at once in the parent.
        main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main_thread else None
        try:
            process.start()
        finally:
            if main_thread:
                signal.signal(signal.SIGINT, previous)
        child_end.close()
        slot.process, slot.conn, slot.job, slot.alive = process, parent_end, None, True

    def _receive(self, slot: _Slot) -> None:
        """Take what ``slot``'s worker sent; a closed pipe means it is gone."""
        try:
            while slot.conn.poll():
                kind, payload = slot.conn.recv()
                if kind == "outcome":
                    slot.job = None
                    self.on_outcome(payload)
                elif kind == "fatal":
                    self.fatal = self.fatal or payload
        except (EOFError, OSError):
            pass

    def _reap(self, slot: _Slot, pending: deque) -> None:
        """``slot``'s process has exited: fail the job it held, or give it back when it never started."""
        self._receive(slot)
        slot.process.join()
        slot.alive = False
        slot.conn.close()
        job, slot.job = slot.job, None
        if job is None:
            return
        if self.fatal is not None:
            pending.appendleft(job)  # the worker could not start: the job never ran
        else:
            code = slot.process.exitcode
            self.on_outcome(Outcome.of(job, "failed", error=f"worker process died (exit status {code}"
                                       f"{', killed for lack of memory?' if code == -signal.SIGKILL else ''})",
                                       worker=slot.name))

    def run(self, jobs: Sequence[Job]) -> None:
        pending = deque(jobs)
        for slot in self.slots[:len(jobs)]:
            self.start(slot)
        restarts = len(jobs)  # a worker dying on every job cannot loop for ever
        while True:
            for slot in self.slots:
                if slot.alive and slot.job is None and pending:
                    slot.job = pending.popleft()
                    slot.conn.send(slot.job)
            busy = [slot for slot in self.slots if slot.alive]
            if not busy or (not pending and not any(slot.job for slot in busy)):
                break
            ready = wait([s.conn for s in busy] + [s.process.sentinel for s in busy], timeout=1.0)
            for slot in busy:
                if slot.conn in ready:
                    self._receive(slot)
                if slot.process.sentinel in ready or not slot.process.is_alive():
                    self._reap(slot, pending)
                    if pending and self.fatal is None and restarts > 0:
                        restarts -= 1
                        self.start(slot)
        for job in pending:  # no worker could take them
            reason = self.fatal or "workers kept dying"
            self.on_outcome(Outcome.of(job, "failed", error=f"no worker could start: {reason}"))
        self.close()

    def close(self) -> None:
        """Let idle workers exit."""
        for slot in self.slots:
            if slot.alive:
                try:
                    slot.conn.send(None)
                except OSError:
                    pass
        for slot in self.slots:
            if slot.alive:
                slot.process.join(STOP_SECONDS)
                if slot.process.is_alive():
                    slot.process.kill()
                    slot.process.join()
                slot.alive = False

    def stop(self) -> None:
        """Ctrl-C: stop every worker; the outcomes of the jobs they held come back as ``interrupted``."""
        live = [slot for slot in self.slots if slot.alive]
        for slot in live:
            slot.process.terminate()  # SIGTERM -> KeyboardInterrupt in the worker
        deadline = time.monotonic() + STOP_SECONDS
        try:
            while any(slot.process.is_alive() for slot in live) and time.monotonic() < deadline:
                wait([slot.process.sentinel for slot in live if slot.process.is_alive()], timeout=0.5)
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting
            pass
        for slot in live:
            if slot.process.is_alive():
                slot.process.kill()
            slot.process.join()
            self._receive(slot)
            if slot.job is not None:
                self.on_outcome(Outcome.of(slot.job, "interrupted", worker=slot.name))
                slot.job = None
            slot.alive = False


def run_local(jobs: Sequence[Job], workers: int, threads: int | None, on_outcome: Callable[[Outcome], None],
              gpus: Sequence[str] = (), runner: str = DEFAULT_RUNNER) -> None:
    """Run ``jobs`` on ``workers`` local worker processes.

    Parameters
    ----------
    jobs : sequence of Job
    workers : int
        Worker processes (no more are started than there are jobs).
    threads : int or None
        TensorFlow intra-op and BLAS threads per worker (None: TensorFlow's own choice).
    on_outcome : callable
        Called in this process with each job's :class:`Outcome` as it finishes.
    gpus : sequence of str
        ``CUDA_VISIBLE_DEVICES`` entries: worker ``i`` sees only ``gpus[i % len(gpus)]``.
    runner : str
        ``module:Class`` that runs jobs in a worker (see :data:`DEFAULT_RUNNER`).

    Raises
    ------
    KeyboardInterrupt
        After Ctrl-C, once the workers have stopped and reported what they held.
    """
    pool = _Pool(workers, threads, gpus, runner, on_outcome)
    try:
        pool.run(jobs)
    except KeyboardInterrupt:
        pool.stop()
        raise
