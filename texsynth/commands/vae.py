"""``texsynth vae train|grid|sample|reconstruct``: train a small convolutional VAE and draw with it.

Flags are checked while parsing, against the same rules :class:`~texsynth.vae.VAEConfig` applies
(bad values exit 2 through ``parser.error``). TensorFlow starts only after that, so ``--help`` and
flag mistakes answer at once. The global random seed is set here, not in the library, since it
changes the whole process. The model and pictures live in :mod:`texsynth.vae`.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Callable, Sequence

from texsynth.commands.args import ArgumentParser, non_negative, number, positive
from texsynth.errors import TexsynthError
from texsynth.io.images import check_output_file, save_image
from texsynth.vae.config import CHANNELS, RULES, VAEConfig  # no Keras: see texsynth.vae

__all__ = ["build_parser", "main"]

DEFAULTS = VAEConfig()
# The picture each drawing sub-command writes beside the model unless --output says otherwise.
DEFAULT_PICTURES = {"grid": "grid.png", "sample": "samples.png", "reconstruct": "reconstructions.png"}


def _setting(name: str) -> Callable[[str], int | float]:
    """argparse type for the VAEConfig field ``name``: a number that passes the field's rule."""
    rule = RULES[name]
    # number() turns text into a finite number; the range is left to the rule, which VAEConfig also
    # applies, so each limit is written once.
    convert = number(rule.kind, -math.inf, True, rule.what)

    def parse(text: str) -> int | float:
        value = convert(text)
        if not rule.accepts(value):
            raise argparse.ArgumentTypeError(f"must be {rule.what}, got {text}")
        return value
    return parse


def build_parser(prog: str = "texsynth vae") -> argparse.ArgumentParser:
    """The ``texsynth vae`` argument parser with its four sub-commands."""
    parser = ArgumentParser(prog=prog, description="Train a small convolutional VAE and draw with it.")
    commands = parser.add_subparsers(dest="command", metavar="{train,grid,sample,reconstruct}")
    commands.required = True

    train = commands.add_parser("train", help="train a VAE on digits, a folder of images, or patches of a texture",
                                description="Train a VAE; writes vae.keras, loss.png and history.json to --output.")
    train.add_argument("--data", default=DEFAULTS.data, metavar="DIR|digits|patches:IMAGE",
                       help="a folder of images, 'digits' (1,797 digits bundled with scikit-learn), or "
                            f"'patches:IMAGE' for random patches of one texture (default: {DEFAULTS.data})")
    train.add_argument("--size", type=_setting("size"), default=DEFAULTS.size,
                       help=f"image side in pixels, even (default: {DEFAULTS.size})")
    # choices rather than the rule, so that --help lists them and a wrong value is answered with them.
    train.add_argument("--channels", type=int, choices=CHANNELS, default=DEFAULTS.channels,
                       help=f"1 for greyscale, 3 for colour (default: {DEFAULTS.channels})")
    train.add_argument("--latent-dim", type=_setting("latent_dim"), default=DEFAULTS.latent_dim,
                       help=f"latent dimensions (default: {DEFAULTS.latent_dim})")
    train.add_argument("--epochs", type=_setting("epochs"), default=DEFAULTS.epochs,
                       help=f"passes over the data (default: {DEFAULTS.epochs})")
    train.add_argument("--batch-size", type=_setting("batch_size"), default=DEFAULTS.batch_size,
                       help=f"images per step (default: {DEFAULTS.batch_size})")
    train.add_argument("--kl-weight", type=_setting("kl_weight"), default=DEFAULTS.kl_weight,
                       help=f"weight of the KL term in the loss (default: {DEFAULTS.kl_weight:g})")
    train.add_argument("--kl-warmup", type=_setting("kl_warmup"), default=DEFAULTS.kl_warmup, metavar="EPOCHS",
                       help="ramp the KL weight up from 0 over this many epochs, so that latent dimensions do "
                            f"not collapse unused early on; 0 turns it off (default: {DEFAULTS.kl_warmup})")
    train.add_argument("--learning-rate", type=_setting("learning_rate"), default=DEFAULTS.learning_rate,
                       help=f"Adam learning rate (default: {DEFAULTS.learning_rate:g})")
    train.add_argument("--validation-split", type=_setting("validation_split"), default=DEFAULTS.validation_split,
                       help="fraction of images held out for the validation loss "
                            f"(default: {DEFAULTS.validation_split:g})")
    train.add_argument("--max-samples", type=_setting("max_samples"), default=DEFAULTS.max_samples, metavar="N",
                       help="train on a random subset of N images (default: all)")
    train.add_argument("--num-patches", type=_setting("num_patches"), default=DEFAULTS.num_patches,
                       help=f"patches drawn for --data patches:IMAGE (default: {DEFAULTS.num_patches})")
    train.add_argument("--random-seed", type=_setting("seed"), default=DEFAULTS.seed,
                       help=f"seed for data, weights and noise (default: {DEFAULTS.seed})")
    train.add_argument("--output", "-o", default=DEFAULTS.output, metavar="DIR",
                       help=f"folder for vae.keras, loss.png and history.json (default: {DEFAULTS.output})")
    train.add_argument("--quiet", "-q", action="store_true", help="print only the written paths")

    grid = commands.add_parser("grid", help="decode an n x n grid over the 2-D latent plane",
                               description="Decode latent vectors on an n x n lattice at Gaussian quantiles "
                                           "(5% to 95%) of two latent dimensions; the others stay at 0.")
    grid.add_argument("model", metavar="MODEL", help="a .keras file from `texsynth vae train` (or its folder)")
    grid.add_argument("-n", type=positive(int), default=15, help="images per side (default: 15)")
    grid.add_argument("--dims", type=non_negative(int), nargs=2, default=(0, 1), metavar=("X", "Y"),
                      help="the latent dimensions along x and y (default: 0 1)")
    grid.add_argument("--output", "-o", default=None, metavar="FILE",
                      help="image file (default: grid.png beside the model)")
    grid.add_argument("--quiet", "-q", action="store_true", help="print only the written path")

    sample = commands.add_parser("sample", help="decode random draws from the prior",
                                 description="Decode latent vectors drawn from the standard normal prior.")
    sample.add_argument("model", metavar="MODEL", help="a .keras file from `texsynth vae train` (or its folder)")
    sample.add_argument("-n", type=positive(int), default=64, help="number of images (default: 64)")
    sample.add_argument("--random-seed", type=non_negative(int), default=0, help="seed of the draws (default: 0)")
    sample.add_argument("--output", "-o", default=None, metavar="FILE",
                        help="image file (default: samples.png beside the model)")
    sample.add_argument("--quiet", "-q", action="store_true", help="print only the written path")

    reconstruct = commands.add_parser("reconstruct", help="show images beside their reconstructions",
                                      description="Encode images (to the mean of z) and decode them again; "
                                                  "each original is drawn beside its reconstruction.")
    reconstruct.add_argument("model", metavar="MODEL", help="a .keras file from `texsynth vae train` (or its folder)")
    reconstruct.add_argument("images", nargs="+", metavar="IMAGES",
                             help="image files or folders, or 'digits' for the bundled digits")
    reconstruct.add_argument("-n", type=positive(int), default=16,
                             help="how many bundled digits with 'digits' (default: 16)")
    reconstruct.add_argument("--output", "-o", default=None, metavar="FILE",
                             help="image file (default: reconstructions.png beside the model)")
    reconstruct.add_argument("--quiet", "-q", action="store_true", help="print only the written path")
    return parser


def _config(parser: argparse.ArgumentParser, args: argparse.Namespace) -> VAEConfig:
    """The training run the flags describe; what the flag parsers cannot check (``--data``) fails here."""
    try:
        return VAEConfig(data=args.data, size=args.size, channels=args.channels, latent_dim=args.latent_dim,
                         epochs=args.epochs, batch_size=args.batch_size, kl_weight=args.kl_weight,
                         kl_warmup=args.kl_warmup, learning_rate=args.learning_rate,
                         validation_split=args.validation_split, max_samples=args.max_samples,
                         num_patches=args.num_patches, seed=args.random_seed, output=args.output)
    except TexsynthError as error:
        parser.error(str(error))


def _train(config: VAEConfig, quiet: bool) -> int:
    from texsynth.runtime import start_tensorflow

    start_tensorflow()
    import keras

    from texsynth.vae.training import train_vae

    # Weight initialisation and batch order draw on the global random state (Python, NumPy,
    # TensorFlow); seeding it is a process-wide change, so it happens here rather than in the library.
    keras.utils.set_random_seed(config.seed)
    paths = train_vae(config, quiet=quiet)
    for path in paths.values():
        print(path)
    return 0


def _default_output(model: str, name: str) -> Path:
    path = Path(model)
    folder = path if path.is_dir() else path.parent
    return folder / name


def _draw(args: argparse.Namespace) -> int:
    output = Path(args.output) if args.output else _default_output(args.model, DEFAULT_PICTURES[args.command])
    check_output_file(output)  # before loading anything, so a bad path fails at once

    from texsynth.runtime import start_tensorflow

    start_tensorflow()
    from texsynth.vae.data import prepare_images
    from texsynth.vae.fileformat import load_model
    from texsynth.vae.pictures import latent_grid, reconstruct_images, sample_images, to_picture

    model = load_model(args.model)
    if args.command == "grid":
        picture = latent_grid(model, args.n, tuple(args.dims))
    elif args.command == "sample":
        picture = sample_images(model, args.n, seed=args.random_seed)
    else:
        originals = prepare_images(args.images, model.size, model.channels, args.n)
        picture = reconstruct_images(model, originals)
    save_image(to_picture(picture), output)
    print(output)
    return 0


def main(argv: Sequence[str], prog: str = "texsynth vae") -> int:
    """Run ``texsynth vae`` with the arguments after the word ``vae``; returns the exit status.

    Parameters
    ----------
    argv : sequence of str
        The arguments, starting with the sub-command.
    prog : str
        The program name in usage and error lines.

    Returns
    -------
    int
        0 on success; bad flags exit 2 through ``SystemExit``, and user errors raise
        :class:`~texsynth.errors.TexsynthError` for the dispatcher to print.
    """
    parser = build_parser(prog)
    args = parser.parse_args(list(argv))
    if args.command == "train":
        return _train(_config(parser, args), args.quiet)
    if args.command == "grid" and args.dims[0] == args.dims[1]:
        parser.error(f"--dims needs two different latent dimensions, got {args.dims[0]} {args.dims[1]}")
    return _draw(args)


if __name__ == "__main__":  # pragma: no cover - `texsynth vae` is the usual way in
    sys.exit(main(sys.argv[1:]))
