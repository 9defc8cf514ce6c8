"""The loss chart ``texsynth vae train`` writes: training and validation loss per epoch."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["plot_losses"]


def plot_losses(history: Sequence[dict[str, float]], width: int = 640, height: int = 400) -> np.ndarray:
    """Draw training and validation loss per epoch, with labelled axes and a legend.

    The loss axis is logarithmic when the losses span more than a factor of two.

    Parameters
    ----------
    history : sequence of dict
        One row per epoch with ``loss`` and ``val_loss``; at least one row.
    width, height : int
        Size of the chart in pixels.

    Returns
    -------
    ndarray, shape (height, width, 3), uint8
    """
    train = [row["loss"] for row in history]
    validation = [row["val_loss"] for row in history]
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    left, right, top, bottom = 78, width - 20, 36, height - 52
    # The first epochs are often many times the later ones (more so with a KL warm-up),
    # which would flatten the rest of a linear plot; a log axis keeps every epoch readable.
    log_scale = min(train + validation) > 0 and max(train + validation) > 2 * min(train + validation)
    forward = math.log10 if log_scale else (lambda value: value)
    inverse = (lambda value: 10.0 ** value) if log_scale else (lambda value: value)
    lowest, highest = forward(min(train + validation)), forward(max(train + validation))
    spread = (highest - lowest) or max(abs(highest), 1.0)
    lowest, highest = lowest - 0.05 * spread, highest + 0.05 * spread
    epochs = len(history)

    inset = 8  # keeps the first and last points off the frame

    def x_of(epoch: float) -> float:
        if epochs == 1:
            return (left + right) / 2
        return left + inset + (epoch - 1) / (epochs - 1) * (right - left - 2 * inset)

    def y_of(value: float) -> float:
        return bottom - (forward(value) - lowest) / (highest - lowest) * (bottom - top)

    draw.text((left, 12), "VAE loss per epoch", fill="black", font=font)
    for i in range(6):
        value = inverse(lowest + i / 5 * (highest - lowest))
        y = y_of(value)
        draw.line([left - 4, y, left, y], fill="black")
        draw.line([left + 1, y, right - 1, y], fill=(230, 230, 230))
        label = f"{value:.4g}"
        draw.text((left - 8 - draw.textlength(label, font=font), y - 6), label, fill="black", font=font)
    step = max(1, math.ceil(epochs / 10))
    ticks = list(range(1, epochs + 1, step))
    if ticks[-1] != epochs and x_of(epochs) - x_of(ticks[-1]) > 24:
        ticks.append(epochs)  # always label the last epoch, unless it would overprint a tick
    for epoch in ticks:
        x = x_of(epoch)
        draw.line([x, bottom, x, bottom + 4], fill="black")
        draw.text((x - draw.textlength(str(epoch), font=font) / 2, bottom + 7), str(epoch), fill="black", font=font)
    centre = (left + right) / 2 - draw.textlength("epoch", font=font) / 2
    draw.text((centre, bottom + 26), "epoch", fill="black", font=font)
    axis_name = "loss (log scale)" if log_scale else "loss"
    label = Image.new("RGB", (int(draw.textlength(axis_name, font=font)) + 8, 14), "white")
    ImageDraw.Draw(label).text((4, 1), axis_name, fill="black", font=font)
    image.paste(label.rotate(90, expand=True), (8, (top + bottom - label.width) // 2))
    draw.rectangle([left, top, right, bottom], outline="black")  # after the grid lines, so they don't cover it
    colours = {"training loss": ((31, 119, 180), train), "validation loss": ((255, 127, 14), validation)}
    for index, (name, (colour, values)) in enumerate(colours.items()):
        points = [(x_of(epoch), y_of(value)) for epoch, value in enumerate(values, start=1)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        for x, y in points:
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
        legend_y = top + 10 + 16 * index
        legend_x = right - 130
        draw.line([legend_x, legend_y + 6, legend_x + 20, legend_y + 6], fill=colour, width=3)
        draw.text((legend_x + 26, legend_y), name, fill="black", font=font)
    return np.asarray(image)
