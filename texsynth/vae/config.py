"""The settings of one VAE training run, and the rules they obey.

Nothing here imports Keras or TensorFlow: ``texsynth vae`` checks its flags against these rules
before TensorFlow starts, so a flag mistake answers at once.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable

from texsynth.errors import TexsynthError

__all__ = ["CHANNELS", "DIGITS", "PATCHES_PREFIX", "RULES", "Rule", "VAEConfig"]

DIGITS = "digits"
PATCHES_PREFIX = "patches:"
CHANNELS = (1, 3)


@dataclass(frozen=True)
class Rule:
    """What one numeric setting must be.

    Attributes
    ----------
    kind : type
        ``int`` or ``float``.
    test : callable
        True for an allowed (finite) value.
    what : str
        Completes "must be ..." in the message for a value that fails ``test``.
    optional : bool
        Whether ``None`` is allowed (meaning "no limit").
    """

    kind: type
    test: Callable[[Any], bool]
    what: str
    optional: bool = False

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` is allowed: of the right kind, finite, and passing ``test``."""
        if value is None:
            return self.optional
        # bool is an Integral too, but True epochs is a mistake, not a number.
        numeric = numbers.Integral if self.kind is int else numbers.Real
        if isinstance(value, bool) or not isinstance(value, numeric):
            return False
        return math.isfinite(value) and bool(self.test(value))


# One rule per numeric field of VAEConfig. The command builds its flag parsers from this table, so a
# rule is written once and a bad flag still fails during parsing (exit status 2).
RULES: dict[str, Rule] = {
    # One stride-2 convolution halves the image and one transposed convolution doubles it back,
    # which only round-trips for even sizes.
    "size": Rule(int, lambda value: value >= 4 and value % 2 == 0, "an even number >= 4"),
    "channels": Rule(int, lambda value: value in CHANNELS, "1 or 3"),
    "latent_dim": Rule(int, lambda value: value > 0, "positive"),
    "epochs": Rule(int, lambda value: value > 0, "positive"),
    "batch_size": Rule(int, lambda value: value > 0, "positive"),
    "kl_weight": Rule(float, lambda value: value >= 0, "0 or more"),
    "kl_warmup": Rule(int, lambda value: value >= 0, "0 or more"),
    "learning_rate": Rule(float, lambda value: value > 0, "positive"),
    "validation_split": Rule(float, lambda value: 0 < value < 1, "between 0 and 1 (exclusive)"),
    "max_samples": Rule(int, lambda value: value >= 2, "at least 2 (one to train on, one to validate)",
                        optional=True),
    "num_patches": Rule(int, lambda value: value > 0, "positive"),
    "seed": Rule(int, lambda value: value >= 0, "0 or more"),
}


def _data_problem(data: Any) -> str | None:
    """Why ``data`` names no data set, or None when it could (whether it exists is checked on loading)."""
    if not isinstance(data, str) or not data:
        return "--data must not be empty"
    if data.startswith(PATCHES_PREFIX) and not data[len(PATCHES_PREFIX):]:
        return f"--data {PATCHES_PREFIX} needs an image after the colon, e.g. {PATCHES_PREFIX}brick.jpg"
    return None


@dataclass(frozen=True)
class VAEConfig:
    """Everything that defines one training run; recorded in ``history.json``.

    Every value is checked when the config is made (see :data:`RULES`).

    Attributes
    ----------
    data : str
        ``"digits"``, a folder of images, or ``"patches:IMAGE"``.
    size : int
        Side of the square images the model sees, in pixels; even, at least 4.
    channels : int
        1 (greyscale) or 3 (RGB).
    latent_dim : int
        Dimensions of the latent space; 2 gives the classic latent-plane grid.
    epochs : int
        Passes over the training set.
    batch_size : int
        Images per gradient step.
    kl_weight : float
        Weight of the KL term in the loss (1 is the true ELBO; smaller favours sharper
        reconstructions over a well-filled latent space).
    kl_warmup : int
        Epochs over which the KL weight ramps linearly up from 0 (0: full weight from the
        start). A ramp lets the encoder spread the data over the latent space before the
        KL term pulls it together, which keeps latent dimensions from collapsing unused.
    learning_rate : float
        Adam learning rate.
    validation_split : float
        Fraction of the images held out for the validation loss.
    max_samples : int or None
        Use at most this many images (a random subset), for quick runs; at least 2.
    num_patches : int
        Patches drawn from the image for ``patches:IMAGE``.
    seed : int
        Seeds data shuffling, patch positions and the sampling noise. Weight initialisation
        and batch order draw on Keras's global random state, which the caller seeds (the
        command does so with this value).
    output : str
        Folder for the model, loss plot and history.

    Raises
    ------
    TexsynthError
        When a value breaks its rule.
    """

    data: str = DIGITS
    size: int = 28
    channels: int = 1
    latent_dim: int = 2
    epochs: int = 30
    batch_size: int = 16
    kl_weight: float = 1.0
    kl_warmup: int = 10
    learning_rate: float = 1e-3
    validation_split: float = 0.1
    max_samples: int | None = None
    num_patches: int = 2000
    seed: int = 0
    output: str = "outputs/vae"

    def __post_init__(self) -> None:
        for name, rule in RULES.items():
            value = getattr(self, name)
            if not rule.accepts(value):
                raise TexsynthError(f"{name.replace('_', ' ')} must be {rule.what}, got {value!r}")
        problem = _data_problem(self.data)
        if problem:
            raise TexsynthError(problem)
