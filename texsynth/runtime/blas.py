"""BLAS threading: running numpy and scipy's linear algebra on one thread where that is faster.

OpenBLAS (bundled with numpy and scipy) starts a worker per core and lets the workers spin for a
while after each call. Two places in texsynth lose by that: the CPPN renderer, whose many small
products cost more in thread hand-offs than they save, and L-BFGS-B, whose bookkeeping between two
TensorFlow evaluations left spinning workers that took a core from TensorFlow's convolutions.
The thread count never changes a result, only the speed.
"""

from __future__ import annotations

import contextlib
from typing import Callable, ContextManager

__all__ = ["one_blas_thread"]


def one_blas_thread() -> Callable[[], ContextManager[object]]:
    """A context-manager factory that runs BLAS on one thread (a no-op without threadpoolctl).

    Returns
    -------
    callable
        Each call gives a context manager; inside it BLAS libraries use one thread. Finding the
        libraries is the costly part, so it happens once, here.
    """
    try:
        from threadpoolctl import ThreadpoolController

        controller = ThreadpoolController()
    except Exception:  # optional dependency; any failure just means default threading
        return contextlib.nullcontext
    return lambda: controller.limit(limits=1, user_api="blas")
