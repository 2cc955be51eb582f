"""Clips held in memory for the viewer: whole clips for instant playback and the thumbnail strips
of the cards, each the most recently used within a budget of bytes, so a long session levels off.
What is missing is read on the background pool; the GUI thread never waits on the disk."""

from __future__ import annotations

import html
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from ..core.errors import I2VError
from ..core.record import ClipEntry, section
from ..core.studio import Studio
from .background import Background

log = logging.getLogger(__name__)
CLIP_CACHE_BYTES = 1_500_000_000  # full clips kept in memory for instant playback
# Thumbnail strips (0.5-3 MB each) beyond those on screen, which are never dropped while painted.
THUMB_CACHE_BYTES = 48_000_000
THUMBS_ON_SCREEN_S = 1.0  # a strip painted this recently is on screen (the cards repaint every 80 ms)
THUMBS_PER_READ = 4  # strips read per background task: the first cards show before the last are read


class Budget(OrderedDict):
    """Arrays by entry id, least recently used first, dropped from the front beyond `limit` bytes.
    The newest one always stays, however large, and so does any used in the last `keep_s` seconds
    (on screen: dropping it would only read it again at the next paint)."""

    def __init__(self, limit: int, keep_s: float = 0.0) -> None:
        super().__init__()
        self.limit, self.keep_s = limit, keep_s
        self.nbytes = 0
        self._used: dict[str, float] = {}

    def get_recent(self, key: str) -> object | None:
        if key not in self:
            return None
        self.move_to_end(key)
        self._used[key] = time.monotonic()
        return self[key]

    def put(self, key: str, value: object, nbytes: int) -> None:
        self.drop(key)
        self[key] = value
        self.nbytes += nbytes
        now = self._used[key] = time.monotonic()
        while self.nbytes > self.limit and len(self) > 1:
            oldest = next(iter(self))
            if now - self._used[oldest] < self.keep_s:
                break  # this one and every newer one are on screen
            self.drop(oldest)

    def clear(self) -> None:
        super().clear()
        self._used.clear()
        self.nbytes = 0

    def drop(self, key: str) -> None:
        if key in self:
            self.nbytes -= _nbytes(self.pop(key))
            del self._used[key]


def _nbytes(value: object) -> int:
    if isinstance(value, tuple):
        return int(value[0].nbytes)
    return int(value.nbytes)  # type: ignore[attr-defined]


class ClipCache(QObject):
    clipLoaded = Signal(str, object, float)  # entry id, frames, fps
    thumbsLoaded = Signal(dict)  # entry id → thumbnail frames
    failed = Signal(str)  # one line naming the clip

    def __init__(self, studio: Studio, background: Background, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.studio, self.background = studio, background
        self.full = Budget(CLIP_CACHE_BYTES)  # entry id → (frames, fps)
        self.thumbs = Budget(THUMB_CACHE_BYTES, THUMBS_ON_SCREEN_S)  # entry id → thumbnail frames
        self._wanted: dict[str, ClipEntry] = {}  # asked for by a paint, not read yet
        self._reading: set[str] = set()

    def clip(self, entry_id: str) -> tuple[np.ndarray, float] | None:
        return self.full.get_recent(entry_id)  # type: ignore[return-value]

    def remember(self, entry_id: str, frames: np.ndarray, fps: float) -> None:
        self.full.put(entry_id, (frames, fps), frames.nbytes)

    def remember_thumbs(self, entry_id: str, frames: np.ndarray) -> None:
        self.thumbs.put(entry_id, frames, frames.nbytes)

    def forget(self, entry_id: str) -> None:
        self.full.drop(entry_id)
        self.thumbs.drop(entry_id)

    def load(self, entry: ClipEntry) -> None:
        """Read a clip off the GUI thread; `clipLoaded` or `failed` follows."""
        self.background.submit(lambda: self.studio.load_clip(entry),
                               lambda clip: self._on_clip_loaded(entry.id, clip), self.failed.emit,
                               name=entry.mp4.name)

    def _on_clip_loaded(self, entry_id: str, clip: tuple[np.ndarray, float]) -> None:
        self.remember(entry_id, *clip)
        self.clipLoaded.emit(entry_id, *clip)

    def thumbnails(self, entry: ClipEntry) -> np.ndarray | None:
        """The entry's strip if it is in memory; else None, and it is read off the GUI thread
        (`thumbsLoaded` follows). Called while painting: the reads start once the paint is over."""
        frames = self.thumbs.get_recent(entry.id)
        if frames is None and entry.id not in self._reading and entry.id not in self._wanted:
            if not self._wanted:
                QTimer.singleShot(0, self._read_wanted)
            self._wanted[entry.id] = entry
        return frames  # type: ignore[return-value]

    def _read_wanted(self) -> None:
        wanted, self._wanted = list(self._wanted.values()), {}
        studio = self.studio
        for start in range(0, len(wanted), THUMBS_PER_READ):
            batch = wanted[start:start + THUMBS_PER_READ]
            ids = [entry.id for entry in batch]
            self._reading.update(ids)
            self.background.submit(lambda batch=batch: {e.id: _thumbnails_or_blank(studio, e) for e in batch},
                                   self._on_thumbs_loaded, lambda reason, ids=ids: self._reading.difference_update(ids),
                                   name="thumbnails")

    def _on_thumbs_loaded(self, thumbs: dict[str, np.ndarray]) -> None:
        self._reading.difference_update(thumbs)
        for entry_id, frames in thumbs.items():
            self.remember_thumbs(entry_id, frames)
        self.thumbsLoaded.emit(thumbs)


def _thumbnails_or_blank(studio: Studio, entry: ClipEntry) -> np.ndarray:
    try:
        return studio.thumbnails(entry)
    except I2VError as exc:  # a damaged strip costs its picture, not the clip
        log.warning("%s", exc)
        return np.zeros((1, 9, 16, 3), np.uint8)


# -- what a card says ------------------------------------------------------------------------------


def cell_label(entry: ClipEntry, with_photo: bool) -> str:
    """A clip's caption under its thumbnail, short enough for a card: its score first (what a pick
    is made on), then its seed whole (what a creator notes down), or in the history its photo
    instead (the seed is in the card's tooltip there)."""
    parts = [Path(entry.photo).stem] if with_photo else []
    if entry.score is not None:
        parts.append(f"{entry.score:.2f}")
    if entry.seed is not None and not with_photo:
        parts.append(f"#{entry.seed}")
    return " · ".join(parts) or entry.mp4.stem


def is_final(entry: ClipEntry) -> bool:
    """Rendered by Finalize (the model's full-quality settings)."""
    return section(entry.record.data, "request").get("quality") == "final"


# What each measure of the scorecard is, in a creator's words (quality/scorecard.py has the numbers).
MEASURES = (
    ("motion", "Motion", "how far the picture moves, in % of the frame's diagonal per second; "
                         "flagged when it is almost a still photo"),
    ("flicker", "Flicker", "change that the motion does not explain (boiling detail, brightness or colour "
                           "pumping), 0 is steady; flagged when a viewer would notice it"),
    ("subject", "Subject", "how much the subject still looks like the photo in its worst frame, 1 is "
                           "unchanged; flagged when it no longer looks like the photo"),
    ("colour_drift", "Colour", "how far the colours drift from the photo (ΔE); flagged when the difference "
                               "shows side by side"),
    ("loop_seam", "Loop seam", "for loops, the jump from the last frame back to the first against a normal "
                               "step, 1 is seamless; flagged when the loop visibly jumps"),
    ("motion_adherence", "Move", "whether the camera did the move the preset asks for (zoom, pan, tilt, orbit, "
                                 "still), 1 is that move alone; flagged when the clip does another"),
)


def lora_text(request: Mapping[str, Any]) -> str:
    """The LoRAs a take was made with, as its tooltip says them: "LoRAs: grain 0.75, orbit_high 1.00
    · camera LoRA off"; "" for a take made without any choice about them."""
    parts = []
    uses = request.get("loras") or []
    if isinstance(uses, (list, tuple)) and uses:
        named = [f"{Path(str(use.get('path', '?'))).stem} {_strength(use.get('strength', 1.0))}"
                 for use in uses if isinstance(use, Mapping)]
        parts.append("LoRAs: " + ", ".join(named))
    camera = request.get("camera_lora")
    if isinstance(camera, (int, float)) and not isinstance(camera, bool):
        parts.append("camera LoRA off" if camera == 0 else f"camera LoRA at {camera:.2f}")
    return " · ".join(parts)


def _strength(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "?"


def clip_tip(entry: ClipEntry, preset_names: dict[str, str]) -> str:
    """A card's tooltip: the photo, preset, full seed, and the scorecard explained."""
    record = entry.record
    render = record.render
    preset = preset_names.get(entry.preset or "", entry.preset or "no preset")
    head = [f"<b>{html.escape(Path(entry.photo).name)}</b> · {html.escape(preset)}"
            + (" · <b>final</b>" if is_final(entry) else "")]
    details = [f"seed {entry.seed}" if entry.seed is not None else "no seed recorded"]
    if render.get("width") and render.get("height"):
        details.append(f"{render.get('width')}×{render.get('height')}")
    if entry.duration:
        details.append(f"{entry.duration:.1f} s")
    if record.model:
        details.append(html.escape(record.model))
    if entry.sound:
        details.append("with sound")
    head.append(" · ".join(details))
    if loras := lora_text(section(record.data, "request")):
        head.append(html.escape(loras))
    score = record.score_data
    rows = []
    if score is not None and entry.score is not None:
        head.append(f"Score {entry.score:.2f}: the measures below, rated and weighted into one figure (1 is best)")
        for key, name, meaning in MEASURES:
            measure = section(score, key)
            if not measure:
                continue
            flag = "⚠ " if measure.get("flagged") is True else ""
            reason = html.escape(str(measure.get("reason", "")))
            rows.append(f"<tr><td><b>{flag}{name}</b></td><td>{reason}<br><i>{html.escape(meaning)}</i></td></tr>")
    else:
        head.append("Not scored")
    foot = ["⚠ marks a flag: a measure past the point where a viewer notices the defect."] if rows else []
    foot.append("Click to play · Ctrl+click up to four clips to compare them · S to pick · drag out to an editor or a folder")
    table = f"<table cellspacing=2>{''.join(rows)}</table>" if rows else ""
    return "<p>" + "<br>".join(head) + "</p>" + table + "<p>" + "<br>".join(foot) + "</p>"
