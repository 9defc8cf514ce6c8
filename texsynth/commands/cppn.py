"""``texsynth cppn`` (render one picture) and ``texsynth cppn morph`` (a looping animated GIF).

Parses flags into frozen options and one :class:`~texsynth.cppn.CPPNConfig`, checks outputs
before any work, and writes results atomically. PNG output is streamed row chunk by row chunk,
so rendering an image of any size needs a bounded amount of memory. The model lives in
:mod:`texsynth.cppn`; nothing here imports TensorFlow.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from PIL import Image

from texsynth.commands.args import ArgumentParser, at_least, non_negative, positive
from texsynth.cppn import (ARCHITECTURES, CPPN, CPPNConfig, build_cppn, draw_z, interpolate_z, load_cppn, render,
                           render_rows, save_cppn, unit_to_uint8, with_z)
from texsynth.errors import TexsynthError
from texsynth.io.files import atomic_path, check_writable_dir, ensure_writable_dir
from texsynth.io.gif import encode_gif
from texsynth.io.images import check_output_file, save_image
from texsynth.io.png import write_png_rows
from texsynth.progress import Progress, log

__all__ = ["main"]

DEFAULTS = CPPNConfig()
# Flags that fix the weights' shapes or values; a loaded network already has them.
STRUCTURE_FLAGS = ("z_dim", "net_size", "layers", "channels", "arch", "random_seed")
MORPH_MEMORY_LIMIT = 1 << 30  # bytes of rendered frames a morph may hold
MIN_GIF_SIDE = 16
# Largest side each format can store (Pillow fails late, after rendering, and prints to stderr).
FORMAT_SIDE_LIMITS = {".jpg": 65500, ".jpeg": 65500, ".webp": 16383, ".gif": 65535, ".png": 2**31 - 1}


@dataclass(frozen=True)
class RenderOptions:
    """What ``texsynth cppn`` is asked to do, besides the network (see :func:`_network`)."""

    width: int
    height: int
    chunk_rows: int | None
    output: Path
    save: Path | None
    quiet: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "RenderOptions":
        return cls(width=args.width, height=args.height, chunk_rows=args.chunk_rows, output=Path(args.output),
                   save=Path(args.save) if args.save else None, quiet=args.quiet)


@dataclass(frozen=True)
class MorphOptions:
    """What ``texsynth cppn morph`` is asked to do, besides the network (see :func:`_network`)."""

    width: int
    height: int
    z_seeds: tuple[int, ...]  # empty: one keyframe, z-seed + 1
    frames: int
    duration_ms: int
    max_bytes: int  # 0: no limit
    output: Path
    frames_dir: Path | None
    quiet: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "MorphOptions":
        return cls(width=args.width, height=args.height, z_seeds=tuple(args.z_seeds or ()), frames=args.frames,
                   duration_ms=args.duration, max_bytes=int(args.max_mb * 1e6), output=Path(args.output),
                   frames_dir=Path(args.frames_dir) if args.frames_dir else None, quiet=args.quiet)


# ----------------------------------------------------------------------------------------------
# Parsers: argparse turns a type's error into a usage message and exit status 2

def _seed(text: str) -> int:
    value = at_least(0)(text)
    if value >= 2**63:
        raise argparse.ArgumentTypeError(f"a seed must be below 2**63, got {value}")
    return value


def _add_network_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("network (fixed by a loaded network, except --scale, --z-seed, "
                                      "--contrast and --raw)")
    group.add_argument("--z-dim", type=at_least(1), help=f"latent size (default {DEFAULTS.z_dim})")
    group.add_argument("--scale", type=positive(float),
                       help=f"multiplies x, y, r and z; larger shows more, finer detail (default {DEFAULTS.scale})")
    group.add_argument("--net-size", type=at_least(1), help=f"units per hidden layer (default {DEFAULTS.net_size})")
    group.add_argument("--layers", type=at_least(0),
                       help=f"hidden layers after the coordinate input layer (default {DEFAULTS.layers})")
    group.add_argument("--channels", type=int, choices=(1, 3),
                       help=f"1 = greyscale, 3 = RGB (default {DEFAULTS.channels})")
    group.add_argument("--arch", choices=tuple(ARCHITECTURES),
                       help="activations: " + "; ".join(f"{k}: {v}" for k, v in ARCHITECTURES.items())
                       + f" (default {DEFAULTS.arch})")
    group.add_argument("--contrast", type=positive(float),
                       help=f"gain before the output sigmoid; higher = harder edges (default {DEFAULTS.contrast})")
    group.add_argument("--raw", action=argparse.BooleanOptionalAction, default=None,
                       help="classic raw sigmoid(readout) without tone normalisation (often mostly black or "
                            "white; --contrast is then unused)")
    group.add_argument("--random-seed", type=_seed, help="seed of the weights (default: a fresh one, printed)")
    group.add_argument("--z-seed", type=_seed, help="seed of z (default: the random seed)")
    group.add_argument("--load", metavar="FILE", help="start from a network saved with --save")


def _render_parser(prog: str) -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog=prog,
        description="Draw a picture with a random compositional pattern-producing network (CPPN). "
                    "The network is a function of pixel coordinates, so the same seeds re-render the "
                    "same picture at any size. See also `texsynth cppn morph --help`.",
        epilog="example: texsynth cppn --random-seed 7 --save net.npz -o small.png; "
               "texsynth cppn --load net.npz --width 2880 --height 1800 -o big.png")
    parser.add_argument("--width", type=at_least(1), default=512, help="pixels (default 512)")
    parser.add_argument("--height", type=at_least(1), default=512, help="pixels (default 512)")
    _add_network_flags(parser)
    parser.add_argument("--chunk-rows", type=at_least(1),
                        help="rows rendered at a time (default: ~2 MiB of working arrays); "
                             "changes memory use, never the pixels")
    parser.add_argument("-o", "--output", default="cppn.png",
                        help="image file; .png is written in streamed chunks with bounded memory, other "
                             "formats (.jpg, .tif, ...) hold the whole image (default cppn.png)")
    parser.add_argument("--save", metavar="FILE", help="also save the network (weights, z, settings) as .npz")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    return parser


def _morph_parser(prog: str) -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog=prog,
        description="Animate a CPPN: move z from z1 through the keyframes and back to z1 in a looping GIF.",
        epilog="example: texsynth cppn morph --random-seed 7 --z-seeds 8 9 --frames 72 -o loop.gif")
    parser.add_argument("--width", type=at_least(1), default=256, help="pixels (default 256)")
    parser.add_argument("--height", type=at_least(1), default=256, help="pixels (default 256)")
    _add_network_flags(parser)
    parser.add_argument("--z-seeds", type=_seed, nargs="+", metavar="SEED",
                        help="seeds of the keyframes after z1 (z1 is the network's z: --z-seed or the loaded "
                             "one); default: one keyframe, z-seed + 1")
    parser.add_argument("--frames", type=at_least(2), default=48,
                        help="frames in the whole loop (default 48); a multiple of the keyframe count "
                             "lands exactly on every keyframe")
    parser.add_argument("--duration", type=at_least(20), default=80,
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

def _network(parser: argparse.ArgumentParser, args: argparse.Namespace) -> CPPN:
    """Build the network the flags describe, or load it and apply the allowed overrides.

    The one place where flags become a :class:`CPPNConfig`.
    """
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
        return build_cppn(CPPNConfig(**given, **overrides))
    clashing = [name for name in STRUCTURE_FLAGS if getattr(args, name) is not None]
    if clashing:
        flags = ", ".join("--" + name.replace("_", "-") for name in clashing)
        parser.error(f"{flags} cannot be combined with --load (the saved network fixes them)")
    net = load_cppn(args.load)
    if args.z_seed is not None:
        net = with_z(net, args.z_seed)
    return replace(net, config=replace(net.config, **overrides))


def _check_save_path(target: Path, output: Path) -> None:
    if target.is_dir():
        raise TexsynthError(f"--save {target} is a directory; give a file name such as {target / 'net.npz'}")
    if target.resolve() == output.resolve():
        raise TexsynthError(f"--save and --output are the same file: {target}")
    check_writable_dir(target.parent)


def _check_format_size(path: Path, width: int, height: int) -> None:
    limit = FORMAT_SIDE_LIMITS.get(path.suffix.lower())
    if limit is not None and max(width, height) > limit:
        raise TexsynthError(f"{path.suffix} images are limited to {limit} pixels per side, "
                            f"{width}x{height} asked; use .png")


def _describe(net: CPPN) -> str:
    c = net.config
    kind = "greyscale" if c.channels == 1 else "RGB"
    return (f"{c.arch} {kind} CPPN (net-size {c.net_size}, layers {c.layers}, z-dim {c.z_dim}, scale {c.scale:g}), "
            f"random seed {c.random_seed}, z-seed {c.z_seed}")


def _as_uint8_image(pixels: np.ndarray) -> np.ndarray:
    """(rows, cols, channels) floats in [0, 1] -> uint8, 2-D for greyscale (PIL mode L)."""
    image = unit_to_uint8(pixels)
    return image[..., 0] if image.shape[-1] == 1 else image


# ----------------------------------------------------------------------------------------------
# texsynth cppn

def _render_command(argv: Sequence[str], prog: str) -> int:
    parser = _render_parser(prog)
    args = parser.parse_args(argv)
    options = RenderOptions.from_args(args)
    output = check_output_file(options.output)  # fail fast: before any rendering
    _check_format_size(output, options.width, options.height)
    if options.save is not None:
        _check_save_path(options.save, output)
    net = _network(parser, args)
    channels = net.config.channels
    # Checks size, chunk and memory up front, so a bad value fails before the output is touched.
    chunks = render_rows(net, options.width, options.height, chunk_rows=options.chunk_rows)

    log(f"texsynth cppn: {options.width}x{options.height} {_describe(net)}", options.quiet)
    start = time.perf_counter()
    progress = Progress(options.height, label="cppn rows", quiet=options.quiet)

    def rows_with_progress() -> Iterable[np.ndarray]:
        for top, chunk in chunks:
            yield _as_uint8_image(chunk)
            progress.update(top + chunk.shape[0])

    try:
        if output.suffix.lower() == ".png":
            write_png_rows(output, options.width, options.height, channels, rows_with_progress())
        else:
            image = np.concatenate(list(rows_with_progress()), axis=0)
            try:
                save_image(image, output)
            except TexsynthError:
                raise  # already one clear line; being a ValueError, the clause below would reword it
            except (OSError, ValueError) as error:
                raise TexsynthError(f"cannot write {output}: {error}") from None
    finally:
        progress.close()
    save_to = options.save
    if save_to is not None:
        save_cppn(net, save_to)
        log(f"saved the network to {save_to}", options.quiet)
    log(f"wrote {output} in {time.perf_counter() - start:.1f} s "
        f"(same picture at any size: these flags with --random-seed {net.config.random_seed} "
        f"--z-seed {net.config.z_seed}{', or --load ' + str(save_to) if save_to else ''})", options.quiet)
    return 0


# ----------------------------------------------------------------------------------------------
# texsynth cppn morph

def _shrink(frames: Sequence[np.ndarray], width: int, height: int) -> list[np.ndarray]:
    # Lanczos from the full render anti-aliases; a fresh render at the small size would alias.
    return [np.asarray(Image.fromarray(f).resize((width, height), Image.LANCZOS)) for f in frames]


def _encode(frames: Sequence[np.ndarray], duration_ms: int) -> bytes:
    # Octree palettes: median cut is about 10x slower, and fitting may encode several times.
    return encode_gif(frames, duration_ms, fast_palette=True)


def _fit_gif(frames: list[np.ndarray], duration_ms: int, max_bytes: int,
             quiet: bool) -> tuple[bytes, tuple[int, int]]:
    """Encode the frames as a GIF, shrinking them until it fits in ``max_bytes`` (0 = no limit).

    Returns the GIF and its (width, height).
    """
    full_height, full_width = frames[0].shape[:2]
    width, height = full_width, full_height
    data = _encode(frames, duration_ms)
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
        data = _encode(_shrink(frames, width, height), duration_ms)
    if len(data) > max_bytes:
        raise TexsynthError(f"{len(frames)} frames do not fit in {_mb(max_bytes)} even at {width}x{height}; "
                            "use fewer --frames or a larger --max-mb (0 = no limit)")
    return data, (width, height)


def _mb(size: int) -> str:
    return f"{size / 1e6:.3g} MB"


def _morph_command(argv: Sequence[str], prog: str) -> int:
    parser = _morph_parser(prog)
    args = parser.parse_args(argv)
    if Path(args.output).suffix.lower() != ".gif":
        parser.error(f"--output must be a .gif file, got {args.output}")
    options = MorphOptions.from_args(args)
    output = check_output_file(options.output)
    _check_format_size(output, options.width, options.height)
    net = _network(parser, args)
    frame_bytes = options.width * options.height * net.config.channels
    if frame_bytes * options.frames > MORPH_MEMORY_LIMIT:
        raise TexsynthError(f"{options.frames} frames of {options.width}x{options.height} need "
                            f"{frame_bytes * options.frames / 2**30:.1f} GiB (limit {MORPH_MEMORY_LIMIT / 2**30:.0f} "
                            "GiB); use fewer --frames or a smaller size")
    frames_dir = ensure_writable_dir(options.frames_dir) if options.frames_dir is not None else None
    seeds = list(options.z_seeds) if options.z_seeds else [(net.config.z_seed + 1) % 2**63]
    keyframes = [net.z] + [draw_z(net.config.z_dim, seed) for seed in seeds]
    path = interpolate_z(keyframes, options.frames)
    # The first render validates size and z before any frame file is written.
    first = render(net, options.width, options.height, z=path[0])

    log(f"texsynth cppn morph: {options.frames} frames of {options.width}x{options.height}, keyframes z-seeds "
        f"{[net.config.z_seed] + seeds}, {_describe(net)}", options.quiet)
    start = time.perf_counter()
    frames = []
    with Progress(options.frames, label="morph frames", quiet=options.quiet) as progress:
        for index, z in enumerate(path):
            pixels = first if index == 0 else render(net, options.width, options.height, z=z)
            frame = _as_uint8_image(pixels)
            if frames_dir is not None:
                save_image(frame, frames_dir / f"frame_{index:04d}.png")
            frames.append(frame)
            progress.update(index + 1)
    data, (width, height) = _fit_gif(frames, options.duration_ms, options.max_bytes, options.quiet)
    with atomic_path(output) as tmp:
        tmp.write_bytes(data)
    log(f"wrote {output} ({_mb(len(data))}, {len(frames)} frames of {width}x{height}, "
        f"{options.duration_ms} ms each) in {time.perf_counter() - start:.1f} s", options.quiet)
    return 0


def main(argv: Sequence[str], prog: str = "texsynth cppn") -> int:
    """Run ``texsynth cppn ARGS`` or, when the first argument is ``morph``, ``texsynth cppn morph ARGS``.

    Parameters
    ----------
    argv : sequence of str
        The arguments after the word ``cppn``.
    prog : str
        Name of the command in usage and error messages; ``morph`` is appended for the morph parser.

    Returns
    -------
    int
        Exit status (0). Bad flags exit 2 through argparse; other user errors raise
        :class:`~texsynth.errors.TexsynthError` for the dispatcher to print.
    """
    argv = list(argv)
    if argv and argv[0] == "morph":
        return _morph_command(argv[1:], f"{prog} morph")
    return _render_command(argv, prog)
