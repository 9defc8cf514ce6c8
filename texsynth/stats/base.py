"""What a texture statistic is: the protocol every member of :mod:`texsynth.stats` follows.

A statistic summarises a layer's feature maps (or an octave's pixels) in a way that does not
depend on where things are. The objective asks it for three things: the target that describes a
source, how several sources' targets join into one, and the loss of an output's features against
a target. Adding a statistic means adding a module here, nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, Sequence

import numpy as np

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = ["Statistic"]


class Statistic(Protocol):
    """A texture statistic of feature maps.

    Attributes
    ----------
    name : str
        What ``--loss`` calls it.
    join_modes : tuple of str
        The ``--join-mode`` values it understands.
    """

    name: str
    join_modes: tuple[str, ...]

    def describe(self, features: "tf.Tensor") -> "tf.Tensor":
        """The statistic of each image of a batch.

        Parameters
        ----------
        features : Tensor, shape (N, H, W, C)

        Returns
        -------
        Tensor, shape (N, ...), float32
        """

    def join(self, per_source: Sequence[np.ndarray], mode: str) -> np.ndarray:
        """Combine the sources' statistics (each without the batch axis) into one target.

        Raises
        ------
        TexsynthError
            For a mode the statistic does not support, or a wrong number of sources for it.
        """

    def normaliser(self, target: np.ndarray) -> float:
        """A factor that makes the loss against ``target`` a relative error of order one."""

    def loss(self, features: "tf.Tensor", target: "tf.Tensor") -> "tf.Tensor":
        """The distance of every image of a batch (N, H, W, C) from ``target``, summed over the batch
        (a scalar, not yet multiplied by :meth:`normaliser`)."""
