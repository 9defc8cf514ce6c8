"""The ``texsynth`` command: dispatches to sub-commands and turns errors into one-line messages."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import math
from typing import Callable, Iterator, NoReturn, Sequence

from texsynth.errors import TexsynthError

# Sub-command name -> (module exposing ``main(argv) -> int``, whether it uses TensorFlow). Modules
# are imported lazily so `texsynth --help` stays fast and a command never pays for another's imports.
COMMANDS = {
    "synth": ("texsynth.synth_cli", True),
    "dream": ("texsynth.dream_cli", True),
    "cppn": ("texsynth.cppn_cli", False),
    "vae": ("texsynth.vae_cli", True),
}

USAGE = """usage: texsynth COMMAND [ARGS ...]

commands:
  synth    multiscale texture synthesis (same flags as synthesize.py)
  dream    DeepDream: amplify what a VGG layer sees in an image
  cppn     draw patterns with a compositional pattern-producing network
  vae      train and sample a small convolutional VAE

Run `texsynth COMMAND --help` for a command's flags."""


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


def start_tensorflow() -> None:
    """Import and configure TensorFlow for a command, without its C++ start-up chatter.

    Some lines (oneDNN, CUDA probing) are printed before TensorFlow reads its log level, so the
    process's standard error is pointed at /dev/null while TensorFlow loads, unless the user asked
    for its logs (TF_CPP_MIN_LOG_LEVEL of 0 or 1).

    Independent ops (the octaves of a pyramid) run one after another: on 2 cores that was as fast
    as running them side by side and lowered peak memory of synthesis by about 120 MB.
    """
    if "tensorflow" in sys.modules:
        return
    verbose = os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3") in ("0", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with contextlib.nullcontext() if verbose else _stderr_to_devnull():
        import tensorflow as tf

        tf.config.threading.set_inter_op_parallelism_threads(1)
        tf.config.list_physical_devices()


@contextlib.contextmanager
def _stderr_to_devnull() -> Iterator[None]:
    """Point the process's standard error (file descriptor 2, which C++ code writes to) at /dev/null."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def run_guarded(entry: Callable[[Sequence[str]], int], argv: Sequence[str], prog: str) -> int:
    """Run a command's ``main``, mapping user errors to one line and Ctrl-C to exit 130."""
    try:
        return int(entry(argv) or 0)
    except TexsynthError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print(f"{prog}: error: out of memory; try a smaller output size or fewer octaves", file=sys.stderr)
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``texsynth`` and ``python -m texsynth``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"texsynth: error: unknown command {name!r} (choose from {', '.join(COMMANDS)})", file=sys.stderr)
        return 2
    module_name, uses_tensorflow = COMMANDS[name]
    if uses_tensorflow:
        start_tensorflow()
    module = importlib.import_module(module_name)
    return run_guarded(module.main, rest, f"texsynth {name}")


def synthesize_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``synthesize.py`` (the ancestor's command line)."""
    start_tensorflow()
    from texsynth import synth_cli

    args = list(sys.argv[1:] if argv is None else argv)
    return run_guarded(lambda a: synth_cli.main(a, "synthesize.py"), args, "synthesize.py")
