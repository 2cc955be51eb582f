"""Did the clip do the move its preset asked for? The camera motion of a clip, from optical flow.

A handful of frames spread over the clip (PAIRS + 1, at about 160 px on the short side) each get
dense optical flow (OpenCV DIS) from the first frame, and on its textured pixels a similarity model
(scale, rotation, translation) is fitted robustly. The scene usually holds two planes that move
differently (a subject before its background), so the points the first fit leaves out get a fit of
their own. Of the two, the background is the one that moves rigidly (the still scene moves as one
picture, which a similarity fits to hundredths of a pixel; a product turning on the spot or
foliage in the wind deforms, and fits to tenths); where both are rigid, the subject is the one
that holds the middle of the frame. The camera's motion is read from the background.

From the first frame to each of the others:

- zoom: log scale (divergence), where the background grows both across and down, and as much as
  both planes agree on (a camera zoom grows both; one plane alone growing is the scene moving);
  content growing is zoom-in;
- pan / tilt: the background's translation at the frame centre (tilt: where both planes agree);
- roll: the rotation both planes agree on;
- orbit: a sideways slide of the background that the subject does not share. The camera circles
  the subject, so the subject (at the pivot) holds its place while what is behind it slides past
  (and what is in front slides the other way). A pan moves both planes the same way, the nearer
  subject more (parallax ratio subject/background ≥ 1); an orbit leaves the subject behind
  (ratio ≤ ORBIT_RATIO[0], or negative).
- static: every one of these is below STATIC; local: the camera is static, but part of the frame
  moves on its own (wind in hair, a turning product): flow the background's fit does not explain.

The moves are read where the path reaches furthest from the first frame, so a loop that goes out
and comes back (a push-in played as a loop) still reads as its move; each is discounted by how
much of the way there went back and forth, which a sway mistaken for the camera does.

What it cannot tell apart: a subject filling the frame that turns in perspective while a sliver
of background slides (an orbit, read as local motion); foliage swaying in two sheets where one of
them moves nearly rigidly (read as an orbit; where neither is rigid the sway is set aside). A
tracking shot past a very distant background (subject slides, background nearly still) reads as
local motion, as a subject walking past would.

Sign conventions (the camera's, as in film and in VBench): image x grows rightwards and y
downwards. The camera panning left turns it to its left, so the content moves right (+x): pan-left
is translation > 0, pan-right < 0. Tilting up moves the content down (+y): tilt-up is
translation_y > 0, tilt-down < 0. Zoom-in (or dollying in) makes content grow: scale > 1. Roll
and orbit are reported without a direction (either way is the move).

The anchor is VBench's camera-motion dimension (VBench-I2V, `camera_motion.py`): CoTracker tracks
a 10×10 grid from the first to the last frame; the mean displacement of the middle point of each
edge row/column is thresholded at 0.5 % of the short side into left/right/up/down, and edge pairs
map to pan, tilt, zoom (opposite edges moving apart) or static; a clip scores 1 when the asked
class is among those found. Ours differs in that: it uses no network (DIS flow on a few small
frames, under a tenth of a second on one core); it fits a model to every textured point instead of
four tracked edge points; it follows the path through the clip instead of first→last, so
out-and-back loops count; it separates the two depth planes, which adds orbit (parallax), roll and
local motion to VBench's seven classes; and adherence.py grades the match 0..1 (how much of the
clip's motion is the asked move) instead of a 0/1 hit, so takes rank on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from ..core.presets import MOVES

SHORT_SIDE = 160  # px on the short side: the planes' motions are still several pixels apart
PAIRS = 8  # frames read after the first, spread over the clip
GRID = 4  # px between the points the models are fitted to
MIN_GRADIENT = 2.0  # grey levels per pixel: flow on flatter pixels says nothing (the aperture problem)
RANSAC_PX = 0.5  # px: a point further than this from a plane's model belongs to another plane
RIGID_PX = 0.12  # px: a plane whose similarity fits its points closer than this moves rigidly
SECOND_PLANE = 0.12  # share of the points left out by the first fit that makes a second plane

# Amounts are in % of the frame diagonal: how far the content at the frame's corners travels.
# Below STATIC the camera is still: wind that a fit mistakes for the camera mostly stays under 0.7,
# the instant engine's gentlest move (a pan at intensity 0) is about 1.
STATIC = 0.8
LOCAL = 0.35  # the 95th percentile of unexplained flow that is "something moves on its own"
# The parallax ratio (subject slide / background slide) at or below which a slide is an orbit, and
# from which it is a pan; between them the slide counts as part of each. The instant engine's
# orbits measure at most 0.06 and its pans, tracking shots with the background at 1.3 to 2.4 times
# the subject's distance, at least 1.6 (or 0.44 where the subject plane is taken for the
# background: a subject filling the frame), so the pan side starts well below 0.44.
ORBIT_RATIO = (0.15, 0.35)


@dataclass(frozen=True)
class MotionEstimate:
    """The camera motion of a clip, each amount in % of the frame diagonal (see the module doc)."""

    zoom: float  # + in, - out
    pan: float  # + the content moves right: the camera pans left
    tilt: float  # + the content moves down: the camera tilts up
    roll: float  # either way
    orbit: float  # the share of the sideways slide that the subject does not share
    local: float  # flow the camera does not explain (95th percentile)
    move: str  # the class, one of MOVES

    def amounts(self) -> dict[str, float]:
        """How much of each move the clip shows (0 for the opposite direction), by class."""
        slide = abs(self.pan) - self.orbit
        return {
            "zoom-in": max(self.zoom, 0.0), "zoom-out": max(-self.zoom, 0.0),
            "pan-left": max(slide, 0.0) if self.pan > 0 else 0.0,
            "pan-right": max(slide, 0.0) if self.pan < 0 else 0.0,
            "tilt-up": max(self.tilt, 0.0), "tilt-down": max(-self.tilt, 0.0),
            "orbit": self.orbit, "roll": abs(self.roll),
        }

    def camera(self) -> float:
        """How far the camera moves at most, all moves together."""
        return float(math.hypot(math.hypot(self.zoom, self.pan), math.hypot(self.tilt, self.roll)))

    def describe(self) -> str:
        """What the clip does, in a few words ("zooms in (3.1 %)")."""
        if self.move == "static":
            return "holds still"
        if self.move == "local":
            return f"holds the camera still while parts move ({self.local:.1f} %)"
        amount = self.amounts()[self.move]
        verbs = {"zoom-in": "zooms in", "zoom-out": "zooms out", "pan-left": "pans left",
                 "pan-right": "pans right", "tilt-up": "tilts up", "tilt-down": "tilts down",
                 "orbit": "orbits", "roll": "rolls"}
        return f"{verbs[self.move]} ({amount:.1f} %)"


def check_move(move: str, where: str = "move") -> str:
    """`move` if it is one of MOVES, else a ValueError naming `where` and the choices."""
    if move not in MOVES:
        raise ValueError(f"{where}: {move!r} is not a camera move (choose from {', '.join(MOVES)})")
    return move


# -- estimating --------------------------------------------------------------------------------------


def estimate_clip(frames: np.ndarray) -> MotionEstimate:
    """The camera motion of a (T, H, W, 3) uint8 RGB clip. Only PAIRS + 1 frames are read."""
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] < 1:
        raise ValueError(f"frames must be a (T, H, W, 3) uint8 array, got {frames.dtype} {frames.shape}")
    picks = sample_indices(frames.shape[0])
    k = max(1, int(min(frames.shape[1:3]) / SHORT_SIDE + 0.5))
    return estimate([grey_small(frames[i], k) for i in picks])


def sample_indices(count: int, pairs: int = PAIRS) -> list[int]:
    """The frames that are read: evenly spread, first and last included."""
    return sorted({int(round(i)) for i in np.linspace(0, count - 1, min(count, pairs + 1))})


def grey_small(frame: np.ndarray, k: int) -> np.ndarray:
    """A frame in grey, area-averaged by the integer factor k (OpenCV's fast path). Grey first:
    one channel to average instead of three, about half the cost at 1080p."""
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    if k > 1:
        h, w = grey.shape[0] // k * k, grey.shape[1] // k * k
        grey = cv2.resize(grey[:h, :w], (w // k, h // k), interpolation=cv2.INTER_AREA)
    return grey


@dataclass(frozen=True)
class _Step:
    """One frame's motion from the first: the background's model and the subject's slide against it."""

    zoom: float  # log scale
    roll: float  # radians
    shift: tuple[float, float]  # px at the frame centre
    subject_slide: float  # px: the subject plane's sideways motion at its centre (= background's if one plane)
    background_slide: float  # px: the background's sideways motion at the subject's centre
    local: float  # px: 95th percentile of the flow the background does not explain
    rigid: bool = True  # the background moves as one picture (see _backgroundness)


def estimate(grey: Sequence[np.ndarray]) -> MotionEstimate:
    """The camera motion over a sequence of small grey frames (uint8, the same size), in order."""
    if len(grey) < 2:
        return _classify(np.zeros((1, 4)), np.zeros(1), np.zeros(1), 0.0)
    height, width = grey[0].shape[:2]
    diagonal = math.hypot(width, height)
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    # Every frame against the first, not each against the one before: the planes are then the same
    # points every time, and a wrong fit on one frame is not carried into all the later ones.
    # (DIS MEDIUM follows shifts of 45 px at this size, more than the wildest preset moves.)
    grid = _Grid.of(grey[0])
    steps = [_step(grid, dis.calc(grey[0], frame, None)) for frame in grey[1:]]
    # Zoom and roll move the corners by log-scale and angle times the half-diagonal; every amount
    # in % of the diagonal.
    path = np.array([[s.zoom * 50.0, s.shift[0] / diagonal * 100.0, s.shift[1] / diagonal * 100.0,
                      s.roll * 50.0] for s in steps])
    subject = np.array([s.subject_slide for s in steps]) / diagonal * 100.0
    background = np.array([s.background_slide for s in steps]) / diagonal * 100.0
    local = max(s.local for s in steps) / diagonal * 100.0
    # Two planes sliding opposite ways, neither of them rigid, are the scene swaying (foliage in two
    # sheets), not a camera: an orbit's background slides as one picture.
    swaying = np.array([not s.rigid and s.subject_slide * s.background_slide < 0 for s in steps])
    path[swaying, 1] = subject[swaying] = background[swaying] = 0.0
    return _classify(path, subject, background, local)


def _classify(path: np.ndarray, subject: np.ndarray, background: np.ndarray, local: float) -> MotionEstimate:
    far = int(np.argmax(np.linalg.norm(path, axis=1)))
    # A camera move heads one way (out and back in a loop); a sway in the scene that a fit mistook
    # for the camera goes back and forth. So each amount is discounted by how much of the way to
    # the furthest point went the other way: |path| × |path| / (the distance travelled to get there).
    reached = path[far]
    travelled = np.maximum(np.abs(np.diff(path[: far + 1], axis=0, prepend=0.0)).sum(axis=0), 1e-9)
    zoom, pan, tilt, roll = (float(v) for v in reached * np.abs(reached) / travelled)
    orbit = abs(pan) * _orbit_share(float(subject[far]), float(background[far]))
    estimate = MotionEstimate(zoom, pan, tilt, roll, orbit, local, "static")
    amounts = estimate.amounts()
    best = max(amounts, key=lambda name: amounts[name])
    if amounts[best] >= STATIC:
        move = best
    else:
        move = "local" if local >= LOCAL else "static"
    return MotionEstimate(zoom, pan, tilt, roll, orbit, local, move)


def _orbit_share(subject: float, background: float) -> float:
    """How much of a sideways slide is an orbit, from the subject's slide against the background's."""
    if abs(background) < 1e-6:
        return 0.0
    low, high = ORBIT_RATIO
    return float(np.clip((high - subject / background) / (high - low), 0.0, 1.0))


@dataclass(frozen=True)
class _Grid:
    """The first frame's textured points on a grid, away from the edge (where content enters and
    leaves the frame), about the frame centre; the same for every frame measured against it."""

    xs: np.ndarray
    ys: np.ndarray
    points: np.ndarray  # (N, 2) float32, about the frame centre
    central: np.ndarray  # (N,) 1 at the frame's centre, 0 at its edges and beyond

    @classmethod
    def of(cls, first: np.ndarray) -> _Grid:
        height, width = first.shape
        g = cv2.GaussianBlur(first.astype(np.float32), (0, 0), 1.0)
        steep = cv2.magnitude(cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)) / 8
        ys, xs = np.mgrid[GRID:height - GRID:GRID, GRID:width - GRID:GRID]
        ys, xs = ys.ravel(), xs.ravel()
        seen = steep[ys, xs] >= MIN_GRADIENT
        ys, xs = ys[seen], xs[seen]
        centre = np.array([(width - 1) / 2.0, (height - 1) / 2.0], np.float32)
        points = np.stack([xs, ys], axis=1).astype(np.float32) - centre
        central = np.maximum(0.0, 1.0 - np.hypot(points[:, 0] / (width / 2.0), points[:, 1] / (height / 2.0)))
        return cls(xs, ys, points, central)


def _step(grid: _Grid, flow: np.ndarray) -> _Step:
    """One frame's motion from the first, given the flow between them."""
    if len(grid.points) < 24:  # a flat picture: no motion can be seen, and none is reported
        return _Step(0.0, 0.0, (0.0, 0.0), 0.0, 0.0, 0.0)
    points, central = grid.points, grid.central
    moved = points + flow[grid.ys, grid.xs]
    first, inliers = _fit(points, moved)
    planes = [(first, inliers)]
    rest = ~inliers
    if rest.sum() >= SECOND_PLANE * len(points):
        second, second_in = _fit(points[rest], moved[rest])
        if second_in.sum() >= SECOND_PLANE * len(points) / 2:
            full = np.zeros(len(points), bool)
            full[np.flatnonzero(rest)[second_in]] = True
            planes.append((second, full))
    planes.sort(key=lambda plane: _backgroundness(plane, points, moved, central), reverse=True)
    (model, background_in), (subject_model, subject_in) = planes[0], planes[-1]
    zoom, roll = _zoom(points[background_in], moved[background_in]), _roll(model)
    tilt = float(model[1, 2])
    if len(planes) > 1:
        at = points[subject_in].mean(axis=0)
        (subject_slide, subject_drop), (background_slide, background_drop) = (
            (float(v) for v in _apply(m, at) - at) for m in (subject_model, model))
        # A camera move zooms, rolls and tilts both planes the same way (the nearer one more); one
        # plane alone doing it is the scene moving (a product turning on the spot, foliage in the
        # wind), so each of these is what the two planes agree on.
        zoom = _agreed(zoom, _zoom(points[subject_in], moved[subject_in]))
        roll = _agreed(roll, _roll(subject_model))
        tilt = _agreed(background_drop, subject_drop)
    else:
        subject_slide = background_slide = float(model[0, 2])
    # (With the camera moving, this holds the subject's parallax too; it only counts below STATIC.)
    local = float(np.percentile(np.linalg.norm(moved - _apply(model, points), axis=1), 95))
    rigid = _backgroundness(planes[0], points, moved, central)[0]
    return _Step(zoom, roll, (float(model[0, 2]), tilt), subject_slide, background_slide, local, rigid)


def _backgroundness(plane: tuple[np.ndarray, np.ndarray], points: np.ndarray, moved: np.ndarray,
                    central: np.ndarray) -> tuple[bool, float]:
    """How much a plane looks like the background, for sorting (the larger, the more).

    First, how rigidly it moves: the camera moves the still scene as one picture, which a
    similarity fits to a few hundredths of a pixel, while a subject turning on the spot or foliage
    in the wind deforms, and fits to a few tenths. Where both fit alike, the subject is the one that
    holds the middle of the frame (its points weighted by how central they are; not "the one at
    the edges": a subject filling the frame holds much of its edges too).
    """
    model, inliers = plane
    if not inliers.any():
        return False, 0.0
    misfit = float(np.median(np.linalg.norm(moved[inliers] - _apply(model, points[inliers]), axis=1)))
    return misfit < RIGID_PX, -float(central[inliers].sum())


def _roll(model: np.ndarray) -> float:
    return math.atan2(model[1, 0], model[0, 0])


def _agreed(a: float, b: float) -> float:
    """The lesser of two motions that go the same way; 0 where they go opposite ways."""
    return math.copysign(min(abs(a), abs(b)), a) if a * b > 0 else 0.0


def _zoom(points: np.ndarray, moved: np.ndarray) -> float:
    """The plane's log scale, where it grows (or shrinks) both ways: the lesser of its horizontal and
    vertical stretch (a full affine fit), 0 where they disagree. A zoom stretches both alike; a
    subject turning on the spot stretches one way only, which a similarity would read as a zoom."""
    if len(points) < 3:
        return 0.0
    design = np.hstack([points, np.ones((len(points), 1), np.float32)])
    affine = np.linalg.lstsq(design, moved, rcond=None)[0].T  # 2×3
    across, down = (math.log(max(float(np.hypot(*affine[:, i])), 1e-6)) for i in (0, 1))
    if across * down <= 0:
        return 0.0
    return math.copysign(min(abs(across), abs(down)), across)


def _fit(points: np.ndarray, moved: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A similarity model points → moved (2×3, about the frame centre) and its inliers."""
    identity = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    if len(points) < 3:
        return identity, np.zeros(len(points), bool)
    model, inliers = cv2.estimateAffinePartial2D(points, moved, method=cv2.RANSAC,
                                                 ransacReprojThreshold=RANSAC_PX, maxIters=500,
                                                 confidence=0.99, refineIters=10)
    if model is None or inliers is None:
        return identity, np.zeros(len(points), bool)
    return model, inliers.ravel().astype(bool)


def _apply(model: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ model[:, :2].T + model[:, 2]
