"""Tests of texsynth.cppn.model: settings checked when made, deterministic seeded weights and z."""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import numpy as np
import pytest

from texsynth.cppn.model import CPPN, CPPNConfig, build_cppn, draw_z
from texsynth.cppn.render import render
from texsynth.errors import TexsynthError


def small_net(**settings) -> CPPN:
    return build_cppn(CPPNConfig(**{"random_seed": 3, **settings}))


# ----------------------------------------------------------------------------------------------
# Determinism and seeds

def test_same_seeds_give_identical_weights_and_pixels():
    a, b = small_net(z_seed=11), small_net(z_seed=11)
    assert np.array_equal(a.w_in, b.w_in) and np.array_equal(a.z, b.z)
    assert np.array_equal(render(a, 50, 40), render(b, 50, 40))


def test_other_seeds_give_other_pictures():
    base = render(small_net(), 40, 40)
    assert np.abs(render(small_net(random_seed=4), 40, 40) - base).mean() > 0.05
    other_z = small_net(z_seed=99)
    assert np.array_equal(other_z.w_out, small_net().w_out)  # z-seed leaves the weights alone
    assert np.abs(render(other_z, 40, 40) - base).mean() > 0.05


def test_seeds_default_sensibly():
    net = small_net()
    assert net.config.z_seed == 3
    fresh = build_cppn(CPPNConfig())
    assert isinstance(fresh.config.random_seed, int) and fresh.config.z_seed == fresh.config.random_seed
    again = build_cppn(CPPNConfig(random_seed=fresh.config.random_seed))
    assert np.array_equal(render(fresh, 16, 16), render(again, 16, 16))


def test_more_layers_keep_the_earlier_ones():
    short, deep = small_net(layers=2), small_net(layers=4)
    assert np.array_equal(short.w_in, deep.w_in)
    for (w1, b1), (w2, b2) in zip(short.hidden, deep.hidden):
        assert np.array_equal(w1, w2) and np.array_equal(b1, b2)


def test_longer_z_starts_with_the_shorter_one():
    assert np.array_equal(draw_z(12, 5)[:8], draw_z(8, 5))


# ----------------------------------------------------------------------------------------------
# Bad settings

@pytest.mark.parametrize("settings, message", [
    ({"arch": "sparkle"}, "unknown CPPN architecture"),
    ({"channels": 2}, "channels"),
    ({"z_dim": 0}, "z-dim"),
    ({"net_size": 0}, "net-size"),
    ({"layers": -1}, "layers"),
    ({"scale": 0.0}, "scale"),
    ({"scale": float("nan")}, "scale"),
    ({"contrast": -1.0}, "contrast"),
    ({"random_seed": -5}, "random-seed"),
    ({"z_seed": 2**64}, "z-seed"),
])
def test_bad_settings(settings, message):
    with pytest.raises(TexsynthError, match=message):
        build_cppn(CPPNConfig(**settings))


def test_config_is_frozen_and_checked_when_made_or_replaced():
    with pytest.raises(TexsynthError, match="z-dim"):
        CPPNConfig(z_dim=0)
    with pytest.raises(TexsynthError, match="integer"):
        CPPNConfig(layers=2.0)
    config = CPPNConfig()
    with pytest.raises(TexsynthError, match="contrast"):
        replace(config, contrast=0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.layers = 5  # type: ignore[misc]


@pytest.mark.parametrize("z_dim, z_seed", [(0, 1), (3, -1), (3, 2**63)])
def test_bad_z_draws(z_dim, z_seed):
    with pytest.raises(TexsynthError):
        draw_z(z_dim, z_seed)
