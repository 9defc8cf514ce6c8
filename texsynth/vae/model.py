"""The VAE itself: its loss pieces, the sampling layer, encoder and decoder, and the model.

The architecture is the classic one from Chollet's *Deep Learning with Python*: a
convolutional encoder (32, 64 stride 2, 64, 64 filters of 3x3, ReLU, then a 32-unit dense
layer) that outputs the mean and log-variance of a Gaussian over a small latent space, the
reparameterisation trick ``z = mean + exp(log_var / 2) * eps``, and a decoder that mirrors
the encoder (dense, reshape, a stride-2 transposed convolution, a sigmoid output).

The loss is the negative evidence lower bound: the binary cross-entropy between each image
and its reconstruction, summed over pixels, plus ``kl_weight`` times the Kullback-Leibler
divergence of the encoder's Gaussian from the standard normal prior. Both are per image,
averaged over a batch, so their sizes are comparable whatever the batch size.
"""

from __future__ import annotations

from typing import Any, Sequence

import keras
import numpy as np
import tensorflow as tf

from texsynth.vae.config import VAEConfig

__all__ = ["Sampling", "VAE", "build_decoder", "build_encoder", "build_vae", "decode", "encode", "kl_divergence",
           "reconstruction_loss"]


def kl_divergence(z_mean: Any, z_log_var: Any) -> Any:
    """KL divergence of N(z_mean, exp(z_log_var)) from the standard normal, per sample.

    The closed form for a diagonal Gaussian is
    ``0.5 * sum(mean**2 + var - 1 - log(var))`` over the latent dimensions.

    Parameters
    ----------
    z_mean, z_log_var : array-like, shape (batch, latent_dim)
        Mean and natural-log variance of each sample's Gaussian.

    Returns
    -------
    tensor, shape (batch,)
        Non-negative divergences, in nats.
    """
    z_mean = keras.ops.convert_to_tensor(z_mean, dtype="float32")
    z_log_var = keras.ops.convert_to_tensor(z_log_var, dtype="float32")
    terms = keras.ops.square(z_mean) + keras.ops.exp(z_log_var) - 1.0 - z_log_var
    return 0.5 * keras.ops.sum(terms, axis=-1)


def reconstruction_loss(images: Any, reconstructions: Any) -> Any:
    """Binary cross-entropy between images and reconstructions, summed over pixels, per sample.

    Parameters
    ----------
    images, reconstructions : array-like, shape (batch, H, W, C)
        Targets and decoder outputs, both in [0, 1].

    Returns
    -------
    tensor, shape (batch,)
        Nats per image.
    """
    images = keras.ops.convert_to_tensor(images, dtype="float32")
    reconstructions = keras.ops.convert_to_tensor(reconstructions, dtype="float32")
    per_pixel = keras.ops.binary_crossentropy(images, reconstructions)
    return keras.ops.sum(per_pixel, axis=(1, 2, 3))


@keras.saving.register_keras_serializable(package="texsynth")
class Sampling(keras.layers.Layer):
    """The reparameterisation trick: draw ``z = mean + exp(log_var / 2) * eps``, eps ~ N(0, I).

    Writing the draw this way keeps it differentiable in the mean and log-variance.
    Note the half: ``exp(log_var)`` is the variance, its square root the standard deviation.

    Parameters
    ----------
    seed : int or None
        Seed of the layer's own generator, so draws repeat from run to run.
    """

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs: Sequence[Any]) -> Any:
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(keras.ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + keras.ops.exp(0.5 * z_log_var) * epsilon

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "seed": self.seed}


def build_encoder(size: int, channels: int, latent_dim: int) -> keras.Model:
    """The encoder: an image to the mean and log-variance of its Gaussian over the latent space.

    Parameters
    ----------
    size, channels : int
        Image side (even) and channel count.
    latent_dim : int
        Dimensions of the latent space.

    Returns
    -------
    keras.Model
        Input shape (batch, size, size, channels); outputs ``[z_mean, z_log_var]``, each
        shape (batch, latent_dim).
    """
    inputs = keras.Input(shape=(size, size, channels), name="image")
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(32, activation="relu")(x)
    z_mean = keras.layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = keras.layers.Dense(latent_dim, name="z_log_var")(x)
    return keras.Model(inputs, [z_mean, z_log_var], name="encoder")


def build_decoder(size: int, channels: int, latent_dim: int) -> keras.Model:
    """The decoder: a latent vector to an image, mirroring the encoder.

    Parameters
    ----------
    size, channels : int
        Image side (even) and channel count.
    latent_dim : int
        Dimensions of the latent space.

    Returns
    -------
    keras.Model
        Input shape (batch, latent_dim); output shape (batch, size, size, channels), in [0, 1].
    """
    half = size // 2
    inputs = keras.Input(shape=(latent_dim,), name="z")
    x = keras.layers.Dense(half * half * 64, activation="relu")(inputs)
    x = keras.layers.Reshape((half, half, 64))(x)
    x = keras.layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")(x)
    outputs = keras.layers.Conv2D(channels, 3, padding="same", activation="sigmoid", name="image")(x)
    return keras.Model(inputs, outputs, name="decoder")


@keras.saving.register_keras_serializable(package="texsynth")
class VAE(keras.Model):
    """Encoder, sampling layer and decoder, trained on the negative ELBO.

    Calling the model reconstructs images: through a random draw of z when
    ``training=True``, through the mean of z otherwise (so inference is deterministic).

    Parameters
    ----------
    size, channels, latent_dim : int
        Image side, channel count and latent dimensions.
    kl_weight : float
        Weight of the KL term in the loss.
    seed : int or None
        Seed of the sampling layer.

    Notes
    -----
    The reported ``loss`` (training and validation) is always reconstruction plus
    ``kl_weight`` times KL; during a KL warm-up the gradient step uses the smaller weight
    ``kl_scale * kl_weight``, so the curves stay comparable from epoch to epoch.
    """

    def __init__(self, size: int = 28, channels: int = 1, latent_dim: int = 2, kl_weight: float = 1.0,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = size
        self.channels = channels
        self.latent_dim = latent_dim
        self.kl_weight = kl_weight
        self.seed = seed
        self.encoder = build_encoder(size, channels, latent_dim)
        self.decoder = build_decoder(size, channels, latent_dim)
        self.sampling = Sampling(seed=seed, name="sampling")
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")
        # Fraction of kl_weight used in the optimised objective; training's KLWarmup ramps it up.
        self.kl_scale = keras.Variable(1.0, trainable=False, dtype="float32", name="kl_scale")
        # Sub-models are built on construction, so there is nothing left to build from data.
        self.built = True

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        # Listing the trackers here makes Keras reset them at the start of each epoch.
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker]

    def call(self, inputs: Any, training: bool = False) -> Any:
        z_mean, z_log_var = self.encoder(inputs, training=training)
        z = self.sampling([z_mean, z_log_var]) if training else z_mean
        return self.decoder(z, training=training)

    def _loss_terms(self, images: Any) -> tuple[Any, Any, Any]:
        z_mean, z_log_var = self.encoder(images, training=True)
        z = self.sampling([z_mean, z_log_var])
        reconstructions = self.decoder(z, training=True)
        reconstruction = keras.ops.mean(reconstruction_loss(images, reconstructions))
        kl = keras.ops.mean(kl_divergence(z_mean, z_log_var))
        return reconstruction + self.kl_weight * kl, reconstruction, kl

    def _report(self, total: Any, reconstruction: Any, kl: Any) -> dict[str, Any]:
        self.loss_tracker.update_state(total)
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        return {metric.name: metric.result() for metric in self.metrics}

    def train_step(self, data: Any) -> dict[str, Any]:
        images, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            total, reconstruction, kl = self._loss_terms(images)
            objective = reconstruction + self.kl_scale * self.kl_weight * kl
        gradients = tape.gradient(objective, self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
        return self._report(total, reconstruction, kl)

    def test_step(self, data: Any) -> dict[str, Any]:
        # The validation loss is the same sampled ELBO estimate as the training loss, so the
        # two curves are comparable.
        images, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self._report(*self._loss_terms(images))

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "trainable": self.trainable, "size": self.size, "channels": self.channels,
                "latent_dim": self.latent_dim, "kl_weight": self.kl_weight, "seed": self.seed}


def build_vae(config: VAEConfig) -> VAE:
    """Build a compiled, untrained VAE.

    The weights are initialised from Keras's global random state, so the caller seeds that first
    (``keras.utils.set_random_seed(config.seed)``, as ``texsynth vae train`` does) for a
    repeatable model; the sampling layer is seeded with ``config.seed`` here.

    Parameters
    ----------
    config : VAEConfig
        Image size, channels, latent dimensions, KL weight, learning rate and seed.

    Returns
    -------
    VAE
        Compiled with Adam at ``config.learning_rate``.
    """
    model = VAE(size=config.size, channels=config.channels, latent_dim=config.latent_dim,
                kl_weight=config.kl_weight, seed=config.seed, name="vae")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate))
    return model


def encode(model: VAE, images: np.ndarray, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """The encoder's Gaussian for each image.

    Parameters
    ----------
    model : VAE
        A built or trained model.
    images : ndarray, shape (N, size, size, channels)
        Pixels in [0, 1].
    batch_size : int
        Images per forward pass.

    Returns
    -------
    z_mean, z_log_var : ndarray, shape (N, latent_dim)
        Mean and natural-log variance.
    """
    z_mean, z_log_var = model.encoder.predict(images.astype(np.float32), batch_size=batch_size, verbose=0)
    return np.asarray(z_mean), np.asarray(z_log_var)


def decode(model: VAE, latents: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Decode latent vectors to images.

    Parameters
    ----------
    model : VAE
        A built or trained model.
    latents : ndarray, shape (N, latent_dim)
        Points in the latent space.
    batch_size : int
        Vectors per forward pass.

    Returns
    -------
    ndarray, shape (N, size, size, channels)
        Pixels in [0, 1].
    """
    return np.asarray(model.decoder.predict(latents.astype(np.float32), batch_size=batch_size, verbose=0))
