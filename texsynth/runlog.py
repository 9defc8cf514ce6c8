"""What every command records about a run: its output folder, the header of run.json, peak memory."""

from __future__ import annotations

import argparse
import platform
import resource
import sys
from pathlib import Path
from typing import Any, Sequence

from texsynth import __version__
from texsynth.errors import TexsynthError
from texsynth.io import ensure_writable_dir


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


def peak_memory_mb() -> float:
    """Peak resident memory of this process in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / 1024 if platform.system() == "Darwin" else peak / 1024


def run_header(prog: str, argv: Sequence[str], args: argparse.Namespace, arch: str, weights_source: str) -> dict[str, Any]:
    """The first entries of a ``run.json``: how the run was started and with which weights."""
    return {
        "command": [prog, *argv],
        "arguments": vars(args),
        "texsynth": __version__,
        "python": sys.version.split()[0],
        "weights": {"arch": arch, "source": weights_source},
    }
