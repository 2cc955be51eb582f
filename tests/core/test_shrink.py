"""Shrinking by exact halvings first gives the area average of one resize, within a few levels."""

from __future__ import annotations

import cv2
import numpy as np

from i2v_desktop.core.shrink import area_shrink, halved


def test_a_frame_shrunk_by_halvings_is_the_area_average_within_a_few_levels() -> None:
    rng = np.random.default_rng(0)
    frame = cv2.GaussianBlur(rng.integers(0, 256, (1920, 1080, 3), np.uint8), (0, 0), 3)
    fast = area_shrink(frame, (160, 284))
    exact = cv2.resize(frame, (160, 284), interpolation=cv2.INTER_AREA)
    assert fast.shape == exact.shape == (284, 160, 3)
    difference = np.abs(fast.astype(int) - exact.astype(int))
    assert difference.mean() < 1.0 and difference.max() <= 6


def test_only_even_sides_are_halved_and_never_below_the_size_asked_for() -> None:
    flat = np.full((101, 199, 3), 77, np.uint8)  # odd: one plain resize
    assert np.array_equal(area_shrink(flat, (64, 32)), np.full((32, 64, 3), 77, np.uint8))
    assert halved(np.zeros((1918, 1080), np.uint8), 960).shape == (1918, 1080)  # under twice 960
    assert halved(np.zeros((3840, 2160), np.uint8), 960).shape == (960, 540)  # long side 960 at least
    assert halved(np.zeros((3840, 2161), np.uint8), 960).shape == (3840, 2161)  # odd side: as it is
