"""Re-create the example textures in this folder.

- ``gravel.jpg`` and ``brick.jpg``: the scikit-image sample textures ``gravel`` and ``brick``
  (from CC0Textures, Creative Commons CC0; shipped in the scikit-image wheel). Needs scikit-image
  installed only to re-create them.
- ``leaves.png``: a colourful dead-leaves texture (overlapping discs, sizes from a power law), made by
  this script, so it is the project's own.

Run: ``python examples/make_examples.py``.
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

HERE = Path(__file__).parent


def dead_leaves(size: int = 512, discs: int = 6000, seed: int = 7) -> Image.Image:
    """Opaque discs dropped one over another: a classic stochastic texture model with every scale."""
    rng = np.random.default_rng(seed)
    palette = np.array([[230, 57, 70], [241, 180, 52], [42, 157, 143], [38, 70, 83], [233, 196, 106],
                        [69, 123, 157], [244, 162, 97], [131, 56, 236]])
    image = Image.new("RGB", (size, size), (40, 40, 40))
    draw = ImageDraw.Draw(image)
    # Radii with density ~ r^-3 between 3 and 60 pixels (scale-invariant in the dead-leaves sense).
    u = rng.random(discs)
    r_min, r_max = 3.0, 60.0
    radii = 1 / np.sqrt(u / r_min**2 + (1 - u) / r_max**2)
    for radius in radii[::-1]:
        x, y = rng.uniform(-radius, size + radius, 2)
        colour = palette[rng.integers(len(palette))] * rng.uniform(0.85, 1.1)
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=tuple(int(c) for c in colour.clip(0, 255)))
    return image


def main() -> None:
    dead_leaves().save(HERE / "leaves.png", optimize=True)
    try:
        from skimage import data
    except ImportError:
        print("scikit-image not installed: kept the existing gravel.jpg and brick.jpg")
        return
    for name in ("gravel", "brick"):
        Image.fromarray(getattr(data, name)()).save(HERE / f"{name}.jpg", quality=90)


if __name__ == "__main__":
    main()
