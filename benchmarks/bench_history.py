"""How many curvature pairs the device L-BFGS should keep: loss, quality and time per history size.

For each example texture and each history size, one run of texsynth's defaults from the same seed
in this process (coarse to fine, ``--max-iter`` iterations), with ``DeviceLBFGS(history=m)``. Printed
per run: the final loss (the finest stage's objective, comparable between history sizes), the
``benchmarks/quality.py`` score (1.0 = as close as another piece of the source), the optimiser's
seconds, evaluations per iteration, and the memory the history holds on the device (2 m canvases).

    python benchmarks/bench_history.py [--size 256 --octaves 3 --max-iter 200] [--histories 3 5 10 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

EXAMPLES = {"gravel": "gravel.jpg", "brick": "brick.jpg", "leaves": "leaves.png"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--octaves", type=int, default=3)
    parser.add_argument("--max-iter", type=int, default=200)
    parser.add_argument("--histories", type=int, nargs="+", default=[3, 5, 10, 20])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--examples", nargs="+", default=list(EXAMPLES), choices=list(EXAMPLES))
    args = parser.parse_args()

    from texsynth.runtime import start_tensorflow

    start_tensorflow()
    from quality import Reference

    from texsynth.commands.synth import build_parser, synth_config
    from texsynth.io.images import load_image
    from texsynth.nn.weights import load_weights
    from texsynth.optim.device_lbfgs import DeviceLBFGS
    from texsynth.runtime.memory import reserve_cpu_pool
    from texsynth.synthesis import Synthesizer, pool_bytes

    from machine import cpu_description, weights_description

    print(f"L-BFGS history: {args.size}x{args.size}, {args.octaves} octaves, {args.max_iter} iterations, "
          f"seed {args.seed}; CPU {cpu_description()}; weights {weights_description()}", flush=True)
    weights = load_weights("auto", ROOT / "model_data")
    print("texture   history   final loss   score   seconds   evals/it   history MiB", flush=True)
    summary: dict[int, list[float]] = {m: [] for m in args.histories}
    for name in args.examples:
        source = load_image(ROOT / "examples" / EXAMPLES[name])
        reference = Reference(source)
        config = synth_config(build_parser().parse_args(
            ["-s", "-", "-ow", str(args.size), "-o", str(args.octaves), "-m", str(args.max_iter),
             "--random-seed", str(args.seed)]))
        reserve_cpu_pool(pool_bytes(config, [source.shape]))
        losses = {}
        for m in args.histories:
            synth = Synthesizer(config, weights, [source], optimizer=DeviceLBFGS(config.tol, history=m))
            start = time.perf_counter()
            result = synth.run()
            seconds = time.perf_counter() - start
            score = reference.score(synth.to_frames(result.x)[0].astype(np.float32))["score"]
            losses[m] = result.losses[-1]
            mib = 2 * m * result.x.size * 4 / 2**20
            print(f"{name:9} {m:7d} {result.losses[-1]:12.5g} {score:7.3f} {seconds:9.1f} "
                  f"{result.evaluations / max(len(result.losses), 1):10.2f} {mib:13.1f}", flush=True)
            summary[m].append(score)
        best = min(losses.values())
        print("  loss relative to the best: " + ", ".join(f"m={m}: {v / best:.3f}" for m, v in losses.items()),
              flush=True)
    print("median score: " + ", ".join(f"m={m}: {np.median(v):.3f}" for m, v in summary.items()), flush=True)


if __name__ == "__main__":
    main()
