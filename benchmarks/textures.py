"""The textures the quality benchmark runs on: public-domain photographs of stochastic, regular and
mixed textures, none of them in examples/.

They come from the Debian package ``ufoai-textures`` (UFO: Alien Invasion, version 2.5-2), whose
copyright file lists each of the files below under "License: public-domain" ("These files were
granted to the public domain"; authors such as Nobiax, Yughues and the Golgotha Public Domain Data).
Nothing is committed: ``ensure`` downloads the package with apt (the only network this project's
machines have), takes the listed files out of its ``0textures.pk3`` archive and keeps them in a
cache folder (``benchmarks/.textures``, ignored by git).

    python benchmarks/textures.py [FOLDER]      # fetch them now
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "ufoai-textures"
ARCHIVE = "usr/share/games/ufoai/base/0textures.pk3"

# name -> path in the archive and the kind of texture (stochastic: no order; regular: a repeating
# layout; mixed: elements with some order).
TEXTURES = {
    "asphalt": {"path": "textures/tex_buildings/floor005.png", "kind": "stochastic"},
    "dirt": {"path": "textures/tex_nature/dirt002.png", "kind": "stochastic"},
    "grass": {"path": "textures/tex_nature/jungle002.png", "kind": "stochastic"},
    "stone": {"path": "textures/tex_nature/stone001.png", "kind": "stochastic"},
    "sand": {"path": "textures/tex_nature/desert009.png", "kind": "mixed"},
    "paving": {"path": "textures/tex_buildings/paving001.png", "kind": "mixed"},
    "rock": {"path": "textures/tex_nature/rock017.png", "kind": "mixed"},
    "planks": {"path": "textures/tex_buildings/floor_wood01.png", "kind": "regular"},
    "panels": {"path": "textures/tex_buildings/metal01.png", "kind": "regular"},
    "rows": {"path": "textures/tex_nature/potatoes.png", "kind": "regular"},
}

# Held out: never used to choose a default, only to confirm one (``quality.py --set held-out``) and
# for the README's 1024x1024 example (rock018, a 1024x1024 photograph). Same package, same licence.
HELD_OUT = {
    "rock018": {"path": "textures/tex_nature/rock018.png", "kind": "mixed"},
    "dirt003": {"path": "textures/tex_nature/dirt003.png", "kind": "stochastic"},
    "tile02": {"path": "textures/tex_buildings/tile02.png", "kind": "regular"},
    "metal02": {"path": "textures/tex_buildings/metal02.png", "kind": "regular"},
}
ALL = {**TEXTURES, **HELD_OUT}

__all__ = ["ALL", "HELD_OUT", "TEXTURES", "ensure"]


def ensure(folder: Path) -> Path:
    """Make sure ``folder`` holds every texture (tuning and held out) as ``NAME.png``; fetch the
    package if not."""
    folder = Path(folder)
    if all((folder / f"{name}.png").exists() for name in ALL):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["apt-get", "download", PACKAGE], cwd=tmp, check=True, capture_output=True)
        deb = next(Path(tmp).glob(f"{PACKAGE}_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(Path(tmp) / "x")], check=True)
        with zipfile.ZipFile(Path(tmp) / "x" / ARCHIVE) as pk3:
            for name, entry in ALL.items():
                (folder / f"{name}.png").write_bytes(pk3.read(entry["path"]))
        (folder / "LICENSE.txt").write_text(
            f"Taken from the Debian package {PACKAGE} (UFO: Alien Invasion). Its copyright file lists "
            "these files under 'License: public-domain':\n"
            + "".join(f"  {name}.png <- base/{entry['path']}\n" for name, entry in ALL.items()))
    return folder


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Fetch the quality benchmark's public-domain textures (apt).")
    parser.add_argument("folder", nargs="?", type=Path, default=Path(__file__).resolve().parent / ".textures",
                        help="where to keep them (default: benchmarks/.textures)")
    print(ensure(parser.parse_args().folder))
