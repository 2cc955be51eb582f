"""The clip scorecard on real clips (the instant engine on the sample photos) and on the same clips
with defects injected: each measure must notice its defect, grow with it, and leave the others be.
"""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import pytest

from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.framing import fit_image
from i2v_desktop.core.image import load_image
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.core.resources import resource_path
from i2v_desktop.core.subject import subject_matte
from i2v_desktop.engine.instant import InstantEngine
from i2v_desktop.quality.scorecard import (
    WEIGHT_KEYS,
    Score,
    Scorecard,
    WeightsError,
    correct_colour,
    early_warning,
    load_weights,
    score_clip,
)

SAMPLES = resource_path("samples")
FPS = 12
DURATION = 1.5
HALF_S = DURATION / 2


class Clip:
    """A rendered clip with its photo framed the same way and the photo's subject matte."""

    def __init__(self, photo: str, preset: str, loop: bool = False) -> None:
        # The seed picks the camera's take; seed 3's push in drifts the subject 2 % of the frame
        # down, and a sigma-3 blur of it is then within the subject score's noise (0.866 vs 0.864).
        request = GenerationRequest(image=str(SAMPLES / photo), preset=preset, duration=DURATION, fps=FPS,
                                    quality="draft", aspect="16:9", loop=loop, seed=2)
        clip = InstantEngine().generate(request, lambda event: None, CancelToken())
        self.frames = np.array(clip.frames)  # writable copy: the defects are drawn into copies of it
        self.loop = loop
        count, height, width = self.frames.shape[:3]
        self.source, _, _ = fit_image(load_image(request.image), (width, height))
        self.mask = subject_matte(self.source)
        ys, xs = np.nonzero(self.mask > 0.5)
        assert len(xs) > 0, "the sample's subject should be found"
        self.centre = (float(xs.mean()), float(ys.mean()))
        self.size = float(max(np.ptp(xs), np.ptp(ys)))
        self._cards: dict[str, Scorecard] = {}

    def score(self, frames: np.ndarray, label: str | None = None) -> Scorecard:
        """The clip's scorecard (cached by label: several tests look at the same defect)."""
        if label is not None and label in self._cards:
            return self._cards[label]
        card = score_clip(frames, FPS, self.source, self.mask, loop=self.loop)
        if label is not None:
            self._cards[label] = card
        return card

    @property
    def clean(self) -> Scorecard:
        return self.score(self.frames, "clean")

    def from_half(self, defect: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """The clip with `defect` applied to every frame from halfway on."""
        out = self.frames.copy()
        for t in range(len(out) // 2, len(out)):
            out[t] = defect(out[t])
        return out


@pytest.fixture(scope="module")
def clip() -> Clip:
    return Clip("coffee.jpg", "push-in")


# -- defects --------------------------------------------------------------------------------------


def pumped(frames: np.ndarray, k: float) -> np.ndarray:
    """Alternate frames brighter and darker by a gain of ±k."""
    gains = np.where(np.arange(len(frames)) % 2 == 0, 1.0 - k, 1.0 + k).astype(np.float32)
    return np.clip(frames * gains[:, None, None, None] + 0.5, 0, 255).astype(np.uint8)


def tinted(frames: np.ndarray, strength: float, growing: bool = True) -> np.ndarray:
    """A warm tint (red up, blue down), growing from nothing to `strength` over the clip."""
    out = frames.astype(np.float32)
    for t in range(len(out)):
        amount = strength * (t / max(1, len(out) - 1) if growing else 1.0)
        out[t, ..., 0] *= 1.0 + amount
        out[t, ..., 2] *= 1.0 - amount
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def blurred_subject(clip: Clip, sigma: float) -> Callable[[np.ndarray], np.ndarray]:
    height, width = clip.frames.shape[1:3]
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = clip.centre
    region = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * (0.35 * clip.size) ** 2))[..., None]

    def defect(frame: np.ndarray) -> np.ndarray:
        soft = cv2.GaussianBlur(frame, (0, 0), sigma)
        return (frame * (1 - region) + soft * region + 0.5).astype(np.uint8)

    return defect


def warped_subject(clip: Clip, amplitude: float) -> Callable[[np.ndarray], np.ndarray]:
    """A local swirl-like distortion on the subject, `amplitude` pixels at its strongest."""
    height, width = clip.frames.shape[1:3]
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = clip.centre
    radius = 0.2 * clip.size
    bump = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * radius**2))
    map_x = (xx - amplitude * bump * np.sin((yy - cy) / radius * 2)).astype(np.float32)
    map_y = (yy + amplitude * bump * np.sin((xx - cx) / radius * 2)).astype(np.float32)

    def defect(frame: np.ndarray) -> np.ndarray:
        return cv2.remap(frame, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)

    return defect


def replaced_subject(clip: Clip, fraction: float) -> Callable[[np.ndarray], np.ndarray]:
    """Another sample photo pasted over the subject, a square `fraction` of the subject's size."""
    height, width = clip.frames.shape[1:3]
    side = int(clip.size * fraction)
    other = np.array(load_image(SAMPLES / "astronaut.jpg").rgb)
    patch = cv2.resize(other, (side, side), interpolation=cv2.INTER_AREA)
    x0, y0 = int(clip.centre[0] - side / 2), int(clip.centre[1] - side / 2)
    left, top, right, bottom = max(0, x0), max(0, y0), min(width, x0 + side), min(height, y0 + side)

    def defect(frame: np.ndarray) -> np.ndarray:
        out = frame.copy()
        out[top:bottom, left:right] = patch[top - y0:bottom - y0, left - x0:right - x0]
        return out

    return defect


DEFECTS = {
    "blur": (blurred_subject, (3.0, 6.0, 12.0)),  # Gaussian sigma, px
    "warp": (warped_subject, (6.0, 12.0, 24.0)),  # displacement, px
    "replace": (replaced_subject, (0.25, 0.5, 1.0)),  # side, share of the subject's
}


def jumped_at_end(frames: np.ndarray) -> np.ndarray:
    """The last three frames framed differently (5 % closer, shifted): a jump back to the start."""
    out = frames.copy()
    height, width = frames.shape[1:3]
    matrix = np.float32([[1.05, 0, -0.05 * width], [0, 1.05, -0.025 * height]])
    for t in range(len(out) - 3, len(out)):
        out[t] = cv2.warpAffine(frames[t], matrix, (width, height), borderMode=cv2.BORDER_REFLECT)
    return out


def worst_time(score: Score) -> float:
    match = re.search(r"worst at (\d+(?:\.\d+)?) s", score.reason)
    assert match, score.reason
    return float(match.group(1))


# -- motion ---------------------------------------------------------------------------------------


def test_a_still_clip_is_almost_static_and_a_moving_one_is_not(clip: Clip) -> None:
    still = clip.score(np.repeat(clip.frames[:1], len(clip.frames), axis=0), "still")
    assert still.motion.flagged
    assert "almost static" in still.motion.reason
    assert not clip.clean.motion.flagged
    assert "almost static" not in clip.clean.motion.reason
    assert clip.clean.motion.value > still.motion.value + 1.0
    assert clip.clean.motion.rating > still.motion.rating


# -- flicker --------------------------------------------------------------------------------------


def test_flicker_grows_with_brightness_pumping(clip: Clip) -> None:
    cards = [clip.score(pumped(clip.frames, k), f"pump {k}") for k in (0.0, 0.02, 0.05, 0.10)]
    values = [card.flicker.value for card in cards]
    ratings = [card.flicker.rating for card in cards]
    assert values == sorted(values) and len(set(values)) == len(values), values
    assert ratings == sorted(ratings, reverse=True) and len(set(ratings)) == len(ratings), ratings
    assert not cards[0].flicker.flagged
    assert cards[-1].flicker.flagged
    assert "pumping" in cards[-1].flicker.reason


# -- subject --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(DEFECTS))
def test_subject_score_falls_with_the_size_of_the_defect(clip: Clip, kind: str) -> None:
    make, sizes = DEFECTS[kind]
    clean = clip.clean.subject
    cards = [clip.score(clip.from_half(make(clip, size)), f"{kind} {size}") for size in sizes]
    values = [clean.value] + [card.subject.value for card in cards]
    assert all(a > b for a, b in zip(values, values[1:])), f"{kind}: {values}"
    assert clean.rating > cards[-1].subject.rating
    assert not clean.flagged
    # The defect starts halfway: that is where the worst frame is, and the reason says so.
    assert worst_time(cards[-1].subject) >= HALF_S - 1 / FPS
    assert "holds up" in clean.reason


def test_a_replaced_subject_is_flagged(clip: Clip) -> None:
    card = clip.score(clip.from_half(replaced_subject(clip, 1.0)), "replace 1.0")
    assert card.subject.flagged
    assert card.subject.value < 0.5


# -- colour ---------------------------------------------------------------------------------------


def test_colour_drift_grows_with_the_tint_and_correction_removes_it(clip: Clip) -> None:
    cards = [clip.score(tinted(clip.frames, s), f"tint {s}") for s in (0.05, 0.10, 0.20)]
    drifts = [clip.clean.colour_drift.value] + [card.colour_drift.value for card in cards]
    assert all(a < b for a, b in zip(drifts, drifts[1:])), drifts
    assert not clip.clean.colour_drift.flagged
    assert cards[-1].colour_drift.flagged
    assert "at the end" in cards[-1].colour_drift.reason

    strong = tinted(clip.frames, 0.20)
    fixed = correct_colour(strong, clip.source)
    assert fixed.shape == strong.shape and fixed.dtype == np.uint8
    after = clip.score(fixed)
    assert after.colour_drift.value < 0.4 * cards[-1].colour_drift.value
    # Smoothed over time, the correction adds no flicker of its own.
    assert after.flicker.value <= cards[-1].flicker.value + 0.02
    assert not after.flicker.flagged


def test_correct_colour_leaves_a_faithful_clip_nearly_alone(clip: Clip) -> None:
    fixed = correct_colour(clip.frames[:6], clip.source)
    assert float(np.abs(fixed.astype(np.int16) - clip.frames[:6]).mean()) < 2.0


# -- loop seam ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("photo", "preset"), [("coffee.jpg", "push-in"), ("astronaut.jpg", "orbit")])
def test_a_clean_loop_passes_and_a_jump_at_the_end_fails(photo: str, preset: str) -> None:
    loop = Clip(photo, preset, loop=True)
    clean = loop.clean.loop_seam
    assert clean is not None and not clean.flagged, clean
    jumped = loop.score(jumped_at_end(loop.frames)).loop_seam
    assert jumped is not None and jumped.flagged and jumped.value > 1.5, jumped
    assert jumped.rating < clean.rating


def test_a_clip_that_does_not_loop_has_no_seam_score(clip: Clip) -> None:
    assert clip.clean.loop_seam is None
    assert "seam" not in clip.clean.summary()


# -- overall and weights --------------------------------------------------------------------------


def test_the_clean_clip_ranks_above_every_defective_version(clip: Clip) -> None:
    defective = {
        "still": np.repeat(clip.frames[:1], len(clip.frames), axis=0),
        "pump 0.05": pumped(clip.frames, 0.05),
        "tint 0.2": tinted(clip.frames, 0.20),
    }
    for kind, (make, sizes) in DEFECTS.items():
        defective[f"{kind} {sizes[1]}"] = clip.from_half(make(clip, sizes[1]))
    clean = clip.clean.overall
    for label, frames in defective.items():
        assert clip.score(frames, label).overall < clean, label


def test_overall_is_the_weighted_mean_of_the_ratings(clip: Clip) -> None:
    weights = load_weights()
    card = clip.clean
    ratings = {name: score.rating for name, score in card.scores().items()}
    assert "loop_seam" not in ratings  # not a loop: its weight does not count
    expected = sum(weights[n] * r for n, r in ratings.items()) / sum(weights[n] for n in ratings)
    assert card.overall == pytest.approx(expected, abs=1e-4)


def test_the_seam_counts_towards_overall_only_in_a_loop() -> None:
    loop = Clip("coffee.jpg", "push-in", loop=True)
    card = loop.clean
    weights = load_weights()
    names = [name for name in WEIGHT_KEYS if name != "motion_adherence"]  # no move asked here
    ratings = {name: score.rating for name, score in card.scores().items()}
    expected = sum(weights[n] * ratings[n] for n in names) / sum(weights[n] for n in names)
    assert card.overall == pytest.approx(expected, abs=1e-4)


def test_weights_load_from_the_resource_file() -> None:
    weights = load_weights()
    assert set(weights) == set(WEIGHT_KEYS)
    assert all(isinstance(w, float) and w >= 0 for w in weights.values())
    assert sum(weights.values()) > 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"motion": 1}', "expected"),
        ('{"weights": {"motion": 1, "flicker": 1, "subject": 1, "colour_drift": 1, "loop_seam": 1, '
         '"sharpness": 1}}', "unknown measure(s) sharpness"),
        ('{"weights": {"motion": 1, "flicker": 1, "subject": 1, "colour_drift": 1}}',
         "no weight for loop_seam"),
        ('{"weights": {"motion": -1, "flicker": 1, "subject": 1, "colour_drift": 1, "loop_seam": 1, '
         '"motion_adherence": 1}}',
         "weight of motion must be a non-negative number"),
        ('{"weights": {"motion": "1", "flicker": 1, "subject": 1, "colour_drift": 1, "loop_seam": 1, '
         '"motion_adherence": 1}}',
         "weight of motion must be a non-negative number"),
        ('{"weights": {"motion": 0, "flicker": 0, "subject": 0, "colour_drift": 0, "loop_seam": 0, '
         '"motion_adherence": 0}}',
         "add up to zero"),
    ],
)
def test_a_broken_weights_file_gives_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "scorecard.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(WeightsError) as info:
        load_weights(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_a_missing_weights_file_gives_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="cannot read"):
        load_weights(tmp_path / "nowhere.json")


# -- early warning --------------------------------------------------------------------------------


def preview(frames: np.ndarray, height: int = 40) -> np.ndarray:
    """What a streaming preview looks like: every other frame, tens of pixels tall."""
    width = round(height * frames.shape[2] / frames.shape[1])
    return np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA) for f in frames[::2]])


def noisy(frames: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(frames + rng.normal(0.0, sigma, frames.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("height", [24, 40, 80])
def test_early_warning_stays_quiet_on_a_normal_clip(clip: Clip, height: int) -> None:
    frames = preview(clip.frames, height)
    assert early_warning(frames, clip.source) is None
    assert early_warning(noisy(frames, 6.0), clip.source) is None
    assert early_warning(frames, None) is None


@pytest.mark.parametrize("height", [24, 40, 80])
def test_early_warning_sees_a_static_preview(clip: Clip, height: int) -> None:
    frames = preview(clip.frames, height)
    still = noisy(np.repeat(frames[:1], len(frames), axis=0), 6.0)
    warning = early_warning(still, clip.source)
    assert warning is not None and warning.startswith("almost static")


@pytest.mark.parametrize("growing", [True, False])
def test_early_warning_sees_colours_drifting(clip: Clip, growing: bool) -> None:
    frames = noisy(tinted(preview(clip.frames), 0.35, growing=growing), 6.0)
    warning = early_warning(frames, clip.source)
    assert warning is not None and "colours drifting" in warning


def test_early_warning_is_cheap(clip: Clip) -> None:
    frames = noisy(preview(clip.frames, 80), 6.0)
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        early_warning(frames, clip.source)
        timings.append(time.perf_counter() - started)
    assert min(timings) < 0.020


# -- serialisation and inputs ---------------------------------------------------------------------


def test_a_scorecard_round_trips_through_json(clip: Clip) -> None:
    back = Scorecard.from_dict(json.loads(json.dumps(clip.clean.to_dict())))
    assert back == clip.clean
    data = clip.clean.to_dict()
    assert set(data) == {"motion", "flicker", "subject", "colour_drift", "loop_seam", "motion_adherence", "overall"}
    assert data["loop_seam"] is None and data["motion_adherence"] is None
    assert set(data["motion"]) == {"value", "rating", "reason", "flagged"}
    with_seam = Scorecard(clip.clean.motion, clip.clean.flicker, clip.clean.subject, clip.clean.colour_drift,
                          Score(1.1, 0.95, "seamless loop", False), 0.9)
    assert Scorecard.from_dict(json.loads(json.dumps(with_seam.to_dict()))) == with_seam


def test_a_malformed_scorecard_is_refused(clip: Clip) -> None:
    good = clip.clean.to_dict()
    broken: list[object] = [
        None,
        [],
        {**good, "motion": {}},
        {**good, "overall": 2.0},
        {**good, "motion": {**good["motion"], "rating": 3.0}},
        {**good, "flicker": {**good["flicker"], "flagged": "yes"}},
        {key: value for key, value in good.items() if key != "subject"},
    ]
    for data in broken:
        with pytest.raises(ValueError, match="scorecard"):
            Scorecard.from_dict(data)


def test_summary_is_one_readable_line(clip: Clip) -> None:
    line = clip.clean.summary()
    assert "\n" not in line
    assert line.startswith(f"overall {clip.clean.overall:.2f}")
    for part in ("motion", "%/s", "flicker", "subject", "ΔE"):
        assert part in line
    still = clip.score(np.repeat(clip.frames[:1], len(clip.frames), axis=0), "still")
    assert "%/s!" in still.summary()  # a flagged measure is marked


def test_without_a_source_the_first_frame_is_the_reference(clip: Clip) -> None:
    card = score_clip(clip.frames, FPS)
    assert 0.0 <= card.overall <= 1.0
    assert card.subject.value > 0.7
    assert card.colour_drift.value < 2.0
    assert all(math.isfinite(score.value) for score in card.scores().values())


def test_bad_inputs_are_refused_with_a_clear_error(clip: Clip) -> None:
    with pytest.raises(ValueError, match="uint8"):
        score_clip(clip.frames.astype(np.float32), FPS)
    with pytest.raises(ValueError, match="fps"):
        score_clip(clip.frames, 0)
    with pytest.raises(ValueError, match="fit_image"):
        score_clip(clip.frames, FPS, source=clip.source[:, : clip.source.shape[1] // 2])


def test_a_one_frame_clip_still_scores(clip: Clip) -> None:
    card = score_clip(clip.frames[:1], FPS, clip.source, clip.mask, loop=True)
    assert card.motion.flagged
    assert card.flicker.value == 0.0
    assert card.loop_seam is not None and not card.loop_seam.flagged
