"""What an optimiser is: the protocol every member of :mod:`texsynth.optim` follows, its result and
its stop reasons, in the project's own words."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Protocol, Sequence

import numpy as np

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = ["Callback", "LossAndGrad", "OptimizeResult", "Optimizer", "StopRule", "StopReason"]

LossAndGrad = Callable[["tf.Tensor"], "tuple[tf.Tensor, tf.Tensor]"]
Callback = Callable[[int, np.ndarray, float], None]
# Given the losses so far (one per iteration), whether to stop now.
StopRule = Callable[[Sequence[float]], bool]


class StopReason(str, enum.Enum):
    """Why an optimiser stopped. The value is what logs and ``run.json`` say."""

    BUDGET = "iteration budget reached"
    EVALUATIONS = "evaluation budget reached"
    CONVERGED = "converged: the loss stopped falling by more than the tolerance"
    SMALL_GRADIENT = "converged: the gradient is below the tolerance"
    NO_PROGRESS = "no progress: the line search found no lower loss along the search direction"
    TARGET = "target loss reached"
    SETTLED = "settled: the loss fell too little over the last iterations to go on (the caller's stop rule)"
    INTERRUPTED = "interrupted"

    @property
    def early(self) -> bool:
        """Whether the optimiser stopped by itself before its budget (not interrupted)."""
        return self in (StopReason.CONVERGED, StopReason.SMALL_GRADIENT, StopReason.NO_PROGRESS, StopReason.SETTLED)


@dataclass
class OptimizeResult:
    """Outcome of an optimiser's run.

    Attributes
    ----------
    x : ndarray
        The latest accepted iterate, in the shape of ``x0``.
    losses : list of float
        Loss after each iteration.
    seconds : list of float
        Wall time of each iteration.
    evaluations : int
        Loss-and-gradient evaluations (a line search may take more than one per iteration).
    reason : StopReason
        Why it stopped.
    detail : str
        The underlying library's own words, where there is a library (for the curious; not parsed).
    """

    x: np.ndarray
    losses: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    evaluations: int = 0
    reason: StopReason = StopReason.BUDGET
    detail: str = ""

    @property
    def interrupted(self) -> bool:
        """True when Ctrl-C stopped the run."""
        return self.reason is StopReason.INTERRUPTED

    @property
    def message(self) -> str:
        """The stop reason in words."""
        return self.reason.value


class Optimizer(Protocol):
    """Minimises a loss-and-gradient over an array from ``x0`` within an iteration budget."""

    def minimize(self, loss_and_grad: LossAndGrad, x0: np.ndarray, max_iter: int,
                 callback: Callback | None = None, stop: StopRule | None = None) -> OptimizeResult:
        """Run from ``x0``.

        Parameters
        ----------
        loss_and_grad : callable
            Takes a float32 tensor shaped like ``x0``; returns (scalar loss, gradient of that shape).
        x0 : ndarray
            The starting point.
        max_iter : int
            Iteration budget.
        callback : callable, optional
            ``callback(iteration, x, loss)`` after every iteration (1-based).
        stop : callable, optional
            ``stop(losses)`` after every iteration (after the callback): True ends the run with
            :attr:`StopReason.SETTLED`.

        Returns
        -------
        OptimizeResult
            A Ctrl-C returns the latest accepted iterate with :attr:`StopReason.INTERRUPTED`.
        """
