import numpy as np
import pytest

from i2v_desktop.core.framing import Box, crop_box, fit_image, output_size, snap_frames, subject_box
from i2v_desktop.core.image import SourceImage


def _image(rgb: np.ndarray, alpha: np.ndarray | None = None) -> SourceImage:
    h, w = rgb.shape[:2]
    return SourceImage(path="t.png", rgb=rgb, alpha=alpha, original_size=(w, h))


@pytest.mark.parametrize(
    "rule, wanted, cap, expected",
    [("4k+1", 72, 121, 73), ("4k+1", 80, 81, 81), ("4k+1", 500, 81, 81), ("4k+1", 1, 81, 5),
     ("8k+1", 72, 257, 73), ("8k+1", 96, 257, 97), ("8k+1", 1000, 257, 257), ("fixed:25", 72, 25, 25)],
)
def test_frame_counts_follow_each_rule(rule, wanted, cap, expected):
    n = snap_frames(rule, wanted, cap)
    assert n == expected
    if rule != "fixed:25":
        step = int(rule[0])
        assert (n - 1) % step == 0 and n <= cap


@pytest.mark.parametrize("aspect, ratio", [("9:16", 9 / 16), ("4:5", 4 / 5), ("1:1", 1.0), ("16:9", 16 / 9)])
def test_output_size_is_the_aspect_at_the_bucket_area_on_the_grid(aspect, ratio):
    w, h = output_size((600, 400), aspect, 1280 * 704, 32)
    assert w % 32 == 0 and h % 32 == 0
    assert w / h == pytest.approx(ratio, rel=0.04)
    assert 0.9 < w * h / (1280 * 704) < 1.1


def test_source_aspect_follows_the_photo():
    w, h = output_size((600, 400), "source", 832 * 480, 16)
    assert w / h == pytest.approx(1.5, rel=0.03)
    assert (w, h) == output_size((1200, 800), "source", 832 * 480, 16)


def _product_shot(w=600, h=400, cx=450, cy=200, r=60):
    """A red disc on a grey two-tone background."""
    rgb = np.full((h, w, 3), 200, np.uint8)
    rgb[h // 2 :] = 150
    yy, xx = np.mgrid[0:h, 0:w]
    rgb[(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] = (220, 30, 30)
    return rgb


def test_subject_found_off_centre_by_saliency():
    box = subject_box(_image(_product_shot()))
    cx, cy = box.center
    assert abs(cx - 450) < 30 and abs(cy - 200) < 30


def test_subject_from_alpha():
    rgb = np.full((300, 300, 3), 128, np.uint8)
    alpha = np.zeros((300, 300), np.uint8)
    alpha[20:120, 180:280] = 255
    box = subject_box(_image(rgb, alpha))
    assert box.x == pytest.approx(185, abs=6) and box.y == pytest.approx(25, abs=6)


def test_portrait_crop_follows_the_subject_not_the_centre():
    box = crop_box((600, 400), 9 / 16, Box(390, 140, 120, 120))
    assert box.h == 400 and box.w == pytest.approx(225)
    assert box.x <= 390 and box.x + box.w >= 510  # the whole subject is inside
    blind_centre = (600 - 225) / 2
    assert box.x > blind_centre + 50


def test_crop_never_leaves_the_photo_and_user_centre_wins():
    box = crop_box((600, 400), 1.0, Box(560, 0, 40, 40))
    assert box.x + box.w <= 600 + 1e-9 and box.x >= 0
    user = crop_box((600, 400), 1.0, Box(560, 0, 40, 40), center=(0.0, 0.5))
    assert user.x == 0


def test_fit_image_gives_exact_size_without_distortion():
    rgb = _product_shot()
    frame, alpha, box = fit_image(_image(rgb), (288, 512))
    assert frame.shape == (512, 288, 3) and alpha is None
    # The red disc stays round: its bounding box in the output is square.
    red = (frame[..., 0] > 180) & (frame[..., 1] < 90)
    ys, xs = np.nonzero(red)
    assert xs.size > 0
    assert (xs.max() - xs.min()) == pytest.approx(ys.max() - ys.min(), abs=3)


def test_fit_image_shrinks_large_photos_cleanly():
    rgb = np.random.default_rng(0).integers(0, 255, (3000, 4000, 3), dtype=np.uint8)
    frame, _, _ = fit_image(_image(rgb), (832, 480))
    assert frame.shape == (480, 832, 3)
    # Area-averaged noise is flat grey; a nearest/bilinear decimation would stay noisy.
    assert frame.std() < 40


def test_subject_box_is_the_same_every_time():
    """OpenCV's k-means seeds from a global RNG by default; framing must not depend on it."""
    import cv2

    image = _image(_product_shot())
    first = subject_box(image)
    for seed in (1, 2, 3):
        cv2.setRNGSeed(seed)
        assert subject_box(image) == first
