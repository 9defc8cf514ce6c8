"""Seconds per iteration at several sizes, the time to a finished texture at the defaults, and peak
device memory: the figures ``gpu_check.sh`` prints (it runs anywhere; on a CPU use small sizes).

    python benchmarks/gpu_timings.py [--sizes 512 1024 2048] [--finished 512] [--iterations 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048])
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--finished", type=int, default=512, help="size of the texture made at the defaults")
    args = parser.parse_args()

    from texsynth.runtime import start_tensorflow

    start_tensorflow()
    import tensorflow as tf

    from texsynth.io.images import load_image
    from texsynth.nn.weights import load_weights
    from texsynth.synthesis import SynthConfig, Synthesizer

    device = "GPU:0" if tf.config.list_physical_devices("GPU") else "CPU:0"
    weights = load_weights("auto", ROOT / "model_data")
    source = load_image(ROOT / "examples" / "gravel.jpg")

    def peak_mib() -> float:
        try:
            return tf.config.experimental.get_memory_info(device)["peak"] / 2**20
        except ValueError:
            return float("nan")

    for size in args.sizes:
        config = SynthConfig(width=size, height=size, max_iter=args.iterations + 3, tol=1e-30, random_seed=0,
                             schedule="joint")
        synth = Synthesizer(config, weights, [source])
        seconds = synth.run().seconds[3:]
        print(f"{device} {size}x{size}: {np.median(seconds):.4f} s/iteration (joint schedule, device L-BFGS, "
              f"{synth.precision}), peak memory {peak_mib():.0f} MiB", flush=True)
    config = SynthConfig(width=args.finished, height=args.finished, random_seed=0)
    start = time.perf_counter()
    synth = Synthesizer(config, weights, [source])
    result = synth.run()
    synth.to_frames(result.x)
    print(f"{device} {args.finished}x{args.finished} at the defaults ({config.max_iter} iterations, "
          f"{config.schedule}): {time.perf_counter() - start:.1f} s including set-up, peak memory "
          f"{peak_mib():.0f} MiB", flush=True)


if __name__ == "__main__":
    main()
