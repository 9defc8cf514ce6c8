"""VGG layer names and indices: the sequence conv1_1, conv1_2, pool1, conv2_1, … of VGG16 or VGG19,
and layer specs as users write them (``conv4_2``, ``7``, ``conv4_2:0.5``).

Layers are numbered as in the ancestor, so index 2 is pool1 and index 7 is conv3_2 in both networks.
"""

from __future__ import annotations

import math
from typing import Sequence

from texsynth.errors import TexsynthError
from texsynth.nn.weights import ARCH_BLOCKS

__all__ = ["layer_names", "parse_layer_spec", "resolve_layers", "resolve_weighted_layers"]


def layer_names(arch: str) -> list[str]:
    """The layer sequence of ``arch``: ``["conv1_1", "conv1_2", "pool1", "conv2_1", ...]``."""
    names = []
    for block, count in enumerate(ARCH_BLOCKS[arch], start=1):
        names.extend(f"conv{block}_{i}" for i in range(1, count + 1))
        names.append(f"pool{block}")
    return names


def resolve_layers(specs: Sequence[str | int], arch: str) -> list[int]:
    """Turn layer indices or names into sorted, unique indices into :func:`layer_names`.

    Raises
    ------
    TexsynthError
        For an unknown name or an index out of range; the message lists the valid names.
    """
    names = layer_names(arch)
    indices = []
    for spec in specs:
        text = str(spec).strip()
        if text.lstrip("-").isdigit():
            index = int(text)
            if not 0 <= index < len(names):
                raise TexsynthError(f"layer index {index} out of range for {arch}: use 0..{len(names) - 1} "
                                    f"({', '.join(f'{i}={n}' for i, n in enumerate(names))})")
        elif text in names:
            index = names.index(text)
        else:
            raise TexsynthError(f"unknown layer {text!r} for {arch}; valid layers: {', '.join(names)}")
        indices.append(index)
    if not indices:
        raise TexsynthError("no layers given")
    return sorted(set(indices))


def parse_layer_spec(text: str) -> tuple[str, float]:
    """Split ``"conv4_2:0.5"`` into ``("conv4_2", 0.5)``; a missing weight is 1.

    Raises
    ------
    TexsynthError
        If the weight is not a positive finite number or the name is empty.
    """
    name, sep, weight_text = str(text).strip().partition(":")
    name = name.strip()
    if not name:
        raise TexsynthError(f"bad layer spec {text!r}: expected NAME[:WEIGHT] such as conv4_2 or conv4_2:0.5")
    if not sep:
        return name, 1.0
    try:
        weight = float(weight_text)
    except ValueError:
        raise TexsynthError(f"bad layer weight in {text!r}: {weight_text!r} is not a number "
                            f"(expected NAME[:WEIGHT] such as conv4_2:0.5)") from None
    if not math.isfinite(weight) or weight <= 0:
        raise TexsynthError(f"bad layer weight in {text!r}: must be a positive number")
    return name, weight


def resolve_weighted_layers(specs: Sequence[str], arch: str) -> tuple[list[int], list[float]]:
    """Resolve ``NAME[:WEIGHT]`` specs to sorted layer indices and their weights.

    Parameters
    ----------
    specs : sequence of str
        Layer names or indices, each optionally followed by ``:WEIGHT``.
    arch : str
        ``"vgg16"`` or ``"vgg19"``.

    Returns
    -------
    indices : list of int
        Sorted unique indices into :func:`texsynth.vgg.layer_names`.
    weights : list of float
        The weight of each index (a layer named twice gets the sum of its weights).

    Raises
    ------
    TexsynthError
        For a malformed spec or an unknown layer (the message lists the valid names).
    """
    if not specs:
        raise TexsynthError("no layers given")
    total: dict[int, float] = {}
    for spec in specs:
        name, weight = parse_layer_spec(spec)
        index = resolve_layers([name], arch)[0]
        total[index] = total.get(index, 0.0) + weight
    indices = sorted(total)
    return indices, [total[i] for i in indices]
