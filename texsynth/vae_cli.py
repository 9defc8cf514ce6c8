"""``texsynth vae train|grid|sample|reconstruct``: train a small convolutional VAE and draw with it.

Flags are checked here (bad values exit 2 through ``parser.error``); TensorFlow is imported
only after parsing, so ``--help`` and flag mistakes answer at once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from texsynth.cli import ArgumentParser, non_negative, positive

DEFAULT_OUTPUT = "outputs/vae"
KL_WARMUP = 10


def _image_size(text: str) -> int:
    value = int(text)
    # One stride-2 convolution halves the image and one transposed convolution doubles it
    # back, which only round-trips for even sizes.
    if value < 4 or value % 2:
        raise argparse.ArgumentTypeError(f"must be an even number >= 4, got {value}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (exclusive), got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``texsynth vae`` argument parser with its four sub-commands."""
    parser = ArgumentParser(prog="texsynth vae", description="Train a small convolutional VAE and draw with it.")
    commands = parser.add_subparsers(dest="command", metavar="{train,grid,sample,reconstruct}")
    commands.required = True

    train = commands.add_parser("train", help="train a VAE on digits, a folder of images, or patches of a texture",
                                description="Train a VAE; writes vae.keras, loss.png and history.json to --output.")
    train.add_argument("--data", default="digits", metavar="DIR|digits|patches:IMAGE",
                       help="a folder of images, 'digits' (1,797 digits bundled with scikit-learn), or "
                            "'patches:IMAGE' for random patches of one texture (default: digits)")
    train.add_argument("--size", type=_image_size, default=28, help="image side in pixels, even (default: 28)")
    train.add_argument("--channels", type=int, choices=(1, 3), default=1,
                       help="1 for greyscale, 3 for colour (default: 1)")
    train.add_argument("--latent-dim", type=positive(int), default=2, help="latent dimensions (default: 2)")
    train.add_argument("--epochs", type=positive(int), default=30, help="passes over the data (default: 30)")
    train.add_argument("--batch-size", type=positive(int), default=16, help="images per step (default: 16)")
    train.add_argument("--kl-weight", type=non_negative(float), default=1.0,
                       help="weight of the KL term in the loss (default: 1)")
    train.add_argument("--kl-warmup", type=non_negative(int), default=KL_WARMUP, metavar="EPOCHS",
                       help="ramp the KL weight up from 0 over this many epochs, so that latent dimensions do "
                            f"not collapse unused early on; 0 turns it off (default: {KL_WARMUP})")
    train.add_argument("--learning-rate", type=positive(float), default=1e-3, help="Adam learning rate (default: 0.001)")
    train.add_argument("--validation-split", type=_fraction, default=0.1,
                       help="fraction of images held out for the validation loss (default: 0.1)")
    train.add_argument("--max-samples", type=positive(int), default=None, metavar="N",
                       help="train on a random subset of N images (default: all)")
    train.add_argument("--num-patches", type=positive(int), default=2000,
                       help="patches drawn for --data patches:IMAGE (default: 2000)")
    train.add_argument("--random-seed", type=non_negative(int), default=0,
                       help="seed for data, weights and noise (default: 0)")
    train.add_argument("--output", "-o", default=DEFAULT_OUTPUT, metavar="DIR",
                       help=f"folder for vae.keras, loss.png and history.json (default: {DEFAULT_OUTPUT})")
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
    reconstruct.add_argument("-n", type=positive(int), default=16, help="how many bundled digits with 'digits' (default: 16)")
    reconstruct.add_argument("--output", "-o", default=None, metavar="FILE",
                             help="image file (default: reconstructions.png beside the model)")
    reconstruct.add_argument("--quiet", "-q", action="store_true", help="print only the written path")
    return parser


def _check_data(parser: argparse.ArgumentParser, data: str) -> None:
    if data.startswith("patches:") and not data[len("patches:"):]:
        parser.error("--data patches: needs an image after the colon, e.g. patches:brick.jpg")
    if not data:
        parser.error("--data must not be empty")


def _default_output(model: str, name: str) -> Path:
    path = Path(model)
    folder = path if path.is_dir() else path.parent
    return folder / name


def _train(args: argparse.Namespace) -> int:
    from texsynth import vae

    config = vae.VAEConfig(data=args.data, size=args.size, channels=args.channels, latent_dim=args.latent_dim,
                           epochs=args.epochs, batch_size=args.batch_size, kl_weight=args.kl_weight,
                           kl_warmup=args.kl_warmup,
                           learning_rate=args.learning_rate, validation_split=args.validation_split,
                           max_samples=args.max_samples, num_patches=args.num_patches, seed=args.random_seed,
                           output=args.output)
    paths = vae.train_vae(config, quiet=args.quiet)
    for path in paths.values():
        print(path)
    return 0


def _draw(args: argparse.Namespace) -> int:
    from texsynth import vae
    from texsynth.io import check_output_file, save_image

    default_name = {"grid": "grid.png", "sample": "samples.png", "reconstruct": "reconstructions.png"}[args.command]
    output = Path(args.output) if args.output else _default_output(args.model, default_name)
    check_output_file(output)  # before loading anything, so a bad path fails at once
    model = vae.load_model(args.model)
    if args.command == "grid":
        picture = vae.latent_grid(model, args.n, tuple(args.dims))
    elif args.command == "sample":
        picture = vae.sample_images(model, args.n, seed=args.random_seed)
    else:
        originals = vae.prepare_images(args.images, model.size, model.channels, args.n)
        picture = vae.reconstruct_images(model, originals)
    save_image(vae.to_picture(picture), output)
    print(output)
    return 0


def main(argv: Sequence[str]) -> int:
    """Run ``texsynth vae`` with the arguments after the word ``vae``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(list(argv))
    if args.command == "train":
        _check_data(parser, args.data)
        return _train(args)
    if args.command == "grid" and args.dims[0] == args.dims[1]:
        parser.error(f"--dims needs two different latent dimensions, got {args.dims[0]} {args.dims[1]}")
    return _draw(args)


if __name__ == "__main__":  # pragma: no cover - `texsynth vae` is the usual way in
    sys.exit(main(sys.argv[1:]))
