"""Layer names, indices and weighted layer specs."""

import pytest

from texsynth.errors import TexsynthError
from texsynth.nn.layers import layer_names, parse_layer_spec, resolve_layers, resolve_weighted_layers


def test_layer_sequence_follows_the_ancestor():
    names = layer_names("vgg19")
    assert names[:8] == ["conv1_1", "conv1_2", "pool1", "conv2_1", "conv2_2", "pool2", "conv3_1", "conv3_2"]
    assert len(names) == 21 and len(layer_names("vgg16")) == 18
    assert names.index("conv4_1") == 11 and layer_names("vgg16").index("conv4_1") == 10


def test_resolve_layers_accepts_indices_and_names():
    assert resolve_layers(["2", "7"], "vgg16") == [2, 7]
    assert resolve_layers(["conv3_2", "pool1", "2"], "vgg19") == [2, 7]


@pytest.mark.parametrize("spec", ["conv9_1", "99", "-1"])
def test_resolve_layers_rejects_with_the_valid_list(spec):
    with pytest.raises(TexsynthError, match="conv1_1"):
        resolve_layers([spec], "vgg16")


def test_layer_spec_parses_name_and_weight():
    assert parse_layer_spec("conv4_2:0.5") == ("conv4_2", 0.5)
    assert parse_layer_spec(" conv5_1 ") == ("conv5_1", 1.0)
    assert parse_layer_spec("7:2") == ("7", 2.0)


@pytest.mark.parametrize("spec, fragment", [("conv4_2:abc", "not a number"), ("conv4_2:-1", "positive"),
                                            ("conv4_2:0", "positive"), ("conv4_2:nan", "positive"),
                                            (":1", "NAME[:WEIGHT]")])
def test_bad_layer_spec_is_rejected(spec, fragment):
    with pytest.raises(TexsynthError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        parse_layer_spec(spec)


def test_weighted_layers_resolve_to_sorted_indices_with_aligned_weights():
    names = layer_names("vgg16")
    indices, weights = resolve_weighted_layers(["conv5_1:0.5", "conv4_2", "7:3", "conv4_2:2"], "vgg16")
    assert indices == sorted(indices) == [7, names.index("conv4_2"), names.index("conv5_1")]
    # conv4_2 named twice gets the sum of its weights; each weight stays with its own layer.
    assert weights == [3.0, 3.0, 0.5]


def test_unknown_layer_lists_the_valid_ones():
    with pytest.raises(TexsynthError, match="valid layers: conv1_1, conv1_2, pool1"):
        resolve_weighted_layers(["conv4_2", "conv9_9:1"], "vgg16")
