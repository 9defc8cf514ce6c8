"""What a batch tells: each job's :class:`Outcome`, the overall progress line, the summary table and
``batch.json``."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence, TextIO

from texsynth.batch.manifest import Job
from texsynth.io.files import write_json
from texsynth.progress import Progress, format_duration

__all__ = ["STATUSES", "JobsProgress", "Outcome", "one_line", "summary_table", "write_report"]

# done: written in this run; skipped: done before (output and record match); failed: the job's own
# error; interrupted: stopped by Ctrl-C while running; not run: never started (the batch stopped).
STATUSES = ("done", "skipped", "failed", "interrupted", "not run")


@dataclass
class Outcome:
    """How one job ended (sent back by workers and Ray tasks, so plain values only)."""

    index: int
    label: str
    output: str
    status: str
    seconds: float = 0.0
    error: str | None = None
    worker: str | None = None

    @classmethod
    def of(cls, job: Job, status: str, seconds: float = 0.0, error: str | None = None,
           worker: str | None = None) -> "Outcome":
        """An outcome of ``job``."""
        return cls(job.index, job.label, str(job.output), status, round(seconds, 3), error, worker)


def one_line(error: BaseException) -> str:
    """An exception as one line: its message's first line, after its type unless it is a user error."""
    from texsynth.errors import TexsynthError

    lines = str(error).strip().splitlines()
    text = lines[0] if lines else ""
    if isinstance(error, TexsynthError) and text:
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class JobsProgress(Progress):
    """The batch's one overall line: jobs finished of those to run, failures, ETA.

    :class:`~texsynth.progress.Progress` counts iterations; this counts jobs, with the same
    behaviour (redrawn in place on a terminal, a plain line at most every few seconds in a log).
    """

    def __init__(self, total: int, stream: TextIO | None = None, quiet: bool = False,
                 log_interval: float = 5.0) -> None:
        super().__init__(total, "batch", stream=stream, quiet=quiet, log_interval=log_interval)
        self.finished = 0
        self.failed = 0

    def add(self, outcome: Outcome) -> None:
        """Count a finished job; a failure also gets a line of its own."""
        if outcome.status in ("interrupted", "not run"):
            return  # the batch is stopping; the summary tells
        self.finished += 1
        if outcome.status == "failed":
            self.failed += 1
            self.note(f"{outcome.label} failed: {outcome.error}")
        self.update(self.finished)

    def line(self, step: int, loss: float | None, extra: str, now: float) -> str:
        """Jobs done of the total, failures so far and the ETA (``loss`` is unused)."""
        _, eta = self._rate(step, now)
        parts = [self.label, f"jobs {step}/{self.total}", f"{self.failed} failed", eta]
        return "  ".join(parts + ([extra] if extra else []))


def _counts(outcomes: Iterable[Outcome]) -> dict[str, tuple[int, float]]:
    counts = {status: [0, 0.0] for status in STATUSES}
    for outcome in outcomes:
        counts[outcome.status][0] += 1
        counts[outcome.status][1] += outcome.seconds
    return {status: (n, s) for status, (n, s) in counts.items()}


def summary_table(outcomes: Sequence[Outcome], wall_seconds: float) -> str:
    """The table printed at the end: jobs and job-seconds per status, then each failure on a line."""
    counts = _counts(outcomes)
    rows = [(status, n, seconds) for status, (n, seconds) in counts.items()
            if n or status in ("done", "skipped", "failed")]
    lines = [f"{'status':<12}{'jobs':>6}{'seconds':>10}"]
    lines += [f"{status:<12}{n:>6}{seconds:>10.1f}" for status, n, seconds in rows]
    lines.append(f"{'total':<12}{len(outcomes):>6}{sum(o.seconds for o in outcomes):>10.1f}"
                 f"   (wall {format_duration(wall_seconds)})")
    for outcome in outcomes:
        if outcome.status == "failed":
            lines.append(f"failed: {outcome.label}: {outcome.output}: {outcome.error}")
    return "\n".join(lines)


def write_report(path: str | os.PathLike, outcomes: Sequence[Outcome], **fields: Any) -> Path:
    """Atomically write ``batch.json``: ``fields`` (how the batch ran), the counts, every job's outcome.

    Parameters
    ----------
    path : path-like
    outcomes : sequence of Outcome
        One per job of the batch (of the shard), in manifest order.
    **fields
        E.g. ``jobs_file``, ``shard``, ``runner``, ``workers``, ``threads``, ``seconds``, ``interrupted``.
    """
    counts = {status: n for status, (n, _) in _counts(outcomes).items()}
    return write_json({**fields, "counts": counts, "ok": counts["done"] + counts["skipped"] == len(outcomes),
                       "jobs": [asdict(outcome) for outcome in outcomes]}, path)
