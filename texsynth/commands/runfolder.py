"""What every command records about a run: its output folder, ``command.txt``, ``run.json``, peak memory."""

from __future__ import annotations

import argparse
import dataclasses
import platform
import resource
import shlex
import sys
from pathlib import Path
from typing import Any, Sequence

from texsynth import __version__
from texsynth.errors import TexsynthError
from texsynth.io.files import ensure_writable_dir, write_json, write_text

__all__ = ["make_output_folder", "peak_memory_mb", "run_header", "write_command", "write_run_json"]


def make_output_folder(parent: Path, name: str) -> Path:
    """Create ``parent/name``, or ``name.0``, ``name.1``… when taken."""
    ensure_writable_dir(parent)
    candidates = [name] + [f"{name}.{i}" for i in range(10000)]
    for candidate in candidates:
        folder = parent / candidate
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
        except OSError as error:
            raise TexsynthError(f"cannot create output folder {folder}: {error.strerror or error}") from None
    raise TexsynthError(f"too many output folders named {name}.* in {parent}")


def write_command(folder: Path, prog: str, argv: Sequence[str]) -> Path:
    """Write ``command.txt``: the command line that made the folder, quoted for a shell."""
    return write_text(" ".join(shlex.quote(a) for a in [prog, *argv]) + "\n", folder / "command.txt")


def peak_memory_mb() -> float:
    """Peak resident memory of this process in MiB.

    On Linux its high-water mark (``VmHWM``): ``ru_maxrss`` survives ``exec``, so a process started
    by a large one (a batch worker, a test runner's worker) reported its parent's peak.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / 1024 if platform.system() == "Darwin" else peak / 1024


def run_header(prog: str, argv: Sequence[str], args: argparse.Namespace, config: Any, arch: str,
               weights_source: str) -> dict[str, Any]:
    """The first entries of a ``run.json``: how the run was started, the resolved configuration and
    the weights. ``arguments`` are the parsed flags as given; ``config`` is what actually ran."""
    return {
        "command": [prog, *argv],
        "arguments": vars(args),
        "config": dataclasses.asdict(config),
        "texsynth": __version__,
        "python": sys.version.split()[0],
        "weights": {"arch": arch, "source": weights_source},
    }


def write_run_json(folder: Path, header: dict[str, Any], **fields: Any) -> Path:
    """Write ``folder/run.json``: the :func:`run_header` followed by the command's own fields."""
    return write_json({**header, **fields}, folder / "run.json")
