"""Writing files atomically, and checking that an output folder can take them.

Every write goes to a temporary file in the destination folder and is renamed into place, so a
reader (or a Ctrl-C) never sees a half-written file. Checks made before a run create nothing, so a
run refused for bad input leaves no empty folders behind; the first write makes the folders it needs.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any, Iterator

from texsynth.errors import TexsynthError

__all__ = ["atomic_path", "check_writable_dir", "ensure_writable_dir", "write_json", "write_text"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``.

    Missing folders above ``path`` are created. On any exception the temporary file is removed and
    ``path`` is left untouched.
    """
    path = Path(path)
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = _create_temporary(directory, path.name)
    except OSError as error:
        raise TexsynthError(f"cannot write to {directory}: {error.strerror or error}") from None
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _create_temporary(directory: Path, name: str) -> Path:
    """Create a new empty file with an unused hidden name beside ``name`` in ``directory``.

    Opened with mode 0666 so the kernel applies the umask, as to any new output: ``mkstemp`` makes a
    private 0600 file, and reading the umask to widen it means setting it, which would change it for
    every thread of the process for a moment.
    """
    for _ in range(100):
        tmp = directory / f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"no free temporary name for {name}")


def write_text(text: str, path: str | os.PathLike) -> Path:
    """Atomically write a text file."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return path


def write_json(data: Any, path: str | os.PathLike) -> Path:
    """Atomically write ``data`` as indented JSON."""
    return write_text(json.dumps(data, indent=2, default=str) + "\n", path)


def check_writable_dir(path: str | os.PathLike) -> Path:
    """Check that ``path`` is, or can be made, a folder that takes files, creating nothing.

    The nearest existing folder at or above ``path`` gets a test file (removed at once): permission
    bits do not tell, for root or on read-only and virtual file systems.

    Raises
    ------
    TexsynthError
        If something on the way is not a folder, or the nearest existing folder cannot be written.
    """
    path = Path(path)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise TexsynthError(f"cannot write to output folder {path}: {existing} is not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise TexsynthError(f"cannot write to output folder {path}: {error.strerror or error}") from None
    return path


def ensure_writable_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` (and parents) if needed and check that files can be written in it.

    Raises
    ------
    TexsynthError
        If the folder cannot be created or written.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TexsynthError(f"cannot write to output folder {path}: {error.strerror or error}") from None
    return check_writable_dir(path)
