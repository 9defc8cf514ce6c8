"""Tests of texsynth.vae: loss pieces against closed forms, sampling statistics, save/load,
data loading and its bad inputs, training, and the pictures."""

from __future__ import annotations

import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest
from PIL import Image
from scipy import integrate
from scipy.stats import norm

from texsynth import vae
from texsynth.errors import TexsynthError

# Keras converts its own tensors with np.array(x), which numpy 2 flags; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def as_numpy(tensor) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(tensor))


def tiny_config(**changes) -> vae.VAEConfig:
    settings = dict(size=8, channels=1, latent_dim=2, epochs=1, batch_size=8, seed=0)
    settings.update(changes)
    return vae.VAEConfig(**settings)


def blobs(count: int, size: int = 8, channels: int = 1, seed: int = 0) -> np.ndarray:
    """Smooth random images in [0, 1]: something learnable that is not just noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    centres = rng.uniform(0.2, 0.8, size=(count, 2))
    images = np.exp(-((yy - centres[:, 0, None, None]) ** 2 + (xx - centres[:, 1, None, None]) ** 2) / 0.05)
    return np.repeat(images[..., None], channels, axis=-1).astype(np.float32)


@pytest.fixture(scope="module")
def tiny_model() -> vae.VAE:
    images = blobs(48)
    model, _ = vae.fit_vae(tiny_config(), images[:40], images[40:], quiet=True)
    return model


def write_png(path, mode: str, size=(10, 10), value=128) -> None:
    colour = value if mode in ("L", "1") else (value, value // 2, 255 - value)
    Image.new(mode, size, colour).save(path)


# --- KL term ------------------------------------------------------------------------------


def test_kl_is_zero_for_the_prior_itself():
    assert as_numpy(vae.kl_divergence(np.zeros((3, 4)), np.zeros((3, 4)))) == pytest.approx(np.zeros(3), abs=1e-7)


@pytest.mark.parametrize("mean, variance, expected", [
    ([3.0, 4.0], [1.0, 1.0], 12.5),  # 0.5 * |mu|^2 when the variance is 1
    ([0.0], [4.0], 0.5 * (4.0 - 1.0 - math.log(4.0))),
    ([0.0], [0.25], 0.5 * (0.25 - 1.0 - math.log(0.25))),
    ([1.0, -2.0], [math.e, 1.0 / math.e], 0.5 * (1 + math.e - 1 - 1) + 0.5 * (4 + 1 / math.e - 1 + 1)),
])
def test_kl_matches_closed_form(mean, variance, expected):
    result = as_numpy(vae.kl_divergence(np.array([mean]), np.log(np.array([variance]))))
    assert result.shape == (1,)
    assert result[0] == pytest.approx(expected, rel=1e-5)


def test_kl_matches_numerical_integral():
    # An independent check of the formula: integrate p * log(p / q) for a 1-D Gaussian.
    mean, std = 0.7, 0.4
    integrand = lambda z: norm.pdf(z, mean, std) * (norm.logpdf(z, mean, std) - norm.logpdf(z))
    expected, _ = integrate.quad(integrand, -10, 10)
    result = as_numpy(vae.kl_divergence(np.array([[mean]]), np.array([[2 * math.log(std)]])))[0]
    assert result == pytest.approx(expected, rel=1e-4)


def test_kl_sums_over_latent_dimensions_per_sample():
    rng = np.random.default_rng(1)
    mean, log_var = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    expected = 0.5 * np.sum(mean ** 2 + np.exp(log_var) - 1 - log_var, axis=1)
    assert as_numpy(vae.kl_divergence(mean, log_var)) == pytest.approx(expected, rel=1e-5)
    assert np.all(as_numpy(vae.kl_divergence(mean, log_var)) > 0)


def test_reconstruction_loss_known_answer():
    # A prediction of 0.5 costs ln 2 nats per pixel whatever the target.
    targets = np.zeros((2, 2, 2, 1), np.float32)
    targets[1] = 1.0
    predictions = np.full_like(targets, 0.5)
    assert as_numpy(vae.reconstruction_loss(targets, predictions)) == pytest.approx([4 * math.log(2)] * 2, rel=1e-5)
    rng = np.random.default_rng(2)
    t, p = rng.uniform(size=(3, 4, 4, 3)), rng.uniform(0.05, 0.95, size=(3, 4, 4, 3))
    expected = -np.sum(t * np.log(p) + (1 - t) * np.log(1 - p), axis=(1, 2, 3))
    assert as_numpy(vae.reconstruction_loss(t, p)) == pytest.approx(expected, rel=1e-4)


def test_model_loss_is_reconstruction_plus_weighted_kl():
    config = tiny_config(kl_weight=0.25)
    model = vae.build_vae(config)
    logs = model.evaluate(blobs(16), batch_size=16, verbose=0, return_dict=True)
    assert logs["kl_loss"] > 0
    assert logs["loss"] == pytest.approx(logs["reconstruction_loss"] + 0.25 * logs["kl_loss"], rel=1e-5)
    # A KL warm-up changes what is optimised, never what is reported.
    model.kl_scale.assign(0.0)
    logs = model.evaluate(blobs(16), batch_size=16, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(logs["reconstruction_loss"] + 0.25 * logs["kl_loss"], rel=1e-5)


def test_kl_warmup_ramps_linearly_then_holds():
    model = vae.build_vae(tiny_config())
    warmup = vae.KLWarmup(4)
    warmup.set_model(model)
    scales = []
    for epoch in range(6):
        warmup.on_epoch_begin(epoch)
        scales.append(float(model.kl_scale.numpy()))
    assert scales == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0, 1.0])
    off = vae.KLWarmup(0)
    off.set_model(model)
    off.on_epoch_begin(0)
    assert float(model.kl_scale.numpy()) == 1.0


def test_kl_warmup_keeps_the_kl_term_out_of_the_first_epoch():
    # With no KL pressure the encoder is free to spread out: the first epoch's KL is larger.
    images = blobs(64)
    _, with_warmup = vae.fit_vae(tiny_config(kl_warmup=5), images[:56], images[56:], quiet=True)
    _, without = vae.fit_vae(tiny_config(kl_warmup=0), images[:56], images[56:], quiet=True)
    assert with_warmup[0]["kl_loss"] > without[0]["kl_loss"]


# --- sampling layer -----------------------------------------------------------------------


def test_sampling_has_the_requested_mean_and_standard_deviation():
    draws = 200_000
    mean = np.tile([[1.5, -2.0]], (draws, 1)).astype(np.float32)
    log_var = np.tile([[math.log(4.0), math.log(0.25)]], (draws, 1)).astype(np.float32)
    z = as_numpy(vae.Sampling(seed=3)([mean, log_var]))
    assert z.mean(axis=0) == pytest.approx([1.5, -2.0], abs=0.02)
    # Standard deviations 2 and 0.5; using exp(log_var) as the std would give 4 and 0.25.
    assert z.std(axis=0) == pytest.approx([2.0, 0.5], rel=0.02)
    assert z.var(axis=0) == pytest.approx([4.0, 0.25], rel=0.03)


def test_sampling_is_seeded_and_fresh_per_call():
    mean, log_var = np.zeros((4, 2), np.float32), np.zeros((4, 2), np.float32)
    first, second = vae.Sampling(seed=5), vae.Sampling(seed=5)
    a = as_numpy(first([mean, log_var]))
    assert np.array_equal(a, as_numpy(second([mean, log_var])))
    assert not np.array_equal(a, as_numpy(first([mean, log_var])))


# --- model and persistence ----------------------------------------------------------------


def test_encoder_decoder_shapes():
    model = vae.build_vae(tiny_config(size=12, channels=3, latent_dim=5))
    z_mean, z_log_var = vae.encode(model, blobs(3, size=12, channels=3))
    assert z_mean.shape == z_log_var.shape == (3, 5)
    images = vae.decode(model, z_mean)
    assert images.shape == (3, 12, 12, 3)
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert [layer.filters for layer in model.encoder.layers if isinstance(layer, keras.layers.Conv2D)] == [32, 64, 64, 64]


def test_save_load_round_trip(tiny_model, tmp_path):
    path = vae.save_model(tiny_model, tmp_path / "model.keras")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]  # no temp file left
    loaded = vae.load_model(path)
    assert isinstance(loaded, vae.VAE)
    assert loaded.get_config() == tiny_model.get_config()
    images = blobs(6, seed=9)
    assert np.array_equal(loaded.predict(images, verbose=0), tiny_model.predict(images, verbose=0))
    for got, want in zip(vae.encode(loaded, images), vae.encode(tiny_model, images)):
        assert np.array_equal(got, want)
    assert np.array_equal(vae.latent_grid(loaded, 3), vae.latent_grid(tiny_model, 3))
    # A folder holding vae.keras is accepted in place of the file.
    vae.save_model(tiny_model, tmp_path / vae.MODEL_FILE)
    assert vae.load_model(tmp_path).get_config() == tiny_model.get_config()


def test_load_model_bad_files(tmp_path):
    with pytest.raises(TexsynthError, match="no such model file"):
        vae.load_model(tmp_path / "missing.keras")
    corrupt = tmp_path / "corrupt.keras"
    corrupt.write_bytes(b"this is not a zip archive")
    with pytest.raises(TexsynthError, match="corrupt"):
        vae.load_model(corrupt)
    wrong_suffix = tmp_path / "model.h5"
    wrong_suffix.write_bytes(b"x")
    with pytest.raises(TexsynthError, match=r"\.keras"):
        vae.load_model(wrong_suffix)
    with pytest.raises(TexsynthError, match="folder without"):
        vae.load_model(tmp_path)
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    other.save(tmp_path / "other.keras")
    with pytest.raises(TexsynthError, match="not a texsynth VAE"):
        vae.load_model(tmp_path / "other.keras")


def test_save_model_unwritable_folder(tiny_model, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    with pytest.raises(TexsynthError, match="cannot write"):
        vae.save_model(tiny_model, blocker / "model.keras")


# --- data -----------------------------------------------------------------------------------


def test_bundled_digits():
    images = vae.load_digits(16)
    assert images.shape == (1797, 16, 16, 1) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0 and images.max() > 0.9
    colour = vae.load_digits(8, channels=3)
    assert colour.shape == (1797, 8, 8, 3)
    assert np.array_equal(colour[..., 0], colour[..., 2])


def test_folder_loads_and_converts(tmp_path):
    write_png(tmp_path / "a.png", "RGB", size=(20, 10))
    write_png(tmp_path / "b.png", "RGB", value=40)
    (tmp_path / "notes.txt").write_text("ignored")
    images = vae.load_folder(tmp_path, 8, 3)
    assert images.shape == (2, 8, 8, 3)
    assert images[0, 0, 0] == pytest.approx(np.array([128, 64, 127]) / 255, abs=1e-3)
    grey = vae.load_folder(tmp_path, 8, 1)
    assert grey[0, 0, 0, 0] == pytest.approx((0.299 * 128 + 0.587 * 64 + 0.114 * 127) / 255, abs=1e-3)


def test_folder_bad_inputs(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TexsynthError, match="no images"):
        vae.load_folder(empty, 8, 1)
    with pytest.raises(TexsynthError, match="not a folder"):
        vae.load_folder(tmp_path / "missing", 8, 1)
    single = tmp_path / "single"
    single.mkdir()
    write_png(single / "only.png", "L")
    with pytest.raises(TexsynthError, match="patches:"):
        vae.load_folder(single, 8, 1)
    broken = tmp_path / "broken"
    broken.mkdir()
    write_png(broken / "good.png", "L")
    (broken / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(TexsynthError, match="bad.png"):
        vae.load_folder(broken, 8, 1)


def test_folder_mixing_grey_and_colour(tmp_path):
    write_png(tmp_path / "grey1.png", "L")
    write_png(tmp_path / "grey2.png", "L")
    write_png(tmp_path / "colour.png", "RGB")
    expected = r"mixes greyscale images \(grey1.png, grey2.png\) with colour images \(colour.png\)"
    with pytest.raises(TexsynthError, match=expected):
        vae.load_folder(tmp_path, 8, 3)
    # For a greyscale model every image becomes luminance anyway, so the mix is fine.
    assert vae.load_folder(tmp_path, 8, 1).shape == (3, 8, 8, 1)


def test_to_model_pixels_centre_crops():
    image = np.zeros((10, 20, 3), np.float32)
    image[:, 5:15] = 255.0  # the centre square is white, the sides black
    pixels = vae.to_model_pixels(image, 4, 1)
    assert pixels.shape == (4, 4, 1)
    assert pixels == pytest.approx(np.ones((4, 4, 1)), abs=1e-3)


def test_patches_are_crops_of_the_image(tmp_path):
    # Every pixel value is unique, so a patch's first pixel says where it was cut.
    source = np.arange(40 * 30, dtype=np.uint16).reshape(30, 40)
    rgb = np.stack([source % 256, source // 256, np.zeros_like(source)], axis=-1).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "texture.png")
    patches = vae.load_patches(tmp_path / "texture.png", 8, 3, 25, np.random.default_rng(0))
    assert patches.shape == (25, 8, 8, 3)
    for patch in patches:
        code = np.rint(patch[0, 0, 0] * 255) + 256 * np.rint(patch[0, 0, 1] * 255)
        top, left = divmod(int(code), 40)
        assert np.allclose(patch * 255, rgb[top:top + 8, left:left + 8], atol=1e-3)
    again = vae.load_patches(tmp_path / "texture.png", 8, 3, 25, np.random.default_rng(0))
    assert np.array_equal(patches, again)
    with pytest.raises(TexsynthError, match="smaller than one 32x32 patch"):
        vae.load_patches(tmp_path / "texture.png", 32, 3, 5, np.random.default_rng(0))


def test_load_dataset_subset_and_split():
    config = vae.VAEConfig(data="digits", size=8, max_samples=50, seed=4)
    images = vae.load_dataset(config)
    assert images.shape == (50, 8, 8, 1)
    assert np.array_equal(images, vae.load_dataset(config))
    train, validation = vae.split_validation(images, 0.1)
    assert len(train) == 45 and len(validation) == 5
    with pytest.raises(TexsynthError, match="after the colon"):
        vae.load_dataset(vae.VAEConfig(data="patches:"))


def test_config_rejects_bad_values():
    for bad in (dict(size=7), dict(channels=2), dict(latent_dim=0), dict(validation_split=1.0), dict(max_samples=1)):
        with pytest.raises(TexsynthError):
            vae.VAEConfig(**bad)


# --- training -------------------------------------------------------------------------------


def test_short_training_on_digits_lowers_validation_loss():
    config = vae.VAEConfig(data="digits", size=16, epochs=3, max_samples=500, seed=0)
    train, validation = vae.split_validation(vae.load_dataset(config), config.validation_split)
    before = vae.build_vae(config).evaluate(validation, batch_size=16, verbose=0, return_dict=True)["loss"]
    _, history = vae.fit_vae(config, train, validation, quiet=True)
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert history[-1]["val_loss"] < history[0]["val_loss"]
    assert history[-1]["val_loss"] < 0.9 * before


def test_same_seed_same_model_different_seed_different_model():
    images = blobs(24)

    def weights(seed: int) -> list[np.ndarray]:
        model, _ = vae.fit_vae(tiny_config(seed=seed), images[:20], images[20:], quiet=True)
        return model.get_weights()

    first, second, other = weights(7), weights(7), weights(8)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_epoch_lines_show_loss_and_validation_loss(capsys):
    images = blobs(24)
    vae.fit_vae(tiny_config(epochs=2), images[:20], images[20:])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("epoch")]
    assert len(lines) == 2
    assert lines[0].startswith("epoch 1/2") and "loss" in lines[0] and "val_loss" in lines[0]


# --- pictures -------------------------------------------------------------------------------


def test_grid_latents_are_gaussian_quantiles():
    latents = vae.grid_latents(15, 2).reshape(15, 15, 2)
    quantiles = norm.ppf(np.linspace(0.05, 0.95, 15))
    assert latents[0, :, 0] == pytest.approx(quantiles)  # x grows to the right
    assert latents[:, 0, 1] == pytest.approx(quantiles[::-1])  # y grows upwards
    assert latents[7, 7] == pytest.approx([0.0, 0.0], abs=1e-6)
    other = vae.grid_latents(4, 5, dims=(3, 1)).reshape(4, 4, 5)
    assert np.all(other[..., [0, 2, 4]] == 0)
    assert other[0, :, 3] == pytest.approx(norm.ppf(np.linspace(0.05, 0.95, 4)))


@pytest.mark.parametrize("latent_dim, dims, message", [
    (2, (0, 2), "out of range"),
    (3, (3, 0), "out of range"),
    (2, (1, 1), "two different"),
    (1, (0, 1), "at least 2"),
])
def test_grid_latents_bad_pairs(latent_dim, dims, message):
    with pytest.raises(TexsynthError, match=message):
        vae.grid_latents(5, latent_dim, dims)


def test_grid_sample_reconstruct_shapes(tiny_model):
    grid = vae.latent_grid(tiny_model, 5)
    assert grid.shape == (40, 40, 1)
    assert np.array_equal(grid[8:16, 16:24], vae.decode(tiny_model, vae.grid_latents(5, 2)[7:8])[0])
    samples = vae.sample_images(tiny_model, 10, seed=1)
    assert samples.shape == (3 * 8, 4 * 8, 1)
    assert np.array_equal(samples, vae.sample_images(tiny_model, 10, seed=1))
    originals = blobs(3, seed=5)
    pairs = vae.reconstruct_images(tiny_model, originals)
    assert pairs.shape == (8, 3 * 16 + 2 * 2, 1)
    assert np.array_equal(pairs[:, :8], originals[0])
    assert np.array_equal(pairs[:, 8:16], tiny_model.predict(originals[:1], verbose=0)[0])


def test_to_picture_scales_and_drops_single_channel():
    assert vae.to_picture(np.ones((2, 3, 1))).shape == (2, 3)
    assert vae.to_picture(np.full((2, 3, 3), 0.5)) == pytest.approx(np.full((2, 3, 3), 127.5))


def test_loss_plot_draws_both_curves():
    history = [{"loss": 10.0 - i, "val_loss": 11.0 - 0.5 * i} for i in range(5)]
    plot = vae.plot_losses(history)
    assert plot.shape == (400, 640, 3) and plot.dtype == np.uint8
    colours = {tuple(c) for c in plot.reshape(-1, 3)}
    assert (31, 119, 180) in colours and (255, 127, 14) in colours
    assert vae.plot_losses(history[:1]).shape == (400, 640, 3)  # one epoch still draws
