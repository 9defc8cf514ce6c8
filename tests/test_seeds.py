"""Starting images of synthesis."""

import numpy as np
import pytest

from texsynth.seeds import make_seed


@pytest.mark.parametrize("seed", ["random", "symmetric"])
def test_seeds_are_valid_images_around_the_mean_colour(seed):
    mean = np.array([100.0, 120.0, 140.0])
    x = make_seed(seed, 2, 40, 60, mean, np.random.default_rng(0))
    assert x.shape == (2, 40, 60, 3) and x.min() >= 0 and x.max() <= 255
    assert np.abs(np.median(x, axis=(0, 1, 2)) - mean).max() < 20
    mirror_error = min(np.abs(x - x[:, ::-1]).mean(), np.abs(x - x[:, :, ::-1]).mean())
    if seed == "symmetric":
        assert mirror_error < 4  # mirrored both ways, up to the small added noise
    else:
        assert mirror_error > 10
