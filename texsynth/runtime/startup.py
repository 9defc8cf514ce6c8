"""Starting TensorFlow for texsynth: quietly, and with one inter-op thread."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator

__all__ = ["start_tensorflow"]


def start_tensorflow() -> None:
    """Import and configure TensorFlow for a command, without its C++ start-up chatter.

    Some lines (oneDNN, CUDA probing) are printed before TensorFlow reads its log level, so the
    process's standard error is pointed at /dev/null while TensorFlow loads, unless the user asked
    for its logs (TF_CPP_MIN_LOG_LEVEL of 0 or 1).

    Independent ops (the octaves of a pyramid) run one after another: on 2 cores that was as fast
    as running them side by side and lowered peak memory of synthesis by about 120 MB.
    """
    if "tensorflow" in sys.modules:
        return
    verbose = os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3") in ("0", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with contextlib.nullcontext() if verbose else _stderr_to_devnull():
        import tensorflow as tf

        tf.config.threading.set_inter_op_parallelism_threads(1)
        tf.config.list_physical_devices()


@contextlib.contextmanager
def _stderr_to_devnull() -> Iterator[None]:
    """Point the process's standard error (file descriptor 2, which C++ code writes to) at /dev/null."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
