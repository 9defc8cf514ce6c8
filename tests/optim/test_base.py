"""The optimiser protocol's result: stop reasons in the project's words, and which ones are early."""

import numpy as np

from texsynth.optim.base import OptimizeResult, StopReason


def test_only_stops_before_the_budget_that_are_not_interruptions_are_early():
    early = {reason for reason in StopReason if reason.early}
    assert early == {StopReason.CONVERGED, StopReason.SMALL_GRADIENT, StopReason.NO_PROGRESS, StopReason.SETTLED}


def test_every_reason_is_its_own_sentence():
    words = [reason.value for reason in StopReason]
    assert len(set(words)) == len(words) and all(w and w == w.strip() for w in words)


def test_a_result_says_why_it_stopped():
    result = OptimizeResult(np.zeros(3))
    assert result.reason is StopReason.BUDGET and not result.interrupted
    assert result.message == "iteration budget reached"
    stopped = OptimizeResult(np.zeros(3), losses=[2.0, 1.0], reason=StopReason.INTERRUPTED)
    assert stopped.interrupted and stopped.message == "interrupted" and not stopped.reason.early
