"""Process-wide settings: how TensorFlow starts (threads, quiet start-up), the CPU memory pool
reservation, BLAS threads, and the choice of precision.

Library code never applies these as a side effect; the commands do, and so do the test and
benchmark fixtures (:func:`start_tensorflow`), so every caller runs the same configured TensorFlow.
"""

from texsynth.runtime.startup import start_tensorflow

__all__ = ["start_tensorflow"]
