"""Keyframed framing: the camera moves from a start crop to an end crop (a Ken Burns move), through
an optional middle one, on a path with no jolt at any of them.

A framing is a crop of the photo at the clip's aspect: its centre, as fractions of the photo's
width and height, and its width as a fraction of the photo's. The path runs through the framings
on a cubic spline of each coordinate (the width on a log scale, so a zoom feels even): it starts
and ends at rest, and its speed and acceleration change continuously through a middle framing. Like any smooth path
it may swing a little past a framing between two keyframes (a few per cent), even past the photo's
edge or wider than the photo: clamping it there would put a corner, a jolt, into the move, so the
renderer covers that margin the way it covers any camera move that reaches past the photo. A
loop goes start → (middle) → end and back to the start on a periodic spline, so the frame after
the last is the first and the seam has no jolt either.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import RequestError

MIN_WIDTH = 0.05  # a crop narrower than 1/20 of the photo is only blur


@dataclass(frozen=True)
class Framing:
    """A crop of the photo at the clip's aspect."""

    x: float  # centre, 0..1 of the photo's width
    y: float  # centre, 0..1 of the photo's height
    width: float = 1.0  # 0.05..1 of the photo's width (1: as wide as the clip's aspect allows)

    def __post_init__(self) -> None:
        for name in ("x", "y"):
            value = getattr(self, name)
            if not _number(value) or not 0.0 <= value <= 1.0:
                raise RequestError(f"request: keyframe {name} must be between 0 and 1, got {value!r}")
        if not _number(self.width) or not MIN_WIDTH <= self.width <= 1.0:
            raise RequestError(f"request: keyframe width must be between {MIN_WIDTH:g} and 1, got {self.width!r}")
        for name in ("x", "y", "width"):
            object.__setattr__(self, name, float(getattr(self, name)))


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def knot_times(count: int, loop: bool) -> np.ndarray:
    """When the path passes each framing, 0..1 through the clip: evenly spaced; a loop keeps the
    last interval for the way back to the start."""
    return np.arange(count) / (count if loop else count - 1)


def _second_derivatives(t: np.ndarray, y: np.ndarray, periodic: bool) -> np.ndarray:
    """The cubic spline's second derivative at each knot: clamped (at rest at both ends) or periodic
    (`t`, `y` then include the closing knot, equal to the first)."""
    n = len(t)
    h = np.diff(t)
    a = np.zeros((n, n))
    b = np.zeros(n)
    for i in range(1, n - 1):  # the first derivative is continuous at every inner knot
        a[i, i - 1], a[i, i], a[i, i + 1] = h[i - 1], 2 * (h[i - 1] + h[i]), h[i]
        b[i] = 6 * ((y[i + 1] - y[i]) / h[i] - (y[i] - y[i - 1]) / h[i - 1])
    if periodic:
        # Same second derivative at both ends, and the same first derivative across the seam.
        a[0, 0], a[0, -1] = 1.0, -1.0
        a[-1, 0] += 2 * h[0]  # added, not set: with three knots the second and the last-but-one are one
        a[-1, 1] += h[0]
        a[-1, -2] += h[-1]
        a[-1, -1] += 2 * h[-1]
        b[-1] = 6 * ((y[1] - y[0]) / h[0] - (y[-1] - y[-2]) / h[-1])
    else:  # at rest at both ends
        a[0, 0], a[0, 1] = 2 * h[0], h[0]
        b[0] = 6 * (y[1] - y[0]) / h[0]
        a[-1, -2], a[-1, -1] = h[-1], 2 * h[-1]
        b[-1] = -6 * (y[-1] - y[-2]) / h[-1]
    return np.linalg.solve(a, b)


def _spline(t: np.ndarray, y: np.ndarray, periodic: bool, at: np.ndarray) -> np.ndarray:
    m = _second_derivatives(t, y, periodic)
    i = np.clip(np.searchsorted(t, at, side="right") - 1, 0, len(t) - 2)
    h = t[i + 1] - t[i]
    u, v = (t[i + 1] - at) / h, (at - t[i]) / h
    return (m[i] * u**3 * h**2 / 6 + m[i + 1] * v**3 * h**2 / 6
            + (y[i] - m[i] * h**2 / 6) * u + (y[i + 1] - m[i + 1] * h**2 / 6) * v)


def framing_path(keys: Sequence[Framing], times: np.ndarray, loop: bool) -> np.ndarray:
    """The framing at each clip time in `times` (0..1; a loop's times stop short of 1, which is 0):
    an (N, 3) array of centre x, centre y and width, as a Framing has them (not clamped: see above)."""
    if not 2 <= len(keys) <= 3:
        raise RequestError(f"request: keyframes must be a start and an end framing, and at most one in the middle "
                           f"(got {len(keys)})")
    knots = knot_times(len(keys), loop)
    values = np.array([[k.x, k.y, math.log(k.width)] for k in keys])
    if loop:
        knots = np.append(knots, 1.0)
        values = np.vstack([values, values[:1]])
    at = np.clip(np.asarray(times, dtype=float), 0.0, 1.0)
    x, y, w = (_spline(knots, values[:, c], loop, at) for c in range(3))
    return np.stack([x, y, np.exp(w)], axis=1)
