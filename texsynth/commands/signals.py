"""How commands treat Ctrl-C and SIGTERM around work that must not be cut short.

Signal handlers belong to the process, so only commands (never library code) install them, and only
from the main thread, where Python delivers signals.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

__all__ = ["interrupts_held", "sigterm_interrupts"]


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM (``kill``, a Kubernetes pod stopping) raises ``KeyboardInterrupt`` as Ctrl-C does, so
    the work stops cleanly."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C until the block ends, then raise ``KeyboardInterrupt``.

    For writing a run's final outputs: a Ctrl-C pressed just as a run finishes would otherwise
    leave its last image unwritten. Where Ctrl-C is ignored (a shell's background job) it stays so.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed = []
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(signum))
    try:
        yield
    finally:
        if previous is not signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.default_int_handler if previous is None else previous)
    if pressed:
        raise KeyboardInterrupt
