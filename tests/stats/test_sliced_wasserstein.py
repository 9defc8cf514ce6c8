"""The sliced Wasserstein statistic: known answers, quantile resampling, joins, redraws, gradient."""

import numpy as np
import pytest
import tensorflow as tf

from texsynth.errors import TexsynthError
from texsynth.stats.sliced_wasserstein import (MAX_SAMPLES, MIN_DIRECTIONS, SlicedWasserstein, _assign_rows, _key_positions,
                                                _radix_positions, assign_by_rank, matched_targets, resample_sorted,
                                                sliced_wasserstein, sort_last, sorting_order)


def test_a_distribution_against_itself_is_zero_and_against_a_shift_is_the_shift_squared():
    rng = np.random.default_rng(0)
    a = tf.constant(rng.normal(size=(500, 1)).astype(np.float32))
    one = tf.constant([[1.0]])
    assert float(sliced_wasserstein(a, a, one)) == 0.0
    assert float(sliced_wasserstein(a, a + 3.0, one)) == pytest.approx(9.0, rel=1e-5)
    # In several dimensions a shift s moves the projection on unit v by v.s: the mean of (v.s)^2.
    b = tf.constant(rng.normal(size=(400, 3)).astype(np.float32))
    directions = rng.normal(size=(3, 8))
    directions /= np.linalg.norm(directions, axis=0)
    shift = np.array([1.0, -2.0, 0.5], np.float32)
    expected = np.mean((directions.T @ shift) ** 2)
    value = sliced_wasserstein(b + shift, b, tf.constant(directions, tf.float32))
    assert float(value) == pytest.approx(expected, rel=1e-4)


def test_quantile_resampling_between_pixel_counts():
    values = tf.constant(np.arange(4, dtype=np.float32))  # quantiles at 1/8, 3/8, 5/8, 7/8
    np.testing.assert_allclose(resample_sorted(values, 2).numpy(), [0.5, 2.5])  # at 1/4 and 3/4
    # Eight quantiles at 1/16, 3/16, ...: 1/16 lies below the first source quantile (held there).
    np.testing.assert_allclose(resample_sorted(values, 8).numpy(), [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3], atol=1e-6)
    np.testing.assert_array_equal(resample_sorted(values, 4).numpy(), values.numpy())
    # A large sample of a uniform distribution, resampled to a few points, gives its quantiles.
    many = tf.constant(np.sort(np.random.default_rng(1).uniform(0, 1, 20000)).astype(np.float32))
    np.testing.assert_allclose(resample_sorted(many, 5).numpy(), [0.1, 0.3, 0.5, 0.7, 0.9], atol=0.01)


def _features(seed, n=6, c=4, shift=0.0):
    return tf.constant(np.random.default_rng(seed).normal(shift, 1, (1, n, n, c)).astype(np.float32))


def _state(sources, mode="average", seed=0):
    stat = SlicedWasserstein(seed=seed)
    target = stat.join([stat.describe(s)[0].numpy() for s in sources], mode)
    return stat, stat.prepare(target)


def test_loss_is_zero_on_the_source_and_grows_with_a_shift():
    source = _features(0)
    stat, state = _state([source])
    assert float(stat.loss(source, state)) == pytest.approx(0.0, abs=1e-10)
    # The same vectors shifted by (1, 1, 1, 1): each projection moves by v.s, whose mean square is |s|^2 / C = 1.
    assert float(stat.loss(_features(0, shift=1.0), state)) == pytest.approx(1.0, rel=0.3)
    assert state.directions.shape == (4, MIN_DIRECTIONS)  # 4 channels: the fewest directions a term gets


def test_joins_pool_or_average_quantiles_and_refuse_the_rest():
    low, high = _features(1, shift=-2.0), _features(2, shift=2.0)
    stat, pooled = _state([low, high], "average")
    _, mid = _state([low, high], "affine_invariant")
    # The pooled distribution is bimodal; the barycentre sits in the middle, around 0.
    middle = _features(3)
    assert float(stat.loss(middle, mid)) < float(stat.loss(middle, pooled))
    mixture = tf.concat([low[:, :3], high[:, 3:]], axis=1)
    assert float(stat.loss(mixture, pooled)) < float(stat.loss(mixture, mid))
    for mode in ("max", "log_euclidean"):
        with pytest.raises(TexsynthError, match="no meaning for --loss sw"):
            stat.join([np.zeros((4, 4))] * 2, mode)
    with pytest.raises(TexsynthError, match="exactly two"):
        stat.join([np.zeros((4, 4))] * 3, "affine_invariant")


def test_the_target_is_the_sorted_projections_of_one_source_or_of_the_pooled_sources():
    low, high = _features(1, shift=-2.0), _features(2, shift=2.0)
    for sources in ([low], [low, high]):
        stat, state = _state(sources, "average")
        for seed in (0, 3):  # drawn by prepare, then by a redraw
            stat.redraw(state, seed)
            pooled = np.concatenate([stat.describe(s)[0].numpy() for s in sources])
            projected = np.sort((pooled @ state.directions.numpy()).T, axis=-1)
            count = state.sorted_target.shape[1]  # the largest source's vectors
            np.testing.assert_allclose(state.sorted_target.numpy(), resample_sorted(projected, count), rtol=1e-5,
                                       atol=1e-5)


def test_redraw_changes_the_directions_reproducibly():
    stat, state = _state([_features(4)])
    first = state.directions.numpy().copy()
    stat.redraw(state, 5)
    second = state.directions.numpy().copy()
    assert not np.allclose(first, second)
    np.testing.assert_allclose(np.linalg.norm(second, axis=0), 1.0, rtol=1e-5)
    stat.redraw(state, 0)
    np.testing.assert_array_equal(state.directions.numpy(), first)


def test_a_compiled_loss_follows_redraws_at_every_output_size():
    # The resampled targets are kept per output count; a redraw must renew every one of them.
    source = _features(8, n=5)
    stat, state = _state([source])
    compiled = tf.function(lambda x: stat.loss(x, state))
    small, large = _features(9, n=4), _features(10, n=7)
    before = [float(compiled(small)), float(compiled(large))]
    stat.redraw(state, 11)
    fresh_stat, fresh = _state([source])
    fresh_stat.redraw(fresh, 11)
    after = [float(compiled(small)), float(compiled(large))]
    assert after != before
    np.testing.assert_allclose(after, [float(fresh_stat.loss(small, fresh)), float(fresh_stat.loss(large, fresh))],
                               rtol=1e-6)


def test_gradient_matches_finite_differences():
    stat, state = _state([_features(5)])
    x = _features(6)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = stat.loss(x, state)
    grad = tape.gradient(value, x).numpy()
    v = np.random.default_rng(7).normal(size=x.shape).astype(np.float32)
    v /= np.linalg.norm(v)
    eps = 1e-2
    numeric = (float(stat.loss(x + eps * v, state)) - float(stat.loss(x - eps * v, state))) / (2 * eps)
    assert float(np.sum(grad * v)) == pytest.approx(numeric, rel=0.02, abs=1e-5)


def test_the_gpu_path_gives_the_host_paths_loss_and_gradient():
    # The statistic on a GPU: TensorFlow's sort and rank, the target resampled in the graph. Run here
    # on the CPU against numpy's ranking, for a source of another size than the output.
    source, x = _features(8, n=9), _features(9, n=6)
    results = []
    for on_host in (True, False):
        stat = SlicedWasserstein(seed=3, sort_on_host=on_host)
        state = stat.prepare(stat.join([stat.describe(source)[0].numpy()], "average"))
        loss = tf.function(lambda x: stat.loss(x, state))  # in a graph, as the objective runs it
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = loss(x)
        results.append((float(value), tape.gradient(value, x).numpy(), state.sorted_target.numpy()))
    (host_loss, host_grad, host_target), (device_loss, device_grad, device_target) = results
    np.testing.assert_allclose(device_target, host_target, rtol=1e-6)
    assert device_loss == pytest.approx(host_loss, rel=1e-5) and host_loss > 0.1
    np.testing.assert_allclose(device_grad, host_grad, rtol=1e-4, atol=1e-6)


def test_mul_scales_the_features_like_a_gram():
    stat = SlicedWasserstein()
    target = stat.join([np.ones((3, 2), np.float32)], "average")
    np.testing.assert_allclose(stat.scale(target, 4.0).samples[0], 2.0)
    assert stat.normaliser(target) == pytest.approx(1.0)  # C / mean |f|^2 = 2 / 2


def test_host_and_device_sorts_agree_with_their_gradients():
    x = tf.constant(np.random.default_rng(8).normal(size=(2, 3, 50)).astype(np.float32))
    weights = tf.constant(np.random.default_rng(9).normal(size=(2, 3, 50)).astype(np.float32))
    values, grads = [], []
    for on_host in (True, False):
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = sort_last(x, on_host)
            total = tf.reduce_sum(out * weights)
        values.append(out.numpy())
        grads.append(tape.gradient(total, x).numpy())
    np.testing.assert_array_equal(values[0], np.sort(x.numpy(), axis=-1))
    np.testing.assert_array_equal(values[0], values[1])
    np.testing.assert_allclose(grads[0], grads[1])


def test_sorting_order_sorts_floats_of_every_sign_stably():
    values = np.array([[0.5, -1.0, 0.0, -0.0, 3.0, -1.0, np.float32(1e-30), -2.5e10]], np.float32)
    order = sorting_order(values)
    np.testing.assert_array_equal(np.take_along_axis(values, order, -1), np.sort(values, -1))
    np.testing.assert_array_equal(order[0, :2], [7, 1])  # -2.5e10, then the first -1.0 before the second
    rng_values = np.random.default_rng(3).normal(size=(2, 5, 300)).astype(np.float32)
    np.testing.assert_array_equal(sorting_order(rng_values), np.argsort(rng_values, axis=-1, kind="stable"))


def test_radix_and_key_ranking_give_the_same_stable_permutation():
    rng = np.random.default_rng(8)
    # Ties (values from a few levels), both signs, both zeros, tiny and huge magnitudes.
    levels = np.array([-3e38, -1.5, -1e-30, -0.0, 0.0, 1e-30, 0.25, 2.0, 7e37], np.float32)
    values = np.concatenate([levels[rng.integers(0, len(levels), (3, 3000))],
                             rng.normal(size=(3, 3000)).astype(np.float32)], axis=1)
    radix, keys = _radix_positions(values), _key_positions(values)
    np.testing.assert_array_equal(radix, keys)
    np.testing.assert_array_equal(np.take_along_axis(values, radix, -1), np.sort(values, -1))
    for row, order in zip(values, radix):  # stable: equal values keep their order, -0.0 before 0.0
        key = np.where(row == 0, np.copysign(1e-45, row.astype(np.float64)), row)
        np.testing.assert_array_equal(order, np.argsort(key, kind="stable"))
    # Long rows ranked in two threads (at least PARALLEL_SIZE values): each value gets its rank's target.
    many = rng.normal(size=(4, 2**16)).astype(np.float32)
    targets = np.sort(rng.normal(size=(4, 2**16)).astype(np.float32), axis=-1)
    matched = assign_by_rank(many, targets)
    np.testing.assert_array_equal(np.take_along_axis(matched, np.argsort(many, -1, kind="stable"), -1), targets)


def test_assign_by_rank_gives_each_value_the_target_of_its_rank():
    values = np.random.default_rng(4).normal(size=(2, 3, 41)).astype(np.float32)
    targets = np.sort(np.random.default_rng(5).normal(size=(3, 41)).astype(np.float32), axis=-1)
    matched = assign_by_rank(values, targets)
    rank = np.argsort(np.argsort(values, axis=-1), axis=-1)
    np.testing.assert_array_equal(matched, np.take_along_axis(np.broadcast_to(targets, values.shape), rank, -1))
    # Sorting both sides pairs the k-th smallest value with the k-th target.
    np.testing.assert_array_equal(np.take_along_axis(matched, np.argsort(values, -1), -1),
                                  np.broadcast_to(targets, values.shape))


def test_rows_are_ranked_into_their_output_in_place():
    rng = np.random.default_rng(9)
    rows = rng.normal(size=(3, 50)).astype(np.float32)
    targets = np.sort(rng.normal(size=(3, 50)).astype(np.float32), axis=-1)
    out = np.zeros((4, 50), np.float32)
    _assign_rows(rows, targets, out[1:])  # a contiguous block of rows, as each thread gets
    np.testing.assert_array_equal(out[1:], assign_by_rank(rows, targets))
    assert not out[0].any()
    with pytest.raises(TexsynthError, match="contiguous"):  # a scatter into a copy would be lost
        _assign_rows(rows, targets, np.zeros((50, 3), np.float32).T)


def test_host_and_device_ranks_agree_and_stop_the_gradient():
    values = tf.constant(np.random.default_rng(6).normal(size=(1, 5, 64)).astype(np.float32))
    targets = tf.constant(np.sort(np.random.default_rng(7).normal(size=(5, 64)).astype(np.float32), axis=-1))
    out = []
    for on_host in (True, False):
        with tf.GradientTape() as tape:
            tape.watch(values)
            matched = matched_targets(values, targets, on_host)
            total = tf.reduce_sum(tf.square(values - matched))
        out.append((matched.numpy(), tape.gradient(total, values).numpy()))
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_allclose(out[0][1], 2 * (values.numpy() - out[0][0]), rtol=1e-6)


def test_statistic_by_name_takes_the_direction_count():
    from texsynth.stats import statistic

    target = np.random.default_rng(2).normal(size=(40, 8)).astype(np.float32)
    default = statistic("sw", seed=1).prepare(SlicedWasserstein().join([target], "average"))
    four = statistic("sw", seed=1, directions=4).prepare(SlicedWasserstein().join([target], "average"))
    assert default.directions.shape == (8, max(8, MIN_DIRECTIONS))  # as many as the channels, at least the fewest
    assert four.directions.shape == (8, 4)
    with pytest.raises(TexsynthError):
        statistic("moments")


@pytest.mark.parametrize("height", [8, 190])  # all positions, and a random subset of MAX_SAMPLES
def test_a_map_described_in_bands_is_described_as_a_whole(height):
    features = tf.constant(np.random.default_rng(height).normal(size=(1, height, 180, 2)).astype(np.float32))
    stat = SlicedWasserstein(seed=4)
    whole = stat.describe(features).numpy()
    bands = [features[:, :3], features[:, 3:5], features[:, 5:]]
    np.testing.assert_array_equal(stat.describe_bands(bands).numpy(), whole)
    assert whole.shape == (1, min(height * 180, MAX_SAMPLES), 2)

