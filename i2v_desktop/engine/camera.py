"""The instant engine's virtual camera: a preset's controls become per-frame layer transforms.

The scene is two layers, the subject and the background behind it at a greater depth, so every
camera move gives parallax: dollying in grows the subject faster than the background, tracking
slides the background less than the subject (and its nearer, lower part more than its top), an
orbit turns the subject in perspective while the background slides the other way.

All transforms are 3×3 matrices in output pixel coordinates, relative to the rest view (frame at
t=0 without motion). Paths are smooth in time; with `loop` they are periodic over the clip, so
the frame after the last is the first. The seed picks a `Take` of the preset: which way an orbit
goes and how much of its arc, the easing, the parallax depth, a dolly's drift, where the light
passes, so that variants are takes worth choosing between.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

# Depth of the background in units of the subject's distance: the parallax between the layers.
BACKGROUND_DEPTH = 1.6
# How much nearer the bottom of the background is than its top (a floor or table recedes upward).
GROUND_RAMP = 0.35


@dataclass(frozen=True)
class FrameMotion:
    """Where the camera is at one frame, in the controls' own units."""

    zoom: float = 0.0  # dolly toward the subject, fraction of its distance
    pan_x: float = 0.0  # scene travel, fraction of the frame width (negative: leftward)
    pan_y: float = 0.0  # scene travel, fraction of the frame height (positive: downward)
    orbit: float = 0.0  # degrees around the subject
    spin: float = 0.0  # degrees the subject turns on the spot
    breathe: float = 0.0  # relative scale pulse
    wind_phase: float = 0.0  # 0..1 through the wind's period
    sweep: float = 0.0  # -1..1: where the specular highlight is across the subject
    depth: float = BACKGROUND_DEPTH  # the background's depth in units of the subject's distance


def frame_times(count: int, loop: bool) -> np.ndarray:
    """Clip time of each frame in 0..1. A loop stops one step short of 1, which is 0 again."""
    if count == 1:
        return np.zeros(1)
    return np.arange(count) / (count if loop else count - 1)


@dataclass(frozen=True)
class Take:
    """What the seed picks within a preset: the things a creator compares variants on. Each stays
    inside what the preset means (a push in still pushes in, a pan still goes its way), and only
    the ones a preset's controls use show. The default is the plain take: a symmetric arc, a move
    fastest mid-clip, no drift."""

    direction: float = 1.0  # +1 or -1: which way an orbit travels and a turntable first turns
    extent: float = 1.0  # the move a little shorter or longer than the intensity's
    early: float = 1.0  # easing: a one-way move's speed goes as t**early · (1 - t)**late, so it
    late: float = 1.0  # builds up (early > late), settles (late > early) or peaks mid-clip (equal)
    # The share of an orbit's arc before the photo's own view: 0 starts on the photo, 0.5 centres
    # the arc on it. Never more: a clip that opens on the subject turned far from the photo shows
    # the flat layer's foreshortening from its first frame.
    lead: float = 0.5
    depth: float = BACKGROUND_DEPTH  # how far behind the subject the background seems: the parallax
    drift: tuple[float, float] = (0.0, 0.0)  # a dolly's small sideways travel, fractions of the frame
    swing: bool = True  # a one-way turntable turns both ways (True) or one way and back
    light: float = 0.0  # shifts where the highlight band passes, in units of its sweep (-1..1)
    breath: float = 0.0  # where in its cycle the breathing starts, radians


# A dolly's drift: enough to read as a hand-steered move, never enough to become a pan.
DRIFT = 0.02


def take_for(seed: int) -> Take:
    """The take a seed picks; every seed gives the same take, on any machine."""
    rng = np.random.default_rng((seed, 1))  # a stream of its own: the wind draws from the seed alone
    angle = rng.uniform(0.0, 2 * math.pi)
    return Take(
        direction=float(rng.choice((-1.0, 1.0))),
        extent=float(rng.uniform(0.85, 1.15)),
        early=float(rng.uniform(1.0, 2.5)),
        late=float(rng.uniform(1.0, 2.5)),
        lead=float(rng.uniform(0.0, 0.5)),
        depth=float(rng.uniform(1.3, 2.4)),
        drift=(DRIFT * math.cos(angle), DRIFT * math.sin(angle)),
        swing=bool(rng.integers(2)),
        light=float(rng.uniform(-0.3, 0.3)),
        breath=float(rng.uniform(0.0, 2 * math.pi)),
    )


def eased(times: np.ndarray, early: float, late: float) -> np.ndarray:
    """0→1 at `times` with speed ∝ t**early · (1 - t)**late: zero velocity at both ends (no jolt at
    the start or the end of a move); early = late = 1 is the smoothstep 3t² - 2t³."""
    grid = np.linspace(0.0, 1.0, 1025)
    speed = grid**early * (1.0 - grid) ** late
    position = np.concatenate(([0.0], np.cumsum((speed[1:] + speed[:-1]) / 2)))
    return np.interp(times, grid, position / position[-1])


def motion_path(controls: Mapping[str, float], count: int, loop: bool, take: Take = Take()) -> list[FrameMotion]:
    """Per-frame camera for a preset's controls, as `take` plays it.

    One-way moves (dolly, track, orbit) ease from rest to their full extent; in a loop they go out
    and come back. Spins, breathing and wind are periodic by nature, with whole cycles per clip.
    """
    zoom = controls.get("zoom", 0.0) * take.extent
    pan_x, pan_y = controls.get("pan_x", 0.0) * take.extent, controls.get("pan_y", 0.0) * take.extent
    if zoom:
        pan_x, pan_y = pan_x + take.drift[0], pan_y + take.drift[1]
    orbit = controls.get("orbit", 0.0) * take.extent * take.direction
    spin = controls.get("spin", 0.0) * take.extent * take.direction
    breathe = controls.get("breathe", 0.0)
    times = frame_times(count, loop)
    moves = 0.5 - 0.5 * np.cos(2 * np.pi * times) if loop else eased(times, take.early, take.late)
    path = []
    for t, move in zip(times, moves):
        if loop:  # out and back; an orbit swings either side of the rest view
            angle = orbit * 0.5 * math.sin(2 * math.pi * t)
            arc = math.sin(2 * math.pi * t)
        else:  # an orbit from one side to the other, `lead` of it before the rest view
            angle = orbit * (move - take.lead)
            arc = 2.0 * move - 1.0
        if loop or take.swing:
            turn = math.sin(2 * math.pi * t)
        else:  # one way and back
            turn = math.sin(math.pi * move)
        path.append(
            FrameMotion(
                zoom=zoom * move,
                pan_x=pan_x * move,
                pan_y=pan_y * move,
                orbit=angle,
                spin=spin * turn,
                breathe=breathe * (0.5 - 0.5 * math.cos(2 * math.pi * t + take.breath)),
                wind_phase=float(t),
                sweep=take.direction * (arc if orbit else turn) + take.light,
                depth=take.depth,
            )
        )
    return path


@dataclass(frozen=True)
class Layers:
    """Per-frame 3×3 transforms from rest-view coordinates to output coordinates."""

    background: np.ndarray
    subject: np.ndarray


def _about(point: tuple[float, float], matrix: np.ndarray) -> np.ndarray:
    """`matrix` applied about `point` instead of the origin."""
    to = np.array([[1, 0, point[0]], [0, 1, point[1]], [0, 0, 1]], dtype=np.float64)
    back = np.array([[1, 0, -point[0]], [0, 1, -point[1]], [0, 0, 1]], dtype=np.float64)
    return to @ matrix @ back


def _scale(s: float) -> np.ndarray:
    return np.diag([s, s, 1.0])


def _shift(dx: float, dy: float) -> np.ndarray:
    return np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], dtype=np.float64)


def _yaw(degrees: float, focal: float) -> np.ndarray:
    """A card turning about its vertical axis, seen from `focal` pixels away: foreshortening and
    perspective (the receding side shrinks), a homography about the origin."""
    a = math.radians(degrees)
    return np.array([[math.cos(a), 0, 0], [0, 1, 0], [math.sin(a) / focal, 0, 1]], dtype=np.float64)


def layer_transforms(
    motion: FrameMotion, size: tuple[int, int], subject_center: tuple[float, float]
) -> Layers:
    """The two layers' transforms for one frame of an output of `size` (width, height)."""
    width, height = size
    focal = 1.2 * max(width, height)  # a normal lens for the frame
    depth = motion.depth
    # Dolly: a layer at depth z grows by z / (z - zoom) as the camera moves zoom toward it.
    subject = _about(subject_center, _scale(1.0 / (1.0 - motion.zoom)))
    background = _about(subject_center, _scale(depth / (depth - motion.zoom)))
    # Breathing: a slow common pulse, the subject a little more than its surroundings.
    subject = _about(subject_center, _scale(1.0 + motion.breathe)) @ subject
    background = _about(subject_center, _scale(1.0 + 0.6 * motion.breathe)) @ background
    # Tracking: the nearer subject travels the full distance, the background less; the lower,
    # nearer part of the background more than its top (an affine shear).
    dx, dy = motion.pan_x * width, motion.pan_y * height
    subject = _shift(dx, dy) @ subject
    ramp = np.array(
        [[1, dx / depth * GROUND_RAMP / height, dx / depth * (1 - GROUND_RAMP / 2)],
         [0, 1, dy / depth],
         [0, 0, 1]],
        dtype=np.float64,
    )
    background = ramp @ background
    # Orbit: the subject turns in perspective about its own centre while the background, farther
    # from the pivot, slides the other way.
    if motion.orbit:
        subject = _about(subject_center, _yaw(motion.orbit, focal)) @ subject
        slide = -math.radians(motion.orbit) * focal * (1.0 - 1.0 / depth)
        background = _shift(slide, 0.0) @ background
    if motion.spin:
        subject = _about(subject_center, _yaw(motion.spin, focal)) @ subject
    return Layers(background=background, subject=subject)


def is_layered(controls: Mapping[str, float]) -> bool:
    """Whether a preset moves the camera (two layers) or only moves things within the scene."""
    return any(controls.get(name, 0.0) for name in ("zoom", "pan_x", "pan_y", "orbit", "spin"))


def reach(transforms: list[np.ndarray], size: tuple[int, int], wind: float = 0.0) -> np.ndarray:
    """How far from the frame centre each frame's view of a layer reaches, in rest-view pixels:
    the largest (left, top, right, bottom) over all frames."""
    width, height = size
    cx, cy = width / 2.0, height / 2.0
    corners = np.array([[0, 0, 1], [width, 0, 1], [width, height, 1], [0, height, 1]], dtype=np.float64).T
    most = np.array([cx, cy, width - cx, height - cy], dtype=np.float64)
    for matrix in transforms:
        mapped = np.linalg.inv(matrix) @ corners
        x, y = mapped[0] / mapped[2], mapped[1] / mapped[2]
        most = np.maximum(most, [cx - x.min(), cy - y.min(), x.max() - cx, y.max() - cy])
    return most + wind


def required_zoom(needed: np.ndarray, available: np.ndarray, sides: tuple[bool, ...] = (True,) * 4) -> float:
    """The smallest extra zoom (≥ 1, about the frame centre) that keeps a layer's view inside the photo.

    `needed` is the layer's reach (see `reach`); `available` how far the photo extends from the
    frame centre on each side at zoom 1, in output pixels. Zooming in by z multiplies what is
    available by z. Only the photo edges named in `sides` (left, top, right, bottom) count: a
    subject layer need only hide the edges where the photo cuts the subject off.
    """
    zoom = 1.0
    for need, have, side in zip(needed, available, sides):
        if side and need > have:
            zoom = max(zoom, need / have)
    return zoom
