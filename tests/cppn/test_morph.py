"""Tests of texsynth.cppn.morph: looping z paths through keyframes."""

from __future__ import annotations

import numpy as np
import pytest

from texsynth.cppn.fileformat import with_z
from texsynth.cppn.model import CPPN, CPPNConfig, build_cppn, draw_z
from texsynth.cppn.morph import interpolate_z
from texsynth.cppn.render import render
from texsynth.errors import TexsynthError


def small_net(**settings) -> CPPN:
    return build_cppn(CPPNConfig(**{"random_seed": 3, **settings}))


def test_z_path_passes_exactly_through_the_keyframes_and_loops():
    net = small_net()
    z1, z2, z3 = net.z, draw_z(8, 50), draw_z(8, 51)
    path = interpolate_z([z1, z2, z3], 9)
    assert len(path) == 9
    assert np.array_equal(path[0], z1) and np.array_equal(path[3], z2) and np.array_equal(path[6], z3)
    # Between keyframes the path moves, and the last frame heads back to z1.
    assert not np.array_equal(path[1], z1)
    assert np.linalg.norm(path[8] - z1) < np.linalg.norm(path[7] - z1)


def test_z_path_endpoint_renders_equal_the_keyframe_renders():
    net = small_net()
    z2 = draw_z(8, 77)
    path = interpolate_z([net.z, z2], 6)
    assert np.array_equal(render(net, 24, 18, z=path[0]), render(net, 24, 18))
    assert np.array_equal(render(net, 24, 18, z=path[3]), render(with_z(net, 77), 24, 18))
    middle = render(net, 24, 18, z=path[1])
    assert not np.array_equal(middle, render(net, 24, 18))


@pytest.mark.parametrize("keys, frames", [
    ([np.zeros(3)], 4),
    ([np.zeros(3), np.zeros(4)], 4),
    ([np.zeros(3), np.ones(3)], 1),
])
def test_bad_z_paths(keys, frames):
    with pytest.raises(TexsynthError):
        interpolate_z(keys, frames)
