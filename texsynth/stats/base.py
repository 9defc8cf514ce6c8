"""What a texture statistic is: the protocol every member of :mod:`texsynth.stats` follows.

A statistic summarises a layer's feature maps (or an octave's pixels) in a way that does not
depend on where things are. The objective asks it for the description of a source (whole, or band
by band), how several sources' descriptions join into one target, how ``--mul`` scales a target, a
normaliser that makes the loss a relative error, the target in the form its loss uses
(``prepare``), the loss of an output's features against it, and, for statistics with a random part
(projections), a redraw.
Adding a statistic means adding a module here and a line in :func:`texsynth.stats.statistic`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, Sequence

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

    def describe_bands(self, bands: Sequence["tf.Tensor"]) -> "tf.Tensor":
        """:meth:`describe` of the maps whose bands of rows, top first, are ``bands``, without
        joining them (a large source's maps come in bands: :mod:`texsynth.nn.bands`).

        Parameters
        ----------
        bands : sequence of Tensor, each shape (N, H_i, W, C)

        Returns
        -------
        Tensor, shape (N, ...), float32
            What :meth:`describe` gives for the maps of height ``Σ H_i``.
        """

    def join(self, per_source: Sequence[np.ndarray], mode: str) -> Any:
        """Combine the sources' descriptions (each without the batch axis) into one target.

        Raises
        ------
        TexsynthError
            For a mode the statistic does not support, or a wrong number of sources for it.
        """

    def scale(self, target: Any, factor: float) -> Any:
        """The target as ``--mul`` asks: a Gram multiplied by ``factor``, or the equivalent."""

    def normaliser(self, target: Any) -> float:
        """A factor that makes the loss against ``target`` a relative error of order one."""

    def prepare(self, target: Any, seed: int = 0) -> Any:
        """The target in the form :meth:`loss` takes (TensorFlow constants or variables); a random
        part is drawn from ``seed`` (as :meth:`redraw` would)."""

    def loss(self, features: "tf.Tensor", state: Any) -> "tf.Tensor":
        """The distance of every image of a batch (N, H, W, C) from the prepared target, summed over
        the batch (a scalar, not yet multiplied by :meth:`normaliser`)."""

    def redraw(self, state: Any, seed: int) -> None:
        """Draw the statistic's random part anew (no-op for deterministic statistics)."""
