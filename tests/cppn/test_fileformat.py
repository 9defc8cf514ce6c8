"""Tests of texsynth.cppn.fileformat: save/load round trips and every kind of bad file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from texsynth.cppn.fileformat import load_cppn, save_cppn, with_z
from texsynth.cppn.model import CPPN, CPPNConfig, build_cppn, draw_z
from texsynth.cppn.render import render
from texsynth.errors import TexsynthError


def small_net(**settings) -> CPPN:
    return build_cppn(CPPNConfig(**{"random_seed": 3, **settings}))


def test_save_load_round_trip(tmp_path):
    net = small_net(arch="softplus-sine", channels=1, layers=4, z_dim=5, scale=7.5, contrast=3.0, z_seed=8)
    path = save_cppn(net, tmp_path / "liked")  # no extension added
    assert path == tmp_path / "liked" and path.stat().st_size < 64_000
    assert [p.name for p in tmp_path.iterdir()] == ["liked"]
    loaded = load_cppn(path)
    assert loaded.config == net.config
    for a, b in [(net.w_in, loaded.w_in), (net.b_in, loaded.b_in), (net.w_out, loaded.w_out),
                 (net.b_out, loaded.b_out), (net.z, loaded.z)]:
        assert np.array_equal(a, b) and a.dtype == b.dtype
    assert np.array_equal(render(loaded, 31, 17), render(net, 31, 17))


def _saved_arrays(tmp_path) -> dict:
    path = save_cppn(small_net(layers=1), tmp_path / "good.npz")
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def _write_npz(path, arrays) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def _settings(arrays) -> dict:
    return json.loads(str(arrays["settings"]))


@pytest.mark.parametrize("corrupt, message", [
    ("missing", "no such CPPN file"),
    ("directory", "directory"),
    ("text", "not an .npz archive"),
    ("truncated", "not a readable CPPN file"),
    ("npy", "bare array"),
    ("no settings", "no settings"),
    ("bad json", "not JSON"),
    ("other format", "not a texsynth CPPN file"),
    ("future version", "unsupported CPPN file version"),
    ("bad arch", "unknown CPPN architecture"),
    ("missing array", "lacks the array"),
    ("wrong shape", "has shape"),
    ("nan", "non-finite"),
])
def test_load_rejects_bad_files(tmp_path, corrupt, message):
    arrays = _saved_arrays(tmp_path)
    path = tmp_path / "bad.npz"
    if corrupt == "directory":
        path.mkdir()
    elif corrupt == "text":
        path.write_text("hello, I am not a network\n")
    elif corrupt == "truncated":
        good = (tmp_path / "good.npz").read_bytes()
        path.write_bytes(good[: len(good) // 2])
    elif corrupt == "npy":
        with open(path, "wb") as handle:
            np.save(handle, np.zeros(3))
    elif corrupt != "missing":
        settings = _settings(arrays)
        if corrupt == "no settings":
            del arrays["settings"]
        elif corrupt == "bad json":
            arrays["settings"] = np.array("{not json")
        elif corrupt == "other format":
            arrays["settings"] = np.array(json.dumps({**settings, "format": "something-else"}))
        elif corrupt == "future version":
            arrays["settings"] = np.array(json.dumps({**settings, "version": 99}))
        elif corrupt == "bad arch":
            arrays["settings"] = np.array(json.dumps({**settings, "arch": "relu-party"}))
        elif corrupt == "missing array":
            del arrays["w_hidden_0"]
        elif corrupt == "wrong shape":
            arrays["w_out"] = np.zeros((5, 3), np.float32)
        elif corrupt == "nan":
            arrays["z"] = np.full_like(arrays["z"], np.nan)
        _write_npz(path, arrays)
    with pytest.raises(TexsynthError, match=message) as error:
        load_cppn(path)
    assert "\n" not in str(error.value)


def test_save_refuses_a_directory_and_leaves_no_temporary_files(tmp_path):
    with pytest.raises(TexsynthError, match="directory"):
        save_cppn(small_net(), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_with_z_keeps_the_weights_and_draws_the_new_z():
    net = small_net()
    moved = with_z(net, 77)
    assert moved.config.z_seed == 77 and moved.config.random_seed == net.config.random_seed
    assert np.array_equal(moved.z, draw_z(net.config.z_dim, 77)) and moved.w_in is net.w_in
    with pytest.raises(TexsynthError, match="z-seed"):
        with_z(net, -1)
