"""Tests of texsynth.vae.training: the KL warm-up, learning, repeatability for a seed, epoch lines,
and a whole run into a folder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.vae.conftest import blobs, seeded_build, seeded_fit, tiny_config
from texsynth.errors import TexsynthError
from texsynth.vae.config import VAEConfig
from texsynth.vae.data import load_dataset, split_validation
from texsynth.vae.training import KLWarmup, train_vae

# Keras converts its own tensors with np.array(x), which numpy 2 flags; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def test_kl_warmup_ramps_linearly_then_holds():
    model = seeded_build(tiny_config())
    warmup = KLWarmup(4)
    warmup.set_model(model)
    scales = []
    for epoch in range(6):
        warmup.on_epoch_begin(epoch)
        scales.append(float(model.kl_scale.numpy()))
    assert scales == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0, 1.0])
    off = KLWarmup(0)
    off.set_model(model)
    off.on_epoch_begin(0)
    assert float(model.kl_scale.numpy()) == 1.0


def test_kl_warmup_keeps_the_kl_term_out_of_the_first_epoch():
    # With no KL pressure the encoder is free to spread out: the first epoch's KL is larger.
    images = blobs(64)
    _, with_warmup = seeded_fit(tiny_config(kl_warmup=5), images[:56], images[56:], quiet=True)
    _, without = seeded_fit(tiny_config(kl_warmup=0), images[:56], images[56:], quiet=True)
    assert with_warmup[0]["kl_loss"] > without[0]["kl_loss"]


def test_short_training_on_digits_lowers_validation_loss():
    config = VAEConfig(data="digits", size=16, epochs=3, max_samples=500, seed=0)
    train, validation = split_validation(load_dataset(config), config.validation_split)
    before = seeded_build(config).evaluate(validation, batch_size=16, verbose=0, return_dict=True)["loss"]
    _, history = seeded_fit(config, train, validation, quiet=True)
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert history[-1]["val_loss"] < history[0]["val_loss"]
    assert history[-1]["val_loss"] < 0.9 * before


def test_same_seed_same_model_different_seed_different_model():
    images = blobs(24)

    def weights(seed: int) -> list[np.ndarray]:
        model, _ = seeded_fit(tiny_config(seed=seed), images[:20], images[20:], quiet=True)
        return model.get_weights()

    first, second, other = weights(7), weights(7), weights(8)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_epoch_lines_show_loss_and_validation_loss(capsys):
    images = blobs(24)
    seeded_fit(tiny_config(epochs=2), images[:20], images[20:])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("epoch")]
    assert len(lines) == 2
    assert lines[0].startswith("epoch 1/2") and "loss" in lines[0] and "val_loss" in lines[0]


def test_train_vae_writes_three_files(tmp_path):
    config = tiny_config(data="digits", max_samples=24, output=str(tmp_path / "run"))
    paths = train_vae(config, quiet=True)
    assert sorted(paths) == ["history", "loss_plot", "model"]
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["history.json", "loss.png", "vae.keras"]
    history = json.loads(paths["history"].read_text())
    assert history["config"]["max_samples"] == 24 and len(history["epochs"]) == 1


def test_failed_run_removes_the_folder_it_made(tmp_path):
    config = tiny_config(data=str(tmp_path / "missing"), output=str(tmp_path / "run"))
    with pytest.raises(TexsynthError, match="not a folder"):
        train_vae(config, quiet=True)
    assert not (tmp_path / "run").exists()
