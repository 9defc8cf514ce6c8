"""Tests of texsynth.vae.config: every rule refuses what it should, in one place for the library
and the command's flags."""

from __future__ import annotations

import dataclasses

import pytest

from texsynth.errors import TexsynthError
from texsynth.vae.config import RULES, VAEConfig


def test_config_rejects_bad_values():
    for bad in (dict(size=7), dict(channels=2), dict(latent_dim=0), dict(validation_split=1.0), dict(max_samples=1)):
        with pytest.raises(TexsynthError):
            VAEConfig(**bad)


@pytest.mark.parametrize("field, value, message", [
    ("size", 2, "size must be an even number >= 4, got 2"),
    ("epochs", True, "epochs must be positive, got True"),
    ("batch_size", 1.5, "batch size must be positive, got 1.5"),
    ("kl_weight", float("inf"), "kl weight must be 0 or more, got inf"),
    ("learning_rate", float("nan"), "learning rate must be positive, got nan"),
    ("kl_warmup", -1, "kl warmup must be 0 or more, got -1"),
    ("seed", -1, "seed must be 0 or more, got -1"),
    ("num_patches", 0, "num patches must be positive, got 0"),
    ("data", "", "--data must not be empty"),
    ("data", "patches:", "--data patches: needs an image after the colon"),
])
def test_each_rule_names_the_setting(field, value, message):
    with pytest.raises(TexsynthError, match=message.replace("(", r"\(").replace(")", r"\)")):
        VAEConfig(**{field: value})


def test_defaults_are_valid_and_frozen():
    config = VAEConfig()
    assert config.max_samples is None and config.data == "digits"
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.size = 16


def test_every_numeric_field_has_a_rule():
    numeric = {field.name for field in dataclasses.fields(VAEConfig)} - {"data", "output"}
    assert set(RULES) == numeric
    for name, rule in RULES.items():
        assert rule.accepts(getattr(VAEConfig(), name))
