"""The statistics that describe a texture: each module one statistic that follows
:class:`texsynth.stats.base.Statistic` (its target from a source's features, its loss on an
output's features, how several sources' targets join). :mod:`.gram` is the Gram matrix."""

from __future__ import annotations

from texsynth.stats.base import Statistic

__all__ = ["Statistic", "statistic"]


def statistic(name: str) -> Statistic:
    """The statistic called ``name`` (what ``--loss`` names)."""
    from texsynth.errors import TexsynthError
    from texsynth.stats.gram import Gram

    known = {"gram": Gram}
    if name not in known:
        raise TexsynthError(f"unknown statistic {name!r} (choose from {', '.join(known)})")
    return known[name]()
