"""Command line of ``texsynth cppn`` (render one picture) and ``texsynth cppn morph`` (animated GIF).

Parses flags into a :class:`texsynth.cppn.CPPNConfig`, checks outputs before any work, and
writes results atomically. PNG output is streamed row chunk by row chunk, so rendering an
image of any size needs a bounded amount of memory; the model lives in :mod:`texsynth.cppn`.
"""

from __future__ import annotations

import argparse
import io
import math
import struct
import time
import zlib
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO, Iterable, Sequence

import numpy as np
from PIL import Image

from texsynth import cppn
from texsynth.cli import ArgumentParser, non_negative, positive
from texsynth.errors import TexsynthError
from texsynth.io import atomic_path, check_output_file, ensure_writable_dir, save_image
from texsynth.progress import Progress, log

DEFAULTS = cppn.CPPNConfig()
# Flags that fix the weights' shapes or values; a loaded network already has them.
STRUCTURE_FLAGS = ("z_dim", "net_size", "layers", "channels", "arch", "random_seed")
MORPH_MEMORY_LIMIT = 1 << 30  # bytes of rendered frames a morph may hold
MIN_GIF_SIDE = 16
# Largest side each format can store (Pillow fails late, after rendering, and prints to stderr).
FORMAT_SIDE_LIMITS = {".jpg": 65500, ".jpeg": 65500, ".webp": 16383, ".gif": 65535, ".png": 2**31 - 1}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_IDAT_BYTES = 1 << 20


# ----------------------------------------------------------------------------------------------
# Argument types: argparse turns their errors into a usage message and exit status 2

def _int_at_least(minimum: int, what: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{what} must be at least {minimum}, got {value}")
        return value
    return parse


def _seed(text: str) -> int:
    value = _int_at_least(0, "a seed")(text)
    if value >= 2**63:
        raise argparse.ArgumentTypeError(f"a seed must be below 2**63, got {value}")
    return value


# ----------------------------------------------------------------------------------------------
# Parsers

def _add_network_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("network (fixed by a loaded network, except --scale, --z-seed, "
                                      "--contrast and --raw)")
    group.add_argument("--z-dim", type=_int_at_least(1, "z-dim"), help=f"latent size (default {DEFAULTS.z_dim})")
    group.add_argument("--scale", type=positive(float),
                       help=f"multiplies x, y, r and z; larger shows more, finer detail (default {DEFAULTS.scale})")
    group.add_argument("--net-size", type=_int_at_least(1, "net-size"),
                       help=f"units per hidden layer (default {DEFAULTS.net_size})")
    group.add_argument("--layers", type=_int_at_least(0, "layers"),
                       help=f"hidden layers after the coordinate input layer (default {DEFAULTS.layers})")
    group.add_argument("--channels", type=int, choices=(1, 3),
                       help=f"1 = greyscale, 3 = RGB (default {DEFAULTS.channels})")
    group.add_argument("--arch", choices=tuple(cppn.ARCHITECTURES),
                       help="activations: " + "; ".join(f"{k}: {v}" for k, v in cppn.ARCHITECTURES.items())
                       + f" (default {DEFAULTS.arch})")
    group.add_argument("--contrast", type=positive(float),
                       help=f"gain before the output sigmoid; higher = harder edges (default {DEFAULTS.contrast})")
    group.add_argument("--raw", action=argparse.BooleanOptionalAction, default=None,
                       help="classic raw sigmoid(readout) without tone normalisation (often mostly black or "
                            "white; --contrast is then unused)")
    group.add_argument("--random-seed", type=_seed, help="seed of the weights (default: a fresh one, printed)")
    group.add_argument("--z-seed", type=_seed, help="seed of z (default: the random seed)")
    group.add_argument("--load", metavar="FILE", help="start from a network saved with --save")


def _render_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="texsynth cppn",
        description="Draw a picture with a random compositional pattern-producing network (CPPN). "
                    "The network is a function of pixel coordinates, so the same seeds re-render the "
                    "same picture at any size. See also `texsynth cppn morph --help`.",
        epilog="example: texsynth cppn --random-seed 7 --save net.npz -o small.png; "
               "texsynth cppn --load net.npz --width 2880 --height 1800 -o big.png")
    parser.add_argument("--width", type=_int_at_least(1, "width"), default=512, help="pixels (default 512)")
    parser.add_argument("--height", type=_int_at_least(1, "height"), default=512, help="pixels (default 512)")
    _add_network_flags(parser)
    parser.add_argument("--chunk-rows", type=_int_at_least(1, "chunk-rows"),
                        help="rows rendered at a time (default: ~2 MiB of working arrays); "
                             "changes memory use, never the pixels")
    parser.add_argument("-o", "--output", default="cppn.png",
                        help="image file; .png is written in streamed chunks with bounded memory, other "
                             "formats (.jpg, .tif, ...) hold the whole image (default cppn.png)")
    parser.add_argument("--save", metavar="FILE", help="also save the network (weights, z, settings) as .npz")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    return parser


def _morph_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="texsynth cppn morph",
        description="Animate a CPPN: move z from z1 through the keyframes and back to z1 in a looping GIF.",
        epilog="example: texsynth cppn morph --random-seed 7 --z-seeds 8 9 --frames 72 -o loop.gif")
    parser.add_argument("--width", type=_int_at_least(1, "width"), default=256, help="pixels (default 256)")
    parser.add_argument("--height", type=_int_at_least(1, "height"), default=256, help="pixels (default 256)")
    _add_network_flags(parser)
    parser.add_argument("--z-seeds", type=_seed, nargs="+", metavar="SEED",
                        help="seeds of the keyframes after z1 (z1 is the network's z: --z-seed or the loaded "
                             "one); default: one keyframe, z-seed + 1")
    parser.add_argument("--frames", type=_int_at_least(2, "frames"), default=48,
                        help="frames in the whole loop (default 48); a multiple of the keyframe count "
                             "lands exactly on every keyframe")
    parser.add_argument("--duration", type=_int_at_least(20, "duration"), default=80,
                        help="milliseconds per frame, at least 20 (default 80)")
    parser.add_argument("--max-mb", type=non_negative(float), default=5.0,
                        help="largest GIF in MB (10^6 bytes); a larger one is re-encoded from frames shrunk "
                             "to fit (default 5; 0 = no limit)")
    parser.add_argument("-o", "--output", default="cppn_morph.gif", help="GIF file (default cppn_morph.gif)")
    parser.add_argument("--frames-dir", metavar="DIR",
                        help="also write every frame, at the rendered size, as DIR/frame_0000.png ...")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    return parser


# ----------------------------------------------------------------------------------------------
# Shared steps

def _network(parser: argparse.ArgumentParser, args: argparse.Namespace) -> cppn.CPPN:
    """Build the network the flags describe, or load it and apply the allowed overrides."""
    overrides = {}
    if args.scale is not None:
        overrides["scale"] = args.scale
    if args.contrast is not None:
        overrides["contrast"] = args.contrast
    if args.raw is not None:
        overrides["normalize"] = not args.raw
    if args.load is None:
        given = {name: getattr(args, name) for name in STRUCTURE_FLAGS + ("z_seed",)
                 if getattr(args, name) is not None}
        return cppn.build_cppn(cppn.CPPNConfig(**given, **overrides))
    clashing = [name for name in STRUCTURE_FLAGS if getattr(args, name) is not None]
    if clashing:
        flags = ", ".join("--" + name.replace("_", "-") for name in clashing)
        parser.error(f"{flags} cannot be combined with --load (the saved network fixes them)")
    net = cppn.load_cppn(args.load)
    if args.z_seed is not None:
        net = cppn.with_z(net, args.z_seed)
    return replace(net, config=replace(net.config, **overrides).validate())


def _check_save_path(path: str, output: str) -> Path:
    target = Path(path)
    if target.is_dir():
        raise TexsynthError(f"--save {target} is a directory; give a file name such as {target / 'net.npz'}")
    if target.resolve() == Path(output).resolve():
        raise TexsynthError(f"--save and --output are the same file: {target}")
    ensure_writable_dir(target.parent if str(target.parent) else Path("."))
    return target


def _check_format_size(path: Path, width: int, height: int) -> None:
    limit = FORMAT_SIDE_LIMITS.get(path.suffix.lower())
    if limit is not None and max(width, height) > limit:
        raise TexsynthError(f"{path.suffix} images are limited to {limit} pixels per side, "
                            f"{width}x{height} asked; use .png")


def _describe(net: cppn.CPPN) -> str:
    c = net.config
    kind = "greyscale" if c.channels == 1 else "RGB"
    return (f"{c.arch} {kind} CPPN (net-size {c.net_size}, layers {c.layers}, z-dim {c.z_dim}, scale {c.scale:g}), "
            f"random seed {c.random_seed}, z-seed {c.z_seed}")


def _as_uint8_image(pixels: np.ndarray) -> np.ndarray:
    """(rows, cols, channels) floats in [0, 1] -> uint8, 2-D for greyscale (PIL mode L)."""
    image = cppn.unit_to_uint8(pixels)
    return image[..., 0] if image.shape[-1] == 1 else image


# ----------------------------------------------------------------------------------------------
# Streamed PNG: IDAT data is compressed as rows arrive, so memory does not grow with the image

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


# ----------------------------------------------------------------------------------------------
# texsynth cppn

def _render_command(argv: Sequence[str]) -> int:
    parser = _render_parser()
    args = parser.parse_args(argv)
    output = check_output_file(args.output)  # fail fast: before any rendering
    _check_format_size(output, args.width, args.height)
    save_to = _check_save_path(args.save, args.output) if args.save else None
    net = _network(parser, args)
    channels = net.config.channels
    # Checks size, chunk and memory up front, so a bad value fails before the output is touched.
    chunks = cppn.render_rows(net, args.width, args.height, chunk_rows=args.chunk_rows)

    log(f"texsynth cppn: {args.width}x{args.height} {_describe(net)}", args.quiet)
    start = time.perf_counter()
    progress = Progress(args.height, label="cppn rows", quiet=args.quiet)

    def rows_with_progress() -> Iterable[np.ndarray]:
        for top, chunk in chunks:
            yield _as_uint8_image(chunk)
            progress.update(top + chunk.shape[0])

    try:
        if output.suffix.lower() == ".png":
            write_png_rows(output, args.width, args.height, channels, rows_with_progress())
        else:
            image = np.concatenate(list(rows_with_progress()), axis=0)
            try:
                save_image(image, output)
            except (OSError, ValueError) as error:
                raise TexsynthError(f"cannot write {output}: {error}") from None
    finally:
        progress.close()
    if save_to is not None:
        cppn.save_cppn(net, save_to)
        log(f"saved the network to {save_to}", args.quiet)
    log(f"wrote {output} in {time.perf_counter() - start:.1f} s "
        f"(same picture at any size: these flags with --random-seed {net.config.random_seed} "
        f"--z-seed {net.config.z_seed}{', or --load ' + str(save_to) if save_to else ''})", args.quiet)
    return 0


# ----------------------------------------------------------------------------------------------
# texsynth cppn morph

def _gif_images(frames: Sequence[np.ndarray]) -> list[Image.Image]:
    """Palette images for a GIF: RGB frames get their own 256-colour octree palette.

    (Pillow's implicit conversion, used by :func:`texsynth.io.save_gif`, is median cut: about
    10x slower for a barely visible gain, and the size fitting below may encode several times.)
    Greyscale frames are already 8-bit and stay exact.
    """
    images = []
    for frame in frames:
        image = Image.fromarray(frame)
        if image.mode == "RGB":
            image = image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        images.append(image)
    return images


def _encode_gif(frames: Sequence[np.ndarray], duration_ms: int) -> bytes:
    """A looping animated GIF of the frames, as bytes."""
    images = _gif_images(frames)
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=duration_ms,
                   loop=0, optimize=False)
    return buffer.getvalue()


def _shrink(frames: Sequence[np.ndarray], width: int, height: int) -> list[np.ndarray]:
    # Lanczos from the full render anti-aliases; a fresh render at the small size would alias.
    return [np.asarray(Image.fromarray(f).resize((width, height), Image.LANCZOS)) for f in frames]


def _fit_gif(frames: list[np.ndarray], duration_ms: int, max_bytes: int,
             quiet: bool) -> tuple[bytes, tuple[int, int]]:
    """Encode the frames as a GIF, shrinking them until it fits in ``max_bytes`` (0 = no limit).

    Returns the GIF and its (width, height).
    """
    full_height, full_width = frames[0].shape[:2]
    width, height = full_width, full_height
    data = _encode_gif(frames, duration_ms)
    fraction = 1.0  # of the rendered side lengths; sizes come from it, so the aspect ratio holds
    for _ in range(8):
        if max_bytes <= 0 or len(data) <= max_bytes:
            return data, (width, height)
        if min(width, height) <= MIN_GIF_SIDE:
            break
        # GIF size grows about with the pixel count; aim 5% under the budget.
        fraction *= math.sqrt(max_bytes / len(data)) * 0.95
        new_width = max(MIN_GIF_SIDE, min(width - 1, round(full_width * fraction)))
        new_height = max(MIN_GIF_SIDE, min(height - 1, round(full_height * fraction)))
        log(f"GIF would be {_mb(len(data))} > {_mb(max_bytes)}; shrinking frames to {new_width}x{new_height}",
            quiet)
        width, height = new_width, new_height
        data = _encode_gif(_shrink(frames, width, height), duration_ms)
    if len(data) > max_bytes:
        raise TexsynthError(f"{len(frames)} frames do not fit in {_mb(max_bytes)} even at {width}x{height}; "
                            "use fewer --frames or a larger --max-mb (0 = no limit)")
    return data, (width, height)


def _mb(size: int) -> str:
    return f"{size / 1e6:.3g} MB"


def _morph_command(argv: Sequence[str]) -> int:
    parser = _morph_parser()
    args = parser.parse_args(argv)
    if Path(args.output).suffix.lower() != ".gif":
        parser.error(f"--output must be a .gif file, got {args.output}")
    output = check_output_file(args.output)
    _check_format_size(output, args.width, args.height)
    net = _network(parser, args)
    frame_bytes = args.width * args.height * net.config.channels
    if frame_bytes * args.frames > MORPH_MEMORY_LIMIT:
        raise TexsynthError(f"{args.frames} frames of {args.width}x{args.height} need "
                            f"{frame_bytes * args.frames / 2**30:.1f} GiB (limit {MORPH_MEMORY_LIMIT / 2**30:.0f} "
                            "GiB); use fewer --frames or a smaller size")
    frames_dir = ensure_writable_dir(args.frames_dir) if args.frames_dir else None
    seeds = args.z_seeds if args.z_seeds else [(net.config.z_seed + 1) % 2**63]
    keyframes = [net.z] + [cppn.draw_z(net.config.z_dim, seed) for seed in seeds]
    path = cppn.interpolate_z(keyframes, args.frames)
    # The first render validates size and z before any frame file is written.
    first = cppn.render(net, args.width, args.height, z=path[0])

    log(f"texsynth cppn morph: {args.frames} frames of {args.width}x{args.height}, keyframes z-seeds "
        f"{[net.config.z_seed] + list(seeds)}, {_describe(net)}", args.quiet)
    start = time.perf_counter()
    frames = []
    with Progress(args.frames, label="morph frames", quiet=args.quiet) as progress:
        for index, z in enumerate(path):
            pixels = first if index == 0 else cppn.render(net, args.width, args.height, z=z)
            frame = _as_uint8_image(pixels)
            if frames_dir is not None:
                save_image(frame, frames_dir / f"frame_{index:04d}.png")
            frames.append(frame)
            progress.update(index + 1)
    data, (width, height) = _fit_gif(frames, args.duration, int(args.max_mb * 1e6), args.quiet)
    with atomic_path(output) as tmp:
        tmp.write_bytes(data)
    log(f"wrote {output} ({_mb(len(data))}, {len(frames)} frames of {width}x{height}, "
        f"{args.duration} ms each) in {time.perf_counter() - start:.1f} s", args.quiet)
    return 0


def main(argv: Sequence[str]) -> int:
    """Run ``texsynth cppn ARGS`` or, when the first argument is ``morph``, ``texsynth cppn morph ARGS``.

    Parameters
    ----------
    argv : sequence of str
        The arguments after the word ``cppn``.

    Returns
    -------
    int
        Exit status (0). Bad flags exit 2 through argparse; other user errors raise
        :class:`~texsynth.errors.TexsynthError` for the dispatcher to print.
    """
    argv = list(argv)
    if argv and argv[0] == "morph":
        return _morph_command(argv[1:])
    return _render_command(argv)
