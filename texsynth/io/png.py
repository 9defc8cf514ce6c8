"""A streaming PNG writer: rows are filtered and compressed as they arrive, so memory does not grow
with the image (the CPPN renderer writes gigapixel pictures this way)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import BinaryIO, Iterable

import numpy as np

from texsynth.errors import TexsynthError
from texsynth.io.files import atomic_path

__all__ = ["write_png_rows"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_IDAT_BYTES = 1 << 20


def _png_chunk(handle: BinaryIO, tag: bytes, data: bytes) -> None:
    handle.write(struct.pack(">I", len(data)))
    handle.write(tag)
    handle.write(data)
    handle.write(struct.pack(">I", zlib.crc32(data, zlib.crc32(tag)) & 0xFFFFFFFF))


def _png_filter(rows: np.ndarray, above: np.ndarray, bpp: int) -> np.ndarray:
    """Filter scanlines (rows, bytes) with, per row, whichever of None/Sub/Up/Paeth has the
    smallest sum of absolute residuals (the PNG specification's suggested heuristic).

    Returns (rows, 1 + bytes) uint8 with the filter type byte first.
    """
    cur = rows.astype(np.int16)
    up = np.vstack([above[None, :], rows[:-1]]).astype(np.int16)
    left = np.zeros_like(cur)
    left[:, bpp:] = cur[:, :-bpp]
    up_left = np.zeros_like(cur)
    up_left[:, bpp:] = up[:, :-bpp]
    pa, pb, pc = np.abs(up - up_left), np.abs(left - up_left), np.abs(left + up - 2 * up_left)
    paeth = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, up_left))
    candidates = np.stack([cur, cur - left, cur - up, cur - paeth]).astype(np.uint8)  # wraps mod 256
    cost = np.abs(candidates.view(np.int8).astype(np.int32)).sum(axis=2)  # (4, rows)
    choice = cost.argmin(axis=0)
    choice[cost[0] == cost.min(axis=0)] = 0  # prefer no filter on ties
    chosen = candidates[choice, np.arange(rows.shape[0])]
    filter_type = np.array([0, 1, 2, 4], dtype=np.uint8)[choice]
    return np.concatenate([filter_type[:, None], chosen], axis=1)


def write_png_rows(path: str | Path, width: int, height: int, channels: int,
                   chunks: Iterable[np.ndarray]) -> Path:
    """Atomically write an 8-bit greyscale or RGB PNG from row chunks, top to bottom.

    Parameters
    ----------
    path : path-like
        Destination ``.png``.
    width, height : int
        Image size; the chunks must add up to ``height`` rows of ``width`` pixels.
    channels : int
        1 (greyscale) or 3 (RGB).
    chunks : iterable of ndarray, uint8, shape (rows, width) or (rows, width, channels)
        Consumed lazily, so only one chunk is held at a time.

    Returns
    -------
    Path
    """
    if not (0 < width < 2**31 and 0 < height < 2**31):
        raise TexsynthError(f"PNG sides must be below 2**31 pixels, got {width}x{height}")
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(PNG_SIGNATURE)
        _png_chunk(handle, b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0 if channels == 1 else 2, 0, 0, 0))
        compressor = zlib.compressobj(6)
        above = np.zeros(width * channels, dtype=np.uint8)
        pending = bytearray()
        done = 0
        for chunk in chunks:
            rows = np.ascontiguousarray(chunk, dtype=np.uint8).reshape(chunk.shape[0], width * channels)
            pending += compressor.compress(_png_filter(rows, above, channels).tobytes())
            above = rows[-1].copy()
            done += rows.shape[0]
            if len(pending) >= PNG_IDAT_BYTES:
                _png_chunk(handle, b"IDAT", bytes(pending))
                pending.clear()
        if done != height:
            raise TexsynthError(f"internal error: PNG got {done} rows, expected {height}")
        pending += compressor.flush()
        _png_chunk(handle, b"IDAT", bytes(pending))
        _png_chunk(handle, b"IEND", b"")
    return path
