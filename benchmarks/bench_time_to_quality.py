"""How long texsynth's defaults take to reach the final quality of the ancestor's schedule.

For each example texture, two runs from the same seed in this process:

- the ancestor's schedule: ``--schedule joint --optimizer scipy --loss gram``, 500 iterations;
- texsynth's defaults (``--max-iter`` as given, 500 by default).

A frame is taken every ``--every`` iterations with its time since the run started (the optimiser's
time; reading the sources and loading the weights are the same for both and left out). Quality is
measured two ways on every frame: the ancestor's objective (Gram loss at layers 2 and 7 over 4
octaves, no colour terms; lower is better) and ``benchmarks/quality.py``'s score (1.0 = as close as
another piece of the source). For each, the time the defaults need to first reach the ancestor's
final value, and the ratio of the ancestor's whole time to it, are printed in one run.

    python benchmarks/bench_time_to_quality.py [--size 256 --octaves 3] [--examples gravel brick leaves]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

EXAMPLES = {"gravel": "gravel.jpg", "brick": "brick.jpg", "leaves": "leaves.png"}
ANCESTOR = ["--schedule", "joint", "--optimizer", "scipy", "--loss", "gram"]


def run(source: np.ndarray, weights, flags: list[str], size: int, octaves: int, max_iter: int, every: int,
        seed: int) -> tuple[list[tuple[int, float, np.ndarray]], float, object, list[dict]]:
    """Synthesise; return (iteration, seconds, frame) every ``every`` iterations and at the end, the
    optimiser's whole time, the config and the synthesizer's record of its stages."""
    from texsynth.commands.synth import build_parser, synth_config
    from texsynth.runtime.memory import reserve_cpu_pool
    from texsynth.synthesis import Synthesizer, pool_bytes

    config = synth_config(build_parser().parse_args(["-s", "-", "-ow", str(size), "-o", str(octaves),
                                                     "-m", str(max_iter), "--random-seed", str(seed), *flags]))
    reserve_cpu_pool(pool_bytes(config, [source.shape]))
    synth = Synthesizer(config, weights, [source])
    frames = []
    paused = [0.0]
    start = time.perf_counter()

    def on_iteration(iteration: int, x, loss: float) -> None:
        if iteration % every == 0 or iteration == max_iter:
            pause = time.perf_counter()
            frames.append((iteration, pause - start - paused[0], synth.to_frames(x)[0].astype(np.float32)))
            paused[0] += time.perf_counter() - pause  # taking frames is not the optimiser's time

    result = synth.run(on_iteration)
    total = time.perf_counter() - start - paused[0]
    if not frames or frames[-1][0] != len(result.losses):
        frames.append((len(result.losses), total, synth.to_frames(result.x)[0].astype(np.float32)))
    return frames, total, config, synth.stages


def ancestor_objective(source: np.ndarray, weights, size: int):
    """The ancestor's objective (Gram loss, layers 2 and 7, 4 octaves, no colour terms) of an RGB frame."""
    import tensorflow as tf

    from texsynth.nn.vgg import VGGFeatures, rgb_to_vgg
    from texsynth.objective import Objective

    octaves = 4 if size >= 64 else 3
    features = VGGFeatures(weights, 7, "valid")
    objective = Objective.from_sources([source], features, [2, 7], octaves, "valid", "wrap", colour_weight=0.0)
    evaluate = objective.compile(features)
    return lambda rgb: float(evaluate(tf.constant(rgb_to_vgg(rgb[None], weights.mean_bgr)))[0])


def first_reach(frames, values: list[float], goal: float) -> tuple[int, float] | None:
    for (iteration, seconds, _), value in zip(frames, values):
        if value <= goal:
            return iteration, seconds
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--octaves", type=int, default=3)
    parser.add_argument("--max-iter", type=int, default=500, help="iterations of texsynth's defaults")
    parser.add_argument("--ancestor-iter", type=int, default=500)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--examples", nargs="+", default=list(EXAMPLES), choices=list(EXAMPLES))
    parser.add_argument("--flags", default="", help="extra synthesize.py flags for the defaults' run")
    parser.add_argument("--ancestor-cache", type=Path,
                        help="JSON file keeping the ancestor runs' final values and times, for trying settings of "
                             "the defaults; the figures to report come from one run without it")
    args = parser.parse_args()
    if any(flag.split("=")[0] in ("--weights", "--data-dir", "-d") for flag in args.flags.split()):
        parser.error("--flags cannot change the weights: both runs and the ancestor's objective use the default ones")
    cache = json.loads(args.ancestor_cache.read_text()) if args.ancestor_cache and args.ancestor_cache.exists() else {}

    from texsynth.runtime import start_tensorflow

    start_tensorflow()
    from quality import Reference

    from texsynth.io.images import load_image
    from texsynth.nn.weights import load_weights

    from machine import cpu_description, weights_description

    print(f"time to quality: {args.size}x{args.size}, {args.octaves} octaves, seed {args.seed}; "
          f"CPU {cpu_description()}; weights {weights_description()}", flush=True)
    weights = load_weights("auto", ROOT / "model_data")
    for name in args.examples:
        source = load_image(ROOT / "examples" / EXAMPLES[name])
        objective = ancestor_objective(source, weights, args.size)
        reference = Reference(source)
        key = f"{name} {args.size} {args.octaves} {args.seed} {args.ancestor_iter} {args.every}"
        cached = key in cache
        if cached:
            old_iterations, old_time, goals = cache[key]
        else:
            old, old_time, _, _ = run(source, weights, ANCESTOR, args.size, args.octaves, args.ancestor_iter,
                                      args.every, args.seed)
            old_iterations = len(old) and old[-1][0]
            goals = [objective(old[-1][2]), reference.score(old[-1][2])["score"]]
            if args.ancestor_cache:
                cache[key] = [old_iterations, old_time, goals]
                args.ancestor_cache.write_text(json.dumps(cache))
        new, new_time, config, _ = run(source, weights, args.flags.split(), args.size, args.octaves,
                                       args.max_iter, args.every, args.seed)
        print(f"{name}: ancestor's schedule {old_iterations} iterations in {old_time:.1f} s"
              f"{' (cached)' if cached else ''}; defaults "
              f"({config.schedule}, {config.optimizer}, {config.loss}"
              f"{', spectrum ' + str(config.spectrum_weight) if config.spectrum_weight else ''}) "
              f"{new[-1][0]} iterations in {new_time:.1f} s", flush=True)
        for (label, measure), goal in zip((("ancestor's objective", objective),
                                           ("quality.py score", lambda f: reference.score(f)["score"])), goals):
            new_values = [measure(frame) for _, _, frame in new]
            reached = first_reach(new, new_values, goal)
            if reached is None:
                print(f"  {label}: ancestor final {goal:.4g}; defaults final {new_values[-1]:.4g}, not reached "
                      f"(ratio of whole runs {old_time / new_time:.2f}x)", flush=True)
            else:
                iteration, seconds = reached
                print(f"  {label}: ancestor final {goal:.4g}; defaults reach it at iteration {iteration} after "
                      f"{seconds:.1f} s (final {new_values[-1]:.4g}): {old_time / max(seconds, 1e-9):.1f}x faster",
                      flush=True)


if __name__ == "__main__":
    main()
