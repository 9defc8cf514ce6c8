"""Weight files: every supported layout loads, features match Keras, bad files fail in one line."""


import h5py
import numpy as np
import pytest
import tensorflow as tf

from tests.nn.torch_format import save_state_dict
from texsynth.errors import TexsynthError
from texsynth.nn.layers import layer_names
from texsynth.nn.vgg import VGGFeatures, rgb_to_vgg
from texsynth.nn.weights import (HED_MEAN_BGR, KERAS_FILE_NAMES, KERAS_MEAN_BGR, TORCHVISION_MEAN_RGB,
                              TORCHVISION_STD_RGB, bundled_weights_path, expected_channels, find_weights, load_weights,
                              read_weights)


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


def _torch_vgg16(names):
    """A random VGG16 state dict in PyTorch's layout, (C_out, C_in, 3, 3) kernels, under ``names(i)``."""
    rng = np.random.default_rng(1)
    state = {}
    for i, (c_in, c_out) in enumerate(expected_channels("vgg16")):
        state[names(i) + ".weight"] = rng.standard_normal((c_out, c_in, 3, 3), dtype=np.float32) * 0.05
        state[names(i) + ".bias"] = rng.standard_normal(c_out, dtype=np.float32) * 0.1
    return state


def _first_layer(weights, rgb):
    """conv1_1 (with its ReLU) as texsynth runs it on an RGB image in [0, 255]."""
    x = tf.constant(rgb_to_vgg(rgb, weights.mean_bgr), tf.float32)
    return VGGFeatures(weights, 0, padding="same")(x, [0])[0].numpy()


def _torch_conv(state, name, x):
    """What PyTorch computes: a zero-padded 3x3 convolution and a ReLU on (N, H, W, C) ``x``."""
    kernel = state[name + ".weight"].transpose(2, 3, 1, 0)
    return tf.nn.relu(tf.nn.conv2d(tf.constant(x, tf.float32), kernel, 1, "SAME") + state[name + ".bias"]).numpy()


RGB = np.random.default_rng(2).uniform(0, 255, (1, 12, 14, 3)).astype(np.float32)


@pytest.mark.parametrize("layout", ["zip", "legacy"])
def test_torchvision_file_takes_texsynth_input(tmp_path, layout):
    """torchvision's VGG expects (RGB / 255 - mean) / deviation: folded into conv1_1, exactly."""
    state = _torch_vgg16(lambda i: f"features.{[0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28][i]}")
    state["classifier.0.weight"] = np.ones((4, 8), np.float32)  # fully connected: ignored
    path = tmp_path / "vgg16-397923af.pth"
    save_state_dict(state, path, zip_format=layout == "zip")
    weights = read_weights(path)
    assert weights.arch == "vgg16" and "torchvision" in weights.source
    normalised = (RGB / 255 - np.array(TORCHVISION_MEAN_RGB)) / np.array(TORCHVISION_STD_RGB)
    np.testing.assert_allclose(_first_layer(weights, RGB), _torch_conv(state, "features.0", normalised),
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(weights.kernels[1], state["features.2.weight"].transpose(2, 3, 1, 0))


def test_adain_normalised_file_folds_its_rgb_layer(tmp_path):
    """AdaIN's vgg_normalised starts with a 1x1 layer from RGB in [0, 1] to its input; here an
    arbitrary one, so the fold is tested beyond the identity it is in the real file."""
    state = _torch_vgg16(lambda i: str(2 * i + 2))
    colour = np.array([[0.2, 0.1, 250.0], [3.0, 240.0, -1.0], [255.0, 0.5, 2.0]], np.float32)
    shift = np.array([-100.0, -120.0, -110.0], np.float32)
    state = {"0.weight": colour[:, :, None, None], "0.bias": shift, **state}
    path = tmp_path / "vgg_normalised.pth"
    save_state_dict(state, path, zip_format=False)
    weights = read_weights(path)
    assert weights.arch == "vgg16" and weights.mean_bgr == KERAS_MEAN_BGR
    # Inside the image (away from the zero padding, which the bias of the 1x1 layer shifts).
    reference = _torch_conv(state, "2", (RGB / 255) @ colour.T + shift)[:, 1:-1, 1:-1]
    np.testing.assert_allclose(_first_layer(weights, RGB)[:, 1:-1, 1:-1], reference, rtol=1e-4, atol=2e-3)


def test_caffe_style_state_dict_loads_unchanged(tmp_path):
    state = _torch_vgg16(lambda i: f"conv{i}")
    path = tmp_path / "vgg_conv.pth"
    save_state_dict(state, path)
    weights = read_weights(path)
    assert weights.mean_bgr == KERAS_MEAN_BGR
    for i, kernel in enumerate(weights.kernels):
        np.testing.assert_array_equal(kernel, state[f"conv{i}.weight"].transpose(2, 3, 1, 0))


def test_batch_normalised_vgg_is_refused(tmp_path):
    state = _torch_vgg16(lambda i: f"features.{3 * i}")
    state["features.1.running_mean"] = np.zeros(64, np.float32)
    path = tmp_path / "vgg16_bn.pth"
    save_state_dict(state, path)
    with pytest.raises(TexsynthError, match="batch-normalised"):
        read_weights(path)


def test_torch_file_that_is_not_vgg_is_one_error(tmp_path):
    path = tmp_path / "small.pth"
    save_state_dict({"a.weight": np.zeros((8, 3, 3, 3), np.float32), "a.bias": np.zeros(8, np.float32)}, path)
    with pytest.raises(TexsynthError, match="1 3x3 convolutions, not a VGG16 or VGG19"):
        read_weights(path)


def test_normalised_vgg19_is_preferred_in_the_data_folder(keras_files, tmp_path):
    import shutil

    shutil.copy(keras_files["vgg19-legacy"], tmp_path / KERAS_FILE_NAMES["vgg19"][0])
    assert find_weights("auto", tmp_path).name == KERAS_FILE_NAMES["vgg19"][0]
    (tmp_path / "vgg_normalised.pth").write_bytes(b"")
    assert find_weights("auto", tmp_path).name == "vgg_normalised.pth"
    assert find_weights("vgg19", tmp_path).name == "vgg_normalised.pth"


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
