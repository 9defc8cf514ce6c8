"""The sliced Wasserstein statistic (Heitz et al., CVPR 2021): the whole distribution of a layer's
feature vectors, compared along random directions.

Each feature vector is projected on K random unit directions; along each direction the output's
sorted projections are compared with the source's, which is the 1-D optimal transport (Wasserstein-2)
distance between the two distributions of projections. Averaged over directions it is the sliced
Wasserstein distance, which is zero only when the distributions agree along every direction drawn:
the mean, the covariance (all a Gram matrix holds) and every higher moment.

Source and output have different pixel counts, so the source's sorted projections (its quantile
function) are resampled to the output's count by linear interpolation between quantiles.

Several sources: ``average`` matches the sources' pooled distribution (a mixture, each source
weighted equally); ``affine_invariant`` (the interpolation between exactly two textures) matches
the average of their quantile functions along each direction, the 1-D Wasserstein barycentre, a
cheap and exact analogue of the SPD geodesic midpoint of two Grams. ``max`` and ``log_euclidean``
have no meaning for distributions and are refused.

The directions are drawn from a seed; :meth:`SlicedWasserstein.redraw` draws new ones and
re-sorts the source's projections, so a term's variable state changes between optimiser runs,
never inside one (L-BFGS builds its curvature pairs on one objective).
"""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import tensorflow as tf

from texsynth.choices import SW_JOIN_MODES
from texsynth.errors import TexsynthError

__all__ = ["MAX_SAMPLES", "MIN_DIRECTIONS", "SlicedWasserstein", "SWState", "SWTarget", "assign_by_rank",
           "matched_targets", "resample_sorted", "sliced_wasserstein", "sort_last", "sorting_order"]

# A source's feature vectors kept to describe its distribution: a random subset beyond this many
# (quantile functions of 32k samples are exact to a fraction of a percent; the whole of a 1024x1024
# source's first layer would hold 1M vectors of 64 channels).
MAX_SAMPLES = 2**15
# Fewest directions per term: the colour taps have only 3 channels, and 3 directions see little
# of a 3-D distribution. 8 would save about a tenth of an evaluation at full size (the colour taps
# are half of the values ranked there) and scored the same on the quality textures, but it ended
# worse on all three examples (bench_time_to_quality.py at 256x256, seed 1: gravel 1.144 against
# 1.133, brick 0.964 against 0.903, the ancestor's objective on leaves 1.12 against 0.61) and
# reached the ancestor's score later on brick and leaves (3.5x and 4.6x sooner against 3.9x, 5.3x).
MIN_DIRECTIONS = 16
JOINS = SW_JOIN_MODES
# Values from which ranking is split between two threads.
PARALLEL_SIZE = 2**18
# Row length from which rows may be ranked by radix sort (see _sorting_positions); below it one sort
# of packed keys over all rows costs less than a Python loop over the rows.
RADIX_FROM = 2048
# Held while the radix-or-keys choice is timed: the first ranking runs in two threads at once.
_CHOICE_LOCK = threading.Lock()


def sort_last(values: tf.Tensor, on_host: bool) -> tf.Tensor:
    """Sort along the last axis, differentiably (a gather by the sorting permutation).

    TensorFlow's CPU sort goes through its top-k kernel, several times slower than numpy (150 ms
    for 16 x 65536 values on one of this project's machines): on a CPU the permutation comes from
    numpy (:func:`sorting_order`). On a GPU TensorFlow's own sort runs on the device.
    """
    if not on_host:
        return tf.sort(values, axis=-1)
    order = tf.numpy_function(sorting_order, [values], tf.int32, stateful=False)
    order = tf.ensure_shape(order, values.shape)
    return tf.gather(values, order, axis=-1, batch_dims=len(values.shape) - 1)


def sorting_order(values: np.ndarray) -> np.ndarray:
    """The permutation that sorts float32 ``values`` along the last axis (ties by position).

    Parameters
    ----------
    values : ndarray, shape (..., n)

    Returns
    -------
    ndarray, shape (..., n), int32
    """
    n = values.shape[-1]
    return _sorting_positions(np.reshape(values, (-1, n))).astype(np.int32).reshape(values.shape)


def _ordered_bits(values: np.ndarray) -> np.ndarray:
    """float32 ``values`` as int32s of the same order (negative floats' magnitude bits flipped)."""
    bits = np.ascontiguousarray(values, np.float32).view(np.int32)
    return np.bitwise_xor(bits, (bits >> 31) & 0x7FFFFFFF)


def _sorting_positions(rows: np.ndarray) -> np.ndarray:
    """The stable sorting permutation of each row of 2-D float32 ``rows`` (ties keep their order),
    int64, the shape of ``rows``: by :func:`_radix_positions` for long rows where it is the faster
    here, else by :func:`_key_positions`. Both give the same permutation."""
    if rows.shape[-1] >= RADIX_FROM and _radix_pays():
        return _radix_positions(rows)
    return _key_positions(rows)


def _key_positions(rows: np.ndarray) -> np.ndarray:
    """:func:`_sorting_positions` by one sort of int64 keys: a value's order-preserving bits in the
    high half, its position in the low half. numpy's vectorised integer sort of these took 46 ms
    for 16 x 65536 values where ``np.argsort`` took 65 ms (a Xeon, whose numpy sorts use AVX-512)."""
    keys = _ordered_bits(rows).astype(np.int64)
    keys <<= 32
    keys |= np.arange(rows.shape[-1], dtype=np.int64)
    keys.sort(axis=-1)
    keys &= 0xFFFFFFFF  # in place: a new array of positions cost a tenth of the ranking
    return keys


def _radix_pays() -> bool:
    """Whether :func:`_radix_positions` beats :func:`_key_positions` on this CPU, timed once per
    process on 2 x 65536 values (about 30 ms). It depends on numpy's sorts there: on a 2-core AMD
    EPYC (Zen 4), whose comparison sorts run at 27-45 ns per value, radix ranking of 16 x 262144
    values took 74 ms against 214 ms; where numpy sorts with AVX-512 the keys win (one of family 26,
    Zen 5: 16 x 262144 values 28 ms by keys against 45 ms by radix, one thread). The choice changes
    the time only, never the permutation."""
    with _CHOICE_LOCK:  # one timing, not two racing threads' contended ones
        return _time_radix_against_keys()


@functools.cache
def _time_radix_against_keys() -> bool:
    """The timing behind :func:`_radix_pays` (cached; call it through that, which holds the lock)."""
    rows = np.random.default_rng(0).normal(size=(2, 2**16)).astype(np.float32)

    def seconds(method: Callable[[np.ndarray], np.ndarray]) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            method(rows)
            times.append(time.perf_counter() - start)
        return min(times)

    return seconds(_radix_positions) < seconds(_key_positions)


def _radix_positions(rows: np.ndarray) -> np.ndarray:
    """:func:`_sorting_positions` by an LSD radix sort: two stable passes of numpy's 16-bit radix
    sort (``argsort(kind="stable")`` of uint16) over the low and then the high half of each value's
    order-preserving 32-bit key, row by row."""
    unsigned = _ordered_bits(rows).view(np.uint32) ^ np.uint32(0x80000000)
    low, high = unsigned.astype(np.uint16), (unsigned >> 16).astype(np.uint16)
    positions = np.empty(rows.shape, np.int64)
    for r in range(rows.shape[0]):
        by_low = np.argsort(low[r], kind="stable")
        positions[r] = by_low[np.argsort(high[r][by_low], kind="stable")]
    return positions


def assign_by_rank(values: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Give each value the target of its rank: the k-th smallest of ``values`` along the last axis
    gets ``targets[..., k]``.

    Parameters
    ----------
    values : ndarray, shape (..., n)
    targets : ndarray, shape broadcastable to ``values``
        Sorted along the last axis.

    Returns
    -------
    ndarray, the shape of ``values``, float32
    """
    n = values.shape[-1]
    rows = values.reshape(-1, n)
    targets = np.broadcast_to(targets, values.shape).reshape(rows.shape)
    matched = np.empty(rows.shape, np.float32)
    # numpy sorts on one core, and the graph waits for it: big arrays are ranked in two halves of
    # their rows at once (on 2 cores 30-40% faster).
    if values.size < PARALLEL_SIZE or rows.shape[0] < 2:
        _assign_rows(rows, targets, matched)
        return matched.reshape(values.shape)
    split = rows.shape[0] // 2
    helper = threading.Thread(target=_assign_rows, args=(rows[:split], targets[:split], matched[:split]))
    helper.start()
    _assign_rows(rows[split:], targets[split:], matched[split:])
    helper.join()
    return matched.reshape(values.shape)


def _assign_rows(rows: np.ndarray, targets: np.ndarray, out: np.ndarray) -> None:
    """:func:`assign_by_rank` of 2-D ``rows`` into the C-contiguous ``out``, by a scatter into its flat
    view (a third faster than np.put_along_axis, and 5-35% faster than scattering into a new array
    and copying that into ``out``: 16 x 65536 values 9.0 -> 5.9 ms on one core of an AMD EPYC of
    family 26). Working through the rows in blocks of 2**17 values, which stay in cache, was 10-35%
    faster on its own (AMD EPYC, Zen 4) but no faster inside an evaluation at 512x512 (medians of 16
    interleaved evaluations 1.07 against 1.02 s), so it was dropped."""
    n = rows.shape[-1]
    positions = _sorting_positions(rows)
    positions += np.arange(0, rows.size, n, dtype=np.int64)[:, None]
    if not out.flags.c_contiguous:  # its reshape would be a copy, and the scatter lost
        raise TexsynthError("ranking needs a C-contiguous output")
    out.reshape(-1)[positions.ravel()] = targets.ravel()


def matched_targets(values: tf.Tensor, targets: tf.Tensor, on_host: bool,
                    host_targets: Callable[[np.ndarray], np.ndarray] | None = None) -> tf.Tensor:
    """:func:`assign_by_rank` in a graph, as a constant of differentiation.

    ``Σ (values − matched)²`` is then the squared 1-D Wasserstein distance (a sum does not depend on
    its order), and its gradient ``2 (values − matched)`` is the exact one wherever the ranks do not
    change. Against differentiating a sort, this skips the gather by the sorting permutation and
    the scatter of its gradient: at 512x512 that halved what sliced Wasserstein adds to an
    evaluation of the Gram objective on a CPU.

    Parameters
    ----------
    values : Tensor, shape (..., n)
    targets : Tensor, shape broadcastable to ``values``
        Sorted along the last axis.
    on_host : bool
        Rank with numpy (:func:`assign_by_rank`), else with TensorFlow's sort on its device.
    host_targets : callable, optional
        On the host, turns the array of ``targets`` into the sorted values to assign (a cached
        resampling, say); ``targets`` is then what it reads, not necessarily ``values``'s length.

    Returns
    -------
    Tensor, the shape of ``values``
    """
    if on_host:
        prepare = host_targets or (lambda array: array)
        matched = tf.numpy_function(lambda v, t: assign_by_rank(v, prepare(t)), [values, targets], tf.float32,
                                    stateful=False)
        matched = tf.ensure_shape(matched, values.shape)
    else:
        rank = tf.argsort(tf.argsort(values, axis=-1, stable=True), axis=-1, stable=True)
        matched = tf.gather(tf.broadcast_to(targets, values.shape), rank, axis=-1, batch_dims=len(values.shape) - 1)
    return tf.stop_gradient(matched)


def _resampled(state: SWState, sorted_target: np.ndarray, count: int) -> np.ndarray:
    """``state``'s sorted target (given as an array) resampled to ``count``, made once per count."""
    if count not in state.resampled:
        low, high, t = _interpolation(sorted_target.shape[-1], count)
        state.resampled[count] = sorted_target[..., low] * (1 - t) + sorted_target[..., high] * t
    return state.resampled[count]


def _interpolation(n: int, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where :func:`resample_sorted` reads: the lower and upper source index of each output value
    and the weight of the upper one."""
    position = np.clip((np.arange(count) + 0.5) * n / count - 0.5, 0, n - 1)
    low = np.floor(position).astype(np.int32)
    return low, np.minimum(low + 1, n - 1), (position - low).astype(np.float32)


def resample_sorted(values: tf.Tensor, count: int) -> tf.Tensor:
    """Resample sorted values (a quantile function) to ``count`` values along the last axis.

    The i-th of ``count`` values is the source's quantile at ``(i + 0.5) / count``, interpolated
    linearly between the source's own quantiles at ``(j + 0.5) / n``.

    Parameters
    ----------
    values : Tensor, shape (..., n)
        Sorted along the last axis.
    count : int

    Returns
    -------
    Tensor, shape (..., count)
    """
    n = values.shape[-1]
    if n == count:
        return values
    low, high, t = _interpolation(n, count)
    t = tf.constant(t, values.dtype)
    return tf.gather(values, low, axis=-1) * (1 - t) + tf.gather(values, high, axis=-1) * t


def sliced_wasserstein(a: tf.Tensor, b: tf.Tensor, directions: tf.Tensor) -> tf.Tensor:
    """Squared sliced Wasserstein-2 distance between two sets of vectors along given directions.

    Parameters
    ----------
    a : Tensor, shape (n, C)
    b : Tensor, shape (m, C)
    directions : Tensor, shape (C, K)
        Unit columns.

    Returns
    -------
    Tensor, scalar
        The mean over directions and quantiles of the squared difference of sorted projections
        (``b``'s quantile function resampled to ``n`` values).
    """
    pa = tf.sort(tf.transpose(tf.matmul(a, directions)), axis=-1)
    pb = resample_sorted(tf.sort(tf.transpose(tf.matmul(b, directions)), axis=-1), a.shape[0])
    return tf.reduce_mean(tf.square(pa - pb))


@dataclass(frozen=True)
class SWTarget:
    """The sources' feature vectors of one term and how they join.

    Attributes
    ----------
    samples : tuple of ndarray, shape (n_s, C)
        Each source's feature vectors (a random subset of at most :data:`MAX_SAMPLES`).
    mode : {"average", "affine_invariant"}
    """

    samples: tuple[np.ndarray, ...]
    mode: str


@dataclass(frozen=True)
class SWState:
    """What the loss uses: the directions and the joined sorted projections, as variables that a
    redraw changes in place (so compiled functions see new values without retracing).

    ``resampled`` keeps, for ranking on the host, the sorted projections resampled to each output
    count the loss has met (a redraw empties it), instead of two gathers and a blend the size of
    the projections at every evaluation."""

    target: SWTarget
    directions: tf.Variable
    sorted_target: tf.Variable
    resampled: dict = field(default_factory=dict)


class SlicedWasserstein:
    """The sliced Wasserstein statistic as a :class:`texsynth.stats.base.Statistic`.

    Parameters
    ----------
    directions : int, optional
        Directions per term; default: as many as the term has channels, at least
        :data:`MIN_DIRECTIONS`.
    seed : int
        Seed of the subsets of the sources' positions that describe them.
    sort_on_host : bool, optional
        Sort with numpy (see :func:`sort_last`); default: when TensorFlow sees no GPU.
    """

    name = "sw"
    join_modes = JOINS

    def __init__(self, directions: int | None = None, seed: int = 0, sort_on_host: bool | None = None) -> None:
        self.directions = directions
        self.seed = seed
        self.sort_on_host = not tf.config.list_physical_devices("GPU") if sort_on_host is None else sort_on_host

    def describe(self, features: tf.Tensor) -> tf.Tensor:
        """Each image's feature vectors, (N, H, W, C) -> (N, n, C) float32, with n at most
        :data:`MAX_SAMPLES` (a fixed random subset of the positions)."""
        return self.describe_bands([features])

    def describe_bands(self, bands: Sequence[tf.Tensor]) -> tf.Tensor:
        """:meth:`describe` of the maps whose bands of rows are ``bands``: each band gives the
        vectors of the subset that lie in it."""
        _, _, w, c = bands[0].shape
        flats = [tf.cast(tf.reshape(band, (-1, band.shape[1] * w, c)), tf.float32) for band in bands]
        count = sum(flat.shape[1] for flat in flats)
        if count <= MAX_SAMPLES:
            return flats[0] if len(flats) == 1 else tf.concat(flats, axis=1)
        keep = np.sort(np.random.default_rng(self.seed).choice(count, MAX_SAMPLES, replace=False))
        parts, start = [], 0
        for flat in flats:
            low, high = np.searchsorted(keep, [start, start + flat.shape[1]])
            if high > low:
                parts.append(tf.gather(flat, keep[low:high] - start, axis=1))
            start += flat.shape[1]
        return parts[0] if len(parts) == 1 else tf.concat(parts, axis=1)

    def join(self, per_source: Sequence[np.ndarray], mode: str) -> SWTarget:
        """Keep every source's vectors and the join mode (the join itself depends on the directions)."""
        if mode not in JOINS:
            raise TexsynthError(f"join mode {mode} has no meaning for --loss sw (distributions): use average "
                                "(the sources' pooled distribution) or affine_invariant (the Wasserstein "
                                "barycentre of two sources)")
        if mode == "affine_invariant" and len(per_source) != 2:
            raise TexsynthError(f"join mode affine_invariant takes exactly two source images, got {len(per_source)}")
        return SWTarget(tuple(np.asarray(s, np.float32) for s in per_source), mode)

    def scale(self, target: SWTarget, factor: float) -> SWTarget:
        """Vectors times ``sqrt(factor)``: what multiplying a Gram by ``factor`` does to its features."""
        if factor == 1.0:
            return target
        return SWTarget(tuple(s * np.float32(np.sqrt(factor)) for s in target.samples), target.mode)

    def normaliser(self, target: SWTarget) -> float:
        """``C / mean ‖f‖²``: a random unit direction's mean squared projection is ``‖f‖² / C``."""
        pooled = np.concatenate(target.samples)
        return pooled.shape[1] / max(float(np.mean(np.sum(np.square(pooled), axis=1))), 1e-12)

    def prepare(self, target: SWTarget, seed: int = 0) -> SWState:
        """Variables for the directions and the sorted projections, drawn from ``seed``."""
        channels = target.samples[0].shape[1]
        count = max(s.shape[0] for s in target.samples)
        k = self.directions or max(channels, MIN_DIRECTIONS)
        state = SWState(target, tf.Variable(tf.zeros((channels, k)), trainable=False),
                        tf.Variable(tf.zeros((k, count)), trainable=False))
        self.redraw(state, seed)
        return state

    def redraw(self, state: SWState, seed: int) -> None:
        """New random unit directions, and the joined sources' sorted projections along them."""
        channels, k = state.directions.shape
        directions = np.random.default_rng(seed).normal(size=(channels, k))
        directions /= np.linalg.norm(directions, axis=0, keepdims=True)
        state.directions.assign(directions.astype(np.float32))
        count = state.sorted_target.shape[1]
        sorted_sources = [resample_sorted(sort_last(tf.transpose(tf.matmul(s, state.directions)), self.sort_on_host),
                                          count)
                          for s in state.target.samples]
        if state.target.mode == "affine_invariant":
            joined = (sorted_sources[0] + sorted_sources[1]) / 2
        elif len(sorted_sources) == 1:  # already its own pooled quantile function: no second sort
            joined = sorted_sources[0]
        else:
            joined = resample_sorted(sort_last(tf.concat(sorted_sources, axis=-1), self.sort_on_host), count)
        state.sorted_target.assign(joined)
        state.resampled.clear()

    def loss(self, features: tf.Tensor, state: SWState) -> tf.Tensor:
        """``Σ_frames mean_(directions, quantiles) (sorted projection − target quantile)²``."""
        _, h, w, c = features.shape
        flat = tf.cast(tf.reshape(features, (-1, h * w, c)), tf.float32)
        # (K, C) x (C, n) for each frame: transposing the C-channel input, not the K-direction output,
        # which is larger for the colour taps (3 channels, 16 directions).
        projected = tf.matmul(state.directions, flat, transpose_a=True, transpose_b=True)
        if self.sort_on_host:  # resampled once per output size on the host (kept until a redraw)
            target = matched_targets(projected, state.sorted_target, True,
                                     lambda sorted_target: _resampled(state, sorted_target, h * w))
        else:
            target = matched_targets(projected, resample_sorted(state.sorted_target, h * w), on_host=False)
        return tf.reduce_sum(tf.reduce_mean(tf.square(projected - target), axis=(1, 2)))
