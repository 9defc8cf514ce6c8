"""The optimisers: each module one member of the :class:`texsynth.optim.base.Optimizer` protocol.
:mod:`.scipy_lbfgs` is scipy's L-BFGS-B (the ancestor's optimiser); :mod:`.ascent` the normalised
gradient steps of DeepDream."""

from texsynth.optim.base import Callback, LossAndGrad, OptimizeResult, Optimizer, StopReason

__all__ = ["Callback", "LossAndGrad", "OptimizeResult", "Optimizer", "StopReason"]
