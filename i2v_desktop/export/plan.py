"""The plan of an export, made before any pixel is encoded: which source frame (or blend of two)
each output frame shows, and which part of the clip fills the output frame at which size."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..core.framing import Box, crop_box, subject_box
from ..core.image import SourceImage
from .interpolate import frame_positions
from .presets import ExportPreset

CROSSFADE_S = 0.5  # the seam of a repeated clip that does not loop by itself


@dataclass(frozen=True)
class Step:
    """One output frame: the source frame at `position` (fractional: interpolated), cross-faded
    toward the one at `blend_position` by `blend` (0..1) at a repeat's seam."""

    position: float
    blend_position: float | None = None
    blend: float = 0.0


@dataclass(frozen=True)
class Timeline:
    steps: tuple[Step, ...]
    fps: Fraction
    extension: str  # none | loop | repeat | boomerang | trim
    interpolated: bool  # some step falls between source frames

    @property
    def duration(self) -> float:
        return len(self.steps) / float(self.fps)


def plan_timeline(
    count: int,
    src_fps: float,
    dst_fps: Fraction,
    *,
    loop: bool,
    extend: str = "repeat",
    min_duration: float = 0.0,
    duration: float | None = None,
) -> Timeline:
    """The output frames of a `count`-frame clip at `dst_fps`, made at least `min_duration` long,
    or exactly `duration` long when given (trimmed or extended).

    The clip is first converted to the new rate (same length, frames at fractional source
    positions), then extended: a clip that loops by itself is repeated; otherwise it is repeated
    with a cross-fade at each seam ("repeat") or played forward then backward ("boomerang", with
    neither end frame shown twice in a row). Without `duration` an extension ends on a natural
    boundary: the end of a pass, not mid-motion.
    """
    rate = float(dst_fps)
    base = [float(p) for p in frame_positions(count, src_fps, rate, loop)]
    total = len(base)
    interpolated = any(abs(p - round(p)) >= 1e-3 for p in base)
    if duration is not None:
        wanted = max(1, round(duration * rate))
    else:
        wanted = max(total, math.ceil(min_duration * rate - 1e-6))
    if wanted <= total:
        steps = [Step(p) for p in base[:wanted]]
        return Timeline(tuple(steps), dst_fps, "none" if wanted == total else "trim", interpolated)

    if loop:
        kind, cycle = "loop", [Step(p) for p in base]
        natural = total * math.ceil(wanted / total)
        steps = [cycle[i % total] for i in range(natural if duration is None else wanted)]
    elif extend == "boomerang" and total >= 2:
        # 0 1 … n-1 n-2 … 1 | 0 1 …: a period of 2n-2, so neither turning point repeats.
        kind, period = "boomerang", 2 * total - 2
        natural = total + (total - 1) * math.ceil((wanted - total) / (total - 1))
        count_out = natural if duration is None else wanted
        steps = [
            Step(base[i % period if i % period < total else period - i % period]) for i in range(count_out)
        ]
    else:
        kind = "repeat"
        steps = _crossfaded_repeats(base, round(CROSSFADE_S * rate), wanted, exact=duration is not None)
    return Timeline(tuple(steps), dst_fps, kind, interpolated)


def _crossfaded_repeats(base: list[float], fade: int, wanted: int, exact: bool) -> list[Step]:
    """The clip over and over, each seam a `fade`-frame cross-fade from its end into its start.

    A pass plays frames fade .. n-fade-1 between seams, so each repeat adds n - fade frames and
    the motion never jumps. Ends after a whole pass (the clip's true last frame) unless `exact`.
    """
    total = len(base)
    fade = max(0, min(fade, (total - 1) // 3))  # the plain middle of a pass must not vanish
    per_repeat = total - fade
    repeats = math.ceil((wanted - total) / per_repeat)
    steps = [Step(p) for p in base[: total - fade]]
    for _ in range(repeats):
        for s in range(fade):
            steps.append(Step(base[total - fade + s], base[s], (s + 1) / (fade + 1)))
        steps.extend(Step(p) for p in base[fade : total - fade])
    steps.extend(Step(p) for p in base[total - fade :])
    return steps[:wanted] if exact else steps


@dataclass(frozen=True)
class Layout:
    """How the clip's pixels reach the output frame.

    `crop` (x, y, w, h) is the part of each source frame used; it is resized to `work` in Python
    when that makes it smaller (so flow and the pipe carry fewer pixels) and ffmpeg scales it to
    `size`. With mode "blur" the whole clip is fitted at `fit` in front of a blurred, darkened copy
    of itself that fills the frame.
    """

    size: tuple[int, int]
    crop: tuple[int, int, int, int]
    work: tuple[int, int]
    mode: str  # scale | blur
    fit: tuple[int, int] | None = None


def output_size(preset: ExportPreset, source_size: tuple[int, int]) -> tuple[int, int]:
    """The preset's frame size, the clip's own where the preset leaves it open."""
    sw, sh = source_size
    even = preset.codec != "gif"  # 4:2:0 and 4:2:2 need even sides

    def side(value: float) -> int:
        return max(2, 2 * round(value / 2)) if even else max(1, round(value))

    if preset.width and preset.height:
        return preset.width, preset.height
    if preset.width:
        return preset.width, side(preset.width * sh / sw)
    if preset.height:
        return side(preset.height * sw / sh), preset.height
    # The clip's own size; an odd side loses its last row or column (cropped, not scaled).
    return (sw - sw % 2, sh - sh % 2) if even else (sw, sh)


def plan_layout(
    first_frame: np.ndarray,
    preset: ExportPreset,
    fill: str = "frame",
    subject: tuple[float, float] | None = None,
) -> Layout:
    """Where the output's pixels come from: `first_frame` stands for the clip (its size, and its
    subject when the clip must be cropped to another shape)."""
    sh, sw = first_frame.shape[:2]
    width, height = size = output_size(preset, (sw, sh))
    same_shape = abs((width / height) / (sw / sh) - 1.0) < 0.01
    if same_shape or fill == "frame":
        if (width, height) == (sw - sw % 2, sh - sh % 2):
            crop = (0, 0, width, height)  # the clip's own size: at most an odd row or column goes
        elif same_shape:
            crop = (0, 0, sw, sh)
        else:
            # The largest box of the target's shape, framed on the user's centre if given, else on
            # the subject of the first frame.
            focus = (
                Box(0, 0, sw, sh)
                if subject is not None
                else subject_box(SourceImage("", first_frame, None, (sw, sh)))
            )
            box = crop_box((sw, sh), width / height, focus, subject)
            x, y = min(max(round(box.x), 0), sw - 1), min(max(round(box.y), 0), sh - 1)
            crop = (x, y, max(1, min(round(box.w), sw - x)), max(1, min(round(box.h), sh - y)))
        work = (width, height) if crop[2] * crop[3] > width * height else (crop[2], crop[3])
        return Layout(size, crop, work, "scale")
    scale = min(width / sw, height / sh)
    fit = (min(width, max(2, 2 * round(sw * scale / 2))), min(height, max(2, 2 * round(sh * scale / 2))))
    work = fit if scale < 1 else (sw, sh)
    return Layout(size, (0, 0, sw, sh), work, "blur", fit)
