"""Multiscale texture synthesis (Snelgrove 2017): arrays in, arrays out.

Given the source images as arrays, the network and an optimiser, a :class:`Synthesizer` sets up the
canvas (wrapped, or flat with a border), the objective and the starting frames, then runs the
optimiser, finishing in float32 where a bfloat16 run stalls. Reading and writing files, and
process-wide settings such as the memory pool, belong to the command (:mod:`texsynth.commands.synth`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from texsynth.choices import (DISTANCE_TYPES, JOIN_MODES, LOSSES, OPTIMIZERS, PADDINGS, PRECISIONS, SCHEDULES,
                              SEED_KINDS, STAGE_DETAILS)
from texsynth.detail_copy import BLOCK, copied_detail
from texsynth.errors import TexsynthError
from texsynth.interframe import InterframeTerm, interframe_targets
from texsynth.io.images import resize_image
from texsynth.nn.geometry import check_fits
from texsynth.nn.layers import layer_names, resolve_layers
from texsynth.nn.pyramid import level_sizes
from texsynth.nn.vgg import VGGFeatures, rgb_to_vgg, vgg_to_rgb
from texsynth.nn.weights import VGGWeights
from texsynth.objective import Objective
from texsynth.optim.base import Callback, OptimizeResult, Optimizer, StopReason, StopRule
from texsynth.optim.device_lbfgs import DeviceLBFGS
from texsynth.optim.scipy_lbfgs import ScipyLBFGS
from texsynth.runtime.precision import resolve_precision
from texsynth.schedule import (detail_levels, downsample, iteration_costs, settle_rule, smoothed, stage_budgets,
                               stage_noise, stage_sizes, upsample)
from texsynth.seeds import make_seed
from texsynth.stats import statistic

__all__ = ["SynthConfig", "Synthesizer", "output_padding", "peak_memory_estimate", "pool_bytes", "scale_sources"]

# Bytes of the largest float32 map, per pixel (64 channels at the finest octave).
_MAP_BYTES = 64 * 4
# Peak resident memory of a run at the default layers and statistic: about 1 GiB (Python,
# TensorFlow, the weights) and this much per canvas pixel. Measured at 2048x2048 (AMD EPYC of family
# 26): 2.0 KiB per pixel with bfloat16 maps, 2.4 KiB in float32; pool1 alone with Gram, 0.9 KiB.
_BASE_BYTES = 2**30
_BYTES_PER_PIXEL = 2400
# The analysis of a large source (in bands, see texsynth.nn.bands) per source pixel: 3.0 GB for 12
# megapixels and 6.9 GB for 48, the same machine.
_BYTES_PER_SOURCE_PIXEL = 170


@dataclass(frozen=True)
class SynthConfig:
    """The settings of one synthesis run (what the command line's synthesis flags resolve to).

    Validated on construction: a bad value raises :class:`~texsynth.errors.TexsynthError`.
    """

    width: int = 512
    height: int = 512
    octaves: int = 4
    layers: tuple[str, ...] = ("2", "7")
    max_iter: int = 500
    source_scale: float | None = None
    source_width: int | None = None
    padding: str = "valid"
    join_mode: str = "average"
    count: int = 1
    mul: float = 1.0
    if_weight: float = 1.0
    if_shift: float = 5.0
    if_order: int = 2
    if_distance: str = "l2"
    if_octaves: int = 1
    seed: str = "random"
    tol: float = 1e-9
    random_seed: int | None = None
    border: int = 0
    colour_weight: float = 1.0
    precision: str = "auto"
    loss: str = "sw"
    spectrum_weight: float = 0.0
    spectrum_octave: int = 0
    redraw_every: int = 0
    directions: int = 0
    schedule: str = "coarse-to-fine"
    stage_detail: str = "copied"
    stage_noise: float = 2.0
    detail_settle: float = 0.0
    optimizer: str = "device"

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(str(layer) for layer in self.layers))
        positive = {"width": self.width, "height": self.height, "octaves": self.octaves, "max_iter": self.max_iter,
                    "count": self.count, "mul": self.mul, "if_order": self.if_order, "if_octaves": self.if_octaves,
                    "tol": self.tol}
        non_negative = {"if_weight": self.if_weight, "if_shift": self.if_shift, "border": self.border,
                        "colour_weight": self.colour_weight, "spectrum_weight": self.spectrum_weight,
                        "redraw_every": self.redraw_every, "directions": self.directions,
                        "stage_noise": self.stage_noise, "detail_settle": self.detail_settle}
        for name, value in positive.items():
            if not value > 0:
                raise TexsynthError(f"{name} must be positive, got {value}")
        for name, value in non_negative.items():
            if not value >= 0:
                raise TexsynthError(f"{name} must be 0 or more, got {value}")
        if self.random_seed is not None and self.random_seed < 0:
            raise TexsynthError(f"random_seed must be 0 or more, got {self.random_seed}")
        if self.source_scale is not None and self.source_width is not None:
            raise TexsynthError("give a source scale or a source width, not both")
        choices = {"padding": (self.padding, PADDINGS[:2]), "join_mode": (self.join_mode, JOIN_MODES),
                   "if_distance": (self.if_distance, DISTANCE_TYPES), "seed": (self.seed, SEED_KINDS),
                   "precision": (self.precision, PRECISIONS), "loss": (self.loss, LOSSES),
                   "schedule": (self.schedule, SCHEDULES), "optimizer": (self.optimizer, OPTIMIZERS),
                   "stage_detail": (self.stage_detail, STAGE_DETAILS)}
        for name, (value, allowed) in choices.items():
            if value not in allowed:
                raise TexsynthError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        if not self.layers:
            raise TexsynthError("no layers given")
        if not 0 <= self.spectrum_octave < self.octaves:
            raise TexsynthError(f"spectrum_octave must be 0 or more and less than octaves ({self.octaves}), "
                                f"got {self.spectrum_octave}")


def output_padding(padding: str, border: int) -> str:
    """The boundary condition of the output canvas for the ``--padding-mode`` and ``--border`` asked.

    With valid padding and no border the canvas wraps around (a torus): every pixel is seen by as
    many feature windows as any other, so the edges are as finished as the middle and the result
    tiles seamlessly, at the cost of the interior alone. (Valid convolutions on a flat canvas see
    edge pixels through fewer windows; those pixels get weak gradients and stay noisy, a frame
    around the image. Removing that frame with a margin of half the receptive field cost 13% more
    pixels at 512x512 than the wrapped canvas.) A border asks for a flat canvas with that margin.
    """
    return "wrap" if padding == "valid" and border == 0 else padding


def scale_sources(images: Sequence[np.ndarray], source_scale: float | None = None,
                  source_width: int | None = None) -> list[np.ndarray]:
    """Rescale source images by a factor or to a width (aspect kept); neither: unchanged.

    Parameters
    ----------
    images : sequence of ndarray, shape (H, W, 3)
        RGB float32 in [0, 255].

    Returns
    -------
    list of ndarray, shape (H', W', 3)
    """
    scaled = []
    for image in images:
        height, width = image.shape[:2]
        if source_width:
            new_w, new_h = source_width, max(1, round(height * source_width / width))
        elif source_scale:
            new_w, new_h = max(1, round(width * source_scale)), max(1, round(height * source_scale))
        else:
            new_w, new_h = width, height
        scaled.append(resize_image(image, new_w, new_h))
    return scaled


def pool_bytes(config: SynthConfig, source_shapes: Sequence[tuple[int, ...]]) -> int:
    """How large a region of TensorFlow's memory pool a run should reserve (see
    :func:`texsynth.runtime.memory.reserve_cpu_pool`).

    In units of the largest float32 map: an evaluation's peak held about five of the canvas's (three
    in bfloat16, whose maps are half the size), a source's forward pass about two of its own. Six and
    three, plus the headroom, leave every split a large leftover; a larger reservation would cost its
    allocator's bookkeeping (3% of it). A source too large to run whole runs in bands
    (:mod:`texsynth.nn.bands`): three bands' maps, and an eighth of a map per pixel for its pyramid
    and colour taps.
    """
    from texsynth.nn.bands import BAND_BYTES
    from texsynth.runtime.memory import HEADROOM

    def source_units(pixels: int) -> int:
        return 3 * pixels if pixels * _MAP_BYTES <= BAND_BYTES else 3 * BAND_BYTES // _MAP_BYTES + pixels // 8

    return (max([6 * _canvas_pixels(config)] + [source_units(shape[0] * shape[1]) for shape in source_shapes])
            * _MAP_BYTES + HEADROOM)


def peak_memory_estimate(config: SynthConfig, source_shapes: Sequence[tuple[int, ...]] = ()) -> int:
    """About how many bytes of memory a run of ``config`` will hold at its peak, at the default layers
    and statistic (float32 maps; bfloat16 needs a fifth less, shallower layers less again): the
    larger of the synthesis's and the largest source's analysis.

    Parameters
    ----------
    config : SynthConfig
    source_shapes : sequence of (H, W, ...)

    Returns
    -------
    int
    """
    source = max((shape[0] * shape[1] for shape in source_shapes), default=0)
    return _BASE_BYTES + max(_BYTES_PER_PIXEL * _canvas_pixels(config), _BYTES_PER_SOURCE_PIXEL * source)


def _canvas_pixels(config: SynthConfig) -> int:
    """Pixels of every frame of the canvas, its border included."""
    return (config.height + 2 * config.border) * (config.width + 2 * config.border) * config.count


class Synthesizer:
    """One synthesis run: the objective, the starting frames and the optimiser, ready to run.

    Parameters
    ----------
    config : SynthConfig
    weights : VGGWeights
    sources : sequence of ndarray, shape (H, W, 3)
        The source textures, RGB in [0, 255], already scaled (see :func:`scale_sources`).
    source_names : sequence of str, optional
        How error messages name the sources (default: by position).
    seed_image : ndarray, shape (H, W, 3), optional
        The starting image, where ``config.seed == "image"``.
    optimizer : Optimizer, optional
        Default: ``config.optimizer`` (L-BFGS on the device, or scipy's L-BFGS-B) with ``config.tol``.
    log : callable, optional
        Receives informational lines (target distances of an animation).
    """

    def __init__(self, config: SynthConfig, weights: VGGWeights, sources: Sequence[np.ndarray],
                 source_names: Sequence[str] = (), seed_image: np.ndarray | None = None,
                 optimizer: Optimizer | None = None, log: Callable[[str], None] = lambda _: None) -> None:
        if not sources:
            raise TexsynthError("no source images given")
        self.config = config
        self.optimizer = optimizer or (ScipyLBFGS(config.tol) if config.optimizer == "scipy" else DeviceLBFGS(config.tol))
        # Keep only what the run needs: the kernels live on as constants inside the extractors, so
        # the weight file's arrays can be freed before optimisation.
        self.arch, self.weights_source, self.mean_bgr = weights.arch, weights.source, weights.mean_bgr
        self.layers = resolve_layers(config.layers, weights.arch)
        self.layer_names = [layer_names(weights.arch)[i] for i in self.layers]
        depth = max(self.layers)
        self.precision = resolve_precision(config.precision)
        # Targets are always float32 statistics; a bfloat16 run finishes in float32 (see run).
        self.exact_features = VGGFeatures(weights, depth, config.padding)
        self.features = (self.exact_features if self.precision == "float32"
                         else VGGFeatures(weights, depth, config.padding, self.precision))
        self.border = config.border
        self.output_padding = output_padding(config.padding, config.border)
        self.random_seed = config.random_seed if config.random_seed is not None else secrets.randbelow(2**31)
        rng = np.random.default_rng(self.random_seed)

        self.canvas = (config.height + 2 * self.border, config.width + 2 * self.border)
        canvas_what = f"output with its {self.border}px border" if self.border else "output"
        check_fits(canvas_what, *self.canvas, config.octaves, depth, weights.arch, self.output_padding)
        names = list(source_names) or [f"#{i + 1}" for i in range(len(sources))]
        for name, image in zip(names, sources):
            check_fits(f"source {name}", image.shape[0], image.shape[1], config.octaves, depth, weights.arch,
                       config.padding)

        interframe = None
        if config.count > 1:
            targets = interframe_targets(sources, config.count, config.if_order, config.if_shift,
                                         config.if_distance, config.if_octaves)
            interframe = InterframeTerm(targets, config.if_weight, config.if_distance, config.if_octaves)
            log("inter-frame target distances ("
                f"{config.if_distance}, shift {config.if_shift:g}px): "
                + ", ".join(f"{k}: {d:.3g}" for k, d in enumerate(targets, 1)))
        # --directions is for the VGG layers; the colour taps' 3 channels keep their default 16.
        kind = statistic(config.loss, self.random_seed, config.directions)
        self.objective = Objective.from_sources(
            sources, self.exact_features, self.layers, config.octaves, config.padding, self.output_padding,
            statistic=kind, colour_statistic=statistic(config.loss, self.random_seed),
            colour_weight=config.colour_weight, join_mode=config.join_mode, mul=config.mul, interframe=interframe,
            spectrum_weight=config.spectrum_weight, spectrum_octave=config.spectrum_octave, canvas=self.canvas,
            seed=self.random_seed)

        # Only the coarse-to-fine stages after the first use them, and not from a starting image (its
        # own detail takes their place).
        finer_stages = config.schedule == "coarse-to-fine" and config.octaves > 1 and config.seed != "image"
        noisy_stages = finer_stages and config.stage_detail == "noise" and config.stage_noise > 0
        self.detail_std = (detail_levels(sources, weights.mean_bgr, config.octaves, config.padding)
                           if noisy_stages else None)
        self.detail_sources = None
        if finer_stages and config.stage_detail == "copied":
            for name, image in zip(names, sources):  # the second stage copies from octave (octaves - 2)
                if min(level_sizes(side, config.octaves - 1, "same")[-1] for side in image.shape[:2]) < BLOCK:
                    raise TexsynthError(f"source {name} ({image.shape[1]}x{image.shape[0]}) is too small to copy "
                                        f"detail from at {config.octaves} octaves; use fewer octaves (-o) or "
                                        "--stage-detail noise")
            self.detail_sources = [rgb_to_vgg(np.asarray(image, np.float32)[None], weights.mean_bgr)
                                   for image in sources]
        mean_rgb = np.mean([image.reshape(-1, 3).mean(axis=0) for image in sources], axis=0)
        self.x0 = rgb_to_vgg(make_seed(config.seed, config.count, *self.canvas, mean_rgb, rng, self.border,
                                       seed_image), weights.mean_bgr)
        self.loss_and_grad, self.exact_loss_and_grad = self._compiled(self.objective)
        self.switch_iteration: int | None = None
        self.stages: list[dict] = []

    def _compiled(self, objective: Objective):
        """``objective``'s loss and gradient through the run's features, and through float32 ones
        (the same function where the run is float32), for :meth:`_optimise`."""
        fast = objective.compile(self.features)
        return fast, fast if self.features is self.exact_features else objective.compile(self.exact_features)

    def to_frames(self, x: np.ndarray) -> np.ndarray:
        """Pre-processed canvas to output frames: RGB uint8 (count, height, width, 3), margin cropped
        and clipped to valid colours. A smaller canvas (a coarse stage's) is upsampled first."""
        b = self.border
        x = np.asarray(x, np.float32)
        if x.shape[1:3] != self.canvas:  # a coarse-to-fine stage's smaller canvas
            x = upsample(x, self.canvas, self.output_padding)
        rgb = vgg_to_rgb(x, self.mean_bgr)
        rgb = rgb[:, b: b + self.config.height, b: b + self.config.width]
        return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)

    def _stage_plan(self) -> tuple[list[tuple[int, int]], list[int]] | None:
        """The coarse-to-fine stages' canvases and iterations, or None for one stage on the full canvas."""
        config = self.config
        if config.schedule == "joint" or config.octaves == 1:
            return None
        sizes = stage_sizes(*self.canvas, config.octaves, self.output_padding)
        return sizes, stage_budgets(config.max_iter, len(sizes))

    def iteration_costs(self) -> list[float] | None:
        """The relative cost of each of :meth:`run`'s iterations (see
        :func:`texsynth.schedule.iteration_costs`), or None where they all cost the same."""
        plan = self._stage_plan()
        return None if plan is None else iteration_costs(*plan)

    def run(self, callback: Callback | None = None, log: Callable[[str], None] = lambda _: None) -> OptimizeResult:
        """Optimise from the seed; ``callback(iteration, x, loss)`` sees every accepted iterate.

        With the ``joint`` schedule every octave is matched at once on the full canvas. With
        ``coarse-to-fine`` (:mod:`texsynth.schedule`) the coarsest octave's canvas is optimised
        first, and each stage's result, upsampled, starts the next finer one; iterations are
        numbered across stages, and ``x`` in the callback is the stage's canvas (``to_frames``
        brings it to the output's size). ``stages`` records each stage's size and iterations.
        With ``detail_settle`` the full-size stage first matches its own octave alone until that
        settles (``detail_iterations``), then every octave.

        Returns
        -------
        OptimizeResult
            ``x`` is the full canvas.
        """
        config = self.config
        plan = self._stage_plan()
        if plan is None:
            self.stages = [{"height": self.canvas[0], "width": self.canvas[1], "octaves": config.octaves}]
            result = self._optimise(self.objective, self.loss_and_grad, self.exact_loss_and_grad, self.x0,
                                    config.max_iter, callback, log)
            self.stages[0]["iterations"] = len(result.losses)
            return result
        sizes, budgets = plan
        x = downsample(self.x0, len(sizes) - 1, self.output_padding)
        total = OptimizeResult(x=x)
        self.stages = []
        for index in range(len(sizes)):
            try:
                part, record = self._stage(index, sizes, budgets, total.x, callback, log)
            except KeyboardInterrupt:
                # Between stages (compiling, resampling) no optimiser is there to catch Ctrl-C; the
                # finished stages' image is the latest.
                total.reason = StopReason.INTERRUPTED
                break
            self.stages.append(record)
            total = _joined(total, part)
            if part.interrupted:
                break
        if total.x.shape[1:3] != self.canvas:
            total.x = upsample(total.x, self.canvas, self.output_padding)
        return total

    def _stage(self, index: int, sizes: list[tuple[int, int]], budgets: list[int], previous: np.ndarray,
               callback: Callback | None, log: Callable[[str], None]) -> tuple[OptimizeResult, dict]:
        """Stage ``index`` of the coarse-to-fine plan, started from the previous stage's canvas
        (``previous``; the downsampled seed for the first); returns its result and its ``stages`` record."""
        config = self.config
        size, budget = sizes[index], budgets[index]
        first_octave = len(sizes) - 1 - index
        objective = self.objective.stage(first_octave, size)
        fast, exact = self._compiled(objective)
        # Upsampled, the coarser result carries no pixel-scale noise; the joint schedule's noisy
        # start kept some at the highest frequencies, which the network barely sees (the hatching).
        # Its own finest band is blurred away first: a stage leaves a faint pattern of the period
        # of its pooling grid there, which upsampling would magnify into visible blocks.
        start = previous if index == 0 else upsample(smoothed(previous, self.output_padding), size,
                                                     self.output_padding)
        rng = np.random.default_rng([self.random_seed, index])  # the stage's own draws: copied blocks or noise
        if index > 0 and config.seed == "image":
            # The starting image's own detail at this size, in place of noise: the start is the image
            # at this octave plus what the coarser stages changed, so an image that already matches
            # (a finished texture, continued) keeps its detail instead of being re-made from its
            # coarsest octave.
            here = downsample(self.x0, first_octave, self.output_padding)
            coarser = downsample(here, 1, self.output_padding)
            start = start + here - upsample(smoothed(coarser, self.output_padding), size, self.output_padding)
        elif index > 0 and self.detail_sources is not None:
            # The source's own detail, where its coarser content matches the start's: detail that is
            # already arranged like the source's, for the stage to refine rather than make.
            here = [downsample(source, first_octave, "same")[0] for source in self.detail_sources]
            start = start + copied_detail(start, here, self.output_padding, rng)
        elif index > 0 and self.detail_std is not None:
            # Fine detail to shape: from a smooth start the finest octave's statistics pull weakly
            # (fine stochastic textures stayed soft); band-limited, so none of it is at the
            # pixel-scale frequencies the network barely sees (the hatching).
            start = start + config.stage_noise * self.detail_std[first_octave] * stage_noise(
                start.shape, rng, self.output_padding)
        # Numbered as planned, so frames and progress keep the plan's stage boundaries even where a
        # stage stopped early (converged).
        done = sum(budgets[:index])
        shifted = None if callback is None else lambda i, x, loss: callback(done + i, x, loss)
        record = {"height": size[0], "width": size[1], "octaves": config.octaves - first_octave}
        if index < len(sizes) - 1:
            part = self._optimise(objective, fast, exact, start, budget, shifted, log, done)
        else:
            part = self._finest_stage(objective, fast, exact, start, budget, shifted, log, done, record)
        record.update(iterations=len(part.losses), seconds=sum(part.seconds), stopped=part.message)
        return part, record

    def _finest_stage(self, objective: Objective, fast, exact, start: np.ndarray, budget: int,
                      callback: Callback | None, log: Callable[[str], None], offset: int, record: dict) -> OptimizeResult:
        """The full-size stage: with ``detail_settle``, first its own octave alone until that settles
        (a third of the cost per iteration; the coarser octaves start matched), then every octave."""
        rule = settle_rule(self.config.detail_settle)
        if rule is None or objective.octaves == 1:
            return self._optimise(objective, fast, exact, start, budget, callback, log, offset)
        detail = objective.finest(1)
        detail_fast, detail_exact = self._compiled(detail)
        # At most half the stage: the coarser octaves need their share to pull the detail back into
        # line (with 20 of 75 iterations left, a held-out dirt ended blotchier, with pixel-scale hatching).
        first = self._optimise(detail, detail_fast, detail_exact, start, max(1, budget // 2), callback, log, offset,
                               rule)
        record["detail_iterations"] = len(first.losses)
        done = len(first.losses)
        if first.interrupted or done >= budget:
            return first
        shifted = None if callback is None else lambda i, x, loss: callback(done + i, x, loss)
        return _joined(first, self._optimise(objective, fast, exact, first.x, budget - done, shifted, log,
                                             offset + done))

    def _optimise(self, objective: Objective, loss_and_grad, exact_loss_and_grad, x0: np.ndarray, max_iter: int,
                  callback: Callback | None, log: Callable[[str], None], offset: int = 0,
                  stop: StopRule | None = None) -> OptimizeResult:
        """Run the optimiser on one canvas for ``max_iter`` iterations.

        A bfloat16 run that stops before ``max_iter`` without being interrupted has usually not
        converged: its loss is rounded, so below some step size it no longer falls along any
        direction and the line search gives up. The remaining iterations then run in float32 from
        where it stopped (``switch_iteration`` records when, counted over the whole run), so the
        result is as finished as a float32 run's and the tolerance means what it means there.

        With ``redraw_every`` the optimiser runs that many iterations at a time, and the random
        parts of the statistics (sliced Wasserstein's directions) are drawn anew in between: L-BFGS
        keeps curvature pairs of one objective only, so it restarts after each redraw.
        """
        every = self.config.redraw_every
        result = OptimizeResult(x=x0)
        try:
            while len(result.losses) < max_iter:
                done = len(result.losses)
                budget = min(max_iter - done, every) if every else max_iter - done
                shifted = None if callback is None or not done else lambda i, x, loss: callback(done + i, x, loss)
                part = self.optimizer.minimize(loss_and_grad, result.x, budget, shifted if done else callback, stop)
                result = _joined(result, part)
                if part.interrupted or part.reason is StopReason.SETTLED:
                    break
                stalled = len(part.losses) < budget
                if stalled and loss_and_grad is not exact_loss_and_grad:
                    self.switch_iteration = offset + len(result.losses)
                    log(f"{self.precision} stopped improving after {self.switch_iteration} iterations "
                        f"({part.message}); finishing in float32")
                    loss_and_grad = exact_loss_and_grad
                elif stalled and (not every or not part.losses):
                    break
                elif every and len(result.losses) < max_iter:
                    objective.redraw(self.random_seed + offset + len(result.losses))
        except KeyboardInterrupt:
            # Ctrl-C while switching precision or redrawing directions, outside the optimiser's guard.
            result.reason = StopReason.INTERRUPTED
        return result


def _joined(first: OptimizeResult, then: OptimizeResult) -> OptimizeResult:
    """One result for two runs in a row: ``then``'s iterate and stop reason, both histories."""
    return OptimizeResult(x=then.x, losses=first.losses + then.losses, seconds=first.seconds + then.seconds,
                          evaluations=first.evaluations + then.evaluations, reason=then.reason, detail=then.detail)
