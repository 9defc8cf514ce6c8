"""texsynth.sums."""

import tensorflow as tf

from texsynth.sums import fixed_order_sum


def test_fixed_order_sum_known_answers():
    assert float(fixed_order_sum([])) == 0.0
    total = fixed_order_sum([tf.constant(1.5), tf.constant(2.0, tf.bfloat16), tf.constant(3.0)])
    assert total.dtype == tf.float32 and float(total) == 6.5
    values = [tf.constant(v) for v in (2.0 ** 24, 1.0, 1.0, -(2.0 ** 24), 0.25)]
    # Compiled (where grappler may rewrite a chain of additions) it adds as it does eagerly.
    assert float(tf.function(fixed_order_sum)(values)) == float(fixed_order_sum(values))
