"""The statistics that describe a texture: each module one statistic that follows
:class:`texsynth.stats.base.Statistic` (its target from a source's features, its loss on an
output's features, how several sources' targets join). :mod:`.gram` is the Gram matrix (Gatys et
al.), :mod:`.sliced_wasserstein` the sliced Wasserstein distance (Heitz et al.)."""

from __future__ import annotations

from texsynth.stats.base import Statistic

__all__ = ["Statistic", "statistic"]


def statistic(name: str, seed: int = 0, directions: int = 0) -> Statistic:
    """The statistic that ``--loss`` calls ``name``; ``seed`` seeds its random part, if any, and
    ``directions`` is the number of sliced Wasserstein's projections (0: its default)."""
    from texsynth.choices import LOSSES
    from texsynth.errors import TexsynthError

    if name == "gram":
        from texsynth.stats.gram import Gram

        return Gram()
    if name == "sw":
        from texsynth.stats.sliced_wasserstein import SlicedWasserstein

        return SlicedWasserstein(directions or None, seed=seed)
    raise TexsynthError(f"unknown statistic {name!r} (choose from {', '.join(LOSSES)})")
