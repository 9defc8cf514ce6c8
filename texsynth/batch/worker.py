"""One batch job in a process that has TensorFlow: the thread settings, weights loaded once, the
record written after the image, and every failure turned into one line.

Both runners use this, in processes that exist to run jobs (local worker processes, Ray workers),
so :func:`configure_process` sets that process's thread counts: the same thread counts on both
paths are what make the same seed give the same pixels.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import sys
import time
from typing import Any

from texsynth.batch import records
from texsynth.batch.manifest import Job, NON_PIXEL_SETTINGS
from texsynth.batch.report import Outcome, one_line
from texsynth.errors import TexsynthError

__all__ = ["JobRunner", "configure_process"]


def configure_process(threads: int | None) -> None:
    """Start TensorFlow in this process with ``threads`` intra-op threads, and as many BLAS threads.

    TensorFlow's matrix products split their sums over threads, so the thread count changes the
    floating-point order and hence the pixels. Ray starts its workers with ``OMP_NUM_THREADS=1``
    while local workers inherit the parent's environment; setting the counts explicitly here
    makes both paths compute alike.

    Parameters
    ----------
    threads : int or None
        None leaves this process's settings as they are (a caller that started TensorFlow itself);
        otherwise TensorFlow's Python warnings are silenced too (a worker process runs many jobs).

    Raises
    ------
    TexsynthError
        If TensorFlow already runs here with another intra-op thread count.
    """
    from texsynth.runtime import start_tensorflow

    if threads is not None and "tensorflow" not in sys.modules:
        # Read by TensorFlow (and OpenMP, where a build uses it) when it loads.
        os.environ["OMP_NUM_THREADS"] = os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
    start_tensorflow()
    if threads is None:
        return
    import tensorflow as tf
    from threadpoolctl import threadpool_limits

    # Every job builds its own tf.functions, which TensorFlow's Python logger reports as "retracing"
    # after a few jobs: expected in a worker that runs many jobs, and noise beside the batch's line.
    tf.get_logger().setLevel("ERROR")

    if tf.config.threading.get_intra_op_parallelism_threads() != threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
        except RuntimeError:
            raise TexsynthError(f"TensorFlow already runs in this process with other thread settings; "
                                f"cannot use {threads} threads") from None
    threadpool_limits(threads)  # numpy/scipy BLAS (the optimiser's vector sums)


def _remove_if_written_since(path: os.PathLike, since_ns: int) -> None:
    """Remove ``path`` if this job wrote it: an interrupted synthesis leaves its latest, unfinished image."""
    with contextlib.suppress(OSError):
        if os.stat(path).st_mtime_ns >= since_ns:
            os.unlink(path)


class JobRunner:
    """Runs jobs one after another in this process, loading each weight file once.

    Parameters
    ----------
    threads : int or None
        Passed to :func:`configure_process` (once, here).
    name : str
        Names this worker in outcomes (``local-0``, ``ray 10.0.0.5 pid 123``).
    """

    def __init__(self, threads: int | None, name: str = "") -> None:
        configure_process(threads)
        self.name = name or f"pid {os.getpid()}"
        self._weights: dict[tuple[str, str], Any] = {}

    def _load_weights(self, name: str, data_dir: str) -> Any:
        from texsynth.nn.weights import load_weights

        key = (name, data_dir)
        if key not in self._weights:
            self._weights[key] = load_weights(name, data_dir)
        return self._weights[key]

    def run(self, job: Job) -> Outcome:
        """Run ``job``: write its output, then its record; never raises for the job's own errors.

        Returns
        -------
        Outcome
            ``done``; ``failed`` with a one-line error; or ``interrupted`` (Ctrl-C, or the batch
            stopping this worker), in which case no output of this run is left behind.
        """
        from texsynth.commands import synth

        start, started_ns = time.perf_counter(), time.time_ns()
        argv = [*job.argv, "--quiet"]  # many jobs at once: only the batch's own line is shown
        try:
            records.clear_record(job.output)
            args, command = synth.parse_command(argv, "texsynth batch")
            weights = self._load_weights(command.weights, str(command.data_dir))
            # run() prints the output's path; the batch prints its outputs itself, once.
            with contextlib.redirect_stdout(io.StringIO()):
                status = synth.run(command, args, "texsynth batch", argv, weights=weights)
            if status == 130:
                _remove_if_written_since(job.output, started_ns)
                return Outcome.of(job, "interrupted", time.perf_counter() - start, worker=self.name)
            fields = {key: value for key, value in dataclasses.asdict(command).items()
                      if key not in NON_PIXEL_SETTINGS}
            records.write_record(job, fields, time.perf_counter() - start)
            return Outcome.of(job, "done", time.perf_counter() - start, worker=self.name)
        except KeyboardInterrupt:
            _remove_if_written_since(job.output, started_ns)
            return Outcome.of(job, "interrupted", time.perf_counter() - start, worker=self.name)
        except SystemExit as exit_:  # synth's parser; the manifest was checked, so this is unexpected
            error = f"invalid flags (exit status {exit_.code})"
        except MemoryError:
            error = "out of memory; try a smaller output size or fewer octaves"
        except Exception as exc:  # noqa: BLE001  any failure stays this job's, as one line
            error = one_line(exc)
        return Outcome.of(job, "failed", time.perf_counter() - start, error, worker=self.name)
