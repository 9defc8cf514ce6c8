"""The ancestor's design, rebuilt on TensorFlow 2 + Keras 3 as the yardstick for texsynth's speed.

The ancestor (Snelgrove's ``synthesize.py`` / ``gram.py``, 2017) chained Keras models: a Gaussian
pyramid of separable strided convolutions, a Sequential VGG (ReLU convolutions, average pooling) run
on every level, a Gram at each selected layer normalised by pixels and channels, the plain sum of
squared Gram differences, one ``K.function`` returning loss and gradient, and scipy's L-BFGS-B on
float64 pixels with no bounds. This module keeps that structure; only the Keras 1/2 graph calls are
replaced by their Keras 3 equivalents (``tf.function`` + ``GradientTape`` for ``K.function`` +
``K.gradients``). The VGG is cut after the deepest selected layer, which is what graph pruning did
for the ancestor.

It is a benchmark reference, not part of texsynth: ``bench_iteration.py`` times it beside texsynth
in the same run so the comparison holds on a noisy machine.
"""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf
from scipy.optimize import minimize

from texsynth.nn.layers import layer_names
from texsynth.nn.weights import VGGWeights


def vgg_model(weights: VGGWeights, depth: int) -> keras.Sequential:
    """The ancestor's VGG: Conv2D(relu, valid) and AveragePooling2D layers up to index ``depth``."""
    layers, conv = [], 0
    for name in layer_names(weights.arch)[: depth + 1]:
        if name.startswith("conv"):
            layers.append(keras.layers.Conv2D(weights.kernels[conv].shape[-1], 3, padding="valid",
                                              activation="relu", name=name))
            conv += 1
        else:
            layers.append(keras.layers.AveragePooling2D(2, name=name))
    model = keras.Sequential([keras.Input((None, None, 3))] + layers)
    conv = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            layer.set_weights([weights.kernels[conv], weights.biases[conv]])
            conv += 1
    return model


def reduce(x: tf.Tensor, a: float = 0.4) -> tf.Tensor:
    """The ancestor's pyramid step: a 5-tap column pass with stride (2, 1), then a row pass with (1, 2)."""
    k = np.zeros((5, 1, 3, 3), np.float32)
    for c in range(3):
        k[:, 0, c, c] = [0.25 - a / 2, 0.25, a, 0.25, 0.25 - a / 2]
    x = tf.nn.conv2d(x, k, strides=(1, 2, 1, 1), padding="VALID")
    return tf.nn.conv2d(x, k.transpose(1, 0, 2, 3), strides=(1, 1, 2, 1), padding="VALID")


def gram(x: tf.Tensor) -> tf.Tensor:
    """Gram of (N, H, W, C) features divided by pixels and channels, as ``gram_node`` did."""
    shape = tf.shape(x)
    features = tf.reshape(x, (shape[0], shape[1] * shape[2], shape[3]))
    g = tf.matmul(features, features, transpose_a=True)
    return g / tf.cast(shape[1] * shape[2], tf.float32) / tf.cast(shape[3], tf.float32)


class AncestorSynthesis:
    """The ancestor's loss and optimiser for one source image (pre-processed, (1, H, W, 3))."""

    def __init__(self, weights: VGGWeights, source: np.ndarray, octaves: int, layers: list[int]) -> None:
        self.layers = sorted(layers)
        model = vgg_model(weights, max(self.layers))
        self.outputs = keras.Model(model.inputs, [model.layers[i].output for i in self.layers])
        self.octaves = octaves
        self.targets = [g.numpy() for g in self.grams(tf.constant(source, tf.float32))]

    def grams(self, x: tf.Tensor) -> list[tf.Tensor]:
        levels = [x]
        for _ in range(self.octaves - 1):
            levels.append(reduce(levels[-1]))
        return [gram(f) for level in levels for f in self.outputs(level)]

    @tf.function(reduce_retracing=True)
    def loss_and_grad(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.add_n([tf.reduce_sum(tf.square(t - g[0])) for g, t in zip(self.grams(x), self.targets)])
        return loss, tape.gradient(loss, x)

    def run(self, x0: np.ndarray, max_iter: int) -> list[float]:
        """Optimise from ``x0`` as the ancestor did; returns the seconds of each iteration."""
        shape = x0.shape

        def fun(flat: np.ndarray) -> tuple[np.float64, np.ndarray]:
            loss, grad = self.loss_and_grad(tf.constant(flat.reshape(shape), tf.float32))
            return loss.numpy().astype("float64"), np.ravel(grad.numpy().astype("float64"))

        seconds, last = [], [time.perf_counter()]

        def callback(_x: np.ndarray) -> None:
            now = time.perf_counter()
            seconds.append(now - last[0])
            last[0] = now

        minimize(fun, np.ravel(x0), jac=True, method="l-bfgs-b", callback=callback, tol=1e-30,
                 options={"maxiter": max_iter})
        return seconds
