"""Takes side by side: one labelled grid video that plays them in sync, and a contact sheet.

The same photo through two to four models (or presets, or quality tiers) is judged by watching
the takes together: each take gets a cell of one common size (letterboxed when its frame shape
differs), its label under it (model, preset, render time, score), and the grid plays at one frame
rate, each take sampled at the same moment; a shorter take holds its last frame. The contact sheet
is the same comparison on paper: a row per take, frames at the same moments across.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from ..core.errors import ExportError, os_reason
from .files import check_destination, commit, create_temp, remove
from .mp4 import write_mp4

MAX_TAKES = 4
LABEL_LINES = 2
GAP = 8  # pixels between cells, and around the grid
BACKGROUND = (18, 18, 20)
TEXT = (235, 235, 235)
DIM = (160, 160, 165)


@dataclass(frozen=True)
class Take:
    """One take to compare: its frames and rate, and up to two label lines (the first is the headline)."""

    frames: np.ndarray  # (T, H, W, 3) uint8
    fps: float
    label: tuple[str, ...]

    @property
    def duration(self) -> float:
        return len(self.frames) / self.fps


def grid(count: int) -> tuple[int, int]:
    """(columns, rows) for `count` takes: side by side up to three, two by two for four."""
    if not 1 <= count <= MAX_TAKES:
        raise ValueError(f"a comparison holds 1 to {MAX_TAKES} takes, got {count}")
    return (2, 2) if count == 4 else (count, 1)


def cell_size(takes: Sequence[Take], height: int) -> tuple[int, int]:
    """The common cell: the first take's frame shape at `height` pixels high (even sizes, for H.264)."""
    h0, w0 = takes[0].frames.shape[1:3]
    width = max(2, int(round(height * w0 / h0 / 2)) * 2)
    return width, height - height % 2


def _label_height(cell_h: int) -> int:
    return max(28, int(cell_h * 0.09)) // 2 * 2


@lru_cache(maxsize=8)
def _font(size: int):
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def _label(lines: tuple[str, ...], width: int, height: int) -> np.ndarray:
    """A band of `height` pixels with the take's label lines, the first brighter, cut to fit the width."""
    from PIL import Image, ImageDraw

    band = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(band)
    shown = [line for line in lines if line][:LABEL_LINES]
    size = max(9, int(height / (len(shown) or 1) * 0.62))
    font = _font(size)
    y = (height - size * len(shown) * 1.2) / 2
    for i, line in enumerate(shown):
        while line and draw.textlength(line, font=font) > width - 12:
            line = line[:-2] + "…"
        draw.text((6, y + i * size * 1.2), line, font=font, fill=TEXT if i == 0 else DIM)
    return np.asarray(band)


def _fit(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`frame` scaled into a `size` cell, letterboxed (never cropped: what a model did at the edges counts)."""
    width, height = size
    h, w = frame.shape[:2]
    scale = min(width / w, height / h)
    fw, fh = max(1, round(w * scale)), max(1, round(h * scale))
    if (fw, fh) == (width, height):
        return cv2.resize(frame, (fw, fh), interpolation=cv2.INTER_AREA) if (w, h) != (fw, fh) else frame
    out = np.zeros((height, width, 3), np.uint8)
    x, y = (width - fw) // 2, (height - fh) // 2
    out[y:y + fh, x:x + fw] = cv2.resize(frame, (fw, fh), interpolation=cv2.INTER_AREA)
    return out


def _index(take: Take, seconds: float) -> int:
    """The take's frame shown at `seconds`: the one on screen then, the last once it has ended."""
    return min(int(math.floor(seconds * take.fps + 1e-6)), len(take.frames) - 1)


class Grid:
    """The layout of one comparison at one cell height: where each take and its label go."""

    def __init__(self, takes: Sequence[Take], cell_height: int) -> None:
        if not takes:
            raise ValueError("nothing to compare")
        for take in takes:
            if take.frames.ndim != 4 or take.frames.shape[-1] != 3 or take.frames.dtype != np.uint8 or not len(take.frames):
                raise ValueError("each take's frames must be a non-empty (T, H, W, 3) uint8 array")
            if not take.fps > 0:
                raise ValueError("each take needs a frame rate above 0")
        self.takes = tuple(takes)
        self.columns, self.rows = grid(len(takes))
        self.cell = cell_size(takes, cell_height)
        self.band = _label_height(self.cell[1])
        cw, ch = self.cell
        self.size = (GAP + self.columns * (cw + GAP), GAP + self.rows * (ch + self.band + GAP))
        self._canvas = np.empty((self.size[1], self.size[0], 3), np.uint8)
        self._canvas[:] = BACKGROUND
        for i, take in enumerate(self.takes):
            x, y = self.origin(i)
            self._canvas[y + ch:y + ch + self.band, x:x + cw] = _label(take.label, cw, self.band)

    def origin(self, i: int) -> tuple[int, int]:
        """Top-left corner of take `i`'s cell (left to right, then top to bottom)."""
        column, row = i % self.columns, i // self.columns
        return GAP + column * (self.cell[0] + GAP), GAP + row * (self.cell[1] + self.band + GAP)

    def frame_at(self, seconds: float) -> np.ndarray:
        """The grid as it looks `seconds` into the comparison (a new array)."""
        out = self._canvas.copy()
        cw, ch = self.cell
        for i, take in enumerate(self.takes):
            x, y = self.origin(i)
            out[y:y + ch, x:x + cw] = _fit(take.frames[_index(take, seconds)], self.cell)
        return out


def compare_frames(takes: Sequence[Take], fps: float, cell_height: int = 480) -> Iterator[np.ndarray]:
    """The comparison's frames at `fps`, as long as its longest take."""
    layout = Grid(takes, cell_height)
    count = max(1, round(max(t.duration for t in layout.takes) * fps))
    for n in range(count):
        yield layout.frame_at(n / fps)


def write_compare(takes: Sequence[Take], path: Path, cell_height: int = 480, crf: int = 20) -> Path:
    """The takes side by side as an H.264 MP4 at the fastest take's rate; the name it was saved under."""
    fps = max(t.fps for t in takes)
    return write_mp4(compare_frames(takes, fps, cell_height), fps, path, crf=crf)


def contact_sheet(takes: Sequence[Take], moments: int = 6, cell_height: int = 180) -> np.ndarray:
    """A row per take, `moments` frames across at the same times (first to last of the longest take),
    each take's label above its row."""
    if moments < 2:
        raise ValueError("a contact sheet shows at least 2 moments")
    layout = Grid(takes[:1], cell_height)  # only for the cell size and the label band of this height
    cw, ch = layout.cell
    band = max(layout.band, 40)  # the label spans the whole row: room for legible text
    longest = max(t.duration for t in takes)
    times = [longest * k / (moments - 1) for k in range(moments)]
    row_h = band + ch + GAP
    sheet = np.empty((GAP + len(takes) * row_h, GAP + moments * (cw + GAP), 3), np.uint8)
    sheet[:] = BACKGROUND
    for r, take in enumerate(takes):
        y = GAP + r * row_h
        sheet[y:y + band, GAP:sheet.shape[1] - GAP] = _label(take.label, sheet.shape[1] - 2 * GAP, band)
        for c, t in enumerate(times):
            x = GAP + c * (cw + GAP)
            # The last moment is the last frame, not one past it.
            index = len(take.frames) - 1 if c == moments - 1 and t >= take.duration - 1e-9 else _index(take, t)
            sheet[y + band:y + band + ch, x:x + cw] = _fit(take.frames[index], layout.cell)
    return sheet


def write_png(image: np.ndarray, path: Path) -> Path:
    """`image` (RGB) as a PNG at `path`, written whole or not at all."""
    path = Path(path)
    check_destination(path)
    ok, data = cv2.imencode(".png", np.ascontiguousarray(image[..., ::-1]))
    if not ok:
        raise ExportError(f"{path}: could not encode the image as PNG")
    tmp = create_temp(path)
    try:
        tmp.write_bytes(data.tobytes())
        return commit(tmp, path)
    except OSError as exc:
        remove(tmp)
        raise ExportError(f"{path}: {os_reason(exc)}") from None
