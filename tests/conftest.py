"""Shared fixtures: a tiny VGG-shaped network, small example images, isolation from ~/.keras."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# The same process-wide TensorFlow settings as the commands apply (texsynth.runtime), so the library
# is tested as it runs.
from texsynth.runtime import start_tensorflow  # noqa: E402

start_tensorflow()

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(autouse=True)
def _isolated_keras_home(tmp_path_factory, monkeypatch):
    """Keep the user's ~/.keras/models out of weight discovery."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path_factory.mktemp("keras_home")))


def tiny_weights(arch: str = "vgg16", width: int = 4, seed: int = 0):
    """A VGG-shaped network with few channels: the real layer sequence at a fraction of the cost."""
    from texsynth.nn.weights import ARCH_BLOCKS, VGGWeights

    rng = np.random.default_rng(seed)
    kernels, biases, c_in = [], [], 3
    for block, count in enumerate(ARCH_BLOCKS[arch]):
        c_out = width * 2 ** min(block, 3)
        for _ in range(count):
            kernels.append((rng.normal(0, 1, (3, 3, c_in, c_out)) * np.sqrt(2 / (9 * c_in))).astype(np.float32))
            biases.append(rng.normal(0, 0.1, c_out).astype(np.float32))
            c_in = c_out
    return VGGWeights(arch=arch, kernels=tuple(kernels), biases=tuple(biases),
                      mean_bgr=(103.939, 116.779, 123.68), source="tiny test network")


@pytest.fixture
def tiny():
    return tiny_weights()


@pytest.fixture(scope="session")
def gravel_small(tmp_path_factory) -> Path:
    """The gravel example at 128x128 (a real stochastic texture, cheap to synthesise from)."""
    from PIL import Image

    path = tmp_path_factory.mktemp("src") / "gravel128.png"
    Image.open(EXAMPLES / "gravel.jpg").convert("RGB").resize((128, 128), Image.LANCZOS).save(path)
    return path


def synthesizer(paths, weights, config):
    """A Synthesizer for source files, read and scaled as the command does."""
    from texsynth.io.images import load_image
    from texsynth.synthesis import Synthesizer, scale_sources

    images = scale_sources([load_image(path) for path in paths], config.source_scale, config.source_width)
    return Synthesizer(config, weights, images, [str(path) for path in paths])


@pytest.fixture(scope="session")
def noise_source(tmp_path_factory):
    """A 72x72 blurred-noise texture: cheap, and with structure at several scales."""
    from PIL import Image
    from scipy import ndimage

    rng = np.random.default_rng(5)
    image = ndimage.gaussian_filter(rng.uniform(0, 255, (72, 72, 3)), (1.5, 1.5, 0))
    path = tmp_path_factory.mktemp("src") / "noise.png"
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture(scope="session")
def hed():
    """The bundled VGG16 trunk (the real network)."""
    from texsynth.nn.weights import bundled_weights_path, read_weights

    return read_weights(bundled_weights_path())


def run_cli(args: list[str]) -> tuple[int, str, str]:
    """Run `texsynth ARGS` in-process; returns (exit status, stdout, stderr)."""
    import contextlib
    import io

    from texsynth.commands import main as cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = cli.main(args)
        except SystemExit as exit_:  # argparse's parser.error
            status = exit_.code
    return status, out.getvalue(), err.getvalue()
