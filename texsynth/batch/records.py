"""The record kept beside each batch output (``OUTPUT.texsynth.json``), and the decision to skip a job.

A job is done when its output exists and the record beside it holds the job's settings. The record is
written atomically after the image, and removed before a job (re)starts, so a killed or interrupted
job never leaves an output that a rerun would take for done.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Mapping

from texsynth import __version__
from texsynth.batch.manifest import Job
from texsynth.io.files import write_json

__all__ = ["RECORD_SUFFIX", "clear_record", "is_done", "read_record", "record_path", "write_record"]

RECORD_SUFFIX = ".texsynth.json"


def record_path(output: str | os.PathLike) -> Path:
    """The record of ``output``: ``out/bark.png`` -> ``out/bark.png.texsynth.json``."""
    output = Path(output)
    return output.with_name(output.name + RECORD_SUFFIX)


def read_record(output: str | os.PathLike) -> dict[str, Any] | None:
    """The record beside ``output``, or None where there is none or it cannot be read."""
    try:
        data = json.loads(record_path(output).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_done(job: Job) -> bool:
    """Whether ``job``'s output exists with a record of the same settings (a rerun skips it)."""
    if not job.output.is_file():
        return False
    record = read_record(job.output)
    return record is not None and record.get("settings") == job.settings


def clear_record(output: str | os.PathLike) -> None:
    """Remove the record of ``output`` (before its job runs, so a partial run never looks done)."""
    record_path(output).unlink(missing_ok=True)


def write_record(job: Job, command: Mapping[str, Any], seconds: float) -> Path:
    """Atomically write the record of a finished job (after its output).

    Parameters
    ----------
    job : Job
    command : mapping
        What ran: the resolved synth command (``dataclasses.asdict`` of its ``SynthCommand``, less
        the fields that do not change the pixels). Kept for people; reruns compare ``settings``.
    seconds : float
        How long the job took.
    """
    return write_json({
        "output": str(job.output),
        "settings": job.settings,
        "random_seed": job.random_seed,
        "seed_derived": job.seed_derived,
        "command": dict(command),
        "seconds": round(seconds, 3),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "texsynth": __version__,
    }, record_path(job.output))
