"""load_image(need=...): a JPEG decoded at the reduced DCT scale a frame needs, no smaller."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from i2v_desktop.core.framing import fit_image
from i2v_desktop.core.image import load_image


def photo(width: int, height: int) -> np.ndarray:
    """A camera-like picture: smooth shapes with edges and fine grain, so a decode that dropped
    too much detail (or shifted the picture) shows in a comparison."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([128 + 90 * np.sin(xx / 37.0), 128 + 90 * np.cos(yy / 23.0), 128 + 60 * np.sin((xx + yy) / 51.0)], -1)
    cv2.circle(base, (width // 2, height // 2), min(width, height) // 4, (250, 40, 30), -1)
    cv2.rectangle(base, (width // 8, height // 8), (width // 3, height // 2), (20, 200, 60), -1)
    base += rng.normal(0, 3, base.shape)
    return np.clip(base, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def big_jpeg(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("need") / "camera.jpg"
    Image.fromarray(photo(1600, 1200)).save(path, quality=92)
    return path


@pytest.mark.parametrize(
    ("need", "decoded"),
    [
        ((150, 200), (400, 300)),  # a 9:16-ish frame 200 high: 1/4 scale is 300 high, 1/8 would be 150
        ((80, 140), (200, 150)),  # 1/8 still covers it
        ((90, 160), (400, 300)),  # 1/8 would be 150 high, short of 160: 1/4
        ((400, 300), (400, 300)),  # exactly 1/4
        ((401, 300), (800, 600)),  # a pixel more than 1/4 gives: the next scale up
        ((900, 600), (1600, 1200)),  # more than half the photo: decoded in full
        ((3000, 2000), (1600, 1200)),  # larger than the photo: in full, never enlarged here
    ],
)
def test_a_jpeg_decodes_at_the_smallest_scale_that_covers_the_need(big_jpeg, need, decoded) -> None:
    image = load_image(big_jpeg, need=need)
    assert image.size == decoded
    assert image.original_size == (1600, 1200)


def test_the_reduced_decode_is_the_full_picture_at_that_size(big_jpeg) -> None:
    """The 1/4-scale decode is what area-averaging the full decode gives (a scale off by one block
    or a shifted picture would be tens of grey levels), and it frames the same part of the photo."""
    need = (150, 200)
    reduced = load_image(big_jpeg, need=need)
    full = load_image(big_jpeg)
    averaged = cv2.resize(full.rgb, reduced.size, interpolation=cv2.INTER_AREA)
    difference = np.abs(reduced.rgb.astype(np.float32) - averaged.astype(np.float32))
    assert float(difference.mean()) < 1.0
    assert 10 * np.log10(255.0**2 / float((difference**2).mean())) > 38.0
    _, _, box_reduced = fit_image(reduced, need)
    _, _, box_full = fit_image(full, need)
    scale = full.size[0] / reduced.size[0]
    assert abs(box_reduced.x * scale - box_full.x) < 0.01 * full.size[0]
    assert abs(box_reduced.w * scale - box_full.w) < 0.01 * full.size[0]


def test_the_need_is_upright_for_a_photo_turned_by_exif(tmp_path: Path) -> None:
    """A phone photo stored landscape with orientation 6 is portrait: a portrait need is measured
    against the portrait picture, so it must not be decoded smaller than the need."""
    path = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(photo(1600, 1200)).save(path, quality=92, exif=exif)
    image = load_image(path, need=(300, 400))  # upright photo 1200×1600; 1/4 is 300×400
    assert image.size == (300, 400)
    assert image.original_size == (1200, 1600)
    image = load_image(path, need=(301, 400))
    assert image.size == (600, 800)


def test_formats_without_reduced_decoding_load_in_full(tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    Image.fromarray(photo(640, 480)).save(path)
    assert load_image(path, need=(80, 60)).size == (640, 480)


def test_max_pixels_still_caps_what_the_need_leaves(big_jpeg) -> None:
    image = load_image(big_jpeg, max_pixels=100_000, need=(1200, 900))
    assert image.size[0] * image.size[1] <= 100_000
    assert abs(image.size[0] / image.size[1] - 4 / 3) < 0.01


@pytest.mark.parametrize("need", [(0, 10), (10,), (10.5, 20), (True, 3), "640x360"])
def test_a_need_that_is_no_size_is_refused(big_jpeg, need) -> None:
    with pytest.raises(ValueError, match="need must be"):
        load_image(big_jpeg, need=need)
