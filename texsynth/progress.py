"""Progress reporting for long loops: a live line on a terminal, plain throttled lines in logs."""

from __future__ import annotations

import sys
import time
from typing import Sequence, TextIO

__all__ = ["RECENT_STEPS", "Progress", "format_duration", "log"]

# Steps of the current stage its rate is measured over, once it has had that many.
RECENT_STEPS = 10


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
        iterations cost its canvas's pixels). Runs of equal cost are stages, each timed on its
        own from its first reported step (which also traces the stage's graph) on; the rate shown
        is the current stage's. Remaining steps are priced by ``a + b * cost`` through the two
        latest timed stages: small stages cost more than their share of pixels (fixed work per
        step), and the mean rate of all steps so far promised twice the time left while the
        coarse stages ran (a quarter of it before costs were counted at all). Until two stages
        (the current one over ``RECENT_STEPS`` steps) are timed, the ETA of steps in untimed stages
        reads ``?``.
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
        # Stages: runs of steps of equal cost, as [first step, last step, cost per step] (1-based).
        self._stages: list[list] = []
        for step, cost in enumerate(costs or [], 1):
            if self._stages and self._stages[-1][2] == float(cost):
                self._stages[-1][1] = step
            else:
                self._stages.append([step, step, float(cost)])
        # The first (step, time) reported in each stage and the latest RECENT_STEPS + 1 ones.
        self._seen: dict[int, list[tuple[int, float]]] = {}
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
        """Steps per second since the warm-up (with costs: in the current stage), and the ETA as text."""
        if self._stages and 0 < step <= self.total:
            return self._staged_rate(step, now)
        if self._anchor is None and step >= self.warmup:
            self._anchor = (step, now) if self.warmup > 0 else (0, self.start)
        if self._anchor is None or step <= self._anchor[0] or now <= self._anchor[1]:
            elapsed = now - self.start
            return (step / elapsed if elapsed > 0 else 0.0), "ETA ?"
        first, since = self._anchor
        rate = (step - first) / (now - since)
        return rate, f"ETA {format_duration((self.total - step) / rate)}"

    def _staged_rate(self, step: int, now: float) -> tuple[float, str]:
        """:meth:`_rate` where steps cost differently: each stage timed on its own, and the stages
        to come priced by a linear cost model through the two latest timed ones."""
        current = next(k for k, (first, last, _) in enumerate(self._stages) if first <= step <= last)
        if not self._seen and self.warmup == 0:
            self._seen[0] = [(0, self.start)]  # no warm-up: the first stage is timed from the start
        if step >= self.warmup:
            seen = self._seen.setdefault(current, [])
            seen.append((step, now))
            del seen[1:-RECENT_STEPS - 1]  # the first report and the latest ones
        # Seconds per step and cost per step of every stage with two reports: a finished stage over
        # all its steps, the current one over its latest ones (its first steps are slower: the line
        # search tries more points before L-BFGS has curvature pairs).
        timed = {}
        for k, seen in self._seen.items():
            (s0, t0), (s1, t1) = seen[max(0, len(seen) - RECENT_STEPS - 1) if k == current else 0], seen[-1]
            if s1 > s0 and t1 > t0:
                timed[k] = ((t1 - t0) / (s1 - s0), self._stages[k][2])
        if not timed:
            elapsed = now - self.start
            return (step / elapsed if elapsed > 0 else 0.0), "ETA ?"
        rate = 1.0 / timed.get(current, timed[max(timed)])[0]
        # The stages the cost model is fitted to: finished ones, and the current one once it has
        # RECENT_STEPS steps timed (its first ones are slower).
        fitted = {k: v for k, v in timed.items() if k != current or len(self._seen[k]) > RECENT_STEPS}
        if len(fitted) < 2 and (current not in timed or current < len(self._stages) - 1):
            # One stage's time says nothing of how the time grows with the cost: taken as
            # proportional (no fixed part), a quick start's 64x64 stage promised 1:33 where 0:52 was
            # left, and a fit to the next stage's first two steps still 1:10.
            return rate, "ETA ?"
        latest = sorted(fitted)[-2:]
        seconds, cost = fitted[latest[-1]] if latest else (0.0, 1.0)  # no fit needed: nothing untimed
        slope, fixed = seconds / cost, 0.0
        if len(latest) == 2:
            earlier_seconds, earlier_cost = fitted[latest[0]]
            if earlier_cost != cost and (seconds - earlier_seconds) / (cost - earlier_cost) > 0:
                slope = (seconds - earlier_seconds) / (cost - earlier_cost)
                fixed = max(seconds - slope * cost, 0.0)
        eta = 0.0
        for k in range(current, len(self._stages)):
            first, last, stage_cost = self._stages[k]
            left = last - max(first - 1, step)
            eta += left * (timed[k][0] if k in timed else fixed + slope * stage_cost)
        return rate, f"ETA {format_duration(eta)}"

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
