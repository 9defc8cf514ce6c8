"""Forward convolutions two ways: TensorFlow's forward kernel and its input-gradient kernel.

``texsynth.nn.vgg.conv2d_by_transpose`` computes a forward convolution with the input-gradient
kernel of the flipped convolution; texsynth uses it where oneDNN runs on an x86-64 CPU without
AVX-512 (``texsynth.runtime.startup.conv_by_transpose``). This prints, for VGG's 3x3 layer shapes
and for VGG16 to conv3_2 with its input gradient on a wrapped canvas, the seconds of each form, so
that the choice can be checked on another CPU::

    python benchmarks/bench_conv.py [--sizes 256 512] [--repeats 4]

Each figure is the fastest of ``--repeats`` calls after one untimed call, in one process.
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

from machine import cpu_description

from texsynth.runtime import start_tensorflow

start_tensorflow()

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from texsynth.nn.vgg import VGGFeatures, conv2d_banded, conv2d_by_transpose  # noqa: E402
from texsynth.nn.weights import load_weights  # noqa: E402
from texsynth.runtime.startup import CONV_BAND_BYTES, conv_by_transpose  # noqa: E402

# (input side, channels in, channels out) of VGG's convolutions at a 512x512 canvas, wrapped.
LAYERS = [(518, 64, 64), (262, 64, 128), (262, 128, 128), (134, 128, 256), (134, 256, 256)]


def fastest(call: Callable[[], object], repeats: int) -> float:
    """Seconds of the fastest of ``repeats`` calls, after one untimed call."""
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def layer_lines(repeats: int) -> list[str]:
    rng = np.random.default_rng(0)
    lines = []
    for side, c_in, c_out in LAYERS:
        x = tf.constant(rng.normal(size=(1, side, side, c_in)).astype(np.float32))
        kernel = tf.constant(rng.normal(size=(3, 3, c_in, c_out)).astype(np.float32) * 0.05)
        forward = tf.function(lambda x: conv2d_banded(x, kernel, "VALID", CONV_BAND_BYTES))
        transposed = tf.function(lambda x: conv2d_by_transpose(x, kernel, "VALID"))
        a = fastest(lambda: forward(x).numpy(), repeats)
        b = fastest(lambda: transposed(x).numpy(), repeats)
        lines.append(f"conv {side}x{side}, {c_in} -> {c_out}: forward kernel {a * 1e3:.0f} ms, "
                     f"input-gradient kernel {b * 1e3:.0f} ms ({a / b:.2f}x)")
    return lines


def network_seconds(size: int, by_transpose: bool, repeats: int) -> float:
    features = VGGFeatures(load_weights(None, "model_data"), 7, "wrap", tf.float32, by_transpose=by_transpose)
    x = tf.constant(np.random.default_rng(0).normal(0, 30, (1, size, size, 3)).astype(np.float32))

    @tf.function
    def gradient(x: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = sum(tf.reduce_sum(tf.square(m)) for m in features(x, [2, 7]))
        return tape.gradient(loss, x)

    return fastest(lambda: gradient(x).numpy(), repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--repeats", type=int, default=4)
    args = parser.parse_args()
    print(f"convolution forms; CPU {cpu_description()}; texsynth's choice here: "
          f"{'input-gradient kernel' if conv_by_transpose() else 'forward kernel'}", flush=True)
    for line in layer_lines(args.repeats):
        print(line, flush=True)
    for size in args.sizes:
        a = network_seconds(size, False, args.repeats)
        b = network_seconds(size, True, args.repeats)
        print(f"VGG16 to conv3_2 with its input gradient, wrapped {size}x{size}: forward kernel {a:.3f} s, "
              f"input-gradient kernel {b:.3f} s ({a / b:.2f}x)", flush=True)


if __name__ == "__main__":
    main()
