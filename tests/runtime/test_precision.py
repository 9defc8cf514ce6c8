"""Choosing the convolutions' precision: bfloat16 only where AMX runs it, float32 elsewhere."""

import pytest

from texsynth.errors import TexsynthError
from texsynth.runtime.precision import cpu_flags, has_bfloat16_matrix_units, resolve_precision

AMX = {"avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}
NO_AMX = {"avx2", "avx512f", "avx512_bf16"}


def test_cpu_flags_reads_the_first_flags_line(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 amx_bf16\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    assert cpu_flags(cpuinfo) == {"fpu", "avx2", "amx_bf16"}
    assert cpu_flags(tmp_path / "missing") == set()


def test_auto_is_bfloat16_only_on_a_cpu_with_amx(monkeypatch):
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    assert resolve_precision("auto", AMX, gpus=0) == "bfloat16"
    # avx512_bf16 alone converts but has no matrix units: bfloat16 convolutions were slower there.
    assert resolve_precision("auto", NO_AMX, gpus=0) == "float32"
    assert resolve_precision("auto", AMX, gpus=1) == "float32"


def test_auto_is_float32_when_onednn_is_off(monkeypatch):
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    assert not has_bfloat16_matrix_units(AMX)
    assert resolve_precision("auto", AMX, gpus=0) == "float32"


def test_explicit_precisions_are_kept_and_others_refused():
    assert resolve_precision("float32", AMX, gpus=0) == "float32"
    assert resolve_precision("bfloat16", NO_AMX, gpus=1) == "bfloat16"
    with pytest.raises(TexsynthError, match="unknown precision 'float16'"):
        resolve_precision("float16")
