"""A small convolutional variational autoencoder (VAE) that learns images and draws new ones.

* :mod:`.config` - :class:`VAEConfig` (every setting of a training run, frozen and checked
  when made) and :data:`RULES`, the checks it applies, which the command reuses for its flags;
* :mod:`.model` - the loss pieces (:func:`kl_divergence`, :func:`reconstruction_loss`), the
  :class:`Sampling` layer, encoder and decoder, the :class:`VAE`, :func:`build_vae`,
  :func:`encode` and :func:`decode`;
* :mod:`.fileformat` - the ``.keras`` model file (:func:`save_model`, :func:`load_model`);
* :mod:`.data` - training images: the bundled digits, a folder, patches of one texture
  (:func:`load_dataset`, :func:`split_validation`, :func:`image_kind`, ...);
* :mod:`.training` - the KL warm-up, per-epoch logging, :func:`fit_vae` and :func:`train_vae`
  (a whole run, from data to written files);
* :mod:`.pictures` - the latent-plane grid, random samples and reconstructions
  (:func:`latent_grid`, :func:`sample_images`, :func:`reconstruct_images`, :func:`to_picture`);
* :mod:`.chart` - the loss curve (:func:`plot_losses`).

Only :mod:`.config` is imported with the package; the rest needs Keras and is imported on first
use of one of its names, so ``texsynth vae`` can check its flags before TensorFlow starts. Nothing
here sets process-wide state (global seeds included): the command line lives in
:mod:`texsynth.commands.vae`, which does.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from texsynth.vae.config import CHANNELS, DIGITS, PATCHES_PREFIX, RULES, Rule, VAEConfig

if TYPE_CHECKING:  # what __getattr__ provides, for type checkers and editors
    from texsynth.vae.chart import plot_losses
    from texsynth.vae.data import (image_kind, load_dataset, load_digits, load_folder, load_patches, prepare_images,
                                   split_validation, to_model_pixels)
    from texsynth.vae.fileformat import MODEL_FILE, load_model, save_model
    from texsynth.vae.model import (VAE, Sampling, build_decoder, build_encoder, build_vae, decode, encode,
                                    kl_divergence, reconstruction_loss)
    from texsynth.vae.pictures import (grid_latents, latent_grid, reconstruct_images, sample_images, tile,
                                       to_picture)
    from texsynth.vae.training import HISTORY_FILE, LOSS_PLOT_FILE, EpochLog, KLWarmup, fit_vae, train_vae

# Public name -> the submodule that defines it (those that import Keras).
_LAZY = {
    **dict.fromkeys(["plot_losses"], "chart"),
    **dict.fromkeys(["image_kind", "load_dataset", "load_digits", "load_folder", "load_patches", "prepare_images",
                     "split_validation", "to_model_pixels"], "data"),
    **dict.fromkeys(["MODEL_FILE", "load_model", "save_model"], "fileformat"),
    **dict.fromkeys(["VAE", "Sampling", "build_decoder", "build_encoder", "build_vae", "decode", "encode",
                     "kl_divergence", "reconstruction_loss"], "model"),
    **dict.fromkeys(["grid_latents", "latent_grid", "reconstruct_images", "sample_images", "tile", "to_picture"],
                    "pictures"),
    **dict.fromkeys(["HISTORY_FILE", "LOSS_PLOT_FILE", "EpochLog", "KLWarmup", "fit_vae", "train_vae"], "training"),
}

__all__ = ["CHANNELS", "DIGITS", "HISTORY_FILE", "LOSS_PLOT_FILE", "MODEL_FILE", "PATCHES_PREFIX", "RULES",
           "VAE", "EpochLog", "KLWarmup", "Rule", "Sampling", "VAEConfig", "build_decoder", "build_encoder",
           "build_vae", "decode", "encode", "fit_vae", "grid_latents", "image_kind", "kl_divergence",
           "latent_grid", "load_dataset", "load_digits", "load_folder", "load_model", "load_patches",
           "plot_losses", "prepare_images", "reconstruct_images", "reconstruction_loss", "sample_images",
           "save_model", "split_validation", "tile", "to_model_pixels", "to_picture", "train_vae"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
