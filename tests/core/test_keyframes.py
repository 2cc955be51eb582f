"""Keyframed framing: through every framing, at rest at the ends, no jolt at a keyframe or a loop's seam."""

from __future__ import annotations

import numpy as np
import pytest

from i2v_desktop.core.errors import RequestError
from i2v_desktop.core.keyframes import Framing, framing_path

A, M, B = Framing(0.3, 0.4, 1.0), Framing(0.6, 0.5, 0.5), Framing(0.7, 0.6, 0.3)


def coords(path) -> np.ndarray:
    """Centre x, centre y and log width: the path's own coordinates."""
    if isinstance(path, np.ndarray):
        return np.stack([path[:, 0], path[:, 1], np.log(path[:, 2])], axis=1)
    return np.array([[f.x, f.y, np.log(f.width)] for f in path])


def times(count: int, loop: bool) -> np.ndarray:
    return np.arange(count) / (count if loop else count - 1)


@pytest.mark.parametrize("keys", [(A, B), (A, M, B)])
def test_the_path_starts_on_the_first_framing_ends_on_the_last_and_passes_the_middle(keys):
    path = framing_path(keys, times(73, False), loop=False)
    assert np.allclose(coords(path[:1]), coords(keys[:1]))
    assert np.allclose(coords(path[-1:]), coords([keys[-1]]))
    if len(keys) == 3:
        assert np.allclose(coords(path[36:37]), coords([M]))


@pytest.mark.parametrize("keys", [(A, B), (A, M, B)])
def test_it_starts_and_ends_at_rest_and_its_acceleration_has_no_jump(keys):
    c = coords(framing_path(keys, times(241, False), loop=False))
    speed = np.abs(np.diff(c, axis=0)).max(axis=1)
    assert speed[0] < 0.02 * speed.max() and speed[-1] < 0.02 * speed.max()
    accel = np.diff(c, 2, axis=0)
    jumps = np.abs(np.diff(accel, axis=0)).max()  # the third difference: a jolt shows as a spike
    assert jumps < 0.15 * np.abs(accel).max()


def test_a_straight_interpolation_through_the_middle_would_jolt_and_the_test_sees_it():
    """The jolt measure above fails a piecewise-linear path through the same framings."""
    t = times(241, False)
    linear = np.stack([np.interp(t, [0, 0.5, 1], [k.x for k in (A, M, B)])], axis=1)
    accel = np.diff(linear, 2, axis=0)
    assert np.abs(np.diff(accel, axis=0)).max() >= 0.15 * np.abs(accel).max()


@pytest.mark.parametrize("keys", [(A, B), (A, M, B)])
def test_a_loop_goes_through_the_end_and_back_with_a_seamless_seam(keys):
    count = 96
    c = coords(framing_path(keys, times(count, True), loop=True))
    assert np.allclose(c[0], coords([A])[0])
    reached = np.abs(c - coords([keys[-1]])[0]).max(axis=1).min()
    assert reached < 1e-3  # passes the end framing
    # The swing past the framings stays small: a few per cent of the photo.
    path = framing_path(keys, times(count, True), loop=True)
    assert path[:, 2].max() < 1.05 and path[:, 0].max() < max(k.x for k in keys) + 0.06
    around = np.vstack([c, c[:3]])  # the frame after the last is the first
    accel = np.diff(around, 2, axis=0)
    assert np.abs(np.diff(accel, axis=0)).max() < 0.15 * np.abs(accel).max()


def test_bad_framings_and_counts_are_refused_in_one_line():
    for bad, why in [(dict(x=1.2, y=0.5), "x must be between 0 and 1"), (dict(x=0.5, y=0.5, width=0.01), "width"),
                     (dict(x=float("nan"), y=0.5), "x must be")]:
        with pytest.raises(RequestError, match=why):
            Framing(**bad)
    with pytest.raises(RequestError, match="a start and an end framing"):
        framing_path((A,), times(10, False), loop=False)
