"""The shared parser pieces: one-line errors with status 2, number validators, the common flags."""

import argparse

import pytest

from texsynth.choices import PRECISIONS
from texsynth.commands.args import (ArgumentParser, add_data_dir_flag, add_precision_flag, add_weights_flag, at_least,
                                    non_negative, number, positive)


@pytest.mark.parametrize("parse, text, value", [
    (positive(), "3", 3), (positive(float), "0.5", 0.5), (non_negative(), "0", 0), (at_least(2), "2", 2),
    (number(float, 1.0, False, "above 1"), "1.01", 1.01),
])
def test_values_in_range_are_parsed(parse, text, value):
    result = parse(text)
    assert result == value and type(result) is type(value)


@pytest.mark.parametrize("parse, text, message", [
    (positive(), "0", "must be positive, got 0"),
    (positive(), "1.5", "expected an integer, got '1.5'"),
    (positive(float), "nan", "must be positive, got nan"),
    (positive(float), "inf", "must be positive, got inf"),
    (positive(float), "x", "expected a number, got 'x'"),
    (non_negative(), "-1", "must be 0 or more, got -1"),
    (at_least(2), "1", "must be at least 2, got 1"),
])
def test_values_out_of_range_say_what_was_expected(parse, text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse(text)


def test_a_bad_flag_is_one_line_and_status_2(capsys):
    parser = ArgumentParser(prog="texsynth x")
    parser.add_argument("--count", type=positive())
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(["--count", "-3"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == ("texsynth x: error: argument --count: must be positive, got -3 "
                                       "(see texsynth x --help)\n")


def test_common_flags_and_their_defaults():
    parser = ArgumentParser(prog="texsynth x")
    add_weights_flag(parser)
    add_data_dir_flag(parser)
    add_precision_flag(parser, "precision of the maps")
    args = parser.parse_args([])
    assert (args.weights, args.data_dir, args.precision) == ("auto", "model_data", "auto")
    args = parser.parse_args(["-d", "weights", "--weights", "vgg19", "--precision", PRECISIONS[-1]])
    assert (args.weights, args.data_dir, args.precision) == ("vgg19", "weights", PRECISIONS[-1])
    with pytest.raises(SystemExit):
        parser.parse_args(["--precision", "float16"])
