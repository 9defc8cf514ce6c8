"""Tests of the texsynth.vae package: every public name is there, and importing the package (and
its config) does not start TensorFlow."""

from __future__ import annotations

import subprocess
import sys

import texsynth.vae as vae


def test_every_public_name_resolves():
    for name in vae.__all__:
        assert getattr(vae, name) is not None, name
    assert vae.train_vae.__module__ == "texsynth.vae.training"
    assert set(vae.__all__) <= set(dir(vae))


def test_config_imports_without_tensorflow():
    code = "import sys\nimport texsynth.vae\nfrom texsynth.vae import VAEConfig\nprint('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "False", result.stderr
