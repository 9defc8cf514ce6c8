"""``texsynth dream``: flags, checks, per-octave images and the run log.

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
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from texsynth.choices import DREAM_LAYERS as DEFAULT_LAYERS
from texsynth.commands.args import ArgumentParser, add_data_dir_flag, add_precision_flag, add_weights_flag, number
from texsynth.errors import TexsynthError
from texsynth.nn.layers import parse_layer_spec

if TYPE_CHECKING:
    from texsynth.dream import DreamConfig

__all__ = ["DreamCommand", "build_parser", "main", "parse_command"]


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
    add_weights_flag(p)
    add_data_dir_flag(p)
    p.add_argument("--random-seed", type=number(int, 0, True, "0 or more"),
                   help="seed of the tile offsets and of --from-noise: same seed, same machine, same image")
    add_precision_flag(p, "precision of the network's maps: auto (bfloat16 on CPUs with AMX or "
                          "AVX-512 BF16, float32 elsewhere), float32, bfloat16")
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


@dataclass(frozen=True)
class DreamCommand:
    """Everything one ``texsynth dream`` run does: the dream's settings and the files it reads and writes."""

    dream: "DreamConfig"
    image: Path | None
    from_noise: tuple[int, int] | None
    random_seed: int
    weights: str
    data_dir: Path
    output: Path | None
    output_dir: Path
    quiet: bool

    def folder_name(self, width: int, height: int) -> str:
        """E.g. ``dream.coffee.conv5_3.o4`` or ``dream.noise512x512.conv4_2w1,conv5_1w0.5.o4``."""
        stem = f"noise{width}x{height}" if self.from_noise else re.sub(r"[^\w.-]+", "_", self.image.stem)
        layers = re.sub(r"[^\w.,-]+", "_", ",".join(spec.replace(":", "w") for spec in self.dream.layers))
        return f"dream.{stem}.{layers}.o{self.dream.octaves}"


def parse_command(argv: Sequence[str], prog: str = "texsynth dream") -> tuple[argparse.Namespace, DreamCommand]:
    """Parse the flags and resolve them into a :class:`DreamCommand` (TensorFlow is started only
    once the flags are valid)."""
    import numpy as np

    args = parse_args(argv, prog)
    seed = args.random_seed if args.random_seed is not None else secrets.randbelow(2**31)
    from texsynth.runtime import start_tensorflow

    start_tensorflow()
    from texsynth.dream import DreamConfig
    from texsynth.runtime.precision import resolve_precision

    # The noise and the tile offsets draw from separate streams, so --tile-size never changes the noise.
    _, tile_seed = np.random.SeedSequence(seed).spawn(2)
    config = DreamConfig(layers=tuple(args.layers), octaves=args.octaves, octave_scale=args.octave_scale,
                         iterations=args.iterations, step=args.step, max_loss=args.max_loss, border=args.border,
                         tile_size=args.tile_size, tile_overlap=args.tile_overlap,
                         random_seed=int(tile_seed.generate_state(1)[0]), precision=resolve_precision(args.precision))
    command = DreamCommand(dream=config, image=Path(args.image) if args.image else None, from_noise=args.from_noise,
                           random_seed=seed, weights=args.weights, data_dir=Path(args.data_dir),
                           output=Path(args.output) if args.output else None, output_dir=Path(args.output_dir),
                           quiet=args.quiet)
    return args, command


def main(argv: Sequence[str], prog: str = "texsynth dream") -> int:
    """Run DeepDream from the command line; returns the exit status."""
    args, command = parse_command(argv, prog)
    start = time.perf_counter()
    config = command.dream
    import numpy as np

    from texsynth.commands.runfolder import make_output_folder, peak_memory_mb, run_header, write_command, write_run_json
    from texsynth.dream import check_octaves_fit, dream, noise_image, octave_shapes
    from texsynth.io.files import check_writable_dir
    from texsynth.io.images import check_output_file, load_image, save_image
    from texsynth.nn.geometry import receptive_margin
    from texsynth.nn.layers import layer_names, resolve_weighted_layers
    from texsynth.nn.weights import load_weights
    from texsynth.progress import Progress, format_duration, log

    say = lambda message: log(message, command.quiet)  # noqa: E731
    noise_seed, _ = np.random.SeedSequence(command.random_seed).spawn(2)

    # Check every input before touching the file system.
    if command.from_noise:
        width, height = command.from_noise
        image = None
    else:
        image = load_image(command.image)
        height, width = image.shape[:2]
    weights = load_weights(command.weights, command.data_dir)
    layers, layer_weights = resolve_weighted_layers(config.layers, weights.arch)
    precision = config.precision
    check_octaves_fit(height, width, config, layers, weights.arch)
    if command.output:
        check_output_file(command.output)
    else:
        check_writable_dir(command.output_dir)
    if image is None:
        image = noise_image(width, height, np.random.default_rng(noise_seed))

    names = layer_names(weights.arch)
    shapes = octave_shapes(height, width, config.octaves, config.octave_scale)
    overlap = config.tile_overlap if config.tile_overlap is not None else receptive_margin(max(layers), weights.arch)
    say(f"weights: {weights.source}; maps in {precision}")
    say(f"dreaming on {'noise' if command.from_noise else command.image} ({width}x{height}) with "
        f"{', '.join(f'{names[i]}:{w:g}' for i, w in zip(layers, layer_weights))}; octaves "
        f"{' -> '.join(f'{w}x{h}' for h, w in shapes)}; random seed {command.random_seed}")
    if max(height, width) > config.tile_size:
        say(f"tiles of {config.tile_size}px with {overlap}px overlap")

    folder = None if command.output else make_output_folder(command.output_dir, command.folder_name(width, height))
    if folder is not None:
        say(f"writing to {folder}")
        write_command(folder, prog, argv)

    progress: list[Progress] = []
    octave_start = [time.perf_counter()]

    def on_step(octave: int, iteration: int, loss: float) -> None:
        if iteration == 1:
            h, w = shapes[octave]
            progress.append(Progress(config.iterations, f"octave {octave + 1}/{len(shapes)} {w}x{h}",
                                     quiet=command.quiet))
            # The first report comes after the first step: count the rate from the octave's start.
            progress[-1].start = octave_start[0]
        progress[-1].update(iteration, loss)

    def on_octave(octave: int, dreamed) -> None:
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
            stop = f", stopped early: loss above --max-loss {config.max_loss:g}" if octave.stopped_early else ""
            say(f"octave {index + 1} {octave.width}x{octave.height}: {len(octave.losses)} iterations, "
                f"loss {octave.losses[0]:.3g} -> {octave.losses[-1]:.3g}{stop}")

    if command.output:
        final = save_image(result.image, command.output)
    else:
        final = save_image(result.image, folder / "final.png")
        write_run_json(
            folder, run_header(prog, argv, args, command, weights.arch, weights.source),
            layers={names[i]: w for i, w in zip(layers, layer_weights)}, random_seed=command.random_seed,
            tile_overlap=overlap, precision=precision,
            octaves=[{"height": o.height, "width": o.width, "iterations": len(o.losses), "loss": o.losses,
                      "stopped_early": o.stopped_early} for o in result.octaves],
            seconds=result.seconds, total_seconds=time.perf_counter() - start, peak_memory_mb=peak_memory_mb())
    total = time.perf_counter() - start
    say(f"done in {format_duration(total)} ({total:.1f} s, peak memory {peak_memory_mb():.0f} MiB)")
    print(final)
    return 0
