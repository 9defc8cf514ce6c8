"""Texture quality without VGG: how close a synthesised image is to its source, in units of the
source's own piece-to-piece variation.

No loss of texsynth optimises these statistics directly. Five families, each on 128x128 crops:

- colour: the distribution of each RGB channel (1-D Wasserstein distance between quantile functions);
- filters: energies of an oriented filter bank (Gabor-like derivatives of Gaussians, 4 scales x 4
  orientations) on luminance, as log mean absolute responses;
- lbp: histograms of uniform local binary patterns (8 neighbours, radius 1 and 2) at two scales;
- spectrum: the luminance power spectrum in 6 log-spaced radial x 8 angular bands (log fractions);
- autocorrelation: the normalised autocorrelation of luminance at lags up to 24 pixels, which
  notices broken long-range order (courses, rows, planks) that local statistics miss.

A family's distance of an image is the mean over its crops of the distance to the source's
statistics, divided by the same for crops of the source itself: 1.0 means "as close as another
piece of the source". The score is the mean of the five ratios. ``hatching`` is the luminance
power at periods of 2 to 2.5 pixels and around 4 pixels, relative to the source's.

Usage:
    python benchmarks/quality.py validate [--textures DIR]       # the measure's own check
    python benchmarks/quality.py table [--textures DIR] [--size 256 --octaves 3 --seconds 40]
        [--candidates gram sw sw+spectrum ...] [--only NAME ...] [--json FILE]
        [--set held-out] [--iterations N]     # confirm on textures no default was chosen on

Textures come from benchmarks/textures.py (public-domain textures of a Debian package, not in
examples/). Each is split: its left three quarters are the source, its right quarter is held out.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CROP = 128
FAMILIES = ("colour", "filters", "lbp", "spectrum", "autocorrelation")


# --------------------------------------------------------------------------------------------- statistics

def luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.299, 0.587, 0.114])


def _colour(rgb: np.ndarray) -> np.ndarray:
    quantiles = np.linspace(0.01, 0.99, 33)
    return np.concatenate([np.quantile(rgb[..., c], quantiles) for c in range(3)])


def _filters(grey: np.ndarray) -> np.ndarray:
    energies = []
    for sigma in (1.0, 2.0, 4.0, 8.0):
        gy = ndimage.gaussian_filter(grey, sigma, order=(1, 0), mode="wrap")
        gx = ndimage.gaussian_filter(grey, sigma, order=(0, 1), mode="wrap")
        for angle in np.arange(4) * np.pi / 4:
            response = np.cos(angle) * gx + np.sin(angle) * gy
            energies.append(np.log(np.mean(np.abs(response)) * sigma + 1e-3))
    return np.array(energies)


def _lbp_histogram(grey: np.ndarray, radius: int) -> np.ndarray:
    angles = np.arange(8) * 2 * np.pi / 8
    bits = []
    for a in angles:
        neighbour = ndimage.shift(grey, (radius * np.sin(a), -radius * np.cos(a)), order=1, mode="wrap")
        bits.append(neighbour >= grey)
    bits = np.stack(bits)
    transitions = np.sum(bits != np.roll(bits, 1, axis=0), axis=0)
    ones = bits.sum(axis=0)
    codes = np.where(transitions <= 2, ones, 9)  # uniform patterns by their count of ones; the rest: 9
    histogram = np.bincount(codes.ravel(), minlength=10).astype(float)
    return histogram / histogram.sum()


def _lbp(grey: np.ndarray) -> np.ndarray:
    half = ndimage.zoom(ndimage.gaussian_filter(grey, 1.0), 0.5, order=1)
    return np.concatenate([_lbp_histogram(g, r) for g in (grey, half) for r in (1, 2)])


def _band_powers(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Power spectrum of the mean-free luminance, with radial frequency (cycles/pixel) and angle."""
    g = grey - grey.mean()
    power = np.abs(np.fft.fft2(g)) ** 2
    fy = np.fft.fftfreq(g.shape[0])[:, None]
    fx = np.fft.fftfreq(g.shape[1])[None, :]
    return power, np.hypot(fy, fx), np.mod(np.arctan2(fy, fx), np.pi)


def _spectrum(grey: np.ndarray) -> np.ndarray:
    power, radius, angle = _band_powers(grey)
    radial = np.digitize(radius, np.geomspace(1 / 64, 0.5, 6)) - 1
    angular = np.minimum((angle / np.pi * 8).astype(int), 7)
    total = power.sum() + 1e-9
    bands = np.zeros((6, 8))
    valid = (radial >= 0) & (radial < 6)
    np.add.at(bands, (radial[valid], angular[valid]), power[valid])
    return np.log(bands.ravel() / total + 1e-6)


def _autocorrelation(grey: np.ndarray, reach: int = 24, step: int = 2) -> np.ndarray:
    """The normalised autocorrelation of luminance at lags up to ``reach`` pixels (every ``step``)."""
    power, _, _ = _band_powers(grey)
    correlation = np.real(np.fft.ifft2(power))
    correlation /= correlation[0, 0] + 1e-9
    lags = np.arange(-reach, reach + 1, step)
    return correlation[np.ix_(lags % grey.shape[0], lags % grey.shape[1])].ravel()


def statistics(rgb: np.ndarray) -> dict[str, np.ndarray]:
    """Every family's statistics of an RGB image (floats in [0, 255])."""
    grey = luminance(rgb)
    return {"colour": _colour(rgb), "filters": _filters(grey), "lbp": _lbp(grey), "spectrum": _spectrum(grey),
            "autocorrelation": _autocorrelation(grey)}


def distance(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, float]:
    """Per family: colour as mean absolute quantile difference, lbp as L1, the others as RMS."""
    return {"colour": float(np.mean(np.abs(a["colour"] - b["colour"]))),
            "filters": float(np.sqrt(np.mean((a["filters"] - b["filters"]) ** 2))),
            "lbp": float(np.sum(np.abs(a["lbp"] - b["lbp"]))),
            "spectrum": float(np.sqrt(np.mean((a["spectrum"] - b["spectrum"]) ** 2))),
            "autocorrelation": float(np.sqrt(np.mean((a["autocorrelation"] - b["autocorrelation"]) ** 2)))}


def crops(image: np.ndarray, size: int = CROP) -> list[np.ndarray]:
    """Non-overlapping size x size crops on a grid covering the image (at least one)."""
    h, w = image.shape[:2]
    rows = max(1, h // size)
    cols = max(1, w // size)
    ys = np.linspace(0, h - size, rows).astype(int)
    xs = np.linspace(0, w - size, cols).astype(int)
    return [image[y:y + size, x:x + size] for y in ys for x in xs]


def hatching(rgb: np.ndarray) -> tuple[float, float]:
    """Fractions of luminance power at periods of 2-2.5 px and of 3.6-4.4 px."""
    power, radius, _ = _band_powers(luminance(rgb))
    total = power.sum() + 1e-9
    return (float(power[radius >= 0.4].sum() / total),
            float(power[(radius >= 1 / 4.4) & (radius <= 1 / 3.6)].sum() / total))


class Reference:
    """A source's statistics and its own piece-to-piece variation, the yardstick of a score."""

    def __init__(self, source: np.ndarray) -> None:
        self.stats = statistics(source)
        own = [distance(statistics(c), self.stats) for c in crops(source)]
        self.baseline = {f: float(np.mean([d[f] for d in own])) for f in FAMILIES}
        self.hatching = hatching(source)

    def score(self, image: np.ndarray) -> dict[str, float]:
        """Per-family ratios, their mean (``score``) and the hatching ratios of an image."""
        found = [distance(statistics(c), self.stats) for c in crops(image)]
        ratios = {f: float(np.mean([d[f] for d in found]) / max(self.baseline[f], 1e-12)) for f in FAMILIES}
        ratios["score"] = float(np.mean([ratios[f] for f in FAMILIES]))
        h2, h4 = hatching(image)
        ratios["hatch2"] = h2 / max(self.hatching[0], 1e-12)
        ratios["hatch4"] = h4 / max(self.hatching[1], 1e-12)
        return ratios


# --------------------------------------------------------------------------------------------- textures

def split(texture: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The source (left three quarters) and the held-out part (right quarter) of a texture."""
    cut = texture.shape[1] * 3 // 4
    return texture[:, :cut], texture[:, cut:]


def load_textures(folder: Path, size: int, only: list[str] | None = None,
                  held_out: bool = False) -> dict[str, np.ndarray]:
    from textures import HELD_OUT, TEXTURES, ensure

    from texsynth.io.images import load_image, resize_image

    ensure(folder)
    found = {}
    for name in HELD_OUT if held_out else TEXTURES:
        if only and name not in only:
            continue
        image = load_image(folder / f"{name}.png")
        side = min(image.shape[:2])
        image = image[:side, :side]
        found[name] = resize_image(image, size, size)
    return found


# --------------------------------------------------------------------------------------------- validate

def broken_versions(image: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Images that a good measure must score clearly worse than a held-out piece."""
    h, w = image.shape[:2]
    checker = ((np.arange(h)[:, None] // 8 + np.arange(w)[None, :] // 8) % 2 * 255.0)[..., None].repeat(3, -1)
    blocks = image[: h // 16 * 16, : w // 16 * 16].reshape(h // 16, 16, w // 16, 16, 3).swapaxes(1, 2)
    order = rng.permutation(blocks.shape[0] * blocks.shape[1])
    shuffled = blocks.reshape(-1, 16, 16, 3)[order].reshape(h // 16, w // 16, 16, 16, 3).swapaxes(1, 2)
    return {
        "blur": ndimage.gaussian_filter(image, (2, 2, 0)),
        "noise": np.clip(image + rng.normal(0, 25, image.shape), 0, 255),
        "checkerboard": checker,
        "colour swap": image[..., ::-1],
        "shuffled blocks": shuffled.reshape(h // 16 * 16, w // 16 * 16, 3),
    }


def validate(textures: dict[str, np.ndarray]) -> None:
    rng = np.random.default_rng(0)
    names = ["held-out", "blur", "noise", "checkerboard", "colour swap", "shuffled blocks"]
    print("texture".ljust(14) + "".join(n.rjust(16) for n in names))
    rows = []
    for name, texture in textures.items():
        source, held = split(texture)
        reference = Reference(source)
        scores = [reference.score(held)["score"]]
        scores += [reference.score(broken)["score"] for broken in broken_versions(held, rng).values()]
        rows.append(scores)
        print(name.ljust(14) + "".join(f"{s:16.2f}" for s in scores))
    print("median".ljust(14) + "".join(f"{s:16.2f}" for s in np.median(rows, axis=0)))


# --------------------------------------------------------------------------------------------- table

CANDIDATES = {
    "gram": ["--loss", "gram"],
    "sw": ["--loss", "sw"],
    "sw+spectrum0.1": ["--loss", "sw", "--spectrum-weight", "0.1"],
    "sw+spectrum0.5": ["--loss", "sw", "--spectrum-weight", "0.5"],
}


def _weights(name: str, data_dir: Path):
    """The weights a candidate's ``--weights`` and ``--data-dir`` select, each read once per process
    (``model_data/`` is the project's, wherever this runs from)."""
    return _load_weights(name, ROOT / "model_data" if data_dir == Path("model_data") else data_dir)


@functools.cache
def _load_weights(name: str, folder: Path):
    from texsynth.nn.weights import load_weights

    return load_weights(name, folder)


def synthesise(source: np.ndarray, flags: list[str], size: int, octaves: int, seconds: float,
               seed: int, iterations: int | None = None) -> tuple[np.ndarray, int, float]:
    """Run texsynth in this process for ``seconds`` of optimisation with the joint schedule (Ctrl-C
    semantics: the latest image is kept), or, given ``iterations``, for that many iterations with
    the candidate's own schedule. Returns the image, the iterations done and the wall time."""
    from texsynth.commands.synth import build_parser, synth_config
    from texsynth.runtime.memory import reserve_cpu_pool
    from texsynth.synthesis import Synthesizer, pool_bytes

    # The joint schedule: a time limit cuts a run short wherever it is, and a coarse-to-fine run cut
    # short would be judged on an unfinished coarse stage. (Schedules are compared at equal quality
    # by bench_time_to_quality.py.)
    budget = ["-m", str(iterations)] if iterations else ["-m", "100000", "--schedule", "joint"]
    args = build_parser().parse_args(["-s", "-", "-ow", str(size), "-o", str(octaves), *budget,
                                      "--random-seed", str(seed), *flags])
    config = synth_config(args)
    reserve_cpu_pool(pool_bytes(config, [source.shape]))
    synth = Synthesizer(config, _weights(args.weights, Path(args.data_dir)), [source])
    start = time.perf_counter()

    def stop_after(iteration: int, x: np.ndarray, loss: float) -> None:
        if not iterations and time.perf_counter() - start > seconds:
            raise KeyboardInterrupt

    result = synth.run(stop_after)
    return synth.to_frames(result.x)[0].astype(np.float32), len(result.losses), time.perf_counter() - start


def table(textures: dict[str, np.ndarray], candidates: list[str], size: int, octaves: int, seconds: float,
          seed: int, save: Path | None, out_json: Path | None, iterations: int | None = None) -> None:
    from textures import ALL

    results = []
    header = "texture".ljust(14) + "kind".ljust(11) + "".join(c.rjust(22) for c in candidates)
    print(header, flush=True)
    for name, texture in textures.items():
        source, _ = split(texture)
        reference = Reference(source)
        cells = []
        for candidate in candidates:
            image, done, wall = synthesise(source, CANDIDATES[candidate], size, octaves, seconds, seed, iterations)
            score = reference.score(image)
            results.append({"texture": name, "kind": ALL[name]["kind"], "candidate": candidate,
                            "iterations": done, "seconds": wall, **score})
            cells.append(f"{score['score']:.2f} ({done} it, {wall:.0f} s)")
            if save is not None:
                from texsynth.io.images import save_image

                save.mkdir(parents=True, exist_ok=True)
                save_image(image, save / f"{name}.{candidate}.png")
        print(name.ljust(14) + ALL[name]["kind"].ljust(11) + "".join(c.rjust(22) for c in cells), flush=True)
    for kind in sorted({r["kind"] for r in results}):
        cells = [np.median([r["score"] for r in results if r["kind"] == kind and r["candidate"] == c])
                 for c in candidates]
        print(f"median {kind}".ljust(25) + "".join(f"{c:22.2f}" for c in cells))
    cells = [np.median([r["score"] for r in results if r["candidate"] == c]) for c in candidates]
    print("median all".ljust(25) + "".join(f"{c:22.2f}" for c in cells))
    cells = [np.median([r["hatch2"] for r in results if r["candidate"] == c]) for c in candidates]
    print("median hatch2".ljust(25) + "".join(f"{c:22.2f}" for c in cells))
    if out_json is not None:
        out_json.write_text(json.dumps(results, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["validate", "table"])
    parser.add_argument("--textures", type=Path, default=ROOT / "benchmarks" / ".textures")
    parser.add_argument("--texture-size", type=int, default=512, help="side the textures are resized to")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--octaves", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=40.0, help="optimisation time per candidate")
    parser.add_argument("--iterations", type=int,
                        help="instead of --seconds with the joint schedule: this many iterations of each candidate's "
                             "own schedule (the coarse-to-fine default unless its flags say otherwise)")
    parser.add_argument("--set", choices=["tuning", "held-out"], default="tuning",
                        help="the textures defaults are chosen on, or the held-out ones that only confirm them")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--candidates", nargs="*", default=list(CANDIDATES),
                        help="candidates by name (none: only the --extra ones)")
    parser.add_argument("--extra", nargs=2, action="append", metavar=("NAME", "FLAGS"), default=[],
                        help="another candidate: a name and its synthesize.py flags in one string")
    parser.add_argument("--only", nargs="+", help="texture names")
    parser.add_argument("--save", type=Path, help="folder for the synthesised images")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    textures = load_textures(args.textures, args.texture_size, args.only, args.set == "held-out")
    if args.mode == "validate":
        validate(textures)
        return
    from texsynth.runtime import start_tensorflow

    start_tensorflow()
    for name, flags in args.extra:
        CANDIDATES[name] = flags.split()
        args.candidates.append(name)
    if not args.candidates:
        parser.error("no candidates: name some with --candidates or add them with --extra")

    from machine import cpu_description, weights_description

    budget = (f"{args.iterations} iterations of each candidate's schedule" if args.iterations
              else f"{args.seconds:g} s per candidate (joint schedule)")
    print(f"quality table ({args.set} textures): {args.size}x{args.size}, {args.octaves} octaves, {budget}, "
          f"seed {args.seed}; CPU {cpu_description()}; weights {weights_description()} (unless a candidate's "
          "--weights says otherwise)", flush=True)
    table(textures, args.candidates, args.size, args.octaves, args.seconds, args.seed, args.save, args.json,
          args.iterations)


if __name__ == "__main__":
    main()
