"""Subject matte and background completion on images with known answers, and the samples."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from i2v_desktop.core.image import load_image
from i2v_desktop.core.subject import complete_background, subject_matte


def scene(w=640, h=480, subject=(380, 230, 110), touch_bottom=False, seed=0):
    """A red disc (or a bust touching the bottom edge) on a textured two-tone background."""
    rng = np.random.default_rng(seed)
    rgb = np.empty((h, w, 3), np.uint8)
    rgb[: h // 2] = (90, 140, 100)  # green wall
    rgb[h // 2 :] = (150, 120, 90)  # wooden table
    rgb = np.clip(rgb + rng.normal(0, 6, rgb.shape), 0, 255).astype(np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    cx, cy, r = subject
    truth = ((xx - cx) ** 2 + (yy - cy) ** 2) < r * r
    if touch_bottom:
        truth |= (abs(xx - cx) < r * 1.3) & (yy > cy + r * 0.6)
    rgb[truth] = (210, 40, 35)
    rgb = cv2.GaussianBlur(rgb, (0, 0), 1.0)
    return rgb, truth


def iou(matte, truth):
    hard = matte > 0.5
    return (hard & truth).sum() / (hard | truth).sum()


@pytest.mark.parametrize("touch_bottom", [False, True])
def test_finds_the_subject_on_a_two_tone_background(touch_bottom):
    rgb, truth = scene(touch_bottom=touch_bottom)
    matte = subject_matte(rgb)
    assert matte.shape == truth.shape and matte.dtype == np.float32
    assert iou(matte, truth) >= 0.85


def test_edges_are_soft_and_on_the_true_edge():
    rgb, truth = scene()
    matte = subject_matte(rgb)
    edge = cv2.morphologyEx(truth.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    assert ((matte[edge] > 0.05) & (matte[edge] < 0.95)).mean() > 0.5  # soft along the outline
    inner = cv2.erode(truth.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    outer = cv2.dilate(truth.astype(np.uint8), np.ones((25, 25), np.uint8)) == 0
    assert matte[inner].min() > 0.9 and matte[outer].max() < 0.1


def test_alpha_channel_is_the_matte():
    rgb, truth = scene()
    alpha = (truth * 255).astype(np.uint8)
    np.testing.assert_allclose(subject_matte(rgb, alpha), truth.astype(np.float32))


def test_same_photo_same_matte_whatever_opencvs_random_state():
    rgb, _ = scene()
    first = subject_matte(rgb)
    for seed in (1, 99):
        cv2.setRNGSeed(seed)
        np.testing.assert_array_equal(subject_matte(rgb), first)


def test_a_photo_with_nothing_standing_out_is_all_background():
    flat = np.clip(np.random.default_rng(0).normal(128, 5, (300, 400, 3)), 0, 255).astype(np.uint8)
    gradient = np.repeat(np.linspace(40, 220, 400, dtype=np.uint8)[None, :, None], 300, axis=0).repeat(3, axis=2)
    for image in (flat, gradient):
        assert subject_matte(image).max() < 0.05


def test_fill_has_no_subject_colour_no_hole_and_leaves_the_rest_alone():
    rgb, truth = scene()
    matte = subject_matte(rgb)
    background = complete_background(rgb, matte)
    hole = truth
    red = (background[..., 0].astype(int) - background[..., 1] > 80)
    assert red[hole].mean() < 0.01  # no smear of the subject
    assert background[hole].min() > 30  # no black hole
    far = cv2.dilate(truth.astype(np.uint8), np.ones((41, 41), np.uint8)) == 0
    np.testing.assert_array_equal(background[far], rgb[far])
    # The fill continues the surroundings: wall colour above the middle, table colour below.
    wall, table = background[200, 380].astype(int), background[300, 380].astype(int)
    assert wall[1] > wall[0] and table[0] > table[2]


# Points (x, y as fractions) that are certainly subject, and certainly background, in each sample.
SAMPLE_POINTS = {
    "coffee": ([(0.45, 0.3), (0.3, 0.75)], [(0.05, 0.5), (0.95, 0.9)]),  # cup and saucer; table
    "astronaut": ([(0.43, 0.22), (0.25, 0.75)], [(0.3, 0.05), (0.65, 0.12)]),  # face and suit; wall
}


@pytest.mark.parametrize("name", ["coffee", "astronaut", "rocket"])
def test_samples(samples, name):
    image = load_image(samples / f"{name}.jpg")
    matte = subject_matte(image.rgb)
    h, w = matte.shape
    share = float((matte > 0.5).mean())
    if name not in SAMPLE_POINTS:  # a scene: no convincing single subject, so nothing is cut out
        assert share < 0.05
        return
    assert 0.1 < share < 0.8
    subject, background = SAMPLE_POINTS[name]
    for x, y in subject:
        assert matte[int(y * h), int(x * w)] > 0.5, (name, x, y)
    for x, y in background:
        assert matte[int(y * h), int(x * w)] < 0.5, (name, x, y)
