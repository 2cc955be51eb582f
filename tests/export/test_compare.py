"""Takes side by side: in sync, letterboxed, labelled; the grid MP4 and the contact sheet."""

from __future__ import annotations

import numpy as np
import pytest

from i2v_desktop.export.compare import (
    Grid, Take, compare_frames, contact_sheet, grid, write_compare, write_png,
)
from i2v_desktop.export.mp4 import read_frames


def counting(frames: int, fps: float, size=(64, 36), label=("Model A", "3.1 s | score 0.80")) -> Take:
    """A take whose frame n is flat grey level 8n: the level read back says which frame is shown."""
    w, h = size
    data = np.empty((frames, h, w, 3), np.uint8)
    for n in range(frames):
        data[n] = 8 * n
    return Take(data, fps, label)


def shown(layout: Grid, image: np.ndarray, i: int) -> float:
    x, y = layout.origin(i)
    cw, ch = layout.cell
    return float(image[y + ch // 2, x + cw // 2].mean())


@pytest.mark.parametrize("count, shape", [(1, (1, 1)), (2, (2, 1)), (3, (3, 1)), (4, (2, 2))])
def test_two_to_four_takes_sit_side_by_side_or_two_by_two(count, shape):
    assert grid(count) == shape


def test_more_than_four_takes_or_bad_frames_are_refused():
    with pytest.raises(ValueError, match="1 to 4 takes"):
        grid(5)
    with pytest.raises(ValueError, match="uint8"):
        Grid([Take(np.zeros((2, 8, 8, 3), np.float32), 24, ("x",))], 32)


def test_the_takes_play_in_sync_at_one_rate_and_a_short_one_holds_its_last_frame():
    fast, slow = counting(24, 24.0), counting(8, 16.0)  # 1 s and 0.5 s
    layout = Grid([fast, slow], 72)
    at = layout.frame_at(0.25)
    assert shown(layout, at, 0) == 8 * 6 and shown(layout, at, 1) == 8 * 4
    late = layout.frame_at(0.9)
    assert shown(layout, late, 0) == 8 * 21 and shown(layout, late, 1) == 8 * 7  # held
    frames = list(compare_frames([fast, slow], 24.0, 72))
    assert len(frames) == 24 and frames[0].shape == (*layout.size[::-1], 3)


def test_another_frame_shape_is_letterboxed_whole_into_the_first_takes_cell():
    portrait = counting(2, 24.0, size=(36, 64))
    wide = Take(np.full((2, 36, 64, 3), 200, np.uint8), 24.0, ("wide",))
    layout = Grid([portrait, wide], 128)
    assert layout.cell[0] < layout.cell[1]
    x, y = layout.origin(1)
    cw, ch = layout.cell
    cell = layout.frame_at(0)[y:y + ch, x:x + cw]
    assert cell[0].max() == 0 and cell[-1].max() == 0  # bars above and below
    assert (cell[ch // 2] == 200).all()  # the whole width of the wide frame is there


def test_each_take_is_labelled_under_its_cell():
    a, b = counting(2, 24.0, label=("Wan2.2 TI2V-5B", "41 s")), counting(2, 24.0, label=("Instant", "2 s"))
    layout = Grid([a, b], 96)
    image = layout.frame_at(0)
    cw, ch = layout.cell
    bands = []
    for i in range(2):
        x, y = layout.origin(i)
        band = image[y + ch:y + ch + layout.band, x:x + cw]
        assert band.max() > 200  # text drawn
        bands.append(band)
    assert not np.array_equal(bands[0], bands[1])


def test_the_grid_mp4_holds_every_frame_at_the_fastest_rate(tmp_path):
    path = write_compare([counting(12, 24.0), counting(6, 12.0)], tmp_path / "compare.mp4", cell_height=72)
    frames, fps = read_frames(path)
    assert path.name == "compare.mp4" and fps == 24.0 and len(frames) == 12
    layout = Grid([counting(12, 24.0), counting(6, 12.0)], 72)
    assert frames.shape[1:3] == layout.size[::-1]
    assert abs(shown(layout, frames[10], 0) - 80) < 6 and abs(shown(layout, frames[10], 1) - 40) < 6


def test_the_contact_sheet_has_a_row_per_take_from_first_to_last_frame(tmp_path):
    takes = [counting(24, 24.0), counting(12, 24.0)]
    sheet = contact_sheet(takes, moments=4, cell_height=36)
    layout = Grid(takes[:1], 36)
    cw, ch = layout.cell
    band = max(layout.band, 40)
    row_h = band + ch + 8
    first = sheet[8 + band + ch // 2, 8 + cw // 2]
    last = sheet[8 + band + ch // 2, 8 + 3 * (cw + 8) + cw // 2]
    short_last = sheet[8 + row_h + band + ch // 2, 8 + 3 * (cw + 8) + cw // 2]
    assert first.mean() == 0 and last.mean() == 8 * 23 and short_last.mean() == 8 * 11
    path = write_png(sheet, tmp_path / "sheet.png")
    again = write_png(sheet, tmp_path / "sheet.png")
    assert path.name == "sheet.png" and again.name == "sheet-2.png"
    import cv2
    assert np.array_equal(cv2.imread(str(path))[..., ::-1], sheet)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
