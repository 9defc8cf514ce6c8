"""Benchmark ``texsynth batch`` against separate ``synthesize.py`` processes: the same 8 jobs at 128x128.

Every approach renders the same jobs (same flags, same seeds) into its own temporary folder, timed
by the wall clock around the whole command, start-up included: what a batch saves is loading
TensorFlow and the weights once per worker instead of once per job. All approaches run in one
invocation, on the same machine, one after another.

Usage::

    python benchmarks/bench_batch.py                  # 8 jobs, 128x128, 3 octaves, 50 iterations
    python benchmarks/bench_batch.py --jobs 4 --iter 20
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "examples" / name for name in ("gravel.jpg", "brick.jpg", "leaves.png")]


def cpu_name() -> str:
    """The CPU's model name (``lscpu``), and the cores this process may use."""
    try:
        lines = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout.splitlines()
        name = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("Model name"))
    except (OSError, StopIteration, subprocess.SubprocessError):
        name = "unknown CPU"
    return f"{name}, {len(os.sched_getaffinity(0))} cores"


def _flags(args: argparse.Namespace) -> list[str]:
    return ["--output-width", str(args.size), "--octaves", str(args.octaves), "--max-iter", str(args.iter)]


def _jobs(count: int) -> list[tuple[Path, int]]:
    return [(SOURCES[index % len(SOURCES)], index + 1) for index in range(count)]


def _env() -> dict[str, str]:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def run_batch(args: argparse.Namespace, folder: Path, workers: int) -> float:
    """All jobs through one ``texsynth batch``; returns seconds."""
    manifest = folder / "jobs.csv"
    manifest.write_text("source,output,random-seed\n" + "".join(
        f"{source},{folder / f'job{seed}.png'},{seed}\n" for source, seed in _jobs(args.jobs)))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "texsynth", "batch", str(manifest), "--workers", str(workers), "--quiet",
                    *_flags(args)], check=True, stdout=subprocess.DEVNULL, env=_env())
    return time.perf_counter() - start


def run_separate(args: argparse.Namespace, folder: Path, at_once: int) -> float:
    """One ``synthesize.py --output`` process per job, ``at_once`` at a time; returns seconds."""
    def one(job: tuple[Path, int]) -> None:
        source, seed = job
        subprocess.run([sys.executable, str(ROOT / "synthesize.py"), "--source", str(source), "--output",
                        str(folder / f"job{seed}.png"), "--random-seed", str(seed), "--quiet", *_flags(args)],
                       check=True, stdout=subprocess.DEVNULL, env=_env())

    start = time.perf_counter()
    with ThreadPoolExecutor(at_once) as pool:
        list(pool.map(one, _jobs(args.jobs)))
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--octaves", type=int, default=3)
    parser.add_argument("--iter", type=int, default=50)
    args = parser.parse_args(argv)
    print(f"# bench_batch: {args.jobs} jobs at {args.size}x{args.size}, {args.octaves} octaves, {args.iter} "
          f"iterations, sources {', '.join(s.name for s in SOURCES)}; CPU: {cpu_name()}; Python "
          f"{sys.version.split()[0]}", flush=True)
    approaches = [
        ("texsynth batch, 1 worker", lambda folder: run_batch(args, folder, 1)),
        ("texsynth batch, 2 workers", lambda folder: run_batch(args, folder, 2)),
        (f"{args.jobs} synthesize.py processes, one after another", lambda folder: run_separate(args, folder, 1)),
        (f"{args.jobs} synthesize.py processes, two at a time", lambda folder: run_separate(args, folder, 2)),
    ]
    outputs = {}
    for label, approach in approaches:
        with tempfile.TemporaryDirectory(prefix="bench_batch.") as name:
            folder = Path(name)
            seconds = approach(folder)
            outputs[label] = {path.name: path.read_bytes() for path in folder.glob("job*.png")}
        print(f"{label + ':':<52} {seconds:7.1f} s  ({seconds / args.jobs:.1f} s per job)", flush=True)
    # One worker and the one-after-another processes use the same threads, so the same seeds give
    # the same files.
    first, sequential = outputs[approaches[0][0]], outputs[approaches[2][0]]
    print(f"# {len(first)} outputs each; batch (1 worker) and one-after-another synthesize.py files identical: "
          f"{'yes' if first == sequential else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
