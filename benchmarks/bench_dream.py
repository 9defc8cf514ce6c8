"""Benchmark ``texsynth dream``: wall time of a 512x512 photo at the default settings.

The command runs in a fresh process (``python -m texsynth dream``), so the time includes starting
Python, importing TensorFlow and reading the weights, i.e. what a user waits for. The run's
``run.json`` supplies the iterations actually taken (``--max-loss`` may end octaves early).

Usage::

    python benchmarks/bench_dream.py                  # examples/leaves.png, 512x512, defaults
    python benchmarks/bench_dream.py PHOTO            # another image, resized to 512x512
    python benchmarks/bench_dream.py --no-early-stop  # worst case: all 4 x 20 iterations
    python benchmarks/bench_dream.py --precision float32   # the maps' precision (default: auto)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZE = 512


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Wall time of texsynth dream on a 512x512 photo at the defaults.")
    parser.add_argument("photo", nargs="?", type=Path, default=ROOT / "examples" / "leaves.png",
                        help="the image, resized to 512x512 (default: examples/leaves.png)")
    parser.add_argument("--no-early-stop", action="store_true", help="worst case: all 4 x 20 iterations")
    parser.add_argument("--precision", default="auto", help="the maps' precision (default: auto)")
    args = parser.parse_args(argv)
    worst, precision, source = args.no_early_stop, args.precision, args.photo
    if not source.is_file():
        parser.error(f"no such image: {source}")
    from PIL import Image

    with tempfile.TemporaryDirectory() as folder:
        photo = Path(folder) / "photo.png"
        Image.open(source).convert("RGB").resize((SIZE, SIZE), Image.LANCZOS).save(photo)
        command = [sys.executable, "-m", "texsynth", "dream", str(photo), "--output-dir", folder,
                   "--random-seed", "0", "--quiet", "--precision", precision] + (["--max-loss", "1e30"] if worst else [])
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                                env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
        wall = time.perf_counter() - start
        if result.returncode != 0:
            print(f"texsynth dream failed ({result.returncode}): {result.stderr.strip()}", file=sys.stderr)
            return 1
        log = json.loads(next(Path(folder).glob("dream.*/run.json")).read_text())
    iterations = sum(o["iterations"] for o in log["octaves"])
    print(f"texsynth dream {SIZE}x{SIZE} {source.name} at defaults{' without early stop' if worst else ''} "
          f"({log['weights']['arch']}, {', '.join(log['layers'])}, {log['precision']}, {iterations} iterations over "
          f"{len(log['octaves'])} octaves) on {os.cpu_count()} CPUs: {wall:.1f} s wall "
          f"({log['seconds']:.1f} s dreaming, peak memory {log['peak_memory_mb']:.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
