"""The precision the network's convolutions run in: float32, or bfloat16 where hardware makes it pay.

bfloat16 keeps float32's range with an 8-bit mantissa. On CPUs with Intel AMX (Sapphire Rapids and
later Xeons) oneDNN runs bfloat16 convolutions on the matrix units: on a 2-core machine of this
project a 514x514x64 3x3 convolution took 14 ms instead of 88 ms, its input gradient 18 ms instead
of 74 ms, and the stored feature maps take half the memory. CPUs with AVX-512 BF16 but no AMX (AMD
EPYC from Zen 4, Intel Cooper Lake) have bfloat16 dot-product instructions that oneDNN uses too: on a
2-core AMD EPYC of this project a 514x514x64 convolution with its input gradient took 134 ms against
213 ms in float32, and an iteration at the 512x512 defaults 1.32 s against 1.88 s. Elsewhere (AVX2)
bfloat16 is emulated and slower than float32. So ``auto`` picks bfloat16 where either is present.

What stays float32 whatever the choice: the pixels and the first convolution (bfloat16 would round
pixels to half a grey level, and L-BFGS-B's steps are smaller than that), the pyramid, every Gram
and the loss. So only the feature maps between convolutions are rounded (relative error 0.4%), which
averages out in Grams over thousands of positions.
"""

from __future__ import annotations

import os
from pathlib import Path

from texsynth.choices import PRECISIONS
from texsynth.errors import TexsynthError

__all__ = ["PRECISIONS", "cpu_flags", "has_fast_bfloat16", "resolve_precision"]


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The feature flags of the first CPU listed in ``cpuinfo`` (empty where there is no such file)."""
    try:
        with open(cpuinfo, encoding="ascii", errors="replace") as lines:
            for line in lines:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


def has_fast_bfloat16(flags: set[str] | None = None) -> bool:
    """Whether TensorFlow's CPU kernels run bfloat16 convolutions faster than float32 here.

    They do where oneDNN reaches AMX matrix units (``amx_bf16``) or AVX-512 BF16 dot products
    (``avx512_bf16``); ``TF_ENABLE_ONEDNN_OPTS=0`` turns oneDNN off, and then bfloat16 is slow.
    """
    flags = cpu_flags() if flags is None else flags
    return bool({"amx_bf16", "avx512_bf16"} & flags) and os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") != "0"


def resolve_precision(name: str, flags: set[str] | None = None, gpus: int | None = None) -> str:
    """Turn ``--precision`` into the dtype name the network runs in.

    Parameters
    ----------
    name : {"auto", "float32", "bfloat16"}
        ``auto`` is bfloat16 on a CPU with AMX or AVX-512 BF16 and float32 elsewhere, GPUs included
        (their float32 convolutions already use TensorFloat-32 tensor cores; ask for bfloat16 to
        halve memory).
    flags : set of str, optional
        CPU flags (default: this machine's).
    gpus : int, optional
        Number of GPUs TensorFlow sees (default: asked from TensorFlow).

    Returns
    -------
    str
        ``"float32"`` or ``"bfloat16"``.
    """
    if name not in PRECISIONS:
        raise TexsynthError(f"unknown precision {name!r} (choose from {', '.join(PRECISIONS)})")
    if name != "auto":
        return name
    if gpus is None:
        import tensorflow as tf

        gpus = len(tf.config.list_physical_devices("GPU"))
    return "bfloat16" if gpus == 0 and has_fast_bfloat16(flags) else "float32"
