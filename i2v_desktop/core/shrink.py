"""Shrinking images fast: OpenCV's area resize has a fast path for exact halving only."""

from __future__ import annotations

import cv2
import numpy as np


def halved(image: np.ndarray, long_side: int) -> np.ndarray:
    """`image` area-halved while its long side is at least twice `long_side` and its sides are
    even, and no further (a refinement at 962 pixels is as good as at 960, and the last, uneven
    resize would cost more than all the halvings)."""
    while max(image.shape[:2]) >= 2 * long_side and _halvable(image):
        image = _halve(image)
    return image


def area_shrink(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`image` area-averaged to `size` (width, height): halved exactly (OpenCV's fast path) while
    it is still at least twice as large and its sides are even, then averaged the rest of the way.
    Within a few levels of one area resize, and five to ten times faster from a large image to a
    few hundred pixels (a 1080×1920 frame to 160×284: 1.4 ms instead of 7.9)."""
    while image.shape[1] >= 2 * size[0] and image.shape[0] >= 2 * size[1] and _halvable(image):
        image = _halve(image)
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _halvable(image: np.ndarray) -> bool:
    return image.shape[0] % 2 == 0 and image.shape[1] % 2 == 0


def _halve(image: np.ndarray) -> np.ndarray:
    return cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA)
