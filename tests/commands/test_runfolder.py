"""The run folder and its records: numbered folders, command.txt a shell can re-run, run.json."""

import dataclasses
import json
import shlex
from argparse import Namespace
from pathlib import Path

import pytest

from texsynth.commands.runfolder import make_output_folder, peak_memory_mb, run_header, write_command, write_run_json
from texsynth.errors import TexsynthError


def test_a_taken_name_gets_the_next_free_number(tmp_path):
    names = [make_output_folder(tmp_path / "outputs", "out.L2,7").name for _ in range(3)]
    assert names == ["out.L2,7", "out.L2,7.0", "out.L2,7.1"]
    assert all((tmp_path / "outputs" / name).is_dir() for name in names)


def test_a_folder_that_cannot_be_made_is_a_one_line_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(TexsynthError):
        make_output_folder(tmp_path / "file", "out")


def test_command_txt_splits_back_into_the_same_arguments(tmp_path):
    argv = ["-s", "my bark.jpg", "--layers", "2", "7", "--output", "it's.png"]
    path = write_command(tmp_path, "synthesize.py", argv)
    assert shlex.split(path.read_text()) == ["synthesize.py", *argv]


def test_run_json_holds_the_flags_the_resolved_config_and_the_fields(tmp_path):
    @dataclasses.dataclass(frozen=True)
    class Config:
        width: int
        layers: tuple

    header = run_header("synthesize.py", ["-ow", "64"], Namespace(output_width=64), Config(64, (2, 7)), "vgg16",
                        "bundled")
    record = json.loads(write_run_json(tmp_path, header, seconds=1.5).read_text())
    assert record["command"] == ["synthesize.py", "-ow", "64"]
    assert record["arguments"] == {"output_width": 64}
    assert record["config"] == {"width": 64, "layers": [2, 7]}
    assert record["weights"] == {"arch": "vgg16", "source": "bundled"} and record["seconds"] == 1.5


def test_peak_memory_is_this_process_high_water_mark_in_mib():
    status = Path("/proc/self/status")
    if not status.exists():
        pytest.skip("needs Linux's /proc")
    high_water_kib = next(int(line.split()[1]) for line in status.read_text().splitlines()
                          if line.startswith("VmHWM:"))
    assert peak_memory_mb() == pytest.approx(high_water_kib / 1024, abs=2)
