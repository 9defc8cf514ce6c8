"""Benchmark ``texsynth cppn``: seconds and peak memory for large renders.

Each case runs in a fresh Python process, so its peak resident set size (``ru_maxrss``) is its
own. A case reports the render alone (pixels computed chunk by chunk and dropped) and the full
command (render + streamed PNG written to a temporary folder).

Usage::

    python benchmarks/bench_cppn.py                 # 8 MP greyscale, 8000x8000 greyscale, 2880x1800 RGB
    python benchmarks/bench_cppn.py 4000x2000x1     # one case: WIDTHxHEIGHTxCHANNELS
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

DEFAULT_CASES = ("4000x2000x1", "8000x8000x1", "2880x1800x3")
SEED = 1


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def run_case(width: int, height: int, channels: int) -> dict:
    """Time one case in this process (called in a child process by :func:`main`)."""
    from texsynth.commands import cppn as cppn_command
    from texsynth.cppn import CPPNConfig, build_cppn, render_rows

    baseline = _peak_rss_mib()
    net = build_cppn(CPPNConfig(channels=channels, random_seed=SEED))
    start = time.perf_counter()
    for _top, _chunk in render_rows(net, width, height):
        pass
    render_s = time.perf_counter() - start
    render_rss = _peak_rss_mib()
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "bench.png")
        start = time.perf_counter()
        cppn_command.main(["--width", str(width), "--height", str(height), "--channels", str(channels),
                           "--random-seed", str(SEED), "--output", out, "--quiet"])
        total_s = time.perf_counter() - start
        png_mb = os.path.getsize(out) / 1e6
    return {"width": width, "height": height, "channels": channels, "render_s": render_s,
            "render_peak_rss_mib": render_rss, "total_s": total_s, "peak_rss_mib": _peak_rss_mib(),
            "baseline_rss_mib": baseline, "png_mb": png_mb}


def _case(text: str) -> str:
    """A WIDTHxHEIGHTxCHANNELS argument, checked before any child starts."""
    parts = text.split("x")
    if len(parts) != 3 or not all(part.isdigit() and int(part) > 0 for part in parts):
        raise argparse.ArgumentTypeError(f"not WIDTHxHEIGHTxCHANNELS with positive numbers: {text!r}")
    return text


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:  # the measuring process, started by the parent below
        width, height, channels = (int(v) for v in argv[1].split("x"))
        print(json.dumps(run_case(width, height, channels)))
        return 0
    parser = argparse.ArgumentParser(description="Seconds and peak memory of large texsynth cppn renders.")
    parser.add_argument("cases", nargs="*", type=_case, default=list(DEFAULT_CASES),
                        help=f"WIDTHxHEIGHTxCHANNELS (default: {' '.join(DEFAULT_CASES)})")
    cases = parser.parse_args(argv).cases
    print(f"# texsynth cppn benchmark: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"python {platform.python_version()}, default network (tanh, net-size 32, 3 layers), seed {SEED}")
    for case in cases:
        result = subprocess.run([sys.executable, __file__, "--child", case], capture_output=True, text=True)
        if result.returncode != 0:
            print(f"{case}: failed\n{result.stderr}", file=sys.stderr)
            return 1
        r = json.loads(result.stdout.strip().splitlines()[-1])
        mp = r["width"] * r["height"] / 1e6
        kind = "greyscale" if r["channels"] == 1 else "RGB"
        print(f"{r['width']}x{r['height']} {kind} ({mp:.1f} MP): render {r['render_s']:.1f} s, "
              f"render + streamed PNG {r['total_s']:.1f} s ({r['png_mb']:.1f} MB file), "
              f"peak RSS {r['peak_rss_mib']:.0f} MiB (after imports {r['baseline_rss_mib']:.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
