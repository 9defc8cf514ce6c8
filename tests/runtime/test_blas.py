"""The BLAS thread limiter: one thread inside, the previous count after."""

import numpy as np
from threadpoolctl import threadpool_info

from texsynth.runtime.blas import one_blas_thread


def _blas_threads() -> set[int]:
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


def test_limits_blas_to_one_thread_and_restores_it():
    before = _blas_threads()
    one_thread = one_blas_thread()
    with one_thread():
        inside = _blas_threads()
        product = np.ones((64, 64)) @ np.ones((64, 64))
    assert inside == {1} and product[0, 0] == 64
    assert _blas_threads() == before
