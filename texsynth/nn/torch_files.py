"""PyTorch weight files (``.pth``) read without PyTorch: a state dict's tensors as numpy arrays.

Both of PyTorch's formats are understood: the zip archive that ``torch.save`` writes since 1.6
(``data.pkl`` and one file per storage) and the legacy stream before it (a pickled header and state
dict, then every storage's bytes), which older published files such as AdaIN's normalised VGG19 use.
The pickle is read by an unpickler that builds only tensors, parameters and ordered dicts and refuses
every other object, so a file cannot run code.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from texsynth.errors import TexsynthError

__all__ = ["LEGACY_MAGIC", "is_torch_file", "read_state_dict"]

# The first pickled object of a legacy file.
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
# What a damaged or foreign file makes the readers raise (a corrupt length can ask for any amount of memory).
_DAMAGED = (OSError, EOFError, ValueError, KeyError, IndexError, AttributeError, TypeError, NotImplementedError,
            MemoryError, struct.error, zlib.error, pickle.UnpicklingError, zipfile.BadZipFile)
STORAGE_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
                  "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
                  "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_}


def is_torch_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` looks like a PyTorch file rather than HDF5.

    Parameters
    ----------
    path : path-like
        An existing file.

    Returns
    -------
    bool
        True for a zip archive holding ``data.pkl`` or a pickle stream (PyTorch's legacy format).
    """
    path = Path(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith("data.pkl") for name in archive.namelist())
    with open(path, "rb") as f:
        return f.read(1) == b"\x80"  # a pickle's PROTO opcode; HDF5 starts with \x89HDF


@dataclass
class _Storage:
    dtype: type
    data: np.ndarray | None = None


@dataclass(frozen=True)
class _Tensor:
    """A tensor as the pickle describes it; its storage's bytes may come later in the file."""

    storage: _Storage
    offset: int
    shape: tuple[int, ...]
    strides: tuple[int, ...]

    def array(self) -> np.ndarray:
        data = self.storage.data
        if data is None:
            raise TexsynthError("a tensor refers to a storage the file does not hold")
        # as_strided reads wherever it is told: check every index stays inside the storage.
        if self.offset < 0 or min(self.shape + self.strides, default=0) < 0 or len(self.shape) != len(self.strides):
            raise TexsynthError("a tensor with a negative size, stride or offset")
        needed = self.offset + 1 + sum((n - 1) * s for n, s in zip(self.shape, self.strides)) if all(self.shape) else 0
        if needed > data.size:
            raise TexsynthError("a tensor reaches past the end of its storage (a truncated file?)")
        view = np.lib.stride_tricks.as_strided(data[self.offset:], self.shape,
                                               [s * data.itemsize for s in self.strides])
        return np.array(view)


def _rebuild_tensor(storage, offset, shape, strides, *_):
    if not isinstance(storage, _Storage):
        raise TexsynthError("a tensor without a storage")
    return _Tensor(storage, int(offset), tuple(int(n) for n in shape), tuple(int(s) for s in strides))


def _rebuild_parameter(data, *_):
    return data


class _Unpickler(pickle.Unpickler):
    """Builds tensors (deferred to their storages), parameters and ordered dicts, nothing else."""

    def __init__(self, file, storages: dict, load_storage=None) -> None:
        super().__init__(file, encoding="latin1")
        self.storages = storages
        self.load_storage = load_storage

    def find_class(self, module: str, name: str):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in STORAGE_DTYPES:
            return name
        raise TexsynthError(f"the file holds a {module}.{name}, not only tensors (is it a state dict?)")

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage" or pid[1] not in STORAGE_DTYPES:
            raise TexsynthError(f"unsupported storage reference {pid!r:.80}")
        key = str(pid[2])
        if key not in self.storages:
            self.storages[key] = _Storage(STORAGE_DTYPES[pid[1]])
            if self.load_storage is not None:
                self.storages[key].data = self.load_storage(key, self.storages[key].dtype)
        return self.storages[key]


def _load_zip(path: Path) -> dict:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [name for name in names if name.endswith("data.pkl")]
        if not pickles:
            raise TexsynthError("a zip archive without data.pkl")
        prefix = pickles[0][: -len("data.pkl")]
        if prefix + "byteorder" in names and archive.read(prefix + "byteorder").decode().strip() != "little":
            raise TexsynthError("the file's tensors are big-endian")

        def load_storage(key: str, dtype: type) -> np.ndarray:
            return np.frombuffer(archive.read(f"{prefix}data/{key}"), dtype)

        return _Unpickler(io.BytesIO(archive.read(pickles[0])), {}, load_storage).load()


def _load_legacy(path: Path) -> dict:
    size = path.stat().st_size
    with open(path, "rb") as f:
        # Every pickle through the restricted unpickler, the header's too: plain pickle.load would
        # run whatever a crafted header names.
        if _Unpickler(f, {}).load() != LEGACY_MAGIC:
            raise TexsynthError("not a PyTorch file (no PyTorch magic number)")
        _Unpickler(f, {}).load()  # protocol version
        if not _Unpickler(f, {}).load().get("little_endian", True):
            raise TexsynthError("the file's tensors are big-endian")
        storages: dict = {}
        state = _Unpickler(f, storages).load()
        for key in _Unpickler(f, {}).load():
            storage = storages[str(key)]
            count, = struct.unpack("<q", f.read(8))
            length = count * np.dtype(storage.dtype).itemsize
            if not 0 <= length <= size - f.tell():
                raise TexsynthError("the file ends inside a tensor (truncated)")
            storage.data = np.frombuffer(f.read(length), storage.dtype)
    return state


def read_state_dict(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The tensors of a PyTorch state dict, by name, in the file's order.

    Parameters
    ----------
    path : path-like
        A ``.pth``/``.pt`` file of either PyTorch format holding a state dict (or a dict with one
        under ``"state_dict"`` or ``"model"``).

    Returns
    -------
    dict of str to ndarray

    Raises
    ------
    TexsynthError
        If the file is not a PyTorch file, is truncated, or holds anything but tensors.
    """
    path = Path(path)
    try:
        state = _load_zip(path) if zipfile.is_zipfile(path) else _load_legacy(path)
    except TexsynthError as error:
        raise TexsynthError(f"cannot read PyTorch file {path}: {error}") from None
    except _DAMAGED as error:
        raise TexsynthError(f"cannot read PyTorch file {path}: {error or type(error).__name__}") from None
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise TexsynthError(f"PyTorch file {path} holds a {type(state).__name__}, not a state dict")
    try:
        return {str(name): tensor.array() for name, tensor in state.items() if isinstance(tensor, _Tensor)}
    except TexsynthError as error:
        raise TexsynthError(f"cannot read PyTorch file {path}: {error}") from None
