"""Seconds per L-BFGS-B iteration and peak memory of texture synthesis.

Runs the real optimiser on examples/gravel.jpg at the defaults (4 octaves, layers 2 7, valid padding,
the bundled weights) at 512x512 and 1024x1024, each in a fresh process so peak memory is its own.
Prints one line per setting: median seconds per iteration after warm-up, and peak resident memory.
At 512x512 it also measures the ancestor's objective (no margin, no colour terms) in the same run,
so the cost of texsynth's additions shows as a ratio even on a noisy machine.

    python benchmarks/bench_iteration.py [--sizes 512 1024] [--iterations 8] [--warmup 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure(size: int, iterations: int, warmup: int, extra: dict) -> dict:
    """Run one setting in this process and return its figures."""
    import numpy as np

    from texsynth.cli import start_tensorflow

    start_tensorflow()
    from texsynth.synthesis import SynthConfig, Synthesizer
    from texsynth.weights import load_weights

    config = SynthConfig(sources=[ROOT / "examples" / "gravel.jpg"], width=size, height=size,
                         max_iter=warmup + iterations, tol=1e-30, random_seed=0, **extra)
    synth = Synthesizer(config, load_weights(None, ROOT / "model_data"))
    result = synth.run()
    timed = result.seconds[warmup:]
    return {"size": size, "border": synth.border, "iterations": len(timed),
            "median_s": float(np.median(timed)), "min_s": float(np.min(timed)),
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    parser.add_argument("--iterations", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ancestor", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        extra = {"colour_weight": 0.0, "border": 0} if args.ancestor else {}
        print(json.dumps(measure(args.one, args.iterations, args.warmup, extra)))
        return
    print(f"texsynth iteration benchmark: {os.cpu_count()} CPUs, gravel.jpg, 4 octaves, layers 2 7, valid padding, "
          f"median of {args.iterations} iterations after {args.warmup} warm-up")
    settings = [(size, False) for size in args.sizes]
    if 512 in args.sizes:
        settings.insert(args.sizes.index(512) + 1, (512, True))
    figures = {}
    for size, ancestor in settings:
        command = [sys.executable, __file__, "--one", str(size), "--iterations", str(args.iterations),
                   "--warmup", str(args.warmup)] + (["--ancestor"] if ancestor else [])
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        r = figures[size, ancestor] = json.loads(out)
        label = "ancestor's objective (no margin, no colour terms)" if ancestor else f"texsynth defaults (+{r['border']}px margin)"
        ratio = ""
        if ancestor and (size, False) in figures:
            ratio = f"; texsynth/ancestor time ratio {figures[size, False]['median_s'] / r['median_s']:.2f}"
        print(f"{size}x{size} {label}: {r['median_s']:.3f} s/iteration (min {r['min_s']:.3f}), "
              f"peak memory {r['peak_mib']:.0f} MiB{ratio}", flush=True)


if __name__ == "__main__":
    main()
