"""Weight files: every supported layout loads, features match Keras, bad files fail in one line."""


import h5py
import numpy as np
import pytest
import tensorflow as tf

from texsynth.errors import TexsynthError
from texsynth.nn.layers import layer_names
from texsynth.nn.vgg import VGGFeatures
from texsynth.nn.weights import (HED_MEAN_BGR, KERAS_FILE_NAMES, KERAS_MEAN_BGR, bundled_weights_path, find_weights,
                              load_weights, read_weights)


def _keras_vgg(arch):
    import keras

    keras.utils.set_random_seed(0)
    model_class = {"vgg16": keras.applications.VGG16, "vgg19": keras.applications.VGG19}[arch]
    return model_class(weights=None, include_top=False, input_shape=(None, None, 3))


def _save_legacy_weights(model, path):
    """Write the weights-only HDF5 layout of Keras application files (what ~/.keras/models holds)."""
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("weights")
    files = {}
    for arch in ("vgg16", "vgg19"):
        model = _keras_vgg(arch)
        files[f"{arch}-legacy"] = folder / KERAS_FILE_NAMES[arch][0]
        _save_legacy_weights(model, files[f"{arch}-legacy"])
        files[f"{arch}-keras3"] = folder / f"{arch}.weights.h5"
        model.save_weights(files[f"{arch}-keras3"])
        files[f"{arch}-model"] = model
    files["folder"] = folder
    return files


def _keras_features(model, x):
    """Keras' own layers, with average pooling in place of max pooling as texsynth uses."""
    import keras

    outputs = []
    for layer in model.layers[1:]:
        if isinstance(layer, keras.layers.MaxPooling2D):
            x = tf.nn.avg_pool2d(x, 2, 2, "VALID")
        else:
            x = layer(x)
        outputs.append(x)
    return outputs


@pytest.mark.parametrize("arch", ["vgg16", "vgg19"])
@pytest.mark.parametrize("layout", ["legacy", "keras3"])
def test_keras_files_load_and_features_match(keras_files, arch, layout):
    weights = read_weights(keras_files[f"{arch}-{layout}"])
    assert weights.arch == arch
    assert weights.mean_bgr == KERAS_MEAN_BGR
    assert len(weights.kernels) == {"vgg16": 13, "vgg19": 16}[arch]
    x = tf.constant(np.random.default_rng(0).normal(0, 50, (1, 40, 40, 3)), tf.float32)
    names = layer_names(arch)
    depth = names.index("conv3_1")
    ours = VGGFeatures(weights, depth, padding="same")(x, range(depth + 1))
    theirs = _keras_features(keras_files[f"{arch}-model"], x)[: depth + 1]
    for name, a, b in zip(names, ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-4, err_msg=name)


def test_full_model_h5_loads(keras_files, tmp_path):
    path = tmp_path / "vgg16_full.h5"
    keras_files["vgg16-model"].save(path)
    weights = read_weights(path)
    assert weights.arch == "vgg16"
    np.testing.assert_array_equal(weights.kernels[0], keras_files["vgg16-model"].layers[1].get_weights()[0])


def test_plain_hdf5_of_kernels_and_biases_loads_in_network_order(keras_files, tmp_path):
    """A converted file (one group per convolution: its (3, 3, C_in, C_out) kernel and bias) loads
    in natural order of its names, so conv10 comes after conv9, not after conv1."""
    model = keras_files["vgg19-model"]
    convs = [layer.get_weights() for layer in model.layers if layer.get_weights()]
    path = tmp_path / "converted.h5"
    with h5py.File(path, "w") as f:
        for i, (kernel, bias) in enumerate(convs, 1):
            f[f"conv{i}/kernel"], f[f"conv{i}/bias"] = kernel, bias
    weights = read_weights(path)
    assert weights.arch == "vgg19" and weights.mean_bgr == KERAS_MEAN_BGR
    for i, (kernel, bias) in enumerate(convs):
        np.testing.assert_array_equal(weights.kernels[i], kernel)
        np.testing.assert_array_equal(weights.biases[i], bias)


def test_bundled_hed_trunk_loads():
    weights = read_weights(bundled_weights_path())
    assert weights.arch == "vgg16" and weights.mean_bgr == HED_MEAN_BGR
    assert [k.shape[3] for k in weights.kernels] == [64, 64, 128, 128, 256, 256, 256] + [512] * 6
    # Trained weights, not an initialiser's output: first-layer kernels are far from zero mean noise.
    assert np.abs(weights.kernels[0]).mean() > 0.01


def test_vgg19_is_preferred_then_vgg16_then_bundled(keras_files, tmp_path):
    folder = keras_files["folder"]
    assert find_weights(None, folder).name == KERAS_FILE_NAMES["vgg19"][0]
    assert find_weights("vgg16", folder).name == KERAS_FILE_NAMES["vgg16"][0]
    assert find_weights(None, tmp_path) == bundled_weights_path()
    assert find_weights("hed", folder) == bundled_weights_path()
    assert load_weights(None, folder).arch == "vgg19"


def test_keras_home_models_folder_is_searched(keras_files, tmp_path, monkeypatch):
    models = tmp_path / "models"
    models.mkdir()
    (models / KERAS_FILE_NAMES["vgg16"][0]).write_bytes(keras_files["vgg16-legacy"].read_bytes())
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert find_weights(None, tmp_path / "empty") == models / KERAS_FILE_NAMES["vgg16"][0]


def test_missing_named_weights(tmp_path):
    with pytest.raises(TexsynthError, match="no vgg19 weight file"):
        find_weights("vgg19", tmp_path)
    with pytest.raises(TexsynthError, match="not found"):
        find_weights(str(tmp_path / "nope.h5"), tmp_path)


def test_truncated_file(keras_files, tmp_path):
    path = tmp_path / "cut.h5"
    path.write_bytes(keras_files["vgg16-legacy"].read_bytes()[:100_000])
    with pytest.raises(TexsynthError, match="cannot read weight file") as error:
        read_weights(path)
    assert "\n" not in str(error.value)


def test_not_an_hdf5_file(tmp_path):
    path = tmp_path / "picture.h5"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(1000))
    with pytest.raises(TexsynthError, match="expected a VGG16 or VGG19"):
        read_weights(path)


def test_wrong_network(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((None, None, 3)), keras.layers.Conv2D(8, 3), keras.layers.Conv2D(8, 3)])
    path = tmp_path / "small.weights.h5"
    model.save_weights(path)
    with pytest.raises(TexsynthError, match="holds 2 3x3 convolutions"):
        read_weights(path)
