"""Tests of texsynth.vae.chart: the loss chart."""

from __future__ import annotations

import numpy as np

from texsynth.vae.chart import plot_losses


def test_loss_plot_draws_both_curves():
    history = [{"loss": 10.0 - i, "val_loss": 11.0 - 0.5 * i} for i in range(5)]
    plot = plot_losses(history)
    assert plot.shape == (400, 640, 3) and plot.dtype == np.uint8
    colours = {tuple(c) for c in plot.reshape(-1, 3)}
    assert (31, 119, 180) in colours and (255, 127, 14) in colours
    assert plot_losses(history[:1]).shape == (400, 640, 3)  # one epoch still draws
