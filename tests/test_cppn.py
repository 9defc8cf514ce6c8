"""Tests of texsynth.cppn: determinism, resolution independence, exact chunking, z paths, files."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from texsynth import cppn
from texsynth.cppn import CPPNConfig, build_cppn, render
from texsynth.errors import TexsynthError


def small_net(**settings) -> cppn.CPPN:
    return build_cppn(CPPNConfig(**{"random_seed": 3, **settings}))


def reference_render(net: cppn.CPPN, width: int, height: int) -> np.ndarray:
    """Straightforward float64 per-pixel forward pass of a raw tanh network, written from the
    definition (not from the renderer's code): c = sigmoid(W_out h + b_out), h = tanh(...)."""
    c = net.config
    short = min(width, height)
    out = np.empty((height, width, c.channels))
    for j in range(height):
        for i in range(width):
            x = (2 * i + 1 - width) / short * c.scale
            y = (2 * j + 1 - height) / short * c.scale
            r = np.sqrt(x * x + y * y)
            inputs = np.concatenate([[x, y, r], net.z * c.scale])
            h = np.tanh(inputs @ net.w_in.astype(np.float64) + net.b_in)
            for weight, bias in net.hidden:
                h = np.tanh(h @ weight.astype(np.float64) + bias)
            out[j, i] = 1.0 / (1.0 + np.exp(-(h @ net.w_out.astype(np.float64) + net.b_out)))
    return out


# ----------------------------------------------------------------------------------------------
# The function itself

def test_raw_render_matches_the_definition():
    net = small_net(normalize=False, layers=2, net_size=8, scale=3.0)
    np.testing.assert_allclose(render(net, 9, 6), reference_render(net, 9, 6), atol=2e-5)


def test_normalised_render_is_a_monotone_per_channel_remap_of_the_raw_one():
    net = small_net()
    raw = render(replace(net, config=replace(net.config, normalize=False)), 40, 30)
    tuned = render(net, 40, 30)
    for ch in range(3):
        order = np.argsort(raw[..., ch], axis=None, kind="stable")
        # Tolerance: saturated raw values tie in float32 while their readouts still differ.
        assert np.all(np.diff(tuned[..., ch].ravel()[order]) >= -1e-5)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("arch", list(cppn.ARCHITECTURES))
def test_output_shape_dtype_and_range(arch, channels):
    image = render(small_net(arch=arch, channels=channels), 33, 21)
    assert image.shape == (21, 33, channels)
    assert image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 1.0
    # Tone normalisation keeps pictures from being flat.
    assert image.std() > 0.1


def test_architectures_draw_different_pictures():
    images = [render(small_net(arch=arch), 24, 24) for arch in cppn.ARCHITECTURES]
    for a in range(len(images)):
        for b in range(a + 1, len(images)):
            assert np.abs(images[a] - images[b]).mean() > 0.02


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


# ----------------------------------------------------------------------------------------------
# Resolution independence and chunking

def test_double_resolution_downsampled_matches():
    net = small_net()
    one = render(net, 64, 48)
    two = render(net, 128, 96).reshape(48, 2, 64, 2, 3).mean(axis=(1, 3))
    unrelated = render(small_net(random_seed=103), 64, 48)
    difference = np.abs(one - two).mean()
    assert difference < 0.03
    assert difference < 0.1 * np.abs(one - unrelated).mean()


def test_wide_image_extends_the_square_one_without_stretching():
    # The shorter side spans [-1, 1], so the middle of a 2:1 image is the square image. (Only
    # to float32 rounding for the wide one: BLAS may sum a 60-pixel row in another order than
    # a 30-pixel one.)
    net = small_net()
    square = render(net, 30, 30)
    np.testing.assert_allclose(render(net, 60, 30)[:, 15:45], square, atol=1e-5)
    assert np.array_equal(render(net, 30, 60)[15:45, :], square)


@pytest.mark.parametrize("arch", list(cppn.ARCHITECTURES))
def test_chunked_render_equals_unchunked_exactly(arch):
    net = small_net(arch=arch)
    whole = render(net, 37, 29, chunk_rows=29)
    for rows in (1, 2, 7, 28, 1000):
        assert np.array_equal(render(net, 37, 29, chunk_rows=rows), whole), rows


def test_render_rows_covers_the_image_in_order():
    net = small_net(channels=1)
    chunks = list(cppn.render_rows(net, 20, 23, chunk_rows=5))
    assert [top for top, _ in chunks] == [0, 5, 10, 15, 20]
    assert [c.shape for _, c in chunks][-1] == (3, 20, 1)
    assert np.array_equal(np.concatenate([c for _, c in chunks]), render(net, 20, 23))


def test_default_chunks_stay_small():
    assert cppn.default_chunk_rows(100_000, 32) == 1
    rows = cppn.default_chunk_rows(1000, 32)
    assert 1 < rows and rows * 1000 * 32 * 4 <= 4 * 2**20


# ----------------------------------------------------------------------------------------------
# z paths

def test_z_path_passes_exactly_through_the_keyframes_and_loops():
    net = small_net()
    z1, z2, z3 = net.z, cppn.draw_z(8, 50), cppn.draw_z(8, 51)
    path = cppn.interpolate_z([z1, z2, z3], 9)
    assert len(path) == 9
    assert np.array_equal(path[0], z1) and np.array_equal(path[3], z2) and np.array_equal(path[6], z3)
    # Between keyframes the path moves, and the last frame heads back to z1.
    assert not np.array_equal(path[1], z1)
    assert np.linalg.norm(path[8] - z1) < np.linalg.norm(path[7] - z1)


def test_z_path_endpoint_renders_equal_the_keyframe_renders():
    net = small_net()
    z2 = cppn.draw_z(8, 77)
    path = cppn.interpolate_z([net.z, z2], 6)
    assert np.array_equal(render(net, 24, 18, z=path[0]), render(net, 24, 18))
    assert np.array_equal(render(net, 24, 18, z=path[3]), render(cppn.with_z(net, 77), 24, 18))
    middle = render(net, 24, 18, z=path[1])
    assert not np.array_equal(middle, render(net, 24, 18))


@pytest.mark.parametrize("keys, frames", [
    ([np.zeros(3)], 4),
    ([np.zeros(3), np.zeros(4)], 4),
    ([np.zeros(3), np.ones(3)], 1),
])
def test_bad_z_paths(keys, frames):
    with pytest.raises(TexsynthError):
        cppn.interpolate_z(keys, frames)


# ----------------------------------------------------------------------------------------------
# Files

def test_save_load_round_trip(tmp_path):
    net = small_net(arch="softplus-sine", channels=1, layers=4, z_dim=5, scale=7.5, contrast=3.0, z_seed=8)
    path = cppn.save_cppn(net, tmp_path / "liked")  # no extension added
    assert path == tmp_path / "liked" and path.stat().st_size < 64_000
    assert [p.name for p in tmp_path.iterdir()] == ["liked"]
    loaded = cppn.load_cppn(path)
    assert loaded.config == net.config
    for a, b in [(net.w_in, loaded.w_in), (net.b_in, loaded.b_in), (net.w_out, loaded.w_out),
                 (net.b_out, loaded.b_out), (net.z, loaded.z)]:
        assert np.array_equal(a, b) and a.dtype == b.dtype
    assert np.array_equal(render(loaded, 31, 17), render(net, 31, 17))


def _saved_arrays(tmp_path) -> dict:
    path = cppn.save_cppn(small_net(layers=1), tmp_path / "good.npz")
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
        cppn.load_cppn(path)
    assert "\n" not in str(error.value)


def test_save_refuses_a_directory_and_leaves_no_temporary_files(tmp_path):
    with pytest.raises(TexsynthError, match="directory"):
        cppn.save_cppn(small_net(), tmp_path)
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------------------------
# Bad input

@pytest.mark.parametrize("width, height", [(0, 10), (10, 0), (-3, 10), (10, -1), (2.5, 10)])
def test_bad_sizes(width, height):
    with pytest.raises(TexsynthError, match="positive integer"):
        render(small_net(), width, height)


@pytest.mark.parametrize("rows", [0, -2, 1.5])
def test_bad_chunk_rows(rows):
    with pytest.raises(TexsynthError, match="chunk rows"):
        cppn.render_rows(small_net(), 10, 10, chunk_rows=rows)


def test_impossible_chunk_is_refused_before_any_work():
    with pytest.raises(TexsynthError, match="working memory"):
        cppn.render_rows(small_net(), 100_000, 100_000, chunk_rows=5_000)
    # More rows than the image has is not impossible: the chunk is the whole image.
    cppn.render_rows(small_net(), 100_000, 2, chunk_rows=5_000)


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


def test_wrong_z_shape():
    with pytest.raises(TexsynthError, match="shape"):
        render(small_net(), 8, 8, z=np.zeros(3))


# ----------------------------------------------------------------------------------------------
# The texture synthesizer's seed image

def test_render_seed_image():
    image = cppn.render_seed_image(48, 32, 5)
    assert image.shape == (32, 48, 3) and image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 255.0
    assert image.max() - image.min() > 100  # a picture, not a flat colour
    assert np.array_equal(image, cppn.render_seed_image(48, 32, 5))
    assert not np.array_equal(image, cppn.render_seed_image(48, 32, 6))
    assert cppn.render_seed_image(8, 8, None).shape == (8, 8, 3)
    with pytest.raises(TexsynthError):
        cppn.render_seed_image(0, 8, 1)
