"""A stand-in for ``torch.save`` of a state dict, in PyTorch's zip and legacy formats, so the reader is
tested without PyTorch. (Files written by it load in torch 2.13's ``torch.load``, and files written
by torch 2.13 load in texsynth: checked once by hand.)"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import sys
import types
import zipfile
from pathlib import Path

import numpy as np

from texsynth.nn.torch_files import LEGACY_MAGIC

STORAGE_NAMES = {np.dtype(np.float32): "FloatStorage", np.dtype(np.float16): "HalfStorage",
                 np.dtype(np.int64): "LongStorage", np.dtype(np.float64): "DoubleStorage"}


class Tensor:
    """A strided view of a flat storage, pickled as PyTorch pickles tensors."""

    def __init__(self, storage: np.ndarray, offset: int, shape: tuple, strides: tuple) -> None:
        self.storage, self.offset, self.shape, self.strides = storage, offset, shape, strides

    @classmethod
    def of(cls, array: np.ndarray) -> "Tensor":
        array = np.ascontiguousarray(array)
        strides = tuple(s // array.itemsize for s in array.strides)
        return cls(array.reshape(-1), 0, array.shape, strides)


def _fake_torch() -> dict[str, types.ModuleType]:
    """Modules named ``torch`` and ``torch._utils`` holding what a state dict's pickle names."""
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")
    for name in STORAGE_NAMES.values():
        storage_class = type(name, (), {"__module__": "torch"})
        setattr(torch, name, storage_class)

    def _rebuild_tensor_v2(*args):
        raise AssertionError("only pickled, never called")

    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch._utils = utils
    return {"torch": torch, "torch._utils": utils}


def save_state_dict(state: dict, path: Path, zip_format: bool = True) -> None:
    """Write ``state`` (names to :class:`Tensor` or ndarray, possibly nested in dicts) as torch.save would."""
    modules = _fake_torch()
    previous = {name: sys.modules.get(name) for name in modules}
    sys.modules.update(modules)
    try:
        storages: dict[int, tuple[str, np.ndarray]] = {}

        class Pickler(pickle.Pickler):
            def persistent_id(self, obj):
                if isinstance(obj, np.ndarray) and obj.ndim == 1 and id(obj) in storages:
                    key, _ = storages[id(obj)]
                    pid = ("storage", getattr(modules["torch"], STORAGE_NAMES[obj.dtype]), key, "cpu", obj.size)
                    return pid if zip_format else pid + (None,)  # the legacy format's view metadata
                return None

            def reducer_override(self, obj):
                if isinstance(obj, np.ndarray) and not (obj.ndim == 1 and id(obj) in storages):
                    obj = Tensor.of(obj)
                if isinstance(obj, Tensor):
                    storages.setdefault(id(obj.storage), (str(len(storages)), obj.storage))
                    return (modules["torch._utils"]._rebuild_tensor_v2,
                            (obj.storage, obj.offset, obj.shape, obj.strides, False, collections.OrderedDict()))
                return NotImplemented

        buffer = io.BytesIO()
        Pickler(buffer, protocol=2).dump(state)
    finally:
        for name, module in previous.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    if zip_format:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("archive/data.pkl", buffer.getvalue())
            archive.writestr("archive/byteorder", "little")
            for key, storage in storages.values():
                archive.writestr(f"archive/data/{key}", storage.tobytes())
            archive.writestr("archive/version", "3\n")
        return
    with open(path, "wb") as f:
        for header in (LEGACY_MAGIC, 1001, {"protocol_version": 1001, "little_endian": True,
                                             "type_sizes": {"short": 2, "int": 4, "long": 4}}):
            pickle.dump(header, f, protocol=2)
        f.write(buffer.getvalue())
        pickle.dump([key for key, _ in storages.values()], f, protocol=2)
        for _, storage in storages.values():
            f.write(struct.pack("<q", storage.size))
            f.write(storage.tobytes())
