"""Shared helpers of the VAE tests: tiny configs, learnable images, and one small trained model.

The library never seeds Keras's global random state; ``texsynth vae train`` does, just before
training. The helpers here seed it the same way, so models built in tests repeat from run to run.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from texsynth.vae.config import VAEConfig
from texsynth.vae.model import VAE, build_vae
from texsynth.vae.training import fit_vae


def as_numpy(tensor) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(tensor))


def tiny_config(**changes) -> VAEConfig:
    settings = dict(size=8, channels=1, latent_dim=2, epochs=1, batch_size=8, seed=0)
    settings.update(changes)
    return VAEConfig(**settings)


def blobs(count: int, size: int = 8, channels: int = 1, seed: int = 0) -> np.ndarray:
    """Smooth random images in [0, 1]: something learnable that is not just noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    centres = rng.uniform(0.2, 0.8, size=(count, 2))
    images = np.exp(-((yy - centres[:, 0, None, None]) ** 2 + (xx - centres[:, 1, None, None]) ** 2) / 0.05)
    return np.repeat(images[..., None], channels, axis=-1).astype(np.float32)


def seeded_build(config: VAEConfig) -> VAE:
    """:func:`build_vae` after seeding the global random state from ``config.seed``, as the command does."""
    keras.utils.set_random_seed(config.seed)
    return build_vae(config)


def seeded_fit(config: VAEConfig, train: np.ndarray, validation: np.ndarray, **kwargs):
    """:func:`fit_vae` after seeding the global random state from ``config.seed``, as the command does."""
    keras.utils.set_random_seed(config.seed)
    return fit_vae(config, train, validation, **kwargs)


@pytest.fixture(scope="package")
def tiny_model() -> VAE:
    images = blobs(48)
    model, _ = seeded_fit(tiny_config(), images[:40], images[40:], quiet=True)
    return model
