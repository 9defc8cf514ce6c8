"""Seconds per L-BFGS iteration and peak memory of texture synthesis, beside the ancestor's design.

Runs the real optimiser on examples/gravel.jpg at the defaults (4 octaves, layers 2 7, valid padding,
the bundled weights) at each size, on the full canvas (``--schedule joint``: an iteration of the
coarse-to-fine schedule costs what its stage's size costs), for texsynth's defaults (sliced
Wasserstein, L-BFGS on the device; bfloat16 maps on a CPU with AMX or AVX-512 BF16, float32
elsewhere), for other settings of texsynth (``--loss gram``, ``--optimizer scipy``, a spectrum term,
float32, bfloat16, a margin) and for the ancestor's design rebuilt on Keras 3 (benchmarks/ancestor.py),
each setting in a fresh process so peak memory is its own. Settings take turns over ``--rounds``
rounds, so a machine that slows down for a while hurts all alike; the figure of a setting is the
median over all its timed iterations. Prints one line per setting and the ratios to the ancestor's
design, the figures to compare on a noisy machine. With ``texsynth`` and ``scipy`` both run, it also
prints the loss each optimiser reached after the same iterations from the same start (the two must
agree within a few percent: the device L-BFGS is there to be as good as scipy's, only cheaper on a GPU).

    python benchmarks/bench_iteration.py [--sizes 512 1024] [--iterations 8] [--warmup 3] [--rounds 2]
                                         [--designs texsynth gram spectrum scipy ancestor float32 bfloat16 margin]
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
SOURCE = ROOT / "examples" / "gravel.jpg"
# The ancestor's design shrinks its canvas with valid convolutions at every octave: 4 octaves up to
# conv3_2 need about this many pixels.
ANCESTOR_MIN = 480

# texsynth's settings per design, all on the full canvas: its defaults; the Gram statistic; a spectrum
# term; scipy's optimiser on the defaults' objective; float32 (what a CPU without bfloat16 instructions
# runs); bfloat16 (what one with them runs); and an earlier default, a flat canvas with a 16 px margin
# instead of one that wraps around.
JOINT = {"schedule": "joint"}
DESIGN_OPTIONS = {"texsynth": JOINT, "gram": {**JOINT, "loss": "gram"},
                  "spectrum": {**JOINT, "spectrum_weight": 0.1}, "scipy": {**JOINT, "optimizer": "scipy"},
                  "float32": {**JOINT, "precision": "float32"}, "bfloat16": {**JOINT, "precision": "bfloat16"},
                  "margin": {**JOINT, "border": 16}}
LABELS = {"texsynth": "texsynth defaults (sw, device)", "ancestor": "ancestor's design",
          "gram": "texsynth --loss gram", "spectrum": "texsynth --spectrum-weight 0.1",
          "scipy": "texsynth --optimizer scipy", "float32": "texsynth --precision float32",
          "bfloat16": "texsynth --precision bfloat16",
          "margin": "texsynth --border 16"}


class AnonymousPeak:
    """Peak anonymous resident memory (RssAnon), sampled every few milliseconds by a thread.

    Peak RSS also counts the pages of TensorFlow's shared libraries, whose resident share varies
    by 100 MB and more between identical runs; the process's own allocations do not.
    """

    def __init__(self, interval: float = 0.003) -> None:
        import threading

        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("RssAnon:"):
                        self.peak_kib = max(self.peak_kib, int(line.split()[1]))

    def stop(self) -> float:
        """Stop sampling; the peak in MiB."""
        self._stop.set()
        self._thread.join()
        return self.peak_kib / 1024


def measure(design: str, size: int, iterations: int, warmup: int) -> dict:
    """Run one setting in this process and return its figures."""
    import numpy as np

    anonymous = AnonymousPeak()

    from texsynth.runtime import start_tensorflow

    start_tensorflow()
    from texsynth.io.images import load_image
    from texsynth.nn.weights import load_weights

    weights = load_weights(None, ROOT / "model_data")
    precision = "auto"
    if design in DESIGN_OPTIONS:
        from texsynth.runtime.memory import reserve_cpu_pool
        from texsynth.synthesis import SynthConfig, Synthesizer, pool_bytes

        config = SynthConfig(width=size, height=size, max_iter=warmup + iterations, tol=1e-30,
                             random_seed=0, **DESIGN_OPTIONS[design])
        source = load_image(SOURCE)
        reserve_cpu_pool(pool_bytes(config, [source.shape]))  # as the command does
        synth = Synthesizer(config, weights, [source])
        precision = synth.precision
        del weights
        result = synth.run()
        seconds, losses = result.seconds, result.losses
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from ancestor import AncestorSynthesis

        from texsynth.nn.vgg import rgb_to_vgg

        source = rgb_to_vgg(load_image(SOURCE)[None], weights.mean_bgr)
        ancestor = AncestorSynthesis(weights, source, octaves=4, layers=[2, 7])
        x0 = np.random.default_rng(0).normal(size=(1, size, size, 3)) + 10 - np.asarray(weights.mean_bgr)
        del weights
        seconds = ancestor.run(x0, warmup + iterations)
        losses = []  # its own objective, not comparable
    return {"seconds": seconds[warmup:], "precision": precision, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "anon_mib": anonymous.stop(), "losses": losses}


def optimizer_comparison(size: int, device: list[float], scipy: list[float]) -> str:
    """One line: the loss of the defaults' objective with L-BFGS on the device and with scipy's
    L-BFGS-B from the same start, after every tenth iteration and the last. The two paths part after
    a few iterations, so single checkpoints differ by a fifth either way; over 50-100 iterations the
    two agree within a few percent."""
    n = min(len(device), len(scipy))
    if n == 0:
        return f"{size}x{size} loss: no iteration to compare"
    marks = [k for k in range(10, n, 10)] + [n]
    pairs = ", ".join(f"{k}: {device[k - 1]:.4g} / {scipy[k - 1]:.4g} = {device[k - 1] / scipy[k - 1]:.3f}"
                      for k in marks)
    return f"{size}x{size} loss, --optimizer device / scipy (same objective, seed and start), after iterations {pairs}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    parser.add_argument("--iterations", type=int, default=8, help="timed iterations per run")
    parser.add_argument("--warmup", type=int, default=3, help="iterations run before timing")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each setting, taking turns")
    parser.add_argument("--designs", nargs="+", default=["texsynth", "gram", "scipy", "ancestor"], choices=list(LABELS),
                        help="float32: texsynth with --precision float32 (the same as the defaults on a CPU without "
                             "AMX or AVX-512 BF16); bfloat16: texsynth with --precision bfloat16; margin: texsynth "
                             "with --border 16, a flat canvas with a margin")
    parser.add_argument("--one", nargs=2, metavar=("DESIGN", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one[0], int(args.one[1]), args.iterations, args.warmup)))
        return
    from machine import weights_description

    print(f"texsynth iteration benchmark: {os.cpu_count()} CPUs, gravel.jpg, 4 octaves, layers 2 7, valid padding; "
          f"{args.rounds} round(s) of {args.iterations} timed iterations after {args.warmup} warm-up; "
          f"weights {weights_description()}", flush=True)
    import numpy as np

    seconds: dict[tuple[str, int], list[float]] = {}
    peaks: dict[tuple[str, int], list[float]] = {}
    anon: dict[tuple[str, int], list[float]] = {}
    precisions: dict[str, str] = {}
    losses: dict[tuple[str, int], list[float]] = {}
    for _ in range(args.rounds):
        for size in args.sizes:
            for design in args.designs:
                if design == "ancestor" and size < ANCESTOR_MIN:
                    continue
                command = [sys.executable, __file__, "--one", design, str(size), "--iterations", str(args.iterations),
                           "--warmup", str(args.warmup)]
                out = subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()
                figures = json.loads(out.splitlines()[-1])
                seconds.setdefault((design, size), []).extend(figures["seconds"])
                peaks.setdefault((design, size), []).append(figures["peak_mib"])
                anon.setdefault((design, size), []).append(figures["anon_mib"])
                precisions[design] = figures["precision"]
                losses[design, size] = figures["losses"]  # the same in every round: one seed, one machine
    labels = {design: LABELS[design] + (f" ({precisions[design]})" if design in DESIGN_OPTIONS else "")
              for design in args.designs}
    for size in args.sizes:
        for design in args.designs:
            if (design, size) not in seconds:
                print(f"{size}x{size} {labels[design]}: not run (its valid 4-octave pyramid needs {ANCESTOR_MIN} px)")
                continue
            s, p, a = seconds[design, size], peaks[design, size], anon[design, size]
            print(f"{size}x{size} {labels[design]}: {np.median(s):.3f} s/iteration (min {np.min(s):.3f}), "
                  f"peak memory {max(p):.0f} MiB (RSS; runs {', '.join(f'{v:.0f}' for v in p)}), "
                  f"anonymous {max(a):.0f} MiB (runs {', '.join(f'{v:.0f}' for v in a)})", flush=True)
        if ("texsynth", size) in losses and ("scipy", size) in losses:
            print(optimizer_comparison(size, losses["texsynth", size], losses["scipy", size]), flush=True)
        if ("ancestor", size) not in seconds:
            continue
        a = ("ancestor", size)
        for design in args.designs:
            if design != "ancestor":
                t = (design, size)
                print(f"{size}x{size} {labels[design]} / ancestor's design: time "
                      f"{np.median(seconds[t]) / np.median(seconds[a]):.2f}, "
                      f"peak memory {max(peaks[t]) / max(peaks[a]):.2f}, "
                      f"anonymous {max(anon[t]) / max(anon[a]):.2f}", flush=True)


if __name__ == "__main__":
    main()
