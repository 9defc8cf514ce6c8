"""Starting TensorFlow for texsynth (quietly, one inter-op thread, oneDNN chosen per CPU), and what
follows from that choice (convolutions in bands under oneDNN)."""

from __future__ import annotations

import contextlib
import os
import platform
import sys
from typing import Iterator, Mapping

from texsynth.runtime.precision import cpu_flags

__all__ = ["CONV_BAND_BYTES", "REPRODUCIBLE_GRAPHS", "X86_64", "conv_band_bytes", "conv_by_transpose",
           "onednn_default", "start_tensorflow"]

# Largest im2col buffer of one convolution under oneDNN (texsynth.nn.vgg.conv2d_banded). On a 2-core
# AMD EPYC with AVX2 only, oneDNN 3.7 chose its reference kernel from about 0.95 GB on (128 input
# channels from 466x466, 256 from 330x330; 932 MB still ran as a GEMM): minutes per convolution.
CONV_BAND_BYTES = 768 * 2**20

# Grappler rewrites turned off by start_tensorflow, whose regrouping of arithmetic varied between
# processes (see there).
REPRODUCIBLE_GRAPHS = {"arithmetic_optimization": False, "constant_folding": False}

# platform.machine() of the x86-64 CPUs, the only kind these choices were measured on.
X86_64 = ("x86_64", "amd64")

# Seconds per iteration at 512x512 on a 2-core AMD EPYC with AVX2 only (benchmarks/bench_iteration.py,
# two rounds of five iterations, one run per backend), with TensorFlow's default there (Eigen) and
# with oneDNN: texsynth's defaults 5.0 s against 3.6 s, the ancestor's design 2.4 s against 2.6 s;
# peak memory 3.0 against 2.5 GB. With conv_by_transpose (a later version, a family-25 EPYC):
# texsynth 3.09 s against 1.86 s, the ancestor's design 2.30 against 2.32 s. On CPUs with AVX-512
# VNNI or AMX TensorFlow turns oneDNN on by itself.


def onednn_default(environ: Mapping[str, str], machine: str) -> str | None:
    """The ``TF_ENABLE_ONEDNN_OPTS`` value to set before TensorFlow loads, or None to leave it.

    oneDNN on every x86-64 CPU: TensorFlow enables it only where the CPU has neural-network
    instructions, but it was faster for texsynth on an AVX2-only EPYC too (see above). A value the
    user set is kept; other architectures keep TensorFlow's choice.

    Parameters
    ----------
    environ : mapping
        The process environment.
    machine : str
        ``platform.machine()``.

    Returns
    -------
    str or None
    """
    if "TF_ENABLE_ONEDNN_OPTS" in environ or machine.lower() not in X86_64:
        return None
    return "1"


def conv_band_bytes() -> int | None:
    """:data:`CONV_BAND_BYTES` where TensorFlow runs its CPU convolutions through oneDNN and sees no
    GPU, else None (Eigen and the GPU have no such cliff, and bands would only cost a copy)."""
    return CONV_BAND_BYTES if _onednn_on_cpu() else None


def conv_by_transpose(flags: set[str] | None = None) -> bool:
    """Whether the network's forward convolutions should run through oneDNN's input-gradient kernel
    (:func:`texsynth.nn.vgg.conv2d_by_transpose`): where oneDNN runs them on a CPU without AVX-512.

    There oneDNN computes a forward convolution as a GEMM over an im2col buffer, while the input
    gradient of the flipped convolution, the same sums, runs as a direct kernel. On a 2-core AMD
    EPYC with AVX2 only, a 262x262x128 to 128 convolution took 113 ms against 344 ms, and VGG to
    conv3_2 with its input gradient on a wrapped 512x512 canvas 1.0 s against 1.7 s (1024x1024:
    4.2 s against 8.0 s). CPUs with AVX-512 keep the forward kernel: not measured there.

    Parameters
    ----------
    flags : set of str, optional
        CPU flags (default: this machine's).

    Returns
    -------
    bool
    """
    flags = cpu_flags() if flags is None else flags
    return platform.machine().lower() in X86_64 and "avx512f" not in flags and _onednn_on_cpu()


def _onednn_on_cpu() -> bool:
    """Whether TensorFlow runs its convolutions on the CPU through oneDNN (no GPU seen)."""
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return False
    try:
        from tensorflow.python.util import _pywrap_util_port  # private: may move in a later release

        return bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):
        return True  # texsynth turns oneDNN on for x86-64 (onednn_default); bands cost only a copy


def start_tensorflow() -> None:
    """Import and configure TensorFlow for a command, without its C++ start-up chatter.

    Some lines (oneDNN, CUDA probing) are printed before TensorFlow reads its log level, so the
    process's standard error is pointed at /dev/null while TensorFlow loads, unless the user asked
    for its logs (TF_CPP_MIN_LOG_LEVEL of 0 or 1).

    Independent ops (the octaves of a pyramid) run one after another: on 2 cores that was as fast
    as running them side by side and lowered peak memory of synthesis by about 120 MB. oneDNN is
    turned on where :func:`onednn_default` says so.

    Two of grappler's graph rewrites are off, so that the same seed gives the same pixels: its
    arithmetic optimiser and constant folding regroup sums and reassociate products with constants,
    and the grouping they chose changed from one process to the next. A ``--loss gram`` gradient
    at 512x512 came out in one of two versions from run to run (six runs in a row alternated
    between them); with both rewrites off, 12 of 12 runs agreed, and an evaluation took as long
    (0.44-0.46 s against 0.45-0.49 s with the defaults, 0.30-0.32 s either way with Gram).

    Where TensorFlow is already loaded (a script that imported a texsynth module first), the
    backend and the thread pools are as they are, but the graph rewrites are still turned off:
    left on, such a script's pixels differed from the command's for the same seed.
    """
    if "tensorflow" not in sys.modules:
        onednn = onednn_default(os.environ, platform.machine())
        if onednn is not None:
            os.environ["TF_ENABLE_ONEDNN_OPTS"] = onednn
    verbose = os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3") in ("0", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with contextlib.nullcontext() if verbose else _stderr_to_devnull():
        import tensorflow as tf

        with contextlib.suppress(RuntimeError):  # raised once the runtime has started its thread pools
            tf.config.threading.set_inter_op_parallelism_threads(1)
        tf.config.optimizer.set_experimental_options(REPRODUCIBLE_GRAPHS)
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
