"""PyTorch state dicts read without PyTorch: both formats, strided tensors, refusal of other objects."""

import collections
import pickle

import numpy as np
import pytest

from tests.nn.torch_format import Tensor, save_state_dict
from texsynth.errors import TexsynthError
from texsynth.nn.torch_files import LEGACY_MAGIC, is_torch_file, read_state_dict

FORMATS = {"zip": True, "legacy": False}


def _state():
    base = np.arange(60, dtype=np.float32)
    return collections.OrderedDict(
        kernel=np.random.default_rng(0).normal(size=(4, 3, 3, 3)).astype(np.float32),
        transposed=Tensor(base, 0, (10, 6), (1, 10)),  # a transpose of a (6, 10) tensor
        window=Tensor(base, 23, (2, 4), (10, 1)),  # rows 2-3, columns 3-6 of the same storage
        half=np.linspace(-1, 1, 5).astype(np.float16),
        count=np.arange(7),
    )


@pytest.mark.parametrize("layout", FORMATS)
def test_both_formats_give_the_tensors_back(tmp_path, layout):
    path = tmp_path / "state.pth"
    save_state_dict(_state(), path, FORMATS[layout])
    assert is_torch_file(path)
    state = read_state_dict(path)
    assert list(state) == list(_state())
    base = np.arange(60, dtype=np.float32).reshape(6, 10)
    np.testing.assert_array_equal(state["kernel"], _state()["kernel"])
    np.testing.assert_array_equal(state["transposed"], base.T)
    np.testing.assert_array_equal(state["window"], base[2:4, 3:7])
    assert state["half"].dtype == np.float16 and state["count"].dtype == np.int64
    np.testing.assert_array_equal(state["count"], np.arange(7))


@pytest.mark.parametrize("key", ["state_dict", "model"])
def test_a_state_dict_nested_in_a_checkpoint(tmp_path, key):
    path = tmp_path / "checkpoint.pth"
    save_state_dict({key: _state()}, path)
    assert list(read_state_dict(path)) == list(_state())


def test_hdf5_and_other_files_are_not_torch_files(tmp_path):
    import h5py

    with h5py.File(tmp_path / "w.h5", "w") as f:
        f["x"] = np.zeros(3)
    (tmp_path / "text.pth").write_text("hello")
    assert not is_torch_file(tmp_path / "w.h5")
    assert not is_torch_file(tmp_path / "text.pth")
    with pytest.raises(TexsynthError, match="cannot read PyTorch file"):
        read_state_dict(tmp_path / "text.pth")


@pytest.mark.parametrize("where", ["zip", "legacy", "legacy header"])
def test_a_pickle_that_would_run_code_is_refused_unrun(tmp_path, where):
    marker = tmp_path / "ran"

    class Exploit:
        def __reduce__(self):
            import os

            return os.system, (f"touch {marker}",)

    path = tmp_path / "evil.pth"
    if where == "zip":
        import zipfile

        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("archive/data.pkl", pickle.dumps({"x": Exploit()}, protocol=2))
    else:
        header = {"little_endian": True, "x": Exploit()} if where == "legacy header" else {"little_endian": True}
        with open(path, "wb") as f:
            for item in (LEGACY_MAGIC, 1001, header, {"x": Exploit()}):
                pickle.dump(item, f, protocol=2)
    with pytest.raises(TexsynthError, match=r"holds a (os|posix)\.system"):
        read_state_dict(path)
    assert not marker.exists()


def test_a_truncated_legacy_file_is_one_error(tmp_path):
    path = tmp_path / "state.pth"
    save_state_dict(_state(), path, zip_format=False)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])
    with pytest.raises(TexsynthError, match="truncated"):
        read_state_dict(path)


def test_a_file_without_tensors_is_not_a_state_dict(tmp_path):
    path = tmp_path / "list.pth"
    save_state_dict([1, 2, 3], path)
    with pytest.raises(TexsynthError, match="not a state dict"):
        read_state_dict(path)


@pytest.mark.parametrize("layout", FORMATS)
def test_damaged_files_give_only_the_one_line_error(tmp_path, layout):
    """Truncations and flipped bytes anywhere: never another exception (a traceback for the user)."""
    path, damaged = tmp_path / "state.pth", tmp_path / "damaged.pth"
    save_state_dict(_state(), path, FORMATS[layout])
    data = path.read_bytes()
    rng = np.random.default_rng(0)
    for trial in range(300):
        corrupt = bytearray(data[: rng.integers(len(data))] if trial % 2 else data)
        if not trial % 2:
            for position in rng.integers(len(corrupt), size=3):
                corrupt[position] = rng.integers(256)
        damaged.write_bytes(bytes(corrupt))
        try:
            read_state_dict(damaged)
        except TexsynthError:
            pass


def test_a_tensor_pointing_outside_its_storage_is_refused(tmp_path):
    """Sizes, strides and offsets come from the file; a crafted one must not read other memory."""
    base = np.arange(10, dtype=np.float32)
    for tensor in (Tensor(base, 8, (3,), (1,)), Tensor(base, 0, (2, 3), (5, 3)), Tensor(base, -4, (2,), (1,)),
                   Tensor(base, 0, (2,), (-3,))):
        path = tmp_path / "bad.pth"
        save_state_dict({"x": tensor}, path)
        with pytest.raises(TexsynthError, match="cannot read PyTorch file"):
            read_state_dict(path)
