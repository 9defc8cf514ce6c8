"""Where a coarse-to-fine run spends its time, and when each stage's quality settles.

Runs texsynth's defaults on one example (or any image), takes a frame every ``--every`` iterations
(the coarse stages' frames upsampled to the output size, as the command saves them) and prints, per
frame, the optimiser's time so far, the ancestor's objective and ``benchmarks/quality.py``'s score,
then one line per stage: its canvas, iterations, seconds and seconds per iteration. This is what the
stage budget (``texsynth.schedule.STAGE_SHARES``) is judged by: a stage whose frames stopped
improving long before its end spends iterations for nothing.

    python benchmarks/bench_stages.py [--example gravel] [--size 512 --octaves 4 --max-iter 300]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--example", default="gravel",
                        help="gravel, brick, leaves (the examples) or the path of an image")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--octaves", type=int, default=4)
    parser.add_argument("--max-iter", type=int, default=300)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--flags", default="", help="extra synthesize.py flags")
    args = parser.parse_args()

    from texsynth.runtime import start_tensorflow

    start_tensorflow()
    from bench_time_to_quality import EXAMPLES, ancestor_objective, run
    from machine import cpu_description, weights_description
    from quality import Reference

    from texsynth.io.images import load_image
    from texsynth.nn.weights import load_weights

    path = ROOT / "examples" / EXAMPLES[args.example] if args.example in EXAMPLES else Path(args.example)
    source = load_image(path)
    weights = load_weights("auto", ROOT / "model_data")
    frames, total, config, stages = run(source, weights, args.flags.split(), args.size, args.octaves,
                                        args.max_iter, args.every, args.seed)
    objective, reference = ancestor_objective(source, weights, args.size), Reference(source)
    print(f"stages: {path.name}, {args.size}x{args.size}, {args.octaves} octaves, {args.max_iter} iterations "
          f"({config.schedule}, {config.optimizer}, {config.loss}), seed {args.seed}; CPU {cpu_description()}; "
          f"weights {weights_description()}")
    print("iteration   seconds   ancestor's objective   score")
    for iteration, seconds, frame in frames:
        print(f"{iteration:9d} {seconds:9.1f} {objective(frame):22.4g} {reference.score(frame)['score']:7.3f}")
    first = 1
    for stage in stages:
        iterations = stage["iterations"]
        print(f"stage {stage['height']}x{stage['width']} ({stage['octaves']} octaves): iterations {first}-"
              f"{first + iterations - 1}, {stage.get('seconds', total):.1f} s "
              f"({stage.get('seconds', total) / max(iterations, 1):.2f} s/iteration)")
        first += iterations
    print(f"all: {total:.1f} s")


if __name__ == "__main__":
    main()
