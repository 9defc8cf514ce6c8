"""Sums of loss terms that add in the same order in every process (the objective's terms and the
inter-frame term's frame gaps), so that the same seed gives the same pixels."""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf

__all__ = ["fixed_order_sum"]


def fixed_order_sum(values: Sequence[tf.Tensor]) -> tf.Tensor:
    """The sum of scalar tensors, always added in the same order.

    A chain of ``+`` lets grappler's arithmetic optimiser regroup the additions into one ``AddN``
    whose order differed between processes: the same seed's loss then differed in its last bit from
    run to run, a line search decided differently a few hundred iterations in, and two quick starts
    ended with different images. A sum over a stacked vector keeps its order. The commands also turn
    that rewrite off process-wide (:data:`texsynth.runtime.startup.REPRODUCIBLE_GRAPHS`); this keeps
    the library's own sums fixed where a caller has not.

    Parameters
    ----------
    values : sequence of Tensor, scalars

    Returns
    -------
    Tensor, scalar float32 (0 for no values)
    """
    if not values:
        return tf.constant(0.0)
    return tf.reduce_sum(tf.stack([tf.cast(v, tf.float32) for v in values]))
