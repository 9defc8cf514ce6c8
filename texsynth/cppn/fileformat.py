"""The CPPN file: an uncompressed ``.npz`` with the float arrays and a JSON ``settings`` string.

A saved network re-renders the same picture at any size; :func:`with_z` swaps its latent vector
(the one thing the command line may change besides the tone settings).
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import asdict, fields, replace
from pathlib import Path

import numpy as np

from texsynth.cppn.model import CPPN, CPPNConfig, draw_z
from texsynth.errors import TexsynthError
from texsynth.io.files import atomic_path

__all__ = ["FILE_FORMAT", "FILE_VERSION", "load_cppn", "save_cppn", "with_z"]

#: Written into saved files; :func:`load_cppn` refuses other formats and versions.
FILE_FORMAT = "texsynth-cppn"
FILE_VERSION = 1


def save_cppn(net: CPPN, path: str | os.PathLike) -> Path:
    """Atomically write a network (weights, z and settings) to a small ``.npz`` file.

    Parameters
    ----------
    net : CPPN
        The network.
    path : path-like
        Destination; written as given (no extension is added).

    Returns
    -------
    Path

    Raises
    ------
    TexsynthError
        If ``path`` is a directory or its folder cannot be written.
    """
    path = Path(path)
    if path.is_dir():
        raise TexsynthError(f"{path} is a directory; give a file name such as {path / 'net.npz'}")
    settings = {"format": FILE_FORMAT, "version": FILE_VERSION, **asdict(net.config)}
    arrays = {"settings": np.array(json.dumps(settings)), "z": net.z, "w_in": net.w_in, "b_in": net.b_in,
              "w_out": net.w_out, "b_out": net.b_out}
    for i, (weight, bias) in enumerate(net.hidden):
        arrays[f"w_hidden_{i}"] = weight
        arrays[f"b_hidden_{i}"] = bias
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:  # a file object, so numpy does not append ".npz"
            np.savez(handle, **arrays)
    return path


def _config_from_settings(text: str, path: Path) -> CPPNConfig:
    try:
        settings = json.loads(text)
    except json.JSONDecodeError:
        raise TexsynthError(f"{path}: corrupt CPPN settings (not JSON)") from None
    if not isinstance(settings, dict) or settings.get("format") != FILE_FORMAT:
        raise TexsynthError(f"{path} is not a texsynth CPPN file")
    if settings.get("version") != FILE_VERSION:
        raise TexsynthError(f"{path}: unsupported CPPN file version {settings.get('version')!r} "
                            f"(this texsynth reads version {FILE_VERSION})")
    names = {f.name for f in fields(CPPNConfig)}
    missing = names - settings.keys()
    if missing:
        raise TexsynthError(f"{path}: CPPN settings lack {', '.join(sorted(missing))}")
    return CPPNConfig(**{name: settings[name] for name in names})  # validates every setting


def load_cppn(path: str | os.PathLike) -> CPPN:
    """Read a network written by :func:`save_cppn`.

    Parameters
    ----------
    path : path-like
        The ``.npz`` file.

    Returns
    -------
    CPPN
        Weights as float32 and z as float64, whatever the file stores.

    Raises
    ------
    TexsynthError
        If the file is missing, unreadable, corrupt, from another format or version, or its
        arrays do not match its settings.
    """
    path = Path(path)
    if path.is_dir():
        raise TexsynthError(f"expected a CPPN file, got a directory: {path}")
    try:
        # Our own handle: np.load leaks the one it opens when the zip directory is corrupt.
        with open(path, "rb") as handle:
            magic = handle.read(6)
            handle.seek(0)
            if magic == b"\x93NUMPY":
                raise TexsynthError(f"{path} is not a texsynth CPPN file (a bare array, not an .npz)")
            if not magic.startswith(b"PK\x03\x04"):
                raise TexsynthError(f"{path} is not a texsynth CPPN file (not an .npz archive)")
            data = np.load(handle, allow_pickle=False)
            with data:
                arrays = {name: data[name] for name in data.files}
    except TexsynthError:
        raise  # ours, from the checks above; being a ValueError, the last clause would reword it
    except FileNotFoundError:
        raise TexsynthError(f"no such CPPN file: {path}") from None
    except PermissionError:
        raise TexsynthError(f"cannot read CPPN file {path}: permission denied") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as error:
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise TexsynthError(f"{path} is not a readable CPPN file (corrupt or wrong format: {detail})") from None

    if "settings" not in arrays or arrays["settings"].dtype.kind != "U" or arrays["settings"].ndim != 0:
        raise TexsynthError(f"{path} is not a texsynth CPPN file (no settings entry)")
    config = _config_from_settings(str(arrays["settings"]), path)
    if config.random_seed is None or config.z_seed is None:
        raise TexsynthError(f"{path}: CPPN settings lack a seed")

    n, c = config.net_size, config.channels
    expected = {"z": (config.z_dim,), "w_in": (3 + config.z_dim, n), "b_in": (n,), "w_out": (n, c), "b_out": (c,)}
    for i in range(config.layers):
        expected[f"w_hidden_{i}"] = (n, n)
        expected[f"b_hidden_{i}"] = (n,)
    for name, shape in expected.items():
        array = arrays.get(name)
        if array is None:
            raise TexsynthError(f"{path}: CPPN file lacks the array {name!r}")
        if array.shape != shape or array.dtype.kind != "f":
            raise TexsynthError(f"{path}: CPPN array {name!r} has shape {array.shape} ({array.dtype}), "
                                f"expected {shape} floats")
        if not np.all(np.isfinite(array)):
            raise TexsynthError(f"{path}: CPPN array {name!r} holds non-finite values")

    def f32(name: str) -> np.ndarray:
        return arrays[name].astype(np.float32)

    hidden = tuple((f32(f"w_hidden_{i}"), f32(f"b_hidden_{i}")) for i in range(config.layers))
    return CPPN(config=config, w_in=f32("w_in"), b_in=f32("b_in"), hidden=hidden, w_out=f32("w_out"),
                b_out=f32("b_out"), z=arrays["z"].astype(np.float64))


def with_z(net: CPPN, z_seed: int) -> CPPN:
    """The same weights with the latent vector drawn from ``z_seed``.

    Parameters
    ----------
    net : CPPN
        The network.
    z_seed : int
        Seed of the new z (see :func:`~texsynth.cppn.model.draw_z`).

    Returns
    -------
    CPPN
        A copy whose ``z`` and ``config.z_seed`` are replaced.

    Raises
    ------
    TexsynthError
        For a seed outside [0, 2**63).
    """
    config = replace(net.config, z_seed=z_seed)  # validates the seed
    return replace(net, config=config, z=draw_z(config.z_dim, z_seed))
