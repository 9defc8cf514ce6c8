"""``synthesize.py`` and ``texsynth synth``: flags, the run folder, run.json.

Flags keep the ancestor's names, short forms and defaults. They resolve into one frozen
:class:`SynthCommand` (the library's :class:`~texsynth.synthesis.SynthConfig` plus files and
outputs); every input is checked before the output folder is made, so a bad run leaves nothing
behind. TensorFlow is imported only once the flags are valid.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from texsynth.choices import (DISTANCE_TYPES, JOIN_MODES, LOSSES, OPTIMIZERS, SCHEDULES, STAGE_DETAILS,
                              SW_JOIN_MODES)
from texsynth.commands.args import (ArgumentParser, add_data_dir_flag, add_precision_flag, add_weights_flag,
                                    non_negative, positive)
from texsynth.errors import TexsynthError

if TYPE_CHECKING:
    from texsynth.nn.weights import VGGWeights
    from texsynth.synthesis import SynthConfig

__all__ = ["SynthCommand", "build_parser", "main", "parse_command", "run", "synth_config"]

# Sources beyond this many pixels get a hint to scale them down: each is described at full size at
# every octave (a 12-megapixel one took 3 GB and 14 s before the first iteration).
LARGE_SOURCE_PIXELS = 4_000_000


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
                   help="VGG layers whose statistics are matched: indices into conv1_1, conv1_2, pool1, conv2_1, ... "
                        "(2 = pool1, 7 = conv3_2) or names")
    p.add_argument("--max-iter", "-m", type=positive(int), default=500,
                   help="L-BFGS iterations in all (split over the coarse-to-fine stages)")
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
    add_data_dir_flag(p)
    p.add_argument("--output-dir", default="outputs", help="where output folders are made")
    p.add_argument("--tol", type=positive(float), default=1e-9, help="L-BFGS-B tolerance (stop when progress is below)")
    p.add_argument("--source", "-s", nargs="+", required=True,
                   help="source texture images, or folders of them")
    new = p.add_argument_group("texsynth additions")
    new.add_argument("--output", metavar="FILE",
                     help="write just the final image here (a .gif when --count > 1); no output folder")
    add_weights_flag(new)
    new.add_argument("--seed-image", metavar="FILE", help="start from this image instead of noise")
    new.add_argument("--random-seed", type=non_negative(int),
                     help="seed of the starting noise: the same seed on the same machine gives the same image")
    new.add_argument("--border", type=non_negative(int), default=0,
                     help="pixels synthesised around the output and cropped (default 0: with valid padding the "
                          "output then wraps around, so it has no edges and tiles seamlessly)")
    new.add_argument("--colour-weight", type=non_negative(float), default=1.0,
                     help="weight of matching the pixels' colour statistics at every octave (0: VGG layers only, "
                          "as the ancestor)")
    add_precision_flag(new, "precision of the network's convolutions: auto (bfloat16 on CPUs with AMX or "
                            "AVX-512 BF16, where it is 1.4-2.3x faster and halves the maps' memory; float32 "
                            "elsewhere), float32, bfloat16")
    new.add_argument("--loss", choices=LOSSES, default="sw",
                     help="statistic matched at every layer and octave: sw (sliced Wasserstein: the whole "
                          "distribution of the features along random directions) or gram (Gram matrices, the "
                          "ancestor's)")
    new.add_argument("--spectrum-weight", type=non_negative(float), default=0.0,
                     help="weight of the spectrum constraint: pull the output towards the source's Fourier modulus, "
                          "which carries long-range regularity (0: off)")
    new.add_argument("--spectrum-octave", type=non_negative(int), default=0,
                     help="the finest octave the spectrum constraint acts at, less than -o: coarse to fine, only "
                          "the stages at this octave or coarser carry it (1: all but the full-size stage); with "
                          "--schedule joint it looks at the canvas's pyramid level N (0: the full size)")
    new.add_argument("--redraw-every", type=non_negative(int), default=0,
                     help="with --loss sw: draw new random directions every N iterations, restarting L-BFGS "
                          "(0: keep the first directions)")
    new.add_argument("--directions", type=non_negative(int), default=0,
                     help="with --loss sw: random directions per VGG layer (0: as many as the layer has channels; "
                          "the colour terms keep 16)")
    new.add_argument("--schedule", choices=SCHEDULES, default="coarse-to-fine",
                     help="coarse-to-fine: synthesise the coarsest octave first at its own size and refine, most "
                          "iterations where pixels are cheap; joint: every octave at once at full size (the ancestor's)")
    new.add_argument("--stage-detail", choices=STAGE_DETAILS, default="copied",
                     help="coarse-to-fine: the fine detail each upsampled stage starts with, for it to shape: "
                          "copied: the source's own detail, block by block from where its coarser content matches "
                          "best; noise: smooth noise of --stage-noise's strength (neither with --seed-image, whose "
                          "own detail takes their place)")
    new.add_argument("--stage-noise", type=non_negative(float), default=None,
                     help="with --stage-detail noise: the noise's strength, in units of the source's finest detail "
                          "at that octave (default 2; 0: none)")
    new.add_argument("--detail-settle", type=non_negative(float), default=0.0,
                     help="coarse-to-fine: the full-size stage first matches its own octave alone until its loss "
                          "falls by less than this fraction over 10 iterations, then every octave (0: every octave "
                          "from the start)")
    new.add_argument("--optimizer", choices=OPTIMIZERS, default="device",
                     help="device: L-BFGS in TensorFlow on the device (a GPU when there is one); scipy: scipy's "
                          "L-BFGS-B on the host (the ancestor's)")
    new.add_argument("--frame-duration", type=positive(int), default=100, help="milliseconds per animation frame")
    new.add_argument("--quiet", "-q", action="store_true", help="print only errors and the final path")
    return p


@dataclass(frozen=True)
class SynthCommand:
    """Everything one ``synthesize.py`` run does: the synthesis settings, and the files it reads and writes."""

    synth: "SynthConfig"
    sources: tuple[Path, ...]
    seed_image: Path | None
    weights: str
    data_dir: Path
    output: Path | None
    output_dir: Path
    output_prefix: str
    save_every: int
    frame_duration: int
    quiet: bool

    def folder_name(self) -> str:
        """The ancestor's folder name, e.g. ``out.L2,7.o4.512x512``."""
        s = self.synth
        name = f"{self.output_prefix}.L{','.join(s.layers)}.o{s.octaves}"
        if s.source_scale:
            name += f".w{s.source_scale:.2}"
        if s.source_width:
            name += f".w{s.source_width}"
        if s.count > 1:
            name += f".c{s.count}"
        if s.mul != 1.0:
            name += f".m{s.mul}"
        return name + f".{s.width}x{s.height}"


def _check_flags(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Contradictions between flags (exit status 2, like any argparse error)."""
    if args.seed_image and args.seed != "random":
        parser.error(f"--seed-image and --seed {args.seed} contradict each other: give one")
    if args.output and args.count > 1 and not args.output.lower().endswith(".gif"):
        parser.error("with --count > 1, --output must name a .gif (the frames form an animation)")
    if args.output and args.count == 1 and args.output.lower().endswith(".gif"):
        parser.error("--output .gif needs --count > 1; give a .png for a single image")
    if args.stage_noise is not None and args.stage_detail != "noise":
        parser.error(f"--stage-noise sets the noise of --stage-detail noise and does nothing with "
                     f"--stage-detail {args.stage_detail} (the default): add --stage-detail noise")
    if args.loss == "sw" and args.join_mode not in SW_JOIN_MODES:
        parser.error(f"--join-mode {args.join_mode} has no meaning for --loss sw (distributions): use average "
                     "(the sources' pooled distribution), affine_invariant (the Wasserstein barycentre of two "
                     "sources), or --loss gram")


def synth_config(args: argparse.Namespace) -> "SynthConfig":
    """The library's configuration from parsed flags (starts TensorFlow, which the library needs)."""
    from texsynth.runtime import start_tensorflow

    start_tensorflow()
    from texsynth.synthesis import SynthConfig

    return SynthConfig(
        width=args.output_width, height=args.output_height or args.output_width, octaves=args.octaves,
        layers=tuple(args.layers), max_iter=args.max_iter, source_scale=args.source_scale,
        source_width=args.source_width, padding=args.padding_mode, join_mode=args.join_mode, count=args.count,
        mul=args.mul, if_weight=args.if_weight, if_shift=args.if_shift, if_order=args.if_order,
        if_distance=args.if_distance_type, if_octaves=args.if_octaves, seed="image" if args.seed_image else args.seed,
        tol=args.tol, random_seed=args.random_seed, border=args.border, colour_weight=args.colour_weight,
        precision=args.precision, loss=args.loss, spectrum_weight=args.spectrum_weight,
        spectrum_octave=args.spectrum_octave, redraw_every=args.redraw_every, directions=args.directions,
        stage_detail=args.stage_detail, detail_settle=args.detail_settle, schedule=args.schedule,
        optimizer=args.optimizer, **({} if args.stage_noise is None else {"stage_noise": args.stage_noise}))


def parse_command(argv: Sequence[str], prog: str = "synthesize.py") -> tuple[argparse.Namespace, SynthCommand]:
    """Parse the flags and resolve them into a :class:`SynthCommand`.

    Flag errors exit with status 2 before TensorFlow is imported; missing sources and invalid
    settings raise :class:`~texsynth.errors.TexsynthError`.
    """
    from texsynth.io.images import list_image_files

    parser = build_parser(prog)
    args = parser.parse_args(argv)
    _check_flags(parser, args)
    sources = tuple(list_image_files(args.source))
    if args.join_mode == "affine_invariant" and len(sources) != 2:
        raise TexsynthError(f"join mode affine_invariant takes exactly two source images, got {len(sources)}")

    synth = synth_config(args)
    command = SynthCommand(
        synth=synth, sources=sources, seed_image=Path(args.seed_image) if args.seed_image else None,
        weights=args.weights, data_dir=Path(args.data_dir), output=Path(args.output) if args.output else None,
        output_dir=Path(args.output_dir), output_prefix=args.output_prefix, save_every=args.save_every,
        frame_duration=args.frame_duration, quiet=args.quiet)
    return args, command


def main(argv: Sequence[str], prog: str = "texsynth synth") -> int:
    """Run texture synthesis from the command line; returns the exit status."""
    args, command = parse_command(argv, prog)
    return run(command, args, prog, argv)


def run(command: SynthCommand, args: argparse.Namespace, prog: str = "texsynth synth", argv: Sequence[str] = (),
        weights: "VGGWeights | None" = None) -> int:
    """Carry out a resolved command: read the files, synthesise, write the outputs.

    Parameters
    ----------
    command : SynthCommand
    args : argparse.Namespace
        The parsed flags, recorded in ``run.json``.
    prog, argv : str, sequence of str
        The command line, recorded in ``command.txt`` and ``run.json``.
    weights : VGGWeights, optional
        Already loaded weights (a batch worker loads them once); default: load ``command.weights``.

    Returns
    -------
    int
        Exit status: 0, or 130 when Ctrl-C stopped the optimiser (the latest image is written).
    """
    start = time.perf_counter()
    config = command.synth

    from texsynth.commands.runfolder import make_output_folder, peak_memory_mb, run_header, write_command, write_run_json
    from texsynth.commands.signals import interrupts_held
    from texsynth.io.gif import save_gif
    from texsynth.io.files import check_writable_dir
    from texsynth.io.images import check_output_file, load_image, save_image
    from texsynth.nn.weights import load_weights
    from texsynth.progress import Progress, format_duration, log
    from texsynth.runtime.memory import available_memory, reserve_cpu_pool
    from texsynth.synthesis import Synthesizer, peak_memory_estimate, pool_bytes, scale_sources

    say = lambda message: log(message, command.quiet)  # noqa: E731
    if command.output:
        check_output_file(command.output)
    else:
        check_writable_dir(command.output_dir)
    sources = scale_sources([load_image(path) for path in command.sources], config.source_scale, config.source_width)
    seed_image = load_image(command.seed_image) if command.seed_image else None
    for path, image in zip(command.sources, sources):
        height, width = image.shape[:2]
        if height * width > LARGE_SOURCE_PIXELS:
            say(f"note: source {path} is {width}x{height}, described at that size at every octave, which takes "
                "memory and time; texture statistics rarely need more than about 1000 px (-sw 1024 scales it)")
    need, free = peak_memory_estimate(config, [image.shape for image in sources]), available_memory()
    if free is not None and need > free:
        frames = f" of {config.count} frames" if config.count > 1 else ""
        say(f"note: a {config.width}x{config.height} output{frames} from these sources may need about "
            f"{need / 1e9:.0f} GB of memory and about {free / 1e9:.0f} GB are available: the system may stop the "
            "run; a smaller output or smaller sources need less")
    weights = weights if weights is not None else load_weights(command.weights, command.data_dir)
    reserve_cpu_pool(pool_bytes(config, [image.shape for image in sources]))
    synth = Synthesizer(config, weights, sources, [str(path) for path in command.sources], seed_image, log=say)
    del weights
    width, height = config.width, config.height
    boundary = ("wraps around: tiles seamlessly" if synth.output_padding == "wrap"
                else f"{synth.output_padding} padding, {synth.border}px border")
    say(f"weights: {synth.weights_source}; convolutions in {synth.precision}")
    say(f"matching {', '.join(f'{n} ({i})' for n, i in zip(synth.layer_names, synth.layers))} at {config.octaves} "
        f"octaves of a {width}x{height} output ({boundary}) from {len(sources)} source(s); "
        f"random seed {synth.random_seed}")

    folder = None if command.output else make_output_folder(command.output_dir, command.folder_name())
    if folder is not None:
        say(f"writing to {folder}")
        write_command(folder, prog, argv)
        for index, frame in enumerate(synth.to_frames(synth.x0)):
            save_image(frame, folder / f"seed_F{index:04d}.png")

    progress = Progress(config.max_iter, "synth", quiet=command.quiet, costs=synth.iteration_costs(),
                        warmup=1)

    def on_iteration(iteration: int, x, loss: float) -> None:
        progress.update(iteration, loss)
        if folder is not None and command.save_every and iteration % command.save_every == 0:
            for index, frame in enumerate(synth.to_frames(x)):
                save_image(frame, folder / f"I{iteration:04d}_F{index:04d}.png", quick=True)

    with progress:
        result = synth.run(on_iteration, progress.note)

    frames = synth.to_frames(result.x)
    total = time.perf_counter() - start
    animated = config.count > 1
    # A Ctrl-C pressed as the run ends waits until the final image and run.json are written.
    with interrupts_held():
        if command.output:
            final = command.output
            save_gif(list(frames), final, command.frame_duration) if animated else save_image(frames[0], final)
        else:
            for index, frame in enumerate(frames):
                save_image(frame, folder / (f"final_F{index:04d}.png" if animated else "final.png"))
            final = folder / ("animation.gif" if animated else "final.png")
            if animated:
                save_gif(list(frames), final, command.frame_duration)
            write_run_json(
                folder, run_header(prog, argv, args, command, synth.arch, synth.weights_source),
                layers=dict(zip(synth.layer_names, synth.layers)), random_seed=synth.random_seed, border=synth.border,
                output_padding=synth.output_padding, precision=synth.precision,
                precision_switch_iteration=synth.switch_iteration, sources=[str(s) for s in command.sources],
                schedule=config.schedule, optimizer=config.optimizer, loss_statistic=config.loss, stages=synth.stages,
                iterations=len(result.losses), evaluations=result.evaluations, loss=result.losses,
                seconds=result.seconds, total_seconds=total, peak_memory_mb=peak_memory_mb(), stopped=result.message,
                stop_reason=result.reason.name.lower(), optimizer_detail=result.detail, interrupted=result.interrupted)
    loss_text = f"loss {result.losses[-1]:.4g}, " if result.losses else ""
    say(f"{'interrupted' if result.interrupted else 'done'} after {len(result.losses)} iterations "
        f"({result.message}; {loss_text}{format_duration(total)}, peak memory {peak_memory_mb():.0f} MiB)")
    print(final)
    return 130 if result.interrupted else 0
