"""The clip scorecard: does this variant move, is it steady, does it still look like the photo?

Six measures, each a value in its own units, a 0..1 rating and one sentence a person can read:

- motion: how fast the picture moves (dense optical flow, % of the frame diagonal per second);
- flicker: change that motion does not explain (flow-compensated residual) plus brightness and
  colour pumping (frame-mean oscillation around a smooth trend);
- subject: how much the subject still looks like the photo, worst frame, after undoing its motion
  with a homography (SSIM over the subject's matte, pooled so that a local defect counts);
- colour drift: ΔE (CIE76) between the photo and the motion-aligned clip, over time;
- loop seam (loops only): the last→first change against a normal frame-to-frame change;
- motion adherence (where the preset names its move): whether the camera did that move (motion.py).

Everything runs on small copies of the frames (about 320 px for flow, 640 px for the subject), made
with integer-factor area averaging, which OpenCV does several times faster than any other factor:
a 3 s, 24 fps, 720p clip scores in a few tenths of a second on two cores.
"""

from __future__ import annotations

import json
import math
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import cv2
import numpy as np

from ..core.resources import resource_path
from ..core.subject import saliency, subject_matte
from . import motion as camera_motion
from .adherence import adherence, warning

WEIGHT_KEYS = ("motion", "flicker", "subject", "colour_drift", "loop_seam", "motion_adherence")

# -- working sizes ---------------------------------------------------------------------------------
MID_SIDE = 640  # long side (about) for the subject comparison: fine detail still shows
FLOW_SIDE = 320  # long side (about) for optical flow, flicker and colour
MIN_SIDE = 16  # smaller frames carry no measurable motion or detail
# The photo comparison (subject and colour, each an alignment of the frame onto the photo) looks at
# up to this many frames a second. What it measures changes over seconds, and it costs more than
# the rest of the scorecard together: at 24 fps it looks at every second frame. (Brightness, which
# can pump from one frame to the next, is still read on every frame, and so is the motion.)
FOLLOW_FPS = 12.0

# -- motion ----------------------------------------------------------------------------------------
# Flow is summed over a short window before its length is taken: real motion adds up over the
# window while per-frame flow noise (texture "boiling", codec noise) largely cancels, and what is
# left of it falls under a fixed floor.
MOTION_WINDOW_S = 0.25
MOTION_NOISE_PX = 0.25  # per window, at flow size: strong low-frequency "boiling" stays below it
# Of each window's pixel speeds, the 90th percentile: a subject moving in front of a still
# background (a talking head, a swaying tree) still counts as motion; the median would call a
# clip static unless half its pixels move.
MOTION_PERCENTILE = 90.0
# Only the flow across an edge is seen in a picture (the aperture problem): along an edge, or on a
# flat or smoothly shaded area, the flow field can say anything. A 16×12 photo upscaled a
# hundredfold is all such areas, and its flow read "347.5 %/s" where the camera moved 4. So each
# pixel's motion is its flow's component along the brightness gradient (the normal flow), counted
# only where the gradient is steep enough to be seen (grey levels per pixel at flow size).
MOTION_MIN_GRADIENT = 1.0
MOTION_STATIC = 0.3  # %/s of the diagonal: below this a viewer sees a still photo
MOTION_HALF = 0.6  # %/s rated 0.5
MOTION_CLEAR = 1.5  # %/s: "moves clearly" from here
MOTION_FAST = 10.0  # %/s: more than a tenth of the frame a second is a fast move

# -- flicker ---------------------------------------------------------------------------------------
FLICKER_TREND_S = 0.1  # Gaussian sigma of the smooth brightness trend; faster changes are pumping
FLICKER_CAP = 0.5  # a pixel's residual counts up to this share of the contrast (occlusions)
FLICKER_FLAG = 0.12
FLICKER_HALF = 0.12
MIN_CONTRAST_GREY = 8.0  # grey levels; flat frames would otherwise blow the ratio up
MIN_CONTRAST_L = 4.0  # the same floor in L* units

# -- subject ---------------------------------------------------------------------------------------
SUBJECT_POINTS = 800  # flow vectors sampled on the subject for the homography
SUBJECT_SIDE = 320  # px: a subject box larger than this at mid size is compared at flow size
SUBJECT_MIN_VISIBLE = 0.25  # share of the subject that must be in view for a frame to count
# Clean clips of the sample photos score 0.77 (an orbit: the subject turns in perspective) to
# 0.97; a quarter of the subject replaced scores about 0.65, half of it about 0.45.
SUBJECT_FLAG = 0.6
SUBJECT_HALF = 0.4  # dissimilarity (1 - similarity) rated 0.5
SUBJECT_GOOD = 0.75  # "holds up" from here

# -- colour ----------------------------------------------------------------------------------------
COLOUR_BLUR = 1.5  # px at flow size: compare colours, not texture left over by the alignment
COLOUR_END_S = 0.25  # the "last frames" of the reason
COLOUR_FLAG = 6.0  # ΔE: clearly visible side by side
COLOUR_HALF = 6.0

# -- loop seam -------------------------------------------------------------------------------------
SEAM_FLAG = 1.5
SEAM_WIDTH = 0.6  # the seam ratio above 1 at which the rating is 0.5
SEAM_MIN_STEP = 0.1  # px at flow size: a normal step in a still clip is noise, not a scale
SEAM_NEIGHBOURS = 2  # steps on each side of the seam that say what a normal step is there

# -- early warning ---------------------------------------------------------------------------------
EARLY_SIDE = 96  # long side for the preview check
# % of the diagonal moved, at most, over the whole preview. A noisy still preview measures up to
# about 0.1 and the gentlest camera moves (a turntable's small turn) about 0.3.
EARLY_STATIC = 0.2
EARLY_BIAS = 6.0  # ΔE of preview colour error forgiven (the latent → RGB projection is approximate)
EARLY_DRIFT = 8.0  # ΔE beyond that bias that is called drift


# Warps that pull a frame back onto the reference: the matrix maps reference → frame coordinates.
PULL_BACK = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP


class WeightsError(ValueError):
    """resources/scorecard.json (or a given weights file) does not validate."""


# -- the scorecard --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    value: float  # the measure, in its own units (see Scorecard)
    rating: float  # 0..1, 1 = good: what the overall rank combines
    reason: str  # one short sentence a person can read
    flagged: bool  # a defect worth a warning

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "rating": self.rating, "reason": self.reason, "flagged": self.flagged}

    @classmethod
    def from_dict(cls, data: Any, name: str = "score") -> Score:
        if not isinstance(data, Mapping):
            raise ValueError(f"scorecard: {name} must be an object")
        missing = [key for key in ("value", "rating", "reason", "flagged") if key not in data]
        if missing:
            raise ValueError(f"scorecard: {name} is missing {', '.join(missing)}")
        value, rating, reason, flagged = data["value"], data["rating"], data["reason"], data["flagged"]
        if not _is_number(value) or not _is_number(rating) or not 0.0 <= rating <= 1.0:
            raise ValueError(f"scorecard: {name} needs a numeric value and a rating between 0 and 1")
        if not isinstance(reason, str) or not isinstance(flagged, bool):
            raise ValueError(f"scorecard: {name} needs a text reason and a true/false flag")
        return cls(float(value), float(rating), reason, flagged)


@dataclass(frozen=True)
class Scorecard:
    motion: Score  # median flow speed, % of the frame diagonal per second
    flicker: Score  # 0..1 unexplained change relative to the contrast
    subject: Score  # 0..1 similarity of the subject to the photo, worst frame
    colour_drift: Score  # mean ΔE (CIE76) between the photo and the clip
    loop_seam: Score | None  # loops only: last→first change / median frame-to-frame change
    overall: float  # 0..1 weighted mean of the ratings
    # Where the asked move is known: % of the diagonal the clip moved as asked; rating 0..1 match.
    motion_adherence: Score | None = None

    def scores(self) -> dict[str, Score]:
        """The measures present, by name (loop_seam only for a loop, motion_adherence where a move was asked)."""
        named = {"motion": self.motion, "flicker": self.flicker, "subject": self.subject,
                 "colour_drift": self.colour_drift}
        if self.loop_seam is not None:
            named["loop_seam"] = self.loop_seam
        if self.motion_adherence is not None:
            named["motion_adherence"] = self.motion_adherence
        return named

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {name: score.to_dict() for name, score in self.scores().items()}
        data["loop_seam"] = None if self.loop_seam is None else self.loop_seam.to_dict()
        data["motion_adherence"] = None if self.motion_adherence is None else self.motion_adherence.to_dict()
        data["overall"] = self.overall
        return data

    @classmethod
    def from_dict(cls, data: Any) -> Scorecard:
        if not isinstance(data, Mapping):
            raise ValueError("scorecard: expected a JSON object")
        for key in ("motion", "flicker", "subject", "colour_drift", "overall"):
            if key not in data:
                raise ValueError(f"scorecard: {key} is missing")
        overall = data["overall"]
        if not _is_number(overall) or not 0.0 <= overall <= 1.0:
            raise ValueError("scorecard: overall must be a number between 0 and 1")
        seam = data.get("loop_seam")
        adherence = data.get("motion_adherence")  # absent from scorecards saved before it existed
        return cls(
            motion=Score.from_dict(data["motion"], "motion"),
            flicker=Score.from_dict(data["flicker"], "flicker"),
            subject=Score.from_dict(data["subject"], "subject"),
            colour_drift=Score.from_dict(data["colour_drift"], "colour_drift"),
            loop_seam=None if seam is None else Score.from_dict(seam, "loop_seam"),
            overall=float(overall),
            motion_adherence=None if adherence is None else Score.from_dict(adherence, "motion_adherence"),
        )

    def summary(self) -> str:
        """One line for a terminal; a flagged measure is marked with "!"."""

        def mark(score: Score) -> str:
            return "!" if score.flagged else ""

        parts = [
            f"overall {self.overall:.2f}",
            f"motion {self.motion.value:.1f} %/s{mark(self.motion)}",
            f"flicker {self.flicker.value:.2f}{mark(self.flicker)}",
            f"subject {self.subject.value:.2f}{mark(self.subject)}",
            f"ΔE {self.colour_drift.value:.1f}{mark(self.colour_drift)}",
        ]
        if self.loop_seam is not None:
            parts.append(f"seam {self.loop_seam.value:.1f}{mark(self.loop_seam)}")
        if self.motion_adherence is not None:
            parts.append(f"move {self.motion_adherence.rating:.2f}{mark(self.motion_adherence)}")
        return " · ".join(parts)


# -- weights ----------------------------------------------------------------------------------------


def _weights_path() -> Path:
    return resource_path("scorecard.json")


def load_weights(path: str | os.PathLike[str] | None = None) -> dict[str, float]:
    """The overall rank's weight per measure, from resources/scorecard.json (or `path`).

    The file is {"weights": {name: weight}} with every name in WEIGHT_KEYS, each weight a
    non-negative number and not all of them zero; anything else is a WeightsError naming the file.
    """
    file = Path(path) if path is not None else _weights_path()
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise WeightsError(f"{file}: cannot read ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WeightsError(f"{file}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or set(data) != {"weights"} or not isinstance(data["weights"], dict):
        raise WeightsError(f'{file}: expected {{"weights": {{...}}}} and nothing else')
    weights = data["weights"]
    unknown = sorted(set(weights) - set(WEIGHT_KEYS))
    if unknown:
        known = ", ".join(WEIGHT_KEYS)
        raise WeightsError(f"{file}: unknown measure(s) {', '.join(unknown)} (known: {known})")
    missing = [key for key in WEIGHT_KEYS if key not in weights]
    if missing:
        raise WeightsError(f"{file}: no weight for {', '.join(missing)}")
    for key, weight in weights.items():
        if not _is_number(weight) or weight < 0:
            raise WeightsError(f"{file}: the weight of {key} must be a non-negative number, got {weight!r}")
    if sum(weights.values()) <= 0:
        raise WeightsError(f"{file}: the weights add up to zero; at least one must be positive")
    return {key: float(weights[key]) for key in WEIGHT_KEYS}


# -- scoring ---------------------------------------------------------------------------------------


def score_clip(
    frames: np.ndarray,
    fps: float,
    source: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    loop: bool = False,
    move: str | None = None,
) -> Scorecard:
    """Score a clip. `frames` is (T, H, W, 3) uint8 RGB.

    `source` is the photo framed like the clip (core.framing.fit_image), (h, w, 3) uint8 at the
    frames' aspect: at their size, or at working_size (all the scores look at), which is far
    cheaper to load and frame; without it the first frame is the reference for the subject and
    colour drift. `mask` is the subject matte (h, w) in 0..1 in the same frame; without it one is
    estimated from the reference. `move`: the camera move the preset asked for (core.presets.MOVES),
    which adds the motion-adherence measure.
    """
    frames = _check_frames(frames)
    scorer = ClipScorer(frames.shape[2], frames.shape[1], frames.shape[0], fps)  # (which checks fps)
    scorer.set_reference(source if source is not None else frames[0], mask)
    for frame in frames:
        scorer.add(frame)
    return scorer.scorecard(loop, move)


class ClipScorer:
    """`score_clip` for a clip whose frames come one at a time, as an engine renders them.

    Each frame is shrunk to the working sizes as it comes (`add`), and the reference can be made
    from the photo meanwhile (`set_reference`, before or after the frames), so that what is left
    for `scorecard` once the clip is complete is the two passes over the small copies. `add` and
    `set_reference` may run on another thread than the engine's, one at a time.
    """

    def __init__(self, width: int, height: int, count: int, fps: float) -> None:
        if min(width, height) < MIN_SIDE or count < 1:
            raise ValueError(f"frames must be at least {MIN_SIDE} pixels on each side, got {width}x{height}")
        if not _is_number(fps) or fps <= 0:
            raise ValueError(f"fps must be a positive number, got {fps!r}")
        self._fps = float(fps)
        self._work = _Work.empty(width, height, count)
        self._consecutive = _Consecutive(self._work, self._fps)
        self._frame_hw = (height, width)
        self._added = 0
        self._reference: _Reference | None = None
        self._follower: _Follower | None = None
        self._first: np.ndarray | None = None

    def set_reference(self, source: np.ndarray | None, mask: np.ndarray | None = None) -> None:
        """What the clip is compared with (see score_clip's `source` and `mask`); without it, or
        with None, the first frame."""
        if source is None:
            return
        self._reference = _Reference.of(self._work, source, mask, self._frame_hw)
        self._follower = _Follower(self._work, self._reference, stride=max(1, round(self._fps / FOLLOW_FPS)))
        self._follower.advance(self._added)

    def add(self, frame: np.ndarray) -> None:
        if self._added == self._work.count:
            raise ValueError(f"the clip has {self._work.count} frames; frame {self._added} is one too many")
        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.shape != (*self._frame_hw, 3):
            raise ValueError(f"frame {self._added} must be a {self._frame_hw[1]}x{self._frame_hw[0]} RGB uint8 array, "
                             f"got {frame.dtype} {frame.shape}")
        if self._added == 0 and self._reference is None:
            self._first = frame.copy()  # the reference unless a photo is set
        # The subject's finer copy only for a frame that will be compared with it (all of them
        # while the reference is not known yet).
        follower = self._follower
        self._work.put(self._added, frame, mid=follower is None or follower.compares_on_mid(self._added))
        self._added += 1
        # Both passes keep up with the frames: the comparison with the photo, and the flow from
        # each frame to the next.
        if follower is not None:
            follower.advance(self._added)
        self._consecutive.advance(self._added)

    def scorecard(self, loop: bool = False, move: str | None = None) -> Scorecard:
        if self._added != self._work.count:
            raise ValueError(f"the clip has {self._work.count} frames, {self._added} were added")
        if self._follower is None:
            self.set_reference(self._first)
        assert self._follower is not None
        return _scorecard(self._work, self._follower, self._consecutive, self._fps, loop, move)


def _scorecard(work: _Work, follower: _Follower, consecutive: _Consecutive, fps: float, loop: bool,
               move: str | None = None) -> Scorecard:
    # The passes over the clip share nothing but the read-only working copy, and OpenCV lets go of
    # the GIL inside each call: the camera's move (for motion adherence), which reads a few of the
    # small copies, is found beside them. (Where the frames were fed as they rendered, both passes
    # are done already.)
    with ThreadPoolExecutor(max_workers=1) as pool:
        adhered = None if move is None else pool.submit(_adherence_score, work, move)
        follower.advance(work.count)
        followed = follower.result()
        consecutive.advance(work.count)
        motion_value, residual = consecutive.result()
    contrast = max(float(np.median(followed.contrast_l)), MIN_CONTRAST_L)
    pumping = _pumping(followed.frame_lab_means, fps) / contrast

    compared = slice(None, None, follower.stride)  # the frames aligned onto the photo
    scores = {
        "motion": _motion_score(motion_value),
        "flicker": _flicker_score(residual, pumping),
        "subject": _subject_score(followed.similarity[compared], fps / follower.stride),
        "colour_drift": _colour_score(followed.delta_e[compared], fps / follower.stride),
    }
    if loop:
        scores["loop_seam"] = _seam_score(work)
    if adhered is not None:
        scores["motion_adherence"] = adhered.result()
    weights = load_weights()
    if sum(weights[name] for name in scores) <= 0:  # only the seam weighs, and this is no loop
        weights = dict.fromkeys(weights, 1.0)
    total = sum(weights[name] for name in scores)
    overall = sum(weights[name] * score.rating for name, score in scores.items()) / total
    return Scorecard(
        motion=scores["motion"],
        flicker=scores["flicker"],
        subject=scores["subject"],
        colour_drift=scores["colour_drift"],
        loop_seam=scores.get("loop_seam"),
        overall=round(float(np.clip(overall, 0.0, 1.0)), 4),
        motion_adherence=scores.get("motion_adherence"),
    )


# -- working copies ----------------------------------------------------------------------------------


def _check_frames(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] < 1:
        raise ValueError(f"frames must be a (T, H, W, 3) uint8 array, got {frames.dtype} {frames.shape}")
    if min(frames.shape[1:3]) < MIN_SIDE:
        size = f"{frames.shape[2]}x{frames.shape[1]}"
        raise ValueError(f"frames must be at least {MIN_SIDE} pixels on each side, got {size}")
    return frames


def working_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) of the copy of a width×height clip that the scores compare with the photo.

    A photo framed at this size is as good a reference as one framed at the clip's full size.
    """
    k = _factor(max(width, height), MID_SIDE)
    return width // k, height // k


def _factor(long_side: int, target: int) -> int:
    """The integer shrink factor that brings `long_side` nearest to `target` (never enlarging)."""
    return max(1, int(long_side / target + 0.5))


def _shrink(image: np.ndarray, k: int, out: np.ndarray | None = None) -> np.ndarray:
    """Area-average by an integer factor (into `out` when given); the frame is trimmed to a
    multiple of k first, so OpenCV takes its fast integer path (seven times faster than 2.5×)."""
    h, w = image.shape[0] // k * k, image.shape[1] // k * k
    if k == 1:
        if out is None:
            return np.ascontiguousarray(image)
        out[...] = image[:h, :w]
        return out
    return cv2.resize(image[:h, :w], (w // k, h // k), dst=out, interpolation=cv2.INTER_AREA)


def build_colour_tables() -> None:
    """Have OpenCV build its L*a*b* conversion tables, which it does on a process's first such
    conversion (0.12 s here) and shares with every later one, 8-bit or float, on any thread."""
    cv2.cvtColor(np.zeros((1, 1, 3), np.float32), cv2.COLOR_RGB2Lab)


def _to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIE L*a*b* (L 0..100) of 8-bit sRGB, in float32."""
    return cv2.cvtColor(rgb.astype(np.float32) * np.float32(1 / 255), cv2.COLOR_RGB2Lab)


@dataclass
class _Work:
    """The clip at the two working sizes."""

    small: np.ndarray  # (T, h, w, 3) uint8 RGB at flow size
    small_grey: np.ndarray  # (T, h, w) uint8
    mid_grey: np.ndarray  # (T, H', W') uint8 at subject size
    k_mid: int  # full → mid
    k_small: int  # mid → small

    @classmethod
    def empty(cls, width: int, height: int, count: int) -> _Work:
        """Room for a clip of `count` frames of width×height, filled by `put`."""
        k_mid = _factor(max(width, height), MID_SIDE)
        mid_h, mid_w = height // k_mid, width // k_mid
        k_small = _factor(max(mid_h, mid_w), FLOW_SIDE)
        small_h, small_w = mid_h // k_small, mid_w // k_small
        return cls(np.empty((count, small_h, small_w, 3), np.uint8), np.empty((count, small_h, small_w), np.uint8),
                   np.empty((count, mid_h, mid_w), np.uint8), k_mid, k_small)

    @classmethod
    def of(cls, frames: np.ndarray) -> _Work:
        work = cls.empty(frames.shape[2], frames.shape[1], frames.shape[0])
        for index, frame in enumerate(frames):
            work.put(index, frame)
        return work

    def put(self, index: int, frame: np.ndarray, mid: bool = True) -> None:
        """Frame `index` at the two working sizes (`mid`: the grey one at mid size too; only a
        frame compared with the photo's subject needs it).

        Each is the box average of the frame over whole blocks (its last rows and columns that
        do not fill one dropped), made the cheapest way: halving first where the factor is even
        (OpenCV's fast path), and greying before shrinking (one channel instead of three). A
        1080×1920 frame costs about 3 ms instead of 6."""
        k = self.k_mid * self.k_small
        height, width = self.small.shape[1] * k, self.small.shape[2] * k
        whole = frame[:height, :width]
        if k % 2 == 0:
            whole = cv2.resize(whole, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
        _shrink(whole, k // 2 if k % 2 == 0 else k, out=self.small[index])
        cv2.cvtColor(self.small[index], cv2.COLOR_RGB2GRAY, dst=self.small_grey[index])
        if mid:
            mid_h, mid_w = self.mid_grey.shape[1:]
            grey = cv2.cvtColor(frame[: mid_h * self.k_mid, : mid_w * self.k_mid], cv2.COLOR_RGB2GRAY)
            _shrink(grey, self.k_mid, out=self.mid_grey[index])

    @property
    def count(self) -> int:
        return int(self.small.shape[0])

    @property
    def small_size(self) -> tuple[int, int]:
        """(width, height) at flow size."""
        return int(self.small.shape[2]), int(self.small.shape[1])


@dataclass
class _Reference:
    """What the clip is compared with: the photo (or first frame) and its subject, at both sizes."""

    grey: np.ndarray  # small, uint8
    lab_sparse: np.ndarray  # small, blurred, every second pixel: float32 L*a*b*
    points: np.ndarray  # (N, 2) int32 small-size pixels on the subject, for its homography
    # The subject is compared at mid size, or at flow size when it is large enough there.
    subject_on_small: bool
    box: tuple[int, int, int, int]  # the subject's bounding box at that size: x, y, w, h
    subject_grey: np.ndarray  # float32, the reference inside the box
    subject_stats: np.ndarray  # its local SSIM moments
    subject_weight: np.ndarray  # float32 0..1, the matte inside the box

    @classmethod
    def of(cls, work: _Work, image: np.ndarray, mask: np.ndarray | None,
           frame_hw: tuple[int, int]) -> _Reference:
        image = np.asarray(image)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"source must be an (H, W, 3) uint8 array, got {image.dtype} {image.shape}")
        mid = _reduced(image, frame_hw, work.k_mid, "source")
        small = _shrink(mid, work.k_small)
        if mask is None:
            matte = _estimate_mask(small)
        else:
            mask = np.asarray(mask)
            if mask.ndim != 2:
                raise ValueError(f"mask must be an (H, W) array, got shape {mask.shape}")
            # An 8-bit alpha channel is as good a matte as a float one.
            matte = mask.astype(np.float32) * np.float32(1 / 255 if mask.dtype == np.uint8 else 1.0)
            matte = _reduced(np.clip(matte, 0.0, 1.0), frame_hw, work.k_mid * work.k_small, "mask")
            if float((matte > 0.5).mean()) < 0.002:  # an empty matte says nothing: estimate one
                matte = _estimate_mask(small)
        level, weight = mid, cv2.resize(matte, (mid.shape[1], mid.shape[0]), interpolation=cv2.INTER_LINEAR)
        box = _box(weight)
        # SSIM's cost grows with the subject's area, its sensitivity with the subject's detail in
        # pixels: a subject filling the frame is compared at flow size, where it is still large.
        on_small = max(box[2:]) > SUBJECT_SIDE and work.k_small > 1
        if on_small:
            level, weight = small, matte
            box = _box(weight)
        x, y, w, h = box
        grey = cv2.cvtColor(level, cv2.COLOR_RGB2GRAY)
        subject = np.ascontiguousarray(grey[y:y + h, x:x + w], dtype=np.float32)
        return cls(
            grey=cv2.cvtColor(small, cv2.COLOR_RGB2GRAY),
            lab_sparse=np.ascontiguousarray(cv2.GaussianBlur(_to_lab(small), (0, 0), COLOUR_BLUR)[::2, ::2]),
            points=_sample_points(matte),
            subject_on_small=on_small,
            box=box,
            subject_grey=subject,
            subject_stats=_ssim_reference(subject),
            subject_weight=np.ascontiguousarray(weight[y:y + h, x:x + w], dtype=np.float32),
        )


def _reduced(image: np.ndarray, frame_hw: tuple[int, int], k: int, name: str) -> np.ndarray:
    """`image` at the frames' size shrunk by k, as the frames are: one at the frames' size takes
    the same integer-factor path; a same-aspect image of another size is resized straight to it;
    anything else is an error (a photo that was not framed like the clip cannot be compared pixel
    for pixel)."""
    if image.shape[:2] == frame_hw:
        return _shrink(image, k)
    if image.ndim < 2 or min(image.shape[:2]) < 1:
        raise ValueError(f"{name} must be an image the size of a frame, got shape {image.shape}")
    h, w = image.shape[:2]
    if abs((w / h) / (frame_hw[1] / frame_hw[0]) - 1.0) > 0.02:
        raise ValueError(
            f"{name} is {w}x{h} but the frames are {frame_hw[1]}x{frame_hw[0]}: "
            "frame the photo like the clip first (core.framing.fit_image)"
        )
    size = (frame_hw[1] // k, frame_hw[0] // k)
    interpolation = cv2.INTER_AREA if w > size[0] else cv2.INTER_LINEAR
    return cv2.resize(image, size, interpolation=interpolation)


def _estimate_mask(rgb: np.ndarray) -> np.ndarray:
    """A subject matte for a photo that came without one: the app's own segmentation, else the
    salient region, else the centre of the frame (where a subject usually is)."""
    matte = subject_matte(rgb)
    if float((matte > 0.5).mean()) >= 0.01:
        return matte.astype(np.float32)
    salient = saliency(rgb)
    if float(salient.max()) > 1e-3:
        low, high = np.percentile(salient, 60), np.percentile(salient, 90)
        if high - low > 1e-3:
            soft = np.clip((salient - low) / (high - low), 0.0, 1.0).astype(np.float32)
            if float((soft > 0.5).mean()) >= 0.01:
                return soft
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    centre = ((xx / w - 0.5) / 0.3) ** 2 + ((yy / h - 0.5) / 0.3) ** 2 <= 1.0
    return centre.astype(np.float32)


def _box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """The subject's bounding box, a little larger than the matte (SSIM needs context at its edge)."""
    points = cv2.findNonZero((mask > 0.1).astype(np.uint8))
    h, w = mask.shape
    if points is None:
        return 0, 0, w, h
    x, y, bw, bh = cv2.boundingRect(points)
    pad = 4
    x0, y0 = max(0, x - pad), max(0, y - pad)
    return x0, y0, min(w, x + bw + pad) - x0, min(h, y + bh + pad) - y0


def _sample_points(matte: np.ndarray) -> np.ndarray:
    """Up to SUBJECT_POINTS pixels spread evenly over the subject (the whole frame if the subject is
    too small to carry a homography)."""
    ys, xs = np.nonzero(matte > 0.5)
    if len(xs) < 40:
        ys, xs = np.nonzero(np.ones_like(matte, dtype=bool))
    pick = np.linspace(0, len(xs) - 1, min(len(xs), SUBJECT_POINTS)).astype(np.int64)
    return np.stack([xs[pick], ys[pick]], axis=1).astype(np.int32)


def _dis() -> cv2.DISOpticalFlow:
    # FAST: a millisecond per pair at flow size and accurate to a fraction of a pixel there;
    # MEDIUM costs three times as much for no visible change in the scores.
    return cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)


# -- motion and flow residual ------------------------------------------------------------------------


class _Consecutive:
    """The consecutive-frame pass, as far as the frames go: the flow from each frame to the next
    gives both the motion (median speed in % of the diagonal per second) and the residual (what
    the motion does not explain, once each next frame is warped back onto the current one).
    A scorer fed while the clip renders advances it as each frame comes."""

    def __init__(self, work: _Work, fps: float) -> None:
        self.work, self.fps = work, fps
        width, height = work.small_size
        self.diagonal = math.hypot(width, height)
        self.grid_x, self.grid_y = np.meshgrid(np.arange(width, dtype=np.float32),
                                               np.arange(height, dtype=np.float32))
        self.span = int(np.clip(round(fps * MOTION_WINDOW_S), 1, max(1, work.count - 1)))
        self.window: deque[tuple[np.ndarray, np.ndarray]] = deque()
        self.total = np.zeros((height, width, 2), np.float32)
        self.speeds: list[float] = []
        self.residuals: list[float] = []
        self.dis = _dis()
        self.done = 0  # pairs (i, i + 1) measured

    def advance(self, ready: int) -> None:
        """Measure every pair of frames before `ready` not measured yet."""
        grey = self.work.small_grey
        while self.done + 1 < ready:
            i = self.done
            flow = self.dis.calc(grey[i], grey[i + 1], None)
            self.window.append((flow, _gradient(grey[i])))
            self.total += flow
            if len(self.window) > self.span:
                self.total -= self.window.popleft()[0]
            if len(self.window) == self.span:
                length = _normal_flow(self.total, self.window[0][1])
                moving = np.maximum(length - MOTION_NOISE_PX, 0.0) if length.size else np.zeros(1, np.float32)
                speed = float(np.percentile(moving, MOTION_PERCENTILE)) * self.fps / self.span / self.diagonal
                self.speeds.append(speed * 100.0)
            self.residuals.append(_residual(grey[i], grey[i + 1], flow, self.grid_x, self.grid_y))
            self.done += 1

    def result(self) -> tuple[float, float]:
        """(median speed in % of the diagonal per second, mean residual / contrast), once every
        frame is in."""
        count = self.work.count
        if count < 2:
            return 0.0, 0.0
        if self.done != count - 1:
            raise ValueError(f"{self.done + 1} of {count} frames measured")
        sampled = self.work.small_grey[:: max(1, count // 8)]
        contrast = max(float(np.median([cv2.meanStdDev(g)[1][0, 0] for g in sampled])), MIN_CONTRAST_GREY)
        return float(np.median(self.speeds)), float(np.mean(self.residuals)) / contrast


def _gradient(grey: np.ndarray) -> np.ndarray:
    """(h, w, 2) brightness gradient in grey levels per pixel (Sobel, normalised)."""
    g = grey.astype(np.float32)
    return np.dstack((cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3))) / 8.0


def _normal_flow(flow: np.ndarray, gradient: np.ndarray) -> np.ndarray:
    """|flow · gradient| / |gradient| on every second pixel where the gradient can be seen: the
    part of the flow that the picture shows (see MOTION_MIN_GRADIENT). Empty on a flat picture."""
    flow, gradient = flow[::2, ::2], gradient[::2, ::2]
    steep = cv2.magnitude(gradient[..., 0], gradient[..., 1])
    seen = steep >= MOTION_MIN_GRADIENT
    along = flow[..., 0] * gradient[..., 0] + flow[..., 1] * gradient[..., 1]
    return np.abs(along[seen]) / steep[seen]


def _residual(current: np.ndarray, following: np.ndarray, flow: np.ndarray, grid_x: np.ndarray,
              grid_y: np.ndarray) -> float:
    """Mean |current − following warped back by the flow|, in grey levels, over the pixels that
    stay in frame. The frames' mean difference is taken out (that is pumping, measured on its own)
    and each pixel counts up to a cap (an occlusion is not flicker)."""
    map_x, map_y = grid_x + flow[..., 0], grid_y + flow[..., 1]
    warped = cv2.remap(following, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    height, width = current.shape
    inside = ((map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)).astype(np.uint8)
    if int(cv2.countNonZero(inside)) < 16:
        return 0.0
    a = current.astype(np.float32)
    b = warped.astype(np.float32)
    mean_a, std_a = (float(v[0, 0]) for v in cv2.meanStdDev(a, mask=inside))
    mean_b = cv2.mean(b, mask=inside)[0]
    diff = cv2.absdiff(a, b + np.float32(mean_a - mean_b))
    cap = FLICKER_CAP * max(std_a, MIN_CONTRAST_GREY)
    return float(cv2.mean(np.minimum(diff, np.float32(cap)), mask=inside)[0])


def _pumping(means: np.ndarray, fps: float) -> float:
    """RMS (ΔE units) of the frame-mean L*a*b* around its smooth trend: brightness or colour that
    pulses faster than any lighting change in a shot would."""
    count = len(means)
    if count < 3:
        return 0.0
    sigma = max(1.0, FLICKER_TREND_S * fps)
    trend = _smooth(means, sigma)
    return float(np.sqrt(np.mean(np.sum((means - trend) ** 2, axis=1))))


def _smooth(series: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing along the first axis. The ends are padded by odd reflection, which
    continues a linear trend, so a steady fade or drift is not mistaken for pumping at the ends."""
    radius = max(1, int(math.ceil(3 * sigma)))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    if len(series) < 2:
        return series.astype(np.float64)
    padded = np.pad(series.astype(np.float64), [(radius, radius)] + [(0, 0)] * (series.ndim - 1),
                    mode="reflect", reflect_type="odd")
    out = np.empty(series.shape, np.float64)
    for i in range(len(series)):
        out[i] = np.tensordot(kernel, padded[i:i + 2 * radius + 1], axes=(0, 0))
    return out


# -- following the reference: subject and colour -------------------------------------------------------


@dataclass
class _Followed:
    # similarity, delta_e and the two stats: every `stride`-th frame's (zero and NaN in between)
    similarity: np.ndarray  # (T,) subject SSIM, NaN where too little of the subject is in view
    delta_e: np.ndarray  # (T,) median ΔE between the reference and the aligned frame
    frame_lab_means: np.ndarray  # (T, 3) whole-frame mean L*a*b*
    contrast_l: np.ndarray  # (T,) std of L* over the frame
    frame_stats: np.ndarray  # (T, 2, 3) mean and std of the aligned frame where it overlaps the reference
    reference_stats: np.ndarray  # (T, 2, 3) the same for the reference


def _follow_reference(work: _Work, reference: _Reference, subject: bool = True) -> _Followed:
    """Align every frame to the reference and compare (the subject too unless `subject` is False)."""
    follower = _Follower(work, reference, subject)
    follower.advance(work.count)
    return follower.result()


class _Follower:
    """Aligns frame after frame to the reference and compares (see `_Followed`), as far as the
    frames go: a scorer fed while the clip renders advances as each frame comes.

    The subject's motion is a homography, refined frame by frame: the frame is first warped with
    the previous frame's homography, so the flow from the reference to it only has to find the
    small change since then. A homography (not the dense flow) undoes the motion, so that a subject
    that melts, warps or is replaced stays different. Colour is compared after the dense flow, which
    lines up the whole picture (background parallax included) and leaves colour alone.
    """

    def __init__(self, work: _Work, reference: _Reference, subject: bool = True, stride: int = 1) -> None:
        count = work.count
        width, height = work.small_size
        self.work, self.reference, self.subject, self.stride = work, reference, subject, stride
        self.grid_x, self.grid_y = np.meshgrid(np.arange(width, dtype=np.float32),
                                               np.arange(height, dtype=np.float32))
        self.sources = reference.points.astype(np.float32)
        self.homography = np.eye(3)
        self.dis = _dis()
        self.similarity = np.full(count, np.nan)
        self.delta_e = np.zeros(count)
        self.means = np.zeros((count, 3))
        self.contrast = np.zeros(count)
        self.frame_stats = np.zeros((count, 2, 3))
        self.reference_stats = np.zeros((count, 2, 3))
        self.to_level = np.eye(3) if reference.subject_on_small else _scale_matrix(work.k_small)
        self.from_level = np.linalg.inv(self.to_level)
        self.levels = work.small_grey if reference.subject_on_small else work.mid_grey
        self.done = 0

    def compares_on_mid(self, t: int) -> bool:
        """Whether frame t's subject is compared at mid size (else its mid copy is never read)."""
        return self.levels is self.work.mid_grey and t % self.stride == 0

    def advance(self, ready: int) -> None:
        """Compare every frame before `ready` not compared yet (frames are compared in order)."""
        while self.done < ready:
            if self.done % self.stride == 0:
                self._step(self.done)
            else:  # between compared frames, only what pumping needs: the frame's brightness
                self._lab_stats(self.done, _to_lab(self.work.small[self.done]))
            self.done += 1

    def _step(self, t: int) -> None:
        work, reference = self.work, self.reference
        width, height = work.small_size
        px, py = reference.points[:, 0], reference.points[:, 1]
        homography = self.homography
        prewarped = cv2.warpPerspective(work.small_grey[t], homography, (width, height), flags=PULL_BACK,
                                        borderMode=cv2.BORDER_REPLICATE)
        flow = self.dis.calc(reference.grey, prewarped, None)
        # Dense: where each reference pixel is in frame t (through the flow, then the homography).
        map_x, map_y = _apply(homography, self.grid_x + flow[..., 0], self.grid_y + flow[..., 1])
        step = _fit_homography(self.sources, self.sources + flow[py, px])
        moved = None
        if step is not None:
            moved = homography @ step
            moved /= moved[2, 2]
        if self.subject:
            # A step is kept only if it lines the subject up at least as well as standing still:
            # a bad fit on one frame (a RANSAC draw on a few wrong flow vectors) would otherwise
            # carry on, misaligned, for many frames and read as the subject changing.
            to_level, from_level = self.to_level, self.from_level
            kept = _subject_similarity(self.levels[t], to_level @ homography @ from_level, reference)
            if moved is not None:
                tried = _subject_similarity(self.levels[t], to_level @ moved @ from_level, reference)
                if not tried < kept:  # NaN (out of view) where the old one was not: the move wins
                    homography, kept = moved, tried
            self.similarity[t] = kept
        elif moved is not None:
            homography = moved
        self.homography = homography
        lab = _to_lab(work.small[t])
        self._lab_stats(t, lab)
        blurred = cv2.GaussianBlur(lab, (0, 0), COLOUR_BLUR)
        self.delta_e[t], self.frame_stats[t], self.reference_stats[t] = _colour_compare(blurred, map_x, map_y,
                                                                                       reference)

    def _lab_stats(self, t: int, lab: np.ndarray) -> None:
        mean, std = cv2.meanStdDev(lab)
        self.means[t], self.contrast[t] = mean.ravel(), float(std[0, 0])

    def result(self) -> _Followed:
        if self.done != self.work.count:
            raise ValueError(f"{self.done} of {self.work.count} frames compared")
        return _Followed(self.similarity, self.delta_e, self.means, self.contrast, self.frame_stats,
                         self.reference_stats)


def _scale_matrix(k: int) -> np.ndarray:
    """Small → mid pixel coordinates: area averaging by k puts small pixel i's centre on mid
    coordinate k·i + (k − 1)/2."""
    offset = (k - 1) / 2.0
    return np.array([[k, 0, offset], [0, k, offset], [0, 0, 1]], dtype=np.float64)


def _apply(matrix: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points (x, y) through a 3×3 homography."""
    m = matrix.astype(np.float32)
    w = m[2, 0] * x + m[2, 1] * y + m[2, 2]
    # Far outside the picture a strong perspective can reach the horizon (w → 0): keep such
    # points finite, they land far outside the frame either way.
    w = np.where(np.abs(w) < 1e-6, np.float32(1e-6), w)
    return (m[0, 0] * x + m[0, 1] * y + m[0, 2]) / w, (m[1, 0] * x + m[1, 1] * y + m[1, 2]) / w


def _fit_homography(sources: np.ndarray, targets: np.ndarray) -> np.ndarray | None:
    """The homography that best maps `sources` to `targets` (RANSAC: flow on a few textureless
    or occluded spots is wrong), or None when there is no trustworthy one."""
    if len(sources) < 8:
        return None
    matrix, inliers = cv2.findHomography(sources, targets, cv2.RANSAC, 1.0, maxIters=500, confidence=0.99)
    if matrix is None or inliers is None or int(inliers.sum()) < max(8, len(sources) // 5):
        matrix, inliers = cv2.estimateAffine2D(sources, targets, method=cv2.RANSAC, ransacReprojThreshold=1.0)
        if matrix is None:
            return None
        matrix = np.vstack([matrix, [0.0, 0.0, 1.0]])
    # A frame-to-frame step this small never flips or folds the picture; one that does is a bad fit.
    linear = matrix[:2, :2] / matrix[2, 2]
    if not 0.25 < float(np.linalg.det(linear)) < 4.0 or np.abs(matrix[2, :2]).max() > 0.01:
        return None
    return matrix


def _subject_similarity(frame: np.ndarray, homography: np.ndarray, reference: _Reference) -> float:
    """Mask-weighted SSIM between the reference's subject and the frame pulled back onto it."""
    x, y, w, h = reference.box
    matrix = homography @ np.array([[1, 0, x], [0, 1, y], [0, 0, 1]], dtype=np.float64)
    aligned = cv2.warpPerspective(frame, matrix, (w, h), flags=PULL_BACK,
                                  borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    weight = reference.subject_weight
    fh, fw = frame.shape

    def inside(px: np.ndarray, py: np.ndarray) -> np.ndarray:
        return (px >= 0) & (px <= fw - 1) & (py >= 0) & (py <= fh - 1)

    # The subject may leave the picture. A homography maps the box onto a convex quadrilateral, so
    # when its four corners are in frame all of it is, and the per-pixel test is skipped.
    corners = _apply(matrix, np.array([0, w - 1, w - 1, 0], np.float32),
                     np.array([0, 0, h - 1, h - 1], np.float32))
    if not inside(*corners).all():
        weight = weight * inside(*_apply(matrix, *np.meshgrid(np.arange(w, dtype=np.float32),
                                                              np.arange(h, dtype=np.float32))))
        if float(weight.sum()) < SUBJECT_MIN_VISIBLE * max(float(reference.subject_weight.sum()), 1e-6):
            return float("nan")
    loss = np.clip(1.0 - _ssim_map(reference.subject_grey, reference.subject_stats, aligned), 0.0, 1.0)
    # Minkowski pooling (p = 2) instead of a plain mean: a quarter of the subject melted away
    # weighs as it looks, instead of being averaged down by the three quarters that held.
    pooled = math.sqrt(float((loss * loss * weight).sum()) / max(float(weight.sum()), 1e-6))
    return 1.0 - pooled


SSIM_C1, SSIM_C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2


def _ssim_blur(image: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), 1.5)


def _ssim_map(a: np.ndarray, a_stats: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Wang et al.'s SSIM per pixel (Gaussian window, sigma 1.5, 8-bit constants).

    `a_stats` is the reference's local mean and variance (it is the same for every frame); the
    frame's three local moments are blurred in one three-channel call, a third of the cost of three.
    """
    mu_a, var_a = a_stats[..., 0], a_stats[..., 1]
    moments = _ssim_blur(cv2.merge([b, b * b, a * b]))
    mu_b = moments[..., 0]
    var_b = moments[..., 1] - mu_b * mu_b
    cov = moments[..., 2] - mu_a * mu_b
    return ((2 * mu_a * mu_b + SSIM_C1) * (2 * cov + SSIM_C2)) / (
        (mu_a * mu_a + mu_b * mu_b + SSIM_C1) * (var_a + var_b + SSIM_C2)
    )


def _ssim_reference(a: np.ndarray) -> np.ndarray:
    """The reference side of _ssim_map: local mean and variance, (h, w, 2)."""
    moments = _ssim_blur(cv2.merge([a, a * a]))
    mu = moments[..., 0]
    return np.dstack([mu, moments[..., 1] - mu * mu])


def _colour_compare(lab_blurred: np.ndarray, map_x: np.ndarray, map_y: np.ndarray,
                    reference: _Reference) -> tuple[float, np.ndarray, np.ndarray]:
    """Median ΔE (CIE76) between the reference and frame t aligned onto it, and both sides' L*a*b*
    mean and std over the pixels they share (for correct_colour).

    The colours were blurred first, so every second pixel is enough (and four times cheaper).
    """
    map_x, map_y = map_x[::2, ::2], map_y[::2, ::2]
    aligned = cv2.remap(lab_blurred, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    height, width = lab_blurred.shape[:2]
    inside = (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)
    if inside.sum() < 16:
        inside[:] = True
    diff = aligned - reference.lab_sparse
    distance = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
    mask = inside.astype(np.uint8)
    frame_stats = np.array(cv2.meanStdDev(aligned, mask=mask)).reshape(2, 3)
    reference_stats = np.array(cv2.meanStdDev(reference.lab_sparse, mask=mask)).reshape(2, 3)
    return float(np.median(distance[inside])), frame_stats, reference_stats


# -- the five scores ----------------------------------------------------------------------------------


def _score(value: float, rating: float, reason: str, flagged: bool) -> Score:
    """A Score with its numbers rounded to four decimals: more than any reader needs, and it keeps
    the JSON the same from run to run (OpenCV's threaded sums can differ in the last bits)."""
    return Score(round(float(value), 4), round(float(rating), 4), reason, bool(flagged))


def _falling(value: float, half: float, power: float = 2.0) -> float:
    """1 at 0, 0.5 at `half`, towards 0 beyond: a rating that keeps telling bad from worse."""
    return float(1.0 / (1.0 + (max(value, 0.0) / half) ** power))


def _motion_score(value: float) -> Score:
    rating = 1.0 - _falling(value, MOTION_HALF, 3.0)
    speed = f"{value:.1f} % of the frame per second"
    if value < MOTION_STATIC:
        reason = f"almost static ({speed})"
    elif value < MOTION_CLEAR:
        reason = f"gentle motion ({speed})"
    elif value < MOTION_FAST:
        reason = f"moves clearly ({speed})"
    else:
        reason = f"fast motion ({speed})"
    return _score(value, rating, reason, value < MOTION_STATIC)


def _flicker_score(residual: float, pumping: float) -> Score:
    value = float(min(1.0, residual + pumping))
    rating = _falling(value, FLICKER_HALF)
    cause = "brightness/colour pumping" if pumping > residual else "unstable detail"
    if value < 0.05:
        reason = f"steady ({value:.2f})"
    elif value < FLICKER_FLAG:
        reason = f"slight flicker ({value:.2f}, mostly {cause})"
    else:
        reason = f"flickers ({value:.2f}, mostly {cause})"
    return _score(value, rating, reason, value >= FLICKER_FLAG)


def _subject_score(similarity: np.ndarray, fps: float) -> Score:
    seen = np.flatnonzero(np.isfinite(similarity))
    if len(seen) == 0:
        return _score(0.0, 0.0, "the subject leaves the frame", True)
    worst = int(seen[np.argmin(similarity[seen])])
    value = float(np.clip(similarity[worst], 0.0, 1.0))
    rating = _falling(1.0 - value, SUBJECT_HALF, 3.0)
    where = f"worst at {worst / fps:.1f} s ({value:.2f})"
    if value >= SUBJECT_GOOD:
        reason = f"holds up; {where}"
    elif value >= SUBJECT_FLAG:
        reason = f"changes a little; {where}"
    else:
        reason = f"changes from the photo; {where}"
    return _score(value, rating, reason, value < SUBJECT_FLAG)


def _colour_score(delta_e: np.ndarray, fps: float) -> Score:
    value = float(np.mean(delta_e))
    end = float(np.mean(delta_e[-max(1, round(fps * COLOUR_END_S)):]))
    rating = _falling(value, COLOUR_HALF)
    figures = f"ΔE {value:.1f} on average, {end:.1f} at the end"
    flagged = max(value, end) > COLOUR_FLAG
    if flagged:
        reason = f"colours drift from the photo ({figures})"
    elif max(value, end) > COLOUR_FLAG / 2:
        reason = f"colours shift a little ({figures})"
    else:
        reason = f"colours hold ({figures})"
    return _score(value, rating, reason, flagged)


def _seam_score(work: _Work) -> Score:
    """The jump from the last frame back to the first against the steps on either side of it.

    A step's size is how far the picture moves (mean flow length) plus what the flow does not
    explain (the residual over the mean gradient: grey levels over grey levels per pixel, so also
    in pixels). Plain frame differences would saturate once motion exceeds the texture's scale,
    so a fast loop would hide a jump. The neighbouring steps, not the whole clip's, set the scale:
    a loop that moves fastest where it wraps (an orbit through its rest view) is still seamless.
    """
    count = work.count
    if count < 4:
        return _score(0.0, 1.0, "too short to judge the loop", False)
    width, height = work.small_size
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    dis = _dis()
    grey = work.small_grey

    def step(a: int, b: int) -> float:
        flow = dis.calc(grey[a], grey[b], None)
        first = grey[a].astype(np.float32)
        gradient = cv2.mean(cv2.magnitude(cv2.Sobel(first, cv2.CV_32F, 1, 0, ksize=3),
                                          cv2.Sobel(first, cv2.CV_32F, 0, 1, ksize=3)))[0] / 8
        moved = cv2.mean(cv2.magnitude(flow[..., 0], flow[..., 1]))[0]
        unexplained = _residual(grey[a], grey[b], flow, grid_x, grid_y)
        return moved + unexplained / max(gradient, 1.0)

    side = min(SEAM_NEIGHBOURS, (count - 2) // 2)
    steps = [step(i, i + 1) for i in range(side)] + [step(count - 2 - i, count - 1 - i) for i in range(side)]
    value = step(count - 1, 0) / max(float(np.median(steps)), SEAM_MIN_STEP)
    rating = _falling(max(value - 1.0, 0.0), SEAM_WIDTH)
    if value <= 1.2:
        reason = f"seamless loop (the seam is {value:.1f}× a normal step)"
    elif value <= SEAM_FLAG:
        reason = f"loops with a slight bump ({value:.1f}× a normal step)"
    else:
        reason = f"visible jump where the loop restarts ({value:.1f}× a normal step)"
    return _score(value, rating, reason, value > SEAM_FLAG)


def _adherence_score(work: _Work, move: str) -> Score:
    """The camera's motion, read off the flow-size copies (about 180 px on the short side for a
    1080p clip: what motion.py works at), against the asked move."""
    picks = camera_motion.sample_indices(work.count)
    match = adherence(camera_motion.estimate([work.small_grey[i] for i in picks]), move)
    return _score(match.amount, match.rating, match.reason, not match.matched)


# -- colour correction -----------------------------------------------------------------------------------


def correct_colour(frames: np.ndarray, source: np.ndarray) -> np.ndarray:
    """The clip with each frame's colour statistics matched back to the photo's.

    Per channel of L*a*b*, the mean and spread of the frame are mapped onto the photo's, both
    measured over the same scene points (the frame aligned onto the photo), so that a subject that
    grows in frame or a pan onto new ground does not read as a colour change. The corrections are
    smoothed over time, so they cannot themselves flicker. Returns new uint8 frames.
    """
    frames = _check_frames(frames)
    source = np.asarray(source)
    work = _Work.of(frames)
    reference = _Reference.of(work, source, None, frames.shape[1:3])
    followed = _follow_reference(work, reference, subject=False)
    sigma = 2.0  # frames; the clip's rate is not known here, and a real drift is slower than this
    ours = _smooth(followed.frame_stats.reshape(len(frames), -1), sigma).reshape(-1, 2, 3)
    theirs = _smooth(followed.reference_stats.reshape(len(frames), -1), sigma).reshape(-1, 2, 3)
    # OpenCV's 8-bit L*a*b*: L scaled to 0..255, a and b offset by 128.
    scale = np.array([255 / 100, 1.0, 1.0])
    offset = np.array([0.0, 128.0, 128.0])
    levels = np.arange(256, dtype=np.float64)[:, None]
    out = np.empty_like(frames)
    for t, frame in enumerate(frames):
        gain = np.clip(theirs[t, 1] / np.maximum(ours[t, 1], 1.0), 0.5, 2.0)
        value = (levels - offset) / scale  # each 8-bit level in real L*a*b* units
        mapped = (value - ours[t, 0]) * gain + theirs[t, 0]
        table = np.clip(mapped * scale + offset + 0.5, 0, 255).astype(np.uint8)
        lab = cv2.cvtColor(frame, cv2.COLOR_RGB2Lab)
        cv2.LUT(lab, table.reshape(1, 256, 3), dst=lab)
        cv2.cvtColor(lab, cv2.COLOR_Lab2RGB, dst=out[t])
    return out


# -- the early warning ---------------------------------------------------------------------------------


def early_warning(frames: np.ndarray, source: np.ndarray | None, move: str | None = None) -> str | None:
    """A one-line warning from a streaming preview of a clip still denoising, or None.

    The preview is tiny (tens of pixels) and its colours approximate, so this looks only at what
    survives that: whether anything moves at all over the clip, and whether its average colour is
    heading away from the photo's; and, given the asked `move`, whether the camera clearly does
    another ("not orbiting", "moving the wrong way"). A few milliseconds for a typical preview.
    """
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] < 1:
        raise ValueError(f"frames must be a (T, H, W, 3) uint8 array, got {frames.dtype} {frames.shape}")
    count, height, width = frames.shape[:3]
    k = _factor(max(height, width), EARLY_SIDE)
    small = [_shrink(frame, k) for frame in frames]
    if count >= 2 and _preview_motion(small) < EARLY_STATIC:
        return "almost static: consider cancelling and reseeding"
    if count >= 3 and move is not None:
        # At this size motion.py has a few points per plane, so only a clear disagreement speaks
        # (adherence.warning).
        grey = [cv2.cvtColor(small[i], cv2.COLOR_RGB2GRAY) for i in camera_motion.sample_indices(count)]
        wrong = warning(camera_motion.estimate(grey), move)
        if wrong:
            return wrong
    if _preview_drift(small, source) > EARLY_DRIFT:
        return "colours drifting from the photo"
    return None


def _preview_motion(small: list[np.ndarray]) -> float:
    """How far the picture moves over the preview, in % of its diagonal, at most.

    For a small displacement d, |I(x + d) − I(x)| ≈ |∇I·d|, so the mean frame difference over the
    mean gradient estimates d in pixels without computing flow (unreliable at this size). Preview
    noise differs from frame to frame and would read as motion: the typical difference between
    neighbouring frames is taken off, since noise makes every pair differ by that much while
    motion makes frames further apart differ more.
    """
    grey = [cv2.GaussianBlur(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), 1.0)
            for f in small]
    first = grey[0]
    gx, gy = cv2.Sobel(first, cv2.CV_32F, 1, 0, ksize=3) / 8, cv2.Sobel(first, cv2.CV_32F, 0, 1, ksize=3) / 8
    gradient = float(np.mean(np.abs(gx) + np.abs(gy))) / 2
    if gradient < 0.05:  # a flat picture: motion cannot be seen, so it is not reported missing
        return float("inf")

    def difference(a: np.ndarray, b: np.ndarray) -> float:
        return float(cv2.norm(a, b, cv2.NORM_L1)) / a.size

    steps = [difference(a, b) for a, b in zip(grey[:-1], grey[1:])]
    noise = float(np.median(steps)) if len(grey) > 2 else 0.0
    moved = max(0.0, max(difference(g, first) for g in grey[1:]) - noise) / gradient
    height, width = first.shape
    return moved / math.hypot(width, height) * 100.0


def _preview_drift(small: list[np.ndarray], source: np.ndarray | None) -> float:
    """ΔE of the preview's late average colour from the photo's, beyond the preview's own error.

    In image-to-video the first frame is the photo, so whatever separates the preview's first frame
    from the photo is the latent → RGB projection's error; up to EARLY_BIAS of it is forgiven.
    Without the photo, the first frame is the reference.
    """
    means = np.array([_to_lab(f).reshape(-1, 3).mean(axis=0) for f in small])
    late = means[len(means) * 2 // 3:].mean(axis=0)
    if source is None:
        return float(np.linalg.norm(late - means[0]))
    source = np.asarray(source)
    if source.dtype != np.uint8 or source.ndim != 3 or source.shape[2] != 3:
        raise ValueError(f"source must be an (H, W, 3) uint8 array, got {source.dtype} {source.shape}")
    height, width = small[0].shape[:2]
    # Most of the way by an integer factor (OpenCV's fast path), the rest by a plain area resize:
    # shrinking a 720p photo straight to 40 px costs more than the whole check.
    photo = _shrink(source, max(1, max(source.shape[:2]) // (2 * max(height, width))))
    photo = cv2.resize(photo, (width, height), interpolation=cv2.INTER_AREA)
    target = _to_lab(photo).reshape(-1, 3).mean(axis=0)
    bias = means[0] - target
    norm = float(np.linalg.norm(bias))
    if norm > EARLY_BIAS:
        bias *= EARLY_BIAS / norm
    return float(np.linalg.norm(late - target - bias))


def _is_number(value: Any) -> bool:
    numeric = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
    return numeric and math.isfinite(value)
