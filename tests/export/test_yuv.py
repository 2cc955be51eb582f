"""RGB frames become the encoder's BT.709 limited-range YUV 4:2:0 here, within a level of exact."""

from __future__ import annotations

import numpy as np
import pytest

from i2v_desktop.export.yuv import I420

KR, KB = 0.2126, 0.0722


def exact(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) Y', Cb, Cr in float, by the BT.709 formulas into 16..235 / 16..240."""
    r, g, b = (rgb[..., i].astype(np.float64) / 255 for i in range(3))
    y = KR * r + (1 - KR - KB) * g + KB * b
    return np.stack([16 + 219 * y, 128 + 224 * (b - y) / (2 * (1 - KB)), 128 + 224 * (r - y) / (2 * (1 - KR))], -1)


def planes(buffer: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    quarter = width * height // 4
    y = buffer[: width * height].reshape(height, width)
    cb = buffer[width * height: width * height + quarter].reshape(height // 2, width // 2)
    cr = buffer[width * height + quarter:].reshape(height // 2, width // 2)
    return y, cb, cr


def test_every_sample_is_within_a_level_of_the_exact_conversion() -> None:
    width, height = 64, 36
    rgb = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    y, cb, cr = planes(I420(width, height)(rgb), width, height)
    truth = exact(rgb)
    # Chroma: the mean of each 2×2 block (chroma is linear in RGB, so the mean of the exact values).
    blocks = truth.reshape(height // 2, 2, width // 2, 2, 3).mean(axis=(1, 3))
    assert np.abs(y - truth[..., 0]).max() <= 1.0
    assert np.abs(cb - blocks[..., 1]).max() <= 1.0 and np.abs(cr - blocks[..., 2]).max() <= 1.0
    assert abs(float((y - truth[..., 0]).mean())) < 0.1  # rounded, not truncated


@pytest.mark.parametrize(("colour", "expected"), [
    ((0, 0, 0), (16, 128, 128)),
    ((255, 255, 255), (235, 128, 128)),
    ((255, 0, 0), (63, 102, 240)),  # BT.709 red (BT.601 would give Y' 81)
    ((0, 0, 255), (32, 240, 118)),
])
def test_known_colours(colour: tuple[int, int, int], expected: tuple[int, int, int]) -> None:
    rgb = np.zeros((4, 6, 3), np.uint8) + np.array(colour, np.uint8)
    y, cb, cr = planes(I420(6, 4)(rgb), 6, 4)
    assert (int(y[0, 0]), int(cb[0, 0]), int(cr[0, 0])) == expected
    assert (y == y[0, 0]).all() and (cb == cb[0, 0]).all() and (cr == cr[0, 0]).all()


def test_the_buffer_is_reused_and_each_frame_replaces_the_last() -> None:
    convert = I420(4, 2)
    first = convert(np.zeros((2, 4, 3), np.uint8))
    second = convert(np.full((2, 4, 3), 255, np.uint8))
    assert first is second and int(second[0]) == 235


@pytest.mark.parametrize("size", [(5, 4), (4, 3), (0, 2)])
def test_an_odd_or_empty_size_is_refused(size: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="even width and height"):
        I420(*size)
