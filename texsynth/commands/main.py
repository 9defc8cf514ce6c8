"""The ``texsynth`` and ``synthesize.py`` entry points: dispatch to a command, turn errors into one
line and Ctrl-C into exit status 130.

Command modules are imported lazily, and none imports TensorFlow before its flags are parsed, so
``--help`` and flag errors answer at once and a command never pays for another's imports.
"""

from __future__ import annotations

import importlib
import sys
from typing import Callable, Sequence

from texsynth.errors import TexsynthError

__all__ = ["COMMANDS", "main", "run_guarded", "synthesize_main"]

# Sub-command name -> module exposing ``main(argv, prog) -> int``.
COMMANDS = {
    "synth": "texsynth.commands.synth",
    "dream": "texsynth.commands.dream",
    "cppn": "texsynth.commands.cppn",
    "vae": "texsynth.commands.vae",
    "batch": "texsynth.commands.batch",
}

USAGE = """usage: texsynth COMMAND [ARGS ...]

commands:
  synth    multiscale texture synthesis (same flags as synthesize.py)
  dream    DeepDream: amplify what a VGG layer sees in an image
  cppn     draw patterns with a compositional pattern-producing network
  vae      train and sample a small convolutional VAE
  batch    render many textures from a CSV of jobs, on local workers or a Ray cluster

Run `texsynth COMMAND --help` for a command's flags."""


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
    module = importlib.import_module(COMMANDS[name])
    prog = f"texsynth {name}"
    return run_guarded(lambda a: module.main(a, prog), rest, prog)


def synthesize_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``synthesize.py`` (the ancestor's command line)."""
    from texsynth.commands import synth

    args = list(sys.argv[1:] if argv is None else argv)
    return run_guarded(lambda a: synth.main(a, "synthesize.py"), args, "synthesize.py")
