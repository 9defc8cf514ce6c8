"""Choosing the convolutions' precision: bfloat16 where AMX or AVX-512 BF16 runs it, float32 elsewhere."""

import pytest

from texsynth.errors import TexsynthError
from texsynth.runtime.precision import cpu_flags, has_fast_bfloat16, resolve_precision

AMX = {"avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}
AVX512_BF16 = {"avx2", "avx512f", "avx512_bf16"}
AVX512 = {"avx2", "avx512f", "avx512_vnni"}
AVX2 = {"avx2", "fma"}


def test_cpu_flags_reads_the_first_flags_line(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 amx_bf16\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    assert cpu_flags(cpuinfo) == {"fpu", "avx2", "amx_bf16"}
    assert cpu_flags(tmp_path / "missing") == set()


def test_auto_is_bfloat16_only_on_a_cpu_with_bfloat16_instructions(monkeypatch):
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    assert resolve_precision("auto", AMX, gpus=0) == "bfloat16"
    assert resolve_precision("auto", AVX512_BF16, gpus=0) == "bfloat16"
    # Without bfloat16 instructions oneDNN emulates it, slower than float32.
    assert resolve_precision("auto", AVX512, gpus=0) == "float32"
    assert resolve_precision("auto", AVX2, gpus=0) == "float32"
    assert resolve_precision("auto", AMX, gpus=1) == "float32"


def test_auto_is_float32_when_onednn_is_off(monkeypatch):
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    assert not has_fast_bfloat16(AMX)
    assert not has_fast_bfloat16(AVX512_BF16)
    assert resolve_precision("auto", AMX, gpus=0) == "float32"


def test_explicit_precisions_are_kept_and_others_refused():
    assert resolve_precision("float32", AMX, gpus=0) == "float32"
    assert resolve_precision("bfloat16", AVX2, gpus=1) == "bfloat16"
    with pytest.raises(TexsynthError, match="unknown precision 'float16'"):
        resolve_precision("float16")
