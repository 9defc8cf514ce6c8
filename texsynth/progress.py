"""Progress reporting for long loops: a live line on a terminal, plain throttled lines in logs."""

from __future__ import annotations

import sys
import time
from itertools import accumulate
from typing import Sequence, TextIO


def format_duration(seconds: float) -> str:
    """Format seconds as ``H:MM:SS`` or ``M:SS``."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Report iteration, loss, iterations per second and ETA.

    On a TTY the line is redrawn in place; otherwise a plain line is printed at most
    every ``log_interval`` seconds (and always for the last step), so logs stay short.

    Parameters
    ----------
    total : int
        Expected number of steps (for the ETA).
    label : str
        Prefix of each line, e.g. ``"octave 2"`` or ``"synth"``.
    stream : text stream, optional
        Where to write; standard error by default.
    quiet : bool
        Print nothing.
    log_interval : float
        Seconds between plain lines when not on a TTY.
    costs : sequence of float, optional
        Relative cost of each of the ``total`` steps, where they differ (a coarse-to-fine stage's
        iterations cost its canvas's pixels): the ETA is the remaining cost at the rate of cost
        done so far, not the remaining steps at the mean step rate, which promised a quarter of
        the time left when the last, full-size stage began.
    warmup : int
        Leading steps left out of the rate: a command's first iteration also traces its graph
        (tens of seconds at 64² that would otherwise be extrapolated over the whole run, an ETA
        of six hours for a six-minute run). Until they are done the ETA reads ``?``.
    """

    def __init__(self, total: int, label: str = "", stream: TextIO | None = None, quiet: bool = False,
                 log_interval: float = 2.0, costs: Sequence[float] | None = None,
                 warmup: int = 0) -> None:
        if costs is not None and len(costs) != total:
            raise ValueError(f"{len(costs)} step costs for {total} steps")
        self.total = total
        self._done_cost = None if costs is None else list(accumulate(map(float, costs), initial=0.0))
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        self.log_interval = log_interval
        self.is_tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()
        self._last_print = -float("inf")
        self._drawn = False
        self.warmup = warmup
        # (step, time) from which the rate is measured; set when the warm-up steps are done.
        self._anchor: tuple[int, float] | None = None

    def update(self, step: int, loss: float | None = None, extra: str = "") -> None:
        """Report that ``step`` of ``total`` steps are done."""
        if self.quiet:
            return
        now = time.perf_counter()
        self._emit(self.line(step, loss, extra, now), step, now)

    def line(self, step: int, loss: float | None, extra: str, now: float) -> str:
        """The text of one report: label, step, loss, rate and ETA (a subclass may say other things)."""
        rate, eta = self._rate(step, now)
        parts = [self.label] if self.label else []
        parts.append(f"iter {step}/{self.total}")
        if loss is not None:
            parts.append(f"loss {loss:.4g}")
        parts.append(f"{rate:.2f} it/s")
        parts.append(eta)
        if extra:
            parts.append(extra)
        return "  ".join(parts)

    def _rate(self, step: int, now: float) -> tuple[float, str]:
        """Steps per second since the warm-up, and the ETA as text."""
        if self._anchor is None and step >= self.warmup:
            self._anchor = (step, now) if self.warmup > 0 else (0, self.start)
        if self._anchor is None or step <= self._anchor[0] or now <= self._anchor[1]:
            elapsed = now - self.start
            return (step / elapsed if elapsed > 0 else 0.0), "ETA ?"
        first, since = self._anchor
        elapsed = now - since
        rate = (step - first) / elapsed
        if self._done_cost is not None and 0 < step <= self.total:
            done = self._done_cost[step] - self._done_cost[first]
            eta = (self._done_cost[-1] - self._done_cost[step]) * elapsed / done if done > 0 else float("nan")
        else:
            eta = (self.total - step) / rate
        return rate, f"ETA {format_duration(eta)}" if eta == eta else "ETA ?"

    def _emit(self, line: str, step: int, now: float) -> None:
        """Redraw the live line on a terminal; in a log, print it at most every ``log_interval`` s."""
        if self.is_tty:
            self.stream.write("\r\033[K" + line)
            self.stream.flush()
            self._drawn = True
        elif now - self._last_print >= self.log_interval or step >= self.total:
            self.stream.write(line + "\n")
            self.stream.flush()
            self._last_print = now

    def note(self, message: str) -> None:
        """Print a line of its own between updates (on a TTY the live line is redrawn below it)."""
        if self.quiet:
            return
        self.stream.write(("\r\033[K" if self._drawn else "") + message + "\n")
        self.stream.flush()
        self._drawn = False

    def close(self) -> None:
        """End the live line (on a TTY) so later output starts on a new line."""
        if self._drawn and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def log(message: str, quiet: bool = False, stream: TextIO | None = None) -> None:
    """Print an informational line (to standard error, so standard output stays clean)."""
    if not quiet:
        print(message, file=stream if stream is not None else sys.stderr, flush=True)
