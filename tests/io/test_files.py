import os

import pytest

from texsynth.errors import TexsynthError
from texsynth.io.files import atomic_path, check_writable_dir, ensure_writable_dir, write_json


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_replaces_whole(tmp_path):
    target = tmp_path / "run.json"
    write_json({"a": 1}, target)
    write_json({"b": 2}, target)
    assert target.read_text() == '{\n  "b": 2\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_atomic_write_makes_missing_folders(tmp_path):
    write_json([], tmp_path / "a" / "b" / "x.json")
    assert (tmp_path / "a" / "b" / "x.json").read_text() == "[]\n"


def test_atomic_write_follows_the_umask_without_setting_it(tmp_path, monkeypatch):
    previous = os.umask(0o027)
    try:
        # Setting the umask, even for a moment, would change it for every thread of the process.
        monkeypatch.setattr(os, "umask", lambda mask: pytest.fail("atomic_path set the umask"))
        write_json({}, tmp_path / "x.json")
        with atomic_path(tmp_path / "y.bin") as tmp:
            assert tmp.stat().st_mode & 0o777 == 0o640 and tmp.name.startswith(".y.bin.")
            tmp.write_bytes(b"y")
    finally:
        monkeypatch.undo()
        os.umask(previous)
    assert (tmp_path / "x.json").stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json", "y.bin"]


def test_atomic_write_of_two_writers_uses_two_temporaries(tmp_path):
    with atomic_path(tmp_path / "a.txt") as first, atomic_path(tmp_path / "a.txt") as second:
        assert first != second
        first.write_text("1")
        second.write_text("2")
    assert (tmp_path / "a.txt").read_text() == "1"  # the outer one is renamed last


def test_check_writable_dir_creates_nothing(tmp_path):
    target = tmp_path / "a" / "b"
    assert check_writable_dir(target) == target
    assert list(tmp_path.iterdir()) == []
    assert check_writable_dir(tmp_path) == tmp_path
    assert list(tmp_path.iterdir()) == []


def test_check_writable_dir_refuses_a_file_on_the_way(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(TexsynthError, match="afile is not a folder"):
        check_writable_dir(tmp_path / "afile" / "sub")
    with pytest.raises(TexsynthError, match="not a folder"):
        check_writable_dir(tmp_path / "afile")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_check_writable_dir_refuses_a_read_only_folder(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(TexsynthError, match="cannot write to output folder"):
            check_writable_dir(locked / "sub")
    finally:
        locked.chmod(0o700)


def test_ensure_writable_dir_creates_the_folder(tmp_path):
    target = tmp_path / "a" / "b"
    assert ensure_writable_dir(target) == target and target.is_dir()
    assert list(target.iterdir()) == []  # the probe file is gone
    (tmp_path / "afile").write_text("x")
    with pytest.raises(TexsynthError, match="cannot write to output folder"):
        ensure_writable_dir(tmp_path / "afile" / "sub")
